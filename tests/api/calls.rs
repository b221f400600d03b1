//! Server functions called over a live WebSocket (`call` frames, answered
//! by `answer` frames on the same connection): the same rules, refusals and
//! idempotency as over HTTP, and never a way around them.

use crate::{
    helpers::squat,
    helpers::{round_form, spawn_app, Backend, ExerciseRow, Person, TestApp},
    live::{connect_to, hello, next_frame, Socket},
};
use futures::SinkExt;
use spotter::{
    error::AppError,
    model::live::{Answer, ClientFrame, Frame, CALLS_IN_FLIGHT},
};
use std::collections::BTreeMap;
use tokio_tungstenite::tungstenite::Message;

crate::on_both_backends!(
    a_call_commits_once_however_often_it_is_sent_and_is_answered_on_its_connection,
    a_bad_call_is_refused_naming_the_field_and_changes_nothing,
    login_cookie_endpoints_and_other_paths_cannot_be_called,
    a_flood_of_calls_is_answered_in_order_or_refused_at_once,
);

fn encoded(form: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish()
}

/// `who`'s live connection to `session`, past its `hello`.
async fn open(app: &TestApp, who: &Person, session: i64) -> Socket {
    let mut socket = connect_to(&app.address, Some(&who.cookie), session, 2)
        .await
        .expect("participant may listen");
    hello(&mut socket).await;
    socket
}

async fn send_call(socket: &mut Socket, id: u64, path: &str, body: &str) {
    let frame = ClientFrame::Call {
        id,
        path: path.into(),
        body: body.into(),
    };
    let text = serde_json::to_string(&frame).unwrap();
    socket.send(Message::Text(text.into())).await.unwrap();
}

/// Frames until the answer to `id`; the event kinds seen on the way.
async fn answer_to(socket: &mut Socket, id: u64) -> (Answer, Vec<String>) {
    let mut kinds = Vec::new();
    loop {
        match next_frame(socket).await {
            Frame::Answer(answer) if answer.id == id => return (answer, kinds),
            Frame::Answer(other) => panic!("answer to {} before {id}", other.id),
            Frame::Event(event) => kinds.push(event.kind().to_string()),
            _ => {}
        }
    }
}

async fn a_call_commits_once_however_often_it_is_sent_and_is_answered_on_its_connection(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let (_athlete, trainer, session) = app.active_session().await;
    let mut socket = open(&app, &trainer, session).await;
    let mut form = round_form(session, "", &[squat()], "");
    form.push(("idempotency_key".into(), "call-over-the-socket-0001".into()));
    let body = encoded(&form);

    send_call(&mut socket, 1, "/api/rounds/save", &body).await;
    let (first, kinds) = answer_to(&mut socket, 1).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert!(!first.redirect);
    // The event the call committed came on the same connection, and the
    // round is in the database.
    let kinds = if kinds.is_empty() {
        let Frame::Event(event) = next_frame(&mut socket).await else {
            panic!("expected the round's event");
        };
        vec![event.kind().to_string()]
    } else {
        kinds
    };
    assert_eq!(kinds, ["round-updated"]);
    assert_eq!(app.count("rounds").await, 1);
    let events = app.count("session_events").await;

    // The same call again (a retry after a lost answer), over the socket
    // and over HTTP: the first answer, nothing new.
    send_call(&mut socket, 2, "/api/rounds/save", &body).await;
    let (again, kinds) = answer_to(&mut socket, 2).await;
    assert_eq!((again.status, &again.body), (200, &first.body));
    assert!(kinds.is_empty(), "{kinds:?}");
    let over_http = trainer
        .client
        .post(format!("{}/api/rounds/save", app.address))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(over_http.status(), 200);
    assert_eq!(over_http.text().await.unwrap(), first.body);
    assert_eq!(app.count("rounds").await, 1);
    assert_eq!(app.count("session_events").await, events);
}

async fn a_bad_call_is_refused_naming_the_field_and_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let (athlete, trainer, session) = app.active_session().await;
    let before = app.snapshot().await;
    let mut socket = open(&app, &trainer, session).await;
    // A letter in a number field.
    let bad = squat().sets("3x");
    let body = encoded(&round_form(session, "", &[bad], ""));
    send_call(&mut socket, 1, "/api/rounds/save", &body).await;
    let (answer, _) = answer_to(&mut socket, 1).await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    let error: AppError = serde_json::from_str(&answer.body).unwrap();
    assert!(
        matches!(&error, AppError::Invalid(e) if e.field.contains("sets")),
        "{error:?}"
    );
    // A 1 MB field: bigger than a call may be; the connection is closed
    // (1009), nothing is saved.
    let huge = squat().notes("n".repeat(1 << 20));
    let body = encoded(&round_form(session, "", &[huge], ""));
    send_call(&mut socket, 2, "/api/rounds/save", &body).await;
    // The athlete's own socket: the athlete may not save rounds, whatever
    // path the request takes.
    let mut athletes = open(&app, &athlete, session).await;
    let body = encoded(&round_form(session, "", &[squat()], ""));
    send_call(&mut athletes, 3, "/api/rounds/save", &body).await;
    let (answer, _) = answer_to(&mut athletes, 3).await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert_eq!(app.snapshot().await, before, "nothing changed");
}

async fn login_cookie_endpoints_and_other_paths_cannot_be_called(backend: Backend) {
    let app = spawn_app(backend).await;
    let (athlete, _trainer, session) = app.active_session().await;
    let mut socket = open(&app, &athlete, session).await;
    for (id, path) in [
        (1, "/api/logout"),
        (2, "/api/login"),
        (3, "/metrics"),
        (4, "/readyz"),
        (5, "/api/sessions/1/live"),
        (6, "/api/no-such-function"),
        (7, "/api/../metrics"),
    ] {
        send_call(&mut socket, id, path, "").await;
        let (answer, _) = answer_to(&mut socket, id).await;
        assert!(
            (400..500).contains(&answer.status),
            "{path}: {} {}",
            answer.status,
            answer.body
        );
    }
    // Still logged in.
    assert!(app.me(&athlete.client).await.is_some());
}

async fn a_flood_of_calls_is_answered_in_order_or_refused_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let (athlete, _trainer, session) = app.active_session().await;
    let mut socket = open(&app, &athlete, session).await;
    let body = format!("session_id={session}");
    let calls = 3 * CALLS_IN_FLIGHT as u64;
    for id in 1..=calls {
        send_call(&mut socket, id, "/api/sessions/view", &body).await;
    }
    let mut answers = BTreeMap::new();
    let mut order = Vec::new();
    while answers.len() < calls as usize {
        if let Frame::Answer(answer) = next_frame(&mut socket).await {
            if answer.status == 200 {
                order.push(answer.id);
            }
            assert!(
                answers.insert(answer.id, answer.status).is_none(),
                "one answer per call"
            );
        }
    }
    assert!(
        answers.values().all(|s| *s == 200 || *s == 503),
        "{answers:?}"
    );
    assert!(order.len() >= CALLS_IN_FLIGHT, "{answers:?}");
    assert!(order.windows(2).all(|w| w[0] < w[1]), "in order: {order:?}");
}
