//! The live layer over a real WebSocket (and SSE): who may listen, replay
//! from `since`, live events in order with no gap or duplicate, presence,
//! reset, heartbeat.

use crate::helpers::{feedback, squat, FeedbackRow};
use crate::helpers::{spawn_app, Backend, Person, TestApp};
use futures::StreamExt;
use reqwest::{header, StatusCode};
use spotter::model::live::{Frame, CLOSE_TIMEOUT};
use std::time::Duration;
use tokio_tungstenite::{
    connect_async,
    tungstenite::{client::IntoClientRequest, protocol::frame::coding::CloseCode, Message},
    MaybeTlsStream, WebSocketStream,
};

pub(crate) type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

crate::on_both_backends!(
    only_logged_in_participants_can_listen,
    replay_from_since_then_live,
    events_committed_during_the_replay_arrive_once_and_in_order,
    presence_follows_connections,
    a_since_past_the_end_gets_a_reset,
    a_silent_client_is_disconnected_after_two_heartbeats,
    server_sent_events_resume_from_last_event_id,
    a_subscriber_that_falls_behind_is_dropped_and_resumes_without_loss,
    dashboards_hear_about_their_own_sessions,
    closed_connections_free_their_channels,
    presence_frames_go_out_only_when_presence_changes,
);

pub(crate) async fn connect(
    app: &TestApp,
    cookie: Option<&str>,
    session: i64,
    since: i64,
) -> Result<Socket, StatusCode> {
    connect_to(&app.address, cookie, session, since).await
}

/// [`connect`] through any address (a proxy in front of the app, say).
pub(crate) async fn connect_to(
    address: &str,
    cookie: Option<&str>,
    session: i64,
    since: i64,
) -> Result<Socket, StatusCode> {
    let url = format!(
        "{}/api/sessions/{session}/live?since={since}",
        address.replace("http://", "ws://")
    );
    let mut request = url.into_client_request().expect("valid request");
    if let Some(cookie) = cookie {
        request
            .headers_mut()
            .insert(header::COOKIE, cookie.parse().expect("cookie header"));
    }
    match connect_async(request).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(StatusCode::from_u16(response.status().as_u16()).unwrap())
        }
        Err(e) => panic!("websocket connect failed: {e}"),
    }
}

pub(crate) async fn listen(app: &TestApp, who: &Person, session: i64, since: i64) -> Socket {
    connect(app, Some(&who.cookie), session, since)
        .await
        .expect("participant may listen")
}

/// The next frame (skipping pings and heartbeats), failing after 5 s.
pub(crate) async fn next_frame(socket: &mut Socket) -> Frame {
    loop {
        match next_frame_or_heartbeat(socket).await {
            Frame::Heartbeat { .. } => continue,
            frame => return frame,
        }
    }
}

/// The next frame, heartbeats included (skipping WebSocket pings), failing
/// after 5 s.
pub(crate) async fn next_frame_or_heartbeat(socket: &mut Socket) -> Frame {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("a frame within 5 s")
            .expect("socket open")
            .expect("no socket error");
        match message {
            Message::Text(text) => return serde_json::from_str(&text).expect("a protocol frame"),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected message {other:?}"),
        }
    }
}

/// Next event's (seq, kind), skipping presence frames.
pub(crate) async fn next_event(socket: &mut Socket) -> (i64, String) {
    loop {
        match next_frame(socket).await {
            Frame::Event(e) => return (e.seq, e.kind().to_string()),
            Frame::Presence { .. } => continue,
            other => panic!("expected an event, got {other:?}"),
        }
    }
}

pub(crate) async fn hello(socket: &mut Socket) -> i64 {
    match next_frame(socket).await {
        Frame::Hello {
            last_seq, version, ..
        } => {
            assert_eq!(version, 2);
            last_seq
        }
        other => panic!("expected hello, got {other:?}"),
    }
}

