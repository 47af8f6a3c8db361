#!/usr/bin/env bash
# The official tus clients against the real server: tuspy (Python) and tus-js-client (Node, as
# Uppy uses it) each start an upload, stop half-way, resume from the upload's URL in a new client
# and finish; the file is then checked through the API.
#
# Usage: .ci/tus.sh [SATCHEL_BINARY]  (default: $CARGO_TARGET_DIR/debug/satchel). tuspy goes into a
# virtualenv under ~/.cache and tus-js-client into .ci/tus/node_modules, each only when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN="${1:-${CARGO_TARGET_DIR:-target}/debug/satchel}"
PORT="${SATCHEL_CI_TUS_PORT:-19190}"
VENV="${HOME}/.cache/satchel-ci/tuspy"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import tusclient' 2>/dev/null; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q 'tuspy==1.1.0'
fi
if [ ! -d .ci/tus/node_modules/tus-js-client ]; then
    (cd .ci/tus && npm ci --no-audit --no-fund >/dev/null)
fi

WORK=$(mktemp -d /tmp/satchel-tus.XXXXXX)
BASE="http://127.0.0.1:$PORT"
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

ACCOUNT='{"email":"tus@example.org","password":"tus-ci-account-password"}'
curl -sf -o /dev/null -H 'content-type: application/json' -d "$ACCOUNT" "$BASE/api/v1/auth/register"
TOKEN=$(curl -sf -H 'content-type: application/json' -d "$ACCOUNT" "$BASE/api/v1/auth/login" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')

head -c 10000123 /dev/urandom >"$WORK/file.bin"
"$VENV/bin/python" .ci/tus/tuspy_resume.py "$BASE" "$TOKEN" "$WORK/file.bin"
head -c 9000017 /dev/urandom >"$WORK/file2.bin"
node .ci/tus/tusjs_resume.mjs "$BASE" "$TOKEN" "$WORK/file2.bin"
