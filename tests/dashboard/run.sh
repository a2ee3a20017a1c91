#!/usr/bin/env bash
# The moderator dashboard in a real browser: starts `cohort serve` (SQLite), seeds a report
# through the client API, and drives Debian's headless Chromium over the Chrome DevTools
# Protocol (drive.py): sign in as a moderator, open the report from the queue, limit the
# account with a strike, check the outcome through the admin API, and save a screenshot.
#
#   tests/dashboard/run.sh
#
# Installs the `chromium` package with apt when it is missing (CI runs as root). The
# screenshot is tests/dashboard/artifacts/dashboard.png (ignored by git; CI keeps it).
set -euo pipefail
DASHBOARD_DIR="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=tests/clients/lib.sh
source "$DASHBOARD_DIR/../clients/lib.sh"

log() { echo "tests/dashboard: $*" >&2; }

CHROMIUM="${CHROMIUM:-$(command -v chromium || true)}"
if [ -z "$CHROMIUM" ]; then
    log "installing Debian's chromium"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium >/dev/null
    CHROMIUM="$(command -v chromium)"
fi

VENV="$DASHBOARD_DIR/.venv"
want="$(sha256sum "$DASHBOARD_DIR/requirements.txt" | cut -d' ' -f1)"
have=""
[ -f "$VENV/.requirements.sha256" ] && have="$(cat "$VENV/.requirements.sha256")"
if [ ! -x "$VENV/bin/python" ] || [ "$want" != "$have" ]; then
    log "installing websocket-client into $VENV"
    python3 -m venv "$VENV"
    PIP_DISABLE_PIP_VERSION_CHECK=1 "$VENV/bin/python" -m pip install --quiet \
        --cache-dir "$VENV/pip-cache" -r "$DASHBOARD_DIR/requirements.txt"
    echo "$want" >"$VENV/.requirements.sha256"
fi

DRIVER_PID=""
cleanup() {
    if [ -n "$DRIVER_PID" ]; then
        kill -TERM "$DRIVER_PID" 2>/dev/null || true
        wait "$DRIVER_PID" 2>/dev/null || true
    fi
    if [ -n "$CLIENTS_SERVER_PID" ]; then
        kill -TERM "$CLIENTS_SERVER_PID" 2>/dev/null || true
        wait "$CLIENTS_SERVER_PID" 2>/dev/null || true
        CLIENTS_SERVER_PID=""
    fi
    clients_cleanup_data_dir
}
trap cleanup EXIT
trap 'exit 130' INT TERM

clients_binary
clients_start_server ""
clients_create_account moderator moderator
clients_create_account alice member
clients_create_account bob member

mkdir -p "$DASHBOARD_DIR/artifacts"
export DASHBOARD_BASE_URL="$CLIENTS_BASE_URL"
export DASHBOARD_PASSWORD="$CLIENTS_PASSWORD"
export DASHBOARD_CHROMIUM="$CHROMIUM"
export DASHBOARD_SCREENSHOT="$DASHBOARD_DIR/artifacts/dashboard.png"
export DASHBOARD_PROFILE="$CLIENTS_DATA_DIR/chromium-profile"
rc=0
"$VENV/bin/python" "$DASHBOARD_DIR/drive.py" &
DRIVER_PID=$!
wait "$DRIVER_PID" || rc=$?
DRIVER_PID=""
if [ "$rc" -ne 0 ]; then
    log "the browser test failed; the end of the server's log:"
    tail -n 40 "$CLIENTS_DATA_DIR/server.log" >&2 || true
    exit "$rc"
fi
clients_stop_server
echo "tests/dashboard: passed; screenshot: $DASHBOARD_SCREENSHOT"
