//! The core of both transports: the side's snapshot of the session (or a
//! replay of its log from the client's `since`), then the hub's live
//! frames, with no gap and no duplicate, only what the side is shown, and
//! a heartbeat frame every interval.

use super::{bus::Bus, hub::SharedFrame, LiveContext, ReadView};
use crate::{
    model::{
        live::{Frame, PROTOCOL_VERSION},
        Side,
    },
    server::{
        db::{now_ms, Database},
        events, metrics,
    },
};
use std::time::Duration;
use tokio::sync::{broadcast::error::RecvError, mpsc};
use tracing::Instrument;

/// Why [`follow`] stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    /// The client went away.
    ClientGone,
    /// The client fell more than the hub's buffer behind: it must resume.
    FellBehind,
    /// The database could not be read.
    DatabaseError,
}

/// Where a follower's frames come from: the log, the hub, the side's
/// snapshot, and the heartbeat's pace.
#[derive(Clone)]
pub struct Feed {
    /// The event log.
    pub db: Database,
    /// The hub.
    pub bus: Bus,
    /// Reads a side's snapshot.
    pub read_view: ReadView,
    /// How often a heartbeat goes out.
    pub heartbeat: Duration,
}

impl Feed {
    /// The feed of the live routes' state.
    pub fn of(state: &LiveContext) -> Feed {
        Feed {
            db: state.db.clone(),
            bus: state.bus.clone(),
            read_view: state.read_view,
            heartbeat: state.heartbeat,
        }
    }
}

/// What a live connection follows, and from where.
#[derive(Clone, Copy, Debug)]
pub struct Follower {
    /// The session.
    pub session_id: i64,
    /// The connection's side: the athlete is never sent a draft's event.
    pub side: Side,
    /// The last seq the client applied (replay after it).
    pub since: i64,
    /// Start with the side's `snapshot` frame, then the events after it,
    /// instead of replaying from `since`.
    pub snapshot: bool,
}

/// Sends `hello`, then either the side's `snapshot` and the events after
/// it, or every logged event after `since` (or `reset` if `since` is past
/// the log's end), then live frames, each event exactly once and in seq
/// order, with a `heartbeat` frame every `heartbeat`, until the client goes
/// away (`out` closed) or falls behind. Events the side is not shown (the
/// trainer's drafts, for the athlete) are skipped, and the positions this
/// connection reports (`hello`, `heartbeat`) are those of the events it
/// was shown.
///
/// It subscribes to the hub *before* reading the log or the snapshot, so
/// an event committed meanwhile is either in what was read or on the
/// channel (or both, and then skipped by seq). Events published out of
/// order by two concurrent commits are put back in order by reading the
/// gap from the log.
///
/// Runs in a span `follow` with the session id and `since`. (Made by hand
/// rather than with `#[tracing::instrument]`, which keeps two copies of an
/// async fn's state and so doubled the memory of every live connection's
/// follower.)
pub fn follow(
    feed: Feed,
    follower: Follower,
    out: mpsc::Sender<SharedFrame>,
) -> impl std::future::Future<Output = Ended> + Send {
    let span = tracing::info_span!("follow", follower.session_id, follower.since);
    run(feed, follower, out).instrument(span)
}

