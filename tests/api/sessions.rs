//! The training-session flow over HTTP: every server function's happy path
//! and every rule, each refusal checked against a snapshot of the database.

use crate::helpers::{error_of, exercise, feedback, spawn_app, Backend, ExerciseRow, FeedbackRow};
use reqwest::{header, StatusCode};
use spotter::{
    api::sessions::{CancelSession, JoinSession},
    model::{ExerciseInput, LoadUnit, RoundStatus, SessionStatus, Side},
};

fn squat() -> ExerciseInput {
    crate::helpers::squat().notes("Brace hard")
}
fn plank() -> ExerciseInput {
    crate::helpers::plank().sets(3).rest(30)
}
fn pullup() -> ExerciseInput {
    exercise("Pull-up")
        .sets(4)
        .reps(6)
        .load(10)
        .unit("bodyweight")
        .rest(90)
}

crate::on_both_backends!(
    the_whole_flow_from_start_to_completed_history,
    starting_is_for_athletes_with_a_real_trainer_and_a_double_tap_reuses_the_session,
    only_participants_see_a_session_and_unknown_ids_are_404,
    each_side_may_only_do_its_own_part,
    rounds_need_an_active_session,
    release_needs_a_draft_with_exercises_and_no_open_round,
    a_released_round_can_be_edited_and_stale_feedback_is_refused,
    released_and_draft_rounds_can_be_deleted_but_completed_ones_cannot_change,
    a_retried_completion_creates_no_duplicate_feedback,
    bad_round_input_gets_a_field_message_and_changes_nothing,
    bad_feedback_gets_a_field_message_and_changes_nothing,
    either_side_can_cancel_and_then_nothing_changes,
    a_session_holds_at_most_100_rounds,
    plain_form_posts_work_without_javascript,
    session_pages_answer_with_the_right_status,
    concurrent_mutations_all_succeed,
    release_from_the_builder_saves_what_is_on_screen_in_the_same_transaction,
    feedback_records_the_time_done,
    twenty_concurrent_starts_of_one_pair_give_one_session,
    the_builder_suggests_the_trainers_own_earlier_exercise_names,
);

