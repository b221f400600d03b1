//! The browser side of the live channel: [`use_session_live`] opens the
//! session's WebSocket, keeps the page's view of the session ([`Live::view`])
//! current from it (the side's `snapshot` on every (re)connect, then each
//! event applied in place by the shared rule, `SessionView::apply`), says
//! "Live" only while that view is at the link's position, notices a dead
//! link by the missing heartbeats, reconnects with backoff (at once when the
//! page wakes up), and falls back to Server-Sent Events when WebSockets keep
//! failing. No live update makes the page fetch anything over HTTP.
//! [`outbox`] keeps submissions that could not be sent; [`wake_lock`] keeps
//! the phone's screen on during a round.
//!
//! On the server (SSR) the hook only returns its initial state; everything
//! else runs in the browser after hydration.

use crate::model::{SessionView, Side};
use leptos::prelude::*;

pub mod client;
#[cfg(feature = "hydrate")]
mod link;
pub mod machine;
pub mod outbox;
pub mod storage;
pub mod wake_lock;

/// The window event a request of the page that failed on the network
/// fires (`client` fires it, the link listens for it).
pub const REQUEST_FAILED_EVENT: &str = "spotter-request-failed";

/// First reconnect delay cap, milliseconds.
pub const BACKOFF_BASE_MS: f64 = 500.0;
/// Largest reconnect delay, milliseconds.
pub const BACKOFF_CAP_MS: f64 = 30_000.0;
/// A page sends at most one `typing` frame per this many ms.
pub const TYPING_EVERY_MS: f64 = 1_000.0;
/// How long "… is typing" shows after the other side's last `typing`.
pub const TYPING_SHOWN_MS: f64 = 3_000.0;

/// WebSocket failures in a row before trying Server-Sent Events.
pub const WEBSOCKET_TRIES_BEFORE_SSE: u32 = 4;

/// How the page's live link is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkStatus {
    /// Opening the first connection.
    Connecting,
    /// Connected; events arrive as they happen.
    Live,
    /// Lost; trying again (attempt n).
    Reconnecting(u32),
    /// The browser says it is offline; waiting for it to come back.
    Offline,
    /// The link is up, but something this page sent failed on the network
    /// and waits to be sent again: not Live until it is in.
    Sending,
}

impl LinkStatus {
    /// Text for the indicator.
    pub fn label(self) -> String {
        match self {
            LinkStatus::Connecting => "Connecting…".into(),
            LinkStatus::Live => "Live".into(),
            LinkStatus::Reconnecting(n) => format!("Reconnecting (attempt {n})"),
            LinkStatus::Offline => "Offline".into(),
            LinkStatus::Sending => "Sending…".into(),
        }
    }
}

/// Exponential backoff with full jitter: a delay drawn uniformly from
/// `[0, min(cap, base · 2^attempt))`, `random` in `[0, 1)`.
pub fn backoff_ms(attempt: u32, random: f64) -> f64 {
    let ceiling = (BACKOFF_BASE_MS * 2f64.powi(attempt.min(16) as i32)).min(BACKOFF_CAP_MS);
    ceiling * random.clamp(0.0, 1.0)
}

/// What a page gets from [`use_session_live`].
#[derive(Clone, Copy)]
pub struct Live {
    /// The link's state, for the indicator. Live means the page's view is
    /// at the link's position.
    pub status: ReadSignal<LinkStatus>,
    /// Who is connected: (athlete, trainer), once known.
    pub presence: ReadSignal<Option<(bool, bool)>>,
    /// Dashboards only: bumped whenever one of the user's sessions changed
    /// or the link reconnected: key the lists' resource on it.
    pub changes: ReadSignal<u32>,
    /// When the link last delivered anything (ms since the Unix epoch):
    /// "Last update hh:mm:ss" while not Live.
    pub last_update: ReadSignal<Option<f64>>,
    /// Session pages: the session as this side sees it, kept current by the
    /// link (None until the page's first data or the link's snapshot).
    pub view: RwSignal<Option<SessionView>>,
    /// Set by the page while something it sent failed on the network and
    /// waits in its outbox: the indicator then says "Sending…", not Live.
    pub unsent: RwSignal<bool>,
    /// Session pages: when the other side last typed in the message box
    /// (the server's clock), for [`TYPING_SHOWN_MS`] after it arrived.
    pub typing: RwSignal<Option<i64>>,
    probes: RwSignal<u32>,
}

impl Live {
    /// What the indicator shows: the link's state, but never Live while
    /// something sent from this page failed and waits.
    pub fn shown(&self) -> LinkStatus {
        match self.status.get() {
            LinkStatus::Live if self.unsent.get() => LinkStatus::Sending,
            status => status,
        }
    }

