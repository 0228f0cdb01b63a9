"""Liveness, readiness and metrics, for load balancers and Prometheus."""

from flask import Blueprint, Response, current_app, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST

from portal.errors import NotInScope
from portal.observability.gauges import PortalCollector
from portal.observability.health import in_networks, readiness
from portal.observability.metrics import exposition

bp = Blueprint("monitoring", __name__)
NOT_CACHED = {"Cache-Control": "no-store"}


@bp.get("/healthz")
def healthz():
    """Liveness: the process answers. Nothing else is touched, so a slow database never
    gets a node restarted."""
    return Response("ok\n", mimetype="text/plain", headers=NOT_CACHED)


@bp.get("/readyz")
def readyz():
    """Readiness: 200 when every check passes, 503 (and which one failed) otherwise."""
    checks = readiness()
    ready = all(check.passed for check in checks)
    body = {"ready": ready, "checks": {check.name: check.state for check in checks}}
    return jsonify(body), 200 if ready else 503, NOT_CACHED


@bp.get("/metrics")
def metrics():
    """Prometheus metrics, for the monitoring networks only; 404 for anyone else."""
    if not in_networks(request.remote_addr, current_app.extensions["metrics_networks"]):
        raise NotInScope()
    return Response(exposition(PortalCollector()), mimetype=CONTENT_TYPE_LATEST, headers=NOT_CACHED)
