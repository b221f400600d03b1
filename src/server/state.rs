//! What every handler and server function can reach.

use super::{
    db::Database,
    edge::Origins,
    limits::Limits,
    live::{cap::ConnectionCap, Bus, LiveContext},
    shutdown::Shutdown,
    training::Writer,
};
use axum::extract::FromRef;
use leptos::config::LeptosOptions;

/// What every handler and server function can reach.
#[derive(Clone, Debug)]
pub struct AppState {
    /// Leptos's options (site root for static files, output name).
    pub leptos_options: LeptosOptions,
    /// The database.
    pub db: Database,
    /// Where committed events go, and the local hub and presence.
    pub bus: Bus,
    /// How often live connections get a heartbeat frame and a WebSocket
    /// ping; a client silent for two intervals is disconnected.
    pub heartbeat: std::time::Duration,
    /// This instance's name (health endpoints, `x-spotter-instance`).
    pub instance: std::sync::Arc<str>,
    /// Tells live sockets and event streams to end when the process stops.
    pub shutdown: Shutdown,
    /// Origins besides the site's own allowed to send changes.
    pub origins: Origins,
    /// Rate limits.
    pub limits: Limits,
    /// Open live connections per user.
    pub live_cap: ConnectionCap,
    /// `GET /metrics`, when `SPOTTER_METRICS_TOKEN` is set.
    pub metrics: Option<super::metrics::Exporter>,
    /// Connection deadlines; the request head's also bounds how long a
    /// server function's body may take to arrive.
    pub deadlines: super::connection::Deadlines,
    /// Where mutations' transactions come from.
    pub writer: Writer,
    /// Login cookies to users (remembered briefly).
    pub logins: super::auth::Logins,
    /// Where server functions called over a live WebSocket go (the router,
    /// once it serves).
    pub calls: super::live::calls::Calls,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl FromRef<AppState> for Database {
    fn from_ref(state: &AppState) -> Self {
        state.db.clone()
    }
}

impl FromRef<AppState> for LiveContext {
    fn from_ref(state: &AppState) -> Self {
        LiveContext {
            db: state.db.clone(),
            bus: state.bus.clone(),
            read_view,
            heartbeat: state.heartbeat,
            shutdown: state.shutdown.clone(),
            cap: state.live_cap.clone(),
            calls: state.calls.clone(),
        }
    }
}

/// The live layer's snapshot reader: the session as `side` sees it.
pub fn read_view(
    db: super::db::Database,
    session_id: i64,
    side: crate::model::Side,
) -> futures::future::BoxFuture<'static, Result<crate::model::SessionView, String>> {
    Box::pin(async move {
        super::training::queries::snapshot(&db, session_id, side)
            .await
            .map_err(|e| e.to_string())
    })
}