async fn only_logged_in_participants_can_listen(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_athlete, _trainer, session) = app.active_session().await;
    let stranger = app.person("Sam Stranger", "athlete").await;
    assert_eq!(
        connect(&app, None, session, 0).await.err(),
        Some(StatusCode::UNAUTHORIZED)
    );
    assert_eq!(
        connect(&app, Some("spotter_session=forged"), session, 0)
            .await
            .err(),
        Some(StatusCode::UNAUTHORIZED)
    );
    assert_eq!(
        connect(&app, Some(&stranger.cookie), session, 0)
            .await
            .err(),
        Some(StatusCode::FORBIDDEN)
    );
    assert_eq!(
        connect(&app, Some(&stranger.cookie), 987_654, 0)
            .await
            .err(),
        Some(StatusCode::NOT_FOUND)
    );
    let sse = stranger
        .client
        .get(format!("{}/api/sessions/{session}/events", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(sse.status(), StatusCode::FORBIDDEN);
}

async fn replay_from_since_then_live(backend: Backend) {
    let app = spawn_app(backend).await;
    let (athlete, trainer, session) = app.active_session().await;
    let round = app.new_round(&trainer, session, &[squat()], false).await;
    app.release(&trainer, session, round).await;
    // Log: 1 started, 2 joined, 3 round-updated, 4 round-released. The
    // trainer is sent every event (the athlete not the draft's: see
    // `state.rs`).
    let mut socket = listen(&app, &trainer, session, 2).await;
    assert_eq!(hello(&mut socket).await, 4);
    assert_eq!(
        next_event(&mut socket).await,
        (3, "round-updated".to_string())
    );
    assert_eq!(
        next_event(&mut socket).await,
        (4, "round-released".to_string())
    );

    app.save_round(
        &trainer,
        session,
        &round.to_string(),
        &[squat(), squat()],
        false,
    )
    .await;
    assert_eq!(
        next_event(&mut socket).await,
        (5, "round-updated".to_string())
    );
    let response = app
        .complete(
            &athlete,
            session,
            round,
            2,
            &[
                feedback().sets_done(3).reps_done(8).load_used(80).rpe(7),
                feedback().sets_done(3).reps_done(8).load_used(80).rpe(7),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        next_event(&mut socket).await,
        (6, "round-completed".to_string())
    );

    // A refused mutation publishes nothing: the next event is the next commit.
    let refused = app
        .round_call(&athlete, "/api/rounds/delete", session, round)
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    app.call(
        &trainer,
        "/api/sessions/cancel",
        &[("session_id", &session.to_string()), ("reason", "done")],
    )
    .await;
    assert_eq!(
        next_event(&mut socket).await,
        (7, "session-cancelled".to_string())
    );

    // From zero: everything, in order.
    let mut again = listen(&app, &trainer, session, 0).await;
    assert_eq!(hello(&mut again).await, 7);
    for seq in 1..=7 {
        assert_eq!(next_event(&mut again).await.0, seq);
    }
}

async fn events_committed_during_the_replay_arrive_once_and_in_order(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_athlete, trainer, session) = app.active_session().await;
    let round = app.new_round(&trainer, session, &[squat()], false).await;
    let edits = 30;
    let writer = async {
        for _ in 0..edits {
            let response = app
                .save_round(&trainer, session, &round.to_string(), &[squat()], false)
                .await;
            assert_eq!(response.status(), StatusCode::OK);
        }
    };
    let reader = async {
        // Connect while the edits are being committed.
        tokio::time::sleep(Duration::from_millis(20)).await;
        // The trainer: the edits are of a draft, which only the trainer is sent.
        let mut socket = listen(&app, &trainer, session, 0).await;
        hello(&mut socket).await;
        let mut seqs = Vec::new();
        while seqs.last() != Some(&(3 + edits)) {
            seqs.push(next_event(&mut socket).await.0);
        }
        seqs
    };
    let ((), seqs) = tokio::join!(writer, reader);
    assert_eq!(
        seqs,
        (1..=3 + edits).collect::<Vec<_>>(),
        "every event once, in order"
    );
}

async fn presence_follows_connections(backend: Backend) {
    let app = spawn_app(backend).await;
    let (athlete, trainer, session) = app.active_session().await;
    let mut athlete_socket = listen(&app, &athlete, session, 2).await;
    hello(&mut athlete_socket).await;
    // The athlete first learns it is here itself.
    loop {
        if let Frame::Presence {
            athlete, trainer, ..
        } = next_frame(&mut athlete_socket).await
        {
            if (athlete, trainer) == (true, false) {
                break;
            }
        }
    }
    let mut trainer_socket = listen(&app, &trainer, session, 2).await;
    loop {
        if let Frame::Presence {
            athlete, trainer, ..
        } = next_frame(&mut athlete_socket).await
        {
            if (athlete, trainer) == (true, true) {
                break;
            }
        }
    }
    trainer_socket.close(None).await.unwrap();
    loop {
        if let Frame::Presence {
            athlete, trainer, ..
        } = next_frame(&mut athlete_socket).await
        {
            if (athlete, trainer) == (true, false) {
                break;
            }
        }
    }
}

async fn a_since_past_the_end_gets_a_reset(backend: Backend) {
    let app = spawn_app(backend).await;
    let (athlete, _trainer, session) = app.active_session().await;
    let mut socket = listen(&app, &athlete, session, 99).await;
    assert_eq!(hello(&mut socket).await, 2);
    loop {
        match next_frame(&mut socket).await {
            Frame::Presence { .. } => continue,
            Frame::Reset { last_seq } => {
                assert_eq!(last_seq, 2);
                break;
            }
            other => panic!("expected reset, got {other:?}"),
        }
    }
}

async fn a_silent_client_is_disconnected_after_two_heartbeats(backend: Backend) {
    let app = spawn_app(backend).await;
    let (athlete, _trainer, session) = app.active_session().await;
    let mut socket = listen(&app, &athlete, session, 0).await;
    hello(&mut socket).await;
    assert_eq!(
        app.bus.presences().who_is_here(session),
        (true, false),
        "connected"
    );
    // Not reading means not answering pings (the test server pings every 300 ms).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        app.bus.presences().who_is_here(session),
        (false, false),
        "the server let go of the silent client"
    );
    // What is left to read ends with the close frame (or, if our late pong
    // hit the closed connection first, with that error).
    let close = loop {
        match tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("closed within 5 s")
        {
            Some(Ok(Message::Close(frame))) => break frame.map(|f| f.code),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => break None,
        }
    };
    if let Some(code) = close {
        assert_eq!(code, CloseCode::from(CLOSE_TIMEOUT));
    }
}

