//! "Typing…": a client's `typing` frame, relayed to the session's local
//! subscribers as a `typing` frame and (PostgreSQL scale-out) to the other
//! instances, like presence. Never written to the database, never replayed:
//! a typing frame that is lost is only a missed hint.
//!
//! Each connection relays at most one per [`RELAY_EVERY`] ([`Relay`]); what
//! a client sends faster is dropped here, and the connection stays up.

use super::hub::Hub;
use crate::{
    model::{live::Frame, Side},
    server::db::now_ms,
};
use serde::{Deserialize, Serialize};
use std::{
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::{sync::mpsc, time::Instant};

/// The shortest time between two frames one connection relays.
pub const RELAY_EVERY: Duration = Duration::from_secs(1);

/// Someone typing in a session, as told to the other instances.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypingNotice {
    /// The instance the typist is connected to.
    pub instance: u64,
    /// The session.
    pub session_id: i64,
    /// Who is typing.
    pub by: Side,
    /// When it was relayed (ms since the epoch).
    pub at: i64,
}

/// Announces typing on the hub; cheap to clone.
#[derive(Clone)]
pub struct Typists {
    hub: Hub,
    /// Where typing goes for other instances (PostgreSQL only).
    sink: Arc<Mutex<Option<mpsc::UnboundedSender<TypingNotice>>>>,
}

impl std::fmt::Debug for Typists {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Typists")
    }
}

impl Typists {
    /// Typing announced on `hub`.
    pub fn new(hub: Hub) -> Typists {
        Typists {
            hub,
            sink: Arc::default(),
        }
    }

    /// Sends every later local typing frame to `sink` (the PostgreSQL bus,
    /// which tells the other instances; `instance` is filled in there).
    pub fn send_to(&self, sink: mpsc::UnboundedSender<TypingNotice>) {
        *self.sink.lock().unwrap_or_else(|p| p.into_inner()) = Some(sink);
    }

    /// `by` is typing in the session, on a connection here: its local
    /// subscribers hear it, and so do the other instances.
    pub fn typed(&self, session_id: i64, by: Side) {
        let at = now_ms();
        self.announce(session_id, by, at);
        let mut sink = self.sink.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(to) = sink.as_ref() {
            let notice = TypingNotice {
                instance: 0,
                session_id,
                by,
                at,
            };
            if to.send(notice).is_err() {
                *sink = None;
            }
        }
    }

    /// Another instance relayed a typing frame.
    pub fn remote(&self, notice: TypingNotice) {
        self.announce(notice.session_id, notice.by, notice.at);
    }

    fn announce(&self, session_id: i64, by: Side, at: i64) {
        self.hub
            .send_to_session(session_id, Frame::Typing { session_id, by, at });
    }
}

/// One session connection's relay: at most one frame per [`RELAY_EVERY`].
#[derive(Debug)]
pub struct Relay {
    typists: Typists,
    session_id: i64,
    side: Side,
    last: Option<Instant>,
}

impl Relay {
    /// The relay of a connection of `side` to the session.
    pub fn new(typists: Typists, session_id: i64, side: Side) -> Relay {
        Relay {
            typists,
            session_id,
            side,
            last: None,
        }
    }

    /// The client sent a `typing` frame: relayed unless this connection
    /// relayed one less than [`RELAY_EVERY`] ago. Returns whether it was.
    pub fn typed(&mut self) -> bool {
        let now = Instant::now();
        if self.last.is_some_and(|last| now - last < RELAY_EVERY) {
            return false;
        }
        self.last = Some(now);
        self.typists.typed(self.session_id, self.side);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_connection_relays_at_most_one_frame_a_second() {
        let hub = Hub::default();
        let mut subscription = hub.subscribe(7);
        let typists = Typists::new(hub.clone());
        let (sink, mut elsewhere) = mpsc::unbounded_channel();
        typists.send_to(sink);
        let mut relay = Relay::new(typists, 7, Side::Athlete);
        let relayed = (0..1_000).filter(|_| relay.typed()).count();
        assert_eq!(relayed, 1, "a burst relays once");
        tokio::time::advance(Duration::from_millis(999)).await;
        assert!(!relay.typed(), "not within the second");
        tokio::time::advance(Duration::from_millis(1)).await;
        assert!(relay.typed(), "again after it");
        let mut frames = 0;
        while let Ok(frame) = subscription.receiver_for_tests().try_recv() {
            assert!(matches!(
                *frame,
                Frame::Typing {
                    session_id: 7,
                    by: Side::Athlete,
                    ..
                }
            ));
            frames += 1;
        }
        assert_eq!(frames, 2, "local subscribers hear each relayed frame");
        assert_eq!(elsewhere.try_recv().unwrap().session_id, 7);
        assert!(elsewhere.try_recv().is_ok(), "other instances too");
        assert!(elsewhere.try_recv().is_err());
    }
}
