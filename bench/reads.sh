#!/usr/bin/env bash
# bench/reads.sh — read-heavy load on the hot read paths, with wrk, on a server without and with
# `--redis`, in one run: what Redis buys on reads.
#
# Usage: bench/reads.sh [sqlite|postgres]   (apt install wrk; Redis on 127.0.0.1:6379)
# Environment: DURATION [10s]; CONNECTIONS [16]; SATCHEL_BIN [target/release/satchel];
#   POSTGRES [postgres://postgres@127.0.0.1:5432]; REDIS [redis://127.0.0.1:6379].
#
# Paths (each with wrk -t2 -cCONNECTIONS -dDURATION; requests/s and latency percentiles):
#   node      GET /api/v1/nodes/{id}               (authentication, the actor's namespaces, a node)
#   listing   GET /api/v1/folders/{id}/children    (a 50-entry folder)
#   link      GET /s/{token}                       (a 4 KiB file through a public link)
#   quota     GET /api/v1/me                       (the account, its quota and usage)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${SATCHEL_BIN:-$ROOT/target/release/satchel}
DB=${1:-sqlite} DURATION=${DURATION:-10s} CONNECTIONS=${CONNECTIONS:-16}
REDIS=${REDIS:-redis://127.0.0.1:6379}
WORK=$(mktemp -d /tmp/satchel-readbench.XXXXXX)
PIDS=()
cleanup() { kill "${PIDS[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

run_case() {
  local label=$1 port=$2; shift 2
  local s=http://127.0.0.1:$port database=()
  if [ "$DB" = postgres ]; then
    local name="satchel_readbench_${label}_$$"
    psql "${POSTGRES:-postgres://postgres@127.0.0.1:5432}/postgres" -qc "CREATE DATABASE $name" >/dev/null
    database=(--database "${POSTGRES:-postgres://postgres@127.0.0.1:5432}/$name")
  fi
  SATCHEL_LOG=warn "$BIN" serve --listen 127.0.0.1:$port --data "$WORK/data-$label" "${database[@]}" "$@" \
    2>"$WORK/server-$label.log" &
  PIDS+=($!)
  for _ in $(seq 100); do curl -sf $s/healthz >/dev/null && break; sleep 0.1; done
  curl -sf -X POST $s/api/v1/auth/register -H 'content-type: application/json' \
    -d '{"email":"bench@example.org","password":"bench password"}' >/dev/null
  local token folder file link
  token=$(curl -sf -X POST $s/api/v1/auth/login -H 'content-type: application/json' \
    -d '{"email":"bench@example.org","password":"bench password"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  folder=$(curl -sf -X POST $s/api/v1/folders -H "authorization: Bearer $token" -H 'content-type: application/json' \
    -d '{"parent_id":"root","name":"bench"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  head -c 4096 /dev/urandom >"$WORK/small"
  for n in $(seq 50); do
    file=$(curl -sf -T "$WORK/small" -H "authorization: Bearer $token" \
      "$s/api/v1/files/content?parent_id=$folder&name=f$n.bin" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  done
  link=$(curl -sf -X POST $s/api/v1/links -H "authorization: Bearer $token" -H 'content-type: application/json' \
    -d "{\"node_id\":\"$file\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  for path in "node /api/v1/nodes/$file" "listing /api/v1/folders/$folder/children" "link /s/$link" "quota /api/v1/me"; do
    set -- $path
    local out
    out=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -H "authorization: Bearer $token" "$s$2")
    local rps p50 p99
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    printf 'RESULT\t%-8s\t%-10s\t%10s req/s\tp50 %s\tp99 %s\n' "$1" "$label" "$rps" "$p50" "$p99"
  done
}

run_case plain 18301
run_case redis 18302 --redis "$REDIS"
