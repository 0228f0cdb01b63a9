"""gunicorn's settings for a portal node (`gunicorn --config deploy/gunicorn.conf.py wsgi:app`).

Every value can be changed in the node's environment file (deploy/portal.env.example).
"""

import os

# The portal's hooks: JSON logs for gunicorn's own messages, the metrics folder of its
# workers emptied at start and an exited worker's gauges dropped (PROMETHEUS_MULTIPROC_DIR).
from portal.gunicorn_config import PortalLogger, child_exit, on_starting  # noqa: F401

logger_class = PortalLogger

# The node's private address, reachable only from the nginx hosts.
bind = os.environ.get("PORTAL_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = int(os.environ.get("PORTAL_WORKERS", "4"))
threads = int(os.environ.get("PORTAL_THREADS", "4"))
# A request still running when the node is stopped gets this long to finish.
graceful_timeout = int(os.environ.get("PORTAL_GRACEFUL_TIMEOUT", "30"))
timeout = int(os.environ.get("PORTAL_WORKER_TIMEOUT", "60"))
# A worker is replaced after this many requests, so that no slow leak grows for weeks.
max_requests = int(os.environ.get("PORTAL_MAX_REQUESTS", "5000"))
max_requests_jitter = 500
# No access log by default: a path may carry a reset link's token; nginx logs each request
# with its request id instead.
accesslog = os.environ.get("PORTAL_ACCESS_LOG") or None
errorlog = "-"
# The app decides which proxies to believe (TRUSTED_PROXIES, TRUSTED_PROXY_ADDRESSES).
forwarded_allow_ips = ""
