//! `/healthz` (the process is up) and `/readyz` (it can serve: the database
//! answers and, on PostgreSQL, the listener is connected), for load
//! balancers and operators. Both name the instance that answered.

use super::state::AppState;
use axum::{extract::State, http::StatusCode, response::IntoResponse, routing::get, Json, Router};
use serde_json::json;
use std::time::Duration;

/// The health routes, merged into the app's router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    Json(json!({ "status": "ok", "instance": &*state.instance }))
}

async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let database = tokio::time::timeout(
        Duration::from_secs(2),
        sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&state.db.pool),
    )
    .await;
    let database_ok = matches!(database, Ok(Ok(1)));
    let (listener, listener_ok) = match state.bus.listener() {
        None => ("not used".to_string(), true),
        Some(status) if status.connected() => ("connected".to_string(), true),
        Some(_) => ("reconnecting".to_string(), false),
    };
    let ready = database_ok && listener_ok;
    let body = json!({
        "status": if ready { "ready" } else { "not ready" },
        "instance": &*state.instance,
        "database": if database_ok { "ok" } else { "unreachable" },
        "listener": listener,
        "listener_connects": state.bus.listener().map(|l| l.connects()),
        "listener_caught_up": state.bus.listener().map(|l| l.caught_up()),
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}
