"""ASGI entry point for granian: settings are read once, here, from the environment and `.env`."""

from api_server.app import create_app
from api_server.settings import load_settings
from shared.logging_setup import configure_logging
from shared.metrics import MetricsMiddleware, api_service_metrics

settings = load_settings()
configure_logging(
    settings.log_level,
    settings.log_format,
    secrets=(settings.api_token, settings.okx_api_secret, settings.okx_passphrase, settings.okx_api_key),
)
metrics = api_service_metrics()
# Outermost, so requests Litestar itself refuses (401, 404, 413) are counted with their real status.
app = MetricsMiddleware(create_app(settings, metrics), metrics.http)
