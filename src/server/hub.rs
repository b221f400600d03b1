//! The in-process pub/sub hub (mini-redis style): one broadcast channel per
//! session with live subscribers, one per user for dashboards, and who is
//! connected to each session.
//!
//! Mutations publish here only after their transaction committed
//! (`training::commit`). The map sits behind a std `Mutex` that is never held
//! across an `.await`; sending on a broadcast channel never waits, and each
//! subscriber's buffer is bounded ([`BUFFER`]): one that falls behind gets
//! `Lagged` and is told to resume, it never grows memory.

use crate::model::{
    live::{Frame, LiveEvent},
    Side,
};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};
use tokio::{
    sync::{broadcast, mpsc},
    time::Instant,
};

/// Frames a subscriber may fall behind by before it is dropped.
pub const BUFFER: usize = 256;

/// A frame as shared by every subscriber of a channel.
pub type SharedFrame = Arc<Frame>;

#[derive(Default)]
struct SessionChannel {
    sender: Option<broadcast::Sender<SharedFrame>>,
    athletes: usize,
    trainers: usize,
    /// Highest seq published to this channel (0: none yet). An event at or
    /// below it is not sent again, so two paths may publish the same event
    /// (a PostgreSQL notification and the listener's catch-up from the log)
    /// and subscribers still get it once.
    published: i64,
    /// Who was last announced as present: a frame goes out only when that
    /// changes (a second tab of the same side changes nothing).
    announced: Option<(bool, bool)>,
}

#[derive(Default)]
struct State {
    sessions: HashMap<i64, SessionChannel>,
    users: HashMap<i64, broadcast::Sender<SharedFrame>>,
    /// Who is connected to other instances (PostgreSQL scale-out), by
    /// session, then instance.
    remote: HashMap<i64, HashMap<u64, RemotePresence>>,
    /// Where local presence changes go for other instances to hear.
    presence_sink: Option<mpsc::UnboundedSender<LocalPresence>>,
}

/// Another instance's connections to a session, until `expires`.
#[derive(Clone, Copy, Debug)]
struct RemotePresence {
    athlete: bool,
    trainer: bool,
    expires: Instant,
}

