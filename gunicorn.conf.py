"""gunicorn's settings for every ELUE web server. gunicorn reads this file from its working
directory: the image's entrypoint and proof/servers.py start it from the repository root.

Threaded workers, not sync ones: a sync worker belongs to one request until its client has
sent the whole body, so three uploads trickling a byte every few seconds held every worker
and ``/healthz`` timed out. A gthread worker reads each request in one of ``threads``
threads while its main loop keeps accepting, so ``WEB_CONCURRENCY x GUNICORN_THREADS``
requests may be slow at once before a fast one waits (docs/deployment.md).
"""

import os

worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
keepalive = 5  # seconds an idle keep-alive connection is kept (by the main loop, no thread)
# One listening socket per process (SO_REUSEPORT), so the kernel spreads new connections
# evenly. On one shared socket, the process that wakes first takes a burst of keep-alive
# connections and keeps them: under 50 clients one process served everything at 100% of a
# core while the other idled (docs/benchmarks.md, the cached read path). A process that exits
# (``--max-requests``) drops connections still waiting in its own queue unless the host sets
# ``net.ipv4.tcp_migrate_req=1`` (docs/deployment.md); GUNICORN_REUSE_PORT=false turns it off.
reuse_port = os.environ.get("GUNICORN_REUSE_PORT", "true").lower() in ("1", "true", "yes")
