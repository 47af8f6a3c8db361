#!/usr/bin/env bash
# bench/uploads.sh — chunked, deduplicated uploads with the `satchel` client, beside nginx, in one run.
#
# Usage: bench/uploads.sh            (SQLite + local disk)
# Environment: RUNS [3]; BIG_MIB [1024]; EDIT_MIB [256]; SMALL_COUNT [10000]; HUGE_GIB [10] size of
#   the upload whose peak server RSS is reported (0 skips it); SATCHEL_BIN [target/release/satchel].
#
# Measures (medians; MB = 10^6 bytes; "wire" = bytes counted on the loopback interface):
#   put-1g        `satchel put` of a new 1 GiB file vs `curl -T` to the raw API vs nginx PUT (which
#                 writes to the page cache) vs `dd conv=fdatasync` (the disk's durable rate)
#   reput-1g      `satchel put` of the same 1 GiB file again (a new name, so the server is asked),
#                 and to the same path (the client sees the same content and sends nothing); the
#                 local index of already-cut files spares reading it again
#   edit-256m     bytes sent for a 1-byte edit in the middle of a 256 MiB file
#   put-10k       `satchel put` of a folder of SMALL_COUNT files of 4 KiB: files/s
#   rss-huge      the server's peak RSS while HUGE_GIB GiB are uploaded with `satchel put`
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${SATCHEL_BIN:-$ROOT/target/release/satchel}
RUNS=${RUNS:-3} BIG_MIB=${BIG_MIB:-1024} EDIT_MIB=${EDIT_MIB:-256} SMALL_COUNT=${SMALL_COUNT:-10000}
HUGE_GIB=${HUGE_GIB:-10}
PORT=${PORT:-18091} NGINX=http://127.0.0.1:${NGINX_PORT:-18080}
WORK=$(mktemp -d /tmp/satchel-upbench.XXXXXX)
S=http://127.0.0.1:$PORT
source "$ROOT/bench/lib.sh"
result() { printf 'RESULT\t%-22s\t%12s\t%s\n' "$1" "$2" "$3"; }
wire() { awk '/^ *lo:/ {print $2}' /proc/net/dev; }   # bytes received on loopback
now() { date +%s.%N; }

start_nginx
"$BIN" serve --listen 127.0.0.1:$PORT --data "$WORK/data" 2>"$WORK/server.log" &
SERVER_PID=$!
for _ in $(seq 100); do curl -sf $S/healthz >/dev/null && break; sleep 0.1; done
curl -sf -X POST $S/api/v1/auth/register -H 'content-type: application/json' \
  -d '{"email":"bench@example.org","password":"bench password"}' >/dev/null
export XDG_CONFIG_HOME=$WORK/config XDG_CACHE_HOME=$WORK/cache SATCHEL_PASSWORD="bench password"
"$BIN" login $S --email bench@example.org >/dev/null
TOKEN=$(python3 -c "import json; print(json.load(open('$WORK/config/satchel/credentials.json'))['access_token'])")
put() { "$BIN" put "$@" 2>/dev/null; }

echo "generating files" >&2
for i in $(seq 1 "$RUNS"); do
  for kind in cli api nginx; do head -c "${BIG_MIB}M" /dev/urandom >"$WORK/$kind-$i.bin"; done
done
BYTES=$((BIG_MIB * 1048576))
mbps() { awk -v b="$BYTES" -v t="$1" 'BEGIN {printf "%.0f", b / t / 1e6}'; }
cli=() api=() ngx=() ddf=()
for i in $(seq 1 "$RUNS"); do
  sync; t0=$(now); put "$WORK/cli-$i.bin" /cli-$i.bin >/dev/null; t1=$(now); cli+=("$(echo "$t1 - $t0" | bc)")
  sync; api+=("$(curl -sf -o /dev/null -w '%{time_total}' -T "$WORK/api-$i.bin" -H "authorization: Bearer $TOKEN" "$S/api/v1/files/content?parent_id=root&name=api-$i.bin")")
  sync; ngx+=("$(curl -sf -o /dev/null -w '%{time_total}' -T "$WORK/nginx-$i.bin" "$NGINX/satchel-upbench/nginx-$i.bin")")
  # The disk's durable write rate, on the server's disk: what an upload that survives a crash can reach.
  sync; t0=$(now); dd if="$WORK/nginx-$i.bin" of="$WORK/data/dd-$i.bin" bs=4M conv=fdatasync status=none; t1=$(now)
  ddf+=("$(echo "$t1 - $t0" | bc)"); rm -f "$WORK/data/dd-$i.bin"
