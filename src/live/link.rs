//! The browser side of the live link (browser only): one `Link` per live
//! page. Its rules (when to reconnect, fall back to Server-Sent Events,
//! probe, call the link dead, say Live) are the pure state machine in
//! `live::machine`, unit-tested on the host; this file only wires the
//! browser to it: each browser event (a frame, a close, the watchdog's
//! tick every second, a page-lifecycle event, a failed request) goes in as
//! an input, and what comes out ([`Do`]) is done here: sockets opened and
//! closed, the status shown, pings sent, retries timed.
//!
//! - A session page's connection asks for the side's `snapshot`; it is put
//!   in the page's view, and every event after it is applied to the view
//!   in place (`SessionView::apply`).
//! - The page's requests go over the Live WebSocket when there is one
//!   ([`call`], used by `live::client`): a `call` frame, answered on the
//!   same connection. A connection that closes cancels the calls it has
//!   not answered.
//! - Each connection owns its browser callbacks; they are freed when the
//!   connection is (on the next watchdog tick, never inside their own call).

use super::{
    machine::{Do, Env, Machine, Route},
    LinkStatus, TYPING_SHOWN_MS,
};
use crate::model::{
    live::{Answer, ClientFrame, Frame},
    state::Applied,
    SessionView, Side,
};
use futures::channel::oneshot;
use leptos::prelude::*;
use leptos_router::{hooks::use_navigate, NavigateOptions};
use send_wrapper::SendWrapper;
use std::{
    any::Any,
    cell::RefCell,
    rc::{Rc, Weak},
};
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use web_sys::{CloseEvent, EventSource, MessageEvent, WebSocket};

/// How often the watchdog runs.
const TICK_MS: i32 = 1_000;