/// The protocol's promise, to the interval: a client that sends nothing
/// (no pong, no frame) is let go two heartbeat intervals after it was last
/// heard, not at the next ping after that (which was up to a third
/// interval later). Watched from the server's side (presence), because
/// reading the socket would answer its pings.
#[tokio::test]
async fn a_silent_client_is_let_go_after_exactly_two_intervals() {
    let interval = Duration::from_millis(1000);
    let app = crate::helpers::spawn_app_with(Backend::Sqlite, |config| {
        config.heartbeat = interval;
    })
    .await;
    let (athlete, _trainer, session) = app.active_session().await;
    let mut socket = listen(&app, &athlete, session, 0).await;
    let connected = tokio::time::Instant::now();
    hello(&mut socket).await;
    let gone = loop {
        if app.bus.presences().who_is_here(session) == (false, false) {
            break connected.elapsed();
        }
        assert!(connected.elapsed() < interval * 5, "never let go");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert!(
        gone >= interval * 2 - Duration::from_millis(50),
        "not before two intervals: {gone:?}"
    );
    assert!(
        gone < interval * 5 / 2,
        "at two intervals, not at the next ping after them: {gone:?}"
    );
    drop(socket);
}

async fn server_sent_events_resume_from_last_event_id(backend: Backend) {
    let app = spawn_app(backend).await;
    let (athlete, trainer, session) = app.active_session().await;
    let round = app.new_round(&trainer, session, &[squat()], false).await;
    app.release(&trainer, session, round).await;
    let response = athlete
        .client
        .get(format!("{}/api/sessions/{session}/events", app.address))
        .header("last-event-id", "2")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let mut response = response;
    let mut text = String::new();
    let mut ids = Vec::new();
    let mut pushed = false;
    while ids.len() < 2 {
        let chunk = tokio::time::timeout(Duration::from_secs(5), response.chunk())
            .await
            .expect("SSE data within 5 s")
            .expect("no error")
            .expect("stream open");
        text.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            if let Some(id) = block
                .lines()
                .find_map(|l| l.strip_prefix("id: ").or_else(|| l.strip_prefix("id:")))
            {
                ids.push(id.trim().parse::<i64>().unwrap());
            }
        }
        if ids.len() == 1 && !pushed {
            pushed = true;
            app.save_round(&trainer, session, &round.to_string(), &[squat()], false)
                .await;
        }
    }
    // 3 is the trainer's draft, never sent to the athlete.
    assert_eq!(ids, [4, 5], "replayed after Last-Event-ID, then live");
}

