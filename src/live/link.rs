//! The connection state machine (browser only). One `Link` per live page.
//!
//! - WebSocket first; after [`WEBSOCKET_TRIES_BEFORE_SSE`] failures in a
//!   row, Server-Sent Events; reconnects with [`backoff_ms`]. A link Live
//!   on SSE tries a WebSocket again beside it (at once, then every
//!   [`WEBSOCKET_TRIAL_EVERY_MS`]): the failures may have been an outage
//!   rather than a proxy that breaks WebSockets, and only a WebSocket
//!   carries the page's calls.
//! - A link is Live only while frames keep coming: the server sends a
//!   heartbeat every `heartbeat_ms` (from `hello`), and a watchdog that runs
//!   every second calls the link dead after [`dead_after_ms`] of silence,
//!   closes it and resumes on a new connection with `since`. (A dead network
//!   path sends no FIN or RST; the socket would look open for minutes.)
//! - Waking up (page visible again, `pageshow`, `resume` after a freeze,
//!   `online`) after more than [`AWAY_MS`] never trusts the old socket: a
//!   fresh connection opens at once and the old one is dropped when the new
//!   `hello` arrives. After a shorter gap, and on request (before the
//!   athlete submits), the link is probed: a `ping` frame that must be
//!   answered within [`PROBE_MS`], or the link is replaced.
//! - A session page's connection asks for the side's `snapshot`; the link
//!   is Live only once that snapshot is in the page's view, and every event
//!   after it is applied to the view in place (`SessionView::apply`). A
//!   heartbeat saying the server is further than the view, a failed probe
//!   or a request of the page that failed on the network (any server
//!   function or outbox send: `live::client`) ends Live at once and opens a
//!   fresh connection, whose snapshot makes the view current again.
//! - The page's requests go over the Live WebSocket when there is one
//!   ([`call`], used by `live::client`): a `call` frame, answered on the
//!   same connection. A connection that closes cancels the calls it has
//!   not answered.
//! - Each connection owns its browser callbacks; they are freed when the
//!   connection is (on the next watchdog tick, never inside their own call).