type Navigate = Rc<dyn Fn(&str)>;
/// A page-lifecycle listener: (on the document rather than the window,
/// event name, callback).
type Listener = (bool, &'static str, Closure<dyn FnMut(web_sys::Event)>);

/// One WebSocket or EventSource and the callbacks it holds.
struct Conn {
    id: u32,
    socket: Option<WebSocket>,
    sse: Option<EventSource>,
    callbacks: Vec<Box<dyn Any>>,
    /// Calls sent on it, waiting for their answers.
    calls: Vec<(u64, oneshot::Sender<Answer>)>,
}

impl Conn {
    /// Detaches the callbacks and closes the transport. The callbacks stay
    /// alive until the `Conn` is dropped.
    fn close(&mut self) {
        // Their callers learn that no answer will come.
        self.calls.clear();
        if let Some(socket) = self.socket.take() {
            socket.set_onmessage(None);
            socket.set_onclose(None);
            let _ = socket.close();
        }
        if let Some(sse) = self.sse.take() {
            sse.set_onerror(None);
            sse.close();
        }
    }
}

/// What the page reads from the link.
pub(super) struct Outputs {
    pub status: WriteSignal<LinkStatus>,
    pub presence: WriteSignal<Option<(bool, bool)>>,
    pub changes: WriteSignal<u32>,
    pub last_update: WriteSignal<Option<f64>>,
    pub view: RwSignal<Option<SessionView>>,
    /// When the other side last typed (the server's `at`), for
    /// [`TYPING_SHOWN_MS`] after it arrived.
    pub typing: RwSignal<Option<i64>>,
}

struct Link {
    /// The session followed, or `None` for a dashboard (all the user's
    /// sessions, no replay).
    session_id: Option<i64>,
    side: Side,
    /// The rules and what they know.
    machine: Machine,
    /// The browser's side of the machine's open connections.
    conns: Vec<Conn>,
    /// Closed connections whose callbacks are freed on the next tick.
    retired: Vec<Conn>,
    next_call: u64,
    /// When this page last sent a `typing` frame (ms since the epoch).
    typing_sent: f64,
    retry_timer: Option<i32>,
    watchdog: Option<i32>,
    out: Outputs,
    navigate: Navigate,
}

type Shared = Rc<RefCell<Link>>;

mod outgoing;
pub(super) use outgoing::{call, callable, coming_back, typed};

thread_local! {
    /// The page's running links, oldest first: calls go over the newest
    /// Live one.
    static LINKS: RefCell<Vec<Weak<RefCell<Link>>>> = const { RefCell::new(Vec::new()) };
}

/// What the browser says now: the time, whether it is online, a random
/// number for the backoff.
fn env() -> Env {
    Env {
        now: js_sys::Date::now(),
        online: web_sys::window()
            .map(|w| w.navigator().on_line())
            .unwrap_or(true),
        random: js_sys::Math::random(),
    }
}

impl Link {
    /// Seq of the last event in the page's view (0: none yet).
    fn applied(&self) -> i64 {
        self.out
            .view
            .with_untracked(|v| v.as_ref().map_or(0, |v| v.summary.last_seq))
    }
}

/// Gives the machine one input (`f`, with [`env`]) and does what it says.
fn step(link: &Shared, f: impl FnOnce(&mut Machine, Env) -> Vec<Do>) {
    let doing = f(&mut link.borrow_mut().machine, env());
    run(link, doing);
}

/// Does what the machine said, in order.
fn run(link: &Shared, doing: Vec<Do>) {
    for what in doing {
        match what {
            Do::Open { id, sse } => open(link, id, sse),
            Do::Close(id) => {
                let mut l = link.borrow_mut();
                if let Some(at) = l.conns.iter().position(|c| c.id == id) {
                    let mut conn = l.conns.remove(at);
                    conn.close();
                    l.retired.push(conn);
                }
            }
            Do::Status(status) => link.borrow().out.status.set(status),
            Do::ForgetPresence => {
                let l = link.borrow();
                l.out.presence.set(None);
                l.out.typing.set(None);
            }
            Do::Refetch => link.borrow().out.changes.update(|n| *n += 1),
            Do::Ping { conn, id } => {
                let text = serde_json::to_string(&ClientFrame::Ping { id }).unwrap_or_default();
                let sent = link
                    .borrow()
                    .conns
                    .iter()
                    .find(|c| c.id == conn)
                    .and_then(|c| c.socket.as_ref())
                    .is_some_and(|socket| socket.send_with_str(&text).is_ok());
                if !sent {
                    step(link, Machine::ping_failed);
                }
            }
            Do::CancelRetry => cancel_retry(&mut link.borrow_mut()),
            Do::RetryIn(delay) => {
                let retry = {
                    let link = link.clone();
                    Closure::once_into_js(move || {
                        link.borrow_mut().retry_timer = None;
                        step(&link, Machine::connect);
                    })
                };
                let mut l = link.borrow_mut();
                cancel_retry(&mut l);
                l.retry_timer = web_sys::window().and_then(|window| {
                    window
                        .set_timeout_with_callback_and_timeout_and_arguments_0(
                            retry.unchecked_ref(),
                            delay as i32,
                        )
                        .ok()
                });
            }
        }
    }
}

fn cancel_retry(l: &mut Link) {
    if let (Some(timer), Some(window)) = (l.retry_timer.take(), web_sys::window()) {
        window.clear_timeout_with_handle(timer);
    }
}

/// Starts following the session; everything stops when the calling
/// component is cleaned up. `probes` asks for a probe each time it changes;
/// a request of the page that failed on the network (the window event
/// `live::REQUEST_FAILED_EVENT`) makes the link reconnect.
pub(super) fn start(session_id: Option<i64>, side: Side, probes: RwSignal<u32>, out: Outputs) {
    let navigate = use_navigate();
    let view = out.view;
    let link: Shared = Rc::new(RefCell::new(Link {
        session_id,
        side,
        machine: Machine::new(session_id.is_none(), js_sys::Date::now()),
        conns: Vec::new(),
        retired: Vec::new(),
        next_call: 0,
        typing_sent: 0.0,
        retry_timer: None,
        watchdog: None,
        out,
        navigate: Rc::new(move |path: &str| navigate(path, NavigateOptions::default())),
    }));
    // Connect once the page has its first data (a page that cannot show
    // the session, say someone else's, never opens a live connection).
    let starting = link.clone();
    Effect::new(move |started: Option<bool>| {
        let ready = session_id.is_none() || view.with(Option::is_some);
        if ready && started != Some(true) {
            step(&starting, Machine::connect);
        }
        ready || started == Some(true)
    });
    let probing = link.clone();
    Effect::new(move |previous: Option<u32>| {
        let n = probes.get();
        if previous.is_some_and(|p| p != n) {
            step(&probing, Machine::probe_requested);
        }
        n
    });
    let Some(window) = web_sys::window() else {
        return;
    };
    let tick = {
        let link = link.clone();
        Closure::<dyn FnMut()>::new(move || {
            link.borrow_mut().retired.clear();
            step(&link, Machine::tick);
        })
    };
    link.borrow_mut().watchdog = window
        .set_interval_with_callback_and_timeout_and_arguments_0(
            tick.as_ref().unchecked_ref(),
            TICK_MS,
        )
        .ok();
    let callback = |f: fn(&mut Machine, Env) -> Vec<Do>| {
        let link = link.clone();
        Closure::<dyn FnMut(web_sys::Event)>::new(move |_: web_sys::Event| step(&link, f))
    };
    let visibility = {
        let link = link.clone();
        Closure::<dyn FnMut(web_sys::Event)>::new(move |_: web_sys::Event| {
            let visible = web_sys::window()
                .and_then(|w| w.document())
                .is_some_and(|d| d.visibility_state() == web_sys::VisibilityState::Visible);
            step(
                &link,
                if visible {
                    Machine::wake
                } else {
                    Machine::went_away
                },
            );
        })
    };
    // (target is the window unless noted, event, what it means)
    let listeners: Vec<Listener> = vec![
        (false, "online", callback(Machine::wake)),
        (false, "offline", callback(Machine::offline)),
        (false, "pageshow", callback(Machine::wake)),
        (false, "pagehide", callback(Machine::went_away)),
        (true, "visibilitychange", visibility),
        (true, "freeze", callback(Machine::went_away)),
        (true, "resume", callback(Machine::wake)),
        (
            false,
            super::REQUEST_FAILED_EVENT,
            callback(Machine::request_failed),
        ),
    ];
    for_each_listener(&listeners, |target, name, f| {
        let _ = target.add_event_listener_with_callback(name, f);
    });
    LINKS.with(|links| links.borrow_mut().push(Rc::downgrade(&link)));
    let guard = SendWrapper::new((link, listeners, tick));
    on_cleanup(move || {
        let (link, listeners, tick) = guard.take();
        for_each_listener(&listeners, |target, name, f| {
            let _ = target.remove_event_listener_with_callback(name, f);
        });
        stop(&link);
        // The listeners and the watchdog callback are dropped here, after
        // being removed; the connections' callbacks right after this call.
        drop((listeners, tick));
    });
}

/// Calls `f` with each listener's target (window or document), event name
/// and callback.
fn for_each_listener(
    listeners: &[Listener],
    mut f: impl FnMut(&web_sys::EventTarget, &str, &js_sys::Function),
) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let document = window.document();
    for (on_document, name, callback) in listeners {
        let target: Option<&web_sys::EventTarget> = if *on_document {
            document.as_ref().map(|d| d.as_ref())
        } else {
            Some(window.as_ref())
        };
        if let Some(target) = target {
            f(target, name, callback.as_ref().unchecked_ref());
        }
    }
}

