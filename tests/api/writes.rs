//! The write path (`server::training::writer`): on SQLite one writer
//! commits every queued action in one transaction, each in its own
//! savepoint; on both backends a bounded queue answers 503 when full; and
//! whatever was answered 2xx is in the database, with gap-free seqs, even
//! when the process is killed (-9) under load.

use crate::helpers::{exercise, ExerciseRow};
use crate::helpers::{
    fresh_database, round_form, spawn_app, spawn_app_with, within_time, Backend, Person, TestApp,
};
use reqwest::StatusCode;
use spotter::model::ExerciseInput;
use spotter::{error::AppError, server::db::Database};
use std::{
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

fn row() -> ExerciseInput {
    exercise("Squat")
        .sets(3)
        .reps(5)
        .load(100)
        .unit("kg")
        .rest(90)
}

/// `athletes` × `trainers` active sessions, as (athlete, trainer, session).
async fn sessions(
    app: &TestApp,
    athletes: usize,
    trainers: usize,
) -> Vec<(Arc<Person>, Arc<Person>, i64)> {
    let mut a = Vec::new();
    for i in 0..athletes {
        a.push(Arc::new(
            app.person(&format!("Athlete {i}"), "athlete").await,
        ));
    }
    let mut t = Vec::new();
    for i in 0..trainers {
        t.push(Arc::new(
            app.person(&format!("Trainer {i}"), "trainer").await,
        ));
    }
    let mut out = Vec::new();
    for athlete in &a {
        for trainer in &t {
            let session = app.start(athlete, trainer.id).await;
            app.join(trainer, session).await;
            out.push((athlete.clone(), trainer.clone(), session));
        }
    }
    out
}

/// Blocks every write until the returned transaction ends: SQLite's write
/// lock, or (PostgreSQL) every session row, which each mutation locks
/// first. Actions queue up behind it.
async fn hold_writes(app: &TestApp) -> sqlx::Transaction<'static, sqlx::Any> {
    let mut tx = match app.db.backend {
        spotter::server::db::Backend::Sqlite => {
            app.db.pool.begin_with("BEGIN IMMEDIATE").await.unwrap()
        }
        spotter::server::db::Backend::Postgres => app.db.pool.begin().await.unwrap(),
    };
    sqlx::query("UPDATE training_sessions SET last_seq = last_seq")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx
}

/// Waits (up to 4 s: SQLite's busy timeout is 5) until `n` actions wait
/// for the database.
async fn until_waiting(app: &TestApp, n: usize) {
    let writer = app.writer.as_ref().unwrap();
    for _ in 0..400 {
        if writer.waiting() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("only {} actions queued, wanted {n}", writer.waiting());
}

/// Every session's log is 1..=last_seq with no gap, and last_seq agrees.
async fn seqs_are_gap_free(app: &TestApp) {
    let rows: Vec<(i64, i64)> =
        sqlx::query_as("SELECT session_id, seq FROM session_events ORDER BY session_id, seq")
            .fetch_all(&app.db.pool)
            .await
            .unwrap();
    let heads: Vec<(i64, i64)> =
        sqlx::query_as("SELECT id, last_seq FROM training_sessions ORDER BY id")
            .fetch_all(&app.db.pool)
            .await
            .unwrap();
    for (session, last) in heads {
        let seqs: Vec<i64> = rows
            .iter()
            .filter(|(s, _)| *s == session)
            .map(|(_, seq)| *seq)
            .collect();
        assert_eq!(seqs, (1..=last).collect::<Vec<_>>(), "session {session}");
    }
}

/// Rounds in `session`.
async fn rounds_in(app: &TestApp, session: i64) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM rounds WHERE session_id = $1")
        .bind(session)
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
}

