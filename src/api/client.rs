//! How the browser calls every server function: the browser's `fetch`
//! (Leptos's `BrowserClient`), with a deadline. A request on a dead network
//! path has no deadline of its own (the pooled connection it went out on
//! looks open for minutes); this one gives up after
//! [`REQUEST_DEADLINE_MS`], which aborts the fetch (so that connection is
//! not used again), and tells the page's live link: a request that failed
//! on the network makes the link suspect (it stops saying Live and opens a
//! fresh connection, see `live::link`). On the server it is never used to
//! send anything.

use leptos::server_fn::{
    client::{browser::BrowserClient, Client},
    error::FromServerFnError,
    request::browser::BrowserRequest,
    response::browser::BrowserResponse,
};
use std::future::Future;

/// How long any request of a page may take.
pub const REQUEST_DEADLINE_MS: u32 = 8_000;

/// The window event a request that failed on the network fires (the live
/// link listens for it).
pub const REQUEST_FAILED_EVENT: &str = "spotter-request-failed";

/// [`BrowserClient`] with a deadline; `#[server(client = Deadline)]`.
pub struct Deadline;

impl<E, I, O> Client<E, I, O> for Deadline
where
    E: FromServerFnError,
    I: FromServerFnError,
    O: FromServerFnError,
{
    type Request = BrowserRequest;
    type Response = BrowserResponse;

    fn send(req: Self::Request) -> impl Future<Output = Result<Self::Response, E>> + Send {
        #[cfg(feature = "hydrate")]
        {
            use futures::future::{select, Either};
            let send = <BrowserClient as Client<E, I, O>>::send(req);
            send_wrapper::SendWrapper::new(async move {
                let answer =
                    match select(Box::pin(send), Box::pin(timer(REQUEST_DEADLINE_MS))).await {
                        Either::Left((answer, _)) => answer,
                        // Dropping the request aborts its fetch.
                        Either::Right(((), _)) => Err(E::from_server_fn_error(
                            leptos::server_fn::error::ServerFnErrorErr::Request(format!(
                                "No answer within {} s: check your connection and try again",
                                REQUEST_DEADLINE_MS / 1000
                            )),
                        )),
                    };
                if answer.is_err() {
                    // A refusal is an answer (`Ok` here, decoded later);
                    // an `Err` is the network's.
                    request_failed();
                }
                answer
            })
        }
        #[cfg(not(feature = "hydrate"))]
        <BrowserClient as Client<E, I, O>>::send(req)
    }

    fn open_websocket(
        path: &str,
    ) -> impl Future<
        Output = Result<
            (
                impl futures::Stream<
                        Item = Result<leptos::server_fn::Bytes, leptos::server_fn::Bytes>,
                    > + Send
                    + 'static,
                impl futures::Sink<leptos::server_fn::Bytes> + Send + 'static,
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

/// Tells the page's live link that a request failed on the network.
pub fn request_failed() {
    #[cfg(feature = "hydrate")]
    if let (Some(window), Ok(event)) =
        (web_sys::window(), web_sys::Event::new(REQUEST_FAILED_EVENT))
    {
        let _ = window.dispatch_event(&event);
    }
}

/// Resolves after `ms` milliseconds (the browser's `setTimeout`).
#[cfg(feature = "hydrate")]
async fn timer(ms: u32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ =
                window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms as i32);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}
