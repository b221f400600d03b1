#!/usr/bin/env bash
# Installs what spotter needs to build (and, with --tests, to test), at pinned
# versions, skipping whatever is already there. Safe to run again and again.
#
#   scripts/setup.sh           build tools: wasm target, cargo-leptos,
#                              wasm-bindgen-cli, wasm-opt (npm binaryen)
#   scripts/setup.sh --tests   also Chromium, Playwright and PostgreSQL
#
# Everything comes from the package registries (crates.io, npm, Debian);
# nothing is downloaded from anywhere else. On failure it stops with one
# sentence naming what could not be installed.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_LEPTOS_VERSION=0.3.10     # 0.3.11 needs rustc 1.96
BINARYEN_VERSION=132.0.0        # npm package; Debian's binaryen is too old
WASM_BINDGEN_VERSION=$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)".*/\1/p' Cargo.toml)
TOOLS="$PWD/.tools"
export PATH="$HOME/.cargo/bin:$TOOLS/node_modules/.bin:$PATH"

want_tests=0
[[ "${1:-}" == "--tests" ]] && want_tests=1

fail() { echo "setup: could not install $1." >&2; exit 1; }
step() { echo "setup: $*"; }
have() { command -v "$1" >/dev/null 2>&1; }

apt_install() {
    if [[ -z "${SPOTTER_APT_UPDATED:-}" ]]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq || return 1
        export SPOTTER_APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

# --- Rust -------------------------------------------------------------------
have cargo && have rustup || fail "Rust: install rustup with a stable toolchain (1.88 or newer) first"
[[ -n "$WASM_BINDGEN_VERSION" ]] || fail "wasm-bindgen-cli: Cargo.toml must pin wasm-bindgen with \"=X.Y.Z\""

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    step "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown || fail "the wasm32-unknown-unknown Rust target"
fi
for component in rustfmt clippy; do
    if ! rustup component list --installed | grep -q "^$component"; then
        rustup component add "$component" || fail "the $component component"
    fi
done

# cargo-leptos and wasm-bindgen-cli build from source (about 6 and 4 minutes
# cold on 2 cores); when both are missing they build one after the other.
# cargo-leptos is built unoptimised (--debug): 6 minutes instead of 21-28,
# and it only drives the build (rustc, wasm-bindgen and wasm-opt do the
# heavy work); its own steps, mostly the brotli copies, then take about
# 25 s longer per release build (61 s against 36 s with nothing to
# compile, measured 2026-11-27).
if [[ "$(cargo leptos --version 2>/dev/null)" != "cargo-leptos $CARGO_LEPTOS_VERSION" ]]; then
    step "building cargo-leptos $CARGO_LEPTOS_VERSION (about 6 minutes the first time)"
    cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --features no_downloads --debug \
        || fail "cargo-leptos $CARGO_LEPTOS_VERSION"
fi
if [[ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]]; then
    step "building wasm-bindgen-cli $WASM_BINDGEN_VERSION"
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --locked \
        || fail "wasm-bindgen-cli $WASM_BINDGEN_VERSION"
fi

# --- wasm-opt (Node) --------------------------------------------------------
if ! have node || ! have npm; then
    step "installing Node.js and npm"
    apt_install nodejs npm || fail "Node.js and npm (Debian packages nodejs, npm)"
fi
if [[ "$(wasm-opt --version 2>/dev/null)" != *"version ${BINARYEN_VERSION%%.*}"* ]]; then
    step "installing wasm-opt (npm binaryen $BINARYEN_VERSION) into .tools/"
    mkdir -p "$TOOLS"
    npm install --silent --no-audit --no-fund --prefix "$TOOLS" "binaryen@$BINARYEN_VERSION" \
        || fail "wasm-opt (npm package binaryen@$BINARYEN_VERSION)"
fi

[[ $want_tests == 1 ]] || { step "build tools ready"; exit 0; }

# --- test tools -------------------------------------------------------------
if ! have chromium; then
    step "installing Chromium"
    apt_install chromium || fail "Chromium (Debian package chromium)"
fi
if [[ ! -x end2end/node_modules/.bin/playwright || ! -d end2end/node_modules/@axe-core/playwright ]]; then
    step "installing Playwright and axe-core (no browser download; Debian's Chromium is used)"
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --silent --no-audit --no-fund --prefix end2end \
        || fail "Playwright and axe-core (npm ci in end2end/)"
fi

# PostgreSQL for the PostgreSQL half of the integration tests.
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
        step "installing PostgreSQL"
        apt_install postgresql || fail "PostgreSQL (Debian package postgresql)"
    fi
    step "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start \
        || fail "a running PostgreSQL (pg_ctlcluster could not start it)"
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
    pg_isready -q -h 127.0.0.1 -p 5432 || fail "a running PostgreSQL (it did not answer on 127.0.0.1:5432)"
fi
step "build and test tools ready"
