//! The core of both transports: replay a session's log from the client's
//! `since`, then continue with the hub's live frames, with no gap and no
//! duplicate, and a heartbeat frame every interval.

use super::{bus::Bus, hub::SharedFrame};
use crate::{
    model::live::{Frame, PROTOCOL_VERSION},
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

/// Sends `hello`, then every logged event after `since` (or `reset` if
/// `since` is past the log's end), then live frames, each event exactly
/// once and in seq order, with a `heartbeat` frame every `heartbeat`, until
/// the client goes away (`out` closed) or falls behind.
///
/// It subscribes to the hub *before* reading the log, so an event committed
/// during the replay is either in the log or on the channel (or both, and
/// then skipped by seq). Events published out of order by two concurrent
/// commits are put back in order by reading the gap from the log.
///
///
/// Runs in a span `follow` with the session id and `since`. (Made by hand
/// rather than with `#[tracing::instrument]`, which keeps two copies of an
/// async fn's state and so doubled the memory of every live connection's
/// follower.)
pub fn follow(
    db: Database,
    bus: Bus,
    session_id: i64,
    since: i64,
    heartbeat: Duration,
    out: mpsc::Sender<SharedFrame>,
) -> impl std::future::Future<Output = Ended> + Send {
    let span = tracing::info_span!("follow", session_id, since);
    run(db, bus, session_id, since, heartbeat, out).instrument(span)
}

/// [`follow`]'s body. One function on purpose, over 60 lines: it reads top
/// to bottom as the protocol's order (hello, presence, reset?, replay,
/// live), and `sent` threads through every step.
async fn run(
    db: Database,
    bus: Bus,
    session_id: i64,
    since: i64,
    heartbeat: Duration,
    out: mpsc::Sender<SharedFrame>,
) -> Ended {
    let mut live = bus.hub().subscribe(session_id);
    let send = |frame: Frame| {
        let out = out.clone();
        async move { out.send(SharedFrame::new(frame)).await.is_ok() }
    };
    let end = match events::head(&db, session_id).await {
        Ok(Some(head)) => head.last_seq,
        Ok(None) => return Ended::ClientGone,
        Err(error) => {
            tracing::error!(%error, "follow: cannot read where the log ends");
            return Ended::DatabaseError;
        }
    };
    if !send(Frame::Hello {
        version: PROTOCOL_VERSION,
        session_id,
        last_seq: end,
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
    let mut sent = since.max(0);
    if sent > end {
        metrics::live_reset();
        if !send(Frame::Reset { last_seq: end }).await {
            return Ended::ClientGone;
        }
        sent = end;
    }
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
        if !send(Frame::Event(event)).await {
            return Ended::ClientGone;
        }
    }
    let mut beat = heartbeats(heartbeat);
    loop {
        let frame = tokio::select! {
            frame = live.recv() => frame,
            _ = beat.tick() => {
                let beat = Frame::Heartbeat { at: now_ms(), last_seq: sent };
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
                for event in missing {
                    if !send(Frame::Event(event)).await {
                        return Ended::ClientGone;
                    }
                }
            }
            sent = event.seq;
        }
        if out.send(frame).await.is_err() {
            return Ended::ClientGone;
        }
    }
}

/// Ticks every `every`, the first tick one interval from now. A stalled
/// task does not make up for missed ticks with a burst.
pub(super) fn heartbeats(every: Duration) -> tokio::time::Interval {
    let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    interval
}
