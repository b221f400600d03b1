//! The edge every request passes first: requests that change something, and
//! live-socket upgrades, must come from this site's own pages (or an origin
//! the operator allowed), and every response carries the security headers.
//!
//! Why: the login cookie is `SameSite=Lax`, which stops a foreign site's
//! POST from carrying it in today's browsers but not a sibling subdomain's,
//! and not a WebSocket upgrade at all (cross-site WebSocket hijacking: the
//! browser sends the cookie, and WebSockets have no CORS). So the server
//! checks where the request comes from itself:
//! - `Sec-Fetch-Site: cross-site` → refused;
//! - an `Origin` header must name this host (the request's `Host`, so it
//!   works behind a proxy that keeps `Host`) or one of
//!   `SPOTTER_ALLOWED_ORIGINS`; `Origin: null` is refused;
//! - no `Origin` at all (curl, the load generator, old browsers' GETs) is
//!   allowed: a browser always sends it on the requests checked here.
//!
//! Checked: every method but GET/HEAD/OPTIONS, and GETs that ask for a
//! WebSocket upgrade. Refused requests get 403 before any login lookup or
//! handler runs.
//!
//! It also gives a server function's error its status when our code never
//! ran: Leptos answers a body it cannot decode (`session_id=abc`, a repeated
//! key, a body cut at the size limit) with 500, which is the client's
//! mistake, not ours; the answer names the field that could not be read
//! (the router passes in [`Explain`], the server functions' own form
//! readers). A body in another encoding than the form encoding every server
//! function reads gets 415 instead of being read as an empty form.

use super::metrics;
use crate::{
    error::{AppError, UNREADABLE_FORM},
    model::FieldError,
};
use axum::{
    body::{Body, Bytes},
    extract::{Request, State},
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use std::sync::Arc;

/// Largest request body accepted, on every route.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Names the field a server function (by path) could not read from `body`.
pub type Explain = fn(&str, &[u8]) -> Option<FieldError>;

/// The server function's endpoint a path names, if any.
pub type Endpoint = fn(&str) -> Option<&'static str>;

/// What [`guard`] needs.
#[derive(Clone)]
pub struct Edge {
    /// Origins allowed besides the site's own.
    pub origins: Origins,
    /// The server functions' form readers.
    pub explain: Explain,
    /// The server functions' endpoints (metrics labels).
    pub endpoint: Endpoint,
    /// How long a server function's body may take to arrive (a client
    /// that trickles its body is answered 408, like one that trickles its
    /// headers is cut off by `connection`).
    pub body_deadline: std::time::Duration,
}

/// Origins allowed besides the site's own (`https://app.example.com`),
/// compared exactly, without a trailing slash.
#[derive(Clone, Debug, Default)]
pub struct Origins(Arc<[String]>);

impl Origins {
    /// The allowed list.
    pub fn new(extra: Vec<String>) -> Origins {
        Origins(extra.into())
    }
}

/// Why a request is refused, if it is.
pub fn foreign(method: &Method, headers: &HeaderMap, allowed: &Origins) -> Option<&'static str> {
    let upgrade = headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let safe = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if safe && !upgrade {
        return None;
    }
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if fetch_site.is_some_and(|site| site.eq_ignore_ascii_case("cross-site")) {
        return Some("a request from another site");
    }
    // No Origin: not a browser (they always send it here); allowed.
    let origin = headers.get(header::ORIGIN)?;
    let Ok(origin) = origin.to_str() else {
        return Some("an unreadable Origin");
    };
    let origin = origin.trim_end_matches('/');
    if allowed.0.iter().any(|o| o == origin) {
        return None;
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let own = origin.split_once("://").is_some_and(|(scheme, authority)| {
        matches!(scheme, "http" | "https")
            && host.is_some_and(|h| h.eq_ignore_ascii_case(authority))
    });
    (!own).then_some("a request from another origin")
}

/// Middleware: refuses foreign state-changing requests and live upgrades
/// (403, the error as JSON), and adds the security headers to every answer.
pub async fn guard(State(edge): State<Edge>, request: Request, next: Next) -> Response {
    let allowed = &edge.origins;
    let https = request
        .headers()
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|proto| proto.eq_ignore_ascii_case("https"));
    let mut response = match foreign(request.method(), request.headers(), allowed) {
        Some(why) => {
            tracing::info!(
                method = %request.method(),
                path = request.uri().path(),
                origin = ?request.headers().get(header::ORIGIN),
                "refused {why}"
            );
            refusal(
                StatusCode::FORBIDDEN,
                AppError::Forbidden(
                    "This request came from another site; open spotter itself and try again".into(),
                ),
            )
        }
        None => match unsupported_body(&request) {
            Some(media) => refusal(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                AppError::Transport(format!(
                    "spotter's API reads forms (application/x-www-form-urlencoded), not {media}"
                )),
            ),
            None if is_server_function_call(&request) => {
                let started = std::time::Instant::now();
                let function = (edge.endpoint)(request.uri().path());
                let response = call_server_function(request, next, &edge).await;
                if let Some(function) = function {
                    metrics::action(function, started.elapsed());
                }
                response
            }
            None => with_error_status(next.run(request).await, None).await,
        },
    };
    metrics::response(response.status());
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        headers
            .entry(*name)
            .or_insert(HeaderValue::from_static(value));
    }
    if https {
        headers
            .entry(header::STRICT_TRANSPORT_SECURITY)
            .or_insert(HeaderValue::from_static("max-age=31536000"));
    }
    response
}

