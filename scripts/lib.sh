# Shared shell helpers for `make run`, `make test` and .ci/run. Sourced, not executed.
# They start a project-managed PostgreSQL and Redis on loopback, and stop exactly what they started.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

pg_bindir() {
  local dir
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [[ -x "$dir/initdb" && -x "$dir/pg_ctl" ]]; then echo "$dir"; return 0; fi
  done
  if command -v initdb >/dev/null 2>&1; then dirname "$(command -v initdb)"; return 0; fi
  echo "PostgreSQL server binaries not found: install postgresql (apt-get install postgresql)" >&2
  return 1
}

# Run a command as the postgres system user when we are root (initdb refuses root).
as_pg() {
  if [[ "$(id -u)" == "0" ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 - <<'PY'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}

# pg_start DATADIR PORT [throwaway]: initialise if needed, start, wait until it accepts connections.
pg_start() {
  local datadir="$1" port="$2" mode="${3:-keep}" bindir
  bindir="$(pg_bindir)"
  mkdir -p "$datadir"
  if [[ "$(id -u)" == "0" ]]; then
    chown postgres:postgres "$datadir"
    chmod 700 "$datadir"
    if ! runuser -u postgres -- test -x "$datadir"; then
      echo "PostgreSQL runs as the 'postgres' user, which cannot reach $datadir:" >&2
      echo "make the folders above it traversable (chmod o+x) or set DATABASE_URL." >&2
      return 1
    fi
  fi
  if [[ ! -f "$datadir/PG_VERSION" ]]; then
    as_pg "$bindir/initdb" -D "$datadir" -U postgres --auth=trust --encoding=UTF8 \
      --locale=C.UTF-8 >/dev/null
  fi
  local opts="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$datadir"
  if [[ "$mode" == "throwaway" ]]; then
    opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
  fi
  as_pg "$bindir/pg_ctl" -D "$datadir" -o "$opts" -l "$datadir/server.log" -w -t 60 start >/dev/null
}

pg_stop() {
  local datadir="$1" bindir
  bindir="$(pg_bindir)"
  if [[ -f "$datadir/postmaster.pid" ]]; then
    as_pg "$bindir/pg_ctl" -D "$datadir" -m fast -w stop >/dev/null 2>&1 || true
  fi
}

# pg_ensure_db PORT DBNAME ROLE: create the role and database when missing. The role may create
# roles (throwaway clusters only): the tests check the ledger as a separate, non-owner role.
pg_ensure_db() {
  local port="$1" db="$2" role="$3" bindir
  bindir="$(pg_bindir)"
  local psql=("$bindir/psql" -h 127.0.0.1 -p "$port" -U postgres -v ON_ERROR_STOP=1 -qtA)
  if [[ "$("${psql[@]}" -c "select 1 from pg_roles where rolname='$role'")" != "1" ]]; then
    "${psql[@]}" -c "create role \"$role\" login createdb createrole" >/dev/null
  elif [[ "$("${psql[@]}" -c "select rolcreaterole from pg_roles where rolname='$role'")" != "t" ]]; then
    "${psql[@]}" -c "alter role \"$role\" createrole" >/dev/null
  fi
  if [[ "$("${psql[@]}" -c "select 1 from pg_database where datname='$db'")" != "1" ]]; then
    "${psql[@]}" -c "create database \"$db\" owner \"$role\"" >/dev/null
  fi
}

# redis_start DIR PORT: a Redis with no persistence, daemonised, pid in DIR.
redis_start() {
  local dir="$1" port="$2"
  mkdir -p "$dir"
  redis-server --daemonize yes --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
    --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir" >/dev/null
  local i
  for i in $(seq 1 50); do
    if redis-cli -p "$port" ping >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "Redis did not start on port $port" >&2
  return 1
}

redis_stop() {
  local dir="$1"
  if [[ -f "$dir/redis.pid" ]]; then
    kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
    rm -f "$dir/redis.pid"
  fi
}
