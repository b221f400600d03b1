//! PostgreSQL only: tells every instance's [`super::listener`] about
//! committed events, *after* the commit and outside the business
//! transaction.
//!
//! A `NOTIFY` inside a transaction takes a database-wide lock at commit
//! (PostgreSQL's `PreCommit_Notify`), so every notifying commit would wait
//! for every other one. Instead the event row alone is written in the
//! mutation's transaction (the truth), and this task sends the hints: it
//! wakes when events are committed, takes everything queued by then, and
//! sends it as few `pg_notify` calls as fit NOTIFY's 8,000-byte payload
//! (one per wake-up under load). A hint that never arrives (this process
//! dies between the commit and the notify) is made up for by seq: a
//! listener that sees a later seq reads the gap from the log, a follower
//! fills its own gap, and every reconnect catches up from the log.

use super::listener::{Notice, CHANNEL};
use crate::{model::live::LiveEvent, server::db::Database};
use serde_json::json;
use std::time::Duration;
use tokio::sync::mpsc;

/// Largest payload sent (PostgreSQL refuses 8,000 bytes or more).
pub const MAX_PAYLOAD: usize = 7_900;
/// An event larger than this travels without its body: listeners read it
/// from the log.
const MAX_CARRIED: usize = 6_000;

/// Committed events waiting for their hint.
type Hints = Vec<(LiveEvent, [i64; 2])>;

/// The sending half; cheap to clone.
#[derive(Clone, Debug)]
pub struct Notifier {
    queue: mpsc::UnboundedSender<Hints>,
}

impl Notifier {
    /// Starts the task sending hints on `db`'s pool; it ends when the last
    /// clone of the notifier is dropped, after sending what was queued.
    pub fn spawn(db: Database) -> (Notifier, tokio::task::JoinHandle<()>) {
        let (queue, hints) = mpsc::unbounded_channel();
        (Notifier { queue }, tokio::spawn(run(db, hints)))
    }

    /// Events one mutation committed, in order. Never blocks: the queue
    /// is drained at every wake-up, and what fills it is bounded by the
    /// write path's own admission limit.
    pub fn committed(&self, events: &[LiveEvent], participants: [i64; 2]) {
        if events.is_empty() {
            return;
        }
        let hints = events.iter().map(|e| (e.clone(), participants)).collect();
        if self.queue.send(hints).is_err() {
            tracing::warn!("notifier stopped: other instances learn of this event from the log");
        }
    }
}

async fn run(db: Database, mut queue: mpsc::UnboundedReceiver<Hints>) {
    let mut pending = Vec::new();
    while let Some(first) = queue.recv().await {
        pending.extend(first);
        while let Ok(more) = queue.try_recv() {
            pending.extend(more);
        }
        for payload in payloads(&pending) {
            send(&db, &payload).await;
        }
        pending.clear();
    }
}

/// Sends one payload, retrying a few times (a lost hint is only late: see
/// the module's note).
async fn send(db: &Database, payload: &str) {
    let mut wait = Duration::from_millis(50);
    for attempt in 1..=5 {
        match sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(payload)
            .execute(&db.pool)
            .await
        {
            Ok(_) => return,
            Err(e) => {
                tracing::warn!(error = %e, attempt, "could not notify other instances");
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
        }
    }
}

/// The hints as JSON arrays of [`Notice`]s, each under [`MAX_PAYLOAD`]
/// bytes, in commit order.
pub fn payloads(hints: &[(LiveEvent, [i64; 2])]) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::from("[");
    for (event, [athlete_id, trainer_id]) in hints {
        let mut notice = Notice {
            session_id: event.session_id,
            seq: event.seq,
            athlete_id: *athlete_id,
            trainer_id: *trainer_id,
            event: Some(
                json!({ "kind": event.kind(), "at": event.at, "data": event.event.data() }),
            ),
        };
        let mut json = serde_json::to_string(&notice).unwrap_or_default();
        if json.len() > MAX_CARRIED {
            notice.event = None;
            json = serde_json::to_string(&notice).unwrap_or_default();
        }
        if current.len() > 1 && current.len() + json.len() + 2 > MAX_PAYLOAD {
            current.push(']');
            out.push(std::mem::replace(&mut current, String::from("[")));
        }
        if current.len() > 1 {
            current.push(',');
        }
        current.push_str(&json);
    }
    if current.len() > 1 {
        current.push(']');
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{RoundStatus, SessionEvent, Side};

    fn event(seq: i64, note_bytes: usize) -> (LiveEvent, [i64; 2]) {
        let event = if note_bytes == 0 {
            SessionEvent::RoundDeleted {
                by: Side::Trainer,
                round_id: seq,
                number: seq,
                was: RoundStatus::Draft,
            }
        } else {
            SessionEvent::SessionCancelled {
                by: Side::Athlete,
                reason: Some("x".repeat(note_bytes)),
            }
        };
        (
            LiveEvent {
                seq,
                session_id: 7,
                at: 1,
                event,
            },
            [1, 2],
        )
    }

    #[test]
    fn hints_fit_notify_and_keep_commit_order() {
        let hints: Vec<_> = (1..=300).map(|seq| event(seq, 0)).collect();
        let payloads = payloads(&hints);
        assert!(payloads.len() > 1, "300 hints do not fit one notification");
        let mut seqs = Vec::new();
        for payload in &payloads {
            assert!(payload.len() < MAX_PAYLOAD, "{}", payload.len());
            let notices: Vec<Notice> = serde_json::from_str(payload).unwrap();
            for notice in notices {
                seqs.push(notice.seq);
                // The listener reads the event back, as it was committed.
                let carried = crate::server::live::listener::carried(notice).unwrap();
                assert_eq!(carried, hints[carried.seq as usize - 1].0);
            }
        }
        assert_eq!(seqs, (1..=300).collect::<Vec<_>>());
    }

    #[test]
    fn a_large_event_travels_without_its_body() {
        let payloads = payloads(&[event(1, 0), event(2, 7_000), event(3, 0)]);
        let notices: Vec<Notice> = payloads
            .iter()
            .flat_map(|p| serde_json::from_str::<Vec<Notice>>(p).unwrap())
            .collect();
        assert_eq!(notices.len(), 3);
        assert!(notices[0].event.is_some());
        assert!(notices[1].event.is_none(), "read from the log instead");
        assert!(notices[2].event.is_some());
    }
}
