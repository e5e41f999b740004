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
