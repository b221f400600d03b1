//! Field conditions (the phone in the gym): a network path that dies
//! without a word, the server's heartbeat and ping answer that let a client
//! notice, resuming on a new path with nothing lost, and submissions that
//! count once however often a flaky network makes the phone send them.

use crate::{
    helpers::squat,
    helpers::{error_of, spawn_app, Backend, Person, Proxy, TestApp},
    live::{connect_to, hello, next_event, next_frame, next_frame_or_heartbeat, Socket},
};
use futures::{SinkExt, StreamExt};
use reqwest::StatusCode;
use spotter::{error::AppError, model::live::Frame};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

crate::on_both_backends!(
    every_connection_gets_heartbeats_that_carry_the_last_seq,
    server_sent_events_get_heartbeats_too,
    a_ping_is_answered_at_once_with_its_id,
    a_black_holed_path_goes_silent_and_a_new_path_resumes_exactly,
    a_repeated_submission_commits_once_and_gets_the_first_answer,
    a_key_reused_for_another_request_is_refused,
    concurrent_repeats_of_one_key_commit_once,
    a_repeated_save_creates_one_round,
    a_malformed_key_is_refused_naming_the_field,
);

/// Listens through `address` (the app or a proxy in front of it).
async fn listen_via(address: &str, who: &Person, session: i64, since: i64) -> Socket {
    connect_to(address, Some(&who.cookie), session, since)
        .await
        .expect("participant may listen")
}

async fn every_connection_gets_heartbeats_that_carry_the_last_seq(backend: Backend) {
    let app = spawn_app(backend).await;
    let (athlete, _trainer, session) = app.active_session().await;
    let mut socket = listen_via(&app.address, &athlete, session, 0).await;
    match next_frame(&mut socket).await {
        Frame::Hello { heartbeat_ms, .. } => assert_eq!(heartbeat_ms, 300, "the test server's"),
        other => panic!("expected hello, got {other:?}"),
    }
    // Replay of seq 1-2, then within a couple of intervals a heartbeat that
    // says what this connection delivered.
    let mut beats = 0;
    while beats < 2 {
        if let Frame::Heartbeat { last_seq, at } = next_frame_or_heartbeat(&mut socket).await {
            assert_eq!(last_seq, 2);
            assert!(at > 0);
            beats += 1;
        }
    }
}

