"""gunicorn's settings for a portal node (`gunicorn --config deploy/gunicorn.conf.py wsgi:app`).

Every value can be changed in the node's environment file (deploy/portal.env.example).
"""

import os

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
accesslog = os.environ.get("PORTAL_ACCESS_LOG", "-")
errorlog = "-"
# The app decides which proxies to believe (TRUSTED_PROXIES, TRUSTED_PROXY_ADDRESSES).
forwarded_allow_ips = ""
