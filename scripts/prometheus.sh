#!/usr/bin/env bash
# A throw-away Prometheus for the test suite (and for looking at a local `mirrorbot run`).
#
#   scripts/prometheus.sh install               make sure prometheus and promtool are installed
#   scripts/prometheus.sh start DIR TARGET...   start one in DIR scraping TARGETs (host:port, each
#                                               a `mirrorbot run` ops port); prints its http:// URL
#   scripts/prometheus.sh stop DIR              stop the one started in DIR
#
# Installs the Debian `prometheus` package with apt-get when `prometheus` or `promtool` is missing.
# Everything lives in DIR: the generated config (scrape and rule evaluation every second, the repo's
# deploy/prometheus/rules.yml loaded, so the rules are exercised too), the TSDB, the log and the pid.
# It listens on 127.0.0.1 only, at a free port. Only the URL goes to stdout; progress goes to stderr.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
RULES="${MIRROR_PROM_RULES:-$HERE/../deploy/prometheus/rules.yml}"

say() { echo "prometheus.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }

installed() { command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; }

cmd_install() {
    installed && return 0
    say "prometheus not found: installing the Debian package with apt-get"
    local sudo=""
    if [[ "$(id -u)" != 0 ]]; then
        command -v sudo >/dev/null 2>&1 || die "prometheus is not installed and apt-get needs root (no sudo)"
        sudo="sudo -n"
    fi
    export DEBIAN_FRONTEND=noninteractive
    # Serialise concurrent installs (two test workers starting at once).
    (
        flock -w 600 8 || die "timed out waiting for the install lock"
        installed && exit 0
        $sudo apt-get update -qq >&2 || die "apt-get update failed"
        $sudo apt-get install -y -qq --no-install-recommends prometheus >&2 || die "apt-get install prometheus failed"
    ) 8>"${TMPDIR:-/tmp}/mirrorbot-prometheus-install.lock"
    installed || die "no prometheus/promtool after install"
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Below the kernel's ephemeral range (32768-60999 by default): a port there may be taken by an outgoing
# connection between the check and Prometheus' bind (seen under the test suite's load).
FIRST_PORT=19090
LAST_PORT=19290

free_port() {
    local port
    for port in $(seq "${1:-$FIRST_PORT}" "$LAST_PORT"); do
        if ! port_in_use "$port"; then
            echo "$port"
            return 0
        fi
    done
    die "no free TCP port in ${1:-$FIRST_PORT}-$LAST_PORT on 127.0.0.1"
}

write_config() {
    local dir="$1"; shift
    {
        echo "global:"
        echo "  scrape_interval: 1s"
        echo "  scrape_timeout: 1s"
        echo "  evaluation_interval: 1s"
        if [[ -f "$RULES" ]]; then
            echo "rule_files:"
            echo "  - $(readlink -f "$RULES")"
        fi
        echo "scrape_configs:"
        echo "  - job_name: mirrorbot"
        echo "    static_configs:"
        echo "      - targets:"
        local target
        for target in "$@"; do
            [[ "$target" =~ ^[A-Za-z0-9.-]+:[0-9]+$ ]] || die "target must be host:port (got $target)"
            echo "          - '$target'"
        done
    } >"$dir/prometheus.yml"
}

cmd_start() {
    local dir="${1:-}"
    [[ -n "$dir" ]] || die "usage: $0 start DIR TARGET..."
    shift
    [[ $# -gt 0 ]] || die "no target to scrape"
    cmd_install
    mkdir -p "$dir"
    write_config "$dir" "$@"
    promtool check config "$dir/prometheus.yml" >&2 || die "the generated config does not check"
    local port=$((FIRST_PORT - 1)) attempt
    for attempt in 1 2 3 4 5; do  # a port taken between the check and the bind: the next one
        port="$(free_port $((port + 1)))"
        if start_on "$dir" "$port"; then
            echo "http://127.0.0.1:$port"
            return 0
        fi
        grep -q "address already in use" "$dir/prometheus.log" || { tail -n 20 "$dir/prometheus.log" >&2; die "it exited"; }
        say "port $port was taken meanwhile (attempt $attempt)"
    done
    die "no port could be bound"
}

start_on() {
    local dir="$1" port="$2" url="http://127.0.0.1:$2"
    say "starting Prometheus on $url (data in $dir)"
    # setsid: its own session, so a test's process group signals do not reach it; stopped by its pid.
    setsid prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
        --web.listen-address="127.0.0.1:$port" --web.enable-lifecycle >"$dir/prometheus.log" 2>&1 \
        </dev/null &
    echo $! >"$dir/pid"
    local waited=0
    until curl -fsS "$url/-/ready" >/dev/null 2>&1; do
        kill -0 "$(cat "$dir/pid")" 2>/dev/null || { rm -f "$dir/pid"; return 1; }
        ((waited++ < 300)) || { tail -n 20 "$dir/prometheus.log" >&2; die "not ready after 30 s"; }
        sleep 0.1
    done
}

cmd_stop() {
    local dir="${1:-}"
    [[ -n "$dir" && -f "$dir/pid" ]] || { say "nothing started in ${dir:-?}"; return 0; }
    local pid
    pid="$(cat "$dir/pid")"
    if kill "$pid" 2>/dev/null; then
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$dir/pid"
    say "stopped"
}

case "${1:-}" in
    install) cmd_install ;;
    start) shift; cmd_start "$@" ;;
    stop) shift; cmd_stop "$@" ;;
    *) echo "usage: $0 install | start DIR TARGET... | stop DIR" >&2; exit 2 ;;
esac
