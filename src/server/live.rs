//! The live endpoints: a WebSocket (`/api/sessions/{id}/live`) and a
//! Server-Sent Events fallback (`/api/sessions/{id}/events`) over the same
//! core, [`follow`], which replays the session's event log from the client's
//! `since` and then continues with the hub's live frames, with no gap and no
//! duplicate. The wire format is documented in `docs/live-protocol.md`.
//!
//! Authorization happens before anything is sent: no login is 401, not a
//! participant 403, no such session 404 (plain HTTP answers, before the
//! upgrade). This module never writes to the database.

use super::{auth::CurrentUser, db::Database, hub::SharedFrame, AppState, Shutdown};
use crate::model::{
    live::{
        ClientFrame, Frame, LiveEvent, CLOSE_GOING_AWAY, CLOSE_RESUME, CLOSE_TIMEOUT,
        PROTOCOL_VERSION,
    },
    Side,
};
use axum::{
    extract::{
        ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade},
        Path, Query, State,
    },
    http::{HeaderMap, StatusCode},
    response::{
        sse::{Event as SseEvent, Sse},
        IntoResponse, Response,
    },
    routing::get,
    Extension, Router,
};
use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use std::{sync::Arc, time::Duration};
use tokio::sync::{broadcast::error::RecvError, mpsc};

/// The live routes, merged into the app's router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/sessions/{id}/live", get(websocket))
        .route("/api/sessions/{id}/events", get(server_sent_events))
        .route("/api/live", get(dashboard_socket))
}

/// `?since=<last seq the client applied>`; 0 or absent means "everything".
#[derive(Debug, Default, Deserialize)]
pub struct Since {
    #[serde(default)]
    since: i64,
}

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

/// Which side `user` is on in `session_id`, or the HTTP refusal.
async fn authorize(
    db: &Database,
    user: Option<crate::model::User>,
    session_id: i64,
) -> Result<Side, Response> {
    let Some(user) = user else {
        return Err((
            StatusCode::UNAUTHORIZED,
            "Please log in to follow a session",
        )
            .into_response());
    };
    let row: Option<(i64, i64)> =
        sqlx::query_as("SELECT athlete_id, trainer_id FROM training_sessions WHERE id = $1")
            .bind(session_id)
            .fetch_optional(&db.pool)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "live: cannot read session");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            })?;
    match row {
        None => Err((StatusCode::NOT_FOUND, "There is no such session").into_response()),
        Some((athlete, _)) if athlete == user.id => Ok(Side::Athlete),
        Some((_, trainer)) if trainer == user.id => Ok(Side::Trainer),
        Some(_) => Err((
            StatusCode::FORBIDDEN,
            "This session belongs to someone else",
        )
            .into_response()),
    }
}

async fn last_seq(db: &Database, session_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT last_seq FROM training_sessions WHERE id = $1")
        .bind(session_id)
        .fetch_one(&db.pool)
        .await
}

/// Logged events with `after < seq <= upto`, in order.
pub async fn events_between(
    db: &Database,
    session_id: i64,
    after: i64,
    upto: i64,
) -> Result<Vec<LiveEvent>, sqlx::Error> {
    let rows: Vec<(i64, String, i64, String)> = sqlx::query_as(
        "SELECT seq, kind, at, payload FROM session_events WHERE session_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq",
    )
    .bind(session_id)
    .bind(after)
    .bind(upto)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(seq, kind, at, payload)| LiveEvent {
            seq,
            kind,
            session_id,
            at,
            data: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
        })
        .collect())
}

