# Shared helpers of tests/clients/run.sh and run_toot_suite.sh (sourced, not run).
#
# Functions: clients_venv, clients_binary, clients_free_port, clients_start_server,
# clients_stop_server, clients_pg_create, clients_pg_drop. They set and read the CLIENTS_*
# variables below.

CLIENTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CLIENTS_ROOT="$(cd "$CLIENTS_DIR/../.." && pwd)"
CLIENTS_VENV="$CLIENTS_DIR/.venv"
CLIENTS_PY="$CLIENTS_VENV/bin/python"
# The password of the accounts the runner creates with `cohort admin create-account`.
CLIENTS_PASSWORD="clients-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
CLIENTS_SERVER_PID=""
CLIENTS_DATA_DIR=""
CLIENTS_PG_DB=""
CLIENTS_PG_URL=""

clients_log() { echo "tests/clients: $*" >&2; }

# Creates (or reuses) the virtual environment with the pinned client libraries. The venv is
# reused when the hash of requirements.txt matches the one recorded at its last install; pip
# downloads are cached under the venv folder.
clients_venv() {
    local want have=""
    want="$(sha256sum "$CLIENTS_DIR/requirements.txt" | cut -d' ' -f1)"
    [ -f "$CLIENTS_VENV/.requirements.sha256" ] && have="$(cat "$CLIENTS_VENV/.requirements.sha256")"
    if [ -x "$CLIENTS_PY" ] && [ "$want" = "$have" ]; then
        return 0
    fi
    clients_log "installing the client libraries into $CLIENTS_VENV"
    python3 -m venv "$CLIENTS_VENV"
    PIP_DISABLE_PIP_VERSION_CHECK=1 "$CLIENTS_PY" -m pip install --quiet \
        --cache-dir "$CLIENTS_VENV/pip-cache" -r "$CLIENTS_DIR/requirements.txt"
    echo "$want" >"$CLIENTS_VENV/.requirements.sha256"
}

# Sets COHORT_BIN: the given one, or target/debug/cohort built with cargo (a no-op when fresh).
clients_binary() {
    if [ -n "${COHORT_BIN:-}" ]; then
        [ -x "$COHORT_BIN" ] || { clients_log "COHORT_BIN=$COHORT_BIN is not executable"; return 1; }
        return 0
    fi
    local target="${CARGO_TARGET_DIR:-$CLIENTS_ROOT/target}"
    (cd "$CLIENTS_ROOT" && cargo build --quiet --locked --bin cohort)
    COHORT_BIN="$target/debug/cohort"
    export COHORT_BIN
}

clients_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# clients_pg_create ADMIN_URL: creates a fresh database; sets CLIENTS_PG_DB and CLIENTS_PG_URL.
# (Not to be called in a subshell: the EXIT trap needs CLIENTS_PG_DB to drop the database.)
clients_pg_create() {
    local admin_url="$1"
    CLIENTS_PG_DB="cohort_clients_$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
    psql "$admin_url" -v ON_ERROR_STOP=1 -q -c "CREATE DATABASE $CLIENTS_PG_DB" >/dev/null
    CLIENTS_PG_URL="$(python3 -c '
import sys
from urllib.parse import urlsplit, urlunsplit
u = urlsplit(sys.argv[1])
print(urlunsplit((u.scheme, u.netloc, "/" + sys.argv[2], u.query, u.fragment)))
' "$admin_url" "$CLIENTS_PG_DB")"
}

clients_pg_drop() {
    local admin_url="$1"
    [ -n "$CLIENTS_PG_DB" ] || return 0
    psql "$admin_url" -q -c "DROP DATABASE IF EXISTS $CLIENTS_PG_DB WITH (FORCE)" >/dev/null 2>&1 \
        || psql "$admin_url" -q -c "DROP DATABASE IF EXISTS $CLIENTS_PG_DB" >/dev/null \
        || clients_log "could not drop database $CLIENTS_PG_DB"
    CLIENTS_PG_DB=""
}

# clients_start_server DATABASE_URL_OR_EMPTY: starts `cohort serve` on a free port with open
# registrations and a temporary data directory, waits for /health, and exports
# CLIENTS_BASE_URL, CLIENTS_DATABASE_URL and the server's environment.
clients_start_server() {
    local db_url="$1" port i
    CLIENTS_DATA_DIR="$(mktemp -d "${TMPDIR:-/tmp}/cohort-clients.XXXXXX")"
    port="$(clients_free_port)"
    export COHORT_LISTEN="127.0.0.1:$port"
    export COHORT_DOMAIN="localhost:$port"
    export COHORT_REGISTRATIONS=open
    export COHORT_DATA_DIR="$CLIENTS_DATA_DIR"
    export COHORT_DATABASE_URL="${db_url:-sqlite://$CLIENTS_DATA_DIR/cohort.db}"
    export COHORT_LOG_FORMAT=human
    export CLIENTS_BASE_URL="http://localhost:$port"
    export CLIENTS_DATABASE_URL="$COHORT_DATABASE_URL"
    env -u COHORT_BIN "$COHORT_BIN" serve >"$CLIENTS_DATA_DIR/server.log" 2>&1 &
    CLIENTS_SERVER_PID=$!
    for i in $(seq 1 300); do
        if python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
            "http://127.0.0.1:$port/health" >/dev/null 2>&1; then
            return 0
        fi
        if ! kill -0 "$CLIENTS_SERVER_PID" 2>/dev/null; then
            clients_log "the server exited during start-up; its log:"
            cat "$CLIENTS_DATA_DIR/server.log" >&2
            CLIENTS_SERVER_PID=""
            return 1
        fi
        sleep 0.1
    done
    clients_log "the server did not answer /health within 30 s; its log:"
    cat "$CLIENTS_DATA_DIR/server.log" >&2
    return 1
}

# clients_create_account NAME ROLE: creates a local account with $CLIENTS_PASSWORD.
clients_create_account() {
    printf "%s\n" "$CLIENTS_PASSWORD" | env -u COHORT_BIN "$COHORT_BIN" admin create-account "$1" \
        --email "$1@example.org" --role "$2" --password-stdin >/dev/null
}

# Stops the server with SIGTERM; returns non-zero when it does not exit 0 within 20 s.
clients_stop_server() {
    local pid="$CLIENTS_SERVER_PID" rc=0 i
    CLIENTS_SERVER_PID=""
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 200); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        clients_log "the server did not stop within 20 s of SIGTERM; killing it"
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        return 1
    fi
    wait "$pid" || rc=$?
    if [ "$rc" -ne 0 ]; then
        clients_log "the server exited with status $rc after SIGTERM; the end of its log:"
        tail -n 30 "$CLIENTS_DATA_DIR/server.log" >&2
        return 1
    fi
    return 0
}

clients_cleanup_data_dir() {
    if [ -n "$CLIENTS_DATA_DIR" ] && [ -d "$CLIENTS_DATA_DIR" ]; then
        rm -rf "$CLIENTS_DATA_DIR"
    fi
    CLIENTS_DATA_DIR=""
}
