//! `GET /sessions/{id}/rounds/{round_id}/opened/{revision}`: the round's
//! receipt for a page without JavaScript. The athlete's page puts this
//! address in an image inside `<noscript>`, which a browser loads only
//! when it runs no scripts: the receipt is recorded when the page is
//! loaded, as `POST /api/rounds/opened` would (the same mutation, rules,
//! rate limit and event). A page with JavaScript sends its receipts once
//! the round is on screen instead. Answers a transparent 1×1 GIF (an
//! image a browser shows as nothing), or the refusal's status.
//! (The login cookie is `SameSite=Lax`: another site's image carries none,
//! so it is 401 there.)

use crate::{
    api::rounds::OpenRound,
    server::{
        auth::CurrentUser,
        state::AppState,
        training::{self, Mutation},
    },
};
use axum::{
    extract::{Path, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Extension, Router,
};
use std::sync::Arc;

/// The smallest transparent GIF (1×1).
const PIXEL: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];

/// The beacon's route.
pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/sessions/{id}/rounds/{round_id}/opened/{revision}",
        get(round_opened),
    )
}

async fn round_opened(
    State(state): State<AppState>,
    Path((session_id, round_id, revision)): Path<(i64, i64, i64)>,
    Extension(CurrentUser(user)): Extension<CurrentUser>,
) -> Response {
    let Some(user) = user else {
        return (StatusCode::UNAUTHORIZED, "Log in first").into_response();
    };
    let opened = OpenRound {
        session_id,
        round_id,
        revision,
    };
    let done = match state
        .limits
        .check(<OpenRound as Mutation>::attempt(user.id))
    {
        Ok(()) => training::mutation::run(&state.writer, &user, Arc::new(opened), None).await,
        Err(refusal) => Err(refusal),
    };
    match done {
        Ok(_) => (
            [
                (header::CONTENT_TYPE, "image/gif"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            PIXEL,
        )
            .into_response(),
        Err(error) => {
            let status =
                StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (
                status,
                [(header::CACHE_CONTROL, "no-store")],
                error.to_string(),
            )
                .into_response()
        }
    }
}
