#!/bin/sh
# The image's commands: web | worker | beat | migrate | manage <args> | <any command>.
# Sizing (docs/deployment.md): WEB_CONCURRENCY gunicorn processes of GUNICORN_THREADS threads
# (gunicorn.conf.py), ELUE_WORKER_CONCURRENCY evaluations at once per worker container.
set -eu
cd /srv/elue/app

case "${1:-web}" in
  web)
    # Worker class, processes (WEB_CONCURRENCY), threads (GUNICORN_THREADS) and time-out
    # (GUNICORN_TIMEOUT): gunicorn.conf.py in this folder.
    exec gunicorn elue.wsgi:application \
      --bind "0.0.0.0:${PORT:-8000}" \
      --max-requests 2000 --max-requests-jitter 200 \
      --access-logfile - --error-logfile - ;;
  worker)
    exec celery -A elue worker \
      --queues "${ELUE_WORKER_QUEUES:-evaluation,site}" \
      --concurrency "${ELUE_WORKER_CONCURRENCY:-1}" \
      --hostname "worker@%h" --loglevel "${ELUE_LOG_LEVEL:-INFO}" ;;
  beat)
    exec celery -A elue beat --schedule /srv/elue/var/celerybeat-schedule \
      --loglevel "${ELUE_LOG_LEVEL:-INFO}" ;;
  migrate)
    # A production deployment that fails Django's deployment checks does not start.
    python manage.py check --deploy --fail-level WARNING
    python manage.py migrate --noinput
    python manage.py elue_create_buckets
    exec python manage.py elue_seed ;;
  manage)
    shift
    exec python manage.py "$@" ;;
  *)
    exec "$@" ;;
esac
