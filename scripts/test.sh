#!/usr/bin/env bash
# README command 2: sets up what is missing, then runs every check spotter
# has: formatting, clippy (server and browser), unit and integration tests on
# SQLite and PostgreSQL, the release build (server + wasm), and the browser
# suite in Chromium against that build. Stops at the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --tests
export PATH="$HOME/.cargo/bin:$PWD/.tools/node_modules/.bin:$PATH"

started=$(date +%s)
section() { echo; echo "=== $* ($(( $(date +%s) - started ))s)"; }

# PostgreSQL for the integration tests: the machine's server with trust auth,
# or, on a stock Debian install that wants a password over TCP, a test role.
export SPOTTER_TEST_POSTGRES_URL="${SPOTTER_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
if ! psql "$SPOTTER_TEST_POSTGRES_URL" -qAtc 'SELECT 1' >/dev/null 2>&1; then
    runuser -u postgres -- psql -qc "DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'spotter_test') THEN CREATE ROLE spotter_test LOGIN SUPERUSER PASSWORD 'spotter_test'; END IF; END \$\$" \
        || { echo "test: cannot reach PostgreSQL at $SPOTTER_TEST_POSTGRES_URL nor create a test role." >&2; exit 1; }
    export SPOTTER_TEST_POSTGRES_URL=postgres://spotter_test:spotter_test@127.0.0.1:5432/postgres
fi

section "cargo fmt --check"
cargo fmt --all -- --check

section "clippy (server, protocol crate, load generator)"
# One run for the whole workspace: the server's dependencies are checked once.
cargo clippy --workspace --all-targets --features spotter/ssr -- -D warnings
section "clippy (browser, wasm32)"
cargo clippy --no-default-features --features hydrate --lib --target wasm32-unknown-unknown -- -D warnings

section "unit and integration tests (SQLite and PostgreSQL; the protocol crate)"
cargo test --features ssr
cargo test -p spotter-protocol

section "release build (cargo leptos build --release --precompress --split)"
cargo leptos build --release --precompress --split

section "benchmark smoke runs (spotter-bench: 200 subscribers, 5 s, nothing lost)"
# Not a latency check (docs/BENCHMARKS.md has those): every event must reach
# every subscriber once and in order, on SQLite and on two PostgreSQL
# instances.
bash scripts/bench.sh smoke-sqlite --sessions 100 --rate 200 --duration 5 --check
bash scripts/bench.sh --postgres --instances 2 smoke-postgres --sessions 100 --rate 200 --duration 5 --check

section "browser tests (Playwright, Debian Chromium; SQLite and PostgreSQL side by side)"
# Two free ports in a row: SQLite on the first, PostgreSQL on the second.
SPOTTER_E2E_PORT=$(node -e "
  const net = require('net');
  const free = (p) => new Promise((ok) => { const s = net.createServer(); s.once('error', () => ok(false)); s.listen(p, '127.0.0.1', () => s.close(() => ok(true))); });
  (async () => { for (let p = 20000 + Math.floor(Math.random() * 20000); ; p += 2) { if (await free(p) && await free(p + 1)) { console.log(p); return; } } })();
")
export SPOTTER_E2E_PORT
e2e_db="spotter_e2e_$$_$(date +%s)"
psql "$SPOTTER_TEST_POSTGRES_URL" -qc "CREATE DATABASE \"$e2e_db\""
trap 'psql "$SPOTTER_TEST_POSTGRES_URL" -qc "DROP DATABASE IF EXISTS \"$e2e_db\" WITH (FORCE)" >/dev/null 2>&1' EXIT
export SPOTTER_E2E_POSTGRES_URL="${SPOTTER_TEST_POSTGRES_URL%/*}/$e2e_db"
e2e_started=$(date +%s)
(cd end2end && npx tsc --noEmit -p .)
# The two projects side by side, each in its own Playwright process with its
# own server (most of a browser test is waiting on the network emulation and
# the live channel, not CPU); each log is printed whole once both are done.
e2e_logs=$(mktemp -d)
(cd end2end && SPOTTER_E2E_ONLY=sqlite npx playwright test >"$e2e_logs/sqlite.log" 2>&1) &
sqlite_run=$!
e2e_status=0
(cd end2end && SPOTTER_E2E_ONLY=postgres npx playwright test >"$e2e_logs/postgres.log" 2>&1) || e2e_status=$?
wait "$sqlite_run" || e2e_status=$?
cat "$e2e_logs/sqlite.log" "$e2e_logs/postgres.log"
rm -rf "$e2e_logs"
echo "browser suite wall time: $(( $(date +%s) - e2e_started ))s"
(( e2e_status == 0 )) || { echo "test: browser tests failed (logs above)" >&2; exit 1; }

section "all checks passed"
