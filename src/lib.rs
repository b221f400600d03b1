//! # spotter
//!
//! Live, round-by-round coaching: a trainer on a laptop releases a round, the
//! athlete on a phone sees it at once, does it and sends feedback.
//!
//! A Leptos 0.8 full-stack app. **This is the map of the code** (the README
//! points here). The workspace:
//!
//! | crate | what |
//! |---|---|
//! | `spotter` (this one, `src/`) | the app: server (feature `ssr`) and browser (feature `hydrate`); no default feature |
//! | `spotter-protocol` (`protocol/`) | the wire protocol: live frames, the typed [`model::SessionEvent`], `Side`, `RoundStatus`; serde only |
//! | `spotter-bench` (`bench/`) | the load generator, a black-box client of the HTTP API and the protocol (docs/BENCHMARKS.md) |
//!
//! This crate:
//!
//! | module | owns |
//! |---|---|
//! | [`app`] | HTML shell, router, the layout |
//! | [`model`] | types shared by server and browser, validation, and the session rules as pure functions ([`model::rules`]); re-exports the protocol |
//! | [`error`] | [`error::AppError`], the one error every server function returns, and its HTTP status |
//! | [`api`] | `#[server]` functions, one module per area, at fixed `/api/<name>` paths |
//! | [`pages`] | one component per route; no page uses another |
//! | [`components`] | what more than one page uses: view pieces, `auth` (the logged-in user context), `forms` (a form's messages and successes), `session_view` (the session id in the URL, parts of the live view); never a page |
//! | [`live`] | browser side of the live channel: link state machine, backoff, outbox, wake lock, `use_session_live`; `storage` (`localStorage`); `client` (every server function call: over the Live WebSocket, else `fetch`, with a deadline) |
//! | `server` (feature `ssr`) | everything else on the server; its own map is in `src/server/mod.rs` |
//!
//! These point one way too (`app` → `pages` → `components` → `api` →
//! `live` → `error` → `model`; `tests/api/architecture.rs` fails on a
//! cycle, on `model` using anything of the app, and on a page using
//! another page).
//!
//! The server, top to bottom (each row uses only rows below it; a test in
//! `tests/api/architecture.rs` fails on any cycle):
//!
//! | `src/server/` | owns |
//! |---|---|
//! | `startup.rs` | `build(Config)` and `serve`: the one startup and shutdown path, used by `main.rs` and the tests' `spawn_app()` |
//! | `router.rs`, `state.rs` | the HTTP surface and its layers; `AppState` |
//! | `edge.rs`, `limits.rs` | the edge: origin checks, security headers, error statuses; rate limits |
//! | `health.rs`, `auth.rs` | `/healthz`, `/readyz`; login sessions and the login middleware |
//! | `training/` | mutations: `writer.rs` (runs them: group commit on SQLite's writer thread, the pool on PostgreSQL), `work.rs` (unit of work), `sessions.rs`, `rounds.rs`; read models `queries.rs`; storage `codec.rs` |
//! | `live/` | `bus.rs` (SQLite: straight to the hub; PostgreSQL: LISTEN/NOTIFY through `listener.rs`), `hub.rs` (local fan-out), `presence.rs`, `follow.rs` (replay, then live), `socket.rs` and `sse.rs` (transports), `calls.rs` (server functions called over a WebSocket, made into the router), `cap.rs` (connections per user) |
//! | `events.rs` | the event log: append inside a mutation's transaction, read back |
//! | `accounts.rs`, `idempotency.rs`, `demo.rs`, `config.rs`, `shutdown.rs` | users; exactly-once answers; demo accounts; settings; the stop signal |
//! | `connection.rs` | deadlines on the raw connection: request head, idle keep-alive, stalled writes |
//! | `metrics.rs` | `GET /metrics` and every metric's name (`db.rs` records its one gauge with the `metrics` crate directly) |
//! | `tx.rs` | the transaction mutations write through, once for both backends (sqlx on PostgreSQL, rusqlite on SQLite's write connection) |
//! | `db.rs` | the pool, SQLite's write connection, migrations; depends on nothing else in the server |
//!
//! Data flows one way: page form → server function (`api`) → unit of work
//! (`server::training`, rules from `model::rules`) → rows + event row
//! (`server::events`; the event carries what changed) → commit → bus →
//! hub → socket (the side's snapshot on connect, then the events it is
//! shown) → `live` link → the page's view through the one shared rule
//! (`model::state`, `SessionView::apply`) → view, updated in place. No live
//! update makes a page fetch anything. `src/main.rs` is the server entry
//! (feature `ssr`); [`hydrate`] is the browser entry (feature `hydrate`).

#![recursion_limit = "256"]

pub mod api;
pub mod app;
pub mod components;
pub mod error;
pub mod live;
pub mod model;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod server;

/// Browser entry point: hydrates the server-rendered page.
///
/// Hydration waits for the current route's code (with `--split` each page
/// is its own wasm module, fetched first), so it runs as a task; the
/// `data-hydrated` marker on `<body>` (for tests and debugging) is set
/// once the page is interactive.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    wasm_bindgen_futures::spawn_local(async {
        let Some(body) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.body())
        else {
            return;
        };
        leptos::mount::hydrate_from_async(body.clone(), app::App)
            .await
            .forget();
        let _ = body.set_attribute("data-hydrated", "");
    });
}
