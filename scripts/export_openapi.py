"""Write the services' OpenAPI schemas to frontend/openapi/ (the web app's API types are generated from them).

Builds the apps without starting them (no database or network needed): `python scripts/export_openapi.py`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DUMMY = {"API_TOKEN": "export-openapi-token-000", "DATABASE_URL": "postgresql://export@127.0.0.1:1/none"}


def api_schema() -> dict:
    from api_server.app import create_app
    from api_server.settings import load_settings

    app = create_app(load_settings(environ=dict(DUMMY), env_file="/dev/null"))
    return app.openapi_schema.to_schema()


def agent_schema() -> dict:
    from agent.app import create_app
    from agent.settings import load_settings

    return create_app(load_settings(environ=dict(DUMMY))).openapi()


def main() -> None:
    out = ROOT / "frontend" / "openapi"
    out.mkdir(parents=True, exist_ok=True)
    for name, build in (("api.json", api_schema), ("agent.json", agent_schema)):
        (out / name).write_text(json.dumps(build(), indent=2, sort_keys=True) + "\n")
        print(f"wrote {out / name}")


if __name__ == "__main__":
    main()