async fn the_whole_flow_from_start_to_completed_history(backend: Backend) {
    let app = spawn_app(backend).await;
    let athlete = app.person("Andy Athlete", "athlete").await;
    let trainer = app.person("Tina Trainer", "trainer").await;

    let session = app.start(&athlete, trainer.id).await;
    let dashboard: spotter::model::Dashboard = app
        .call(&trainer, "/api/dashboard", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        dashboard.waiting.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![session]
    );
    assert_eq!(
        app.view_of(&athlete, session).await.summary.status,
        SessionStatus::Waiting
    );

    let joined = app
        .call(
            &trainer,
            "/api/sessions/join",
            &[("session_id", &session.to_string())],
        )
        .await;
    assert_eq!(joined.status(), StatusCode::OK);
    assert_eq!(
        joined.headers()[header::LOCATION],
        format!("/sessions/{session}/trainer")
    );
    assert_eq!(
        app.view_of(&athlete, session).await.summary.status,
        SessionStatus::Active
    );

    let round1 = app
        .new_round(&trainer, session, &[squat(), plank(), pullup()], false)
        .await;
    assert!(
        app.view_of(&athlete, session).await.rounds.is_empty(),
        "athletes never see drafts"
    );
    app.release(&trainer, session, round1).await;

    let seen = app.view_of(&athlete, session).await;
    let released = seen
        .released_round()
        .expect("the athlete sees the released round");
    assert_eq!(released.number, 1);
    let names: Vec<_> = released.exercises.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["Back squat", "Plank", "Pull-up"]);
    assert_eq!(
        released.exercises[0].summary(),
        "3 × 8 · 80 kg · rest 2 min"
    );
    assert_eq!(released.exercises[1].duration_s, Some(45));
    assert_eq!(released.exercises[2].load_unit, Some(LoadUnit::Bodyweight));
    assert_eq!(released.exercises[0].notes, "Brace hard");

    let response = app
        .complete(
            &athlete,
            session,
            round1,
            released.revision,
            &[
                feedback()
                    .sets_done(3)
                    .reps_done(8)
                    .load_used(80)
                    .rpe("8.5")
                    .notes("Felt strong"),
                feedback().sets_done(3).rpe(7),
                feedback()
                    .sets_done(4)
                    .reps_done(5)
                    .load_used(10)
                    .rpe(9)
                    .pain()
                    .notes("Left shoulder twinge"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        !response.json::<bool>().await.unwrap(),
        "round 1 does not end the session"
    );

    let trainer_view = app.view_of(&trainer, session).await;
    let done = &trainer_view.rounds[0];
    assert_eq!(done.status, RoundStatus::Completed);
    assert_eq!(done.feedback.len(), 3);
    assert_eq!(done.feedback[0].rpe, Some(8.5));
    assert_eq!(done.feedback[0].notes, "Felt strong");
    assert!(done.feedback[2].pain && !done.feedback[0].pain);
    assert_eq!(done.feedback[2].reps_done, Some(5));
    assert_eq!(
        done.feedback[2].prescription.reps,
        Some(6),
        "the prescription is kept next to the actuals"
    );

    let round2 = app.new_round(&trainer, session, &[plank()], true).await;
    app.release(&trainer, session, round2).await;
    let revision = app
        .view_of(&athlete, session)
        .await
        .released_round()
        .unwrap()
        .revision;
    let response = app
        .complete(
            &athlete,
            session,
            round2,
            revision,
            &[feedback().sets_done(3).rpe("6.5")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.json::<bool>().await.unwrap(),
        "the final round completes the session"
    );

    for who in [&athlete, &trainer] {
        let view = app.view_of(who, session).await;
        assert_eq!(view.summary.status, SessionStatus::Completed);
        assert_eq!(view.completed_rounds().count(), 2);
        assert_eq!(view.summary.rounds_completed, 2);
        let history = app
            .get_page(&who.client, &format!("/sessions/{session}/history"))
            .await;
        assert_eq!(history.status(), StatusCode::OK);
        let html = history.text().await.unwrap();
        assert!(html.contains("2 completed rounds") && html.contains("Left shoulder twinge"));
    }
    let dashboard: spotter::model::Dashboard = app
        .call(&athlete, "/api/dashboard", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(dashboard.past.len(), 1);
    assert!(dashboard.active.is_empty());

    assert_eq!(
        app.event_kinds(session).await,
        [
            "session-started",
            "session-joined",
            "round-updated",
            "round-released",
            "round-completed",
            "round-updated",
            "round-released",
            "round-completed",
            "session-completed"
        ]
    );
}

async fn starting_is_for_athletes_with_a_real_trainer_and_a_double_tap_reuses_the_session(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let athlete = app.person("Andy Athlete", "athlete").await;
    let other_athlete = app.person("Olga Athlete", "athlete").await;
    let trainer = app.person("Tina Trainer", "trainer").await;
    let before = app.snapshot().await;

    let as_trainer = app
        .call(
            &trainer,
            "/api/sessions/start",
            &[("trainer_id", &trainer.id.to_string())],
        )
        .await;
    assert_eq!(as_trainer.status(), StatusCode::FORBIDDEN);
    for bad in [
        other_athlete.id.to_string(),
        "999999".to_string(),
        "".to_string(),
        "abc".to_string(),
    ] {
        let response = app
            .call(&athlete, "/api/sessions/start", &[("trainer_id", &bad)])
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad:?}"
        );
        assert_eq!(
            error_of(response).await.for_field("trainer_id").as_deref(),
            Some("Choose one of the trainers")
        );
    }
    let logged_out = crate::helpers::new_client();
    let response = app
        .post_form(
            &logged_out,
            "/api/sessions/start",
            &[("trainer_id", &trainer.id.to_string())],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.snapshot().await, before, "refusals change nothing");

    let first = app.start(&athlete, trainer.id).await;
    let again = app.start(&athlete, trainer.id).await;
    assert_eq!(first, again);
    assert_eq!(app.count("training_sessions").await, 1);
    assert_eq!(app.event_kinds(first).await, ["session-started"]);
}

async fn only_participants_see_a_session_and_unknown_ids_are_404(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_athlete, trainer, session) = app.active_session().await;
    let round = app.new_round(&trainer, session, &[squat()], false).await;
    let stranger = app.person("Sam Stranger", "athlete").await;
    let other_trainer = app.person("Otto Trainer", "trainer").await;
    let before = app.snapshot().await;

    for who in [&stranger, &other_trainer] {
        let response = app.view(who, session).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        let body = response.text().await.unwrap();
        assert!(
            !body.contains("Back squat") && !body.contains("Andy"),
            "nothing leaks: {body}"
        );
        for path in ["/api/sessions/join", "/api/sessions/cancel"] {
            let response = app
                .call(who, path, &[("session_id", &session.to_string())])
                .await;
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
        }
        assert_eq!(
            app.round_call(who, "/api/rounds/release", session, round)
                .await
                .status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            app.round_call(who, "/api/rounds/delete", session, round)
                .await
                .status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            app.save_round(who, session, "", &[plank()], false)
                .await
                .status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            app.complete(who, session, round, 1, &[feedback()])
                .await
                .status(),
            StatusCode::FORBIDDEN
        );
    }
    assert_eq!(
        app.view(&stranger, 987654).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.round_call(&trainer, "/api/rounds/release", session, 987654)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let logged_out = crate::helpers::new_client();
    let response = app
        .post_form(
            &logged_out,
            "/api/sessions/view",
            &[("session_id", &session.to_string())],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.snapshot().await, before);
}

async fn each_side_may_only_do_its_own_part(backend: Backend) {
    let app = spawn_app(backend).await;
    let athlete = app.person("Andy Athlete", "athlete").await;
    let trainer = app.person("Tina Trainer", "trainer").await;
    let session = app.start(&athlete, trainer.id).await;
    let join = |who| {
        app.send(
            who,
            JoinSession {
                session_id: session,
                idempotency_key: String::new(),
            },
        )
    };
    app.refused(StatusCode::FORBIDDEN, join(&athlete)).await;

    app.join(&trainer, session).await;
    let round = app.new_round(&trainer, session, &[squat()], false).await;
    let forbidden = StatusCode::FORBIDDEN;
    app.refused(
        forbidden,
        app.save_round(&athlete, session, "", &[plank()], false),
    )
    .await;
    let round_id = round.to_string();
    app.refused(
        forbidden,
        app.save_round(&athlete, session, &round_id, &[plank()], false),
    )
    .await;
    app.refused(
        forbidden,
        app.round_call(&athlete, "/api/rounds/release", session, round),
    )
    .await;
    app.refused(
        forbidden,
        app.round_call(&athlete, "/api/rounds/delete", session, round),
    )
    .await;

    app.release(&trainer, session, round).await;
    let before = app.snapshot().await;
    let done = [feedback().sets_done(3).reps_done(8).rpe(7)];
    app.refused(forbidden, app.complete(&trainer, session, round, 1, &done))
        .await;
    // A second join by the trainer is harmless.
    let response = app
        .call(
            &trainer,
            "/api/sessions/join",
            &[("session_id", &session.to_string())],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.snapshot().await, before);
}

async fn rounds_need_an_active_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let athlete = app.person("Andy Athlete", "athlete").await;
    let trainer = app.person("Tina Trainer", "trainer").await;
    let session = app.start(&athlete, trainer.id).await;
    let error = app
        .refused(
            StatusCode::CONFLICT,
            app.save_round(&trainer, session, "", &[squat()], false),
        )
        .await;
    assert!(error.to_string().contains("not joined"));
}

