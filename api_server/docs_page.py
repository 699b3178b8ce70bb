"""The API's Swagger page with every asset served by the API itself (no third-party script, no inline script), so
it works under the web app's Content-Security-Policy (`script-src 'self'`) and loads nothing from a CDN.

Assets: the swagger-ui-bundle package's files under `/api/schema/assets/`, plus our own `init.js`, which points
Swagger UI at `/api/schema/openapi.json`. Both the page and the assets describe the API without any data, so they
are public like the schema itself (api_server.auth)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.response import File

from api_server.auth import OPENAPI_PATH

ASSETS_PATH = OPENAPI_PATH + "/assets"
ASSET_FILES = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui-standalone-preset.js": "text/javascript",
    "favicon-32x32.png": "image/png",
}
INIT_JS = f"""window.addEventListener("load", function () {{
  window.ui = SwaggerUIBundle({{
    url: "{OPENAPI_PATH}/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "StandaloneLayout"
  }});
}});
"""


def swagger_assets_dir() -> Path:
    import swagger_ui_bundle

    return Path(str(swagger_ui_bundle.swagger_ui_path))


class LocalSwaggerPlugin(OpenAPIRenderPlugin):
    def __init__(self, path: str = "/swagger") -> None:
        super().__init__(
            path=path, favicon=f'<link rel="icon" type="image/png" href="{ASSETS_PATH}/favicon-32x32.png">'
        )

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        title = str(openapi_schema.get("info", {}).get("title", "API")).replace("<", "&lt;")
        return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{title}</title>
  <meta name="viewport" content="width=device-width, initial-scale=1">
  {self.favicon}
  <link rel="stylesheet" href="{ASSETS_PATH}/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{ASSETS_PATH}/swagger-ui-bundle.js"></script>
  <script src="{ASSETS_PATH}/swagger-ui-standalone-preset.js"></script>
  <script src="{ASSETS_PATH}/init.js"></script>
</body>
</html>
""".encode()


@get(ASSETS_PATH + "/{name:str}", include_in_schema=False, opt={"public": True}, sync_to_thread=False)
def swagger_asset(name: str) -> Response | File:
    """One of the docs page's assets (a fixed list: nothing else of the package or the disk is reachable)."""
    headers = {"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"}
    if name == "init.js":
        return Response(INIT_JS, media_type="text/javascript", headers=headers)
    if name not in ASSET_FILES:
        raise NotFoundException(f"no docs asset {name!r}")
    return File(
        swagger_assets_dir() / name, content_disposition_type="inline", media_type=ASSET_FILES[name], headers=headers
    )
