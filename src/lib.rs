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
//! | [`api`] | `#[server]` functions, one module per area, at fixed `/api/<name>` paths; a mutation's is declared with `mutation!` (its endpoint written once; its body one call of `server::mutate`) |
//! | [`pages`] | one component per route; no page uses another |
//! | [`components`] | what more than one page uses: view pieces, `auth` (the logged-in user context), `forms` (a form's messages and successes), `session_view` (the session id in the URL, parts of the live view), `messages` (the thread), `receipts` (what this page had on screen; the unread title), `sets` (set forms, the trainer's progress, the rest), `now` (the athlete's set to do now); never a page |
//! | [`live`] | browser side of the live channel: `machine` (the link's rules, a pure state machine unit-tested on the host), `link` (wires the browser's sockets, timers and page events to it; `link::outgoing`: calls and `typing` frames over the Live WebSocket), backoff, outbox, wake lock, `use_session_live`; `storage` (`localStorage`); `client` (every server function call: over the Live WebSocket, else `fetch`, with a deadline; `Quiet` for receipts: over the Live WebSocket or not at all) |
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
//! | `export.rs`, `beacon.rs` | the CSV files; the round's receipt for pages without JavaScript |
//! | `training/` | mutations: `mutation.rs` (the `Mutation` trait every mutation implements, and the one path they all take), `writer.rs` (runs them: group commit on SQLite's writer thread, the pool on PostgreSQL), `work.rs` (unit of work: lock, replay, side, statements logged by step, finish), `sessions.rs`, `rounds.rs`, `sets.rs`, `pain.rs`, `messages.rs`, `receipts.rs` (one `impl Mutation` each); read models `queries.rs`; storage `codec.rs` |
//! | `live/` | `bus.rs` (SQLite: straight to the hub; PostgreSQL: LISTEN/NOTIFY through `listener.rs`), `hub.rs` (local fan-out), `presence.rs`, `typing.rs` ("typing…", relayed, never stored), `follow.rs` (replay, then live), `socket.rs` and `sse.rs` (transports), `calls.rs` (server functions called over a WebSocket, made into the router), `cap.rs` (connections per user) |
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
//!
//! ## One mutation end to end: the athlete taps "Set done"
//!
//! | step | file | what happens |
//! |---|---|---|
//! | 1 | `components/now.rs` (`NowSet`) → `components/sets.rs` (`SetRow`, `submit_to`) | the set's `<form>` (the set to do now, or a row of the round's list) posts to `/api/sets/log` (a plain post without JavaScript); with it, Leptos's `FromFormData` decodes the submit event into the server function's own arguments, `LogSet`, as the server would, and hands them to the page's `SetForms::on_submit` |
//! | 2 | `pages/session_athlete.rs` (`through_outbox`, `Outgoing`) | the page's enum of what it queues (`Outgoing::Set(LogSet)`, `Pain`, `Feedback`) goes into a `Pending` with the form's drafts scope; the link is asked for a probe |
//! | 3 | `live/outbox.rs` (`put`, `send`, `Queued`) | keeps it in `localStorage` until the server answers ("Saved on this phone…"), sends it once per try through `live/client.rs` as the form `#[server]` posts; a refusal goes to the form by its type (`About`) |
//! | 4 | `live/client.rs`, `live/link/outgoing.rs` (`call`) | over the Live WebSocket as a `call` frame when there is one, else `fetch`; a network failure fires `REQUEST_FAILED_EVENT`, which the link's `machine` turns into a resync |
//! | 5 | `server/live/calls.rs` or `server/router.rs` → `server/edge.rs` | a call frame is made into a request to the same router; the edge checks the origin and gives a decoding error its status |
//! | 6 | `api/sets.rs` (`log_set`, declared by `mutation!` in `api/mod.rs`) | the `#[server]` function decodes the form into its arguments, `LogSet`, and calls `server::mutate(LogSet { … })` |
//! | 7 | `server/mod.rs` (`mutate`) | the logged-in user, the rate limit, the idempotency key and fingerprint (`server/idempotency.rs`); errors get their status (`answer`) |
//! | 8 | `server/training/mutation.rs` (`run`) → `writer.rs` → `work.rs` | queued for the writer (SQLite: group commit; PostgreSQL: the pool); `Work::begin` locks the session, replays a repeated key, resolves the side; `Mutation::SIDE` is checked |
//! | 9 | `server/training/sets.rs` (`impl Mutation for LogSet`) | `apply`: the athlete may see the round (`visible_round`), `model::rules::log_set`, `model::validate_set`, the row, and `SessionEvent::SetLogged` appended by `work.append` (`server/events.rs`, same transaction) |
//! | 10 | `work.rs` (`finish`) → `writer.rs` → `server/live/bus.rs` | the answer is stored under the key, the batch commits, then the events go to the bus (SQLite: the hub at once; PostgreSQL: NOTIFY, `listener.rs` on every instance) |
//! | 11 | `server/live/hub.rs` → `follow.rs` → `socket.rs` (or `sse.rs`) | the hub fans the event out to the session's followers; each sends it if its side may see it |
//! | 12 | `live/link.rs` → `live/machine.rs` | the trainer's page gets the `event` frame on its live connection (`Machine::route`: apply) |
//! | 13 | `model::state` (`SessionView::apply`, in `protocol/src/state.rs`) | the one reducer: the set joins the view's round |
//! | 14 | `pages/session_trainer.rs` → `components/sets.rs` (`SetProgress`, `CurrentActivity`) | the row for that set redraws in place: "Set 2 of Squat", 0 s ago |
//!
//! The athlete's own page gets the answer on the same connection (an
//! `answer` frame), and its event like every page: the outbox forgets the
//! set, the form renews its key.
//!
//! Adding a mutation: a `mutation!` entry in `api/` (endpoint, arguments,
//! answer), one `impl Mutation` in `server/training/`, one `SessionEvent`
//! variant (with its `apply` arm in `protocol/src/state.rs`), and the
//! form's reader in `api::ENDPOINTS`.

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
