//! Local fan-out (mini-redis style): one broadcast channel per session with
//! live subscribers here, one per user with a dashboard open here. The hub
//! knows nothing of the database or of other instances: the [`super::bus`]
//! hands it committed events, [`super::presence`] hands it presence frames.
//!
//! The maps sit behind a std `Mutex` that is never held across an `.await`;
//! sending on a broadcast channel never waits, and each subscriber's buffer
//! is bounded ([`BUFFER`]): one that falls behind gets `Lagged` and is told
//! to resume, it never grows memory. A frame is encoded to JSON once, by
//! whichever subscriber sends it first, and shared by all.

use crate::model::live::{Frame, LiveEvent};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard, OnceLock},
};
use tokio::sync::broadcast;

/// Frames a subscriber may fall behind by before it is dropped.
pub const BUFFER: usize = 256;

/// A frame as shared by every subscriber of a channel, with its JSON text
/// made once.
#[derive(Clone, Debug)]
pub struct SharedFrame(Arc<Encoded>);

#[derive(Debug)]
struct Encoded {
    frame: Frame,
    json: OnceLock<String>,
}

impl SharedFrame {
    /// Wraps a frame.
    pub fn new(frame: Frame) -> SharedFrame {
        SharedFrame(Arc::new(Encoded {
            frame,
            json: OnceLock::new(),
        }))
    }

    /// The frame.
    pub fn frame(&self) -> &Frame {
        &self.0.frame
    }

    /// Its JSON text, encoded on first use and then shared.
    pub fn json(&self) -> &str {
        self.0
            .json
            .get_or_init(|| serde_json::to_string(&self.0.frame).unwrap_or_default())
    }

    /// Whether two handles share one encoding (for tests).
    pub fn same(&self, other: &SharedFrame) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl std::ops::Deref for SharedFrame {
    type Target = Frame;
    fn deref(&self) -> &Frame {
        self.frame()
    }
}

#[derive(Default)]
struct SessionChannel {
    sender: Option<broadcast::Sender<SharedFrame>>,
    /// Highest seq published to this channel (0: none yet). An event at or
    /// below it is not sent again, so two paths may publish the same event
    /// (a PostgreSQL notification and the listener's catch-up from the log)
    /// and subscribers still get it once.
    published: i64,
}

#[derive(Default)]
struct State {
    sessions: HashMap<i64, SessionChannel>,
    users: HashMap<i64, broadcast::Sender<SharedFrame>>,
}

/// Cheap to clone; all clones share one state.
#[derive(Clone, Default)]
pub struct Hub {
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hub")
    }
}

impl Hub {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps inconsistent
        // (every update is a single insert/remove), so a poisoned lock is
        // still usable.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Subscribes to a session's frames (events and presence).
    pub fn subscribe(&self, session_id: i64) -> Subscription {
        let mut state = self.lock();
        let receiver = state
            .sessions
            .entry(session_id)
            .or_default()
            .sender
            .get_or_insert_with(|| broadcast::channel(BUFFER).0)
            .subscribe();
        Subscription {
            receiver,
            hub: self.clone(),
            key: Key::Session(session_id),
        }
    }

    /// Subscribes to the events of every session `user_id` takes part in.
    pub fn subscribe_user(&self, user_id: i64) -> Subscription {
        let receiver = self
            .lock()
            .users
            .entry(user_id)
            .or_insert_with(|| broadcast::channel(BUFFER).0)
            .subscribe();
        Subscription {
            receiver,
            hub: self.clone(),
            key: Key::User(user_id),
        }
    }

    /// Delivers committed events to the session's subscribers and to the
    /// dashboards of its two participants, each event encoded at most once.
    /// Never blocks.
    pub fn publish(&self, events: &[LiveEvent], participants: [i64; 2]) {
        if events.is_empty() {
            return;
        }
        let mut state = self.lock();
        for event in events {
            let frame = SharedFrame::new(Frame::Event(event.clone()));
            if let Some(channel) = state.sessions.get_mut(&event.session_id) {
                if event.seq <= channel.published {
                    continue;
                }
                channel.published = event.seq;
                if let Some(sender) = &channel.sender {
                    // No receivers is fine: nobody is watching.
                    let _ = sender.send(frame.clone());
                }
            }
            for user in participants {
                if let Some(sender) = state.users.get(&user) {
                    let _ = sender.send(frame.clone());
                }
            }
        }
    }

    /// Sends a frame that is not an event (presence) to a session's local
    /// subscribers, if it has any.
    pub fn send_to_session(&self, session_id: i64, frame: Frame) {
        if let Some(sender) = self
            .lock()
            .sessions
            .get(&session_id)
            .and_then(|c| c.sender.as_ref())
        {
            let _ = sender.send(SharedFrame::new(frame));
        }
    }

    /// Whether anyone connected here listens to `session_id` (on its own
    /// channel or on a participant's dashboard), and if so the highest seq
    /// already published to it (0: none).
    pub fn interest(&self, session_id: i64, participants: [i64; 2]) -> Option<i64> {
        let state = self.lock();
        match state.sessions.get(&session_id) {
            Some(channel) if channel.sender.is_some() => Some(channel.published),
            _ => participants
                .iter()
                .any(|user| state.users.contains_key(user))
                .then_some(0),
        }
    }

