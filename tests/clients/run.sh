#!/usr/bin/env bash
# Real-client acceptance tests: Mastodon.py and the toot CLI against a running `cohort serve`,
# on SQLite and (when COHORT_TEST_POSTGRES_URL is set) on PostgreSQL. See README.md.
#
#   tests/clients/run.sh              # every engine available
#   tests/clients/run.sh sqlite       # one engine (sqlite or postgres)
#   PYTEST_ADDOPTS="-k toot -x" tests/clients/run.sh sqlite
#
# Prints pytest's summary per engine and, last, "N passed, N failed" over all engines.
# Exits non-zero when a test failed (an unexpected pass of a strict xfail counts as a
# failure), when the server did not start, or when it did not exit 0 on SIGTERM.
set -euo pipefail
# shellcheck source=tests/clients/lib.sh
source "$(dirname "$0")/lib.sh"

engines=("$@")
if [ ${#engines[@]} -eq 0 ]; then
    engines=(sqlite)
    [ -n "${COHORT_TEST_POSTGRES_URL:-}" ] && engines+=(postgres)
fi

PG_ADMIN_URL="${COHORT_TEST_POSTGRES_URL:-}"
PYTEST_PID=""
cleanup() {
    if [ -n "$PYTEST_PID" ]; then
        kill -TERM "$PYTEST_PID" 2>/dev/null || true
        wait "$PYTEST_PID" 2>/dev/null || true
    fi
    if [ -n "$CLIENTS_SERVER_PID" ]; then
        kill -TERM "$CLIENTS_SERVER_PID" 2>/dev/null || true
        wait "$CLIENTS_SERVER_PID" 2>/dev/null || true
        CLIENTS_SERVER_PID=""
    fi
    [ -n "$PG_ADMIN_URL" ] && clients_pg_drop "$PG_ADMIN_URL"
    clients_cleanup_data_dir
}
trap cleanup EXIT
trap 'exit 130' INT TERM

clients_venv
clients_binary

total_passed=0
total_failed=0
summaries=()

# run_engine NAME: one server, the accounts, pytest, the shutdown check.
run_engine() {
    local engine="$1" db_url="" junit counts passed failed xfailed skipped rc=0
    case "$engine" in
        sqlite) ;;
        postgres)
            if [ -z "$PG_ADMIN_URL" ]; then
                clients_log "postgres asked for but COHORT_TEST_POSTGRES_URL is not set"
                total_failed=$((total_failed + 1))
                return
            fi
            clients_pg_create "$PG_ADMIN_URL"
            db_url="$CLIENTS_PG_URL"
            ;;
        *)
            clients_log "unknown engine $engine (sqlite or postgres)"
            total_failed=$((total_failed + 1))
            return
            ;;
    esac
    echo "=== tests/clients on $engine ==="
    if ! clients_start_server "$db_url"; then
        total_failed=$((total_failed + 1))
        summaries+=("$engine: the server did not start")
        return
    fi
    export CLIENTS_ENGINE="$engine"
    export CLIENTS_PASSWORD
    export CLIENTS_TOOT="$CLIENTS_VENV/bin/toot"
    # The first accounts: an admin and two members (the tests sign up more through the API).
    clients_create_account admin admin
    clients_create_account alice member
    clients_create_account carol member

    junit="$CLIENTS_DATA_DIR/junit.xml"
    export PYTHONDONTWRITEBYTECODE=1
    # In the background, so a SIGTERM or SIGINT to this script runs the cleanup at once.
    (cd "$CLIENTS_DIR" && exec "$CLIENTS_PY" -m pytest -q -rfEX -p no:cacheprovider \
        --junitxml="$junit" -o junit_family=xunit2 test_mastodon_py.py test_toot.py test_communities.py test_clinicians.py test_media.py test_streaming.py) &
    PYTEST_PID=$!
    wait "$PYTEST_PID" || rc=$?
    PYTEST_PID=""
    # 0: all passed, 1: some failed; anything else is a collection or usage error.
    counts="$("$CLIENTS_PY" "$CLIENTS_DIR/junit_counts.py" "$junit")" || counts="0 1 0 0"
    read -r passed failed xfailed skipped <<<"$counts"
    if [ "$rc" -gt 1 ] && [ "$failed" -eq 0 ]; then
        failed=1
    fi
    if ! clients_stop_server; then
        failed=$((failed + 1))
        summaries+=("$engine: the server did not exit 0 on SIGTERM")
    fi
    if [ "$failed" -gt 0 ]; then
        echo "--- the end of the $engine server log ---"
        tail -n 40 "$CLIENTS_DATA_DIR/server.log" || true
    fi
    summaries+=("$engine: $passed passed, $failed failed, $xfailed xfailed, $skipped skipped")
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + failed))
    clients_cleanup_data_dir
    [ "$engine" = postgres ] && clients_pg_drop "$PG_ADMIN_URL"
    return 0
}

for engine in "${engines[@]}"; do
    run_engine "$engine"
done

for line in "${summaries[@]}"; do
    echo "tests/clients: $line"
done
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
