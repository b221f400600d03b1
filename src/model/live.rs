//! The live channel's frames, shared by the server (which sends them) and
//! the browser (which reads them). `docs/live-protocol.md` documents them
//! for other clients.

use serde::{Deserialize, Serialize};

/// Version of the wire protocol; sent in the `hello` frame.
pub const PROTOCOL_VERSION: u32 = 1;

/// One committed change of a session, as stored in `session_events`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LiveEvent {
    /// Position in the session's log: 1, 2, 3… with no gaps.
    pub seq: i64,
    /// `round-released`, `session-cancelled`, …
    pub kind: String,
    /// The session it belongs to.
    pub session_id: i64,
    /// Commit time, milliseconds since the Unix epoch.
    pub at: i64,
    /// Small, kind-specific facts (ids, round number, who).
    pub data: serde_json::Value,
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
    },
    /// A logged event (replayed or live).
    Event(LiveEvent),
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

/// Close code: not logged in.
pub const CLOSE_UNAUTHORIZED: u16 = 4401;
/// Close code: not a participant of the session.
pub const CLOSE_FORBIDDEN: u16 = 4403;
/// Close code: no such session.
pub const CLOSE_NOT_FOUND: u16 = 4404;
/// Close code: the client fell behind; reconnect with `since`.
pub const CLOSE_RESUME: u16 = 4000;
/// Close code: no pong within two heartbeat intervals.
pub const CLOSE_TIMEOUT: u16 = 4008;