/// The core of both transports: sends `hello`, then every logged event after
/// `since` (or `reset` if `since` is past the log's end), then live frames,
/// each event exactly once and in seq order, with a `heartbeat` frame every
/// `heartbeat`, until the client goes away (`out` closed) or falls behind.
///
/// It subscribes to the hub *before* reading the log, so an event committed
/// during the replay is either in the log or on the channel (or both, and
/// then skipped by seq). Events published out of order by two concurrent
/// commits are put back in order by reading the gap from the log.
pub async fn follow(
    db: Database,
    session_id: i64,
    since: i64,
    heartbeat: Duration,
    out: mpsc::Sender<SharedFrame>,
) -> Ended {
    let mut live = db.hub.subscribe(session_id);
    let send = |frame: Frame| {
        let out = out.clone();
        async move { out.send(Arc::new(frame)).await.is_ok() }
    };
    let Ok(end) = last_seq(&db, session_id).await else {
        return Ended::DatabaseError;
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
    let (athlete, trainer) = db.hub.who_is_here(session_id);
    let presence = Frame::Presence {
        session_id,
        athlete,
        trainer,
        at: super::db::now_ms(),
    };
    if !send(presence).await {
        return Ended::ClientGone;
    }
    let mut sent = since.max(0);
    if sent > end {
        if !send(Frame::Reset { last_seq: end }).await {
            return Ended::ClientGone;
        }
        sent = end;
    }
    let Ok(replay) = events_between(&db, session_id, sent, end).await else {
        return Ended::DatabaseError;
    };
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
                let beat = Frame::Heartbeat { at: super::db::now_ms(), last_seq: sent };
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
        if let Frame::Event(event) = &*frame {
            if event.seq <= sent {
                continue;
            }
            if event.seq > sent + 1 {
                let Ok(missing) = events_between(&db, session_id, sent, event.seq - 1).await else {
                    return Ended::DatabaseError;
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
fn heartbeats(every: Duration) -> tokio::time::Interval {
    let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    interval
}

/// `GET /api/sessions/{id}/live?since=N`, upgraded to a WebSocket.
async fn websocket(
    State(state): State<AppState>,
    Path(session_id): Path<i64>,
    Query(Since { since }): Query<Since>,
    Extension(CurrentUser(user)): Extension<CurrentUser>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let side = match authorize(&state.db, user, session_id).await {
        Ok(side) => side,
        Err(refusal) => return refusal,
    };
    let db = state.db.clone();
    let heartbeat = state.heartbeat;
    let shutdown = state.shutdown.clone();
    lean(upgrade).on_upgrade(move |socket| {
        serve_socket(socket, db, session_id, side, since, heartbeat, shutdown)
    })
}

/// Buffers sized for what flows here: clients send only pongs and close
/// frames, the server small JSON frames written one at a time. (The 128 KiB
/// defaults cost ~150 KiB of memory per idle connection.)
fn lean(upgrade: WebSocketUpgrade) -> WebSocketUpgrade {
    upgrade
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_message_size(64 * 1024)
        .max_frame_size(64 * 1024)
}

async fn serve_socket(
    socket: WebSocket,
    db: Database,
    session_id: i64,
    side: Side,
    since: i64,
    heartbeat: Duration,
    shutdown: Shutdown,
) {
    let (out, frames) = mpsc::channel::<SharedFrame>(64);
    // Present before the first frame goes out, so a client that got `hello`
    // is already counted.
    let presence = db.hub.present(session_id, side);
    let follower = tokio::spawn(follow(db.clone(), session_id, since, heartbeat, out));
    pump(socket, frames, follower, heartbeat, shutdown).await;
    drop(presence);
}

/// `GET /api/live`: a WebSocket with the events of every session the
/// logged-in user takes part in, for dashboards (no replay: a dashboard
/// refetches its lists when it connects).
async fn dashboard_socket(
    State(state): State<AppState>,
    Extension(CurrentUser(user)): Extension<CurrentUser>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let Some(user) = user else {
        return (StatusCode::UNAUTHORIZED, "Please log in").into_response();
    };
    let mut live = state.db.hub.subscribe_user(user.id);
    let heartbeat = state.heartbeat;
    let shutdown = state.shutdown.clone();
    lean(upgrade).on_upgrade(move |socket| async move {
        let (out, frames) = mpsc::channel::<SharedFrame>(64);
        let follower = tokio::spawn(async move {
            let hello = Frame::Hello {
                version: PROTOCOL_VERSION,
                session_id: 0,
                last_seq: 0,
                heartbeat_ms: heartbeat.as_millis() as u64,
            };
            if out.send(Arc::new(hello)).await.is_err() {
                return Ended::ClientGone;
            }
            let mut beat = heartbeats(heartbeat);
            loop {
                let frame = tokio::select! {
                    frame = live.recv() => frame,
                    _ = beat.tick() => Ok(Arc::new(Frame::Heartbeat { at: super::db::now_ms(), last_seq: 0 })),
                };
                match frame {
                    Ok(frame) => {
                        if out.send(frame).await.is_err() {
                            return Ended::ClientGone;
                        }
                    }
                    Err(RecvError::Lagged(_)) => return Ended::FellBehind,
                    Err(RecvError::Closed) => return Ended::ClientGone,
                }
            }
        });
        pump(socket, frames, follower, heartbeat, shutdown).await;
    })
}

/// Moves frames to the socket, pings every `heartbeat`, answers the client's
/// `ping` frames with `pong` at once, and ends the connection when the
/// client leaves, stays silent for two heartbeats, or the follower ends (a
/// follower that fell behind gets close code 4000), or the server stops
/// (close code 1001, "going away": the client reconnects elsewhere).
async fn pump(
    socket: WebSocket,
    mut frames: mpsc::Receiver<SharedFrame>,
    follower: tokio::task::JoinHandle<Ended>,
    heartbeat: Duration,
    shutdown: Shutdown,
) {
    let (mut sink, mut incoming) = socket.split();
    let mut ping = tokio::time::interval(heartbeat);
    ping.tick().await;
    let mut heard = tokio::time::Instant::now();
    let close = |code: u16, reason: &'static str| {
        Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        }))
    };
    // Sending to a client that stopped reading must not stall this task
    // forever: a send that takes longer than a heartbeat ends the connection.
    let deadline = heartbeat.max(Duration::from_secs(1));
    let stopping = shutdown.requested();
    tokio::pin!(stopping);
    loop {
        tokio::select! {
            () = &mut stopping => {
                let _ = tokio::time::timeout(deadline, sink.send(close(CLOSE_GOING_AWAY, "server stopping"))).await;
                break;
            }
            frame = frames.recv() => {
                let Some(frame) = frame else { break };
                let Ok(text) = serde_json::to_string(&*frame) else { continue };
                match tokio::time::timeout(deadline, sink.send(Message::Text(text.into()))).await {
                    Ok(Ok(())) => {}
                    _ => break,
                }
            }
            message = incoming.next() => match message {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(message)) => {
                    heard = tokio::time::Instant::now();
                    if let Some(pong) = answer(&message) {
                        match tokio::time::timeout(deadline, sink.send(Message::Text(pong.into()))).await {
                            Ok(Ok(())) => {}
                            _ => break,
                        }
                    }
                }
            },
            _ = ping.tick() => {
                if heard.elapsed() > heartbeat * 2 {
                    let _ = tokio::time::timeout(deadline, sink.send(close(CLOSE_TIMEOUT, "no heartbeat"))).await;
                    break;
                }
                if tokio::time::timeout(deadline, sink.send(Message::Ping(Default::default()))).await.is_err() {
                    break;
                }
            }
        }
    }
    // Stop the follower now (rather than when it next notices the closed
    // channel), so its hub subscription is gone before presence ends and the
    // session's channel can be freed.
    let fell_behind = if follower.is_finished() {
        matches!(follower.await, Ok(Ended::FellBehind))
    } else {
        follower.abort();
        let _ = follower.await;
        false
    };
    if fell_behind {
        let _ = tokio::time::timeout(deadline, sink.send(close(CLOSE_RESUME, "resume"))).await;
    }
}

