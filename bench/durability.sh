#!/usr/bin/env bash
# bench/durability.sh — what copies cost and how fast repair restores them.
#
# Usage: bench/durability.sh          (SQLite; storage nodes are folders on this disk)
# Environment: MIB [512] size of the file uploaded and downloaded; RUNS [3];
#   SATCHEL_BIN [target/release/satchel].
#
# Measures (medians; MB = 10^6 bytes):
#   dd            `dd conv=fdatasync` of MIB MiB: the disk's durable write rate
#   up-1node      `curl -T` of a new MIB MiB file to the raw API, one node (the default)
#   up-3n2c       the same on three folder nodes, two copies of each chunk
#   down-1node    download of it (every chunk hashed before it is sent)
#   down-3n2c     the same on three nodes
#   repair-3n2c   `satchel admin repair` after one node's folder was wiped: MB/s and chunks/s
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${SATCHEL_BIN:-$ROOT/target/release/satchel}
MIB=${MIB:-512} RUNS=${RUNS:-3}
PORT=${PORT:-18093}
WORK=$(mktemp -d /tmp/satchel-durbench.XXXXXX)
S=http://127.0.0.1:$PORT
SERVER=
cleanup() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
result() { printf 'RESULT\t%-14s\t%10s\t%s\n' "$1" "$2" "$3"; }
now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mbps() { awk -v b="$1" -v s="$2" 'BEGIN {printf "%.0f", b / s / 1e6}'; }

head -c "$((MIB * 1048576))" /dev/urandom >"$WORK/big"
BYTES=$((MIB * 1048576))

rates=()
for _ in $(seq "$RUNS"); do
    t0=$(now); dd if="$WORK/big" of="$WORK/dd.out" bs=4M conv=fdatasync status=none; t1=$(now)
    rates+=("$(mbps "$BYTES" "$(echo "$t1 - $t0" | bc)")"); rm -f "$WORK/dd.out"
done
result dd "$(printf '%s\n' "${rates[@]}" | median)" "MB/s durable"

start() { # $1 = label, rest = node flags
    local label=$1; shift
    rm -rf "$WORK/$label"; mkdir -p "$WORK/$label"
    "$BIN" serve --data "$WORK/$label/data" --listen "127.0.0.1:$PORT" "$@" 2>"$WORK/$label.log" &
    SERVER=$!
    for _ in $(seq 100); do curl -sf "$S/healthz" >/dev/null && break; sleep 0.1; done
    curl -sf -XPOST "$S/api/v1/auth/register" -H 'content-type: application/json' \
        -d '{"email":"bench@example.org","password":"correct horse battery"}' >/dev/null
    TOKEN=$(curl -sf -XPOST "$S/api/v1/auth/login" -H 'content-type: application/json' \
        -d '{"email":"bench@example.org","password":"correct horse battery"}' |
        python3 -c 'import sys, json; print(json.load(sys.stdin)["access_token"])')
}
stop() { kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=; }

measure() { # $1 = label, rest = node flags
    local label=$1; shift
    start "$label" "$@"
    local ups=() downs=() id
    for run in $(seq "$RUNS"); do
        t0=$(now)
        id=$(curl -sf -T "$WORK/big" -H "authorization: Bearer $TOKEN" \
            "$S/api/v1/files/content?parent_id=root&name=big-$run" |
            python3 -c 'import sys, json; print(json.load(sys.stdin)["id"])')
        t1=$(now); ups+=("$(mbps "$BYTES" "$(echo "$t1 - $t0" | bc)")")
        t0=$(now)
        curl -sf -H "authorization: Bearer $TOKEN" "$S/api/v1/files/$id/content" -o /dev/null
        t1=$(now); downs+=("$(mbps "$BYTES" "$(echo "$t1 - $t0" | bc)")")
    done
    result "up-$label" "$(printf '%s\n' "${ups[@]}" | median)" "MB/s"
    result "down-$label" "$(printf '%s\n' "${downs[@]}" | median)" "MB/s"
}

measure 1node
stop
NODES=()
for n in a b c; do NODES+=(--blob-node "$n=$WORK/3n2c/nodes/$n"); done
measure 3n2c "${NODES[@]}"
stop
# Repair after losing a node: everything node b held is copied back from a and c.
HELD=$(find "$WORK/3n2c/nodes/b" -type f -path '*/[0-9a-f][0-9a-f]/*' | wc -l)
HELD_BYTES=$(du -sb "$WORK/3n2c/nodes/b" | cut -f1)
rm -rf "$WORK/3n2c/nodes/b"
t0=$(now)
"$BIN" admin --data "$WORK/3n2c/data" "${NODES[@]}" repair --json >"$WORK/repair.json"
t1=$(now)
secs=$(echo "$t1 - $t0" | bc)
result repair-3n2c "$(mbps "$HELD_BYTES" "$secs")" "MB/s ($HELD chunks in ${secs}s: $(awk -v c="$HELD" -v s="$secs" 'BEGIN {printf "%.0f", c / s}') chunks/s)"
