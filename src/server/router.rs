//! The whole HTTP surface: pages, server functions, live endpoints,
//! health, static files, and the layers every request passes.

use super::{auth, connection, edge, health, live, metrics, state::AppState};
use crate::app::{shell, App};
use axum::{
    extract::DefaultBodyLimit,
    http::{header, HeaderValue},
    middleware, Router,
};
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::{
    limit::RequestBodyLimitLayer, set_header::SetResponseHeaderLayer, trace::TraceLayer,
};

pub use super::edge::MAX_BODY_BYTES;

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
        .route(
            "/metrics",
            axum::routing::get(metrics::page).with_state(state.metrics.clone()),
        )
        .leptos_routes(&state, routes, move || shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(middleware::from_fn_with_state(
            state.logins.clone(),
            auth::resolve_user,
        ))
        // Refuse large bodies before any handler reads them (413), whatever
        // extractor or server function codec would read them.
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // Foreign origins are refused before any login lookup; every answer
        // gets the security headers (`edge`).
        .layer(middleware::from_fn_with_state(
            edge::Edge {
                origins: state.origins.clone(),
                explain: crate::api::unreadable_field,
                endpoint: crate::api::endpoint,
                body_deadline: state.deadlines.head,
            },
            edge::guard,
        ))
        .layer(TraceLayer::new_for_http())
        .layer(SetResponseHeaderLayer::overriding(
            header::HeaderName::from_static("x-spotter-instance"),
            instance,
        ))
        // Outermost: tells the connection when it waits for a request
        // (its header timeout runs) and when it is upgraded.
        .layer(middleware::from_fn(connection::watch_requests))
        .with_state(state)
}