fn stop(link: &Shared) {
    LINKS.with(|links| {
        links
            .borrow_mut()
            .retain(|l| l.upgrade().is_some_and(|l| !Rc::ptr_eq(&l, link)))
    });
    step(link, |m, _| m.stop());
    let window = web_sys::window();
    if let (Some(timer), Some(window)) = (link.borrow_mut().watchdog.take(), &window) {
        window.clear_interval_with_handle(timer);
    }
    // Free the connections' callbacks (they hold the link: a cycle) once
    // whatever callback led here has returned.
    let link = link.clone();
    let free = Closure::once_into_js(move || link.borrow_mut().retired.clear());
    if let Some(window) = window {
        let _ =
            window.set_timeout_with_callback_and_timeout_and_arguments_0(free.unchecked_ref(), 0);
    }
}

/// Opens connection `id`: Server-Sent Events if `sse`, else a WebSocket;
/// it resumes after the last event in the page's view.
fn open(link: &Shared, id: u32, sse: bool) {
    let (session_id, since) = {
        let l = link.borrow();
        (l.session_id, l.applied())
    };
    let Some(location) = web_sys::window().map(|w| w.location()) else {
        return;
    };
    let mut conn = Conn {
        id,
        socket: None,
        sse: None,
        callbacks: Vec::new(),
        calls: Vec::new(),
    };
    let on_message = message_handler(link, id);
    if let (true, Some(session_id)) = (sse, session_id) {
        let url = format!("/api/sessions/{session_id}/events?since={since}&snapshot=1");
        let Ok(sse) = EventSource::new(&url) else {
            return step(link, |m, env| m.open_failed(env, id));
        };
        for kind in [
            "hello",
            "snapshot",
            "event",
            "reset",
            "presence",
            "typing",
            "heartbeat",
            "pong",
        ] {
            let _ = sse.add_event_listener_with_callback(kind, on_message.as_ref().unchecked_ref());
        }
        let on_error = {
            let link = link.clone();
            Closure::<dyn FnMut()>::new(move || step(&link, |m, env| m.closed(env, id, None)))
        };
        sse.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        conn.sse = Some(sse);
        conn.callbacks.push(Box::new(on_error));
    } else {
        let host = location.host().unwrap_or_default();
        let secure = location.protocol().map(|p| p == "https:").unwrap_or(false);
        let path = match session_id {
            Some(id) => format!("/api/sessions/{id}/live?since={since}&snapshot=1"),
            None => "/api/live".to_string(),
        };
        let url = format!("{}//{host}{path}", if secure { "wss:" } else { "ws:" });
        let Ok(socket) = WebSocket::new(&url) else {
            return step(link, |m, env| m.open_failed(env, id));
        };
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        let on_close = {
            let link = link.clone();
            Closure::<dyn FnMut(CloseEvent)>::new(move |event: CloseEvent| {
                let code = event.code();
                step(&link, |m, env| m.closed(env, id, Some(code)))
            })
        };
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        conn.socket = Some(socket);
        conn.callbacks.push(Box::new(on_close));
    }
    conn.callbacks.push(Box::new(on_message));
    link.borrow_mut().conns.push(conn);
}

