#!/usr/bin/env bash
# bench/foundation.sh — Satchel's foundation beside nginx and dd, in one run, on loopback.
#
# Usage: bench/foundation.sh [sqlite|postgres]      (default sqlite)
# Environment: RUNS [3] measured runs per big test; BIG_MIB [1024]; SMALL_COUNT [2000] 4 KiB files per
#   small-file run; PAR [8] concurrent connections; LIST_COUNT [10000] entries of the listed folder;
#   MEM_MIB [2048] size of the streamed upload/download whose peak server RSS is reported;
#   SATCHEL_BIN [target/release/satchel]; PG [postgres://postgres@127.0.0.1:5432/postgres];
#   SECTIONS ["big small list mem"] which parts to run (list needs small).
#
# Measures (medians; MB = 10^6 bytes):
#   up-1g      1 GiB PUT: Satchel (streamed, chunked, every chunk fsync'd, then a DB commit) vs nginx
#              (WebDAV PUT into the page cache, no fsync) vs `dd conv=fdatasync` on the same disk.
#   down-1g    1 GiB GET to /dev/null (warm cache): Satchel vs nginx vs `dd` read.
#   small-4k   SMALL_COUNT distinct 4 KiB files with PAR connections (curl -Z): files/s.
#   list-10k   time to first byte of each page of a LIST_COUNT-entry folder (limit=2000), summed.
#   changes    paging the whole journal (limit=2000): entries/s.
#   rss        the server's peak resident memory (VmHWM) after streaming MEM_MIB up and down.
# Each upload run sends different bytes, so Satchel's deduplication cannot make a run cheap.
set -euo pipefail

