//! Who is connected to each session: this instance's live connections, and
//! (PostgreSQL scale-out) what other instances report, until their reports
//! expire. A change of who is present is announced to the session's local
//! subscribers as a `presence` frame, once per change (a second tab of the
//! same side changes nothing), and local changes go to the bus's sink for
//! the other instances.

use super::hub::Hub;
use crate::model::{live::Frame, Side};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};
use tokio::{sync::mpsc, time::Instant};

/// This instance's connections to a session, as told to other instances.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalPresence {
    /// The session.
    pub session_id: i64,
    /// Athlete connections here.
    pub athletes: usize,
    /// Trainer connections here.
    pub trainers: usize,
}

/// Another instance's connections to a session, until `expires`.
#[derive(Clone, Copy, Debug)]
struct RemotePresence {
    athlete: bool,
    trainer: bool,
    expires: Instant,
}

#[derive(Default)]
struct State {
    /// Local connections per session: (athletes, trainers).
    local: HashMap<i64, (usize, usize)>,
    /// By session, then instance.
    remote: HashMap<i64, HashMap<u64, RemotePresence>>,
    /// Who was last announced as present, per session.
    announced: HashMap<i64, (bool, bool)>,
    /// Where local changes go for other instances to hear.
    sink: Option<mpsc::UnboundedSender<LocalPresence>>,
}

/// Cheap to clone; all clones share one state.
#[derive(Clone)]
pub struct Presences {
    state: Arc<Mutex<State>>,
    hub: Hub,
}

impl std::fmt::Debug for Presences {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Presences")
    }
}

impl Presences {
    /// Presence announced on `hub`.
    pub fn new(hub: Hub) -> Presences {
        Presences {
            state: Arc::default(),
            hub,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every update is a single insert/remove: a poisoned lock is usable.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Marks one connection of `side` to the session as present until the
    /// returned guard is dropped; both changes are announced.
    pub fn present(&self, session_id: i64, side: Side) -> Presence {
        self.change(session_id, side, |n| n + 1);
        Presence {
            presences: self.clone(),
            session_id,
            side,
        }
    }

    fn change(&self, session_id: i64, side: Side, by: impl Fn(usize) -> usize) {
        let mut state = self.lock();
        let counts = state.local.entry(session_id).or_default();
        match side {
            Side::Athlete => counts.0 = by(counts.0),
            Side::Trainer => counts.1 = by(counts.1),
        }
        let (athletes, trainers) = *counts;
        if athletes + trainers == 0 {
            state.local.remove(&session_id);
        }
        self.announce(&mut state, session_id);
        if let Some(sink) = &state.sink {
            let change = LocalPresence {
                session_id,
                athletes,
                trainers,
            };
            if sink.send(change).is_err() {
                state.sink = None;
            }
        }
    }

    /// Who is connected to a session, here or on another instance:
    /// (athlete, trainer).
    pub fn who_is_here(&self, session_id: i64) -> (bool, bool) {
        self.lock().who_is_here(session_id)
    }

    /// Sends every later change of local presence to `sink` (the PostgreSQL
    /// bus, which tells the other instances).
    pub fn send_changes_to(&self, sink: mpsc::UnboundedSender<LocalPresence>) {
        self.lock().sink = Some(sink);
    }

    /// Every session with connections here (repeated to other instances).
    pub fn local(&self) -> Vec<LocalPresence> {
        self.lock()
            .local
            .iter()
            .map(|(id, (athletes, trainers))| LocalPresence {
                session_id: *id,
                athletes: *athletes,
                trainers: *trainers,
            })
            .collect()
    }

    /// Another instance reports its connections to a session, valid for
    /// `ttl` unless repeated; announced here if that changes who is present.
    pub fn remote(&self, instance: u64, presence: LocalPresence, ttl: Duration) {
        let mut state = self.lock();
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
        self.announce(&mut state, presence.session_id);
    }

    /// Forgets other instances' reports that were not repeated in time (an
    /// instance that died says nothing).
    pub fn expire_remote(&self) {
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
            self.announce(&mut state, session_id);
        }
    }

    /// Tells the session's local subscribers who is present now, if that
    /// changed since the last announcement. (A new subscriber gets the
    /// current state from its follower first.)
    fn announce(&self, state: &mut State, session_id: i64) {
        let now = state.who_is_here(session_id);
        let before = if now == (false, false) {
            state.announced.remove(&session_id)
        } else {
            state.announced.insert(session_id, now)
        };
        if before.unwrap_or((false, false)) == now {
            return;
        }
        let (athlete, trainer) = now;
        self.hub.send_to_session(
            session_id,
            Frame::Presence {
                session_id,
                athlete,
                trainer,
                at: crate::server::db::now_ms(),
            },
        );
    }
}

impl State {
    fn who_is_here(&self, session_id: i64) -> (bool, bool) {
        let (mut athlete, mut trainer) = self
            .local
            .get(&session_id)
            .map(|(a, t)| (*a > 0, *t > 0))
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
}

/// A live connection's presence; dropping it announces the departure.
#[derive(Debug)]
pub struct Presence {
    presences: Presences,
    session_id: i64,
    side: Side,
}

impl Drop for Presence {
    fn drop(&mut self) {
        self.presences
            .change(self.session_id, self.side, |n| n.saturating_sub(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn other_instances_presence_counts_until_it_expires() {
        let hub = Hub::default();
        let presences = Presences::new(hub.clone());
        let mut subscription = hub.subscribe(7);
        let athlete_elsewhere = LocalPresence {
            session_id: 7,
            athletes: 1,
            trainers: 0,
        };
        presences.remote(42, athlete_elsewhere, Duration::from_secs(60));
        assert_eq!(presences.who_is_here(7), (true, false));
        let Frame::Presence { athlete, .. } = *subscription.recv().await.unwrap() else {
            panic!("a presence frame");
        };
        assert!(athlete, "announced to local subscribers");
        // Repeated reports refresh it; one that is not repeated expires.
        presences.remote(42, athlete_elsewhere, Duration::ZERO);
        presences.expire_remote();
        assert_eq!(presences.who_is_here(7), (false, false));
        let Frame::Presence { athlete, .. } = *subscription.recv().await.unwrap() else {
            panic!("a presence frame");
        };
        assert!(!athlete, "the departure is announced");
        // A report of zero connections removes it at once.
        presences.remote(42, athlete_elsewhere, Duration::from_secs(60));
        presences.remote(
            42,
            LocalPresence {
                athletes: 0,
                ..athlete_elsewhere
            },
            Duration::from_secs(60),
        );
        assert_eq!(presences.who_is_here(7), (false, false));
    }

    #[test]
    fn a_second_connection_of_the_same_side_announces_nothing() {
        let hub = Hub::default();
        let presences = Presences::new(hub.clone());
        let mut subscription = hub.subscribe(7);
        let first = presences.present(7, Side::Trainer);
        let second = presences.present(7, Side::Trainer);
        drop(second);
        drop(first);
        let mut frames = Vec::new();
        while let Ok(frame) = subscription.receiver_for_tests().try_recv() {
            if let Frame::Presence { trainer, .. } = *frame {
                frames.push(trainer);
            }
        }
        assert_eq!(frames, vec![true, false], "arrival and departure only");
        assert!(presences.local().is_empty(), "nothing left behind");
    }
}
