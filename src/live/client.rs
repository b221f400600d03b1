//! How the browser calls every server function and sends the outbox:
//! over the page's live WebSocket when it is Live, over `fetch` otherwise;
//! always with a deadline; and once more over a fresh live connection when
//! a call that may be repeated failed on the network.
//!
//! Why: a request on a dead network path has no deadline of its own (the
//! pooled HTTP connection it went out on looks open for minutes, and the
//! next one from the pool may be just as dead). The live connection is the
//! one path the page knows is alive: it is Live only after its snapshot
//! arrived on it, and it is replaced when its heartbeats stop. So:
//!
//! 1. A form a server function can take over the live connection
//!    (`callable_live`: all but the login cookie's) goes there as a `call`
//!    frame when the link is Live; otherwise (no link, SSE, a body over
//!    [`MAX_CALL_BYTES`]) over `fetch`.
//! 2. No answer within [`REQUEST_DEADLINE_MS`], or the connection closed
//!    first, or `fetch` failed: the page's live link hears of it (a window
//!    event, [`super::REQUEST_FAILED_EVENT`]), stops saying Live and opens a new
//!    connection.
//! 3. A call that may be repeated (it carries an `idempotency_key`, or it
//!    only reads) waits up to another deadline for the link to be Live
//!    again and goes once more, over that new connection (or over `fetch`
//!    at once when no link of the page will be Live again: the page has
//!    none, or a log-out closed it for good); the server's idempotency
//!    store makes a repeat of one that did commit answer the first answer
//!    again.
//!
//! A refusal is an answer (`Ok` here, decoded by the caller); an `Err` is
//! the network's. On the server this client is never used to send
//! anything.

use crate::model::live::Answer;
use leptos::server_fn::{
    client::{browser::BrowserClient, Client},
    error::{FromServerFnError, IntoAppError, ServerFnError, ServerFnErrorErr},
    request::browser::BrowserRequest,
    response::{browser::BrowserResponse, ClientRes},
    Bytes,
};
use std::future::Future;

/// How long any request of a page may take.
pub const REQUEST_DEADLINE_MS: u32 = 8_000;

/// Server functions that only read: repeating one is always safe.
const READS: &[&str] = &[
    "/api/sessions/view",
    "/api/dashboard",
    "/api/exercises/names",
    "/api/messages/older",
    "/api/messages/all",
    "/api/me",
];

/// `#[server(client = Deadline)]`: see the module's text.
pub struct Deadline;

/// An answer, from `fetch` or over the live connection.
pub enum Reply {
    /// `fetch`'s response.
    Fetched(BrowserResponse),
    /// The answer to a `call` frame.
    Answered(Answer),
}

impl Reply {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            Reply::Fetched(r) => ClientRes::<ServerFnError>::status(r),
            Reply::Answered(a) => a.status,
        }
    }

    /// The body, as text (empty if it cannot be read).
    pub async fn text(self) -> String {
        match self {
            Reply::Fetched(r) => ClientRes::<ServerFnError>::try_into_string(r)
                .await
                .unwrap_or_default(),
            Reply::Answered(a) => a.body,
        }
    }
}

impl<E: FromServerFnError> ClientRes<E> for Reply {
    async fn try_into_string(self) -> Result<String, E> {
        match self {
            Reply::Fetched(r) => ClientRes::<E>::try_into_string(r).await,
            Reply::Answered(a) => Ok(a.body),
        }
    }

    async fn try_into_bytes(self) -> Result<Bytes, E> {
        match self {
            Reply::Fetched(r) => ClientRes::<E>::try_into_bytes(r).await,
            Reply::Answered(a) => Ok(Bytes::from(a.body)),
        }
    }

    fn try_into_stream(
        self,
    ) -> Result<impl futures::Stream<Item = Result<Bytes, Bytes>> + Send + Sync + 'static, E> {
        // No server function of spotter streams.
        Err::<futures::stream::Empty<Result<Bytes, Bytes>>, E>(
            ServerFnErrorErr::Response("spotter's server functions do not stream".into())
                .into_app_error(),
        )
    }

    fn status(&self) -> u16 {
        Reply::status(self)
    }

    fn status_text(&self) -> String {
        match self {
            Reply::Fetched(r) => ClientRes::<E>::status_text(r),
            Reply::Answered(_) => String::new(),
        }
    }

    fn location(&self) -> String {
        match self {
            Reply::Fetched(r) => ClientRes::<E>::location(r),
            Reply::Answered(a) => a.location.clone().unwrap_or_default(),
        }
    }

    fn has_redirect(&self) -> bool {
        match self {
            Reply::Fetched(r) => ClientRes::<E>::has_redirect(r),
            Reply::Answered(a) => a.redirect,
        }
    }
}