    /// Starts the view from data the page fetched (the server-rendered
    /// first paint), unless the link already brought something as new.
    pub fn adopt(&self, fetched: SessionView) {
        let newer = self.view.with_untracked(|current| {
            current
                .as_ref()
                .is_none_or(|v| fetched.summary.last_seq > v.summary.last_seq)
        });
        if newer {
            self.view.set(Some(fetched));
        }
    }

    /// Whether to show that the other side is typing: they typed a moment
    /// ago, after their newest message, they are here, and this page's
    /// link is Live (a page that is not Live cannot know).
    pub fn other_typing(&self) -> bool {
        let Some(at) = self.typing.get() else {
            return false;
        };
        let viewer = self.view.with(|v| v.as_ref().map(|v| v.viewer));
        let Some(viewer) = viewer else {
            return false;
        };
        let present = match (self.presence.get(), viewer) {
            (Some((_, trainer)), Side::Athlete) => trainer,
            (Some((athlete, _)), Side::Trainer) => athlete,
            (None, _) => false,
        };
        let sent_since = self.view.with(|v| {
            v.as_ref()
                .is_some_and(|v| v.messages.iter().any(|m| m.by != viewer && m.sent_at >= at))
        });
        present && !sent_since && self.status.get() == LinkStatus::Live
    }

    /// Checks that the link is really alive (a ping that must be answered
    /// within a second) and replaces it at once if not: called right before
    /// the athlete submits.
    pub fn probe(&self) {
        self.probes.update(|n| *n = n.wrapping_add(1));
    }
}

/// `hh:mm:ss` of a time in ms since the Unix epoch, in the browser's time
/// zone (UTC on the server, which never shows it).
pub fn clock(ms: f64) -> String {
    #[cfg(feature = "hydrate")]
    {
        let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms));
        format!(
            "{:02}:{:02}:{:02}",
            d.get_hours(),
            d.get_minutes(),
            d.get_seconds()
        )
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let s = (ms / 1000.0).floor() as i64;
        format!(
            "{:02}:{:02}:{:02}",
            s.rem_euclid(86_400) / 3600,
            s.rem_euclid(3600) / 60,
            s.rem_euclid(60)
        )
    }
}

/// Starts a link (in the browser) for a session page (`Some(id)`) or a
/// dashboard (`None`).
fn follow(session_id: Option<i64>, side: Side) -> Live {
    let (status, set_status) = signal(LinkStatus::Connecting);
    let (presence, set_presence) = signal(None::<(bool, bool)>);
    let (changes, set_changes) = signal(0u32);
    let (last_update, set_last_update) = signal(None::<f64>);
    let view = RwSignal::new(None::<SessionView>);
    let probes = RwSignal::new(0u32);
    let unsent = RwSignal::new(false);
    let typing = RwSignal::new(None::<i64>);
    #[cfg(feature = "hydrate")]
    link::start(
        session_id,
        side,
        probes,
        link::Outputs {
            status: set_status,
            presence: set_presence,
            changes: set_changes,
            last_update: set_last_update,
            view,
            typing,
        },
    );
    #[cfg(not(feature = "hydrate"))]
    let _ = (
        session_id,
        side,
        set_status,
        set_presence,
        set_changes,
        set_last_update,
    );
    Live {
        status,
        presence,
        changes,
        last_update,
        view,
        unsent,
        typing,
        probes,
    }
}

/// The user is writing a message: tells the session's other side (a
/// `typing` frame over the page's Live WebSocket, at most one per
/// [`TYPING_EVERY_MS`]; nothing without one).
pub fn typed() {
    #[cfg(feature = "hydrate")]
    link::typed();
}

/// Follows session `session_id` as `side` for as long as the calling
/// component lives, keeping [`Live::view`] current. A `session-cancelled`
/// by the other side takes this page to the dashboard with a notice.
pub fn use_session_live(session_id: i64, side: Side) -> Live {
    follow(Some(session_id), side)
}

/// Follows every session of the logged-in user (on `side`), for the
/// dashboard: `changes` bumps on any of their events, and after every
/// reconnect (no replay: the lists are fetched again instead).
pub fn use_dashboard_live(side: Side) -> Live {
    follow(None, side)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_the_cap_with_full_jitter() {
        assert_eq!(backoff_ms(0, 0.999_999).round(), 500.0);
        assert_eq!(backoff_ms(1, 0.999_999).round(), 1000.0);
        assert_eq!(backoff_ms(3, 0.5), 2000.0);
        assert_eq!(backoff_ms(10, 0.999_999).round(), 30_000.0);
        assert_eq!(backoff_ms(40, 1.0), 30_000.0);
        assert_eq!(backoff_ms(5, 0.0), 0.0);
    }
}
