#!/usr/bin/env bash
# `make dev` fires the cron tick by itself, and stopping it leaves nothing behind.
#
# Starts scripts/dev.sh (what `make dev` runs) with a tick every 2 s on a free port, on a Worker
# with local state of its own (target/dev_tick: fresh D1 and KV, migrations applied), fires
# nothing by hand, and waits for
#   - two `GET /__scheduled` requests in wrangler's log (the first at once, the next on the
#     2-second clock: the ticking repeats), and
#   - the tick recorded in that D1 (`app_state.cron_last_tick`, written by `health::record_tick`
#     at the start of every tick) at or after the test's start: the scheduled handler really ran.
# Then it sends SIGTERM to the script alone and gives everything it started (wrangler, node,
# workerd, the ticking) 10 s to be gone: every process seen in its tree beforehand, and any other
# member of their process groups and sessions. Processes are told apart by pid, group and
# session, never by name: other wrangler servers may be running on this machine.
#
# The Worker is the one `make build` built: the config is wrangler.toml without [build], so
# nothing rebuilds and no source watcher reloads the Worker mid-test. About 20-30 s.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
wrangler=$root/node_modules/.bin/wrangler
dir=$root/target/dev_tick
log=$dir/dev.log
started_ms=$(date +%s%3N)
dev_pid=''

fail() {
    echo "FAIL tests/dev_tick.sh: $*" >&2
    if [[ -s $log ]]; then
        echo "--- the last lines of $log:" >&2
        tail -n 30 "$log" >&2
    fi
    exit 1
}

[[ -x $wrangler ]] || fail "no $wrangler (make deps installs it)"
[[ -f build/index_bg.wasm ]] || fail "no build/index_bg.wasm (make build makes it)"

rm -rf "$dir"
mkdir -p "$dir"

# wrangler.toml without [build], its relative paths made absolute (the copy lives elsewhere),
# and dev settings beside it with a fresh vault key, as `make dev` writes .dev.vars.
awk -v root="$root" '
    /^\[/ { skipping = ($0 == "[build]") }
    skipping { next }
    /^(main|migrations_dir|directory)[ \t]*=[ \t]*"/ { sub(/"/, "\"" root "/") }
    { print }
' wrangler.toml >"$dir/wrangler.toml"
sed "s|REPLACE_WITH_BASE64_OF_32_RANDOM_BYTES|$(openssl rand -base64 32)|" .dev.vars.example >"$dir/.dev.vars"
config=(--config "$dir/wrangler.toml" --persist-to "$dir/state")

export WRANGLER_SEND_METRICS=false
CI=true "$wrangler" d1 migrations apply DB --local "${config[@]}" >"$dir/migrate.log" 2>&1 \
    || fail "applying the migrations: $(tail -n 20 "$dir/migrate.log")"

