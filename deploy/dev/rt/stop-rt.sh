#!/usr/bin/env bash
# stop-rt.sh: stop a throw-away RT started by start-rt.sh and remove its state dir.
#
# Usage: deploy/dev/rt/stop-rt.sh [STATE_DIR]      (default: $RT_STATE_DIR)
#   RT_KEEP_STATE=1  keep the state dir (DB, server.log, outgoing-mail.mbox)
#
# Safe to call twice, with nothing, or with a dir that is already gone (exit 0).
# Signals only PIDs whose /proc/PID/cmdline still says rt-server.
set -euo pipefail

log() { printf '[stop-rt %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

dir=${1:-${RT_STATE_DIR:-}}
if [ -z "$dir" ]; then
    log "no state dir given (argument or RT_STATE_DIR): nothing to stop"
    exit 0
fi
if [ ! -d "$dir" ]; then
    log "$dir does not exist (already stopped and removed?): nothing to stop"
    exit 0
fi
if [ ! -f "$dir/.procbot-rt-state" ]; then
    log "ERROR: $dir was not made by start-rt.sh (no .procbot-rt-state); not touching it"
    exit 1
fi

is_rt_server() { # PID
    [[ $1 =~ ^[0-9]+$ ]] && tr '\0' ' ' 2> /dev/null < "/proc/$1/cmdline" | grep -q rt-server
}

pidfile="$dir/server.pid"
pid=$(cat "$pidfile" 2> /dev/null || true)
if [ -z "$pid" ]; then
    log "no server.pid in $dir: no server was started"
elif ! is_rt_server "$pid"; then
    log "rt-server $pid is not running"
else
    # Remember the Starlet workers so that none is left behind.
    workers=$(ps -o pid= --ppid "$pid" 2> /dev/null || true)
    # SIGTERM: the Starlet master stops its workers and exits (~1-2 s).
    # Never SIGINT: rt-server's INT handler, as root, runs
    # chown -R www-data:www-data /var/lib/request-tracker5.
    kill -TERM "$pid" 2> /dev/null || true
    for _ in $(seq 1 150); do
        is_rt_server "$pid" || break
        sleep 0.1
    done
    for p in "$pid" $workers; do
        if is_rt_server "$p"; then
            log "rt-server process $p still running after 15 s: KILL"
            kill -KILL "$p" 2> /dev/null || true
        fi
    done
    log "stopped rt-server $pid"
fi
rm -f "$pidfile"

if [ "${RT_KEEP_STATE:-0}" = 1 ]; then
    log "kept $dir (RT_KEEP_STATE=1)"
else
    rm -rf -- "$dir"
    log "removed $dir"
fi