async fn release_needs_a_draft_with_exercises_and_no_open_round(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_athlete, trainer, session) = app.active_session().await;
    let empty = app.new_round(&trainer, session, &[], false).await;
    let error = app
        .refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            app.round_call(&trainer, "/api/rounds/release", session, empty),
        )
        .await;
    assert!(error
        .for_field("exercises")
        .unwrap()
        .contains("at least one exercise"));

    app.save_round(&trainer, session, &empty.to_string(), &[squat()], false)
        .await;
    app.release(&trainer, session, empty).await;
    let second = app.new_round(&trainer, session, &[plank()], false).await;
    let before = app.snapshot().await;
    let response = app
        .round_call(&trainer, "/api/rounds/release", session, second)
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(error_of(response)
        .await
        .to_string()
        .contains("Round 1 is still open"));
    let response = app
        .round_call(&trainer, "/api/rounds/release", session, empty)
        .await;
    assert_eq!(
        response.status(),
        StatusCode::CONFLICT,
        "a released round cannot be released again"
    );
    assert_eq!(app.snapshot().await, before);
}

async fn a_released_round_can_be_edited_and_stale_feedback_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let (athlete, trainer, session) = app.active_session().await;
    let round = app.new_round(&trainer, session, &[squat()], false).await;
    app.release(&trainer, session, round).await;
    let seen = app
        .view_of(&athlete, session)
        .await
        .released_round()
        .unwrap()
        .revision;

    let heavier = squat().load("85");
    let response = app
        .save_round(
            &trainer,
            session,
            &round.to_string(),
            &[heavier, plank()],
            false,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let now = app.view_of(&athlete, session).await;
    let edited = now.released_round().unwrap();
    assert_eq!(edited.revision, seen + 1);
    assert_eq!(
        edited.status,
        RoundStatus::Released,
        "editing keeps it released"
    );
    assert_eq!(edited.exercises[0].load, Some(85.0));
    assert_eq!(edited.exercises.len(), 2);

    let before = app.snapshot().await;
    let stale = app
        .complete(
            &athlete,
            session,
            round,
            seen,
            &[
                feedback().sets_done(3).reps_done(8).load_used(80).rpe(7),
                feedback().sets_done(3).rpe(7),
            ],
        )
        .await;
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    assert!(error_of(stale)
        .await
        .to_string()
        .contains("changed this round"));
    let wrong_count = app
        .complete(
            &athlete,
            session,
            round,
            edited.revision,
            &[feedback().sets_done(3).reps_done(8).load_used(85).rpe(7)],
        )
        .await;
    assert_eq!(wrong_count.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let emptied = app
        .save_round(&trainer, session, &round.to_string(), &[], false)
        .await;
    assert_eq!(
        emptied.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "a released round keeps at least one exercise"
    );
    assert_eq!(app.snapshot().await, before);

    let ok = app
        .complete(
            &athlete,
            session,
            round,
            edited.revision,
            &[
                feedback().sets_done(3).reps_done(8).load_used(85).rpe(7),
                feedback().sets_done(3).rpe(7),
            ],
        )
        .await;
    assert_eq!(ok.status(), StatusCode::OK);
}

async fn released_and_draft_rounds_can_be_deleted_but_completed_ones_cannot_change(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let (athlete, trainer, session) = app.active_session().await;
    let round1 = app.new_round(&trainer, session, &[squat()], false).await;
    app.release(&trainer, session, round1).await;
    let response = app
        .round_call(&trainer, "/api/rounds/delete", session, round1)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(app.view_of(&athlete, session).await.rounds.is_empty());
    assert_eq!(app.count("exercises").await, 0);

    let draft = app.new_round(&trainer, session, &[plank()], false).await;
    assert_eq!(
        app.round_call(&trainer, "/api/rounds/delete", session, draft)
            .await
            .status(),
        StatusCode::OK
    );

    let round = app.new_round(&trainer, session, &[squat()], false).await;
    app.release(&trainer, session, round).await;
    let revision = app
        .view_of(&athlete, session)
        .await
        .released_round()
        .unwrap()
        .revision;
    app.complete(
        &athlete,
        session,
        round,
        revision,
        &[feedback().sets_done(3).reps_done(8).load_used(80).rpe(7)],
    )
    .await;
    let round_id = round.to_string();
    app.refused(
        StatusCode::CONFLICT,
        app.save_round(&trainer, session, &round_id, &[plank()], false),
    )
    .await;
    app.refused(
        StatusCode::CONFLICT,
        app.round_call(&trainer, "/api/rounds/delete", session, round),
    )
    .await;
    let kinds = app.event_kinds(session).await;
    assert_eq!(kinds.iter().filter(|k| *k == "round-deleted").count(), 2);
}

async fn a_retried_completion_creates_no_duplicate_feedback(backend: Backend) {
    let app = spawn_app(backend).await;
    let (athlete, trainer, session) = app.active_session().await;
    let round = app
        .new_round(&trainer, session, &[squat(), plank()], false)
        .await;
    app.release(&trainer, session, round).await;
    let feedback = [
        feedback()
            .sets_done(3)
            .reps_done(8)
            .load_used(80)
            .rpe(8)
            .notes("ok"),
        feedback().sets_done(3).rpe(6),
    ];
    let (first, second) = tokio::join!(
        app.complete(&athlete, session, round, 1, &feedback),
        app.complete(&athlete, session, round, 1, &feedback),
    );
    assert_eq!(
        (first.status(), second.status()),
        (StatusCode::OK, StatusCode::OK)
    );
    let retry = app.complete(&athlete, session, round, 1, &feedback).await;
    assert_eq!(retry.status(), StatusCode::OK);
    assert_eq!(app.count("feedback").await, 2);
    let kinds = app.event_kinds(session).await;
    assert_eq!(kinds.iter().filter(|k| *k == "round-completed").count(), 1);
}

async fn bad_round_input_gets_a_field_message_and_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_athlete, trainer, session) = app.active_session().await;
    let round = app.new_round(&trainer, session, &[squat()], false).await;
    let before = app.snapshot().await;
    let long_name = "n".repeat(101);
    let long_notes = "n".repeat(1001);
    let cases: Vec<(ExerciseInput, &str)> = vec![
        (exercise("Squat").sets(51).reps(8), "exercises[1][sets]"),
        (exercise("Squat").sets(0).reps(8), "exercises[1][sets]"),
        (exercise("Squat").sets(3).reps(1001), "exercises[1][reps]"),
        (exercise("Squat").sets(3).reps("-1"), "exercises[1][reps]"),
        (
            exercise("Squat").sets(3).reps(8).load(2001).unit("kg"),
            "exercises[1][load]",
        ),
        (
            exercise("Squat").sets(3).reps(8).load(80).unit("stone"),
            "exercises[1][load_unit]",
        ),
        (
            exercise("Squat").sets(3).duration(10801),
            "exercises[1][duration_s]",
        ),
        (
            exercise("Squat").sets(3).reps(8).rest(3601),
            "exercises[1][rest_s]",
        ),
        (exercise("Squat").sets(3), "exercises[1][reps]"),
        (exercise("").sets(3).reps(8), "exercises[1][name]"),
        (exercise(&long_name).sets(3).reps(8), "exercises[1][name]"),
        (
            exercise("Squat").sets(3).reps(8).notes(&long_notes),
            "exercises[1][notes]",
        ),
    ];
    for (bad, field) in cases {
        for round_id in [String::new(), round.to_string()] {
            let response = app
                .save_round(&trainer, session, &round_id, &[squat(), bad.clone()], false)
                .await;
            assert_eq!(
                response.status(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "{field} {bad:?}"
            );
            let error = error_of(response).await;
            assert!(error.for_field(field).is_some(), "{field}: {error:?}");
        }
    }
    let too_many = vec![squat(); 31];
    let response = app
        .save_round(&trainer, session, "", &too_many, false)
        .await;
    assert_eq!(
        error_of(response).await.for_field("exercises").as_deref(),
        Some("A round has at most 30 exercises")
    );
    assert_eq!(app.snapshot().await, before);
    assert_eq!(
        app.save_round(&trainer, session, "", &vec![squat(); 30], false)
            .await
            .status(),
        StatusCode::OK
    );
}

