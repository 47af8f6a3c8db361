#!/usr/bin/env bash
# bench/growth.sh — 4 KiB uploads into a fresh database vs one holding FILL files, on SQLite and
# PostgreSQL (autovacuum off, as on these machines), and PostgreSQL 8 connections vs 1.
#
# Usage: bench/growth.sh [sqlite|postgres|both]      (default both)
# Environment: FILL [100000] files in the grown database; SECS [10] seconds per measurement;
#   ROUNDS [3] interleaved rounds; SATCHEL_BIN [target/release/satchel];
#   PG [postgres://postgres@127.0.0.1:5432/postgres].
#
# Two servers run side by side, one on a fresh database, one on a database grown to FILL files (8
# connections of wrk filling one folder), and the measurements alternate between them: fresh, grown,
# fresh, grown… so both see the same machine. The load generator is wrk with bench/put.lua (every
# request a new file, new bytes), which outruns the server; curl in a loop would measure curl.
# Prints medians and the ratio grown/fresh (target ≥ 0.8) and, on PostgreSQL, 8 connections/1
# connection on the fresh server (target ≥ 2).
set -euo pipefail

WHICH=${1:-both}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${SATCHEL_BIN:-$ROOT/target/release/satchel}
FILL=${FILL:-100000} SECS=${SECS:-10} ROUNDS=${ROUNDS:-3}
PG=${PG:-postgres://postgres@127.0.0.1:5432/postgres}
WORK=$(mktemp -d /tmp/satchel-growth.XXXXXX)
source "$ROOT/bench/lib.sh"
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 2; }
PIDS=() DBS=()
stop_all() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; done
  for db in "${DBS[@]}"; do psql "$PG" -qc "DROP DATABASE IF EXISTS $db" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap stop_all EXIT
result() { printf 'RESULT\t%-8s\t%-26s\t%10s\t%s\n' "$1" "$2" "$3" "$4"; }

# start NAME BACKEND PORT: a server on its own data (and database); sets TOKEN_<NAME>.
start() {
  local name=$1 backend=$2 port=$3 args=()
  if [[ $backend == postgres ]]; then
    local db="satchel_growth_${name}_$$"
    psql "$PG" -qc "CREATE DATABASE $db"
    DBS+=("$db")
    args=(--database "${PG%/*}/$db")
  fi
  "$BIN" serve --listen 127.0.0.1:"$port" --data "$WORK/$name" "${args[@]}" 2>"$WORK/$name.log" &
  PIDS+=($!)
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  curl -sf -X POST "http://127.0.0.1:$port/api/v1/auth/register" -H 'content-type: application/json' \
    -d '{"email":"bench@example.org","password":"bench password"}' >/dev/null
  local token
  token=$(curl -sf -X POST "http://127.0.0.1:$port/api/v1/auth/login" -H 'content-type: application/json' \
    -d '{"email":"bench@example.org","password":"bench password"}' | json '["access_token"]')
  printf -v "TOKEN_$name" '%s' "$token"
}

# folder PORT TOKEN NAME -> id
folder() {
  curl -sf -X POST "http://127.0.0.1:$1/api/v1/folders" -H "authorization: Bearer $2" \
    -H 'content-type: application/json' -d "{\"parent_id\":\"root\",\"name\":\"$3\"}" | json '["id"]'
}

# rate PORT TOKEN CONNECTIONS SECONDS TAG -> files/s (fails on any refused request)
rate() {
  local port=$1 token=$2 conns=$3 secs=$4 tag=$5 parent out threads
  parent=$(folder "$port" "$token" "$tag")
  threads=$((conns < 2 ? 1 : 2))
  out=$(TARGET=satchel PARENT=$parent TOKEN=$token TAG=$tag \
    wrk -t"$threads" -c"$conns" -d"${secs}s" -s "$ROOT/bench/put.lua" "http://127.0.0.1:$port" 2>>"$WORK/wrk.err")
  grep -q '^FAILED 0$' <<<"$out" || { echo "$out" >&2; tail -3 "$WORK/wrk.err" >&2; exit 1; }
  awk '/^RATE/ {printf "%.0f", $2}' <<<"$out"
}

# fill PORT TOKEN: uploads with 8 connections until FILL files exist.
fill() {
  local port=$1 token=$2 done=0 out parent
  parent=$(folder "$port" "$token" fill)
  while ((done < FILL)); do
    out=$(TARGET=satchel PARENT=$parent TOKEN=$token TAG="fill$done" \
      wrk -t2 -c8 -d20s -s "$ROOT/bench/put.lua" "http://127.0.0.1:$port" 2>>"$WORK/wrk.err")
    grep -q '^FAILED 0$' <<<"$out" || { echo "$out" >&2; exit 1; }
    done=$((done + $(awk '/requests in/ {print $1}' <<<"$out")))
    echo "  filled $done files" >&2
  done
}

run_backend() {
  local backend=$1 fresh_port=18201 grown_port=18202
  start fresh "$backend" $fresh_port
  start grown "$backend" $grown_port
  echo "$backend: growing the second database to $FILL files" >&2
  fill $grown_port "$TOKEN_grown"
  local fresh=() grown=() one=() eight=()
  for r in $(seq 1 "$ROUNDS"); do
    fresh+=("$(rate $fresh_port "$TOKEN_fresh" 1 "$SECS" "f$r")")
    grown+=("$(rate $grown_port "$TOKEN_grown" 1 "$SECS" "g$r")")
    if [[ $backend == postgres ]]; then
      one+=("$(rate $fresh_port "$TOKEN_fresh" 1 "$SECS" "one$r")")
      eight+=("$(rate $fresh_port "$TOKEN_fresh" 8 "$SECS" "eight$r")")
    fi
    echo "  round $r: fresh ${fresh[-1]}/s, grown ${grown[-1]}/s${one:+, 1 conn ${one[-1]}/s, 8 conns ${eight[-1]}/s}" >&2
  done
  local mf mg
  mf=$(printf '%s\n' "${fresh[@]}" | median); mg=$(printf '%s\n' "${grown[@]}" | median)
  result "$backend" "4k-put-fresh" "$mf" "files/s, 1 connection (runs: ${fresh[*]})"
  result "$backend" "4k-put-at-$FILL" "$mg" "files/s, 1 connection (runs: ${grown[*]})"
  result "$backend" "grown/fresh" "$(awk -v a="$mg" -v b="$mf" 'BEGIN {printf "%.2f", a / b}')" "(target >= 0.8)"
  if [[ $backend == postgres ]]; then
    local m1 m8
    m1=$(printf '%s\n' "${one[@]}" | median); m8=$(printf '%s\n' "${eight[@]}" | median)
    result "$backend" "4k-put-1-connection" "$m1" "files/s (runs: ${one[*]})"
    result "$backend" "4k-put-8-connections" "$m8" "files/s (runs: ${eight[*]})"
    result "$backend" "8/1" "$(awk -v a="$m8" -v b="$m1" 'BEGIN {printf "%.2f", a / b}')" "(target >= 2)"
  fi
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; done
  PIDS=()
}

case $WHICH in
  sqlite | postgres) run_backend "$WHICH" ;;
  both) run_backend sqlite; run_backend postgres ;;
  *) echo "usage: $0 [sqlite|postgres|both]" >&2; exit 2 ;;
esac
