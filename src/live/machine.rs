//! The live link's rules, as a pure state machine: no browser, no timers,
//! no sockets, so they are unit-tested on the host (below). `link` wires
//! the browser to it: each browser event (a frame, a close, the watchdog's
//! tick, a wake-up, a failed request) is one input here, with the time,
//! whether the browser is online and a random number for the backoff
//! ([`Env`]); what comes back is a list of things to do ([`Do`]): open or
//! close a connection, show a status, send a ping, retry later, refetch.
//!
//! The rules:
//! - WebSocket first; after [`WEBSOCKET_TRIES_BEFORE_SSE`] failures in a
//!   row, Server-Sent Events; reconnects with [`backoff_ms`]. A link Live
//!   on SSE tries a WebSocket again beside it (at once, then every
//!   [`WEBSOCKET_TRIAL_EVERY_MS`]); the trial replaces SSE if it says
//!   hello and goes quietly if it does not.
//! - Live only while frames keep coming: silence for
//!   `dead_after_ms(heartbeat)` (two and a half heartbeats) ends Live and
//!   reconnects; so does a newest connection that has not said hello
//!   within [`OPENING_MS`].
//! - Only the newest connection's `hello` counts, and it replaces the
//!   others. A session page is Live once that connection's snapshot is in
//!   the view; a dashboard at once (and refetches after a reconnect).
//! - Closed with 4401, 4403 or 4404: Offline for good, no retry and no
//!   wake-up (logging in again or another page is the answer, not a loop).
//! - Waking up after more than [`AWAY_MS`] (or a watchdog gap that long: a
//!   frozen page) opens a fresh connection; a shorter gap, or a request
//!   before a submit, sends a probe that must be answered within
//!   [`PROBE_MS`], or the link resyncs (not Live, fresh connection).
//! - A heartbeat saying the server is past the view, or a request of the
//!   page that failed on the network (at most once per
//!   [`STALL_PAUSE_MS`]), resyncs.
//! - Offline (the browser says so): every connection closes, and nothing
//!   is tried until the browser is online again.

use super::{backoff_ms, LinkStatus, WEBSOCKET_TRIES_BEFORE_SSE};
use crate::model::live::{dead_after_ms, CLOSE_FORBIDDEN, CLOSE_NOT_FOUND, CLOSE_UNAUTHORIZED};

/// A page away (hidden, frozen, offline) longer than this gets a fresh
/// connection when it comes back; a shorter gap gets a probe.
pub const AWAY_MS: f64 = 3_000.0;
/// How long a probe waits for its `pong`.
pub const PROBE_MS: f64 = 1_000.0;
/// How long a new connection may take to say `hello`.
pub const OPENING_MS: f64 = 10_000.0;
/// The shortest time between two reconnects for failed requests.
pub const STALL_PAUSE_MS: f64 = 5_000.0;
/// How often a link on Server-Sent Events tries a WebSocket again (the
/// first try right after the SSE connection is Live).
pub const WEBSOCKET_TRIAL_EVERY_MS: f64 = 30_000.0;

/// What the browser says along with each input.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Env {
    /// Now, in ms since the epoch.
    pub now: f64,
    /// Whether the browser thinks it is online.
    pub online: bool,
    /// A random number in `[0, 1)`, for the backoff's jitter.
    pub random: f64,
}

/// What the browser should do.
#[derive(Clone, Debug, PartialEq)]
pub enum Do {
    /// Open connection `id`: Server-Sent Events if `sse`, else a WebSocket.
    Open { id: u32, sse: bool },
    /// Close connection `id` (its unanswered calls are cancelled).
    Close(u32),
    /// Show this status.
    Status(LinkStatus),
    /// Forget who of the other side is there (unknown until Live again).
    ForgetPresence,
    /// Send ping `id` on connection `conn`.
    Ping { conn: u32, id: u64 },
    /// Reconnect after this many ms (replacing a pending retry).
    RetryIn(f64),
    /// Drop a pending retry.
    CancelRetry,
    /// A dashboard's lists may be stale: fetch them again.
    Refetch,
}

/// Where a frame that changes the page goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// Apply it to the page's view.
    Apply,
    /// A dashboard: refetch its lists.
    Refetch,
    /// From a connection that is not the live one: ignore it.
    Ignore,
}

#[derive(Clone, Copy, Debug)]
struct ConnState {
    id: u32,
    opened_at: f64,
    sse: bool,
    trial: bool,
}