async fn refused_actions_in_a_batch_leave_the_others_committed(backend: Backend) {
    let app = Arc::new(spawn_app(backend).await);
    let sessions = sessions(&app, 2, 3).await;
    for (_, trainer, session) in &sessions {
        let round = app.new_round(trainer, *session, &[row()], false).await;
        app.release(trainer, *session, round).await;
    }
    let commits = app.writer.as_ref().unwrap().commits();
    let hold = hold_writes(&app).await;
    // Per session, all queued together: the trainer saves a round (kept);
    // the athlete tries to (refused before writing: 403); the trainer
    // releases a round that does not exist (404); the trainer saves a new
    // round and releases it while round 1 is still open (refused after
    // writing the round, its exercise and its event: 409).
    let mut tasks = Vec::new();
    for (athlete, trainer, session) in &sessions {
        for (who, kind) in [
            (trainer, "save"),
            (athlete, "athlete"),
            (trainer, "ghost"),
            (trainer, "release"),
        ] {
            let (app, who, session) = (app.clone(), who.clone(), *session);
            tasks.push(tokio::spawn(async move {
                let response = match kind {
                    "ghost" => {
                        app.round_call(&who, "/api/rounds/release", session, 999_999)
                            .await
                    }
                    "release" => {
                        app.save_round_with(&who, session, "", &[row()], false, "release")
                            .await
                    }
                    _ => app.save_round(&who, session, "", &[row()], false).await,
                };
                (kind, session, response.status())
            }));
        }
    }
    // All 24 wait: on SQLite one is the writer's (waiting for the lock),
    // 23 queued; on PostgreSQL all 24 hold a place.
    let queued = if matches!(backend, Backend::Sqlite) {
        23
    } else {
        24
    };
    until_waiting(&app, queued).await;
    hold.rollback().await.unwrap();
    for task in tasks {
        let (kind, session, status) = task.await.unwrap();
        let want = match kind {
            "save" => StatusCode::OK,
            "athlete" => StatusCode::FORBIDDEN,
            "release" => StatusCode::CONFLICT,
            _ => StatusCode::NOT_FOUND,
        };
        assert_eq!(status, want, "{kind} in session {session}");
    }
    for (_, _, session) in &sessions {
        // The released round and the kept draft, nothing of the refused.
        assert_eq!(rounds_in(&app, *session).await, 2, "session {session}");
    }
    let exercises: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM exercises")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(exercises, 2 * sessions.len() as i64);
    // start, join, round 1 saved and released, the kept draft.
    let events: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM session_events")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(events, 5 * sessions.len() as i64);
    seqs_are_gap_free(&app).await;
    if let Some(before) = commits {
        // 6 kept actions, and on SQLite far fewer commits than that: the
        // queue went in one or two transactions.
        let after = app.writer.as_ref().unwrap().commits().unwrap();
        assert!(
            after - before <= 2,
            "{} commits for 6 kept actions",
            after - before
        );
    }
}

async fn concurrent_actions_across_sessions_keep_every_seq(backend: Backend) {
    let app = Arc::new(spawn_app(backend).await);
    // 50 sessions, 4 rounds each saved at once: 200 concurrent actions.
    let sessions = sessions(&app, 10, 5).await;
    assert_eq!(sessions.len(), 50);
    let mut tasks = Vec::new();
    for (_, trainer, session) in &sessions {
        for _ in 0..4 {
            let (app, trainer, session) = (app.clone(), trainer.clone(), *session);
            tasks.push(tokio::spawn(async move {
                app.save_round(&trainer, session, "", &[row()], false)
                    .await
                    .status()
            }));
        }
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), StatusCode::OK);
    }
    for (_, _, session) in &sessions {
        assert_eq!(rounds_in(&app, *session).await, 4);
        let numbers: Vec<i64> =
            sqlx::query_scalar("SELECT number FROM rounds WHERE session_id = $1 ORDER BY number")
                .bind(session)
                .fetch_all(&app.db.pool)
                .await
                .unwrap();
        assert_eq!(numbers, vec![1, 2, 3, 4]);
    }
    seqs_are_gap_free(&app).await;
}

