#!/usr/bin/env bash
# `make test`: a throwaway PostgreSQL and Redis, the checks, the whole suite; stops what it started.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

PY="$ROOT/.venv/bin/python"
WORK="$(mktemp -d /tmp/modelspec-test.XXXXXX)"
chmod 755 "$WORK"
PG_PORT="$(free_port)"
REDIS_PORT="$(free_port)"

cleanup() {
  pg_stop "$WORK/pg"
  redis_stop "$WORK/redis"
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== starting throwaway PostgreSQL on $PG_PORT and Redis on $REDIS_PORT"
pg_start "$WORK/pg" "$PG_PORT" throwaway
pg_ensure_db "$PG_PORT" modelspec modelspec
redis_start "$WORK/redis" "$REDIS_PORT"

export DATABASE_URL="postgres://modelspec@127.0.0.1:$PG_PORT/modelspec"
export CELERY_BROKER_URL="redis://127.0.0.1:$REDIS_PORT/0"
export TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/1"
export DJANGO_SETTINGS_MODULE=modelspec_site.settings.test


echo "== ruff"
"$ROOT/.venv/bin/ruff" check .
"$ROOT/.venv/bin/ruff" format --check .
echo "== import contracts"
"$ROOT/.venv/bin/lint-imports" --no-cache | tail -n 3
echo "== migrations are up to date"
"$PY" manage.py makemigrations --check --dry-run
echo "== deploy checks (production profile)"
SECRET_KEY="$(python3 -c 'import secrets; print(secrets.token_urlsafe(60))')" \
  AUDIT_CHECKPOINT_SIGNING_KEY="$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')" \
  DJANGO_SETTINGS_MODULE=modelspec_site.settings.prod ALLOWED_HOSTS=tracker.example.org \
  "$PY" manage.py check --deploy --fail-level WARNING
echo "== pytest"
DJANGO_ALLOW_ASYNC_UNSAFE=true "$PY" -m pytest "$@"
