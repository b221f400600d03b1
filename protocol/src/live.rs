//! The live channel's frames, shared by the server (which sends them) and
//! the browser (which reads them). `docs/live-protocol.md` documents them
//! for other clients.

use crate::{view::SessionView, SessionEvent, Side};
use serde::{Deserialize, Serialize};

/// Version of the wire protocol; sent in the `hello` frame.
pub const PROTOCOL_VERSION: u32 = 2;

/// One committed change of a session, as stored in `session_events`: its
/// place in the log and the typed event (`kind` and `data` on the wire).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LiveEvent {
    /// Position in the session's log: 1, 2, 3… with no gaps.
    pub seq: i64,
    /// The session it belongs to.
    pub session_id: i64,
    /// Commit time, milliseconds since the Unix epoch.
    pub at: i64,
    /// What happened: `kind` and `data`.
    #[serde(flatten)]
    pub event: SessionEvent,
}

impl LiveEvent {
    /// `round-released`, `session-cancelled`, …
    pub fn kind(&self) -> &'static str {
        self.event.kind()
    }
}

/// Everything the server sends on a live connection, as JSON text frames
/// tagged by `type`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Frame {
    /// First frame: protocol version, the session's last seq, and who of
    /// the other side is connected.
    Hello {
        /// [`PROTOCOL_VERSION`].
        version: u32,
        /// The session.
        session_id: i64,
        /// The log's last seq when the connection started.
        last_seq: i64,
        /// How often the server sends a [`Frame::Heartbeat`] on this
        /// connection, in milliseconds (0 from servers that predate it). A
        /// client that hears nothing for [`dead_after_ms`] of it treats the
        /// link as dead.
        #[serde(default)]
        heartbeat_ms: u64,
    },
    /// Sent every `heartbeat_ms` on every connection (WebSocket and SSE), so
    /// the client can tell a quiet link from a dead one: browsers answer the
    /// server's WebSocket pings without telling the page.
    Heartbeat {
        /// Server time, milliseconds since the Unix epoch.
        at: i64,
        /// The newest seq of the session this instance knows of (0 on the
        /// dashboard socket). A client behind it missed something: it
        /// resumes with `since`.
        last_seq: i64,
    },
    /// The answer to a client's [`ClientFrame::Ping`].
    Pong {
        /// The ping's `id`.
        id: u64,
        /// Server time, milliseconds since the Unix epoch.
        at: i64,
    },
    /// A logged event (replayed or live), carrying what changed: applied
    /// to the view with [`SessionView::apply`].
    Event(LiveEvent),
    /// The session as the connection's side sees it, read together with
    /// the position it reflects (`last_seq`, the same as
    /// `view.summary.last_seq`): sent after `hello` when the client asks
    /// for it (`?snapshot=1`), then the events after it. Never sent on the
    /// dashboard socket.
    Snapshot {
        /// The seq the view reflects: events after it follow.
        last_seq: i64,
        /// The view.
        view: Box<SessionView>,
    },
    /// The client's `since` is past the log's end: refetch everything,
    /// then continue from `last_seq`.
    Reset {
        /// The log's last seq.
        last_seq: i64,
    },
    /// The answer to a client's [`ClientFrame::Call`], sent only to the
    /// connection that made the call: what `POST <path>` would have
    /// answered over HTTP.
    Answer(Answer),
    /// The other side is writing a message: relayed from their `typing`
    /// frame (at most one per second per connection), never logged, never
    /// replayed. A client shows it for a few seconds, and not after a
    /// message of theirs sent at or after `at`.
    Typing {
        /// The session.
        session_id: i64,
        /// Who is typing.
        by: Side,
        /// When the server relayed it, milliseconds since the Unix epoch.
        at: i64,
    },
    /// Who is connected to the session now (not logged, no seq).
    Presence {
        /// The session.
        session_id: i64,
        /// Whether the athlete has at least one live connection.
        athlete: bool,
        /// Whether the trainer has at least one live connection.
        trainer: bool,
        /// When this changed, milliseconds since the Unix epoch.
        at: i64,
    },
}

/// What a client may send on a WebSocket (text frames, JSON, tagged by
/// `type`). Anything else is ignored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ClientFrame {
    /// "Is this link still alive?": the server answers [`Frame::Pong`] with
    /// the same `id` at once.
    Ping {
        /// Chosen by the client, echoed back.
        id: u64,
    },
    /// "Call this server function for me": the request `POST <path>` with
    /// this form body (`application/x-www-form-urlencoded`), made with the
    /// login and origin the connection was opened with, answered with a
    /// [`Frame::Answer`] with the same `id`. A connection that just proved
    /// itself (its snapshot arrived) is the one network path a page knows
    /// is alive; its pooled HTTP connections may be dead. Calls on one
    /// connection are answered in order, one at a time.
    Call {
        /// Chosen by the client, echoed back in the answer.
        id: u64,
        /// The server function's path, e.g. `/api/sets/log`.
        path: String,
        /// Its form.
        body: String,
    },
    /// "I am writing a message" (sent on input in the message box, at most
    /// about once a second): the server relays it to the session's other
    /// side as [`Frame::Typing`], at most once per second per connection,
    /// and writes nothing. Ignored on the dashboard socket.
    Typing,
}

