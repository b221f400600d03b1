//! Receipts (`POST /api/messages/read`, `POST /api/rounds/opened`, and the
//! no-JavaScript beacon `GET /sessions/{id}/rounds/{round}/opened/{rev}`):
//! one per item, revision and reader, an event each, idempotent, never
//! backwards; every refusal names its field and changes nothing.

use crate::helpers::{exercise, spawn_app, squat, Backend, ExerciseRow, Person, TestApp};
use reqwest::StatusCode;
use spotter::{
    api::{
        messages::{ReadMessages, SendMessage},
        rounds::OpenRound,
    },
    model::Side,
};

crate::on_both_backends!(
    read_receipts_are_kept_once_and_never_go_backwards,
    a_round_is_opened_once_per_revision_and_never_backwards,
);

async fn say(app: &TestApp, who: &Person, session: i64, body: &str) -> i64 {
    let sent = app
        .send(
            who,
            SendMessage {
                session_id: session,
                body: body.into(),
                idempotency_key: String::new(),
            },
        )
        .await;
    assert_eq!(sent.status(), StatusCode::OK);
    sent.json().await.unwrap()
}

fn read(session: i64, message: i64) -> ReadMessages {
    ReadMessages {
        session_id: session,
        message_id: message,
    }
}

fn opened(session: i64, round: i64, revision: i64) -> OpenRound {
    OpenRound {
        session_id: session,
        round_id: round,
        revision,
    }
}

/// Sends `receipt` as `who`: whether it was new (200 either way).
async fn receipt<M>(app: &TestApp, who: &Person, receipt: M) -> bool
where
    M: leptos::server_fn::ServerFn + serde::Serialize,
{
    let response = app.send(who, receipt).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn count(app: &TestApp, session: i64, kind: &str) -> usize {
    app.event_kinds(session)
        .await
        .iter()
        .filter(|k| *k == kind)
        .count()
}

async fn read_receipts_are_kept_once_and_never_go_backwards(backend: Backend) {
    let app = spawn_app(backend).await;
    let (athlete, trainer, session) = app.active_session().await;
    let first = say(&app, &trainer, session, "warm up first").await;
    let second = say(&app, &trainer, session, "then 3 x 5").await;
    let mine = say(&app, &athlete, session, "ok").await;
    let view = app.view_of(&athlete, session).await;
    assert_eq!(view.unread(), 2);

    assert!(receipt(&app, &athlete, read(session, second)).await);
    // The same again, and an older one arriving late: nothing new.
    assert!(!receipt(&app, &athlete, read(session, second)).await);
    assert!(!receipt(&app, &athlete, read(session, first)).await);
    assert_eq!(count(&app, session, "messages-read").await, 1);
    for who in [&athlete, &trainer] {
        let view = app.view_of(who, session).await;
        let read = view.reads.athlete.expect("the athlete's receipt");
        assert_eq!(read.message_id, second);
        assert_eq!(view.reads.trainer, None);
    }
    assert_eq!(app.view_of(&athlete, session).await.unread(), 0);
    // The trainer reads the athlete's: a receipt of their own.
    assert!(receipt(&app, &trainer, read(session, mine)).await);
    let view = app.view_of(&athlete, session).await;
    assert_eq!(view.reads.trainer.map(|r| r.message_id), Some(mine));
    assert_eq!(count(&app, session, "messages-read").await, 2);

    // Refusals change nothing: one's own message (422), a message of
    // another session (404), a stranger (403), a letter (422).
    let error = app
        .refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            app.send(&athlete, read(session, mine)),
        )
        .await;
    assert!(error.for_field("message_id").is_some(), "{error:?}");
    let other_athlete = app.person("Olga Other", "athlete").await;
    let other_trainer = app.person("Otto Other", "trainer").await;
    let elsewhere = app.start(&other_athlete, other_trainer.id).await;
    app.join(&other_trainer, elsewhere).await;
    let foreign = say(&app, &other_trainer, elsewhere, "elsewhere").await;
    app.refused(
        StatusCode::NOT_FOUND,
        app.send(&athlete, read(session, foreign)),
    )
    .await;
    app.refused(
        StatusCode::FORBIDDEN,
        app.send(&other_athlete, read(session, second)),
    )
    .await;
    let error = app
        .refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            app.call(
                &athlete,
                "/api/messages/read",
                &[("session_id", &session.to_string()), ("message_id", "2x")],
            ),
        )
        .await;
    assert!(error.for_field("message_id").is_some(), "{error:?}");
}

