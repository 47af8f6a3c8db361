#!/usr/bin/env bash
# bench/sync.sh — `satchel sync` on loopback: devices of one user against one server, in one run.
#
# Usage: bench/sync.sh            (SQLite + local disk; release build)
# Environment: TRIALS [50]; SMALL_COUNT [10000]; EDIT_MIB [256]; IDLE_SECS [60];
#   SATCHEL_BIN [target/release/satchel].
#
# Measures:
#   latency       a small file written in device A's folder until it is complete in device B's
#                 folder, both clients running live (median and p95 over TRIALS)
#   notify        commit-to-notification latency (bench/notify.py, when python's websockets is there)
#   initial-up    `satchel sync --once` of SMALL_COUNT files of 4 KiB into an empty remote: files/s
#   initial-down  `satchel sync --once` of those files into an empty local folder: files/s
#   edit          bytes each way for a 1-byte edit in the middle of an EDIT_MIB MiB file (the
#                 clients' own counts, and the loopback interface's)
#   idle-cpu      CPU seconds used by each of two idle live clients over IDLE_SECS
#   idle sockets  server memory and CPU for IDLE_CONNECTIONS [2000] idle notification sockets
#                 (bench/idle.py; needs python's websockets)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${SATCHEL_BIN:-$ROOT/target/release/satchel}
TRIALS=${TRIALS:-50} SMALL_COUNT=${SMALL_COUNT:-10000} EDIT_MIB=${EDIT_MIB:-256}
IDLE_SECS=${IDLE_SECS:-60}
PORT=${PORT:-18093}
WORK=$(mktemp -d /tmp/satchel-syncbench.XXXXXX)
S=http://127.0.0.1:$PORT
source "$ROOT/bench/lib.sh"
result() { printf 'RESULT\t%-22s\t%12s\t%s\n' "$1" "$2" "$3"; }
wire() { awk '/^ *lo:/ {print $2}' /proc/net/dev; }
now() { date +%s.%N; }
LIVE=()
stop_live() { for pid in "${LIVE[@]}"; do kill "$pid" 2>/dev/null || true; done; LIVE=(); }
trap 'stop_live; cleanup' EXIT

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
"$BIN" serve --listen 127.0.0.1:$PORT --data "$WORK/data" 2>"$WORK/server.log" &
SERVER_PID=$!
for _ in $(seq 100); do curl -sf $S/healthz >/dev/null && break; sleep 0.1; done
curl -sf -X POST $S/api/v1/auth/register -H 'content-type: application/json' \
  -d '{"email":"bench@example.org","password":"bench password"}' >/dev/null
export SATCHEL_PASSWORD="bench password" SATCHEL_LOG=warn
# dev NAME: a device with its own session and folder.
dev() { mkdir -p "$WORK/$1"; XDG_CONFIG_HOME=$WORK/$1-config "$BIN" login $S --email bench@example.org >/dev/null; }
as() { local name=$1; shift; XDG_CONFIG_HOME=$WORK/$name-config "$BIN" "$@"; }
once() { as "$1" sync "$WORK/$1" --remote "$2" --once --json --device "$1" "${@:3}"; }
# (exec: $! is the client itself, so stop_live stops it rather than a shell around it)
live() { (export XDG_CONFIG_HOME=$WORK/$1-config; exec "$BIN" sync "$WORK/$1" --remote "$2" --device "$1" 2>"$WORK/$1.log") & LIVE+=($!); }

# --- latency: A writes, B sees the complete file ---------------------------------------------
dev a; dev b
live a /latency; sleep 0.5; live b /latency
sleep 2
python3 "$ROOT/bench/latency.py" "$WORK/a" "$WORK/b" "$TRIALS" | tee "$WORK/latency.txt"
read -r med p95 best worst < "$WORK/latency.txt"
result latency-median "${med} ms" "p95 ${p95} ms, min ${best} ms, max ${worst} ms over $TRIALS trials (target: median <= 300 ms, p95 <= 1 s)"

# --- idle CPU of the two live clients -------------------------------------------------------
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
ticks=$(getconf CLK_TCK)
declare -A before
for pid in "${LIVE[@]}"; do before[$pid]=$(cpu "$pid"); done
sleep "$IDLE_SECS"
for pid in "${LIVE[@]}"; do
  used=$(( $(cpu "$pid") - ${before[$pid]} ))
  result idle-cpu "$(python3 -c "print(f'{$used / $ticks:.2f} s')")" "CPU of an idle live client over ${IDLE_SECS} s (pid $pid)"
done
stop_live

# --- commit-to-notification -----------------------------------------------------------------
if python3 -c 'import websockets' 2>/dev/null; then
  python3 "$ROOT/bench/notify.py" $S bench@example.org "bench password" 50 | sed 's/^/notify: /'
  python3 "$ROOT/bench/idle.py" $S bench@example.org "bench password" "$SERVER_PID" \
    "${IDLE_CONNECTIONS:-2000}" 30 | sed 's/^/idle sockets: /'
fi

# --- initial sync of many small files -------------------------------------------------------
dev c; dev d
python3 - "$WORK/c" "$SMALL_COUNT" <<'EOF'
import os, sys
root, count = sys.argv[1], int(sys.argv[2])
for i in range(count):
    folder = os.path.join(root, f"dir{i // 1000:02d}")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, f"f{i:05d}.bin"), "wb") as f:
        f.write(os.urandom(4096))
EOF
sleep 2.1   # past the racy-timestamp window, as files are on a real disk
t0=$(now); once c /small >"$WORK/c.json"; t1=$(now)
result initial-up "$(python3 -c "print(f'{$SMALL_COUNT / ($t1 - $t0):.0f} files/s')")" "$SMALL_COUNT x 4 KiB, $(python3 -c "print(f'{$t1 - $t0:.2f}')") s (target: >= 500 files/s)"
t0=$(now); once d /small >"$WORK/d.json"; t1=$(now)
result initial-down "$(python3 -c "print(f'{$SMALL_COUNT / ($t1 - $t0):.0f} files/s')")" "$SMALL_COUNT x 4 KiB into an empty folder, $(python3 -c "print(f'{$t1 - $t0:.2f}')") s (target: >= 500 files/s)"
diff -r --exclude=.satchel "$WORK/c" "$WORK/d" >/dev/null && echo "initial sync: trees identical"

# --- a 1-byte edit in a large file, each way -------------------------------------------------
dev e; dev f
head -c $((EDIT_MIB << 20)) /dev/urandom > "$WORK/e/big.bin"
sleep 2.1
once e /edit >/dev/null; once f /edit >/dev/null
printf '\x00' | dd of="$WORK/e/big.bin" bs=1 seek=$((EDIT_MIB << 19)) conv=notrunc status=none
sleep 2.1
w0=$(wire); once e /edit >"$WORK/e.json"; w1=$(wire); once f /edit >"$WORK/f.json"; w2=$(wire)
sent=$(json '["sent_bytes"]' <"$WORK/e.json"); got=$(json '["received_bytes"]' <"$WORK/f.json")
reused=$(json '["reused_bytes"]' <"$WORK/f.json")
cmp "$WORK/e/big.bin" "$WORK/f/big.bin" && echo "edit: files identical"
result edit-up "$((sent / 1024)) KiB" "content sent by A; $(( (w1 - w0) / 1024 )) KiB on loopback in all (target: <= 2 chunks, 8 MiB)"
result edit-down "$((got / 1024)) KiB" "content fetched by B ($((reused >> 20)) MiB reused from its old copy); $(( (w2 - w1) / 1024 )) KiB on loopback in all"