async fn bad_feedback_gets_a_field_message_and_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let (athlete, trainer, session) = app.active_session().await;
    let round = app.new_round(&trainer, session, &[squat()], false).await;
    app.release(&trainer, session, round).await;
    let before = app.snapshot().await;
    let long_notes = "n".repeat(1001);
    for (row, field) in [
        (
            feedback()
                .sets_done(3)
                .reps_done(8)
                .load_used(80)
                .rpe("7.3"),
            "feedback[0][rpe]",
        ),
        (
            feedback()
                .sets_done(3)
                .reps_done(8)
                .load_used(80)
                .rpe("10.5"),
            "feedback[0][rpe]",
        ),
        (
            feedback()
                .sets_done(3)
                .reps_done(8)
                .load_used(80)
                .rpe("-0.5"),
            "feedback[0][rpe]",
        ),
        (
            feedback().sets_done(51).reps_done(8).load_used(80).rpe(7),
            "feedback[0][sets_done]",
        ),
        (
            feedback().sets_done(3).reps_done(1001).load_used(80).rpe(7),
            "feedback[0][reps_done]",
        ),
        (
            feedback()
                .sets_done(3)
                .reps_done(8)
                .load_used("2000.1")
                .rpe(7),
            "feedback[0][load_used]",
        ),
        (
            feedback()
                .sets_done(3)
                .reps_done(8)
                .load_used(80)
                .rpe(7)
                .notes(&long_notes),
            "feedback[0][notes]",
        ),
    ] {
        let response = app.complete(&athlete, session, round, 1, &[row]).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}"
        );
        assert!(
            error_of(response).await.for_field(field).is_some(),
            "{field}"
        );
    }
    assert_eq!(app.snapshot().await, before);
    let ok = app
        .complete(
            &athlete,
            session,
            round,
            1,
            &[feedback().sets_done(3).reps_done(8).load_used(80).rpe(10)],
        )
        .await;
    assert_eq!(ok.status(), StatusCode::OK);
}

