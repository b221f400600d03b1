//! The connection state machine (browser only). One `Link` per live page:
//! WebSocket first; after [`WEBSOCKET_TRIES_BEFORE_SSE`] failures in a row,
//! Server-Sent Events; reconnects with [`backoff_ms`], at once when the
//! browser comes back online or the page becomes visible again.

use super::{affects, backoff_ms, cancel_notice, LinkStatus, WEBSOCKET_TRIES_BEFORE_SSE};
use crate::model::{
    live::{Frame, CLOSE_FORBIDDEN, CLOSE_NOT_FOUND, CLOSE_UNAUTHORIZED},
    Side,
};
use leptos::prelude::*;
use leptos_router::{hooks::use_navigate, NavigateOptions};
use send_wrapper::SendWrapper;
use std::{cell::RefCell, rc::Rc};
use wasm_bindgen::{closure::Closure, JsCast};
use web_sys::{CloseEvent, EventSource, MessageEvent, WebSocket};

type Navigate = Rc<dyn Fn(&str)>;

struct Link {
    /// The session followed, or `None` for a dashboard (all the user's
    /// sessions, no replay).
    session_id: Option<i64>,
    side: Side,
    /// Seq of the last event applied (or seen in fetched data).
    last_seq: Option<i64>,
    failures: u32,
    socket: Option<WebSocket>,
    sse: Option<EventSource>,
    timer: Option<i32>,
    stopped: bool,
    set_status: WriteSignal<LinkStatus>,
    set_presence: WriteSignal<Option<(bool, bool)>>,
    set_changes: WriteSignal<u32>,
    navigate: Navigate,
    /// Closures handed to the browser; kept alive while the link lives.
    handlers: Vec<Box<dyn std::any::Any>>,
}

type Shared = Rc<RefCell<Link>>;

/// Starts following the session; everything stops when the calling
/// component is cleaned up.
pub(super) fn start(
    session_id: Option<i64>,
    side: Side,
    known: RwSignal<Option<i64>>,
    set_status: WriteSignal<LinkStatus>,
    set_presence: WriteSignal<Option<(bool, bool)>>,
    set_changes: WriteSignal<u32>,
) {
    let navigate = use_navigate();
    let link: Shared = Rc::new(RefCell::new(Link {
        session_id,
        side,
        last_seq: None,
        failures: 0,
        socket: None,
        sse: None,
        timer: None,
        stopped: false,
        set_status,
        set_presence,
        set_changes,
        navigate: Rc::new(move |path: &str| navigate(path, NavigateOptions::default())),
        handlers: Vec::new(),
    }));
    // Connect once the page knows which seq its data reflects; later
    // refetches move it forward.
    let watched = link.clone();
    Effect::new(move |_| {
        if let Some(seq) = known.get() {
            let first = {
                let mut l = watched.borrow_mut();
                let first = l.last_seq.is_none();
                l.last_seq = Some(l.last_seq.unwrap_or(seq).max(seq));
                first
            };
            if first {
                connect(&watched);
            }
        }
    });
    if let Some(window) = web_sys::window() {
        let on_online = {
            let link = link.clone();
            Closure::<dyn FnMut()>::new(move || reconnect_now(&link))
        };
        let on_offline = {
            let link = link.clone();
            Closure::<dyn FnMut()>::new(move || go_offline(&link))
        };
        let on_visible = {
            let link = link.clone();
            Closure::<dyn FnMut()>::new(move || {
                let visible = web_sys::window()
                    .and_then(|w| w.document())
                    .is_some_and(|d| d.visibility_state() == web_sys::VisibilityState::Visible);
                if visible {
                    reconnect_now(&link);
                }
            })
        };
        let _ =
            window.add_event_listener_with_callback("online", on_online.as_ref().unchecked_ref());
        let _ =
            window.add_event_listener_with_callback("offline", on_offline.as_ref().unchecked_ref());
        if let Some(document) = window.document() {
            let _ = document.add_event_listener_with_callback(
                "visibilitychange",
                on_visible.as_ref().unchecked_ref(),
            );
        }
        let guard = SendWrapper::new((link.clone(), on_online, on_offline, on_visible));
        on_cleanup(move || {
            let (link, on_online, on_offline, on_visible) = guard.take();
            if let Some(window) = web_sys::window() {
                let _ = window.remove_event_listener_with_callback(
                    "online",
                    on_online.as_ref().unchecked_ref(),
                );
                let _ = window.remove_event_listener_with_callback(
                    "offline",
                    on_offline.as_ref().unchecked_ref(),
                );
                if let Some(document) = window.document() {
                    let _ = document.remove_event_listener_with_callback(
                        "visibilitychange",
                        on_visible.as_ref().unchecked_ref(),
                    );
                }
            }
            stop(&link);
        });
    }
}