/// `#[server(client = Quiet)]`, for what the page sends again by itself
/// until it shows (read receipts): over the page's Live WebSocket or not
/// at all, once, with the deadline; a failure is not the link's business
/// (it does not make the page reconnect), and nothing goes over `fetch`.
pub struct Quiet;

/// A server-function client whose `send` is `$send` (one of `browser`'s).
macro_rules! client {
    ($client:ident, $send:ident) => {
        impl<E, I, O> Client<E, I, O> for $client
        where
            E: FromServerFnError,
            I: FromServerFnError,
            O: FromServerFnError,
        {
            type Request = BrowserRequest;
            type Response = Reply;

            fn send(req: Self::Request) -> impl Future<Output = Result<Self::Response, E>> + Send {
                #[cfg(feature = "hydrate")]
                {
                    send_wrapper::SendWrapper::new(async move {
                        browser::$send(req)
                            .await
                            .map_err(|why| E::from_server_fn_error(ServerFnErrorErr::Request(why)))
                    })
                }
                #[cfg(not(feature = "hydrate"))]
                futures::future::lazy(move |_| {
                    drop(req);
                    Err(E::from_server_fn_error(ServerFnErrorErr::Request(
                        "server functions are called from the browser".into(),
                    )))
                })
            }

            fn open_websocket(
                path: &str,
            ) -> impl Future<
                Output = Result<
                    (
                        impl futures::Stream<Item = Result<Bytes, Bytes>> + Send + 'static,
                        impl futures::Sink<Bytes> + Send + 'static,
                    ),
                    E,
                >,
            > + Send {
                <BrowserClient as Client<E, I, O>>::open_websocket(path)
            }

            fn spawn(future: impl Future<Output = ()> + Send + 'static) {
                <BrowserClient as Client<E, I, O>>::spawn(future)
            }
        }
    };
}

client!(Deadline, send);
client!(Quiet, send_quietly);

/// Whether a request to `path` with form `body` may be sent again after it
/// failed on the network: it only reads, or its idempotency key makes a
/// repeat answer the first answer.
pub fn repeatable(path: &str, body: &str) -> bool {
    READS.contains(&path)
        || body.split('&').any(|pair| {
            pair.len() > "idempotency_key=".len() && pair.starts_with("idempotency_key=")
        })
}

/// Sends a form (`application/x-www-form-urlencoded`) to `path` once, the
/// way a server function call goes (over the Live connection, else
/// `fetch`; with the deadline; a network failure reported to the link),
/// but without the second try: the outbox keeps what failed and sends it
/// again itself when the link is back. Its answer, or why none came.
pub async fn post_form(path: &str, body: String) -> Result<Reply, String> {
    #[cfg(feature = "hydrate")]
    {
        let form = browser::Form {
            path: path.to_string(),
            content_type: "application/x-www-form-urlencoded".into(),
            accept: "application/json".into(),
            body,
        };
        browser::attempt(&form)
            .await
            .inspect_err(|_| request_failed())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (path, body);
        Err("not in a browser".into())
    }
}

