//! `GET /api/sessions/{id}/events`: the session's frames as Server-Sent
//! Events, for browsers whose WebSocket keeps failing.

use super::{authorize, follow, hub::SharedFrame, Feed, Follower, LiveContext, Since};
use crate::server::metrics::{self, Open, Transport};
use crate::{
    model::live::Frame,
    server::auth::{CurrentLogin, CurrentUser},
};
use axum::{
    extract::{Path, Query, State},
    http::HeaderMap,
    response::{
        sse::{Event as SseEvent, Sse},
        IntoResponse, Response,
    },
    Extension,
};
use futures::StreamExt;
use tokio::sync::mpsc;

/// The same frames as the WebSocket, `id:` = seq for events, resuming from
/// `Last-Event-ID` (or `?since=`).
pub async fn session(
    State(state): State<LiveContext>,
    Path(session_id): Path<i64>,
    Query(Since { since, snapshot }): Query<Since>,
    Extension(user): Extension<CurrentUser>,
    Extension(CurrentLogin(login)): Extension<CurrentLogin>,
    headers: HeaderMap,
) -> Response {
    let (side, slot) = match authorize(&state, user, session_id).await {
        Ok(allowed) => allowed,
        Err(refusal) => return refusal,
    };
    let since = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .unwrap_or(since);
    let (out, frames) = mpsc::channel::<SharedFrame>(64);
    // The stream holds its presence and its slot under the cap.
    let presence = (
        state.bus.presences().present(session_id, side),
        slot,
        Open::new(Transport::EventStream),
    );
    // The follower ends by itself once the stream (and `frames`) is gone.
    tokio::spawn(follow(
        Feed::of(&state),
        Follower {
            session_id,
            side,
            since,
            snapshot: snapshot != 0,
        },
        out,
    ));
    let shutdown = state.shutdown.clone();
    let ended = super::logged_out(state.bus.logouts(), login);
    let stream = futures::stream::unfold((frames, presence), |(mut frames, presence)| async move {
        let frame = frames.recv().await?;
        metrics::frame_delivered(Transport::EventStream);
        let event = SseEvent::default().data(frame.json());
        let event = match frame.frame() {
            Frame::Event(e) => event.id(e.seq.to_string()).event("event"),
            Frame::Snapshot { last_seq, .. } => event.id(last_seq.to_string()).event("snapshot"),
            Frame::Hello { .. } => event.event("hello"),
            Frame::Reset { .. } => event.event("reset"),
            Frame::Presence { .. } => event.event("presence"),
            Frame::Typing { .. } => event.event("typing"),
            Frame::Heartbeat { .. } => event.event("heartbeat"),
            Frame::Pong { .. } => event.event("pong"),
            Frame::Answer(_) => event.event("answer"),
        };
        Some((Ok::<_, std::convert::Infallible>(event), (frames, presence)))
    });
    // The stream ends when the server stops (an open one would otherwise
    // keep the process from exiting); the browser's EventSource reconnects
    // with Last-Event-ID.
    // It also ends when the login it was opened with ends (logout).
    let stream = stream.take_until(async move {
        tokio::select! {
            () = shutdown.requested() => {}
            () = ended => {}
        }
    });
    // `follow` sends heartbeat frames, so no keep-alive comments are needed.
    Sse::new(stream).into_response()
}
