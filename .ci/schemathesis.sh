#!/usr/bin/env bash
# Checks the server against its own OpenAPI document with schemathesis: the real binary on SQLite
# with open registration, on a free port, one account's bearer token, every operation of
# /api/v1/openapi.json, all of schemathesis' checks. Any failure fails CI.
#
# Bounded: SATCHEL_ST_EXAMPLES examples per operation and phase (default 25) and a fixed seed, so a
# run takes a few minutes and a failure reproduces.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

ST_VERSION=4.32.5
VENV="${SATCHEL_ST_VENV:-$HOME/.cache/satchel-schemathesis}"
EXAMPLES="${SATCHEL_ST_EXAMPLES:-25}"
SEED="${SATCHEL_ST_SEED:-20261202}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"

# schemathesis from PyPI into a venv of its own, only when that version is not there yet.
if ! "$VENV/bin/st" --version 2>/dev/null | grep -q "$ST_VERSION"; then
    mkdir -p "$(dirname "$VENV")"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$ST_VERSION"
fi

cargo build -p satchel --locked
BIN="$CARGO_TARGET_DIR/debug/satchel"

WORK=$(mktemp -d /tmp/satchel-st.XXXXXX)
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE="http://127.0.0.1:$PORT"
"$BIN" serve --data "$WORK/data" --listen "127.0.0.1:$PORT" --registration open \
    >"$WORK/server.log" 2>&1 &
SERVER=$!
stop() {
    kill "$SERVER" 2>/dev/null || true
    wait "$SERVER" 2>/dev/null || true
    rm -rf "$WORK"
}
trap stop EXIT
for _ in $(seq 100); do
    curl -sf -o /dev/null "$BASE/readyz" && break
    sleep 0.1
done
curl -sf -o /dev/null "$BASE/readyz" || { cat "$WORK/server.log"; exit 1; }

ACCOUNT='{"email":"schemathesis@example.org","password":"correct horse battery staple"}'
curl -sf -o /dev/null -H 'content-type: application/json' -d "$ACCOUNT" "$BASE/api/v1/auth/register"
token() {
    curl -sf -H 'content-type: application/json' -d "$ACCOUNT" "$BASE/api/v1/auth/login" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])'
}

st() {
    # From the scratch folder: schemathesis keeps a cache in its working directory.
    (cd "$WORK" && "$VENV/bin/st" --config-file "$ROOT/.ci/schemathesis.toml" --no-color \
        run "$BASE/api/v1/openapi.json" \
        --checks all \
        --max-examples "$EXAMPLES" \
        --seed "$SEED" \
        --workers 1 \
        --request-timeout 30 \
        --suppress-health-check all "$@")
}

status=0
# Every operation but the two that end sessions: schemathesis links GET /sessions to
# revoke_session, and this account is the server's first, so an admin whose password reset (of
# itself) would end the very session whose token it tests with.
st --header "Authorization: Bearer $(token)" --exclude-operation-id revoke_session \
    --exclude-operation-id reset_password --exclude-operation-id patch_user || status=$?
# Those alone, each with a session of its own (and the admin's change of a user, which may shrink
# this account's own quota, after everything that uploads).
st --header "Authorization: Bearer $(token)" --include-operation-id revoke_session || status=$?
st --header "Authorization: Bearer $(token)" --include-operation-id patch_user || status=$?
st --header "Authorization: Bearer $(token)" --include-operation-id reset_password || status=$?
if [ "$status" -ne 0 ]; then
    echo "schemathesis found mismatches (exit $status); the server's log:" >&2
    tail -n 50 "$WORK/server.log" >&2
fi
exit "$status"