/// A subscriber that stops reading falls more than the hub's buffer behind:
/// the server stops following it (the socket is then closed with "resume")
/// and a new connection with its last seq gets everything it missed.
async fn a_subscriber_that_falls_behind_is_dropped_and_resumes_without_loss(backend: Backend) {
    use spotter::{
        model::{live::LiveEvent, SessionEvent, Side},
        server::live::{follow, hub::BUFFER, Ended, Feed, Follower},
    };
    let app = spawn_app(backend).await;
    let (athlete, _trainer, session) = app.active_session().await;
    let (out, mut frames) = tokio::sync::mpsc::channel(8);
    let feed = Feed {
        db: app.db.clone(),
        bus: app.bus.clone(),
        read_view: spotter::server::state::read_view,
        heartbeat: Duration::from_secs(60),
    };
    let follower = tokio::spawn(follow(
        feed,
        Follower {
            session_id: session,
            side: Side::Athlete,
            since: 2,
            snapshot: false,
        },
        out,
    ));
    // Hello and presence arrive; then the subscriber stops reading.
    assert!(matches!(*frames.recv().await.unwrap(), Frame::Hello { .. }));
    let total = (BUFFER * 2) as i64;
    for seq in 3..3 + total {
        // Commit each event to the log as a mutation would, then publish it.
        sqlx::query(r#"INSERT INTO session_events (session_id, seq, kind, payload, actor_id, at) VALUES ($1, $2, 'session-joined', '{"by":"trainer","trainer_id":0}', NULL, 0)"#)
            .bind(session)
            .bind(seq)
            .execute(&app.db.pool)
            .await
            .unwrap();
        sqlx::query("UPDATE training_sessions SET last_seq = $1 WHERE id = $2")
            .bind(seq)
            .bind(session)
            .execute(&app.db.pool)
            .await
            .unwrap();
        let event = LiveEvent {
            seq,
            session_id: session,
            at: 0,
            event: SessionEvent::SessionJoined {
                by: Side::Trainer,
                trainer_id: 0,
            },
        };
        app.bus.hub().publish(&[event], [0, 0]);
    }
    // Now read what was buffered: the follower gives up with FellBehind.
    let mut last = 2;
    while let Some(frame) = frames.recv().await {
        if let Frame::Event(e) = &*frame {
            assert_eq!(e.seq, last + 1, "in order, no gap, while it lasted");
            last = e.seq;
        }
    }
    assert_eq!(follower.await.unwrap(), Ended::FellBehind);
    assert!(last < 2 + total, "it really fell behind");
    // Resuming from the last seq it applied replays the rest, exactly.
    let mut socket = listen(&app, &athlete, session, last).await;
    assert_eq!(hello(&mut socket).await, 2 + total);
    for seq in last + 1..=2 + total {
        assert_eq!(next_event(&mut socket).await.0, seq);
    }
}

/// The dashboard socket carries the events of the user's own sessions only.
async fn dashboards_hear_about_their_own_sessions(backend: Backend) {
    let app = spawn_app(backend).await;
    let athlete = app.person("Andy Athlete", "athlete").await;
    let trainer = app.person("Tina Trainer", "trainer").await;
    let other_trainer = app.person("Otto Trainer", "trainer").await;
    let url = format!("{}/api/live", app.address.replace("http://", "ws://"));
    let open = |cookie: Option<String>| {
        let mut request = url.clone().into_client_request().unwrap();
        if let Some(cookie) = cookie {
            request
                .headers_mut()
                .insert(header::COOKIE, cookie.parse().unwrap());
        }
        connect_async(request)
    };
    match open(None).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status().as_u16(), 401)
        }
        other => panic!("expected 401, got {:?}", other.map(|_| ())),
    }
    let (mut trainer_socket, _) = open(Some(trainer.cookie.clone())).await.unwrap();
    let (mut other_socket, _) = open(Some(other_trainer.cookie.clone())).await.unwrap();
    hello(&mut trainer_socket).await;
    hello(&mut other_socket).await;

    let session = app.start(&athlete, trainer.id).await;
    match next_frame(&mut trainer_socket).await {
        Frame::Event(e) => assert_eq!((e.session_id, e.kind()), (session, "session-started")),
        other => panic!("expected the new session, got {other:?}"),
    }
    // Another trainer's dashboard hears nothing of it.
    let quiet =
        tokio::time::timeout(Duration::from_millis(300), next_text(&mut other_socket)).await;
    assert!(
        quiet.is_err(),
        "no frame for someone else's session: {quiet:?}"
    );
}