/// One page's link: its connections and what it knows of them.
#[derive(Debug)]
pub struct Machine {
    /// A dashboard (all the user's sessions, no replay, no snapshot).
    dashboard: bool,
    /// Connection attempts that failed in a row.
    failures: u32,
    /// Open or opening connections, oldest first.
    conns: Vec<ConnState>,
    next_conn: u32,
    /// The connection whose `hello` was the newest.
    live_conn: Option<u32>,
    heartbeat_ms: u64,
    last_heard: f64,
    last_tick: f64,
    last_stall: f64,
    last_trial: f64,
    away_since: Option<f64>,
    /// A `ping` waiting for its `pong`: (id, deadline).
    probe: Option<(u64, f64)>,
    next_ping: u64,
    /// Live: the newest connection said hello and (session pages) its
    /// snapshot is in the view.
    current: bool,
    hellos: u32,
    stopped: bool,
    out: Vec<Do>,
}

impl Machine {
    /// A link for a session page, or a `dashboard`'s, at `now`.
    pub fn new(dashboard: bool, now: f64) -> Machine {
        Machine {
            dashboard,
            failures: 0,
            conns: Vec::new(),
            next_conn: 0,
            live_conn: None,
            heartbeat_ms: 0,
            last_heard: now,
            last_tick: now,
            last_stall: f64::NEG_INFINITY,
            last_trial: f64::NEG_INFINITY,
            away_since: None,
            probe: None,
            next_ping: 0,
            current: false,
            hellos: 0,
            stopped: false,
            out: Vec::new(),
        }
    }

    fn done(&mut self) -> Vec<Do> {
        std::mem::take(&mut self.out)
    }

    /// Whether the link is Live.
    pub fn is_live(&self) -> bool {
        self.current && !self.stopped
    }

    /// Whether the link may be Live again: it was not stopped, nor refused
    /// for good (4401, 4403, 4404).
    pub fn may_come_back(&self) -> bool {
        !self.stopped
    }

    /// The Live WebSocket, if the link is Live on one (calls go there).
    pub fn live_websocket(&self) -> Option<u32> {
        let live = self.live_conn?;
        let on_socket = self.conns.iter().any(|c| c.id == live && !c.sse);
        (self.is_live() && on_socket).then_some(live)
    }

    /// Whether `conn` is the live connection (its snapshot, events and
    /// presence count).
    pub fn is_live_conn(&self, conn: u32) -> bool {
        self.live_conn == Some(conn)
    }

    // ---- inputs ------------------------------------------------------

    /// Connect (the page has its first data, or a retry is due).
    pub fn connect(&mut self, env: Env) -> Vec<Do> {
        self.open(env, false);
        self.done()
    }

    /// Connection `id` could not even be created.
    pub fn open_failed(&mut self, env: Env, id: u32) -> Vec<Do> {
        self.conns.retain(|c| c.id != id);
        self.schedule_retry(env);
        self.done()
    }

    /// The watchdog's tick (every second): a silent or stuck link, an
    /// unanswered probe, a page that was frozen, a WebSocket trial due.
    pub fn tick(&mut self, env: Env) -> Vec<Do> {
        if self.stopped {
            return Vec::new();
        }
        let t = env.now;
        let gap = t - self.last_tick;
        self.last_tick = t;
        let window = self.window();
        let late = OPENING_MS.max(window);
        self.drop_trial(|c| t - c.opened_at > late);
        let silent = self.live_conn.is_some() && t - self.last_heard > window;
        let stuck = self
            .conns
            .last()
            .is_some_and(|c| Some(c.id) != self.live_conn && t - c.opened_at > late);
        let probe_failed = self.probe.is_some_and(|(_, deadline)| t > deadline);
        if silent || stuck {
            self.retire_all();
            self.schedule_retry(env);
        } else if probe_failed {
            self.resync(env);
        } else if gap > AWAY_MS {
            self.refresh(env);
        } else if self.wants_trial(t) {
            self.open(env, true);
        }
        self.done()
    }

    /// The page was hidden, frozen or left.
    pub fn went_away(&mut self, env: Env) -> Vec<Do> {
        self.away_since.get_or_insert(env.now);
        self.done()
    }

    /// The page is back (visible, restored, resumed, online): after a long
    /// absence a fresh connection, after a short one a probe.
    pub fn wake(&mut self, env: Env) -> Vec<Do> {
        if self.stopped {
            return Vec::new();
        }
        let t = env.now;
        let since = self.away_since.take().unwrap_or(self.last_tick);
        // The watchdog did not run meanwhile (frozen or throttled) or the
        // page was hidden: either way, this long without proof of life.
        if (t - since).max(t - self.last_tick) > AWAY_MS {
            self.refresh(env);
        } else {
            self.probe(env);
        }
        self.done()
    }