/// What a [`ClientFrame::Call`] was answered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    /// The call's `id`.
    pub id: u64,
    /// The HTTP status the request got.
    pub status: u16,
    /// The answer's body (JSON for a server function).
    pub body: String,
    /// Its `Location` header, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Whether the server function asked the page to navigate (Leptos's
    /// redirect header).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub redirect: bool,
}

/// The most calls one connection may have waiting; one more is answered
/// 503 at once.
pub const CALLS_IN_FLIGHT: usize = 8;

/// The largest call body a client sends over a live connection (the
/// server takes messages up to 64 KiB); a larger one goes over HTTP.
pub const MAX_CALL_BYTES: usize = 56 * 1024;

/// Server functions that set or clear the login cookie: never called over
/// a live connection (its answers carry no cookie).
pub const NOT_CALLABLE_LIVE: &[&str] = &[
    "/api/register",
    "/api/login",
    "/api/login/failed",
    "/api/logout",
];

/// Whether `path` may be called over a live connection: a server
/// function's path (`/api/...`) that does not touch the login cookie.
pub fn callable_live(path: &str) -> bool {
    path.starts_with("/api/") && !NOT_CALLABLE_LIVE.contains(&path)
}

/// The server's heartbeat interval when nothing else is configured.
pub const DEFAULT_HEARTBEAT_MS: u64 = 10_000;

/// How long a client waits without any frame before it calls the link dead:
/// two and a half heartbeat intervals (a late heartbeat is not a dead link;
/// three missed ones are).
pub fn dead_after_ms(heartbeat_ms: u64) -> u64 {
    let interval = if heartbeat_ms == 0 {
        DEFAULT_HEARTBEAT_MS
    } else {
        heartbeat_ms
    };
    interval * 5 / 2
}

/// Close code: not logged in.
pub const CLOSE_UNAUTHORIZED: u16 = 4401;
/// Close code: not a participant of the session.
pub const CLOSE_FORBIDDEN: u16 = 4403;
/// Close code: no such session.
pub const CLOSE_NOT_FOUND: u16 = 4404;
/// Close code: the client fell behind; reconnect with `since`.
pub const CLOSE_RESUME: u16 = 4000;
/// Close code (WebSocket's "going away"): the server is stopping;
/// reconnect with `since` (to another instance, or to this one restarted).
pub const CLOSE_GOING_AWAY: u16 = 1001;
/// Close code: the client sent nothing (not even a pong) for two heartbeat
/// intervals.
pub const CLOSE_TIMEOUT: u16 = 4008;
/// Close code (WebSocket's "message too big"): the client sent a message
/// over 64 KiB (clients send `ping` frames and calls smaller than that;
/// a larger call goes over HTTP).
pub const CLOSE_TOO_BIG: u16 = 1009;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_have_the_documented_shape() {
        let heartbeat = serde_json::to_value(Frame::Heartbeat { at: 5, last_seq: 7 }).unwrap();
        assert_eq!(
            heartbeat,
            serde_json::json!({"type": "heartbeat", "at": 5, "last_seq": 7})
        );
        let pong = serde_json::to_value(Frame::Pong { id: 3, at: 9 }).unwrap();
        assert_eq!(pong, serde_json::json!({"type": "pong", "id": 3, "at": 9}));
        let ping: ClientFrame = serde_json::from_str(r#"{"type":"ping","id":42}"#).unwrap();
        assert_eq!(ping, ClientFrame::Ping { id: 42 });
        let typing: ClientFrame = serde_json::from_str(r#"{"type":"typing"}"#).unwrap();
        assert_eq!(typing, ClientFrame::Typing);
        let relayed = Frame::Typing {
            session_id: 7,
            by: Side::Athlete,
            at: 9,
        };
        assert_eq!(
            serde_json::to_value(relayed).unwrap(),
            serde_json::json!({"type": "typing", "session_id": 7, "by": "athlete", "at": 9})
        );
        // A hello from an older server (no heartbeat_ms) still reads.
        let hello: Frame =
            serde_json::from_str(r#"{"type":"hello","version":1,"session_id":1,"last_seq":0}"#)
                .unwrap();
        assert!(matches!(
            hello,
            Frame::Hello {
                heartbeat_ms: 0,
                ..
            }
        ));
    }

    #[test]
    fn an_event_frame_keeps_its_wire_shape() {
        let frame = Frame::Event(LiveEvent {
            seq: 13,
            session_id: 7,
            at: 5,
            event: SessionEvent::SessionJoined {
                by: crate::Side::Trainer,
                trainer_id: 2,
            },
        });
        let wire = serde_json::json!({"type": "event", "seq": 13, "kind": "session-joined",
            "session_id": 7, "at": 5, "data": {"by": "trainer", "trainer_id": 2}});
        assert_eq!(serde_json::to_value(&frame).unwrap(), wire);
        assert_eq!(serde_json::from_value::<Frame>(wire).unwrap(), frame);
    }

    #[test]
    fn a_link_is_dead_after_two_and_a_half_silent_intervals() {
        assert_eq!(dead_after_ms(10_000), 25_000);
        assert_eq!(dead_after_ms(0), 25_000);
        assert_eq!(dead_after_ms(1_000), 2_500);
    }
}