/// The reply to a client's frame, if it asks for one (only `ping` does;
/// anything else a client sends is ignored).
fn answer(message: &Message) -> Option<String> {
    let Message::Text(text) = message else {
        return None;
    };
    match serde_json::from_str::<ClientFrame>(text.as_str()).ok()? {
        ClientFrame::Ping { id } => serde_json::to_string(&Frame::Pong {
            id,
            at: super::db::now_ms(),
        })
        .ok(),
    }
}

/// `GET /api/sessions/{id}/events`: the same frames as Server-Sent Events,
/// `id:` = seq for events, resuming from `Last-Event-ID` (or `?since=`).
async fn server_sent_events(
    State(state): State<AppState>,
    Path(session_id): Path<i64>,
    Query(Since { since }): Query<Since>,
    Extension(CurrentUser(user)): Extension<CurrentUser>,
    headers: HeaderMap,
) -> Response {
    let side = match authorize(&state.db, user, session_id).await {
        Ok(side) => side,
        Err(refusal) => return refusal,
    };
    let since = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .unwrap_or(since);
    let (out, frames) = mpsc::channel::<SharedFrame>(64);
    let db = state.db.clone();
    let presence = db.hub.present(session_id, side);
    tokio::spawn(follow(db, session_id, since, state.heartbeat, out));
    let shutdown = state.shutdown.clone();
    let stream = futures::stream::unfold((frames, presence), |(mut frames, presence)| async move {
        let frame = frames.recv().await?;
        let data = serde_json::to_string(&*frame).unwrap_or_default();
        let mut event = SseEvent::default().data(data);
        event = match &*frame {
            Frame::Event(e) => event.id(e.seq.to_string()).event("event"),
            Frame::Hello { .. } => event.event("hello"),
            Frame::Reset { .. } => event.event("reset"),
            Frame::Presence { .. } => event.event("presence"),
            Frame::Heartbeat { .. } => event.event("heartbeat"),
            Frame::Pong { .. } => event.event("pong"),
        };
        Some((Ok::<_, std::convert::Infallible>(event), (frames, presence)))
    });
    // The stream ends when the server stops (an open one would otherwise
    // keep the process from exiting); the browser's EventSource reconnects
    // with Last-Event-ID.
    let stream = stream.take_until(async move { shutdown.requested().await });
    // `follow` sends heartbeat frames, so no keep-alive comments are needed.
    Sse::new(stream).into_response()
}
