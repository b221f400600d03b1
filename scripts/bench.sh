#!/usr/bin/env bash
# Runs one benchmark scenario end to end: builds what is missing, starts
# fresh spotter instance(s) on free loopback ports (SQLite, or PostgreSQL
# with --postgres), runs spotter-bench against them, stops them.
#
#   bash scripts/bench.sh [--postgres] [--instances N] NAME [spotter-bench options]
#
# Results: bench-results/NAME.json and bench-results/NAME.svg.
# Examples (docs/BENCHMARKS.md has the published ones):
#   bash scripts/bench.sh smoke --sessions 100 --rate 200 --duration 5 --check
#   bash scripts/bench.sh sqlite-10k --sessions 5000 --rate 1000 --duration 30
#   bash scripts/bench.sh --postgres --instances 2 pg-2x --sessions 1000 --rate 500 --duration 20
#
# SPOTTER_BIN=/path/to/spotter runs another server binary (say, an older
# commit's) under the same load generator, for a before/after comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PWD/.tools/node_modules/.bin:$PATH"

postgres=0
instances=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --postgres) postgres=1; shift ;;
        --instances) instances="$2"; shift 2 ;;
        *) break ;;
    esac
done
name="${1:?usage: scripts/bench.sh [--postgres] [--instances N] NAME [spotter-bench options]}"
shift
[[ "$name" =~ ^[A-Za-z0-9._-]+$ ]] || { echo "bench: NAME may hold letters, digits and . _ - only" >&2; exit 2; }
[[ "$instances" =~ ^[1-8]$ ]] || { echo "bench: --instances must be 1 to 8" >&2; exit 2; }
if [[ $instances -gt 1 && $postgres -eq 0 ]]; then
    echo "bench: several instances need --postgres (SQLite is one process)" >&2
    exit 2
fi

# The release build names the wasm by its content (hash.txt beside the server).
wasm_file() {
    local hash
    hash=$(sed -n 's/^wasm: *//p' target/release/hash.txt 2>/dev/null)
    echo "target/site/pkg/spotter${hash:+.$hash}.wasm"
}
if [[ ! -x target/release/spotter || ! -f "$(wasm_file)" ]]; then
    bash scripts/setup.sh
    cargo leptos build --release --precompress --split
fi
cargo build --release --quiet -p spotter-bench

work=$(mktemp -d /tmp/spotter-bench.XXXXXX)
pids=()
db=""
admin="${SPOTTER_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [[ -n "$db" ]]; then
        psql "$admin" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

if [[ $postgres -eq 1 ]]; then
    db="spotter_bench_$$_$(date +%s)"
    psql "$admin" -qc "CREATE DATABASE \"$db\"" || { echo "bench: cannot create a database at $admin" >&2; exit 1; }
    database_url="${admin%/*}/$db"
else
    database_url="sqlite://$work/spotter.db?mode=rwc"
fi

free_port() {
    local port=$1
    while (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
    echo "$port"
}

# GET /readyz answered 200 (bash only: no curl needed).
ready() {
    local reply
    reply=$( { exec 3<>"/dev/tcp/127.0.0.1/$1" && printf 'GET /readyz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3 && head -1 <&3; } 2>/dev/null) || return 1
    [[ "$reply" == *" 200 "* ]]
}

urls=()
pid_args=()
# Below the ephemeral range (32768+), where outgoing connections take ports.
port=$((20000 + RANDOM % 10000))
for i in $(seq 1 "$instances"); do
    port=$(free_port "$port")
    # The server raises its own open-file limit to the hard limit.
    DATABASE_URL="$database_url" LEPTOS_SITE_ADDR="127.0.0.1:$port" SPOTTER_DEMO=0 \
        SPOTTER_INSTANCE="bench-$i" RUST_LOG=warn SPOTTER_RATE_LIMITS=off \
        SPOTTER_LIVE_CONNECTIONS_PER_USER=0 \
        "${SPOTTER_BIN:-target/release/spotter}" >"$work/server-$i.log" 2>&1 &
    pids+=("$!")
    pid_args+=(--server-pid "$!")
    urls+=(--url "http://127.0.0.1:$port")
    for _ in $(seq 1 100); do
        ready "$port" && break
        sleep 0.1
    done
    ready "$port" || { cat "$work/server-$i.log" >&2; echo "bench: instance $i did not get ready" >&2; exit 1; }
    port=$((port + 1))
done

echo "bench: $name on $instances instance(s), $([[ $postgres -eq 1 ]] && echo PostgreSQL || echo SQLite)"
status=0
target/release/spotter-bench "${urls[@]}" "${pid_args[@]}" \
    --wasm "$(wasm_file)" --hash-file target/release/hash.txt --pkg-dir target/site/pkg --json "bench-results/$name.json" "$@" || status=$?
if [[ $status -ne 0 ]]; then
    for i in $(seq 1 "$instances"); do tail -20 "$work/server-$i.log" >&2; done
fi
exit $status
