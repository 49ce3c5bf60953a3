#!/usr/bin/env bash
# A throw-away PostgreSQL for the test suite.
#
#   scripts/postgres.sh start    start (or reuse) the test cluster; prints its postgresql+asyncpg:// URL
#   scripts/postgres.sh stop     stop it (the data directory stays, so the next start is fast)
#   scripts/postgres.sh status   print the URL if it runs, exit 1 otherwise
#
# Installs the server with apt-get when no initdb/pg_ctl is found (PATH or /usr/lib/postgresql/*/bin).
# The cluster lives in $MIRROR_PG_DIR (default: /tmp/mirrorbot-pg-<uid>), listens on 127.0.0.1 only at a
# free port, keeps its unix socket in that directory, and uses a random password stored there (0600).
# Durability is switched off (fsync, synchronous_commit): it is a test database, speed matters. So is
# autovacuum: its workers run as the superuser, and a test dropping its database WITH (FORCE) cannot end them.
# PostgreSQL refuses to run as root, so as root the server runs as the `postgres` system user (created
# if missing). Only the URL goes to stdout; progress and errors go to stderr.
set -euo pipefail

PG_DIR="${MIRROR_PG_DIR:-${TMPDIR:-/tmp}/mirrorbot-pg-$(id -u)}"
DATA="$PG_DIR/data"
DB_NAME="${MIRROR_PG_DB:-mirrorbot_test}"
DB_USER=mirrorbot
PORT_FILE="$PG_DIR/port"
PASS_FILE="$PG_DIR/password"
LOG="$PG_DIR/server.log"
RUN_AS=""

say() { echo "postgres.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }

find_bindir() {
    local dir candidate
    if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
        dirname "$(readlink -f "$(command -v pg_ctl)")"
        return 0
    fi
    # Debian keeps the server binaries off PATH; take the newest version installed.
    for candidate in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -V -r); do
        dir="$candidate"
        if [[ -x "$dir/pg_ctl" && -x "$dir/initdb" ]]; then
            echo "$dir"
            return 0
        fi
    done
    return 1
}

install_server() {
    say "no PostgreSQL server found: installing it with apt-get"
    local sudo=""
    if [[ "$(id -u)" != 0 ]]; then
        command -v sudo >/dev/null 2>&1 || die "PostgreSQL is not installed and apt-get needs root (no sudo)"
        sudo="sudo -n"
    fi
    # Only the binaries are wanted: tell postgresql-common not to create and start its own cluster.
    $sudo mkdir -p /etc/postgresql-common
    if [[ ! -e /etc/postgresql-common/createcluster.conf ]]; then
        echo "create_main_cluster = false" | $sudo tee /etc/postgresql-common/createcluster.conf >/dev/null
    fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq >&2 || die "apt-get update failed"
    $sudo apt-get install -y -qq --no-install-recommends postgresql >&2 || die "apt-get install postgresql failed"
}

# Run a command as the cluster's owner (ourselves, or the postgres system user when we are root).
as_owner() {
    if [[ -z "$RUN_AS" ]]; then
        "$@"
    elif command -v runuser >/dev/null 2>&1; then
        runuser -u "$RUN_AS" -- "$@"
    else
        su -s /bin/sh "$RUN_AS" -c "$(printf '%q ' "$@")"
    fi
}

choose_owner() {
    [[ "$(id -u)" == 0 ]] || return 0
    RUN_AS=postgres
    if ! id "$RUN_AS" >/dev/null 2>&1; then
        say "creating the system user $RUN_AS (the server refuses to run as root)"
        useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$RUN_AS" \
            || die "could not create the $RUN_AS user"
    fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
    local port
    for port in $(seq 55432 55632); do
        if ! port_in_use "$port"; then
            echo "$port"
            return 0
        fi
    done
    die "no free TCP port in 55432-55632 on 127.0.0.1"
}

running() { [[ -f "$DATA/PG_VERSION" ]] && as_owner "$BIN/pg_ctl" status -D "$DATA" >/dev/null 2>&1; }

url() {
    printf 'postgresql+asyncpg://%s:%s@127.0.0.1:%s/%s\n' "$DB_USER" "$(cat "$PASS_FILE")" "$(cat "$PORT_FILE")" "$DB_NAME"
}

psql_admin() {
    as_owner "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_DIR" -p "$(cat "$PORT_FILE")" -U postgres -d postgres "$@"
}

init_cluster() {
    say "creating a test cluster in $DATA"
    mkdir -p "$PG_DIR"
    chmod 0700 "$PG_DIR"
    [[ -z "$RUN_AS" ]] || chown "$RUN_AS" "$PG_DIR"
    # 32 hex characters: safe in a URL as is.
    as_owner sh -c "umask 077; od -An -N16 -tx1 /dev/urandom | tr -d ' \n' > '$PASS_FILE'"
    # Local (socket) connections trust the owner; TCP needs the password.
    as_owner "$BIN/initdb" -D "$DATA" -U postgres -E UTF8 --locale=C --auth-local=trust \
        --auth-host=scram-sha-256 --no-sync --no-instructions >/dev/null \
        || die "initdb failed"
}

start_server() {
    local port
    port="$(free_port)"
    as_owner sh -c "echo $port > '$PORT_FILE'"
    say "starting PostgreSQL on 127.0.0.1:$port"
    # 9>&-: the server must not inherit (and hold forever) the lock taken below.
    as_owner "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 30 start -o \
        "-c listen_addresses=127.0.0.1 -p $port -k $PG_DIR -c fsync=off -c synchronous_commit=off \
-c full_page_writes=off -c max_connections=200 -c autovacuum=off" >/dev/null 9>&- \
        || { tail -n 20 "$LOG" >&2 || true; die "the server did not start (log: $LOG)"; }
}

ensure_database() {
    local password
    password="$(cat "$PASS_FILE")"
    if [[ -z "$(psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$DB_USER'")" ]]; then
        psql_admin -c "CREATE ROLE $DB_USER LOGIN CREATEDB PASSWORD '$password'" >/dev/null
    fi
    if [[ -z "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" ]]; then
        psql_admin -c "CREATE DATABASE $DB_NAME OWNER $DB_USER" >/dev/null
    fi
}

cmd_start() {
    choose_owner
    BIN="$(find_bindir)" || { install_server; BIN="$(find_bindir)" || die "no initdb/pg_ctl after install"; }
    if running; then
        ensure_database
        url
        return 0
    fi
    if [[ -d "$PG_DIR" && ! -f "$DATA/PG_VERSION" ]]; then
        rm -rf "$PG_DIR"  # a half-made cluster from an interrupted run
    fi
    [[ -f "$DATA/PG_VERSION" ]] || init_cluster
    start_server
    ensure_database
    url
}

cmd_stop() {
    choose_owner
    BIN="$(find_bindir)" || die "no PostgreSQL installed"
    if running; then
        as_owner "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
        say "stopped"
    else
        say "not running"
    fi
}

cmd_status() {
    choose_owner
    BIN="$(find_bindir)" || die "no PostgreSQL installed"
    running || { say "not running"; exit 1; }
    url
}

# Serialise concurrent callers (two test runs starting at once must not both run initdb).
if command -v flock >/dev/null 2>&1; then
    exec 9>"$PG_DIR.lock"
    flock -w 120 9 || die "timed out waiting for $PG_DIR.lock"
fi

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
