//! # spotter
//!
//! Live, round-by-round coaching: a trainer on a laptop releases a round, the
//! athlete on a phone sees it at once, does it and sends feedback.
//!
//! A Leptos 0.8 full-stack app. Map of the crate:
//!
//! | module | owns |
//! |---|---|
//! | [`app`] | HTML shell, router, layout, the shared [`app::Auth`] context |
//! | [`model`] | types shared by server and browser, and pure validation rules |
//! | [`error`] | [`error::AppError`], the one error every server function returns |
//! | [`api`] | `#[server]` functions, one module per area (`auth`, …) |
//! | [`pages`] | one component per route |
//! | [`components`] | view pieces used by several pages |
//! | [`live`] | browser side of the live channel: link state machine, backoff, `use_session_live` |
//! | `server` (feature `ssr`) | config, database, accounts, login sessions, training sessions, hub and live endpoints, axum router |
//!
//! Data flows one way: page form → server function → database → resource
//! refetch → view. `src/main.rs` is the server entry (feature `ssr`);
//! [`hydrate`] is the browser entry (feature `hydrate`).

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
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
    // A marker for tests and debugging: the page is interactive now.
    if let Some(body) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.body())
    {
        let _ = body.set_attribute("data-hydrated", "");
    }
}
