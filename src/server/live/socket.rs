//! The WebSocket transport: `/api/sessions/{id}/live` (one session, with
//! replay) and `/api/live` (every session of the logged-in user, for
//! dashboards). [`pump`] moves frames to the socket and keeps the link
//! honest: pings, the client's `ping` frames answered at once, 4008 after
//! two silent intervals, 1001 when the server stops.

use super::{
    authorize,
    calls::{Caller, Queue},
    follow::{follow, heartbeats, Ended, Feed, Follower},
    hub::SharedFrame,
    typing::Relay,
    LiveContext, Since,
};
use crate::server::metrics::{self, Dropped, Open, Transport};
use crate::{
    model::{
        live::{
            ClientFrame, Frame, CLOSE_GOING_AWAY, CLOSE_RESUME, CLOSE_TIMEOUT, CLOSE_TOO_BIG,
            CLOSE_UNAUTHORIZED, PROTOCOL_VERSION,
        },
        Role, Side, User,
    },
    server::{
        auth::{CurrentLogin, CurrentUser},
        db::now_ms,
        shutdown::Shutdown,
    },
};
use axum::{
    extract::{
        ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade},
        Path, Query, State,
    },
    http::StatusCode,
    response::{IntoResponse, Response},
    Extension,
};
use futures::{SinkExt, StreamExt};
use std::time::Duration;
use tokio::sync::{broadcast::error::RecvError, mpsc};

/// `GET /api/sessions/{id}/live?since=N`, upgraded to a WebSocket.
pub async fn session(
    State(state): State<LiveContext>,
    Path(session_id): Path<i64>,
    Query(Since { since, snapshot }): Query<Since>,
    Extension(user): Extension<CurrentUser>,
    Extension(CurrentLogin(login)): Extension<CurrentLogin>,
    caller: Caller,
    upgrade: WebSocketUpgrade,
) -> Response {
    let (side, slot) = match authorize(&state, user, session_id).await {
        Ok(allowed) => allowed,
        Err(refusal) => return refusal,
    };
    let ended = super::logged_out(state.bus.logouts(), login);
    lean(upgrade).on_upgrade(move |socket| async move {
        let _slot = slot;
        // Present before the first frame goes out, so a client that got
        // `hello` is already counted.
        let presence = state.bus.presences().present(session_id, side);
        let feed = Feed::of(&state);
        let follower = Follower {
            session_id,
            side,
            since,
            snapshot: snapshot != 0,
        };
        let transport = Transport::WebSocket;
        let typing = Relay::new(state.bus.typists().clone(), session_id, side);
        serve(
            socket,
            state,
            caller,
            ended,
            transport,
            Some(typing),
            move |out| follow(feed, follower, out),
        )
        .await;
        drop(presence);
    })
}

/// Buffers sized for what flows here: clients send pongs, close frames,
/// pings and the odd call, the server small JSON frames written one at a
/// time. (The 128 KiB
/// defaults cost ~150 KiB of memory per idle connection.)
fn lean(upgrade: WebSocketUpgrade) -> WebSocketUpgrade {
    upgrade
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_message_size(64 * 1024)
        .max_frame_size(64 * 1024)
}

/// `GET /api/live`: a WebSocket with the events of every session the
/// logged-in user takes part in, for dashboards (no replay: a dashboard
/// refetches its lists when it connects).
pub async fn dashboard(
    State(state): State<LiveContext>,
    Extension(CurrentUser(user)): Extension<CurrentUser>,
    Extension(CurrentLogin(login)): Extension<CurrentLogin>,
    caller: Caller,
    upgrade: WebSocketUpgrade,
) -> Response {
    let ended = super::logged_out(state.bus.logouts(), login);
    let Some(User {
        id: user_id, role, ..
    }) = user
    else {
        return (StatusCode::UNAUTHORIZED, "Please log in").into_response();
    };
    // A user takes part on one side, their role's: an athlete's dashboard
    // hears nothing of drafts either.
    let side = match role {
        Role::Athlete => Side::Athlete,
        Role::Trainer => Side::Trainer,
    };
    let Some(slot) = state.cap.take(user_id) else {
        return super::too_many_connections();
    };
    let mut live = state.bus.hub().subscribe_user(user_id);
    let heartbeat = state.heartbeat;
    lean(upgrade).on_upgrade(move |socket| async move {
        let _slot = slot;
        serve(socket, state, caller, ended, Transport::Dashboard, None, move |out| async move {
            let hello = Frame::Hello {
                version: PROTOCOL_VERSION,
                session_id: 0,
                last_seq: 0,
                heartbeat_ms: heartbeat.as_millis() as u64,
            };
            if out.send(SharedFrame::new(hello)).await.is_err() {
                return Ended::ClientGone;
            }
            let mut beat = heartbeats(heartbeat);
            loop {
                let frame = tokio::select! {
                    frame = live.recv() => frame,
                    _ = beat.tick() => Ok(SharedFrame::new(Frame::Heartbeat { at: now_ms(), last_seq: 0 })),
                };
                match frame {
                    Ok(frame) if matches!(frame.frame(), Frame::Event(e) if !e.event.visible_to(side)) => {}
                    Ok(frame) => {
                        if out.send(frame).await.is_err() {
                            return Ended::ClientGone;
                        }
                    }
                    Err(RecvError::Lagged(_)) => return Ended::FellBehind,
                    Err(RecvError::Closed) => return Ended::ClientGone,
                }
            }
        })
        .await;
    })
}

