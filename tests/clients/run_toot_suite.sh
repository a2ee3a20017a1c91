#!/usr/bin/env bash
# Runs toot's own integration-test suite (from its source distribution, the version pinned in
# requirements.txt) against Cohort and prints its pass/fail counts. A report, not a gate: it
# exits 0 whatever the suite's result (non-zero only when it could not run at all), and
# scripts/test does not call it.
#
#   tests/clients/run_toot_suite.sh                       # starts its own server (SQLite)
#   TOOT_TEST_BASE_URL=http://localhost:8080 tests/clients/run_toot_suite.sh   # a running one
#   tests/clients/run_toot_suite.sh -k test_post -x       # extra arguments go to pytest
#
# The suite signs up its accounts through POST /api/v1/accounts, so the server must have open
# registrations.
set -euo pipefail
# shellcheck source=tests/clients/lib.sh
source "$(dirname "$0")/lib.sh"

cleanup() {
    if [ -n "$CLIENTS_SERVER_PID" ]; then
        kill -TERM "$CLIENTS_SERVER_PID" 2>/dev/null || true
        wait "$CLIENTS_SERVER_PID" 2>/dev/null || true
        CLIENTS_SERVER_PID=""
    fi
    clients_cleanup_data_dir
}
trap cleanup EXIT
trap 'exit 130' INT TERM

clients_venv
version="$(sed -n 's/^toot==//p' "$CLIENTS_DIR/requirements.txt")"
suite="$CLIENTS_VENV/toot-suite/toot-$version"
if [ ! -d "$suite/tests/integration" ]; then
    clients_log "fetching the toot $version source distribution"
    mkdir -p "$CLIENTS_VENV/toot-suite"
    PIP_DISABLE_PIP_VERSION_CHECK=1 "$CLIENTS_PY" -m pip download --quiet \
        --cache-dir "$CLIENTS_VENV/pip-cache" --no-binary :all: --no-deps \
        -d "$CLIENTS_VENV/toot-suite" "toot==$version"
    tar -xzf "$CLIENTS_VENV/toot-suite/toot-$version.tar.gz" -C "$CLIENTS_VENV/toot-suite"
fi

own_server=""
if [ -z "${TOOT_TEST_BASE_URL:-}" ]; then
    clients_binary
    # Log every response, so the failed requests can be tallied at the end.
    export COHORT_LOG="${COHORT_LOG:-info,tower_http=debug}"
    # toot's `login_cli` tests sign in with the password grant, which an instance may offer.
    export COHORT_OAUTH_PASSWORD_GRANT="${COHORT_OAUTH_PASSWORD_GRANT:-true}"
    clients_start_server ""
    own_server=1
    export TOOT_TEST_BASE_URL="$CLIENTS_BASE_URL"
fi
clients_log "running toot $version's integration tests against $TOOT_TEST_BASE_URL"

report="$(mktemp "${TMPDIR:-/tmp}/toot-suite.XXXXXX.xml")"
rc=0
(cd "$suite" && PYTHONDONTWRITEBYTECODE=1 "$CLIENTS_PY" -m pytest -q -p no:cacheprovider \
    -o junit_family=xunit2 --junitxml="$report" --tb=line -rf "$@" tests/integration) || rc=$?
read -r passed failed xfailed skipped <<<"$("$CLIENTS_PY" "$CLIENTS_DIR/junit_counts.py" "$report")"
rm -f "$report"
if [ -n "$own_server" ]; then
    "$CLIENTS_PY" "$CLIENTS_DIR/request_tally.py" "$CLIENTS_DATA_DIR/server.log"
fi
echo "toot $version integration suite against Cohort: $passed passed, $failed failed, $skipped skipped, $xfailed xfailed (pytest exit $rc)"
if [ "$rc" -gt 1 ]; then
    exit "$rc"
fi
exit 0