    /// The page asks for a probe (before the athlete submits).
    pub fn probe_requested(&mut self, env: Env) -> Vec<Do> {
        self.probe(env);
        self.done()
    }

    /// The ping could not be sent.
    pub fn ping_failed(&mut self, env: Env) -> Vec<Do> {
        self.probe = None;
        self.refresh(env);
        self.done()
    }

    /// A request of the page failed on the network.
    pub fn request_failed(&mut self, env: Env) -> Vec<Do> {
        if !self.dashboard && env.now - self.last_stall >= STALL_PAUSE_MS {
            self.last_stall = env.now;
            self.resync(env);
        }
        self.done()
    }

    /// The browser says it is offline: drop every connection (it may look
    /// open for minutes while nothing flows) and wait for `online`.
    pub fn offline(&mut self, env: Env) -> Vec<Do> {
        self.retire_all();
        self.out.push(Do::CancelRetry);
        self.away_since.get_or_insert(env.now);
        self.not_live(LinkStatus::Offline);
        self.done()
    }

    /// Connection `id` closed (`code`, for a WebSocket) or, for SSE,
    /// failed: if it was the newest one, retry (or stop, for 4401, 4403,
    /// 4404); an older one being replaced, or a trial, just goes.
    pub fn closed(&mut self, env: Env, id: u32, code: Option<u16>) -> Vec<Do> {
        if self.drop_trial(|c| c.id == id) {
            return self.done();
        }
        let newest = self.conns.last().is_some_and(|c| c.id == id);
        if let Some(at) = self.conns.iter().position(|c| c.id == id) {
            self.conns.remove(at);
            self.out.push(Do::Close(id));
        }
        if self.live_conn == Some(id) {
            self.live_conn = None;
            self.probe = None;
        }
        if newest {
            self.retire_all();
            if matches!(
                code,
                Some(CLOSE_UNAUTHORIZED | CLOSE_FORBIDDEN | CLOSE_NOT_FOUND)
            ) {
                self.not_live(LinkStatus::Offline);
                self.out.push(Do::CancelRetry);
                self.stopped = true;
            } else {
                self.schedule_retry(env);
            }
        }
        self.done()
    }

    /// A frame came on `conn`: proof of life if it is the live or the
    /// newest connection (whether it is).
    pub fn heard(&mut self, env: Env, conn: u32) -> bool {
        let counts =
            self.live_conn == Some(conn) || self.conns.last().is_some_and(|c| c.id == conn);
        if counts {
            self.last_heard = env.now;
        }
        counts
    }

    /// `hello` on `conn`, with the server's heartbeat interval.
    pub fn hello(&mut self, env: Env, conn: u32, heartbeat_ms: u64) -> Vec<Do> {
        if self.conns.last().is_none_or(|c| c.id != conn) {
            return Vec::new();
        }
        self.retire(|c| c.id != conn);
        for c in &mut self.conns {
            c.trial = false;
        }
        self.live_conn = Some(conn);
        self.heartbeat_ms = heartbeat_ms;
        self.failures = 0;
        self.hellos += 1;
        self.last_heard = env.now;
        self.probe = None;
        if self.dashboard {
            self.current = true;
            self.out.push(Do::Status(LinkStatus::Live));
            if self.hellos > 1 {
                self.out.push(Do::Refetch);
            }
        }
        self.done()
    }

    /// The live connection's snapshot is in the view: Live.
    pub fn snapshot_taken(&mut self) -> Vec<Do> {
        self.current = true;
        self.out.push(Do::Status(LinkStatus::Live));
        self.done()
    }

    /// A heartbeat on `conn`: the server's position `last_seq`, the view's
    /// `applied`.
    pub fn heartbeat(&mut self, env: Env, conn: u32, last_seq: i64, applied: i64) -> Vec<Do> {
        if !self.dashboard && self.live_conn == Some(conn) && last_seq > applied {
            // This connection sent something the view never got.
            self.resync(env);
        }
        self.done()
    }

    /// `pong` `id`.
    pub fn pong(&mut self, id: u64) {
        if self.probe.is_some_and(|(waiting, _)| waiting == id) {
            self.probe = None;
        }
    }

    /// Where an event (or a dashboard's `reset`) on `conn` goes.
    pub fn route(&self, conn: u32) -> Route {
        if self.dashboard {
            Route::Refetch
        } else if self.live_conn == Some(conn) {
            Route::Apply
        } else {
            Route::Ignore
        }
    }

    /// The page is gone: close everything.
    pub fn stop(&mut self) -> Vec<Do> {
        self.stopped = true;
        self.retire_all();
        self.out.push(Do::CancelRetry);
        self.done()
    }

    // ---- the rules' steps --------------------------------------------

