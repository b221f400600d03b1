//! The whole HTTP surface: pages, server functions, live endpoints,
//! health, static files, and the layers every request passes.

use super::{auth, beacon, connection, edge, export, health, live, metrics, state::AppState};
use crate::app::{shell, App};
use axum::{
    extract::DefaultBodyLimit,
    http::{header, HeaderValue, StatusCode},
    middleware,
    response::Response,
    Router,
};
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::{
    compression::{CompressionLayer, CompressionLevel},
    limit::RequestBodyLimitLayer,
    services::ServeDir,
    set_header::SetResponseHeaderLayer,
    trace::TraceLayer,
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
    // Pages and server functions: compressed on the fly for clients that
    // accept it (brotli or gzip at level 4: a page costs well under a
    // millisecond), never stored by shared caches, always revalidated.
    // Live routes stay out of it (a WebSocket upgrade or an event stream
    // must not be buffered by an encoder).
    let pages = Router::new()
        .leptos_routes(&state, routes, move || shell(options.clone()))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-cache"),
        ))
        .layer(
            CompressionLayer::new()
                .br(true)
                .gzip(true)
                .quality(CompressionLevel::Precise(4)),
        );
    // Static files (`/pkg/*`, `public/`): the release build writes brotli
    // and gzip copies next to each file (`cargo leptos build --release
    // --precompress`), served by content negotiation. Names with a content
    // hash are cached for a year ([`cache_policy`]); others are kept but
    // asked for again each visit, and an unchanged one answers 304. (Not
    // `leptos_axum::file_and_error_handler` for the files: it passes only
    // `Accept-Encoding` on, so `If-Modified-Since` never got a 304.) A path
    // that is no file gets Leptos's 404 page.
    let not_found = Router::new()
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .with_state(state.clone());
    let files = tower::ServiceBuilder::new()
        .layer(middleware::from_fn(cache_policy))
        .map_response(axum::response::IntoResponse::into_response)
        .service(
            ServeDir::new(&*state.leptos_options.site_root)
                .precompressed_br()
                .precompressed_gzip()
                .call_fallback_on_method_not_allowed(true)
                .fallback(not_found),
        );
    Router::new()
        .merge(live::routes())
        .merge(health::routes())
        .merge(export::routes())
        .merge(beacon::routes())
        .route(
            "/metrics",
            axum::routing::get(metrics::page).with_state(state.metrics.clone()),
        )
        .merge(pages)
        .fallback_service(files)
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

/// `Cache-Control` for a static file: a year and `immutable` for a
/// content-hashed name (the release build's `spotter.<hash>.wasm`: a new
/// build is a new name), otherwise `no-cache` (revalidate each time).
async fn cache_policy(request: axum::extract::Request, next: middleware::Next) -> Response {
    let hashed = content_hashed(request.uri().path());
    let mut response = next.run(request).await;
    let found = response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED;
    if !response.headers().contains_key(header::CACHE_CONTROL) {
        let policy = if hashed && found {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    response
}

/// Whether `path` names a file the build named by its content: a
/// `<name>.<hash>.<ext>` file whose hash is cargo-leptos's (22 characters
/// of URL-safe base64, an MD5).
fn content_hashed(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or_default();
    let mut parts = file.rsplit('.');
    let (Some(_ext), Some(hash), Some(_name)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    hash.len() == 22
        && hash
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::content_hashed;

    #[test]
    fn only_build_hashed_names_count_as_content_hashed() {
        assert!(content_hashed("/pkg/spotter.Ab3_-defGhijklmnopqrst.wasm"));
        assert!(content_hashed("/pkg/spotter.Ab3_-defGhijklmnopqrst.css"));
        assert!(!content_hashed("/pkg/spotter.wasm"));
        assert!(!content_hashed("/favicon.svg"));
        assert!(!content_hashed("/pkg/spotter.short.js"));
        assert!(!content_hashed("/pkg/spotter.Ab3_-defGhijklmnopqrstu.js"));
        assert!(!content_hashed("/pkg/spotter.Ab3_-defGhijklmnopqr!t.js"));
        assert!(!content_hashed("/pkg/Ab3_-defGhijklmnopqrst.js"));
    }
}