BACKEND=${1:-sqlite}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${SATCHEL_BIN:-$ROOT/target/release/satchel}
RUNS=${RUNS:-3} BIG_MIB=${BIG_MIB:-1024} SMALL_COUNT=${SMALL_COUNT:-2000} PAR=${PAR:-8}
LIST_COUNT=${LIST_COUNT:-10000} MEM_MIB=${MEM_MIB:-2048}
PG=${PG:-postgres://postgres@127.0.0.1:5432/postgres}
PORT=${PORT:-18090} NGINX=http://127.0.0.1:${NGINX_PORT:-18080}
WORK=$(mktemp -d /tmp/satchel-bench.XXXXXX)
S=http://127.0.0.1:$PORT
SECTIONS=${SECTIONS:-big small list mem}
want() { [[ " $SECTIONS " == *" $1 "* ]]; }

source "$ROOT/bench/lib.sh"
result() { printf 'RESULT\t%-8s\t%-22s\t%12s\t%s\n' "$BACKEND" "$1" "$2" "$3"; }

# --- peers and server -------------------------------------------------------------------------
start_nginx
DB_ARGS=()
if [[ $BACKEND == postgres ]]; then
  DB="satchel_bench_$(date +%s)"
  psql "$PG" -qc "CREATE DATABASE $DB"
  DB_ARGS=(--database "${PG%/*}/$DB")
fi
"$BIN" serve --listen 127.0.0.1:$PORT --data "$WORK/data" "${DB_ARGS[@]}" 2>"$WORK/server.log" &
SERVER_PID=$!
for _ in $(seq 100); do curl -sf $S/healthz >/dev/null && break; sleep 0.1; done
curl -sf -X POST $S/api/v1/auth/register -H 'content-type: application/json' \
  -d '{"email":"bench@example.org","password":"bench password"}' >/dev/null
TOKEN=$(curl -sf -X POST $S/api/v1/auth/login -H 'content-type: application/json' \
  -d '{"email":"bench@example.org","password":"bench password"}' | json '["access_token"]')
AUTH="authorization: Bearer $TOKEN"
mkfolder() { curl -sf -X POST $S/api/v1/folders -H "$AUTH" -H 'content-type: application/json' \
  -d "{\"parent_id\":\"root\",\"name\":\"$1\"}" | json '["id"]'; }

# --- 1 GiB up and down ------------------------------------------------------------------------
if want big; then
echo "generating $((RUNS + 1)) files of $BIG_MIB MiB" >&2
for i in $(seq 0 "$RUNS"); do head -c "${BIG_MIB}M" /dev/urandom >"$WORK/big-$i.bin"; done
BYTES=$((BIG_MIB * 1048576))
mbps() { awk -v b="$BYTES" -v t="$1" 'BEGIN {printf "%.0f", b / t / 1e6}'; }
dd_up=() s_up=() n_up=()
for i in $(seq 1 "$RUNS"); do
  sync
  t0=$(date +%s.%N); dd if="$WORK/big-$i.bin" of="$WORK/dd.out" bs=4M conv=fdatasync status=none; t1=$(date +%s.%N)
  dd_up+=("$(echo "$t1 - $t0" | bc)"); rm -f "$WORK/dd.out"; sync
  s_up+=("$(curl -sf -o /dev/null -w '%{time_total}' -T "$WORK/big-$i.bin" -H "$AUTH" "$S/api/v1/files/content?parent_id=root&name=big-$i.bin")")
  sync
  n_up+=("$(curl -sf -o /dev/null -w '%{time_total}' -T "$WORK/big-$i.bin" "$NGINX/satchel-bench/big-$i.bin")")
done
up_dd=$(printf '%s\n' "${dd_up[@]}" | median); up_s=$(printf '%s\n' "${s_up[@]}" | median); up_n=$(printf '%s\n' "${n_up[@]}" | median)
result up-1g-satchel "$(mbps "$up_s")" "MB/s  runs: ${s_up[*]} s"
result up-1g-nginx "$(mbps "$up_n")" "MB/s  (page cache, no fsync)  runs: ${n_up[*]} s"
result up-1g-dd-fdatasync "$(mbps "$up_dd")" "MB/s  runs: ${dd_up[*]} s"

BIG_ID=$(curl -sf "$S/api/v1/nodes/by-path?path=/big-1.bin" -H "$AUTH" | json '["id"]')
curl -sf -o /dev/null -H "$AUTH" "$S/api/v1/files/$BIG_ID/content"          # warm the page cache
curl -sf -o /dev/null "$NGINX/satchel-bench/big-1.bin"
s_dn=() n_dn=() d_dn=()
for _ in $(seq 1 "$RUNS"); do
  s_dn+=("$(curl -sf -o /dev/null -w '%{time_total}' -H "$AUTH" "$S/api/v1/files/$BIG_ID/content")")
  n_dn+=("$(curl -sf -o /dev/null -w '%{time_total}' "$NGINX/satchel-bench/big-1.bin")")
  t0=$(date +%s.%N); dd if="$WORK/big-1.bin" of=/dev/null bs=4M status=none; t1=$(date +%s.%N)
  d_dn+=("$(echo "$t1 - $t0" | bc)")
done
dn_s=$(printf '%s\n' "${s_dn[@]}" | median); dn_n=$(printf '%s\n' "${n_dn[@]}" | median); dn_d=$(printf '%s\n' "${d_dn[@]}" | median)
result down-1g-satchel "$(mbps "$dn_s")" "MB/s  runs: ${s_dn[*]} s"
result down-1g-nginx "$(mbps "$dn_n")" "MB/s  runs: ${n_dn[*]} s"
result down-1g-dd-read "$(mbps "$dn_d")" "MB/s  (page cache)"
rm -f "$WORK"/big-*.bin
curl -s -X DELETE "$NGINX/satchel-bench/" >/dev/null || true
fi

# --- small files ------------------------------------------------------------------------------
if want small; then
mkdir -p "$WORK/small"
for i in $(seq 1 "$SMALL_COUNT"); do head -c 4096 /dev/urandom >"$WORK/small/f$i"; done
small_run() { # label folder-id|nginx-dir -> seconds
  local cfg=$WORK/small.cfg
  : >"$cfg"
  for i in $(seq 1 "$SMALL_COUNT"); do
    if [[ $1 == nginx ]]; then echo "url = \"$NGINX/$2/f$i\"" >>"$cfg"
    else echo "url = \"$S/api/v1/files/content?parent_id=$2&name=f$i\"" >>"$cfg"; fi
    printf 'upload-file = "%s"\noutput = "/dev/null"\n' "$WORK/small/f$i" >>"$cfg"
  done
  local hdr=(); [[ $1 == satchel ]] && hdr=(-H "$AUTH")
  local t0 t1 codes
  t0=$(date +%s.%N)
  codes=$(curl -s -Z --parallel-max "$PAR" "${hdr[@]}" -K "$cfg" -w '%{http_code}\n')
  t1=$(date +%s.%N)
  if grep -qv '^20[01]$' <<<"$codes"; then echo "small-file run had failures: $(sort <<<"$codes" | uniq -c)" >&2; exit 1; fi
  echo "$t1 - $t0" | bc
}
s_small=() n_small=()
for r in $(seq 1 "$RUNS"); do
  s_small+=("$(small_run satchel "$(mkfolder "small-$r")")")
  n_small+=("$(small_run nginx "satchel-small-$r")")
done
rate() { awk -v n="$SMALL_COUNT" -v t="$1" 'BEGIN {printf "%.0f", n / t}'; }
result small-4k-satchel "$(rate "$(printf '%s\n' "${s_small[@]}" | median)")" "files/s  ($PAR connections; runs: ${s_small[*]} s)"
result small-4k-nginx "$(rate "$(printf '%s\n' "${n_small[@]}" | median)")" "files/s  (no fsync; runs: ${n_small[*]} s)"
for r in $(seq 1 "$RUNS"); do curl -s -X DELETE "$NGINX/satchel-small-$r/" >/dev/null || true; done
fi

# --- listing and journal ----------------------------------------------------------------------
if want list; then
LIST=$(mkfolder list)
cfg=$WORK/list.cfg; : >"$cfg"
for i in $(seq 1 "$LIST_COUNT"); do
  printf 'url = "%s"\nupload-file = "%s"\noutput = "/dev/null"\n' \
    "$S/api/v1/files/content?parent_id=$LIST&name=entry-$i.txt" "$WORK/small/f1" >>"$cfg"
done
curl -s -Z --parallel-max "$PAR" -H "$AUTH" -K "$cfg" -o /dev/null
list_once() {
  local cursor="" total=0 n=0 out
  while :; do
    out=$(curl -sf -H "$AUTH" -o "$WORK/page.json" -w '%{time_starttransfer}' \
      "$S/api/v1/folders/$LIST/children?limit=2000${cursor:+&cursor=$cursor}")
    total=$(echo "$total + $out" | bc); n=$((n + $(json '["entries"].__len__()' <"$WORK/page.json")))
    cursor=$(json '["next_cursor"] or ""' <"$WORK/page.json")
    [[ -z $cursor ]] && break
  done
  [[ $n -eq $LIST_COUNT ]] || { echo "listed $n of $LIST_COUNT" >&2; exit 1; }
  echo "$total"
}
list_once >/dev/null
lists=(); for _ in 1 2 3 4 5; do lists+=("$(list_once)"); done
result list-10k "$(printf '%s\n' "${lists[@]}" | median | awk '{printf "%.1f", $1 * 1000}')" "ms to first byte, 5 pages of 2000, summed (runs: ${lists[*]} s)"
changes_once() {
  local cursor="" n=0 total=0 out
  while :; do
    out=$(curl -sf -H "$AUTH" -o "$WORK/changes.json" -w '%{time_starttransfer}' \
      "$S/api/v1/changes?limit=2000${cursor:+&cursor=$cursor}")
    total=$(echo "$total + $out" | bc)
    n=$((n + $(json '["changes"].__len__()' <"$WORK/changes.json")))
    cursor=$(json '["cursor"]' <"$WORK/changes.json")
    [[ $(json '["has_more"]' <"$WORK/changes.json") == True ]] || break
  done
  echo "$n $total"
}
changes_once >/dev/null
read -r n secs < <(changes_once)
result changes-10k "$(awk -v n="$n" -v t="$secs" 'BEGIN {printf "%.1f", t * 1000 * 10000 / n}')" "ms to first byte per 10,000 entries ($n entries paged by 2000 in $secs s)"

fi

# --- memory under a large streamed transfer ---------------------------------------------------
if want mem; then
head -c "${MEM_MIB}M" /dev/urandom | curl -sf -o /dev/null -T - -H "$AUTH" "$S/api/v1/files/content?parent_id=root&name=mem.bin"
MEM_ID=$(curl -sf "$S/api/v1/nodes/by-path?path=/mem.bin" -H "$AUTH" | json '["id"]')
curl -sf -o /dev/null -H "$AUTH" "$S/api/v1/files/$MEM_ID/content"
result rss-peak "$(awk '/VmHWM/ {printf "%.0f", $2 / 1024}' /proc/$SERVER_PID/status)" "MiB  peak server RSS over the whole run (incl. ${MEM_MIB} MiB up and down)"
fi