/// [`follow`]'s body. One function on purpose, over 60 lines: it reads top
/// to bottom as the protocol's order (hello, presence, snapshot or reset?
/// and replay, live), and `sent` threads through every step.
async fn run(feed: Feed, follower: Follower, out: mpsc::Sender<SharedFrame>) -> Ended {
    let Feed {
        db,
        bus,
        read_view,
        heartbeat,
    } = feed;
    let Follower {
        session_id, side, ..
    } = follower;
    let mut live = bus.hub().subscribe(session_id);
    let send = |frame: Frame| {
        let out = out.clone();
        async move { out.send(SharedFrame::new(frame)).await.is_ok() }
    };
    // `sent`: the log position handled (shown or skipped); `shown`: the
    // last event shown, the position this side is told about.
    let (mut sent, mut shown, snapshot) = if follower.snapshot {
        match read_view(db.clone(), session_id, side).await {
            Ok(view) => {
                let at = view.summary.last_seq;
                (at, at, Some(view))
            }
            Err(error) => {
                tracing::error!(%error, "follow: cannot read the snapshot");
                return Ended::DatabaseError;
            }
        }
    } else {
        (follower.since.max(0), follower.since.max(0), None)
    };
    let end = match events::head(&db, session_id).await {
        Ok(Some(head)) => head.last_seq,
        Ok(None) => return Ended::ClientGone,
        Err(error) => {
            tracing::error!(%error, "follow: cannot read where the log ends");
            return Ended::DatabaseError;
        }
    };
    let told = match &snapshot {
        Some(_) => shown,
        None => match shown_upto(&db, session_id, side, end).await {
            Ok(told) => told,
            Err(error) => {
                tracing::error!(%error, "follow: cannot read where the log ends");
                return Ended::DatabaseError;
            }
        },
    };
    if !send(Frame::Hello {
        version: PROTOCOL_VERSION,
        session_id,
        last_seq: told,
        heartbeat_ms: heartbeat.as_millis() as u64,
    })
    .await
    {
        return Ended::ClientGone;
    }
    let (athlete, trainer) = bus.presences().who_is_here(session_id);
    let presence = Frame::Presence {
        session_id,
        athlete,
        trainer,
        at: now_ms(),
    };
    if !send(presence).await {
        return Ended::ClientGone;
    }
    if let Some(view) = snapshot {
        metrics::live_snapshot();
        let frame = Frame::Snapshot {
            last_seq: view.summary.last_seq,
            view: Box::new(view),
        };
        if !send(frame).await {
            return Ended::ClientGone;
        }
    } else if sent > end {
        metrics::live_reset();
        if !send(Frame::Reset { last_seq: told }).await {
            return Ended::ClientGone;
        }
        (sent, shown) = (end, told);
    }
    // The replay (for a snapshot: whatever committed between its read and
    // the log's end read above).
    let replay = match events::between(&db, session_id, sent, end).await {
        Ok(replay) => replay,
        Err(error) => {
            tracing::error!(%error, "follow: cannot replay the log");
            return Ended::DatabaseError;
        }
    };
    metrics::events_replayed(replay.len());
    for event in replay {
        sent = event.seq;
        if event.event.visible_to(side) {
            shown = event.seq;
            if !send(Frame::Event(event)).await {
                return Ended::ClientGone;
            }
        }
    }
    let mut beat = heartbeats(heartbeat);
    loop {
        let frame = tokio::select! {
            frame = live.recv() => frame,
            _ = beat.tick() => {
                let beat = Frame::Heartbeat { at: now_ms(), last_seq: shown };
                if !send(beat).await {
                    return Ended::ClientGone;
                }
                continue;
            }
            _ = out.closed() => return Ended::ClientGone,
        };
        let frame = match frame {
            Ok(frame) => frame,
            Err(RecvError::Lagged(_)) => return Ended::FellBehind,
            Err(RecvError::Closed) => return Ended::ClientGone,
        };
        if let Frame::Event(event) = frame.frame() {
            if event.seq <= sent {
                continue;
            }
            if event.seq > sent + 1 {
                let missing = match events::between(&db, session_id, sent, event.seq - 1).await {
                    Ok(missing) => missing,
                    Err(error) => {
                        tracing::error!(%error, "follow: cannot read a gap from the log");
                        return Ended::DatabaseError;
                    }
                };
                for event in missing.into_iter().filter(|e| e.event.visible_to(side)) {
                    shown = event.seq;
                    if !send(Frame::Event(event)).await {
                        return Ended::ClientGone;
                    }
                }
            }
            sent = event.seq;
            if !event.event.visible_to(side) {
                continue;
            }
            shown = event.seq;
        }
        // Typing is for the other side (a second tab of the typist's own
        // side is not told either).
        if matches!(frame.frame(), Frame::Typing { by, .. } if *by == side) {
            continue;
        }
        if out.send(frame).await.is_err() {
            return Ended::ClientGone;
        }
    }
}

/// The position `side` is told about when the log ends at `end`.
async fn shown_upto(
    db: &Database,
    session_id: i64,
    side: Side,
    end: i64,
) -> Result<i64, sqlx::Error> {
    if side == Side::Trainer {
        return Ok(end);
    }
    let mut conn = db.pool.acquire().await?;
    events::last_shown(&mut conn, session_id, side, end).await
}

/// Ticks every `every`, the first tick one interval from now. A stalled
/// task does not make up for missed ticks with a burst.
pub(super) fn heartbeats(every: Duration) -> tokio::time::Interval {
    let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    interval
}