/// The next text message that is not a heartbeat, if any.
async fn next_text(socket: &mut Socket) -> Option<String> {
    loop {
        match socket.next().await? {
            Ok(Message::Text(text)) if text.contains(r#""type":"heartbeat""#) => continue,
            Ok(Message::Text(text)) => return Some(text.to_string()),
            Ok(_) => continue,
            Err(_) => return None,
        }
    }
}

/// When the last connection to a session closes, the hub forgets the
/// session: long-running servers do not accumulate empty channels.
async fn closed_connections_free_their_channels(backend: Backend) {
    let app = spawn_app(backend).await;
    let (athlete, trainer, session) = app.active_session().await;
    let mut first = listen(&app, &athlete, session, 0).await;
    let mut second = listen(&app, &trainer, session, 0).await;
    hello(&mut first).await;
    hello(&mut second).await;
    assert_eq!(app.bus.hub().session_channels(), 1);
    first.close(None).await.unwrap();
    second.close(None).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while app.bus.hub().session_channels() != 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the session's channel was never freed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(app.bus.presences().who_is_here(session), (false, false));
}

async fn presence_frames_go_out_only_when_presence_changes(backend: Backend) {
    let app = spawn_app(backend).await;
    let (athlete, trainer, session) = app.active_session().await;
    let presence = |frame: Frame| match frame {
        Frame::Presence {
            athlete, trainer, ..
        } => (athlete, trainer),
        other => panic!("expected presence, got {other:?}"),
    };
    let mut first_tab = listen(&app, &athlete, session, 2).await;
    hello(&mut first_tab).await;
    assert_eq!(presence(next_frame(&mut first_tab).await), (true, false));
    let mut coach = listen(&app, &trainer, session, 2).await;
    hello(&mut coach).await;
    assert_eq!(presence(next_frame(&mut first_tab).await), (true, true));
    // A second tab of the athlete comes and goes: nobody's presence
    // changed, so the first tab hears nothing about it.
    let mut second_tab = listen(&app, &athlete, session, 2).await;
    hello(&mut second_tab).await;
    second_tab.close(None).await.unwrap();
    drop(second_tab);
    tokio::time::sleep(Duration::from_millis(200)).await;
    coach.close(None).await.unwrap();
    assert_eq!(
        presence(next_frame(&mut first_tab).await),
        (true, false),
        "the next presence frame is the trainer leaving"
    );
}