/// Serves an upgraded socket: the follower `follow` makes (given where its
/// frames go) feeds it, the client's calls go to the router, its typing
/// to `typing` (session sockets), and [`pump`] runs the connection until
/// it ends.
async fn serve<F>(
    socket: WebSocket,
    state: LiveContext,
    caller: Caller,
    logged_out: impl std::future::Future<Output = ()>,
    transport: Transport,
    typing: Option<Relay>,
    follow: impl FnOnce(mpsc::Sender<SharedFrame>) -> F,
) where
    F: std::future::Future<Output = Ended> + Send + 'static,
{
    let (out, frames) = mpsc::channel::<SharedFrame>(64);
    let calls = Queue::new(state.calls, caller, &out);
    let follower = tokio::spawn(follow(out));
    let sources = Sources {
        frames,
        follower,
        calls,
        typing,
    };
    pump(
        socket,
        sources,
        state.heartbeat,
        state.shutdown,
        logged_out,
        transport,
    )
    .await;
}

/// What a connection's frames come from and its calls go to.
struct Sources {
    /// The follower's frames and the calls' answers.
    frames: mpsc::Receiver<SharedFrame>,
    /// The follower (it ends when the client is gone or fell behind).
    follower: tokio::task::JoinHandle<Ended>,
    /// The client's calls.
    calls: Queue,
    /// Where the client's typing goes (session sockets only).
    typing: Option<Relay>,
}

/// Moves frames to the socket, pings every `heartbeat`, answers the client's
/// `ping` frames with `pong` at once, queues its calls (answered on the
/// frames channel, `calls`), and ends the connection when the
/// client leaves, when it has been silent for exactly two heartbeats (close
/// code 4008), when it sends a message over 64 KiB (1009), when the
/// follower ends (one that fell behind gets 4000), or
/// when the server stops (1001, "going away": the client reconnects
/// elsewhere), or when the login it was opened with ends (4401: logged out).
///
/// Over 60 lines on purpose: one `select!` holds every reason a connection
/// ends, so they can be read (and their close codes checked) side by side.
async fn pump(
    socket: WebSocket,
    Sources {
        mut frames,
        follower,
        mut calls,
        mut typing,
    }: Sources,
    heartbeat: Duration,
    shutdown: Shutdown,
    logged_out: impl std::future::Future<Output = ()>,
    transport: Transport,
) {
    let _open = Open::new(transport);
    let (mut sink, mut incoming) = socket.split();
    tokio::pin!(logged_out);
    let mut ping = tokio::time::interval(heartbeat);
    ping.tick().await;
    // Anything the client sends (a pong to our ping included) moves this
    // deadline to two intervals from then.
    let silence = tokio::time::sleep(heartbeat * 2);
    tokio::pin!(silence);
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
            () = &mut logged_out => {
                let _ = tokio::time::timeout(deadline, sink.send(close(CLOSE_UNAUTHORIZED, "logged out"))).await;
                break;
            }
            () = &mut silence => {
                metrics::dropped(Dropped::Silent);
                let _ = tokio::time::timeout(deadline, sink.send(close(CLOSE_TIMEOUT, "no heartbeat"))).await;
                break;
            }
            frame = frames.recv() => {
                let Some(frame) = frame else { break };
                let text = Message::Text(frame.json().into());
                match tokio::time::timeout(deadline, sink.send(text)).await {
                    Ok(Ok(())) => metrics::frame_delivered(transport),
                    _ => break,
                }
            }
            message = incoming.next() => match message {
                Some(Ok(Message::Close(_))) | None => break,
                Some(Err(error)) => {
                    // Over `lean`'s 64 KiB: say so before hanging up.
                    if is_too_big(&error) {
                        metrics::dropped(Dropped::TooBig);
                        let _ = tokio::time::timeout(deadline, sink.send(close(CLOSE_TOO_BIG, "message too big"))).await;
                    }
                    break;
                }
                Some(Ok(message)) => {
                    silence.as_mut().reset(tokio::time::Instant::now() + heartbeat * 2);
                    if let Some(pong) = answer(&message, &mut calls, typing.as_mut()) {
                        match tokio::time::timeout(deadline, sink.send(Message::Text(pong.into()))).await {
                            Ok(Ok(())) => {}
                            _ => break,
                        }
                    }
                }
            },
            _ = ping.tick() => {
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
        metrics::dropped(Dropped::FellBehind);
        let _ = tokio::time::timeout(deadline, sink.send(close(CLOSE_RESUME, "resume"))).await;
    }
}

/// Whether reading failed because the client's message or frame was over
/// the size limit (tungstenite's `Capacity` error; axum does not expose the
/// type, only its text).
fn is_too_big(error: &axum::Error) -> bool {
    let text = error.to_string();
    text.contains("Space limit exceeded") || text.contains("Message too long")
}

/// The immediate reply to a client's frame, if it asks for one (`ping`
/// does; a `call` is queued and answered later; `typing` is relayed, at
/// most once a second; anything else a client sends is ignored).
fn answer(message: &Message, calls: &mut Queue, typing: Option<&mut Relay>) -> Option<String> {
    let Message::Text(text) = message else {
        return None;
    };
    match serde_json::from_str::<ClientFrame>(text.as_str()).ok()? {
        ClientFrame::Ping { id } => serde_json::to_string(&Frame::Pong { id, at: now_ms() }).ok(),
        ClientFrame::Call { id, path, body } => {
            calls.push(id, path, body);
            None
        }
        ClientFrame::Typing => {
            if let Some(relay) = typing {
                relay.typed();
            }
            None
        }
    }
}