    fn window(&self) -> f64 {
        dead_after_ms(self.heartbeat_ms) as f64
    }

    /// Opens a connection: WebSocket, or SSE after repeated WebSocket
    /// failures; a `trial` is always a WebSocket.
    fn open(&mut self, env: Env, trial: bool) {
        if self.stopped {
            return;
        }
        if !env.online {
            // `online` wakes the link; a try now can only fail.
            self.retire_all();
            self.not_live(LinkStatus::Offline);
            return;
        }
        let sse = !trial && !self.dashboard && self.failures >= WEBSOCKET_TRIES_BEFORE_SSE;
        let id = self.next_conn;
        self.next_conn += 1;
        self.conns.push(ConnState {
            id,
            opened_at: env.now,
            sse,
            trial,
        });
        self.out.push(Do::Open { id, sse });
    }

    fn schedule_retry(&mut self, env: Env) {
        if self.stopped {
            return;
        }
        self.out.push(Do::CancelRetry);
        if !env.online {
            // Nothing to try until the browser says `online`; failing
            // meanwhile would only push the link to SSE.
            self.not_live(LinkStatus::Offline);
            return;
        }
        self.failures += 1;
        self.not_live(LinkStatus::Reconnecting(self.failures));
        self.out
            .push(Do::RetryIn(backoff_ms(self.failures - 1, env.random)));
    }

    /// A fresh connection now (unless one is already opening), without
    /// waiting on the old one, which goes when the new `hello` arrives.
    fn refresh(&mut self, env: Env) {
        if self.stopped {
            return;
        }
        self.out.push(Do::CancelRetry);
        self.probe = None;
        let opening = self
            .conns
            .last()
            .is_some_and(|c| Some(c.id) != self.live_conn);
        if opening {
            return;
        }
        if self.live_conn.is_some() && env.now - self.last_heard > self.window() {
            // Nothing heard for the whole window: not Live, whatever the
            // old socket says.
            self.not_live(LinkStatus::Reconnecting(self.failures + 1));
        }
        self.open(env, false);
    }

    /// The view may be behind, or the path is suspect: not Live, every
    /// connection closed, a fresh one now (its snapshot makes the view
    /// current).
    fn resync(&mut self, env: Env) {
        if self.stopped {
            return;
        }
        self.out.push(Do::CancelRetry);
        self.retire_all();
        self.not_live(LinkStatus::Reconnecting(self.failures + 1));
        self.open(env, false);
    }

    /// A ping on the live WebSocket; without one, a fresh connection.
    fn probe(&mut self, env: Env) {
        if self.stopped || self.probe.is_some() {
            return;
        }
        let live = self.live_conn;
        match self.conns.iter().find(|c| Some(c.id) == live && !c.sse) {
            Some(conn) => {
                let (conn, id) = (conn.id, self.next_ping);
                self.next_ping += 1;
                self.probe = Some((id, env.now + PROBE_MS));
                self.out.push(Do::Ping { conn, id });
            }
            None => self.refresh(env),
        }
    }

    /// Whether to try a WebSocket now: Live on SSE, no trial open, none
    /// tried lately.
    fn wants_trial(&mut self, t: f64) -> bool {
        let on_sse = self
            .conns
            .iter()
            .any(|c| Some(c.id) == self.live_conn && c.sse);
        let due = on_sse
            && self.current
            && !self.conns.iter().any(|c| c.trial)
            && t - self.last_trial > WEBSOCKET_TRIAL_EVERY_MS;
        if due {
            self.last_trial = t;
        }
        due
    }

    /// Closes the trial WebSocket if `which` says it is the one; whether
    /// it was. The link goes on as it was (on SSE).
    fn drop_trial(&mut self, which: impl Fn(&ConnState) -> bool) -> bool {
        let Some(at) = self.conns.iter().position(|c| c.trial && which(c)) else {
            return false;
        };
        let id = self.conns.remove(at).id;
        self.out.push(Do::Close(id));
        true
    }

    /// Closes the connections `which` picks.
    fn retire(&mut self, which: impl Fn(&ConnState) -> bool) {
        let out = &mut self.out;
        self.conns.retain(|c| {
            let keep = !which(c);
            if !keep {
                out.push(Do::Close(c.id));
            }
            keep
        });
    }

    /// Closes every connection; the link is no longer Live.
    fn retire_all(&mut self) {
        self.retire(|_| true);
        self.live_conn = None;
        self.probe = None;
    }

    fn not_live(&mut self, status: LinkStatus) {
        self.current = false;
        self.out.push(Do::Status(status));
        self.out.push(Do::ForgetPresence);
    }
}

#[cfg(test)]
mod tests;