async fn server_sent_events_get_heartbeats_too(backend: Backend) {
    let app = spawn_app(backend).await;
    let (athlete, _trainer, session) = app.active_session().await;
    let mut response = athlete
        .client
        .get(format!(
            "{}/api/sessions/{session}/events?since=2",
            app.address
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut text = String::new();
    while !text.contains("event: heartbeat") {
        let chunk = tokio::time::timeout(Duration::from_secs(5), response.chunk())
            .await
            .expect("SSE data within 5 s")
            .expect("no error")
            .expect("stream open");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(text.contains(r#""type":"heartbeat""#), "{text}");
    assert!(text.contains(r#""last_seq":2"#), "{text}");
}

async fn a_ping_is_answered_at_once_with_its_id(backend: Backend) {
    let app = spawn_app(backend).await;
    let (athlete, _trainer, session) = app.active_session().await;
    let mut socket = listen_via(&app.address, &athlete, session, 2).await;
    hello(&mut socket).await;
    socket
        .send(Message::Text(r#"{"type":"ping","id":77}"#.into()))
        .await
        .unwrap();
    loop {
        match next_frame(&mut socket).await {
            Frame::Pong { id, at } => {
                assert_eq!(id, 77);
                assert!(at > 0);
                break;
            }
            Frame::Presence { .. } => continue,
            other => panic!("expected pong, got {other:?}"),
        }
    }
    // Anything else a client sends is ignored, and the link goes on.
    socket
        .send(Message::Text(r#"{"type":"shout","id":1}"#.into()))
        .await
        .unwrap();
    socket.send(Message::Text("not json".into())).await.unwrap();
    socket
        .send(Message::Text(r#"{"type":"ping","id":78}"#.into()))
        .await
        .unwrap();
    loop {
        match next_frame(&mut socket).await {
            Frame::Pong { id, .. } => {
                assert_eq!(id, 78);
                break;
            }
            Frame::Presence { .. } => continue,
            other => panic!("expected pong, got {other:?}"),
        }
    }
}

async fn a_black_holed_path_goes_silent_and_a_new_path_resumes_exactly(backend: Backend) {
    let app = spawn_app(backend).await;
    let proxy = Proxy::start(&app.address).await;
    let (athlete, trainer, session) = app.active_session().await;
    let mut old = listen_via(&proxy.address, &athlete, session, 2).await;
    assert_eq!(hello(&mut old).await, 2);
    // Alive: heartbeats arrive through the proxy.
    while !matches!(
        next_frame_or_heartbeat(&mut old).await,
        Frame::Heartbeat { .. }
    ) {}
    proxy.black_hole();
    // What the proxy forwarded before the cut may still arrive (the server
    // pings right next to its heartbeat): take it, until 50 ms of quiet.
    while let Ok(Some(Ok(message))) =
        tokio::time::timeout(Duration::from_millis(50), old.next()).await
    {
        assert!(
            matches!(message, Message::Ping(_) | Message::Pong(_)),
            "only a ping sent before the cut: {message:?}"
        );
    }
    // The trainer releases a round while the phone's path is dead.
    let round = app.new_round(&trainer, session, &[squat()], false).await;
    app.release(&trainer, session, round).await;
    // The old socket neither closes nor delivers anything: no event, and no
    // heartbeat for well over the client's window (2.5 intervals = 750 ms).
    let silence = tokio::time::timeout(Duration::from_millis(1500), old.next()).await;
    assert!(
        silence.is_err(),
        "a black-holed path delivers nothing and does not close: {silence:?}"
    );
    // A new path with `since` gets exactly what was missed, then heartbeats.
    let mut new = listen_via(&proxy.address, &athlete, session, 2).await;
    assert_eq!(hello(&mut new).await, 4);
    // (Seq 3, the trainer's draft, is never sent to the athlete.)
    assert_eq!(next_event(&mut new).await, (4, "round-released".into()));
    loop {
        match next_frame_or_heartbeat(&mut new).await {
            Frame::Heartbeat { last_seq, .. } => {
                assert_eq!(last_seq, 4);
                break;
            }
            Frame::Presence { .. } => continue,
            other => panic!("nothing but heartbeats after the missed events, got {other:?}"),
        }
    }
}

/// Feedback for one squat exercise, with `key` and `notes`.
fn feedback(session: i64, round: i64, key: &str, notes: &str) -> Vec<(String, String)> {
    [
        ("session_id", session.to_string()),
        ("round_id", round.to_string()),
        ("revision", "1".to_string()),
        ("feedback[0][sets_done]", "3".to_string()),
        ("feedback[0][reps_done]", "8".to_string()),
        ("feedback[0][notes]", notes.to_string()),
        ("idempotency_key", key.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

async fn send(
    app: &TestApp,
    who: &Person,
    path: &str,
    form: &[(String, String)],
) -> reqwest::Response {
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    app.call(who, path, &pairs).await
}

/// An active session with a released one-exercise round: (athlete,
/// trainer, session, round).
async fn released_round(app: &TestApp) -> (Person, Person, i64, i64) {
    let (athlete, trainer, session) = app.active_session().await;
    let round = app.new_round(&trainer, session, &[squat()], false).await;
    app.release(&trainer, session, round).await;
    (athlete, trainer, session, round)
}

async fn completions(app: &TestApp, session: i64) -> usize {
    app.event_kinds(session)
        .await
        .iter()
        .filter(|k| *k == "round-completed")
        .count()
}

async fn a_repeated_submission_commits_once_and_gets_the_first_answer(backend: Backend) {
    let app = spawn_app(backend).await;
    let (athlete, _trainer, session, round) = released_round(&app).await;
    let form = feedback(session, round, "k-0123456789abcdef", "Felt strong");
    let first = send(&app, &athlete, "/api/rounds/complete", &form).await;
    assert_eq!(first.status(), StatusCode::OK);
    let first: bool = first.json().await.unwrap();
    let after_first = app.snapshot().await;
    // The answer was lost on the way; the phone sends it again, twice.
    for _ in 0..2 {
        let again = send(&app, &athlete, "/api/rounds/complete", &form).await;
        assert_eq!(again.status(), StatusCode::OK);
        assert_eq!(again.json::<bool>().await.unwrap(), first);
    }
    assert_eq!(app.snapshot().await, after_first, "nothing changed");
    assert_eq!(app.count("feedback").await, 1);
    assert_eq!(completions(&app, session).await, 1);
    assert_eq!(app.count("idempotency_keys").await, 1);
}

async fn a_key_reused_for_another_request_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let (athlete, trainer, session, round) = released_round(&app).await;
    let key = "k-fedcba9876543210";
    let first = send(
        &app,
        &athlete,
        "/api/rounds/complete",
        &feedback(session, round, key, "A"),
    )
    .await;
    assert_eq!(first.status(), StatusCode::OK);
    let before = app.snapshot().await;
    let other = send(
        &app,
        &athlete,
        "/api/rounds/complete",
        &feedback(session, round, key, "B"),
    )
    .await;
    assert_eq!(other.status(), StatusCode::CONFLICT);
    assert!(
        matches!(error_of(other).await, AppError::Conflict(m) if m.contains("idempotency key"))
    );
    assert_eq!(app.snapshot().await, before, "nothing changed");
    // Keys belong to their user: the trainer may use the same one.
    let round2 = app.new_round(&trainer, session, &[squat()], false).await;
    let release = send(
        &app,
        &trainer,
        "/api/rounds/release",
        &[
            ("session_id".into(), session.to_string()),
            ("round_id".into(), round2.to_string()),
            ("idempotency_key".into(), key.into()),
        ],
    )
    .await;
    assert_eq!(release.status(), StatusCode::OK);
}

async fn concurrent_repeats_of_one_key_commit_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let (athlete, _trainer, session, round) = released_round(&app).await;
    let form = feedback(
        session,
        round,
        "k-concurrent-000001",
        "Same tap, many times",
    );
    let answers = futures::future::join_all(
        (0..8).map(|_| send(&app, &athlete, "/api/rounds/complete", &form)),
    )
    .await;
    for answer in answers {
        assert_eq!(answer.status(), StatusCode::OK);
        assert!(!answer.json::<bool>().await.unwrap(), "not the final round");
    }
    assert_eq!(app.count("feedback").await, 1);
    assert_eq!(completions(&app, session).await, 1);
}

async fn a_repeated_save_creates_one_round(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_athlete, trainer, session) = app.active_session().await;
    let mut form = vec![
        ("session_id".to_string(), session.to_string()),
        ("round_id".to_string(), String::new()),
        ("exercises[0][name]".to_string(), "Row".to_string()),
        ("exercises[0][reps]".to_string(), "10".to_string()),
    ];
    form.push(("idempotency_key".into(), "save-0123456789abcdef".into()));
    let answers =
        futures::future::join_all((0..4).map(|_| send(&app, &trainer, "/api/rounds/save", &form)))
            .await;
    let mut ids = Vec::new();
    for answer in answers {
        assert_eq!(answer.status(), StatusCode::OK);
        ids.push(answer.json::<i64>().await.unwrap());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "every repeat answers with the one round's id");
    assert_eq!(app.count("rounds").await, 1);
    assert_eq!(
        app.event_kinds(session).await,
        ["session-started", "session-joined", "round-updated"]
    );
}

async fn a_malformed_key_is_refused_naming_the_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let (athlete, _trainer, session, round) = released_round(&app).await;
    let before = app.snapshot().await;
    for key in ["short", "has spaces in it, 1234567", &"x".repeat(65)] {
        let answer = send(
            &app,
            &athlete,
            "/api/rounds/complete",
            &feedback(session, round, key, ""),
        )
        .await;
        assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY, "{key}");
        assert!(error_of(answer)
            .await
            .for_field("idempotency_key")
            .is_some());
    }
    assert_eq!(app.snapshot().await, before, "nothing changed");
}