done
result put-1g-satchel-cli "$(mbps "$(printf '%s\n' "${cli[@]}" | median)")" "MB/s  (chunk, hash, 4 parallel chunk PUTs, commit; runs: ${cli[*]} s)"
result put-1g-raw-api "$(mbps "$(printf '%s\n' "${api[@]}" | median)")" "MB/s  (curl -T to PUT /files/content; runs: ${api[*]} s)"
result put-1g-nginx "$(mbps "$(printf '%s\n' "${ngx[@]}" | median)")" "MB/s  (page cache, no fsync; runs: ${ngx[*]} s)"
result put-1g-dd-fdatasync "$(mbps "$(printf '%s\n' "${ddf[@]}" | median)")" "MB/s  (dd conv=fdatasync of the same file on the same disk; runs: ${ddf[*]} s)"

w0=$(wire); t0=$(now); put "$WORK/cli-1.bin" /again-1.bin >/dev/null; t1=$(now); w1=$(wire)
result reput-1g-new-name "$(echo "$t1 - $t0" | bc)" "s, $(( (w1 - w0) / 1024 )) KiB on the wire (server asked; every chunk already there)"
w0=$(wire); t0=$(now); put "$WORK/cli-1.bin" /cli-1.bin >/dev/null; t1=$(now); w1=$(wire)
result reput-1g-same-path "$(echo "$t1 - $t0" | bc)" "s, $(( (w1 - w0) / 1024 )) KiB on the wire (same content at that path: nothing sent)"
rm -f "$WORK"/cli-*.bin "$WORK"/api-*.bin "$WORK"/nginx-*.bin
curl -s -X DELETE "$NGINX/satchel-upbench/" >/dev/null || true

head -c "${EDIT_MIB}M" /dev/urandom >"$WORK/edit.bin"
put "$WORK/edit.bin" /edit.bin >/dev/null
printf '\xff' | dd of="$WORK/edit.bin" bs=1 seek=$((EDIT_MIB * 524288)) conv=notrunc status=none
w0=$(wire); out=$(put "$WORK/edit.bin" /edit.bin); w1=$(wire)
EDIT_ID=$(curl -sf "$S/api/v1/nodes/by-path?path=/edit.bin" -H "authorization: Bearer $TOKEN" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
new_chunks=$(python3 - "$S" "$TOKEN" "$EDIT_ID" <<'PY'
import json, sys, urllib.request
base, token, node = sys.argv[1:4]
def hashes(version):
    request = urllib.request.Request(f"{base}/api/v1/files/{node}/chunks?version={version}", headers={"authorization": "Bearer " + token})
    return [c["sha256"] for c in json.load(urllib.request.urlopen(request))["entries"]]
print(len(set(hashes(2)) - set(hashes(1))))
PY
)
result edit-256m "$(( (w1 - w0) / 1024 ))" "KiB on the wire for a 1-byte edit in ${EDIT_MIB} MiB: ${new_chunks} new chunk(s); client: ${out}"

mkdir -p "$WORK/small"
for i in $(seq 1 "$SMALL_COUNT"); do head -c 4096 /dev/urandom >"$WORK/small/f$i"; done
t0=$(now); put "$WORK/small" / >/dev/null; t1=$(now)
result put-10k-small "$(awk -v n="$SMALL_COUNT" -v t="$(echo "$t1 - $t0" | bc)" 'BEGIN {printf "%.0f", n / t}')" "files/s  ($SMALL_COUNT files of 4 KiB in $(echo "$t1 - $t0" | bc) s)"

if [[ $HUGE_GIB -gt 0 ]]; then
  head -c "${HUGE_GIB}G" /dev/urandom >"$WORK/huge.bin"
  before=$(awk '/VmHWM/ {print $2}' /proc/$SERVER_PID/status)
  t0=$(now); put "$WORK/huge.bin" /huge.bin >/dev/null; t1=$(now)
  result rss-huge "$(awk '/VmHWM/ {printf "%.0f", $2 / 1024}' /proc/$SERVER_PID/status)" \
    "MiB peak server RSS (was $((before / 1024)) MiB before the ${HUGE_GIB} GiB put, which took $(echo "$t1 - $t0" | bc) s)"
fi
