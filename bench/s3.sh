#!/usr/bin/env bash
# bench/s3.sh — uploads and downloads with chunks in an S3-compatible bucket (s3s-fs on loopback),
# beside the same server on local disk, in one run.
#
# Usage: bench/s3.sh            (needs s3s-fs: cargo install s3s-fs --version 0.14.1 --features binary)
# Environment: RUNS [3]; MIB [1024]; SATCHEL_BIN [target/release/satchel].
#
# Measures (medians; MB = 10^6 bytes):
#   put-s3        `satchel put` of a new MIB MiB file: chunks go straight to the bucket (presigned)
#   api-s3        `curl -T` of the same file to the raw API: the server streams chunks to the bucket
#   get-s3        download of that file through the server (chunks read from the bucket)
#   put-local / api-local / get-local   the same against a server on local disk
# s3s-fs is a test server (files on the same disk); the point is the shape, not S3's own speed.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${SATCHEL_BIN:-$ROOT/target/release/satchel}
RUNS=${RUNS:-3} MIB=${MIB:-1024}
WORK=$(mktemp -d /tmp/satchel-s3bench.XXXXXX)
S3_PORT=${S3_PORT:-19200}
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench-secret
result() { printf 'RESULT\t%-14s\t%10s\t%s\n' "$1" "$2" "$3"; }
now() { date +%s.%N; }
mbps() { python3 -c "print(f'{$MIB * 1048576 / ($2 - $1) / 1e6:.0f}')"; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

mkdir -p "$WORK/s3/bench"
s3s-fs --host 127.0.0.1 --port "$S3_PORT" --access-key bench --secret-key bench-secret "$WORK/s3" \
  >"$WORK/s3.log" 2>&1 &
S3_PID=$!
PIDS=($S3_PID)
cleanup() { kill "${PIDS[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

# One server per store; each measured with its own account and client configuration.
bench_store() {
  local name=$1 port=$2; shift 2
  local s=http://127.0.0.1:$port
  "$BIN" serve --listen 127.0.0.1:$port --data "$WORK/data-$name" "$@" 2>"$WORK/server-$name.log" &
  PIDS+=($!)
  for _ in $(seq 100); do curl -sf $s/healthz >/dev/null && break; sleep 0.1; done
  curl -sf -X POST $s/api/v1/auth/register -H 'content-type: application/json' \
    -d '{"email":"bench@example.org","password":"bench password"}' >/dev/null
  export XDG_CONFIG_HOME=$WORK/config-$name SATCHEL_PASSWORD="bench password"
  "$BIN" login $s --email bench@example.org >/dev/null
  local token
  token=$(python3 -c "import json; print(json.load(open('$WORK/config-$name/satchel/credentials.json'))['access_token'])")
  local put=() api=() get=()
  for run in $(seq "$RUNS"); do
    # Fresh content for every upload: nothing is deduplicated.
    head -c $((MIB * 1048576)) /dev/urandom >"$WORK/big.bin"
    local t0 t1
    t0=$(now); "$BIN" put "$WORK/big.bin" "/put-$run.bin" >/dev/null 2>&1; t1=$(now)
    put+=("$(mbps "$t0" "$t1")")
    head -c $((MIB * 1048576)) /dev/urandom >"$WORK/big.bin"
    t0=$(now)
    curl -sf -T "$WORK/big.bin" -H "authorization: Bearer $token" \
      "$s/api/v1/files/content?parent_id=root&name=api-$run.bin" >"$WORK/api.json"
    t1=$(now)
    api+=("$(mbps "$t0" "$t1")")
    local id
    id=$(python3 -c "import json; print(json.load(open('$WORK/api.json'))['id'])")
    t0=$(now)
    curl -sf -H "authorization: Bearer $token" "$s/api/v1/files/$id/content" -o /dev/null
    t1=$(now)
    get+=("$(mbps "$t0" "$t1")")
  done
  result "put-$name" "$(printf '%s\n' "${put[@]}" | median)" "MB/s satchel put ($MIB MiB; runs: ${put[*]})"
  result "api-$name" "$(printf '%s\n' "${api[@]}" | median)" "MB/s curl -T to the API (runs: ${api[*]})"
  result "get-$name" "$(printf '%s\n' "${get[@]}" | median)" "MB/s download through the server (runs: ${get[*]})"
}

bench_store s3 18201 --blobs "s3://bench?endpoint=http://127.0.0.1:$S3_PORT&region=us-east-1&path_style=true"
bench_store local 18202
