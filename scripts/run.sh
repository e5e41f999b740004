#!/usr/bin/env bash
# Starts ELUE for development: migrate, seed, optional data import, then the web server and
# one Celery worker. Ctrl-C stops both. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT="${PORT:-8000}"
PY=.venv/bin/python
export HF_HUB_OFFLINE=1

$PY manage.py migrate --noinput
$PY manage.py elue_seed
if [ -n "${ELUE_DATA_DIR:-}" ]; then
  $PY manage.py elue_import_data "$ELUE_DATA_DIR"
fi

pids=()
stop() {
  trap - INT TERM EXIT
  echo "Stopping ELUE..."
  kill "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

# The filesystem broker has no broadcast channel, so gossip, mingle and heartbeats are off.
# -B runs the scheduler (the reaper) inside the worker: one process fewer on a laptop.
mkdir -p var
.venv/bin/celery -A elue worker --queues site,evaluation --concurrency 1 --loglevel INFO \
  --without-gossip --without-mingle --without-heartbeat -B --schedule var/celerybeat-schedule &
pids+=($!)
$PY manage.py runserver "127.0.0.1:$PORT" --noreload &
pids+=($!)

echo
echo "ELUE is running at http://127.0.0.1:$PORT/  (Ctrl-C stops the server and the worker)"
echo
# Exit (and stop the other) as soon as either process ends.
wait -n "${pids[@]}"
