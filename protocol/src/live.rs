//! The live channel's frames, shared by the server (which sends them) and
//! the browser (which reads them). `docs/live-protocol.md` documents them
//! for other clients.

use crate::{view::SessionView, SessionEvent};
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
/// over 64 KiB (clients only ever send small `ping` frames).
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