    /// Sessions with live subscribers here, each with the highest seq
    /// published to it (0: none).
    pub fn watched_sessions(&self) -> Vec<(i64, i64)> {
        self.lock()
            .sessions
            .iter()
            .filter(|(_, channel)| channel.sender.is_some())
            .map(|(id, channel)| (*id, channel.published))
            .collect()
    }

    /// Tells every dashboard to refetch (a `reset` frame): used when events
    /// may have been missed and nobody knows which.
    pub fn reset_dashboards(&self) {
        let frame = SharedFrame::new(Frame::Reset { last_seq: 0 });
        for sender in self.lock().users.values() {
            let _ = sender.send(frame.clone());
        }
    }

    /// Number of session channels (for tests and metrics).
    pub fn session_channels(&self) -> usize {
        self.lock().sessions.len()
    }

    /// Number of user (dashboard) channels (for tests and metrics).
    pub fn user_channels(&self) -> usize {
        self.lock().users.len()
    }

    /// Removes a channel once only the caller's own receiver (about to be
    /// dropped) is left.
    fn forget_if_unused(&self, key: Key) {
        let mut state = self.lock();
        let last = |sender: &broadcast::Sender<SharedFrame>| sender.receiver_count() <= 1;
        match key {
            Key::Session(id) => {
                if state
                    .sessions
                    .get(&id)
                    .is_some_and(|c| c.sender.as_ref().is_none_or(last))
                {
                    state.sessions.remove(&id);
                }
            }
            Key::User(id) => {
                if state.users.get(&id).is_some_and(last) {
                    state.users.remove(&id);
                }
            }
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Key {
    Session(i64),
    User(i64),
}

/// A live subscription to one session's or one user's channel; dropping it
/// frees the channel if it was the last subscriber.
#[derive(Debug)]
pub struct Subscription {
    receiver: broadcast::Receiver<SharedFrame>,
    hub: Hub,
    key: Key,
}

impl Subscription {
    /// The next frame; `Lagged` if this subscriber fell more than
    /// [`BUFFER`] frames behind.
    pub async fn recv(&mut self) -> Result<SharedFrame, broadcast::error::RecvError> {
        self.receiver.recv().await
    }

    /// The receiver itself, to drain without waiting in tests.
    #[cfg(test)]
    pub(crate) fn receiver_for_tests(&mut self) -> &mut broadcast::Receiver<SharedFrame> {
        &mut self.receiver
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        // Our own receiver is still alive while this runs.
        self.hub.forget_if_unused(self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{SessionEvent, Side};

    fn event(seq: i64) -> LiveEvent {
        LiveEvent {
            seq,
            session_id: 3,
            at: 0,
            event: SessionEvent::SessionJoined {
                by: Side::Trainer,
                trainer_id: 2,
            },
        }
    }

    #[test]
    fn an_event_is_published_once() {
        let hub = Hub::default();
        let mut subscription = hub.subscribe(3);
        hub.publish(&[event(1), event(2)], [0, 0]);
        hub.publish(&[event(2), event(1), event(3)], [0, 0]);
        let mut seqs = Vec::new();
        while let Ok(frame) = subscription.receiver.try_recv() {
            if let Frame::Event(e) = frame.frame() {
                seqs.push(e.seq);
            }
        }
        assert_eq!(seqs, vec![1, 2, 3]);
    }

    #[test]
    fn every_subscriber_shares_one_encoding_of_an_event() {
        let hub = Hub::default();
        let mut a = hub.subscribe(3);
        let mut b = hub.subscribe(3);
        let mut dashboard = hub.subscribe_user(9);
        hub.publish(&[event(1)], [9, 0]);
        let (a, b, d) = (
            a.receiver.try_recv().unwrap(),
            b.receiver.try_recv().unwrap(),
            dashboard.receiver.try_recv().unwrap(),
        );
        assert!(a.same(&b) && a.same(&d), "one frame, shared");
        assert_eq!(a.json(), serde_json::to_string(a.frame()).unwrap());
        assert!(std::ptr::eq(a.json(), d.json()), "encoded once");
    }

    #[test]
    fn channels_go_away_with_their_last_subscriber() {
        let hub = Hub::default();
        let first = hub.subscribe_user(9);
        let second = hub.subscribe_user(9);
        let session = hub.subscribe(3);
        assert_eq!((hub.user_channels(), hub.session_channels()), (1, 1));
        drop(first);
        assert_eq!(hub.user_channels(), 1, "one dashboard still open");
        drop(second);
        drop(session);
        assert_eq!((hub.user_channels(), hub.session_channels()), (0, 0));
        // Publishing to nobody leaves nothing behind.
        hub.publish(&[event(1)], [9, 0]);
        assert_eq!((hub.user_channels(), hub.session_channels()), (0, 0));
    }
}
