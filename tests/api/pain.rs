//! Pain as an alert (`POST /api/pain/report`, `/api/pain/acknowledge`):
//! who may do what, what each side reads back, the events, and every
//! refusal checked against a snapshot of the database.

use crate::helpers::{error_of, spawn_app, Backend, Person, TestApp};
use crate::helpers::{feedback, plank, squat, FeedbackRow};
use reqwest::StatusCode;

crate::on_both_backends!(
    pain_is_reported_alerted_and_acknowledged_once,
    bad_pain_reports_get_a_field_message_and_change_nothing,
);

async fn report(
    app: &TestApp,
    who: &Person,
    session: i64,
    round: i64,
    exercise: &str,
    set: &str,
    note: &str,
) -> reqwest::Response {
    app.call(
        who,
        "/api/pain/report",
        &[
            ("session_id", &session.to_string()),
            ("round_id", &round.to_string()),
            ("exercise", exercise),
            ("set", set),
            ("note", note),
        ],
    )
    .await
}

async fn acknowledge(app: &TestApp, who: &Person, session: i64, report: i64) -> reqwest::Response {
    app.call(
        who,
        "/api/pain/acknowledge",
        &[
            ("session_id", &session.to_string()),
            ("report_id", &report.to_string()),
        ],
    )
    .await
}

async fn pain_is_reported_alerted_and_acknowledged_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let (athlete, trainer, session) = app.active_session().await;
    let round = app
        .new_round(&trainer, session, &[squat(), plank()], false)
        .await;
    // On a draft: there is no such round for the athlete.
    app.refused(
        StatusCode::NOT_FOUND,
        report(&app, &athlete, session, round, "0", "", ""),
    )
    .await;
    app.release(&trainer, session, round).await;

    // The trainer does not report the athlete's pain.
    app.refused(
        StatusCode::FORBIDDEN,
        report(&app, &trainer, session, round, "0", "", ""),
    )
    .await;

    let response = report(&app, &athlete, session, round, "0", "2", "Left knee, sharp").await;
    assert_eq!(response.status(), StatusCode::OK);
    let id: i64 = response.json().await.unwrap();
    let response = report(&app, &athlete, session, round, "1", "", "").await;
    assert_eq!(response.status(), StatusCode::OK);
    let second: i64 = response.json().await.unwrap();

    for who in [&athlete, &trainer] {
        let view = app.view_of(who, session).await;
        assert_eq!(view.pain.len(), 2);
        let first = &view.pain[0];
        assert_eq!((first.id, first.round, first.exercise), (id, 1, 0));
        assert_eq!((first.name.as_str(), first.set), ("Back squat", Some(2)));
        assert_eq!(first.note, "Left knee, sharp");
        assert_eq!(first.acknowledged_at, None);
        assert_eq!(
            (view.pain[1].name.as_str(), view.pain[1].set),
            ("Plank", None)
        );
        assert_eq!(view.unacknowledged_pain().count(), 2);
    }
    let (payload,): (String,) = sqlx::query_as(
        "SELECT payload FROM session_events WHERE session_id = $1 AND kind = 'pain-reported' ORDER BY seq LIMIT 1",
    )
    .bind(session)
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    let mut data: serde_json::Value = serde_json::from_str(&payload).unwrap();
    // The event carries the report as the view shows it (the time too).
    let reported_at: (i64,) = sqlx::query_as("SELECT reported_at FROM pain_reports WHERE id = $1")
        .bind(id)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(
        data.as_object_mut().unwrap().remove("reported_at"),
        Some(serde_json::json!(reported_at.0))
    );
    assert_eq!(
        data,
        serde_json::json!({"by": "athlete", "report_id": id, "round_id": round, "number": 1,
            "exercise": 0, "set": 2, "note": "Left knee, sharp", "name": "Back squat"})
    );
    // The trainer's page says so, in the page and its title.
    let html = app
        .get_page(&trainer.client, &format!("/sessions/{session}/trainer"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("data-testid=\"pain-alert\""),
        "the alert is in the page"
    );
    assert!(html.contains("⚠ Pain reported"), "and in the title");

    // Only the trainer acknowledges; again changes nothing.
    let response = acknowledge(&app, &athlete, session, id).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = acknowledge(&app, &trainer, session, id).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        app.event_kinds(session).await.last().unwrap(),
        "pain-acknowledged"
    );
    let events = app.event_kinds(session).await.len();
    let response = acknowledge(&app, &trainer, session, id).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.event_kinds(session).await.len(), events);
    let view = app.view_of(&athlete, session).await;
    assert!(
        view.pain[0].acknowledged_at.is_some(),
        "the athlete sees it was seen"
    );
    assert_eq!(
        view.unacknowledged_pain().map(|p| p.id).collect::<Vec<_>>(),
        [second]
    );

    // Unknown reports, another session's: not found.
    let response = acknowledge(&app, &trainer, session, second + 100).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    // After the round is completed, pain can still be reported (the
    // session goes on); after the session ends, not any more.
    let done = feedback().sets_done(3).reps_done(8).load_used(80).rpe(8);
    let response = app
        .complete(&athlete, session, round, 1, &[done.clone(), done])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = report(&app, &athlete, session, round, "0", "", "Still sore").await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = app
        .call(
            &athlete,
            "/api/sessions/cancel",
            &[("session_id", &session.to_string())],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    app.refused(
        StatusCode::CONFLICT,
        report(&app, &athlete, session, round, "0", "", ""),
    )
    .await;
    // Pain is part of the record: the round's table on the history page
    // (which is also the print view) has each report with its set and
    // note, the one after the round too.
    for who in [&athlete, &trainer] {
        let html = app
            .get_page(&who.client, &format!("/sessions/{session}/history"))
            .await
            .text()
            .await
            .unwrap();
        assert!(
            html.contains("⚠ set 2: “Left knee, sharp”; ⚠ “Still sore”"),
            "the squat's pain in the table"
        );
        assert!(html.contains(">⚠ yes<"), "the plank's, without set or note");
    }
}

async fn bad_pain_reports_get_a_field_message_and_change_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let (athlete, trainer, session) = app.active_session().await;
    let round = app
        .new_round(&trainer, session, &[squat(), plank()], false)
        .await;
    app.release(&trainer, session, round).await;
    let long = "x".repeat(1001);
    let before = app.snapshot().await;
    for (exercise, set, note, field) in [
        ("2", "", "", "exercise"),
        ("-1", "", "", "exercise"),
        ("0", "4", "", "set"),
        ("0", "0", "", "set"),
        ("0", "two", "", "set"),
        ("1", "2", "", "set"),
        ("0", "", long.as_str(), "note"),
        ("0", "", "knee\u{0}", "note"),
        ("first", "", "", "exercise"),
    ] {
        let response = report(&app, &athlete, session, round, exercise, set, note).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {exercise}/{set}"
        );
        let error = error_of(response).await;
        assert!(error.for_field(field).is_some(), "{field}: {error:?}");
    }
    assert_eq!(app.snapshot().await, before, "nothing changed");
}