/// This instance's connections to a session, for other instances.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalPresence {
    /// The session.
    pub session_id: i64,
    /// Athlete connections here.
    pub athletes: usize,
    /// Trainer connections here.
    pub trainers: usize,
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
        let channel = state.sessions.entry(session_id).or_default();
        let receiver = channel
            .sender
            .get_or_insert_with(|| broadcast::channel(BUFFER).0)
            .subscribe();
        Subscription {
            receiver,
            hub: self.clone(),
            session_id,
        }
    }

    /// Removes a session's entry once nobody listens and nobody is present;
    /// `own` is the number of receivers the caller still holds.
    fn forget_if_unused(&self, session_id: i64, own: usize) {
        let mut state = self.lock();
        let unused = state.sessions.get(&session_id).is_some_and(|channel| {
            channel.athletes == 0
                && channel.trainers == 0
                && channel
                    .sender
                    .as_ref()
                    .is_none_or(|s| s.receiver_count() <= own)
        });
        if unused {
            state.sessions.remove(&session_id);
        }
    }

    /// Subscribes to the events of every session `user_id` takes part in.
    pub fn subscribe_user(&self, user_id: i64) -> broadcast::Receiver<SharedFrame> {
        self.lock()
            .users
            .entry(user_id)
            .or_insert_with(|| broadcast::channel(BUFFER).0)
            .subscribe()
    }

    /// Delivers committed events to the session's subscribers and to the
    /// dashboards of its two participants. Never blocks.
    pub fn publish(&self, events: &[LiveEvent], participants: [i64; 2]) {
        if events.is_empty() {
            return;
        }
        let mut state = self.lock();
        for event in events {
            let frame: SharedFrame = Arc::new(Frame::Event(event.clone()));
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
        state.users.retain(|_, sender| sender.receiver_count() > 0);
    }

    /// Marks one connection of `side` to the session as present until the
    /// returned guard is dropped; both changes are announced to the session.
    pub fn present(&self, session_id: i64, side: Side) -> Presence {
        {
            let mut state = self.lock();
            let channel = state.sessions.entry(session_id).or_default();
            match side {
                Side::Athlete => channel.athletes += 1,
                Side::Trainer => channel.trainers += 1,
            }
            state.changed_here(session_id);
        }
        Presence {
            hub: self.clone(),
            session_id,
            side,
        }
    }

    /// Who is connected to a session, here or (scale-out) on another
    /// instance: (athlete, trainer).
    pub fn who_is_here(&self, session_id: i64) -> (bool, bool) {
        self.lock().who_is_here(session_id)
    }

    /// Sends every later change of local presence to `sink` (the PostgreSQL
    /// listener, which tells the other instances).
    pub fn send_presence_to(&self, sink: mpsc::UnboundedSender<LocalPresence>) {
        self.lock().presence_sink = Some(sink);
    }

    /// Every session with connections here (to repeat to other instances).
    pub fn local_presence(&self) -> Vec<LocalPresence> {
        self.lock()
            .sessions
            .iter()
            .filter(|(_, c)| c.athletes + c.trainers > 0)
            .map(|(id, c)| LocalPresence {
                session_id: *id,
                athletes: c.athletes,
                trainers: c.trainers,
            })
            .collect()
    }

    /// Another instance reports its connections to a session, valid for
    /// `ttl` unless repeated; announced here if that changes who is present.
    pub fn remote_presence(&self, instance: u64, presence: LocalPresence, ttl: Duration) {
        let mut state = self.lock();
        let before = state.who_is_here(presence.session_id);
        let sessions = state.remote.entry(presence.session_id).or_default();
        if presence.athletes + presence.trainers == 0 {
            sessions.remove(&instance);
            if sessions.is_empty() {
                state.remote.remove(&presence.session_id);
            }
        } else {
            sessions.insert(
                instance,
                RemotePresence {
                    athlete: presence.athletes > 0,
                    trainer: presence.trainers > 0,
                    expires: Instant::now() + ttl,
                },
            );
        }
        if state.who_is_here(presence.session_id) != before {
            state.announce(presence.session_id);
        }
    }

    /// Forgets other instances' reports that were not repeated in time (an
    /// instance that died says nothing).
    pub fn expire_remote_presence(&self) {
        let now = Instant::now();
        let mut state = self.lock();
        let mut changed = Vec::new();
        for (session_id, instances) in state.remote.iter_mut() {
            let before = instances.len();
            instances.retain(|_, p| p.expires > now);
            if instances.len() != before {
                changed.push(*session_id);
            }
        }
        state.remote.retain(|_, instances| !instances.is_empty());
        for session_id in changed {
            state.announce(session_id);
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
        let frame: SharedFrame = Arc::new(Frame::Reset { last_seq: 0 });
        for sender in self.lock().users.values() {
            let _ = sender.send(frame.clone());
        }
    }

    /// Number of sessions with a channel or presence (for tests and metrics).
    pub fn session_channels(&self) -> usize {
        self.lock().sessions.len()
    }
}

impl State {
    fn who_is_here(&self, session_id: i64) -> (bool, bool) {
        let (mut athlete, mut trainer) = self
            .sessions
            .get(&session_id)
            .map(|c| (c.athletes > 0, c.trainers > 0))
            .unwrap_or_default();
        for remote in self
            .remote
            .get(&session_id)
            .into_iter()
            .flat_map(|r| r.values())
        {
            athlete |= remote.athlete;
            trainer |= remote.trainer;
        }
        (athlete, trainer)
    }

    /// Tells the session's local subscribers who is present now, if that
    /// changed since the last time. (A new subscriber gets the current
    /// state from its follower first.)
    fn announce(&mut self, session_id: i64) {
        let now = self.who_is_here(session_id);
        let Some(channel) = self.sessions.get_mut(&session_id) else {
            return;
        };
        if channel.announced.replace(now) == Some(now) {
            return;
        }
        let Some(sender) = channel.sender.as_ref() else {
            return;
        };
        let (athlete, trainer) = now;
        let _ = sender.send(Arc::new(Frame::Presence {
            session_id,
            athlete,
            trainer,
            at: super::db::now_ms(),
        }));
    }

    /// Local connections to a session changed: tell local subscribers and
    /// other instances.
    fn changed_here(&mut self, session_id: i64) {
        self.announce(session_id);
        if let Some(sink) = &self.presence_sink {
            let (athletes, trainers) = self
                .sessions
                .get(&session_id)
                .map(|c| (c.athletes, c.trainers))
                .unwrap_or_default();
            if sink
                .send(LocalPresence {
                    session_id,
                    athletes,
                    trainers,
                })
                .is_err()
            {
                self.presence_sink = None;
            }
        }
    }
}

/// A live connection's presence; dropping it announces the departure and
/// frees the session's channel once nobody uses it.
#[derive(Debug)]
pub struct Presence {
    hub: Hub,
    session_id: i64,
    side: Side,
}

impl Drop for Presence {
    fn drop(&mut self) {
        let mut state = self.hub.lock();
        let Some(channel) = state.sessions.get_mut(&self.session_id) else {
            return;
        };
        match self.side {
            Side::Athlete => channel.athletes = channel.athletes.saturating_sub(1),
            Side::Trainer => channel.trainers = channel.trainers.saturating_sub(1),
        }
        state.changed_here(self.session_id);
        drop(state);
        self.hub.forget_if_unused(self.session_id, 0);
    }
}

/// A live subscription to one session; dropping it frees the session's
/// channel if it was the last user.
#[derive(Debug)]
pub struct Subscription {
    receiver: broadcast::Receiver<SharedFrame>,
    hub: Hub,
    session_id: i64,
}

impl Subscription {
    /// The next frame; `Lagged` if this subscriber fell more than
    /// [`BUFFER`] frames behind.
    pub async fn recv(&mut self) -> Result<SharedFrame, broadcast::error::RecvError> {
        self.receiver.recv().await
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        // Our own receiver is still alive while this runs.
        self.hub.forget_if_unused(self.session_id, 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn other_instances_presence_counts_until_it_expires() {
        let hub = Hub::default();
        let mut subscription = hub.subscribe(7);
        let athlete_elsewhere = LocalPresence {
            session_id: 7,
            athletes: 1,
            trainers: 0,
        };
        hub.remote_presence(42, athlete_elsewhere, Duration::from_secs(60));
        assert_eq!(hub.who_is_here(7), (true, false));
        let Frame::Presence { athlete, .. } = &*subscription.recv().await.unwrap() else {
            panic!("a presence frame");
        };
        assert!(athlete, "announced to local subscribers");
        // Repeated reports refresh it; one that is not repeated expires.
        hub.remote_presence(42, athlete_elsewhere, Duration::ZERO);
        hub.expire_remote_presence();
        assert_eq!(hub.who_is_here(7), (false, false));
        let Frame::Presence { athlete, .. } = &*subscription.recv().await.unwrap() else {
            panic!("a presence frame");
        };
        assert!(!athlete, "the departure is announced");
        // A report of zero connections removes it at once.
        hub.remote_presence(42, athlete_elsewhere, Duration::from_secs(60));
        hub.remote_presence(
            42,
            LocalPresence {
                athletes: 0,
                ..athlete_elsewhere
            },
            Duration::from_secs(60),
        );
        assert_eq!(hub.who_is_here(7), (false, false));
    }

    #[test]
    fn an_event_is_published_once() {
        let hub = Hub::default();
        let mut subscription = hub.subscribe(3);
        let event = |seq| LiveEvent {
            seq,
            kind: "round-updated".into(),
            session_id: 3,
            at: 0,
            data: serde_json::Value::Null,
        };
        hub.publish(&[event(1), event(2)], [0, 0]);
        hub.publish(&[event(2), event(1), event(3)], [0, 0]);
        let mut seqs = Vec::new();
        while let Ok(frame) = subscription.receiver.try_recv() {
            if let Frame::Event(e) = &*frame {
                seqs.push(e.seq);
            }
        }
        assert_eq!(seqs, vec![1, 2, 3]);
    }
}