fn stop(link: &Shared) {
    let mut l = link.borrow_mut();
    l.stopped = true;
    close_transport(&mut l);
    if let (Some(timer), Some(window)) = (l.timer.take(), web_sys::window()) {
        window.clear_timeout_with_handle(timer);
    }
    l.handlers.clear();
}

fn close_transport(l: &mut Link) {
    if let Some(socket) = l.socket.take() {
        socket.set_onmessage(None);
        socket.set_onclose(None);
        let _ = socket.close();
    }
    if let Some(sse) = l.sse.take() {
        sse.set_onmessage(None);
        sse.set_onerror(None);
        sse.close();
    }
}

/// The browser says it lost the network: drop the connection (it may look
/// open for minutes while nothing flows) and wait for `online`.
fn go_offline(link: &Shared) {
    let mut l = link.borrow_mut();
    close_transport(&mut l);
    if let (Some(timer), Some(window)) = (l.timer.take(), web_sys::window()) {
        window.clear_timeout_with_handle(timer);
    }
    l.set_status.set(LinkStatus::Offline);
    // Who is connected is unknown until the link is back.
    l.set_presence.set(None);
}

/// The browser is back (online, or the tab visible again): skip the wait.
fn reconnect_now(link: &Shared) {
    let waiting = {
        let mut l = link.borrow_mut();
        if l.stopped || l.last_seq.is_none() || l.socket.is_some() || l.sse.is_some() {
            false
        } else {
            if let (Some(timer), Some(window)) = (l.timer.take(), web_sys::window()) {
                window.clear_timeout_with_handle(timer);
            }
            true
        }
    };
    if waiting {
        connect(link);
    }
}

fn connect(link: &Shared) {
    let (session_id, since, use_sse) = {
        let l = link.borrow();
        if l.stopped {
            return;
        }
        let sse = l.session_id.is_some() && l.failures >= WEBSOCKET_TRIES_BEFORE_SSE;
        (l.session_id, l.last_seq.unwrap_or(0), sse)
    };
    let Some(location) = web_sys::window().map(|w| w.location()) else {
        return;
    };
    let host = location.host().unwrap_or_default();
    let secure = location.protocol().map(|p| p == "https:").unwrap_or(false);
    let path = match session_id {
        Some(id) => format!("/api/sessions/{id}/live?since={since}"),
        None => "/api/live".to_string(),
    };
    if let (true, Some(session_id)) = (use_sse, session_id) {
        let url = format!("/api/sessions/{session_id}/events?since={since}");
        let Ok(sse) = EventSource::new(&url) else {
            return schedule_retry(link);
        };
        let on_message = message_handler(link);
        for kind in ["hello", "event", "reset", "presence"] {
            let _ = sse.add_event_listener_with_callback(kind, on_message.as_ref().unchecked_ref());
        }
        let on_error = {
            let link = link.clone();
            Closure::<dyn FnMut()>::new(move || {
                // EventSource retries on its own with the same URL; we want
                // our `since`, so close it and retry ourselves.
                if let Some(sse) = link.borrow_mut().sse.take() {
                    sse.close();
                }
                schedule_retry(&link);
            })
        };
        sse.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        let mut l = link.borrow_mut();
        l.sse = Some(sse);
        l.handlers.push(Box::new(on_message));
        l.handlers.push(Box::new(on_error));
        return;
    }
    let url = format!("{}//{host}{path}", if secure { "wss:" } else { "ws:" });
    let Ok(socket) = WebSocket::new(&url) else {
        return schedule_retry(link);
    };
    let on_message = message_handler(link);
    socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    let on_close = {
        let link = link.clone();
        Closure::<dyn FnMut(CloseEvent)>::new(move |event: CloseEvent| {
            link.borrow_mut().socket = None;
            if matches!(
                event.code(),
                CLOSE_UNAUTHORIZED | CLOSE_FORBIDDEN | CLOSE_NOT_FOUND
            ) {
                link.borrow().set_status.set(LinkStatus::Offline);
                return;
            }
            schedule_retry(&link);
        })
    };
    socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    let mut l = link.borrow_mut();
    l.socket = Some(socket);
    l.handlers.push(Box::new(on_message));
    l.handlers.push(Box::new(on_close));
}

