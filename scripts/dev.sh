#!/usr/bin/env bash
# `make dev`: `wrangler dev` with the Worker's cron tick fired every minute, as Cloudflare would
# fire it, so schedules, re-pricing, key re-wrapping, retention and mail retries run locally with
# nobody firing them. wrangler's output stays on this terminal. Ctrl-C, SIGTERM or SIGHUP stops
# wrangler with its whole process group (node, workerd, a build it started) and the ticking;
# so does wrangler ending on its own.
#
# PORT (default 8787), WRANGLER (default node_modules/.bin/wrangler), DEV_TICK_SECONDS (default
# 60: a tick at the start of each minute; tests use 2). Arguments go to `wrangler dev` as well.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
port=${PORT:-8787}
wrangler=${WRANGLER:-$PWD/node_modules/.bin/wrangler}
interval=${DEV_TICK_SECONDS:-60}
export WRANGLER_SEND_METRICS=${WRANGLER_SEND_METRICS:-false}

say() { echo "dev.sh: $*" >&2; }

# wait -n -p (below) is bash 5.1's.
((BASH_VERSINFO[0] * 100 + BASH_VERSINFO[1] >= 501)) || { say "needs bash 5.1 or newer, not $BASH_VERSION"; exit 2; }
[[ $interval =~ ^[1-9][0-9]*$ ]] || { say "DEV_TICK_SECONDS must be a whole number of seconds above 0, not '$interval'"; exit 2; }
[[ -x $wrangler ]] || { say "no $wrangler (make deps installs it)"; exit 2; }

base="http://127.0.0.1:$port"
tick_url="$base/__scheduled?cron=*+*+*+*+*"
# Something else already answering there would get our ticks while our wrangler fails to bind.
if curl -s -o /dev/null --max-time 2 "$base/"; then
    say "something already answers at $base; stop it or choose another PORT="
    exit 1
fi

wrangler_pid=''
helper_pid=''
err_file=$(mktemp)

# wrangler and its children (node, workerd, the custom build) form one process group, led by
# wrangler (setsid makes it a session and group of its own): TERM the group, give it 5 s, KILL.
stop_wrangler() {
    [[ -n $wrangler_pid ]] || return 0
    local group=-$wrangler_pid
    wrangler_pid=''
    kill -TERM -- "$group" 2>/dev/null || return 0
    for _ in {1..50}; do
        kill -0 -- "$group" 2>/dev/null || return 0
        sleep 0.1
    done
    say "wrangler did not stop within 5 s; killing it"
    kill -KILL -- "$group" 2>/dev/null || true
}

cleanup() {
    if [[ -n $helper_pid ]]; then
        kill "$helper_pid" 2>/dev/null || true
        helper_pid=''
    fi
    stop_wrangler
    rm -f "$err_file"
}

# On a signal: clean up, then die of that same signal, so make (or a shell) sees how it ended.
on_signal() {
    trap - INT TERM HUP EXIT
    cleanup
    kill -s "$1" $$
}

trap cleanup EXIT
trap 'on_signal INT' INT
trap 'on_signal TERM' TERM
trap 'on_signal HUP' HUP

# stdin from /dev/null: with the interactive session off wrangler reads nothing, and a process
# outside the terminal's foreground group must not try.
setsid "$wrangler" dev --local --ip 127.0.0.1 --port "$port" --test-scheduled \
    --show-interactive-dev-session=false "$@" </dev/null &
wrangler_pid=$!

# Runs one short command in the background and waits for it or for wrangler, whichever ends
# first (a signal interrupts the wait at once and its trap runs). Answers the command's status;
# when wrangler ended instead, stops everything and exits with wrangler's status.
run() {
    "$@" &
    helper_pid=$!
    local ended='' status=0
    wait -n -p ended "$helper_pid" "$wrangler_pid" || status=$?
    if [[ $ended != "$helper_pid" ]]; then
        say "wrangler exited (status $status)"
        trap - EXIT
        cleanup
        exit "$status"
    fi
    helper_pid=''
    return "$status"
}

fire() {
    if ! run curl -fsS -g -o /dev/null --max-time 120 --stderr "$err_file" "$tick_url"; then
        say "cron tick failed: $(tr '\n' ' ' <"$err_file")"
    fi
}

# Ready once the port answers at all (wrangler builds first when the wasm is stale).
until run curl -s -o /dev/null --max-time 2 "$base/api/health"; do
    run sleep 0.5
done
fire

# Then at each multiple of the interval on the wall clock: the start of every minute by default.
while :; do
    now_us=${EPOCHREALTIME//[!0-9]/}
    period_us=$((interval * 1000000))
    wait_us=$((period_us - now_us % period_us))
    run sleep "$((wait_us / 1000000)).$(printf '%06d' $((wait_us % 1000000)))"
    fire
done
