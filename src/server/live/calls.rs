//! Server functions called over a live WebSocket (`ClientFrame::Call`).
//!
//! A page's pooled HTTP connections may be dead (a NAT forgot them) while
//! its live connection has just proved itself with a snapshot; so the page
//! sends its requests over the live connection when it has one. Each call
//! is made into the app's own router as `POST <path>` with the login
//! cookie, origin and address the connection was opened with: the same
//! layers (origin check, login, body limit, rate limits, idempotency)
//! decide it as if it had come over HTTP. A connection's calls run one at
//! a time, in order, in a task of their own (started with the first call),
//! so a slow call never holds up the connection's frames or heartbeats.

use super::hub::SharedFrame;
use crate::model::live::{callable_live, Answer, Frame, CALLS_IN_FLIGHT};
use crate::server::connection::Peer;
use axum::{
    body::Body,
    extract::{ConnectInfo, FromRequestParts},
    http::{header, request::Parts, HeaderMap, HeaderValue, Method, Request, StatusCode},
    Router,
};
use std::sync::{Arc, OnceLock, Weak};
use tokio::sync::mpsc;
use tower::ServiceExt;

/// The largest answer passed back (a session view is ~13 KB).
const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;

/// The headers of the upgrade request a call carries on.
const CARRIED: [header::HeaderName; 5] = [
    header::COOKIE,
    header::ORIGIN,
    header::HOST,
    header::USER_AGENT,
    header::ACCEPT_LANGUAGE,
];

/// Where calls go: the app's router, once it is serving. Holds it weakly
/// (the router holds the app's state, which holds this), so a stopped app
/// is freed; calls to it are answered 503.
#[derive(Clone, Debug, Default)]
pub struct Calls(Arc<OnceLock<Weak<Router>>>);

impl Calls {
    /// Calls go to `router` from now on (kept alive by whoever serves it).
    pub fn serve_with(&self, router: &Arc<Router>) {
        let _ = self.0.set(Arc::downgrade(router));
    }

    fn router(&self) -> Option<Router> {
        self.0.get()?.upgrade().map(|router| (*router).clone())
    }
}

/// Who calls: what the connection's upgrade request said about its client.
#[derive(Clone, Debug)]
pub struct Caller {
    headers: HeaderMap,
    peer: Option<Peer>,
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Caller, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<Peer>>();
        Ok(Caller::new(&parts.headers, peer.map(|ConnectInfo(p)| p)))
    }
}

impl Caller {
    /// The caller behind an upgrade request with `headers` from `peer`.
    fn new(headers: &HeaderMap, peer: Option<&Peer>) -> Caller {
        let mut carried = HeaderMap::new();
        for name in CARRIED {
            // A copy: the request's value is a slice of the connection's
            // whole read buffer, which a clone would keep alive for as
            // long as the connection lives (kilobytes per connection).
            if let Some(value) = headers
                .get(&name)
                .and_then(|v| HeaderValue::from_bytes(v.as_bytes()).ok())
            {
                carried.insert(name, value);
            }
        }
        Caller {
            headers: carried,
            peer: peer.map(Peer::detached),
        }
    }
}

/// One call waiting for its turn.
struct Call {
    id: u64,
    path: String,
    body: String,
}

/// A connection's calls: queued to its worker, answered on `out` (held
/// weakly: the frames channel still closes when its follower ends, which
/// is how the connection learns of it).
pub struct Queue {
    calls: Calls,
    caller: Caller,
    out: mpsc::WeakSender<SharedFrame>,
    worker: Option<mpsc::Sender<Call>>,
}

impl Queue {
    /// Calls made on a connection whose frames go out through `out`.
    pub fn new(calls: Calls, caller: Caller, out: &mpsc::Sender<SharedFrame>) -> Queue {
        Queue {
            calls,
            caller,
            out: out.downgrade(),
            worker: None,
        }
    }

    /// Queues a call; one over [`CALLS_IN_FLIGHT`] (or to a path that may
    /// not be called this way) is answered at once, without running.
    pub fn push(&mut self, id: u64, path: String, body: String) {
        if !callable_live(&path) {
            return self.refuse(
                id,
                StatusCode::NOT_FOUND,
                "Not callable over a live connection",
            );
        }
        let worker = self.worker.get_or_insert_with(|| {
            let (worker, calls) = mpsc::channel(CALLS_IN_FLIGHT);
            tokio::spawn(work(
                self.calls.clone(),
                self.caller.clone(),
                calls,
                self.out.clone(),
            ));
            worker
        });
        if worker.try_send(Call { id, path, body }).is_err() {
            self.refuse(
                id,
                StatusCode::SERVICE_UNAVAILABLE,
                "Too many calls at once",
            );
        }
    }

    fn refuse(&self, id: u64, status: StatusCode, why: &str) {
        let answer = Frame::Answer(Answer {
            id,
            status: status.as_u16(),
            body: why.into(),
            location: None,
            redirect: false,
        });
        if let Some(out) = self.out.upgrade() {
            let _ = out.try_send(SharedFrame::new(answer));
        }
    }
}

/// Answers a connection's calls in order until the connection ends (a call
/// under way when it ends still runs to its end: its commit stands, and a
/// retry with the same idempotency key gets its answer).
async fn work(
    calls: Calls,
    caller: Caller,
    mut queue: mpsc::Receiver<Call>,
    out: mpsc::WeakSender<SharedFrame>,
) {
    while let Some(call) = queue.recv().await {
        let answer = answer(&calls, &caller, call).await;
        let Some(out) = out.upgrade() else { break };
        if out
            .send(SharedFrame::new(Frame::Answer(answer)))
            .await
            .is_err()
        {
            break;
        }
    }
}

/// Makes one call into the router and reads its answer.
async fn answer(calls: &Calls, caller: &Caller, call: Call) -> Answer {
    let Call { id, path, body } = call;
    let unavailable = |why: &str| Answer {
        id,
        status: StatusCode::SERVICE_UNAVAILABLE.as_u16(),
        body: why.into(),
        location: None,
        redirect: false,
    };
    let Some(router) = calls.router() else {
        return unavailable("The server is stopping");
    };
    let Ok(mut request) = Request::builder()
        .method(Method::POST)
        .uri(&path)
        .body(Body::from(body))
    else {
        return unavailable("Not a path");
    };
    let headers = request.headers_mut();
    headers.extend(caller.headers.clone());
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
    if let Some(peer) = &caller.peer {
        request.extensions_mut().insert(ConnectInfo(peer.clone()));
    }
    let Ok(response) = router.oneshot(request).await;
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_ANSWER_BYTES).await else {
        return unavailable("The answer could not be read");
    };
    let text = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    Answer {
        id,
        status: parts.status.as_u16(),
        body: String::from_utf8_lossy(&bytes).into_owned(),
        location: text(header::LOCATION.as_str()),
        redirect: text(leptos::server_fn::redirect::REDIRECT_HEADER).is_some(),
    }
}
