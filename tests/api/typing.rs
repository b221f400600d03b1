//! "Typing…" over the live connection: a client's `typing` frames reach
//! the session's other side at most once a second per connection, never
//! the typist's own side, are never stored or replayed, and a flood of
//! them does not end the connection.

use crate::helpers::{spawn_app, Backend, TestApp};
use crate::live::{hello, listen, Socket};
use futures::{SinkExt, StreamExt};
use spotter::{
    api::messages::SendMessage,
    model::{live::Frame, Side},
};
use std::time::Duration;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

crate::on_both_backends!(
    a_thousand_typing_frames_in_a_second_reach_the_other_side_about_once_and_write_nothing
);

/// Every row of the training tables (the log included), the number of
/// users, logins and idempotency keys, and (SQLite) the writer's commits.
async fn stored(app: &TestApp) -> (String, Vec<i64>, Option<u64>) {
    let mut counts = Vec::new();
    for table in ["users", "auth_sessions", "idempotency_keys"] {
        counts.push(app.count(table).await);
    }
    let commits = app.writer.as_ref().and_then(|w| w.commits());
    (app.snapshot().await, counts, commits)
}

/// The frames that arrive until `deadline` (WebSocket pings and heartbeats
/// left out).
async fn frames_until(socket: &mut Socket, deadline: Instant) -> Vec<Frame> {
    let mut frames = Vec::new();
    while let Ok(Some(message)) = tokio::time::timeout_at(deadline, socket.next()).await {
        match message.expect("no socket error") {
            Message::Text(text) => match serde_json::from_str(&text).expect("a protocol frame") {
                Frame::Heartbeat { .. } => {}
                frame => frames.push(frame),
            },
            Message::Close(frame) => panic!("closed: {frame:?}"),
            _ => {}
        }
    }
    frames
}

fn typing_by(frames: &[Frame], side: Side) -> usize {
    frames
        .iter()
        .filter(|f| matches!(f, Frame::Typing { by, .. } if *by == side))
        .count()
}

async fn a_thousand_typing_frames_in_a_second_reach_the_other_side_about_once_and_write_nothing(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let (athlete, trainer, session) = app.active_session().await;
    let mut phone = listen(&app, &athlete, session, 2).await;
    hello(&mut phone).await;
    let mut laptop = listen(&app, &trainer, session, 2).await;
    hello(&mut laptop).await;
    // Both connected (the presence frames are read now, not counted later).
    frames_until(&mut phone, Instant::now() + Duration::from_millis(300)).await;
    frames_until(&mut laptop, Instant::now() + Duration::from_millis(300)).await;
    let before = stored(&app).await;

    // The trainer's page floods: 1,000 frames spread over a second, while
    // the phone reads (the test server's heartbeat is 300 ms: a client
    // that stops reading is let go).
    let started = Instant::now();
    let typing = Message::Text(r#"{"type":"typing"}"#.into());
    let flood = async {
        for i in 0..1_000 {
            laptop
                .send(typing.clone())
                .await
                .expect("the socket takes it");
            if i % 10 == 9 {
                tokio::time::sleep_until(started + Duration::from_millis(i + 1)).await;
            }
        }
        started.elapsed()
    };
    let (sent_for, on_phone) = tokio::join!(
        flood,
        frames_until(&mut phone, started + Duration::from_millis(1_300))
    );
    let relayed = typing_by(&on_phone, Side::Trainer);
    // One at once, then at most one per further second of the flood.
    let allowed = 1 + sent_for.as_secs() as usize;
    eprintln!(
        "1,000 typing frames in {} ms: {relayed} relayed",
        sent_for.as_millis()
    );
    assert!(
        (1..=allowed).contains(&relayed),
        "{relayed} typing frames relayed for a {} ms flood: {on_phone:?}",
        sent_for.as_millis()
    );
    assert_eq!(
        on_phone.len(),
        relayed,
        "nothing but typing reached the phone"
    );
    // The typist's own connection hears none of it, and is still up: a
    // ping is answered.
    laptop
        .send(Message::Text(r#"{"type":"ping","id":7}"#.into()))
        .await
        .unwrap();
    let on_laptop = frames_until(&mut laptop, Instant::now() + Duration::from_millis(300)).await;
    assert_eq!(typing_by(&on_laptop, Side::Trainer), 0, "{on_laptop:?}");
    assert!(
        on_laptop
            .iter()
            .any(|f| matches!(f, Frame::Pong { id: 7, .. })),
        "the flooding connection still answers: {on_laptop:?}"
    );
    assert_eq!(stored(&app).await, before, "typing writes nothing");

    // A second later the trainer types again: relayed again.
    let again = started + sent_for + Duration::from_millis(1_000);
    tokio::join!(
        frames_until(&mut phone, again),
        frames_until(&mut laptop, again)
    );
    laptop.send(typing.clone()).await.unwrap();
    let on_phone = frames_until(&mut phone, Instant::now() + Duration::from_millis(300)).await;
    assert_eq!(typing_by(&on_phone, Side::Trainer), 1, "{on_phone:?}");

    // Typing is not replayed: a new connection of the phone hears none.
    let mut second_phone = listen(&app, &athlete, session, 0).await;
    let replayed = frames_until(
        &mut second_phone,
        Instant::now() + Duration::from_millis(300),
    )
    .await;
    assert_eq!(typing_by(&replayed, Side::Trainer), 0, "{replayed:?}");

    // The dashboard socket ignores typing: nothing reaches the session.
    let url = format!("{}/api/live", app.address.replace("http://", "ws://"));
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(url)
            .unwrap();
    request
        .headers_mut()
        .insert("cookie", trainer.cookie.parse().unwrap());
    let (mut dashboard, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    dashboard.send(typing.clone()).await.unwrap();
    let on_phone = frames_until(&mut phone, Instant::now() + Duration::from_millis(300)).await;
    assert_eq!(typing_by(&on_phone, Side::Trainer), 0, "{on_phone:?}");

    // And the session still works: a message lands on the phone.
    let sent = app
        .send(
            &trainer,
            SendMessage {
                session_id: session,
                body: "drop to 90 kg for the last set".into(),
                idempotency_key: String::new(),
            },
        )
        .await;
    assert!(sent.status().is_success(), "{}", sent.status());
    let on_phone = frames_until(&mut phone, Instant::now() + Duration::from_millis(500)).await;
    assert!(
        on_phone
            .iter()
            .any(|f| matches!(f, Frame::Event(e) if e.kind() == "message-sent")),
        "{on_phone:?}"
    );
}