fn schedule_retry(link: &Shared) {
    let mut l = link.borrow_mut();
    if l.stopped {
        return;
    }
    l.failures += 1;
    l.set_presence.set(None);
    let online = web_sys::window()
        .map(|w| w.navigator().on_line())
        .unwrap_or(true);
    l.set_status.set(if online {
        LinkStatus::Reconnecting(l.failures)
    } else {
        LinkStatus::Offline
    });
    let delay = backoff_ms(l.failures - 1, js_sys::Math::random());
    let retry = {
        let link = link.clone();
        Closure::once_into_js(move || {
            link.borrow_mut().timer = None;
            connect(&link);
        })
    };
    if let Some(window) = web_sys::window() {
        l.timer = window
            .set_timeout_with_callback_and_timeout_and_arguments_0(
                retry.unchecked_ref(),
                delay as i32,
            )
            .ok();
    }
}

fn message_handler(link: &Shared) -> Closure<dyn FnMut(MessageEvent)> {
    let link = link.clone();
    Closure::<dyn FnMut(MessageEvent)>::new(move |message: MessageEvent| {
        let Some(text) = message.data().as_string() else {
            return;
        };
        let Ok(frame) = serde_json::from_str::<Frame>(&text) else {
            return;
        };
        apply(&link, frame);
    })
}

fn apply(link: &Shared, frame: Frame) {
    let mut l = link.borrow_mut();
    match frame {
        Frame::Hello { .. } => {
            l.failures = 0;
            l.set_status.set(LinkStatus::Live);
        }
        Frame::Presence {
            athlete, trainer, ..
        } => l.set_presence.set(Some((athlete, trainer))),
        Frame::Reset { last_seq } => {
            l.last_seq = Some(last_seq);
            l.set_changes.update(|n| *n += 1);
        }
        Frame::Event(event) => {
            let Some(session_id) = l.session_id else {
                // A dashboard: any change to one of the user's sessions.
                l.set_changes.update(|n| *n += 1);
                return;
            };
            if l.last_seq.is_some_and(|seen| event.seq <= seen) {
                return;
            }
            l.last_seq = Some(event.seq);
            if let Some((by, reason)) = cancel_notice(&event) {
                if by != l.side.as_str() {
                    let mut path = format!("/dashboard?cancelled={session_id}&by={by}");
                    if let Some(reason) = reason {
                        path.push_str("&reason=");
                        path.push_str(&String::from(js_sys::encode_uri_component(&reason)));
                    }
                    let navigate = l.navigate.clone();
                    drop(l);
                    navigate(&path);
                    return;
                }
            }
            if affects(&event, l.side) {
                l.set_changes.update(|n| *n += 1);
            }
        }
    }
}