/// An error answer in the shape server functions use.
fn refusal(status: StatusCode, error: AppError) -> Response {
    let body = serde_json::to_string(&error).unwrap_or_default();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn is_server_function_call(request: &Request) -> bool {
    request.method() == Method::POST && request.uri().path().starts_with("/api/")
}

/// Reads a server function's form (at most [`MAX_BODY_BYTES`], else 413)
/// before passing it on, so that if the function cannot decode it the
/// answer can name the field.
async fn call_server_function(request: Request, next: Next, edge: &Edge) -> Response {
    let (parts, body) = request.into_parts();
    let read = axum::body::to_bytes(body, MAX_BODY_BYTES);
    let body = match tokio::time::timeout(edge.body_deadline, read).await {
        Ok(Ok(body)) => body,
        Err(_) => {
            let mut refused = refusal(
                StatusCode::REQUEST_TIMEOUT,
                AppError::Transport(format!(
                    "the request's body did not arrive within {} s",
                    edge.body_deadline.as_secs_f32()
                )),
            );
            refused
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            return refused;
        }
        Ok(Err(error)) => {
            let too_large = error
                .into_inner()
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some();
            return if too_large {
                refusal(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    AppError::Transport(format!(
                        "the request is over {} KiB",
                        MAX_BODY_BYTES / 1024
                    )),
                )
            } else {
                refusal(
                    StatusCode::BAD_REQUEST,
                    AppError::Transport("the request's body could not be read".into()),
                )
            };
        }
    };
    if let Some(field) = malformed_field(&body) {
        tracing::info!(field = %field.field, "refused a form that is not valid text");
        return refusal(StatusCode::UNPROCESSABLE_ENTITY, AppError::Invalid(field));
    }
    let path = parts.uri.path().to_owned();
    let response = next
        .run(Request::from_parts(parts, Body::from(body.clone())))
        .await;
    with_error_status(response, Some((&path, &body, edge.explain))).await
}

/// The first field of a url-encoded form whose name or value is not text:
/// a `%` not followed by two hex digits (`%ZZ`), or bytes that do not
/// decode to UTF-8 (`%FF%FE`, or raw). Named in a 422 before any server
/// function reads the form (its decoder would keep such a value changed:
/// lossily, or with the `%` as it is).
fn malformed_field(body: &[u8]) -> Option<FieldError> {
    for pair in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let mut halves = pair.splitn(2, |b| *b == b'=');
        let key = halves.next().unwrap_or_default();
        let value = halves.next().unwrap_or_default();
        let name = percent_decoded(key);
        if name.is_none() || percent_decoded(value).is_none() {
            let name = name.unwrap_or_else(|| String::from_utf8_lossy(key).into_owned());
            let name = if name.is_empty() {
                UNREADABLE_FORM.to_string()
            } else {
                name
            };
            return Some(FieldError::new(
                &name,
                format!("{name} is not valid text (its encoding is broken); type it again"),
            ));
        }
    }
    None
}

/// A form name or value decoded (`+` is a space, `%XX` a byte), if it is
/// well-formed UTF-8 text.
fn percent_decoded(raw: &[u8]) -> Option<String> {
    let mut bytes = Vec::with_capacity(raw.len());
    let mut rest = raw.iter();
    while let Some(&byte) = rest.next() {
        bytes.push(match byte {
            b'+' => b' ',
            b'%' => {
                let (high, low) = (rest.next()?, rest.next()?);
                let hex = |digit: &u8| char::from(*digit).to_digit(16);
                u8::try_from(hex(high)? * 16 + hex(low)?).ok()?
            }
            other => other,
        });
    }
    String::from_utf8(bytes).ok()
}

