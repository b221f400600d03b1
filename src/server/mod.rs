//! Server-only code (feature `ssr`). The map of these modules, with the
//! direction their dependencies point, is in the crate docs (`src/lib.rs`).
//! Pages never reach in here; server functions in `crate::api` do, through
//! the helpers at the bottom of this file.

pub mod accounts;
pub mod auth;
pub mod beacon;
pub mod config;
pub mod connection;
pub mod db;
pub mod demo;
pub mod edge;
pub mod events;
pub mod export;
pub mod health;
pub mod idempotency;
pub mod limits;
pub mod live;
pub mod metrics;
pub mod router;
pub mod shutdown;
pub mod startup;
pub mod state;
pub mod training;
pub mod tx;

pub use router::{router, MAX_BODY_BYTES};
pub use shutdown::Shutdown;
pub use state::AppState;

use crate::{error::AppError, model::User};
use axum::http::{header, request::Parts, HeaderValue, StatusCode};
use leptos::prelude::*;
use leptos_axum::ResponseOptions;

// ---- helpers for server functions -------------------------------------

/// The shared state, provided by `leptos_routes` to every server function.
pub fn state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| {
        tracing::error!("AppState missing from the Leptos context");
        AppError::Internal
    })
}

/// The request being served.
pub fn request_parts() -> Result<Parts, AppError> {
    use_context::<Parts>().ok_or_else(|| {
        tracing::error!("request parts missing from the Leptos context");
        AppError::Internal
    })
}

/// The logged-in user, or `Unauthorized`.
pub fn require_user() -> Result<User, AppError> {
    auth::current_user(&request_parts()?).ok_or(AppError::Unauthorized)
}

/// Counts an attempt against its rate limit: `TooManyRequests` (429 with
/// `Retry-After`) once over it.
pub fn limit(attempt: limits::Attempt<'_>) -> Result<(), AppError> {
    state()?.limits.check(attempt)
}

/// [`limit`] for a change by the logged-in `user`.
pub fn limit_changes(user: &User) -> Result<(), AppError> {
    limit(limits::Attempt::Change(user.id))
}

/// The client's address (for per-address limits).
pub fn client_address() -> Result<std::net::IpAddr, AppError> {
    Ok(limits::client_address(&request_parts()?))
}

/// Adds a `Set-Cookie` header to the response.
pub fn set_cookie(value: HeaderValue) {
    if let Some(response) = use_context::<ResponseOptions>() {
        response.append_header(header::SET_COOKIE, value);
    }
}

/// A mutation's server function: the logged-in user, the rate limit, the
/// idempotency key, then [`training::mutation::run`]; a plain form post
/// goes where the mutation says once it is done; errors get their status
/// ([`answer`]).
pub async fn mutate<M: training::Mutation>(mutation: M) -> Result<M::Answer, AppError> {
    answer(
        async {
            let user = require_user()?;
            limit(M::attempt(user.id))?;
            let key = idempotency::Idempotency::of(M::PATH, &mutation)?;
            let mutation = std::sync::Arc::new(mutation);
            let done =
                training::mutation::run(&state()?.writer, &user, mutation.clone(), key).await?;
            if let Some(to) = mutation.redirect(&done) {
                leptos_axum::redirect(&to);
            }
            Ok(done)
        }
        .await,
    )
}

/// Passes a server function's result through, giving an error its HTTP
/// status (also when a page renders it on the server). A plain HTML form
/// post (no JavaScript) is left as Leptos's redirect back to the form, which
/// shows the error from the URL.
pub fn answer<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    if let Err(err) = &result {
        let plain_form_post = use_context::<Parts>().is_some_and(|parts| {
            parts.method == axum::http::Method::POST
                && parts
                    .headers
                    .get(header::ACCEPT)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|accept| accept.contains("text/html"))
        });
        if let Some(response) = use_context::<ResponseOptions>() {
            if !plain_form_post {
                response.set_status(
                    StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                );
            }
            if let AppError::TooManyRequests(seconds) | AppError::Busy(seconds) = err {
                response.insert_header(header::RETRY_AFTER, HeaderValue::from(*seconds));
            }
        }
    }
    result
}
