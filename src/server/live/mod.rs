//! The live layer, wrapped around the database rather than inside it:
//!
//! | file | owns |
//! |---|---|
//! | [`bus`] | where committed events go: straight to the hub (SQLite), or through PostgreSQL's LISTEN/NOTIFY to every instance's hub |
//! | [`notifier`] | PostgreSQL only: the hints about committed events, one `pg_notify` per wake-up, after the commit |
//! | [`listener`] | PostgreSQL only: the LISTEN connection, and the presence and typing exchange between instances |
//! | [`hub`] | local fan-out: a broadcast channel per followed session and per open dashboard |
//! | [`presence`] | who is connected to each session, here and on other instances (reports expire) |
//! | [`typing`] | "typing…": a client's frame relayed to the session (at most one a second per connection) and to other instances, never stored |
//! | [`follow`] | replay from the log, then live frames: each event once, in seq order |
//! | [`socket`] | the WebSocket transport (session and dashboard) |
//! | [`calls`] | server functions called over a WebSocket, made into the app's router |
//! | [`sse`] | the Server-Sent Events transport |
//!
//! The wire format is documented in `docs/live-protocol.md`. Authorization
//! happens before anything is sent: no login is 401, not a participant 403,
//! no such session 404 (plain HTTP answers, before the upgrade). Nothing
//! here writes to the database (a call over a WebSocket is a request to
//! the app's router, which does).

pub mod bus;
pub mod calls;
pub mod cap;
pub mod follow;
pub mod hub;
pub mod listener;
pub mod notifier;
pub mod presence;
pub mod socket;
pub mod sse;
pub mod typing;

use super::{auth::CurrentUser, db::Database, shutdown::Shutdown};
use crate::model::{Side, User};
use axum::{
    extract::FromRef,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use serde::Deserialize;
use std::time::Duration;

pub use bus::Bus;
pub use follow::{follow, Ended, Feed, Follower};

/// How the live layer reads a session as one side sees it, for a
/// `snapshot` frame. The read model lives in `server::training`, which
/// sits above this layer (its mutations publish through the bus), so the
/// app's state hands the reader in.
pub type ReadView =
    fn(
        Database,
        i64,
        Side,
    ) -> futures::future::BoxFuture<'static, Result<crate::model::SessionView, String>>;

/// What the live endpoints need from the app's state.
#[derive(Clone, Debug)]
pub struct LiveContext {
    /// Read for authorization, replay and gaps; never written.
    pub db: Database,
    /// The hub and presence.
    pub bus: Bus,
    /// Reads a side's snapshot of a session.
    pub read_view: ReadView,
    /// How often every connection gets a heartbeat frame and a ping.
    pub heartbeat: Duration,
    /// Sockets close with 1001 and streams end when it is requested.
    pub shutdown: Shutdown,
    /// Open live connections per user.
    pub cap: cap::ConnectionCap,
    /// Where calls made over a WebSocket go.
    pub calls: calls::Calls,
}

/// The live routes, merged into the app's router.
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    LiveContext: FromRef<S>,
{
    Router::new()
        .route("/api/sessions/{id}/live", get(socket::session))
        .route("/api/sessions/{id}/events", get(sse::session))
        .route("/api/live", get(socket::dashboard))
}

/// `?since=<last seq the client applied>`; 0 or absent means "everything".
/// `&snapshot=1`: start with the side's snapshot instead of a replay.
#[derive(Debug, Default, Deserialize)]
pub struct Since {
    #[serde(default)]
    since: i64,
    #[serde(default)]
    snapshot: u8,
}

/// Resolves when `login` ends (logout); never if there is none.
async fn logged_out(
    mut logouts: tokio::sync::broadcast::Receiver<std::sync::Arc<str>>,
    login: Option<std::sync::Arc<str>>,
) {
    let Some(login) = login else {
        return std::future::pending().await;
    };
    loop {
        match logouts.recv().await {
            Ok(ended) if ended == login => return,
            Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
            Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                return std::future::pending().await
            }
        }
    }
}

/// The answer to a user at the connection cap.
fn too_many_connections() -> Response {
    super::metrics::rate_limited("live_connections");
    (
        StatusCode::TOO_MANY_REQUESTS,
        "Too many live connections for this login; close some tabs",
    )
        .into_response()
}

/// Which side `user` is on in `session_id` and the connection's slot under
/// the cap, or the HTTP refusal.
async fn authorize(
    context: &LiveContext,
    user: CurrentUser,
    session_id: i64,
) -> Result<(Side, cap::Slot), Response> {
    let db = &context.db;
    let CurrentUser(Some(User { id: user_id, .. })) = user else {
        return Err((
            StatusCode::UNAUTHORIZED,
            "Please log in to follow a session",
        )
            .into_response());
    };
    let head = super::events::head(db, session_id).await.map_err(|e| {
        tracing::error!(error = %e, session_id, "live: cannot read the session");
        StatusCode::INTERNAL_SERVER_ERROR.into_response()
    })?;
    match head.map(|h| h.participants) {
        None => Err((StatusCode::NOT_FOUND, "There is no such session").into_response()),
        Some([athlete, _]) if athlete == user_id => Ok((
            Side::Athlete,
            context.cap.take(user_id).ok_or_else(too_many_connections)?,
        )),
        Some([_, trainer]) if trainer == user_id => Ok((
            Side::Trainer,
            context.cap.take(user_id).ok_or_else(too_many_connections)?,
        )),
        Some(_) => Err((
            StatusCode::FORBIDDEN,
            "This session belongs to someone else",
        )
            .into_response()),
    }
}
