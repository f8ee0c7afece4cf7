#!/usr/bin/env bash
# PostgreSQL for the local stack: Debian's server binaries, a private cluster under .cache on
# loopback, a "leadsync" role (allowed to create databases, which the tests do) and database.
# Usage: stack/postgres.sh start|stop|status
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# Where the cluster lives: decided once the server (and so the postgres user) is installed.
locate_cluster() {
  PG_HOME="$CACHE/postgres"
  # As root the cluster belongs to "postgres", which must be able to reach its folder; a
  # checkout under a private directory (e.g. /root) cannot host it, so it lives in /var/lib.
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql postgres
    mkdir -p "$CACHE"
    if ! (cd / && runuser -u postgres -- test -x "$CACHE") 2>/dev/null; then
      PG_HOME="/var/lib/leadsync-stack/$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)/postgres"
    fi
  fi
  PGDATA="$PG_HOME/data"
  PG_LOG="$PG_HOME/postgres.log"
}

pg_bindir() {
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
  if [ -z "$dir" ] || [ ! -x "$dir/initdb" ]; then
    apt_install postgresql
    dir="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
  fi
  echo "$dir"
}

# PostgreSQL refuses to run as root; when we are root the cluster belongs to "postgres".
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql postgres
    # From / : postgres may not be allowed into the caller's directory.
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

init_cluster() {
  local bin="$1"
  [ -f "$PGDATA/PG_VERSION" ] && return
  log "creating a PostgreSQL cluster in $PGDATA"
  mkdir -p "$PG_HOME"
  if [ "$(id -u)" -eq 0 ]; then chown postgres "$PG_HOME"; fi
  if [ "$(id -u)" -eq 0 ] && ! (cd / && runuser -u postgres -- test -w "$PG_HOME"); then
    die "the postgres user cannot write $PG_HOME; move the checkout to a readable path"
  fi
  local pwfile; pwfile="$(mktemp)"
  echo leadsync >"$pwfile"
  [ "$(id -u)" -eq 0 ] && chown postgres "$pwfile"
  as_owner "$bin/initdb" -D "$PGDATA" -U leadsync --pwfile="$pwfile" --auth=scram-sha-256 \
    -E UTF8 --locale=C.UTF-8 >"$PG_HOME/initdb.log" 2>&1 \
    || { rm -f "$pwfile"; cat "$PG_HOME/initdb.log" >&2; die "initdb failed"; }
  rm -f "$pwfile"
  cat >>"$PGDATA/postgresql.conf" <<CONF
# leadsync local stack
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_HOME'
max_connections = 200
shared_buffers = 256MB
# A developer stack: durability of the last few ms is not worth the fsync cost here.
synchronous_commit = off
CONF
}

start() {
  local bin; bin="$(pg_bindir)"
  locate_cluster
  init_cluster "$bin"
  if as_owner "$bin/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
    log "PostgreSQL already running on 127.0.0.1:$PG_PORT"
  else
    log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
    as_owner "$bin/pg_ctl" -D "$PGDATA" -l "$PG_LOG" -w -t 60 start >/dev/null \
      || { tail -20 "$PG_LOG" >&2; die "PostgreSQL did not start"; }
  fi
  # The role "leadsync" is the cluster's superuser; make sure its database exists.
  if ! PGPASSWORD=leadsync "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U leadsync -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = 'leadsync'" | grep -q 1; then
    PGPASSWORD=leadsync "$bin/createdb" -h 127.0.0.1 -p "$PG_PORT" -U leadsync leadsync
    log "created database leadsync"
  fi
  # Statistics within seconds of a table's first rows: the tests and benchmarks work on fresh
  # databases, where PostgreSQL's planner, with no statistics yet, reads a whole account's
  # contacts through the wrong index for each lead (docs/accounts.md, "Fresh databases").
  PGPASSWORD=leadsync "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U leadsync -d postgres -qtA \
    -c "ALTER SYSTEM SET autovacuum_naptime = '5s'" -c "SELECT pg_reload_conf()" >/dev/null \
    || die "could not set autovacuum_naptime"
  # The role leadsync's processes log in as (LEADSYNC_DATABASE_APP_PASSWORD): no superuser,
  # no BYPASSRLS, so row-level security holds for them. The migrations grant it its rights.
  PGPASSWORD=leadsync "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U leadsync -d postgres -qtA \
    -c "DO \$\$ BEGIN CREATE ROLE leadsync_app LOGIN PASSWORD 'leadsync_app' NOSUPERUSER NOBYPASSRLS;
        EXCEPTION WHEN duplicate_object THEN ALTER ROLE leadsync_app LOGIN PASSWORD 'leadsync_app';
        END \$\$" >/dev/null || die "could not make the role leadsync_app"
  log "PostgreSQL ready: postgresql://leadsync:leadsync@127.0.0.1:$PG_PORT/leadsync"
}

stop() {
  local bin; bin="$(pg_bindir)"
  locate_cluster
  if [ -f "$PGDATA/PG_VERSION" ] && as_owner "$bin/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
    log "stopping PostgreSQL"
    as_owner "$bin/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
  else
    log "PostgreSQL not running"
  fi
}

status() {
  local bin; bin="$(pg_bindir)"
  locate_cluster
  if [ -f "$PGDATA/PG_VERSION" ] && as_owner "$bin/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
    echo "postgres: running on 127.0.0.1:$PG_PORT"
  else
    echo "postgres: stopped"; return 3
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) die "usage: $0 start|stop|status" ;;
esac