async fn a_round_is_opened_once_per_revision_and_never_backwards(backend: Backend) {
    let app = spawn_app(backend).await;
    let (athlete, trainer, session) = app.active_session().await;
    let draft = app.new_round(&trainer, session, &[squat()], false).await;
    // A draft is not the athlete's to open.
    app.refused(
        StatusCode::NOT_FOUND,
        app.send(&athlete, opened(session, draft, 1)),
    )
    .await;
    app.release(&trainer, session, draft).await;
    let round = draft;
    let revision = |view: &spotter::model::SessionView| view.rounds[0].revision;
    let first = revision(&app.view_of(&athlete, session).await);
    assert!(receipt(&app, &athlete, opened(session, round, first)).await);
    assert!(!receipt(&app, &athlete, opened(session, round, first)).await);
    let view = app.view_of(&trainer, session).await;
    assert_eq!(view.rounds[0].opened.map(|o| o.revision), Some(first));

    // The trainer edits it: a new revision, opened again.
    let edited = exercise("Front squat").sets(3).reps(5).load(80).unit("kg");
    let response = app
        .save_round(&trainer, session, &round.to_string(), &[edited], false)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let second = revision(&app.view_of(&athlete, session).await);
    assert!(second > first);
    assert_eq!(
        app.view_of(&trainer, session).await.rounds[0]
            .opened
            .map(|o| o.revision),
        Some(first),
        "not opened since the edit"
    );
    assert!(receipt(&app, &athlete, opened(session, round, second)).await);
    // The old revision arriving late changes nothing.
    assert!(!receipt(&app, &athlete, opened(session, round, first)).await);
    assert_eq!(count(&app, session, "round-opened").await, 2);

    // Refusals: the trainer (403), a revision the round never had (422),
    // a stranger (403).
    app.refused(
        StatusCode::FORBIDDEN,
        app.send(&trainer, opened(session, round, second)),
    )
    .await;
    for bad in [0, second + 1] {
        let error = app
            .refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                app.send(&athlete, opened(session, round, bad)),
            )
            .await;
        assert!(error.for_field("revision").is_some(), "{bad}: {error:?}");
    }
    let stranger = app.person("Sam Stranger", "athlete").await;
    app.refused(
        StatusCode::FORBIDDEN,
        app.send(&stranger, opened(session, round, second)),
    )
    .await;

    // Without JavaScript: the page's <noscript> image records it on load.
    let edited = exercise("Box squat").sets(3).reps(5).load(70).unit("kg");
    let response = app
        .save_round(&trainer, session, &round.to_string(), &[edited], false)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let third = revision(&app.view_of(&athlete, session).await);
    let beacon = format!("/sessions/{session}/rounds/{round}/opened/{third}");
    let page = app
        .get_page(&athlete.client, &format!("/sessions/{session}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!("<noscript><img src=\"{beacon}\"")),
        "the page carries the beacon"
    );
    let before = app.snapshot().await;
    let logged_out = crate::helpers::new_client();
    let refused = app.get_page(&logged_out, &beacon).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let refused = app.get_page(&trainer.client, &beacon).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.snapshot().await,
        before,
        "refused beacons change nothing"
    );
    let loaded = app.get_page(&athlete.client, &beacon).await;
    assert_eq!(loaded.status(), StatusCode::OK);
    assert_eq!(loaded.headers()["content-type"], "image/gif");
    assert!(loaded.bytes().await.unwrap().starts_with(b"GIF89a"));
    let again = app.get_page(&athlete.client, &beacon).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(count(&app, session, "round-opened").await, 3);
    let view = app.view_of(&trainer, session).await;
    let seen = view.rounds[0].opened.expect("opened");
    assert_eq!((seen.revision, view.viewer), (third, Side::Trainer));
}