/// Tells the page's live link that a request failed on the network.
pub fn request_failed() {
    #[cfg(feature = "hydrate")]
    if let (Some(window), Ok(event)) = (
        web_sys::window(),
        web_sys::Event::new(super::REQUEST_FAILED_EVENT),
    ) {
        let _ = window.dispatch_event(&event);
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use super::{repeatable, request_failed, Reply, REQUEST_DEADLINE_MS};
    use crate::model::live::{callable_live, Answer, MAX_CALL_BYTES};
    use futures::{
        channel::oneshot,
        future::{select, Either},
    };
    use leptos::server_fn::{
        client::{browser::BrowserClient, Client},
        error::ServerFnError,
        request::{browser::BrowserRequest, ClientReq},
    };

    /// A form on its way: what is needed to send it again.
    pub(super) struct Form {
        pub path: String,
        pub content_type: String,
        pub accept: String,
        pub body: String,
    }

    /// A server function's request: sent as a form when it is one (every
    /// spotter server function posts a form), as it is otherwise.
    pub(super) async fn send(req: BrowserRequest) -> Result<Reply, String> {
        match form_of(req).await? {
            Ok(form) => exchange(form).await,
            Err(req) => fetch_once(req).await.inspect_err(|_| request_failed()),
        }
    }

    /// [`super::Quiet`]'s send: once, over the Live WebSocket only.
    pub(super) async fn send_quietly(req: BrowserRequest) -> Result<Reply, String> {
        let Ok(form) = form_of(req).await? else {
            return Err("not a form: not sent".into());
        };
        match over_live(&form) {
            Some(answer) => answered(answer).await,
            None => Err("the page is not Live: not sent".into()),
        }
    }

    /// The form a request posts (`Err`: it does not post one).
    async fn form_of(req: BrowserRequest) -> Result<Result<Form, BrowserRequest>, String> {
        let form_post = req.method() == gloo_net::http::Method::POST
            && req
                .headers()
                .get("Content-Type")
                .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
        if !form_post {
            return Ok(Err(req));
        }
        let path = web_sys::Url::new(&req.url())
            .map(|u| u.pathname())
            .unwrap_or_default();
        let header = |name: &str| req.headers().get(name).unwrap_or_default();
        Ok(Ok(Form {
            content_type: header("Content-Type"),
            accept: header("Accept"),
            body: req.text().await.map_err(|e| e.to_string())?,
            path,
        }))
    }

    /// Sends `form`; after a network failure, once more over a fresh live
    /// connection if it may be repeated.
    pub(super) async fn exchange(form: Form) -> Result<Reply, String> {
        let failed = match attempt(&form).await {
            Ok(reply) => return Ok(reply),
            Err(why) => why,
        };
        request_failed();
        if !repeatable(&form.path, &form.body) || !live_again().await {
            return Err(failed);
        }
        attempt(&form).await.inspect_err(|_| request_failed())
    }

    /// One try, over the live connection if the page has a Live one.
    pub(super) async fn attempt(form: &Form) -> Result<Reply, String> {
        if let Some(answer) = over_live(form) {
            return answered(answer).await;
        }
        let request = <BrowserRequest as ClientReq<ServerFnError>>::try_new_post(
            &form.path,
            &form.content_type,
            &form.accept,
            form.body.clone(),
        )
        .map_err(|e| e.to_string())?;
        fetch_once(request).await
    }

    /// `form` sent as a call over the page's Live WebSocket, if it has one
    /// and the form may go there.
    fn over_live(form: &Form) -> Option<oneshot::Receiver<Answer>> {
        let callable = callable_live(&form.path) && form.body.len() <= MAX_CALL_BYTES;
        callable
            .then(|| super::super::link::call(&form.path, &form.body))
            .flatten()
    }

    /// The answer to a call, within the deadline.
    async fn answered(answer: oneshot::Receiver<Answer>) -> Result<Reply, String> {
        match select(answer, Box::pin(timer(REQUEST_DEADLINE_MS))).await {
            Either::Left((Ok(answer), _)) => Ok(Reply::Answered(answer)),
            Either::Left((Err(_), _)) => {
                Err("The connection closed before the answer came: try again".into())
            }
            Either::Right(((), _)) => Err(no_answer()),
        }
    }

    /// `fetch` with the deadline (dropping the request aborts it, so the
    /// connection it went out on is not used again).
    async fn fetch_once(req: BrowserRequest) -> Result<Reply, String> {
        let send = <BrowserClient as Client<ServerFnError>>::send(req);
        match select(Box::pin(send), Box::pin(timer(REQUEST_DEADLINE_MS))).await {
            Either::Left((Ok(response), _)) => Ok(Reply::Fetched(response)),
            Either::Left((Err(error), _)) => Err(error.to_string()),
            Either::Right(((), _)) => Err(no_answer()),
        }
    }

    fn no_answer() -> String {
        format!(
            "No answer within {} s: check your connection and try again",
            REQUEST_DEADLINE_MS / 1000
        )
    }

    /// Waits (at most a deadline) for the page's live link to be Live
    /// again; whether to try once more: it is (the call goes over it), or
    /// no link of the page will be (a log-out closed it for good, or the
    /// page has none: the call goes over `fetch`, at once).
    async fn live_again() -> bool {
        const STEP_MS: u32 = 100;
        // The failure was just reported: give the link a moment to stop
        // trusting the connection that failed before asking.
        timer(STEP_MS).await;
        for _ in 0..REQUEST_DEADLINE_MS / STEP_MS {
            if super::super::link::callable() || !super::super::link::coming_back() {
                return true;
            }
            timer(STEP_MS).await;
        }
        false
    }

    /// Resolves after `ms` milliseconds (the browser's `setTimeout`).
    async fn timer(ms: u32) {
        let promise = js_sys::Promise::new(&mut |resolve, _| {
            if let Some(window) = web_sys::window() {
                let _ = window
                    .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms as i32);
            }
        });
        let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
    }
}