/// A POST to a server function (`/api/…`) whose body is not a form: the
/// media type, for the message.
fn unsupported_body(request: &Request) -> Option<String> {
    if !is_server_function_call(request) {
        return None;
    }
    let media = request.headers().get(header::CONTENT_TYPE)?.to_str().ok()?;
    let essence = media.split(';').next().unwrap_or_default().trim();
    (!essence.eq_ignore_ascii_case("application/x-www-form-urlencoded"))
        .then(|| essence.to_string())
}

/// A server function's error answered with Leptos's fixed 500 (an error
/// Leptos met before the function ran) gets the status its error kind has
/// ([`AppError::status`]); a form that could not be decoded
/// (`AppError::Invalid` on [`UNREADABLE_FORM`]) names the field when `call`
/// can tell which.
async fn with_error_status(response: Response, call: Option<(&str, &Bytes, Explain)>) -> Response {
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !response.headers().contains_key("serverfnerror")
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if let Ok(mut error) = serde_json::from_slice::<AppError>(&bytes) {
        if let (AppError::Invalid(unread), Some((path, body, explain))) = (&error, call) {
            if unread.field == UNREADABLE_FORM {
                if let Some(field) = explain(path, body) {
                    error = AppError::Invalid(field);
                }
            }
        }
        let status = error.status();
        parts.status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if parts.status.is_client_error() {
            tracing::info!(status, %error, "refused a request spotter could not read");
        }
        let body = serde_json::to_vec(&error).unwrap_or_default();
        parts.headers.remove(header::CONTENT_LENGTH);
        return Response::from_parts(parts, Body::from(body));
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// Sent with every answer (README, "Security"). Pages get a stricter
/// policy of their own ([`page_policy`]), which this one does not replace.
const SECURITY_HEADERS: &[(&str, &str)] = &[
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "same-origin"),
    (
        "content-security-policy",
        "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'",
    ),
    (
        "permissions-policy",
        "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    ),
];

/// A page's Content-Security-Policy: scripts only from this site or inline
/// with this response's `nonce` (Leptos puts it on its hydration and
/// resource scripts), WebAssembly allowed to compile (the app is wasm).
pub fn page_policy(nonce: &str) -> String {
    format!(
        "script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
    )
}

#[cfg(test)]
mod form_text {
    use super::malformed_field;

    #[test]
    fn a_field_that_is_not_text_is_named() {
        let field = |body: &str| malformed_field(body.as_bytes()).map(|f| f.field);
        assert_eq!(
            field("session_id=1&display_name=%FF%FE"),
            Some("display_name".into())
        );
        assert_eq!(
            field("exercises%5B0%5D%5Bname%5D=Sq%ZZuat"),
            Some("exercises[0][name]".into())
        );
        assert_eq!(field("body=50%"), Some("body".into()));
        assert_eq!(field("body=%4"), Some("body".into()));
        assert_eq!(field("na%FFme=x"), Some("na%FFme".into()));
        assert_eq!(field("=%FF"), Some("form".into()));
        assert_eq!(field("body=%E2%9C%93+done&x=&&y"), None);
        assert_eq!(
            field("body=%c3%a4%2B1"),
            None,
            "lower-case hex, a plus sign"
        );
        assert!(
            malformed_field(b"body=\xff").is_some(),
            "raw bytes that are not UTF-8"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn only_this_site_and_allowed_origins_may_change_things() {
        let none = Origins::default();
        let post = Method::POST;
        let own = headers(&[
            ("host", "gym.example:3000"),
            ("origin", "http://gym.example:3000"),
        ]);
        assert_eq!(foreign(&post, &own, &none), None);
        let evil = headers(&[("host", "gym.example"), ("origin", "http://evil.example")]);
        assert!(foreign(&post, &evil, &none).is_some());
        let sibling = headers(&[("host", "gym.example"), ("origin", "https://x.gym.example")]);
        assert!(
            foreign(&post, &sibling, &none).is_some(),
            "a sibling subdomain is another origin"
        );
        let allowed = Origins::new(vec!["http://evil.example".into()]);
        assert_eq!(foreign(&post, &evil, &allowed), None);
        let null = headers(&[("host", "gym.example"), ("origin", "null")]);
        assert!(foreign(&post, &null, &none).is_some());
        let cross = headers(&[("host", "gym.example"), ("sec-fetch-site", "cross-site")]);
        assert!(foreign(&post, &cross, &none).is_some());
        // No Origin: not a browser; allowed.
        assert_eq!(
            foreign(&post, &headers(&[("host", "gym.example")]), &none),
            None
        );
        // Reading is not checked, but a WebSocket upgrade is.
        assert_eq!(foreign(&Method::GET, &evil, &none), None);
        let upgrade = headers(&[
            ("host", "gym.example"),
            ("origin", "http://evil.example"),
            ("upgrade", "websocket"),
        ]);
        assert!(foreign(&Method::GET, &upgrade, &none).is_some());
    }
}
