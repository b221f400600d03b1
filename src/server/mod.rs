//! Server-only code (feature `ssr`): configuration, database, accounts and the
//! axum router. Pages never reach in here; server functions in `crate::api`
//! do, through the helpers at the bottom of this file.

pub mod accounts;
pub mod auth;
pub mod config;
pub mod db;
pub mod demo;
pub mod events;
pub mod health;
pub mod idempotency;
pub mod live;
pub mod shutdown;
pub mod startup;
pub mod training;

pub use shutdown::Shutdown;

use crate::{
    app::{shell, App},
    error::AppError,
    model::User,
};
use axum::{
    extract::{DefaultBodyLimit, FromRef},
    http::{header, request::Parts, HeaderValue, StatusCode},
    middleware, Router,
};
use db::Database;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes, ResponseOptions};
use tower_http::{
    limit::RequestBodyLimitLayer, set_header::SetResponseHeaderLayer, trace::TraceLayer,
};

/// Largest request body accepted, on every route.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What every handler and server function can reach.
#[derive(Clone, Debug)]
pub struct AppState {
    /// Leptos's options (site root for static files, output name).
    pub leptos_options: LeptosOptions,
    /// The database.
    pub db: Database,
    /// Where committed events go, and the local hub and presence.
    pub bus: live::Bus,
    /// How often live connections get a heartbeat frame and a WebSocket
    /// ping; a client silent for two intervals is disconnected.
    pub heartbeat: std::time::Duration,
    /// This instance's name (health endpoints, `x-spotter-instance`).
    pub instance: std::sync::Arc<str>,
    /// Tells live sockets and event streams to end when the process stops.
    pub shutdown: Shutdown,
}

impl AppState {
    /// What mutations need: the database and the bus.
    pub fn store(&self) -> training::Store<'_> {
        training::Store {
            db: &self.db,
            bus: &self.bus,
        }
    }
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

/// The app's routes, generated once per process. Leptos 0.8 suppresses
/// resource loading process-wide while it generates a route list, so a
/// second generation (say, a second router in the same test binary) can
/// stall a page another router is rendering at that moment.
fn routes() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> =
        std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// The whole HTTP surface: pages, server functions, static files.
pub fn router(state: AppState) -> Router {
    let routes = routes();
    let options = state.leptos_options.clone();
    let instance = HeaderValue::from_str(&state.instance)
        .unwrap_or_else(|_| HeaderValue::from_static("spotter"));
    Router::new()
        .merge(live::routes())
        .merge(health::routes())
        .leptos_routes(&state, routes, move || shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(middleware::from_fn_with_state(
            state.db.clone(),
            auth::resolve_user,
        ))
        // Refuse large bodies before any handler reads them (413), whatever
        // extractor or server function codec would read them.
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TraceLayer::new_for_http())
        .layer(SetResponseHeaderLayer::overriding(
            header::HeaderName::from_static("x-spotter-instance"),
            instance,
        ))
        .with_state(state)
}

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

/// Adds a `Set-Cookie` header to the response.
pub fn set_cookie(value: HeaderValue) {
    if let Some(response) = use_context::<ResponseOptions>() {
        response.append_header(header::SET_COOKIE, value);
    }
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
        if !plain_form_post {
            if let Some(response) = use_context::<ResponseOptions>() {
                response.set_status(
                    StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                );
            }
        }
    }
    result
}
