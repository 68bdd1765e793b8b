#!/usr/bin/env bash
# `make run`: PostgreSQL under var/ (unless DATABASE_URL is set), Redis and a Celery worker when
# redis-server is installed (in-process tasks otherwise), migrations, the bundled Model Spec
# versions, the staff role groups, then the site on http://127.0.0.1:8000.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

PY="$ROOT/.venv/bin/python"
VAR="${MODELSPEC_VAR:-$ROOT/var}"
PORT="${MODELSPEC_PORT:-8000}"
mkdir -p "$VAR"
chmod 755 "$VAR"
export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-modelspec_site.settings.dev}"
# A development staff account is made unless MODELSPEC_DEV_STAFF is set to an empty string.
MODELSPEC_DEV_STAFF="${MODELSPEC_DEV_STAFF-1}"
PIDS=()
STARTED_PG=""
STARTED_REDIS=""

cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [[ -n "$STARTED_REDIS" ]] && redis_stop "$VAR/redis"
  [[ -n "$STARTED_PG" ]] && pg_stop "$VAR/postgres"
}
trap cleanup EXIT INT TERM

if [[ -z "${DATABASE_URL:-}" ]]; then
  PG_PORT="${MODELSPEC_PG_PORT:-54329}"
  echo "== PostgreSQL (project-managed) in var/postgres on port $PG_PORT"
  pg_start "$VAR/postgres" "$PG_PORT"
  STARTED_PG=1
  pg_ensure_db "$PG_PORT" modelspec modelspec
  export DATABASE_URL="postgres://modelspec@127.0.0.1:$PG_PORT/modelspec"
fi

if [[ -z "${CELERY_BROKER_URL:-}" ]] && command -v redis-server >/dev/null 2>&1; then
  REDIS_PORT="${MODELSPEC_REDIS_PORT:-63799}"
  echo "== Redis (project-managed) on port $REDIS_PORT"
  redis_start "$VAR/redis" "$REDIS_PORT"
  STARTED_REDIS=1
  export CELERY_BROKER_URL="redis://127.0.0.1:$REDIS_PORT/0"
  export CACHE_URL="${CACHE_URL:-redis://127.0.0.1:$REDIS_PORT/1}"
fi

echo "== migrations"
"$PY" manage.py migrate --noinput -v 0
echo "== bundled data and staff roles"
"$PY" manage.py bootstrap ${MODELSPEC_DEV_STAFF:+--dev-staff "$VAR/staff-password.txt"}

if [[ -n "${CELERY_BROKER_URL:-}" ]]; then
  echo "== Celery worker (broker $CELERY_BROKER_URL)"
  "$PY" -m celery -A modelspec_site worker --beat --schedule "$VAR/celerybeat-schedule" --pool=solo --loglevel=WARNING \
    >>"$VAR/celery.log" 2>&1 &
  PIDS+=($!)
else
  echo "== no broker: Celery tasks run in-process"
fi

echo "== serving http://127.0.0.1:$PORT (Ctrl-C stops the site and everything started here)"
"$PY" manage.py runserver "127.0.0.1:$PORT" --noreload &
PIDS+=($!)
wait "${PIDS[-1]}"