fn message_handler(link: &Shared, conn: u32) -> Closure<dyn FnMut(MessageEvent)> {
    let link = link.clone();
    Closure::<dyn FnMut(MessageEvent)>::new(move |message: MessageEvent| {
        let data: JsValue = message.data();
        let Some(text) = data.as_string() else {
            return;
        };
        {
            // Any frame is proof of life for the connection it came on.
            let env = env();
            let mut l = link.borrow_mut();
            if l.machine.heard(env, conn) {
                l.out.last_update.set(Some(env.now));
            }
        }
        let Ok(frame) = serde_json::from_str::<Frame>(&text) else {
            return;
        };
        received(&link, conn, frame);
    })
}

/// A frame on connection `conn`.
fn received(link: &Shared, conn: u32, frame: Frame) {
    match frame {
        Frame::Hello { heartbeat_ms, .. } => step(link, |m, env| m.hello(env, conn, heartbeat_ms)),
        Frame::Snapshot { view, .. } => {
            {
                let l = link.borrow();
                if !l.machine.is_live_conn(conn) || l.session_id != Some(view.summary.id) {
                    return;
                }
                let view = *view;
                // An equal snapshot (a reconnect that missed nothing)
                // changes nothing on the page but the server's clock, which
                // corrects what counts from it (a rest, after a page that
                // loaded slowly showed the clock its HTML was made with).
                let (same, newer_clock) = l.out.view.with_untracked(|v| {
                    let now = v.as_ref().map_or(0, |v| v.now);
                    (
                        v.as_ref().is_some_and(|v| same_state(v, &view)),
                        view.now > now,
                    )
                });
                if !same {
                    l.out.view.set(Some(view));
                } else if newer_clock {
                    l.out.view.update(|v| {
                        if let Some(v) = v {
                            v.now = view.now;
                        }
                    });
                }
            }
            step(link, |m, _| m.snapshot_taken());
        }
        Frame::Heartbeat { last_seq, .. } => {
            let applied = link.borrow().applied();
            step(link, |m, env| m.heartbeat(env, conn, last_seq, applied));
        }
        Frame::Answer(answer) => {
            let mut l = link.borrow_mut();
            let Some(conn) = l.conns.iter_mut().find(|c| c.id == conn) else {
                return;
            };
            if let Some(at) = conn.calls.iter().position(|(id, _)| *id == answer.id) {
                let (_, waiting) = conn.calls.swap_remove(at);
                let _ = waiting.send(answer);
            }
        }
        Frame::Pong { id, .. } => link.borrow_mut().machine.pong(id),
        Frame::Presence {
            athlete, trainer, ..
        } => {
            let l = link.borrow();
            if l.machine.is_live_conn(conn) {
                l.out.presence.set(Some((athlete, trainer)));
                // Never "typing…" about someone whose link is down.
                let other_here = match l.side {
                    Side::Athlete => trainer,
                    Side::Trainer => athlete,
                };
                if !other_here {
                    l.out.typing.set(None);
                }
            }
        }
        Frame::Typing { by, at, .. } => {
            let l = link.borrow();
            if by == l.side || !l.machine.is_live_conn(conn) {
                return;
            }
            l.out.typing.set(Some(at));
            // Gone a while after the last one, unless another came.
            let typing = l.out.typing;
            // (The page may be gone by then: its signal with it.)
            let clear = Closure::once_into_js(move || {
                if typing.try_get_untracked() == Some(Some(at)) {
                    typing.try_set(None);
                }
            });
            if let Some(window) = web_sys::window() {
                let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(
                    clear.unchecked_ref(),
                    TYPING_SHOWN_MS as i32,
                );
            }
        }
        // Dashboards: events may have been missed; refetch the lists. (A
        // session page's connection starts with a snapshot and never gets
        // one.)
        Frame::Reset { .. } => run(link, vec![Do::Refetch]),
        Frame::Event(event) => {
            let l = link.borrow();
            match (l.machine.route(conn), l.session_id) {
                (Route::Apply, Some(session_id)) => {
                    let mut applied = Applied::Stale;
                    l.out.view.maybe_update(|view| {
                        if let Some(view) = view {
                            applied = view.apply(&event);
                        }
                        applied == Applied::Changed
                    });
                    if applied != Applied::Changed {
                        return;
                    }
                    if let Some((by, _)) = event.event.cancel_notice() {
                        if by != l.side {
                            // The dashboard shows who cancelled and why from
                            // the stored session, never from the address
                            // (which anyone could write).
                            let path = format!("/dashboard?cancelled={session_id}");
                            let navigate = l.navigate.clone();
                            drop(l);
                            navigate(&path);
                        }
                    }
                }
                (Route::Refetch, _) => {
                    drop(l);
                    run(link, vec![Do::Refetch]);
                }
                _ => {}
            }
        }
    }
}

/// Two views of the same state: equal but for the server's clock reading.
fn same_state(a: &SessionView, b: &SessionView) -> bool {
    a.summary == b.summary
        && a.viewer == b.viewer
        && a.rounds == b.rounds
        && a.pain == b.pain
        && a.messages == b.messages
        && a.reads == b.reads
}
