#!/usr/bin/env bash
# A throw-away Redis 7 for the test suite (the bus of the distributed roles, issue #15).
#
#   scripts/redis.sh start    start (or reuse) the test server; prints its redis://127.0.0.1:PORT/0 URL
#   scripts/redis.sh stop     stop it (the data directory stays: its append-only file is the data)
#   scripts/redis.sh status   print the URL if it runs, exit 1 otherwise
#
# Installs Debian's redis-server with apt-get when no redis-server is found. The server lives in
# $MIRROR_REDIS_DIR (default: /tmp/mirrorbot-redis-<uid>), listens on 127.0.0.1 only at a free port (no
# unix socket), with the append-only file on and no RDB snapshots. appendfsync always: an entry whose
# XADD was answered survives even a SIGKILL of the server (tests/bus restart it that way). Protected mode stays on: loopback only, no
# password, nothing else can reach it. Only the URL goes to stdout; progress and errors go to stderr.
set -euo pipefail

REDIS_DIR="${MIRROR_REDIS_DIR:-${TMPDIR:-/tmp}/mirrorbot-redis-$(id -u)}"
PORT_FILE="$REDIS_DIR/port"
PID_FILE="$REDIS_DIR/redis.pid"
LOG="$REDIS_DIR/server.log"

say() { echo "redis.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }

install_server() {
    say "no redis-server found: installing it with apt-get"
    local sudo=""
    if [[ "$(id -u)" != 0 ]]; then
        command -v sudo >/dev/null 2>&1 || die "Redis is not installed and apt-get needs root (no sudo)"
        sudo="sudo -n"
    fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq >&2 || die "apt-get update failed"
    $sudo apt-get install -y -qq --no-install-recommends redis-server >&2 || die "apt-get install redis-server failed"
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
    local port
    # In a random order: two servers starting at once (a test's private one, a bench's) probing from the
    # same first port would both pick it, and the second would fail to listen.
    for port in $(seq 56379 56579 | shuf); do
        if ! port_in_use "$port"; then
            echo "$port"
            return
        fi
    done
    die "no free TCP port in 56379-56579 on 127.0.0.1"
}

url() { printf 'redis://127.0.0.1:%s/0\n' "$(cat "$PORT_FILE")"; }


# The server answering on our port is the one whose pid we wrote (another one may have that port).
ours() {
    [[ -f "$PID_FILE" && -f "$PORT_FILE" ]] || return 1
    local pid
    pid="$(cat "$PID_FILE")"
    kill -0 "$pid" 2>/dev/null || return 1
    redis-cli -h 127.0.0.1 -p "$(cat "$PORT_FILE")" info server 2>/dev/null | tr -d '\r' \
        | grep -qx "process_id:$pid"
}

running() { ours; }

start_server() {
    local port attempt try lines
    mkdir -p "$REDIS_DIR"
    chmod 0700 "$REDIS_DIR"
    for try in 1 2 3 4 5; do
        # The port it had before, if still free: its clients reconnect to the same URL after a restart.
        if [[ "$try" == 1 && -f "$PORT_FILE" ]] && ! port_in_use "$(cat "$PORT_FILE")"; then
            port="$(cat "$PORT_FILE")"
        else
            port="$(free_port)"
        fi
        echo "$port" > "$PORT_FILE"
        say "starting Redis on 127.0.0.1:$port (data in $REDIS_DIR)"
        lines="$( (wc -l < "$LOG") 2>/dev/null || echo 0)"
        rm -f "$PID_FILE"
        # 9>&-: the server must not inherit (and hold forever) the lock taken below.
        redis-server --bind 127.0.0.1 --port "$port" --unixsocket "" --dir "$REDIS_DIR" \
            --appendonly yes --appendfsync always --save "" --daemonize yes --pidfile "$PID_FILE" \
            --logfile "$LOG" --protected-mode yes 9>&- \
            || die "redis-server did not start (log: $LOG)"
        for attempt in $(seq 1 300); do
            # Taken between the probe and the bind (another server starting at once): another port.
            # (Its PING would be answered by that other server: only our pid's answer counts.)
            if tail -n +"$((lines + 1))" "$LOG" 2>/dev/null | grep -q "Failed listening on port $port"; then
                say "port $port was taken meanwhile"
                continue 2
            fi
            ours && return 0
            sleep 0.1
        done
        break
    done
    tail -n 20 "$LOG" >&2 || true
    die "the server did not answer (log: $LOG)"
}

cmd_start() {
    command -v redis-server >/dev/null 2>&1 || install_server
    command -v redis-server >/dev/null 2>&1 || die "no redis-server after install"
    running || start_server
    url
}

cmd_stop() {
    if running; then
        redis-cli -h 127.0.0.1 -p "$(cat "$PORT_FILE")" shutdown >/dev/null 2>&1 || true
        say "stopped"
    else
        say "not running"
    fi
}

cmd_status() {
    running || { say "not running"; exit 1; }
    url
}

# Serialise concurrent callers (two test runs starting at once must not start two servers).
mkdir -p "$(dirname "$REDIS_DIR")"
if command -v flock >/dev/null 2>&1; then
    exec 9>"$REDIS_DIR.lock"
    flock -w 60 9 || die "timed out waiting for $REDIS_DIR.lock"
fi

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