async fn either_side_can_cancel_and_then_nothing_changes(backend: Backend) {
    let app = spawn_app(backend).await;
    let (athlete, trainer, session) = app.active_session().await;
    let round = app.new_round(&trainer, session, &[squat()], false).await;
    app.release(&trainer, session, round).await;

    let long = "r".repeat(1001);
    let cancel = |who, reason: &str| {
        app.send(
            who,
            CancelSession {
                session_id: session,
                reason: reason.into(),
                idempotency_key: String::new(),
            },
        )
    };
    let error = app
        .refused(StatusCode::UNPROCESSABLE_ENTITY, cancel(&athlete, &long))
        .await;
    assert_eq!(
        error.for_field("reason").as_deref(),
        Some("The reason must be at most 1000 characters")
    );

    let response = app
        .call(
            &athlete,
            "/api/sessions/cancel",
            &[
                ("session_id", &session.to_string()),
                ("reason", "Feeling dizzy"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::LOCATION],
        format!("/dashboard?cancelled={session}")
    );
    let seen = app.view_of(&trainer, session).await;
    assert_eq!(seen.summary.status, SessionStatus::Cancelled);
    assert_eq!(seen.summary.cancelled_by, Some(Side::Athlete));
    assert_eq!(seen.summary.cancel_reason.as_deref(), Some("Feeling dizzy"));

    let before = app.snapshot().await;
    assert_eq!(
        app.save_round(&trainer, session, "", &[plank()], false)
            .await
            .status(),
        StatusCode::CONFLICT
    );
    assert_eq!(
        app.round_call(&trainer, "/api/rounds/delete", session, round)
            .await
            .status(),
        StatusCode::CONFLICT
    );
    assert_eq!(
        app.complete(
            &athlete,
            session,
            round,
            1,
            &[feedback().sets_done(3).reps_done(8).load_used(80).rpe(7)]
        )
        .await
        .status(),
        StatusCode::CONFLICT
    );
    assert_eq!(
        app.call(
            &trainer,
            "/api/sessions/join",
            &[("session_id", &session.to_string())]
        )
        .await
        .status(),
        StatusCode::CONFLICT
    );
    let again = app
        .call(
            &trainer,
            "/api/sessions/cancel",
            &[("session_id", &session.to_string())],
        )
        .await;
    assert_eq!(
        again.status(),
        StatusCode::OK,
        "cancelling twice is harmless"
    );
    assert_eq!(app.snapshot().await, before);

    // The trainer may cancel too, even before joining; no reason needed.
    let other = app.start(&athlete, trainer.id).await;
    let response = app
        .call(
            &trainer,
            "/api/sessions/cancel",
            &[("session_id", &other.to_string()), ("reason", "")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let seen = app.view_of(&athlete, other).await;
    assert_eq!(
        (seen.summary.cancelled_by, seen.summary.cancel_reason),
        (Some(Side::Trainer), None)
    );
    assert_eq!(
        app.event_kinds(other).await,
        ["session-started", "session-cancelled"]
    );
}

async fn a_session_holds_at_most_100_rounds(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_athlete, trainer, session) = app.active_session().await;
    for number in 1..=100_i64 {
        sqlx::query("INSERT INTO rounds (session_id, number, status, is_final, revision, created_at) VALUES ($1, $2, 'completed', 0, 1, 0)")
            .bind(session)
            .bind(number)
            .execute(&app.db.pool)
            .await
            .unwrap();
    }
    let error = app
        .refused(
            StatusCode::CONFLICT,
            app.save_round(&trainer, session, "", &[squat()], false),
        )
        .await;
    assert!(error.to_string().contains("at most 100 rounds"));
}

async fn plain_form_posts_work_without_javascript(backend: Backend) {
    let app = spawn_app(backend).await;
    let (athlete, trainer, session) = app.active_session().await;
    let page = format!("{}/sessions/{session}/trainer", app.address);
    let form = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Vec<_>>()
    };
    let post =
        |who: &crate::helpers::Person, path: &str, referer: String, body: Vec<(String, String)>| {
            who.client
                .post(format!("{}{path}", app.address))
                .header(header::ACCEPT, "text/html")
                .header(header::REFERER, referer)
                .form(&body)
                .send()
        };
    let sid = session.to_string();
    // Fill the spare row, then move it up with the row button.
    let response = post(
        &trainer,
        "/api/rounds/save",
        page.clone(),
        form(&[
            ("session_id", &sid),
            ("round_id", ""),
            ("exercises[0][name]", "Squat"),
            ("exercises[0][reps]", "5"),
            ("exercises[1][name]", "Plank"),
            ("exercises[1][duration_s]", "60"),
            ("exercises[2][name]", ""),
            ("row_action", ""),
        ]),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let back = response.headers()[header::LOCATION].to_str().unwrap();
    assert_eq!(
        back.trim_end_matches('?'),
        page,
        "back to the page it came from"
    );
    let round = app
        .view_of(&trainer, session)
        .await
        .draft_round()
        .unwrap()
        .id
        .to_string();
    post(
        &trainer,
        "/api/rounds/save",
        page.clone(),
        form(&[
            ("session_id", &sid),
            ("round_id", &round),
            ("exercises[0][name]", "Squat"),
            ("exercises[0][reps]", "5"),
            ("exercises[1][name]", "Plank"),
            ("exercises[1][duration_s]", "60"),
            ("row_action", "up:1"),
        ]),
    )
    .await
    .unwrap();
    let names: Vec<String> = app
        .view_of(&trainer, session)
        .await
        .draft_round()
        .unwrap()
        .exercises
        .iter()
        .map(|e| e.name.clone())
        .collect();
    assert_eq!(names, ["Plank", "Squat"]);
    post(
        &trainer,
        "/api/rounds/release",
        page.clone(),
        form(&[("session_id", &sid), ("round_id", &round)]),
    )
    .await
    .unwrap();

    let athlete_page = format!("{}/sessions/{session}", app.address);
    let html = app
        .get_page(&athlete.client, &format!("/sessions/{session}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Plank") && html.contains("Send feedback"),
        "the athlete's page has the round and the form"
    );
    let response = post(
        &athlete,
        "/api/rounds/complete",
        athlete_page.clone(),
        form(&[
            ("session_id", &sid),
            ("round_id", &round),
            ("revision", "2"),
            ("feedback[0][rpe]", "7.3"),
            ("feedback[1][rpe]", "7"),
        ]),
    )
    .await
    .unwrap();
    let location = response.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        location.contains("__err="),
        "errors come back in the URL: {location}"
    );
    let html = athlete
        .client
        .get(&location)
        .header(header::ACCEPT, "text/html")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("RPE must be a number from 0 to 10 in steps of 0.5"),
        "the form shows the message"
    );
    let response = post(
        &athlete,
        "/api/rounds/complete",
        athlete_page,
        form(&[
            ("session_id", &sid),
            ("round_id", &round),
            ("revision", "2"),
            ("feedback[0][rpe]", "7.5"),
            ("feedback[0][pain]", "on"),
            ("feedback[1][rpe]", "7"),
        ]),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let html = app
        .get_page(&trainer.client, &format!("/sessions/{session}/trainer"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("7.5") && html.contains("⚠ yes"),
        "the trainer sees the feedback"
    );
}

async fn session_pages_answer_with_the_right_status(backend: Backend) {
    let app = spawn_app(backend).await;
    let (athlete, trainer, session) = app.active_session().await;
    let stranger = app.person("Sam Stranger", "athlete").await;
    let athlete_page = format!("/sessions/{session}");
    let trainer_page = format!("/sessions/{session}/trainer");
    assert_eq!(
        app.get_page(&athlete.client, &athlete_page).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get_page(&trainer.client, &trainer_page).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get_page(&trainer.client, &athlete_page).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get_page(&athlete.client, &trainer_page).await.status(),
        StatusCode::FORBIDDEN
    );
    let forbidden = app.get_page(&stranger.client, &athlete_page).await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    assert!(
        !forbidden.text().await.unwrap().contains("Tina"),
        "no names leak"
    );
    assert_eq!(
        app.get_page(&stranger.client, "/sessions/424242")
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let logged_out = app
        .get_page(&crate::helpers::new_client(), &trainer_page)
        .await;
    assert_eq!(logged_out.status(), StatusCode::FOUND);
    assert_eq!(
        logged_out.headers()[header::LOCATION],
        format!("/login?next={trainer_page}")
    );
}

/// Many users acting at the same moment: every request succeeds (on
/// SQLite a transaction that reads before it writes must not fail with
/// "database is locked" when another writer committed meanwhile).
async fn concurrent_mutations_all_succeed(backend: Backend) {
    let app = spawn_app(backend).await;
    let trainer = app.person("Tina Trainer", "trainer").await;
    let mut athletes = Vec::new();
    for n in 0..40 {
        athletes.push(app.person(&format!("Athlete {n}"), "athlete").await);
    }
    let trainer_id = trainer.id.to_string();
    let (app, trainer_id) = (&app, &trainer_id);
    let starts = athletes.iter().map(|athlete| async move {
        app.call(
            athlete,
            "/api/sessions/start",
            &[("trainer_id", trainer_id.as_str())],
        )
        .await
    });
    let responses = futures::future::join_all(starts).await;
    let mut sessions = Vec::new();
    for response in responses {
        assert_eq!(response.status(), StatusCode::OK, "start");
        sessions.push(response.json::<i64>().await.unwrap());
    }
    let ids: Vec<String> = sessions.iter().map(i64::to_string).collect();
    let trainer = &trainer;
    let joins = ids.iter().map(|session| async move {
        app.call(
            trainer,
            "/api/sessions/join",
            &[("session_id", session.as_str())],
        )
        .await
    });
    for response in futures::future::join_all(joins).await {
        assert_eq!(response.status(), StatusCode::OK, "join");
    }
    assert_eq!(app.count("training_sessions").await, 40);
    assert_eq!(app.count("session_events").await, 80);
}

async fn release_from_the_builder_saves_what_is_on_screen_in_the_same_transaction(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let (athlete, trainer, session) = app.active_session().await;
    let draft = app.new_round(&trainer, session, &[squat()], false).await;
    // The plank was typed into the spare row and never saved on its own.
    let response = app
        .save_round_with(
            &trainer,
            session,
            &draft.to_string(),
            &[squat(), plank()],
            false,
            "release",
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let seen = app.view_of(&athlete, session).await;
    let round = seen.released_round().expect("released");
    assert_eq!(round.id, draft);
    let names: Vec<_> = round.exercises.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["Back squat", "Plank"]);
    let kinds = app.event_kinds(session).await;
    assert_eq!(
        kinds[kinds.len() - 2..],
        ["round-updated", "round-released"]
    );

    // With round 1 still open the release is refused, and so is the save
    // that came with it: nothing half done (the page keeps what was typed).
    let second = app.new_round(&trainer, session, &[pullup()], false).await;
    let before = app.snapshot().await;
    let response = app
        .save_round_with(
            &trainer,
            session,
            &second.to_string(),
            &[pullup(), plank()],
            false,
            "release",
        )
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(error_of(response)
        .await
        .to_string()
        .contains("Round 1 is still open"));
    assert_eq!(app.snapshot().await, before);

    // A new round can be saved and released in one go too.
    let revision = round.revision;
    let done = app
        .complete(
            &athlete,
            session,
            draft,
            revision,
            &[
                feedback().sets_done(3).reps_done(8).load_used(80).rpe(7),
                feedback().sets_done(3),
            ],
        )
        .await;
    assert_eq!(done.status(), StatusCode::OK);
    let deleted = app
        .round_call(&trainer, "/api/rounds/delete", session, second)
        .await;
    assert_eq!(deleted.status(), StatusCode::OK);
    let response = app
        .save_round_with(&trainer, session, "", &[pullup()], true, "release")
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let now = app.view_of(&athlete, session).await;
    let released = now.released_round().unwrap();
    assert_eq!(released.exercises[0].name, "Pull-up");
    assert!(released.is_final);
}

async fn feedback_records_the_time_done(backend: Backend) {
    let app = spawn_app(backend).await;
    let (athlete, trainer, session) = app.active_session().await;
    let round = app.new_round(&trainer, session, &[plank()], false).await;
    app.release(&trainer, session, round).await;
    let (sid, rid) = (session.to_string(), round.to_string());
    let complete = |done: &'static str| {
        let (sid, rid) = (sid.clone(), rid.clone());
        let app = &app;
        let athlete = &athlete;
        async move {
            app.call(
                athlete,
                "/api/rounds/complete",
                &[
                    ("session_id", &sid),
                    ("round_id", &rid),
                    ("revision", "1"),
                    ("feedback[0][sets_done]", "3"),
                    ("feedback[0][duration_done_s]", done),
                ],
            )
            .await
        }
    };
    let before = app.snapshot().await;
    let response = complete("4x").await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(error_of(response)
        .await
        .for_field("feedback[0][duration_done_s]")
        .is_some());
    assert_eq!(app.snapshot().await, before);
    let response = complete("40").await;
    assert_eq!(response.status(), StatusCode::OK);
    let view = app.view_of(&trainer, session).await;
    let fb = &view.completed_rounds().next().unwrap().feedback[0];
    assert_eq!(fb.duration_done_s, Some(40));
}

async fn twenty_concurrent_starts_of_one_pair_give_one_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let athlete = app.person("Andy Athlete", "athlete").await;
    let trainer = app.person("Tina Trainer", "trainer").await;
    let trainer_id = trainer.id.to_string();
    let (app, athlete, trainer_id) = (&app, &athlete, &trainer_id);
    // Twenty taps at once (no idempotency key: separate submissions).
    let starts = (0..20).map(|_| async move {
        app.call(
            athlete,
            "/api/sessions/start",
            &[("trainer_id", trainer_id.as_str())],
        )
        .await
    });
    let mut ids = Vec::new();
    for response in futures::future::join_all(starts).await {
        assert_eq!(response.status(), StatusCode::OK, "start");
        ids.push(response.json::<i64>().await.unwrap());
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 1, "every tap got the same session: {ids:?}");
    assert_eq!(app.count("training_sessions").await, 1);
    assert_eq!(app.count("session_events").await, 1, "one session-started");
}

async fn the_builder_suggests_the_trainers_own_earlier_exercise_names(backend: Backend) {
    let app = spawn_app(backend).await;
    let (athlete, trainer, session) = app.active_session().await;
    let names = |who: &crate::helpers::Person| {
        let app = &app;
        let who = who.client.clone();
        async move {
            let response = app.post_form(&who, "/api/exercises/names", &[]).await;
            assert_eq!(response.status(), StatusCode::OK);
            response.json::<Vec<String>>().await.expect("names")
        }
    };
    assert_eq!(names(&trainer).await, Vec::<String>::new(), "no rounds yet");

    let hostile = "Farmer's walk <b>heavy</b>";
    let first = app
        .new_round(&trainer, session, &[squat(), plank()], false)
        .await;
    app.release(&trainer, session, first).await;
    let rdl = ExerciseInput {
        name: "RDL".to_string(),
        ..squat()
    };
    let walk = ExerciseInput {
        name: hostile.to_string(),
        ..plank()
    };
    app.new_round(&trainer, session, &[squat(), rdl, walk], false)
        .await;
    // Another trainer's rounds are theirs.
    let other_athlete = app.person("Olga Other", "athlete").await;
    let other_trainer = app.person("Omar Other", "trainer").await;
    let other = app.start(&other_athlete, other_trainer.id).await;
    app.join(&other_trainer, other).await;
    let secret = ExerciseInput {
        name: "Secret lift".to_string(),
        ..plank()
    };
    app.new_round(&other_trainer, other, &[secret], false).await;

    // Most recently used first (the draft's names, then the first round's),
    // each once, exactly as typed.
    assert_eq!(
        names(&trainer).await,
        ["Back squat", hostile, "RDL", "Plank"]
    );
    assert_eq!(names(&other_trainer).await, ["Secret lift"]);
    assert_eq!(
        names(&athlete).await,
        Vec::<String>::new(),
        "athletes build no rounds"
    );
    let stranger = crate::helpers::new_client();
    let response = app.post_form(&stranger, "/api/exercises/names", &[]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    // In the server's HTML, so it works without JavaScript: one list, and
    // every exercise field points at it; the hostile name is escaped.
    let page = app
        .get_page(&trainer.client, &format!("/sessions/{session}/trainer"))
        .await
        .text()
        .await
        .expect("page");
    let list = &page[page.find("<datalist").expect("a datalist")..];
    let list = &list[..list.find("</datalist>").expect("closed")];
    assert!(list.contains(r#"id="exercise-names""#), "{list}");
    for name in ["Back squat", "RDL", "Plank"] {
        assert!(
            list.contains(&format!(r#"<option value="{name}">"#)),
            "{name} in {list}"
        );
    }
    assert!(
        !page.contains("<b>heavy</b>"),
        "the hostile name is escaped"
    );
    assert!(!list.contains("Secret lift"));
    assert!(
        page.matches(r#"list="exercise-names""#).count() >= 2,
        "the name fields of the draft and the next round's form offer the list"
    );
}