# Two free ports (the app's and the inspector's), both held until both are known.
read -r port inspector < <(python3 -c '
import socket
a, b = socket.socket(), socket.socket()
a.bind(("127.0.0.1", 0)); b.bind(("127.0.0.1", 0))
print(a.getsockname()[1], b.getsockname()[1])')
base="http://127.0.0.1:$port"

# Every process as `pid ppid pgid sid stat comm`.
processes() { ps -e -o pid=,ppid=,pgid=,sid=,stat=,comm=; }

# The pid given and all its descendants, as `pid pgid sid comm`.
tree() {
    processes | awk -v root="$1" '
        { ppid[$1] = $2; pgid[$1] = $3; sid[$1] = $4; comm[$1] = $6; order[NR] = $1 }
        END {
            keep[root] = 1
            for (changed = 1; changed; ) {
                changed = 0
                for (i = 1; i <= NR; i++) {
                    p = order[i]
                    if (!(p in keep) && (ppid[p] in keep)) { keep[p] = 1; changed = 1 }
                }
            }
            for (p in keep) if (p in comm) print p, pgid[p], sid[p], comm[p]
        }'
}

# Live processes (zombies hold nothing) with a pid, group or session in the lists given.
left_over() {
    processes | awk -v pids=" $1 " -v groups=" $2 " -v sessions=" $3 " '
        $5 !~ /^Z/ && (index(pids, " " $1 " ") || index(groups, " " $3 " ") || index(sessions, " " $4 " "))'
}

seen_pids='' seen_groups='' seen_sessions=''
remember() {
    local pid group session _
    while read -r pid group session _; do
        seen_pids+=" $pid" seen_groups+=" $group" seen_sessions+=" $session"
    done < <(tree "$dev_pid")
}

# However the test ends, nothing it started outlives it.
cleanup() {
    [[ -n $dev_pid ]] || return 0
    remember
    kill -TERM "$dev_pid" 2>/dev/null || true
    for _ in {1..100}; do
        [[ -z $(left_over "$seen_pids" "$seen_groups" "$seen_sessions") ]] && return 0
        sleep 0.1
    done
    local pid
    for pid in $(left_over "$seen_pids" "$seen_groups" "$seen_sessions" | awk '{print $1}'); do
        kill -KILL "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT

# A session (and group) of its own, so everything it starts is findable; SIGINT would be ignored
# by a background job of a script, so the test stops it with SIGTERM.
PORT=$port DEV_TICK_SECONDS=2 setsid bash scripts/dev.sh "${config[@]}" --inspector-port "$inspector" \
    </dev/null >"$log" 2>&1 &
dev_pid=$!
# (setsid forks only when its caller leads a process group, which a background job here does not.)
for _ in {1..20}; do
    [[ $(ps -o sid= -p "$dev_pid" | tr -d ' ') == "$dev_pid" ]] && break
    sleep 0.1
done
[[ $(ps -o sid= -p "$dev_pid" | tr -d ' ') == "$dev_pid" ]] || fail "scripts/dev.sh did not get a session of its own"

alive() { kill -0 "$dev_pid" 2>/dev/null && [[ -z $(ps -o stat= -p "$dev_pid" | grep Z) ]]; }

deadline=$((SECONDS + 60))
until curl -fsS -o /dev/null --max-time 2 "$base/api/health" 2>/dev/null; do
    alive || fail "scripts/dev.sh exited before $base/api/health answered"
    ((SECONDS < deadline)) || fail "$base/api/health did not answer within 60 s"
    sleep 0.5
done

# Ticks fired by the script: wrangler logs each request it serves, /__scheduled included.
ticks() { grep -c 'GET /__scheduled 200' "$log" || true; }
deadline=$((SECONDS + 20))
until (($(ticks) >= 2)); do
    alive || fail "scripts/dev.sh exited while waiting for its ticks"
    ((SECONDS < deadline)) || fail "$(ticks) tick(s) fired within 20 s of the server answering; wanted 2 (one at once, one 2 s later)"
    sleep 0.5
done
grep -q 'cron tick failed' "$log" && fail "a tick failed (see the log)"

# And the scheduled handler ran: the tick it records (epoch ms) is from this run.
last_tick() {
    "$wrangler" d1 execute DB --local "${config[@]}" --json \
        --command "SELECT value FROM app_state WHERE key = 'cron_last_tick'" 2>>"$dir/d1.log" \
        | python3 -c 'import json, sys; rows = json.load(sys.stdin)[0]["results"]; print(rows[0]["value"] if rows else 0)'
}
tick_ms=''
for _ in 1 2 3; do
    tick_ms=$(last_tick) && break
    sleep 1
done
[[ $tick_ms =~ ^[0-9]+$ ]] || fail "could not read app_state from the local D1: $(tail -n 5 "$dir/d1.log")"
((tick_ms >= started_ms)) || fail "the local D1 has no tick from this run (cron_last_tick=$tick_ms, test started at $started_ms)"

# What it started, before stopping it: wrangler's node, workerd among them.
remember
names=($(tree "$dev_pid" | awk '{print $4}' | sort -u))
[[ " ${names[*]} " == *" workerd "* ]] || fail "no workerd in the tree of scripts/dev.sh (saw: ${names[*]})"

kill -TERM "$dev_pid"
status=0
deadline=$((SECONDS + 10))
while [[ -n $(left_over "$seen_pids" "$seen_groups" "$seen_sessions") ]]; do
    if ((SECONDS >= deadline)); then
        fail "10 s after SIGTERM these are still running:
$(left_over "$seen_pids" "$seen_groups" "$seen_sessions")"
    fi
    sleep 0.2
done
wait "$dev_pid" || status=$?
dev_pid=''
((status == 143)) || fail "scripts/dev.sh ended with status $status after SIGTERM, not 143 (killed by it)"

echo "ok tests/dev_tick.sh: $(ticks) ticks fired by scripts/dev.sh, the last recorded in D1 at $tick_ms; SIGTERM stopped all ${#names[@]} kinds of process it started (${names[*]}) within 10 s"