use super::{backoff_ms, LinkStatus, WEBSOCKET_TRIES_BEFORE_SSE};
use crate::model::{
    live::{
        dead_after_ms, Answer, ClientFrame, Frame, CLOSE_FORBIDDEN, CLOSE_NOT_FOUND,
        CLOSE_UNAUTHORIZED,
    },
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

/// A page away (hidden, frozen, offline) longer than this gets a fresh
/// connection when it comes back; a shorter gap gets a probe.
pub const AWAY_MS: f64 = 3_000.0;
/// How long a probe waits for its `pong`.
pub const PROBE_MS: f64 = 1_000.0;
/// How often the watchdog runs.
const TICK_MS: i32 = 1_000;
/// How long a new connection may take to say `hello`.
const OPENING_MS: f64 = 10_000.0;
/// The shortest time between two reconnects for failed requests.
const STALL_PAUSE_MS: f64 = 5_000.0;
/// How often a link on Server-Sent Events tries a WebSocket again (the
/// first try right after the SSE connection is Live).
const WEBSOCKET_TRIAL_EVERY_MS: f64 = 30_000.0;

fn out_view(link: &Shared) -> RwSignal<Option<SessionView>> {
    link.borrow().out.view
}

type Navigate = Rc<dyn Fn(&str)>;
/// A page-lifecycle listener: (on the document rather than the window,
/// event name, callback).
type Listener = (bool, &'static str, Closure<dyn FnMut(web_sys::Event)>);

/// One WebSocket or EventSource and the callbacks it holds.
struct Conn {
    id: u32,
    /// When it was opened (ms since the epoch): one that has not said
    /// `hello` within [`OPENING_MS`] (a handshake on a dead path hangs
    /// without an error) counts as failed.
    opened_at: f64,
    socket: Option<WebSocket>,
    sse: Option<EventSource>,
    callbacks: Vec<Box<dyn Any>>,
    /// A WebSocket tried while the link is Live on SSE: it replaces the
    /// SSE connection if it says hello, and goes quietly if it fails.
    trial: bool,
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
}

struct Link {
    /// The session followed, or `None` for a dashboard (all the user's
    /// sessions, no replay).
    session_id: Option<i64>,
    side: Side,
    /// Connection attempts that failed in a row.
    failures: u32,
    /// Open or opening connections, oldest first. Usually one; two while a
    /// fresh one replaces an old one after a wake-up.
    conns: Vec<Conn>,
    /// Closed connections whose callbacks are freed on the next tick.
    retired: Vec<Conn>,
    next_conn: u32,
    /// The connection whose `hello` was the newest; the link is Live once
    /// its snapshot is in the view (session pages) or at once (dashboards).
    live_conn: Option<u32>,
    /// Heartbeat interval the server announced.
    heartbeat_ms: u64,
    /// When the live connection last delivered a frame (ms since epoch).
    last_heard: f64,
    /// When the watchdog last ran: a long gap means the page was frozen.
    last_tick: f64,
    /// When a failed request last made the link reconnect.
    last_stall: f64,
    /// When a WebSocket was last tried while on SSE.
    last_trial: f64,
    /// When the page was hidden or frozen, if it is.
    away_since: Option<f64>,
    /// A `ping` waiting for its `pong`: (id, deadline).
    probe: Option<(u64, f64)>,
    next_ping: u64,
    next_call: u64,
    /// Live: the newest connection said hello and (session pages) its
    /// snapshot is in the view.
    current: bool,
    /// Hellos received (a dashboard refetches after every reconnect).
    hellos: u32,
    retry_timer: Option<i32>,
    watchdog: Option<i32>,
    stopped: bool,
    out: Outputs,
    navigate: Navigate,
}

type Shared = Rc<RefCell<Link>>;

thread_local! {
    /// The page's running links, oldest first: calls go over the newest
    /// Live one.
    static LINKS: RefCell<Vec<Weak<RefCell<Link>>>> = const { RefCell::new(Vec::new()) };
}

/// Sends `POST path` with form `body` as a `call` frame over the page's
/// Live WebSocket, if it has one: the receiver gets the answer, or is
/// cancelled when that connection closes first. `None`: no Live
/// WebSocket (not connected, not current yet, or on SSE).
pub(super) fn call(path: &str, body: &str) -> Option<oneshot::Receiver<Answer>> {
    newest_live(|l| {
        let live = l.live_conn;
        let id = l.next_call;
        let conn = l.conns.iter_mut().find(|c| Some(c.id) == live)?;
        let text = serde_json::to_string(&ClientFrame::Call {
            id,
            path: path.into(),
            body: body.into(),
        })
        .ok()?;
        conn.socket.as_ref()?.send_with_str(&text).ok()?;
        let (answer, waiting) = oneshot::channel();
        conn.calls.push((id, answer));
        l.next_call += 1;
        Some(waiting)
    })
}

/// Whether [`call`] would go over a live connection now.
pub(super) fn callable() -> bool {
    newest_live(|l| {
        let live = l.live_conn;
        l.conns
            .iter()
            .any(|c| Some(c.id) == live && c.socket.is_some())
            .then_some(())
    })
    .is_some()
}

/// `f` on the newest running link that is Live, until it gives `Some`.
fn newest_live<T>(mut f: impl FnMut(&mut Link) -> Option<T>) -> Option<T> {
    let links: Vec<Shared> = LINKS.with(|links| {
        let mut links = links.borrow_mut();
        links.retain(|l| l.strong_count() > 0);
        links.iter().rev().filter_map(Weak::upgrade).collect()
    });
    links.iter().find_map(|link| {
        let mut l = link.try_borrow_mut().ok()?;
        (l.current && !l.stopped).then(|| f(&mut l)).flatten()
    })
}

fn now() -> f64 {
    js_sys::Date::now()
}

impl Link {
    /// Seq of the last event in the page's view (0: none yet).
    fn applied(&self) -> i64 {
        self.out
            .view
            .with_untracked(|v| v.as_ref().map_or(0, |v| v.summary.last_seq))
    }
}

/// Starts following the session; everything stops when the calling
/// component is cleaned up. `probes` asks for a probe each time it changes;
/// a request of the page that failed on the network (the window event
/// `live::REQUEST_FAILED_EVENT`) makes the link reconnect.
pub(super) fn start(session_id: Option<i64>, side: Side, probes: RwSignal<u32>, out: Outputs) {
    let navigate = use_navigate();
    let link: Shared = Rc::new(RefCell::new(Link {
        session_id,
        side,
        failures: 0,
        conns: Vec::new(),
        retired: Vec::new(),
        next_conn: 0,
        live_conn: None,
        heartbeat_ms: 0,
        last_heard: now(),
        last_tick: now(),
        last_stall: f64::NEG_INFINITY,
        last_trial: f64::NEG_INFINITY,
        away_since: None,
        probe: None,
        next_ping: 0,
        next_call: 0,
        current: false,
        hellos: 0,
        retry_timer: None,
        watchdog: None,
        stopped: false,
        out,
        navigate: Rc::new(move |path: &str| navigate(path, NavigateOptions::default())),
    }));
    // Connect once the page has its first data (a page that cannot show
    // the session, say someone else's, never opens a live connection).
    let starting = link.clone();
    let view = out_view(&link);
    Effect::new(move |started: Option<bool>| {
        let ready = starting.borrow().session_id.is_none() || view.with(Option::is_some);
        if ready && started != Some(true) {
            connect(&starting);
        }
        ready || started == Some(true)
    });
    let probing = link.clone();
    Effect::new(move |previous: Option<u32>| {
        let n = probes.get();
        if previous.is_some_and(|p| p != n) {
            probe(&probing);
        }
        n
    });
    let Some(window) = web_sys::window() else {
        return;
    };
    let tick = {
        let link = link.clone();
        Closure::<dyn FnMut()>::new(move || watchdog(&link))
    };
    link.borrow_mut().watchdog = window
        .set_interval_with_callback_and_timeout_and_arguments_0(
            tick.as_ref().unchecked_ref(),
            TICK_MS,
        )
        .ok();
    let callback = |f: fn(&Shared, &web_sys::Event)| {
        let link = link.clone();
        Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| f(&link, &e))
    };
    // (target is the window unless noted, event, what it means)
    let listeners: Vec<Listener> = vec![
        (false, "online", callback(|l, _| wake(l))),
        (false, "offline", callback(|l, _| go_offline(l))),
        (false, "pageshow", callback(|l, _| wake(l))),
        (false, "pagehide", callback(|l, _| went_away(l))),
        (
            true,
            "visibilitychange",
            callback(|l, _| visibility_changed(l)),
        ),
        (true, "freeze", callback(|l, _| went_away(l))),
        (true, "resume", callback(|l, _| wake(l))),
        (
            false,
            super::REQUEST_FAILED_EVENT,
            callback(|l, _| stall(l)),
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
    let mut l = link.borrow_mut();
    l.stopped = true;
    retire_all(&mut l);
    let window = web_sys::window();
    if let Some(window) = &window {
        if let Some(timer) = l.retry_timer.take() {
            window.clear_timeout_with_handle(timer);
        }
        if let Some(timer) = l.watchdog.take() {
            window.clear_interval_with_handle(timer);
        }
    }
    drop(l);
    // Free the connections' callbacks (they hold the link: a cycle) once
    // whatever callback led here has returned.
    let link = link.clone();
    let free = Closure::once_into_js(move || link.borrow_mut().retired.clear());
    if let Some(window) = window {
        let _ =
            window.set_timeout_with_callback_and_timeout_and_arguments_0(free.unchecked_ref(), 0);
    }
}

/// Closes every connection; the link is no longer Live.
fn retire_all(l: &mut Link) {
    for mut conn in std::mem::take(&mut l.conns) {
        conn.close();
        l.retired.push(conn);
    }
    l.live_conn = None;
    l.probe = None;
}

/// Closes the trial WebSocket if `which` says it is the one; whether it
/// was. The link goes on as it was (on SSE).
fn drop_trial(l: &mut Link, which: impl Fn(&Conn) -> bool) -> bool {
    let Some(at) = l.conns.iter().position(|c| c.trial && which(c)) else {
        return false;
    };
    let mut conn = l.conns.remove(at);
    conn.close();
    l.retired.push(conn);
    true
}

/// Closes every connection but `keep`.
fn retire_others(l: &mut Link, keep: u32) {
    let (kept, old): (Vec<Conn>, Vec<Conn>) = std::mem::take(&mut l.conns)
        .into_iter()
        .partition(|c| c.id == keep);
    l.conns = kept;
    for mut conn in old {
        conn.close();
        l.retired.push(conn);
    }
}

/// Not Live any more: say so, and forget who of the other side is there
/// (unknown until the link is back).
fn not_live(l: &mut Link, status: LinkStatus) {
    l.current = false;
    l.out.status.set(status);
    l.out.presence.set(None);
}

/// Runs every second: frees closed connections' callbacks, notices a page
/// that was frozen (a long gap since the last tick), a link silent for too
/// long, and an unanswered probe.
fn watchdog(link: &Shared) {
    let t = now();
    let (frozen, dead, probe_failed) = {
        let mut l = link.borrow_mut();
        l.retired.clear();
        if l.stopped {
            return;
        }
        let gap = t - l.last_tick;
        l.last_tick = t;
        let window = dead_after_ms(l.heartbeat_ms) as f64;
        // A trial WebSocket that has not said hello in time just goes.
        drop_trial(&mut l, |c| t - c.opened_at > OPENING_MS.max(window));
        let silent = l.live_conn.is_some() && t - l.last_heard > window;
        // The newest connection, still opening long after it was opened.
        let stuck = l
            .conns
            .last()
            .is_some_and(|c| Some(c.id) != l.live_conn && t - c.opened_at > OPENING_MS.max(window));
        let probe_failed = l.probe.is_some_and(|(_, deadline)| t > deadline);
        (gap > AWAY_MS, silent || stuck, probe_failed)
    };
    if dead {
        // Heard nothing for the whole window: the path is gone, whatever
        // the socket says.
        {
            let mut l = link.borrow_mut();
            retire_all(&mut l);
        }
        schedule_retry(link);
    } else if probe_failed {
        // No pong within a second: not Live from now, a fresh path at once.
        resync(link);
    } else if frozen {
        refresh(link);
    } else if wants_trial(&mut link.borrow_mut(), t) {
        open(link, true);
    }
}

/// Whether to try a WebSocket now: the link is Live on SSE (which cannot
/// carry the page's calls), no trial is open, and none was tried lately.
fn wants_trial(l: &mut Link, t: f64) -> bool {
    let on_sse = l
        .conns
        .iter()
        .any(|c| Some(c.id) == l.live_conn && c.sse.is_some());
    let due = on_sse
        && l.current
        && !l.conns.iter().any(|c| c.trial)
        && t - l.last_trial > WEBSOCKET_TRIAL_EVERY_MS;
    if due {
        l.last_trial = t;
    }
    due
}

fn visibility_changed(link: &Shared) {
    let visible = web_sys::window()
        .and_then(|w| w.document())
        .is_some_and(|d| d.visibility_state() == web_sys::VisibilityState::Visible);
    if visible {
        wake(link);
    } else {
        went_away(link);
    }
}

fn went_away(link: &Shared) {
    let mut l = link.borrow_mut();
    if l.away_since.is_none() {
        l.away_since = Some(now());
    }
}

/// The page is back (visible, restored, resumed, online): after a long
/// absence a fresh connection, after a short one a probe.
fn wake(link: &Shared) {
    let away = {
        let mut l = link.borrow_mut();
        if l.stopped {
            return;
        }
        let since = l.away_since.take().unwrap_or(l.last_tick);
        let t = now();
        // The watchdog did not run meanwhile (frozen or throttled) or the
        // page was hidden: either way, this long without proof of life.
        (t - since).max(t - l.last_tick)
    };
    if away > AWAY_MS {
        refresh(link);
    } else {
        probe(link);
    }
}

/// Opens a fresh connection now (unless one is already opening) without
/// waiting on the old one, which is dropped when the new `hello` arrives.
fn refresh(link: &Shared) {
    {
        let mut l = link.borrow_mut();
        if l.stopped {
            return;
        }
        if let (Some(timer), Some(window)) = (l.retry_timer.take(), web_sys::window()) {
            window.clear_timeout_with_handle(timer);
        }
        l.probe = None;
        let opening = l.conns.last().is_some_and(|c| Some(c.id) != l.live_conn);
        if opening {
            return;
        }
        // Nothing heard for the whole window: not Live, whatever the old
        // socket says.
        let window = dead_after_ms(l.heartbeat_ms) as f64;
        if l.live_conn.is_some() && now() - l.last_heard > window {
            let attempt = l.failures + 1;
            not_live(&mut l, LinkStatus::Reconnecting(attempt));
        }
    }
    connect(link);
}

/// The page's view may be behind, or the path is suspect: not Live any
/// more, and a fresh connection now (its snapshot makes the view current).
fn resync(link: &Shared) {
    {
        let mut l = link.borrow_mut();
        if l.stopped {
            return;
        }
        if let (Some(timer), Some(window)) = (l.retry_timer.take(), web_sys::window()) {
            window.clear_timeout_with_handle(timer);
        }
        retire_all(&mut l);
        let attempt = l.failures + 1;
        not_live(&mut l, LinkStatus::Reconnecting(attempt));
    }
    connect(link);
}

/// A request of the page failed on the network (or ran out of time): the
/// path is suspect, whatever the socket says, so not Live and a fresh
/// connection; at most once per [`STALL_PAUSE_MS`], so a request that keeps
/// failing on a live link (a proxy refusing just that path) does not make
/// the link reconnect in a loop.
fn stall(link: &Shared) {
    {
        let mut l = link.borrow_mut();
        let t = now();
        if l.session_id.is_none() || t - l.last_stall < STALL_PAUSE_MS {
            return;
        }
        l.last_stall = t;
    }
    resync(link);
}

/// Asks the server for a `pong` within [`PROBE_MS`]; the watchdog replaces
/// the link if none comes. Without a live WebSocket, reconnects at once.
fn probe(link: &Shared) {
    let sent = {
        let mut l = link.borrow_mut();
        if l.stopped {
            return;
        }
        if l.probe.is_some() {
            return;
        }
        let live = l.live_conn;
        let id = l.next_ping;
        let socket = l
            .conns
            .iter()
            .find(|c| Some(c.id) == live)
            .and_then(|c| c.socket.clone());
        let text = serde_json::to_string(&ClientFrame::Ping { id }).unwrap_or_default();
        match socket {
            Some(socket) if socket.send_with_str(&text).is_ok() => {
                l.next_ping += 1;
                l.probe = Some((id, now() + PROBE_MS));
                true
            }
            _ => false,
        }
    };
    if !sent {
        refresh(link);
    }
}

/// The browser says it lost the network: drop the connection (it may look
/// open for minutes while nothing flows) and wait for `online`.
fn go_offline(link: &Shared) {
    let mut l = link.borrow_mut();
    retire_all(&mut l);
    if let (Some(timer), Some(window)) = (l.retry_timer.take(), web_sys::window()) {
        window.clear_timeout_with_handle(timer);
    }
    if l.away_since.is_none() {
        l.away_since = Some(now());
    }
    not_live(&mut l, LinkStatus::Offline);
}

fn connect(link: &Shared) {
    open(link, false);
}

/// Opens a connection: WebSocket, or SSE after repeated WebSocket failures;
/// a `trial` is always a WebSocket.
fn open(link: &Shared, trial: bool) {
    let (session_id, since, use_sse, id) = {
        let mut l = link.borrow_mut();
        if l.stopped {
            return;
        }
        let online = web_sys::window()
            .map(|w| w.navigator().on_line())
            .unwrap_or(true);
        if !online {
            // `online` wakes the link; a try now can only fail.
            retire_all(&mut l);
            not_live(&mut l, LinkStatus::Offline);
            return;
        }
        let sse = !trial && l.session_id.is_some() && l.failures >= WEBSOCKET_TRIES_BEFORE_SSE;
        let id = l.next_conn;
        l.next_conn += 1;
        (l.session_id, l.applied(), sse, id)
    };
    let Some(location) = web_sys::window().map(|w| w.location()) else {
        return;
    };
    let mut conn = Conn {
        id,
        opened_at: now(),
        socket: None,
        sse: None,
        callbacks: Vec::new(),
        trial,
        calls: Vec::new(),
    };
    let on_message = message_handler(link, id);
    if let (true, Some(session_id)) = (use_sse, session_id) {
        let url = format!("/api/sessions/{session_id}/events?since={since}&snapshot=1");
        let Ok(sse) = EventSource::new(&url) else {
            return schedule_retry(link);
        };
        for kind in [
            "hello",
            "snapshot",
            "event",
            "reset",
            "presence",
            "heartbeat",
            "pong",
        ] {
            let _ = sse.add_event_listener_with_callback(kind, on_message.as_ref().unchecked_ref());
        }
        let on_error = {
            let link = link.clone();
            Closure::<dyn FnMut()>::new(move || closed(&link, id, None))
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
            return schedule_retry(link);
        };
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        let on_close = {
            let link = link.clone();
            Closure::<dyn FnMut(CloseEvent)>::new(move |event: CloseEvent| {
                closed(&link, id, Some(event.code()))
            })
        };
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        conn.socket = Some(socket);
        conn.callbacks.push(Box::new(on_close));
    }
    conn.callbacks.push(Box::new(on_message));
    link.borrow_mut().conns.push(conn);
}

/// Connection `id` closed (or, for SSE, failed): if it was the newest one,
/// retry; an older one being replaced just goes.
fn closed(link: &Shared, id: u32, code: Option<u16>) {
    let newest = {
        let mut l = link.borrow_mut();
        if drop_trial(&mut l, |c| c.id == id) {
            return;
        }
        let newest = l.conns.last().is_some_and(|c| c.id == id);
        if let Some(at) = l.conns.iter().position(|c| c.id == id) {
            let mut conn = l.conns.remove(at);
            conn.close();
            l.retired.push(conn);
        }
        if l.live_conn == Some(id) {
            l.live_conn = None;
            l.probe = None;
        }
        newest
    };
    if !newest {
        return;
    }
    if matches!(
        code,
        Some(CLOSE_UNAUTHORIZED | CLOSE_FORBIDDEN | CLOSE_NOT_FOUND)
    ) {
        let mut l = link.borrow_mut();
        retire_all(&mut l);
        not_live(&mut l, LinkStatus::Offline);
        return;
    }
    {
        let mut l = link.borrow_mut();
        retire_all(&mut l);
    }
    schedule_retry(link);
}

fn schedule_retry(link: &Shared) {
    let mut l = link.borrow_mut();
    if l.stopped {
        return;
    }
    if let (Some(timer), Some(window)) = (l.retry_timer.take(), web_sys::window()) {
        window.clear_timeout_with_handle(timer);
    }
    let online = web_sys::window()
        .map(|w| w.navigator().on_line())
        .unwrap_or(true);
    if !online {
        // Nothing to try until the browser says `online` (which wakes the
        // link); failing meanwhile would only push it to SSE.
        not_live(&mut l, LinkStatus::Offline);
        return;
    }
    l.failures += 1;
    let status = LinkStatus::Reconnecting(l.failures);
    not_live(&mut l, status);
    let delay = backoff_ms(l.failures - 1, js_sys::Math::random());
    let retry = {
        let link = link.clone();
        Closure::once_into_js(move || {
            link.borrow_mut().retry_timer = None;
            connect(&link);
        })
    };
    if let Some(window) = web_sys::window() {
        l.retry_timer = window
            .set_timeout_with_callback_and_timeout_and_arguments_0(
                retry.unchecked_ref(),
                delay as i32,
            )
            .ok();
    }
}

fn message_handler(link: &Shared, conn: u32) -> Closure<dyn FnMut(MessageEvent)> {
    let link = link.clone();
    Closure::<dyn FnMut(MessageEvent)>::new(move |message: MessageEvent| {
        let data: JsValue = message.data();
        let Some(text) = data.as_string() else {
            return;
        };
        heard(&link, conn);
        let Ok(frame) = serde_json::from_str::<Frame>(&text) else {
            return;
        };
        apply(&link, conn, frame);
    })
}

/// Any frame is proof of life for the connection it came on.
fn heard(link: &Shared, conn: u32) {
    let mut l = link.borrow_mut();
    if l.live_conn == Some(conn) || l.conns.last().is_some_and(|c| c.id == conn) {
        let t = now();
        l.last_heard = t;
        l.out.last_update.set(Some(t));
    }
}

fn apply(link: &Shared, conn: u32, frame: Frame) {
    let mut l = link.borrow_mut();
    match frame {
        Frame::Hello { heartbeat_ms, .. } => {
            // Only the newest connection's hello counts; it replaces the rest.
            if l.conns.last().is_none_or(|c| c.id != conn) {
                return;
            }
            retire_others(&mut l, conn);
            for c in l.conns.iter_mut() {
                c.trial = false;
            }
            l.live_conn = Some(conn);
            l.heartbeat_ms = heartbeat_ms;
            l.failures = 0;
            l.hellos += 1;
            l.last_heard = now();
            l.probe = None;
            if l.session_id.is_none() {
                // A dashboard is Live at once, and refetches its lists
                // after every reconnect (it has no replay).
                l.current = true;
                l.out.status.set(LinkStatus::Live);
                if l.hellos > 1 {
                    l.out.changes.update(|n| *n += 1);
                }
            }
            // A session page is Live once the snapshot that follows is in.
        }
        Frame::Snapshot { view, .. } => {
            if l.live_conn != Some(conn) || l.session_id != Some(view.summary.id) {
                return;
            }
            let view = *view;
            // An equal snapshot (a reconnect that missed nothing) changes
            // nothing on the page.
            let same = l
                .out
                .view
                .with_untracked(|v| v.as_ref().is_some_and(|v| same_state(v, &view)));
            if !same {
                l.out.view.set(Some(view));
            }
            l.current = true;
            l.out.status.set(LinkStatus::Live);
        }
        Frame::Heartbeat { last_seq, .. } => {
            if l.session_id.is_some() && l.live_conn == Some(conn) && last_seq > l.applied() {
                // This connection sent something the view never got.
                drop(l);
                resync(link);
            }
        }
        Frame::Answer(answer) => {
            let Some(conn) = l.conns.iter_mut().find(|c| c.id == conn) else {
                return;
            };
            if let Some(at) = conn.calls.iter().position(|(id, _)| *id == answer.id) {
                let (_, waiting) = conn.calls.swap_remove(at);
                let _ = waiting.send(answer);
            }
        }
        Frame::Pong { id, .. } => {
            if l.probe.is_some_and(|(waiting, _)| waiting == id) {
                l.probe = None;
            }
        }
        Frame::Presence {
            athlete, trainer, ..
        } => {
            if l.live_conn == Some(conn) {
                l.out.presence.set(Some((athlete, trainer)));
            }
        }
        Frame::Reset { .. } => {
            // Dashboards: events may have been missed; refetch the lists.
            // (A session page's connection starts with a snapshot and never
            // gets one.)
            l.out.changes.update(|n| *n += 1);
        }
        Frame::Event(event) => {
            let Some(session_id) = l.session_id else {
                // A dashboard: any change to one of the user's sessions.
                l.out.changes.update(|n| *n += 1);
                return;
            };
            if l.live_conn != Some(conn) {
                return;
            }
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
                    // The dashboard shows who cancelled and why from the
                    // stored session, never from the address (which anyone
                    // could write).
                    let path = format!("/dashboard?cancelled={session_id}");
                    let navigate = l.navigate.clone();
                    drop(l);
                    navigate(&path);
                }
            }
        }
    }
}

/// Two views of the same state: equal but for the server's clock reading.
fn same_state(a: &SessionView, b: &SessionView) -> bool {
    a.summary == b.summary && a.viewer == b.viewer && a.rounds == b.rounds && a.pain == b.pain
}