async fn a_full_queue_answers_503_and_loses_nothing_answered(backend: Backend) {
    let app = Arc::new(
        spawn_app_with(backend, |config| {
            config.write.queue = 4;
        })
        .await,
    );
    let sessions = sessions(&app, 3, 4).await;
    let hold = hold_writes(&app).await;
    let answered = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for (_, trainer, session) in &sessions {
        let (app, trainer, session) = (app.clone(), trainer.clone(), *session);
        let answered = answered.clone();
        tasks.push(tokio::spawn(async move {
            let response = app.save_round(&trainer, session, "", &[row()], false).await;
            answered.fetch_add(1, Ordering::SeqCst);
            let status = response.status();
            let retry_after = response.headers().get("retry-after").cloned();
            let body = response.text().await.unwrap();
            (session, status, retry_after, body)
        }));
    }
    // PostgreSQL admits 4. SQLite queues 4, plus the one the writer took
    // (waiting for the lock) if it took it before the fifth arrived. The
    // other 7 or 8 are answered at once, while writes are still held.
    let fewest = sessions.len()
        - if matches!(backend, Backend::Sqlite) {
            5
        } else {
            4
        };
    for _ in 0..400 {
        if answered.load(Ordering::SeqCst) >= fewest {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Room for a late refusal to land before counting.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let answered_while_held = answered.load(Ordering::SeqCst);
    assert!(
        (fewest..=sessions.len() - 4).contains(&answered_while_held),
        "{answered_while_held} answered while writes were held"
    );
    hold.rollback().await.unwrap();
    let mut refused = Vec::new();
    for task in tasks {
        let (session, status, retry_after, body) = task.await.unwrap();
        match status {
            StatusCode::OK => assert_eq!(rounds_in(&app, session).await, 1),
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(retry_after.unwrap(), "1");
                let error: AppError = serde_json::from_str(&body).unwrap();
                assert!(matches!(error, AppError::Busy(1)), "{error:?}");
                assert!(error.to_string().contains("nothing was changed"));
                assert_eq!(rounds_in(&app, session).await, 0, "refused, not stored");
                refused.push(session);
            }
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!(
        refused.len(),
        answered_while_held,
        "only refusals came back early"
    );
    // The refused ones go through when tried again.
    for session in refused {
        let (_, trainer, _) = sessions.iter().find(|(_, _, s)| *s == session).unwrap();
        let response = app.save_round(trainer, session, "", &[row()], false).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    for (_, _, session) in &sessions {
        assert_eq!(rounds_in(&app, *session).await, 1);
    }
    seqs_are_gap_free(&app).await;
}

/// A phone that lost its answers sends the same keyed save three times;
/// all three wait together (on SQLite, in one batch, where the first is
/// not committed yet when the others look for it): one round, one event,
/// the same round id for all three.
async fn a_repeated_submit_queued_in_one_batch_commits_once(backend: Backend) {
    let app = Arc::new(spawn_app(backend).await);
    let (_, trainer, session) = app.active_session().await;
    let trainer = Arc::new(trainer);
    let mut form = round_form(session, "", &[row()], "");
    form.push(("idempotency_key".into(), "save-0123456789abcdef".into()));
    let hold = hold_writes(&app).await;
    let mut tasks = Vec::new();
    for _ in 0..3 {
        let (app, trainer, form) = (app.clone(), trainer.clone(), form.clone());
        tasks.push(tokio::spawn(async move {
            let pairs: Vec<(&str, &str)> =
                form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let response = app.call(&trainer, "/api/rounds/save", &pairs).await;
            assert_eq!(response.status(), StatusCode::OK);
            response.json::<i64>().await.unwrap()
        }));
    }
    until_waiting(
        &app,
        if matches!(backend, Backend::Sqlite) {
            2
        } else {
            3
        },
    )
    .await;
    hold.rollback().await.unwrap();
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap());
    }
    assert_eq!(ids, vec![ids[0]; 3], "one answer for one submit");
    assert_eq!(rounds_in(&app, session).await, 1);
    assert_eq!(app.count("idempotency_keys").await, 1);
    // start, join, the one round.
    assert_eq!(app.count("session_events").await, 3);
    seqs_are_gap_free(&app).await;
}

crate::on_both_backends!(
    a_repeated_submit_queued_in_one_batch_commits_once,
    refused_actions_in_a_batch_leave_the_others_committed,
    concurrent_actions_across_sessions_keep_every_seq,
    a_full_queue_answers_503_and_loses_nothing_answered,
);

/// A new round with one exercise, as the round builder posts it.
fn save_form(session: i64) -> Vec<(String, String)> {
    round_form(session, "", &[row()], "")
}

/// The server binary on `url`, without rate limits (a load run).
async fn start_binary(url: &str) -> (tokio::process::Child, String) {
    let env = [("SPOTTER_RATE_LIMITS", "off"), ("RUST_LOG", "error")];
    crate::helpers::start_binary(url, "crash", &env).await
}

/// kill -9 in the middle of a load run: every action answered 2xx is in
/// the database after a restart (its round and its event), and no
/// session's log has a gap.
async fn answered_actions_survive_kill_9(backend: Backend) {
    let (url, _cleanup) = fresh_database(backend).await;
    let (mut child, address) = start_binary(&url).await;
    let (db, _) = Database::connect(&url).await.unwrap();
    let app = Arc::new(TestApp::remote(address, db));
    let sessions = sessions(&app, 2, 5).await;
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for (_, trainer, session) in sessions.clone() {
        let (app, stop) = (app.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            // A client that gives up at once once the server is gone.
            let mut answered = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                let Ok(response) = trainer
                    .client
                    .post(format!("{}/api/rounds/save", app.address))
                    .form(&save_form(session))
                    .send()
                    .await
                else {
                    break;
                };
                if response.status() != StatusCode::OK {
                    continue;
                }
                match response.json::<i64>().await {
                    Ok(round) => answered.push(round),
                    Err(_) => break,
                }
            }
            (session, answered)
        }));
    }
    // Let the load run, then kill the server mid-flight.
    let mut total = 0;
    for _ in 0..200 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        total = app.count("rounds").await;
        if total >= 200 {
            break;
        }
    }
    assert!(total > 0, "the load ran");
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    stop.store(true, Ordering::SeqCst);
    let mut answered = Vec::new();
    for task in tasks {
        answered.push(task.await.unwrap());
    }
    // Restart on the same database: it opens (SQLite recovers its WAL).
    let (mut child, address) = start_binary(&url).await;
    let (db, _) = Database::connect(&url).await.unwrap();
    let restarted = TestApp::remote(address, db);
    let mut answered_total = 0;
    for (session, rounds) in &answered {
        answered_total += rounds.len();
        for round in rounds {
            let (kept, logged): (i64, i64) = sqlx::query_as(
                "SELECT (SELECT COUNT(*) FROM rounds WHERE id = $1 AND session_id = $2), \
                 (SELECT COUNT(*) FROM session_events WHERE session_id = $2 AND kind = 'round-updated' \
                  AND payload LIKE '%\"round_id\":' || $3 || ',%')",
            )
            .bind(round)
            .bind(session)
            .bind(round.to_string())
            .fetch_one(&restarted.db.pool)
            .await
            .unwrap();
            assert_eq!((kept, logged), (1, 1), "round {round} of session {session}");
        }
    }
    assert!(
        answered_total > 0,
        "some actions were answered before the kill"
    );
    eprintln!("{answered_total} actions answered before kill -9, all kept");
    seqs_are_gap_free(&restarted).await;
    // And the restarted server goes on from there (the same login).
    let (_, trainer, session) = &sessions[0];
    let response = trainer
        .client
        .post(format!("{}/api/rounds/save", restarted.address))
        .form(&save_form(*session))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    seqs_are_gap_free(&restarted).await;
    child.start_kill().unwrap();
}

#[tokio::test]
async fn answered_actions_survive_kill_9_sqlite() {
    within_time(answered_actions_survive_kill_9(Backend::Sqlite)).await
}

#[tokio::test]
async fn answered_actions_survive_kill_9_postgres() {
    within_time(answered_actions_survive_kill_9(Backend::Postgres)).await
}
