#!/usr/bin/env bash
# Real WebDAV clients against a real server: litmus (all suites, every test must pass, none may be
# skipped), rclone in its `other`, `owncloud` and `nextcloud` vendor modes (copy, sync, check
# --download, server-side move and copy, modification times), and cadaver's basic commands.
#
# Usage: .ci/dav.sh [SATCHEL_BINARY]  (default: $CARGO_TARGET_DIR/debug/satchel). The clients come
# from Debian (`litmus`, `rclone`, `cadaver`); .ci/run installs them when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN="${1:-${CARGO_TARGET_DIR:-target}/debug/satchel}"
PORT="${SATCHEL_CI_DAV_PORT:-19180}"
WORK=$(mktemp -d /tmp/satchel-dav.XXXXXX)
BASE="http://127.0.0.1:$PORT"
EMAIL="dav@example.org"
PASSWORD="dav-ci-account-password"

SATCHEL_LOG=warn "$BIN" serve --data "$WORK/data" --listen "127.0.0.1:$PORT" >"$WORK/server.log" 2>&1 &
SERVER=$!
cleanup() {
    kill "$SERVER" 2>/dev/null || true
    wait "$SERVER" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
for _ in $(seq 100); do
    curl -sf -o /dev/null "$BASE/readyz" && break
    sleep 0.1
done

curl -sf -o /dev/null -H 'content-type: application/json' \
    -d "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}" "$BASE/api/v1/auth/register"
TOKEN=$(curl -sf -H 'content-type: application/json' \
    -d "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}" "$BASE/api/v1/auth/login" | jq -r .access_token)
APP_PASSWORD=$(curl -sf -H 'content-type: application/json' -H "authorization: Bearer $TOKEN" \
    -d '{"name":"ci clients"}' "$BASE/api/v1/app-passwords" | jq -r .password)

failures=0
fail() {
    echo "FAILED: $*" >&2
    failures=$((failures + 1))
}

echo "--- litmus"
curl -sf -o /dev/null -X MKCOL -u "$EMAIL:$APP_PASSWORD" "$BASE/dav/litmus/"
# litmus writes debug.log and child.log where it runs: in the work folder, not the checkout.
if ! (cd "$WORK" && litmus "$BASE/dav/litmus/" "$EMAIL" "$APP_PASSWORD") >"$WORK/litmus.log" 2>&1; then
    fail "litmus exited with an error"
fi
grep -E "summary for|FAIL|SKIPPED|WARNING" "$WORK/litmus.log" || true
passed=$(grep -oE "[0-9]+ passed" "$WORK/litmus.log" | awk '{s += $1} END {print s + 0}')
failed=$(grep -oE "[0-9]+ failed" "$WORK/litmus.log" | awk '{s += $1} END {print s + 0}')
skipped=$(grep -c "SKIPPED" "$WORK/litmus.log" || true)
echo "litmus: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$skipped" -eq 0 ] && [ "$passed" -ge 104 ] ||
    { sed -n '1,400p' "$WORK/litmus.log" | grep -B2 -A3 "FAIL" >&2 || true; fail "litmus"; }

echo "--- rclone"
LOCAL="$WORK/local"
mkdir -p "$LOCAL/sub folder/deeper"
head -c 3000000 /dev/urandom >"$LOCAL/big.bin"
echo "hello" >"$LOCAL/hello.txt"
echo "spaces and # signs" >"$LOCAL/sub folder/a # b + c.txt"
echo "café" >"$LOCAL/sub folder/deeper/café 🎒.txt"
touch -d '2021-02-03 04:05:06' "$LOCAL/hello.txt"
export RCLONE_CONFIG="$WORK/rclone.conf"
: >"$RCLONE_CONFIG"
OBSCURED=$(rclone obscure "$APP_PASSWORD")
for vendor in other owncloud nextcloud; do
    remote="s-$vendor"
    rclone config create "$remote" webdav url "$BASE/dav/" vendor "$vendor" user "$EMAIL" \
        pass "$OBSCURED" >/dev/null
    target="$remote:rclone-$vendor"
    rc() { rclone --retries 1 --low-level-retries 1 "$@" >>"$WORK/rclone.log" 2>&1; }
    rc copy "$LOCAL" "$target" || fail "rclone $vendor copy"
    rc check --download "$LOCAL" "$target" || fail "rclone $vendor check --download after copy"
    echo "changed" >"$LOCAL/hello.txt"
    touch -d '2022-03-04 05:06:07' "$LOCAL/hello.txt"
    rm -f "$LOCAL/sub folder/deeper/café 🎒.txt"
    rc sync "$LOCAL" "$target" || fail "rclone $vendor sync"
    rc check --download "$LOCAL" "$target" || fail "rclone $vendor check --download after sync"
    # The vendor modes that send X-OC-Mtime keep the local modification time.
    if [ "$vendor" != other ]; then
        remote_time=$(rclone lsjson "$target/hello.txt" | jq -r '.[0].ModTime' | cut -c1-19)
        [ "$remote_time" = "2022-03-04T05:06:07" ] ||
            fail "rclone $vendor modification time: $remote_time"
    fi
    rc moveto "$target/hello.txt" "$target/moved.txt" || fail "rclone $vendor server-side move"
    rc copyto "$target/moved.txt" "$target/hello.txt" || fail "rclone $vendor server-side copy"
    rc deletefile "$target/moved.txt" || fail "rclone $vendor deletefile"
    rc check --download "$LOCAL" "$target" || fail "rclone $vendor check after move and copy"
    echo "hello" >"$LOCAL/hello.txt"
    echo "café" >"$LOCAL/sub folder/deeper/café 🎒.txt"
    echo "rclone $vendor: done"
done
grep -iE "error|failed" "$WORK/rclone.log" | head -20 || true

echo "--- cadaver"
export HOME="$WORK/home"
mkdir -p "$HOME"
printf 'machine 127.0.0.1\nlogin %s\npassword %s\n' "$EMAIL" "$APP_PASSWORD" >"$HOME/.netrc"
chmod 600 "$HOME/.netrc"
echo "cadaver's file" >"$WORK/c.txt"
cat >"$WORK/cadaver.in" <<EOF
mkcol cad
cd cad
put $WORK/c.txt c.txt
get c.txt $WORK/c.back
propset c.txt colour teal
propget c.txt colour
lock c.txt
unlock c.txt
copy c.txt d.txt
move d.txt e.txt
ls
cd ..
rmcol cad
quit
EOF
cadaver "$BASE/dav/" <"$WORK/cadaver.in" >"$WORK/cadaver.log" 2>&1 || fail "cadaver exited with an error"
cat "$WORK/cadaver.log"
if grep -qiE "failed|error" "$WORK/cadaver.log"; then fail "cadaver reported a failure"; fi
cmp -s "$WORK/c.txt" "$WORK/c.back" || fail "cadaver get returned other bytes"
grep -q "teal" "$WORK/cadaver.log" || fail "cadaver propget"

if [ "$failures" -gt 0 ]; then
    echo "WebDAV clients: $failures failures; server log:" >&2
    tail -50 "$WORK/server.log" >&2
    exit 1
fi
echo "WebDAV clients: all passed"
