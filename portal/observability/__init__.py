"""Observability: JSON logs with a request id, Prometheus metrics, liveness and readiness.

The package's own import is light: request_ids sits below every domain (the audit helper
and the mail queue read it), so nothing here may import a domain at import time.
"""

from flask import Flask


def init_observability(app: Flask) -> None:
    """Logging, the per-request hooks, and /healthz, /readyz, /metrics."""
    from portal.observability.health import parse_networks
    from portal.observability.logs import configure_logging
    from portal.observability.requests import init_request_observability
    from portal.observability.views import bp

    configure_logging(app.config["LOG_FORMAT"], app.config["LOG_LEVEL"])
    app.extensions["metrics_networks"] = parse_networks(app.config["METRICS_ALLOWED_NETWORKS"])
    init_request_observability(app)
    app.register_blueprint(bp)
