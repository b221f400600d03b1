#!/usr/bin/env bash
# README command 1: sets up what is missing, builds the release server and
# wasm, and serves spotter on http://127.0.0.1:3000 (LEPTOS_SITE_ADDR to
# change it) with the embedded SQLite database in data/ (DATABASE_URL to
# change it). A new database gets demo accounts, printed below.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PWD/.tools/node_modules/.bin:$PATH"
cargo leptos build --release --precompress --split
exec target/release/spotter
