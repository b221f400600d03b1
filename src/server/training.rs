//! Training sessions in the database: every mutation of a session, round or
//! feedback, and the queries the pages need.
//!
//! Each mutation is one transaction that starts by locking the session row
//! ([`lock`], a write, so SQLite takes its write lock up front and
//! PostgreSQL serialises mutations of one session), checks every rule, writes,
//! and appends its event(s) to `session_events` ([`append_event`]) before
//! committing. A refused mutation returns an error and the transaction rolls
//! back: nothing changes, nothing is published.

use super::{
    db::{now_ms, Database},
    idempotency::{self, Idempotency, Once},
};
use crate::model::live::LiveEvent;
use crate::{
    error::AppError,
    model::{
        validate_feedback, Dashboard, Exercise, Feedback, FeedbackInput, LoadUnit, Role, Round,
        RoundStatus, SessionStatus, SessionSummary, SessionView, Side, TrainerChoice, User,
        EXERCISES_MAX, ROUNDS_MAX,
    },
};
use serde::{de::DeserializeOwned, Serialize};
use serde_json::json;
use sqlx::{Any, Transaction};

type Tx = Transaction<'static, Any>;

/// Loads are stored in hundredths (see the migration).
fn to_centi(value: Option<f64>) -> Option<i64> {
    value.map(|v| (v * 100.0).round() as i64)
}

fn from_centi(value: Option<i64>) -> Option<f64> {
    value.map(|v| v as f64 / 100.0)
}

/// Binds an exercise's eight columns, in the order `name, sets, reps,
/// load_centi, load_unit, duration_s, rest_s, notes` (exercises and the
/// prescription copy in feedback use the same order).
fn bind_exercise<'q>(
    query: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    exercise: &'q Exercise,
) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
    query
        .bind(&exercise.name)
        .bind(exercise.sets.map(i64::from))
        .bind(exercise.reps.map(i64::from))
        .bind(to_centi(exercise.load))
        .bind(exercise.load_unit.map(|u| u.as_str()))
        .bind(exercise.duration_s.map(i64::from))
        .bind(exercise.rest_s.map(i64::from))
        .bind(&exercise.notes)
}

/// RPE is stored in half points.
fn to_halves(value: Option<f64>) -> Option<i64> {
    value.map(|v| (v * 2.0).round() as i64)
}

fn from_halves(value: Option<i64>) -> Option<f64> {
    value.map(|v| v as f64 / 2.0)
}

/// A session row as mutations need it.
#[derive(Clone, Debug)]
pub struct SessionRow {
    /// Id.
    pub id: i64,
    /// The athlete's user id.
    pub athlete_id: i64,
    /// The trainer's user id.
    pub trainer_id: i64,
    /// Status.
    pub status: SessionStatus,
}

impl SessionRow {
    /// The two user ids whose dashboards hear about this session.
    pub fn participants(&self) -> [i64; 2] {
        [self.athlete_id, self.trainer_id]
    }

    /// Which side `user` is on, or `Forbidden` for anyone else.
    pub fn side_of(&self, user: &User) -> Result<Side, AppError> {
        if user.id == self.athlete_id {
            Ok(Side::Athlete)
        } else if user.id == self.trainer_id {
            Ok(Side::Trainer)
        } else {
            Err(AppError::Forbidden(
                "This session belongs to someone else".into(),
            ))
        }
    }

    fn require(&self, user: &User, side: Side, action: &str) -> Result<(), AppError> {
        if self.side_of(user)? == side {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "Only the session's {} can {action}",
                side.as_str()
            )))
        }
    }

    fn require_active(&self) -> Result<(), AppError> {
        match self.status {
            SessionStatus::Active => Ok(()),
            SessionStatus::Waiting => Err(AppError::Conflict(
                "The trainer has not joined this session yet".into(),
            )),
            SessionStatus::Completed => Err(AppError::Conflict(
                "This session is completed; nothing can change".into(),
            )),
            SessionStatus::Cancelled => Err(AppError::Conflict(
                "This session was cancelled; nothing can change".into(),
            )),
        }
    }
}

/// The answer of an earlier commit of this request (same idempotency key),
/// as a mutation's result: nothing changes, nothing is published.
async fn replayed<T: DeserializeOwned>(
    tx: &mut Tx,
    once: Once<'_>,
) -> Result<Option<Outcome<T>>, AppError> {
    Ok(idempotency::replay(tx, once).await?.map(|value| Outcome {
        value,
        events: Vec::new(),
    }))
}

/// Locks the session row for the rest of the transaction and reads it.
/// Unknown ids are `NotFound`.
async fn lock(tx: &mut Tx, session_id: i64) -> Result<SessionRow, AppError> {
    let row: Option<(i64, i64, i64, String)> = sqlx::query_as(
        "UPDATE training_sessions SET last_seq = last_seq WHERE id = $1 \
         RETURNING id, athlete_id, trainer_id, status",
    )
    .bind(session_id)
    .fetch_optional(&mut **tx)
    .await?;
    let (id, athlete_id, trainer_id, status) = row.ok_or_else(no_such_session)?;
    Ok(SessionRow {
        id,
        athlete_id,
        trainer_id,
        status: parse_status(&status)?,
    })
}

fn no_such_session() -> AppError {
    AppError::NotFound("There is no such session".into())
}

fn no_such_round() -> AppError {
    AppError::NotFound("There is no such round in this session".into())
}

fn parse_status(value: &str) -> Result<SessionStatus, AppError> {
    SessionStatus::parse(value).ok_or_else(|| corrupt("session status", value))
}

fn corrupt(what: &str, value: &str) -> AppError {
    tracing::error!(what, value, "unexpected value in the database");
    AppError::Internal
}

/// Appends one event to the session's log with the next sequence number.
async fn append_event(
    tx: &mut Tx,
    session_id: i64,
    kind: &'static str,
    payload: serde_json::Value,
    actor_id: i64,
) -> Result<LiveEvent, AppError> {
    let at = now_ms();
    let seq: i64 = sqlx::query_scalar(
        "UPDATE training_sessions SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq",
    )
    .bind(session_id)
    .fetch_one(&mut **tx)
    .await?;
    sqlx::query("INSERT INTO session_events (session_id, seq, kind, payload, actor_id, at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(session_id)
        .bind(seq)
        .bind(kind)
        .bind(payload.to_string())
        .bind(actor_id)
        .bind(at)
        .execute(&mut **tx)
        .await?;
    Ok(LiveEvent {
        seq,
        kind: kind.to_string(),
        session_id,
        at,
        data: payload,
    })
}

/// What a committed mutation did: its result and the events it published.
#[derive(Clone, Debug)]
pub struct Outcome<T> {
    /// The mutation's result.
    pub value: T,
    /// Events it appended, in order (empty for an idempotent retry).
    pub events: Vec<LiveEvent>,
}

/// Stores the answer under the request's idempotency key (if any), commits,
/// then publishes the transaction's events to the hub: the one place every
/// mutation ends. A refused mutation returns before this and its
/// transaction rolls back, so it publishes nothing.
async fn commit<T: Serialize + DeserializeOwned>(
    db: &Database,
    mut tx: Tx,
    participants: [i64; 2],
    value: T,
    events: Vec<LiveEvent>,
    once: Once<'_>,
) -> Result<Outcome<T>, AppError> {
    if !idempotency::record(&mut tx, once, &value).await? {
        // A concurrent repeat of this request committed first: roll back
        // and give its answer.
        drop(tx);
        let value = idempotency::stored(&db.pool, once).await?;
        return Ok(Outcome {
            value,
            events: Vec::new(),
        });
    }
    tx.commit().await?;
    for event in &events {
        tracing::info!(session_id = event.session_id, seq = event.seq, kind = %event.kind, "session event");
    }
    // On PostgreSQL the listener publishes every instance's events,
    // this one's included (see `listener`).
    if db.listener.is_none() {
        db.hub.publish(&events, participants);
    }
    Ok(Outcome { value, events })
}

// ---- sessions ---------------------------------------------------------

/// An athlete starts a session with one of the trainers. If the two already
/// have one open (waiting or active), that one is returned instead, so a
/// double tap does not start two.
pub async fn start_session(
    db: &Database,
    athlete: &User,
    trainer_id: i64,
    key: Option<&Idempotency>,
) -> Result<Outcome<i64>, AppError> {
    if athlete.role != Role::Athlete {
        return Err(AppError::Forbidden(
            "Only athletes start sessions; athletes invite their trainer".into(),
        ));
    }
    let once = Once {
        user_id: athlete.id,
        key,
    };
    let mut tx = db.begin().await?;
    // Taps at once must not start two sessions: a no-op update locks the
    // athlete's row, so this athlete's starts take turns from here to the
    // commit. (PostgreSQL's READ COMMITTED would let each one see no open
    // session and insert; SQLite's single writer already takes turns.)
    sqlx::query("UPDATE users SET id = id WHERE id = $1")
        .bind(athlete.id)
        .execute(&mut *tx)
        .await?;
    if let Some(done) = replayed(&mut tx, once).await? {
        return Ok(done);
    }
    let trainer: Option<(String,)> = sqlx::query_as("SELECT role FROM users WHERE id = $1")
        .bind(trainer_id)
        .fetch_optional(&mut *tx)
        .await?;
    if !matches!(trainer, Some((ref role,)) if role == Role::Trainer.as_str()) {
        return Err(AppError::invalid(
            "trainer_id",
            "Choose one of the trainers",
        ));
    }
    let open: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM training_sessions WHERE athlete_id = $1 AND trainer_id = $2 \
         AND status IN ('waiting', 'active') ORDER BY id LIMIT 1",
    )
    .bind(athlete.id)
    .bind(trainer_id)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(id) = open {
        return commit(db, tx, [athlete.id, trainer_id], id, Vec::new(), once).await;
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO training_sessions (athlete_id, trainer_id, status, created_at) \
         VALUES ($1, $2, 'waiting', $3) RETURNING id",
    )
    .bind(athlete.id)
    .bind(trainer_id)
    .bind(now_ms())
    .fetch_one(&mut *tx)
    .await?;
    let event = append_event(
        &mut tx,
        id,
        "session-started",
        json!({ "by": "athlete", "athlete_id": athlete.id, "trainer_id": trainer_id }),
        athlete.id,
    )
    .await?;
    commit(db, tx, [athlete.id, trainer_id], id, vec![event], once).await
}

/// The session's trainer joins; joining an active session again is a no-op.
pub async fn join_session(
    db: &Database,
    user: &User,
    session_id: i64,
    key: Option<&Idempotency>,
) -> Result<Outcome<()>, AppError> {
    let once = Once {
        user_id: user.id,
        key,
    };
    let mut tx = db.begin().await?;
    let session = lock(&mut tx, session_id).await?;
    if let Some(done) = replayed(&mut tx, once).await? {
        return Ok(done);
    }
    session.require(user, Side::Trainer, "join it")?;
    match session.status {
        SessionStatus::Active => {
            return commit(db, tx, session.participants(), (), Vec::new(), once).await
        }
        SessionStatus::Waiting => {}
        _ => session.require_active()?,
    }
    sqlx::query("UPDATE training_sessions SET status = 'active', joined_at = $1 WHERE id = $2")
        .bind(now_ms())
        .bind(session_id)
        .execute(&mut *tx)
        .await?;
    let event = append_event(
        &mut tx,
        session_id,
        "session-joined",
        json!({ "by": "trainer", "trainer_id": user.id }),
        user.id,
    )
    .await?;
    commit(db, tx, session.participants(), (), vec![event], once).await
}

/// Either side cancels an unfinished session, with an optional reason.
/// Cancelling an already cancelled session again is a no-op.
pub async fn cancel_session(
    db: &Database,
    user: &User,
    session_id: i64,
    reason: Option<String>,
    key: Option<&Idempotency>,
) -> Result<Outcome<()>, AppError> {
    let once = Once {
        user_id: user.id,
        key,
    };
    let mut tx = db.begin().await?;
    let session = lock(&mut tx, session_id).await?;
    if let Some(done) = replayed(&mut tx, once).await? {
        return Ok(done);
    }
    let side = session.side_of(user)?;
    match session.status {
        SessionStatus::Cancelled => {
            return commit(db, tx, session.participants(), (), Vec::new(), once).await
        }
        SessionStatus::Completed => {
            return Err(AppError::Conflict(
                "This session is completed; it cannot be cancelled".into(),
            ))
        }
        SessionStatus::Waiting | SessionStatus::Active => {}
    }
    sqlx::query(
        "UPDATE training_sessions SET status = 'cancelled', cancelled_at = $1, cancelled_by = $2, cancel_reason = $3 WHERE id = $4",
    )
    .bind(now_ms())
    .bind(side.as_str())
    .bind(reason.clone())
    .bind(session_id)
    .execute(&mut *tx)
    .await?;
    let event = append_event(
        &mut tx,
        session_id,
        "session-cancelled",
        json!({ "by": side.as_str(), "reason": reason }),
        user.id,
    )
    .await?;
    commit(db, tx, session.participants(), (), vec![event], once).await
}

// ---- rounds -----------------------------------------------------------

#[derive(Debug)]
struct RoundRow {
    id: i64,
    number: i64,
    status: RoundStatus,
    is_final: bool,
    revision: i64,
}

async fn round_in(tx: &mut Tx, session_id: i64, round_id: i64) -> Result<RoundRow, AppError> {
    let row: Option<(i64, i64, String, i64, i64)> = sqlx::query_as(
        "SELECT id, number, status, is_final, revision FROM rounds WHERE id = $1 AND session_id = $2",
    )
    .bind(round_id)
    .bind(session_id)
    .fetch_optional(&mut **tx)
    .await?;
    let (id, number, status, is_final, revision) = row.ok_or_else(no_such_round)?;
    Ok(RoundRow {
        id,
        number,
        status: RoundStatus::parse(&status).ok_or_else(|| corrupt("round status", &status))?,
        is_final: is_final != 0,
        revision,
    })
}

async fn exercise_count(tx: &mut Tx, round_id: i64) -> Result<i64, AppError> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM exercises WHERE round_id = $1")
            .bind(round_id)
            .fetch_one(&mut **tx)
            .await?,
    )
}

fn round_payload(
    round: &RoundRow,
    status: RoundStatus,
    revision: i64,
    is_final: bool,
) -> serde_json::Value {
    json!({ "by": "trainer", "round_id": round.id, "number": round.number, "status": status.as_str(), "revision": revision, "is_final": is_final })
}

/// Creates a draft round (`round_id` = None) or replaces an unfinished
/// round's exercises and final flag, bumping its revision; with `release`,
/// releases it too, in the same transaction (so what the trainer had on
/// screen is exactly what the athlete gets). Returns the round's id.
#[allow(clippy::too_many_arguments)]
pub async fn save_round(
    db: &Database,
    user: &User,
    session_id: i64,
    round_id: Option<i64>,
    exercises: &[Exercise],
    is_final: bool,
    release: bool,
    key: Option<&Idempotency>,
) -> Result<Outcome<i64>, AppError> {
    if exercises.len() > EXERCISES_MAX {
        return Err(AppError::invalid(
            "exercises",
            format!("A round has at most {EXERCISES_MAX} exercises"),
        ));
    }
    let once = Once {
        user_id: user.id,
        key,
    };
    let mut tx = db.begin().await?;
    let session = lock(&mut tx, session_id).await?;
    if let Some(done) = replayed(&mut tx, once).await? {
        return Ok(done);
    }
    session.require(user, Side::Trainer, "build rounds")?;
    session.require_active()?;
    let (round, kind, status, revision) = match round_id {
        None => {
            let (count, last): (i64, Option<i64>) =
                sqlx::query_as("SELECT COUNT(*), MAX(number) FROM rounds WHERE session_id = $1")
                    .bind(session_id)
                    .fetch_one(&mut *tx)
                    .await?;
            if count >= ROUNDS_MAX {
                return Err(AppError::Conflict(format!(
                    "A session has at most {ROUNDS_MAX} rounds"
                )));
            }
            let number = last.unwrap_or(0) + 1;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO rounds (session_id, number, status, is_final, revision, created_at) \
                 VALUES ($1, $2, 'draft', $3, 1, $4) RETURNING id",
            )
            .bind(session_id)
            .bind(number)
            .bind(i64::from(is_final))
            .bind(now_ms())
            .fetch_one(&mut *tx)
            .await?;
            (
                RoundRow {
                    id,
                    number,
                    status: RoundStatus::Draft,
                    is_final,
                    revision: 1,
                },
                "round-updated",
                RoundStatus::Draft,
                1,
            )
        }
        Some(round_id) => {
            let round = round_in(&mut tx, session_id, round_id).await?;
            if round.status == RoundStatus::Completed {
                return Err(AppError::Conflict(format!(
                    "Round {} is completed; completed rounds cannot change",
                    round.number
                )));
            }
            if round.status == RoundStatus::Released && exercises.is_empty() {
                return Err(AppError::invalid(
                    "exercises",
                    "A released round needs at least one exercise; delete the round instead",
                ));
            }
            let revision = round.revision + 1;
            sqlx::query("UPDATE rounds SET is_final = $1, revision = $2 WHERE id = $3")
                .bind(i64::from(is_final))
                .bind(revision)
                .bind(round.id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM exercises WHERE round_id = $1")
                .bind(round.id)
                .execute(&mut *tx)
                .await?;
            let status = round.status;
            (round, "round-updated", status, revision)
        }
    };
    for (position, exercise) in exercises.iter().enumerate() {
        let query = sqlx::query(
            "INSERT INTO exercises (round_id, position, name, sets, reps, load_centi, load_unit, duration_s, rest_s, notes) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(round.id)
        .bind(position as i64);
        bind_exercise(query, exercise).execute(&mut *tx).await?;
    }
    let mut events = vec![
        append_event(
            &mut tx,
            session_id,
            kind,
            round_payload(&round, status, revision, is_final),
            user.id,
        )
        .await?,
    ];
    if release {
        let saved = RoundRow {
            revision,
            is_final,
            ..round
        };
        events.push(release_in(&mut tx, user, session_id, &saved).await?);
    }
    commit(db, tx, session.participants(), round.id, events, once).await
}

/// Starts a trainer's round mutation: the transaction, the locked active
/// session (only its trainer may `action`), and the round; `None` if this
/// request (its idempotency key) was committed before, whose answer was ().
async fn open_round(
    db: &Database,
    user: &User,
    session_id: i64,
    round_id: i64,
    action: &str,
    once: Once<'_>,
) -> Result<Option<(Tx, SessionRow, RoundRow)>, AppError> {
    let mut tx = db.begin().await?;
    let session = lock(&mut tx, session_id).await?;
    if replayed::<()>(&mut tx, once).await?.is_some() {
        return Ok(None);
    }
    session.require(user, Side::Trainer, action)?;
    session.require_active()?;
    let round = round_in(&mut tx, session_id, round_id).await?;
    Ok(Some((tx, session, round)))
}

/// Releases `round` (a draft, as it now stands) inside `tx`: it needs at
/// least one exercise and no other round may be open. Returns the event.
async fn release_in(
    tx: &mut Tx,
    user: &User,
    session_id: i64,
    round: &RoundRow,
) -> Result<LiveEvent, AppError> {
    if round.status != RoundStatus::Draft {
        return Err(AppError::Conflict(format!(
            "Round {} is already released",
            round.number
        )));
    }
    if exercise_count(tx, round.id).await? == 0 {
        return Err(AppError::invalid(
            "exercises",
            "Add at least one exercise before releasing the round",
        ));
    }
    let open: Option<i64> = sqlx::query_scalar(
        "SELECT number FROM rounds WHERE session_id = $1 AND status = 'released'",
    )
    .bind(session_id)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(number) = open {
        return Err(AppError::Conflict(format!(
            "Round {number} is still open; release this one after the athlete completes it"
        )));
    }
    sqlx::query("UPDATE rounds SET status = 'released', released_at = $1 WHERE id = $2")
        .bind(now_ms())
        .bind(round.id)
        .execute(&mut **tx)
        .await?;
    let payload = round_payload(round, RoundStatus::Released, round.revision, round.is_final);
    append_event(tx, session_id, "round-released", payload, user.id).await
}

/// Releases a draft with at least one exercise, when no other round is open.
pub async fn release_round(
    db: &Database,
    user: &User,
    session_id: i64,
    round_id: i64,
    key: Option<&Idempotency>,
) -> Result<Outcome<()>, AppError> {
    let once = Once {
        user_id: user.id,
        key,
    };
    let Some((mut tx, session, round)) =
        open_round(db, user, session_id, round_id, "release rounds", once).await?
    else {
        return Ok(Outcome {
            value: (),
            events: Vec::new(),
        });
    };
    let event = release_in(&mut tx, user, session_id, &round).await?;
    commit(db, tx, session.participants(), (), vec![event], once).await
}

/// Deletes a draft or released (not completed) round.
pub async fn delete_round(
    db: &Database,
    user: &User,
    session_id: i64,
    round_id: i64,
    key: Option<&Idempotency>,
) -> Result<Outcome<()>, AppError> {
    let once = Once {
        user_id: user.id,
        key,
    };
    let Some((mut tx, session, round)) =
        open_round(db, user, session_id, round_id, "delete rounds", once).await?
    else {
        return Ok(Outcome {
            value: (),
            events: Vec::new(),
        });
    };
    if round.status == RoundStatus::Completed {
        return Err(AppError::Conflict(format!(
            "Round {} is completed; completed rounds cannot be deleted",
            round.number
        )));
    }
    sqlx::query("DELETE FROM rounds WHERE id = $1")
        .bind(round.id)
        .execute(&mut *tx)
        .await?;
    let payload = json!({ "by": "trainer", "round_id": round.id, "number": round.number, "was": round.status.as_str() });
    let event = append_event(&mut tx, session_id, "round-deleted", payload, user.id).await?;
    commit(db, tx, session.participants(), (), vec![event], once).await
}

/// The athlete completes the released round with feedback for every
/// exercise. `revision` is the round revision the athlete saw: if the
/// trainer changed the round since, the feedback is refused so it is never
/// recorded against a prescription the athlete did not see. Completing an
/// already completed round again (a retry) changes nothing and succeeds.
/// Completing the final round completes the session.
pub async fn complete_round(
    db: &Database,
    user: &User,
    session_id: i64,
    round_id: i64,
    revision: i64,
    feedback: &[FeedbackInput],
    key: Option<&Idempotency>,
) -> Result<Outcome<bool>, AppError> {
    let once = Once {
        user_id: user.id,
        key,
    };
    let mut tx = db.begin().await?;
    let session = lock(&mut tx, session_id).await?;
    if let Some(done) = replayed(&mut tx, once).await? {
        return Ok(done);
    }
    session.require(user, Side::Athlete, "complete rounds")?;
    let round = match round_in(&mut tx, session_id, round_id).await {
        Ok(round) if round.status != RoundStatus::Draft => round,
        // The athlete never learns about drafts.
        Ok(_) | Err(AppError::NotFound(_)) => return Err(no_such_round()),
        Err(e) => return Err(e),
    };
    if round.status == RoundStatus::Completed {
        return commit(
            db,
            tx,
            session.participants(),
            round.is_final,
            Vec::new(),
            once,
        )
        .await;
    }
    session.require_active()?;
    if revision != round.revision {
        return Err(AppError::Conflict(
            "Your trainer changed this round while you were on it; check it and send your feedback again".into(),
        ));
    }
    let prescriptions = load_exercises(&mut tx, round.id).await?;
    if feedback.len() != prescriptions.len() {
        return Err(AppError::invalid(
            "feedback",
            format!(
                "Give feedback for each of the {} exercises",
                prescriptions.len()
            ),
        ));
    }
    let now = now_ms();
    let mut checked = Vec::with_capacity(feedback.len());
    for (i, (input, prescription)) in feedback.iter().zip(&prescriptions).enumerate() {
        checked.push(validate_feedback(i, input, prescription)?);
    }
    for (position, fb) in checked.iter().enumerate() {
        let query = sqlx::query(
            "INSERT INTO feedback (round_id, position, exercise_name, presc_sets, presc_reps, presc_load_centi, \
             presc_load_unit, presc_duration_s, presc_rest_s, presc_notes, sets_done, reps_done, load_used_centi, rpe_half, \
             pain, notes, created_at, duration_done_s) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
        )
        .bind(round.id)
        .bind(position as i64);
        bind_exercise(query, &fb.prescription)
            .bind(fb.sets_done.map(i64::from))
            .bind(fb.reps_done.map(i64::from))
            .bind(to_centi(fb.load_used))
            .bind(to_halves(fb.rpe))
            .bind(i64::from(fb.pain))
            .bind(&fb.notes)
            .bind(now)
            .bind(fb.duration_done_s.map(i64::from))
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("UPDATE rounds SET status = 'completed', completed_at = $1 WHERE id = $2")
        .bind(now)
        .bind(round.id)
        .execute(&mut *tx)
        .await?;
    let pain = checked.iter().any(|fb| fb.pain);
    let mut events = vec![
        append_event(
            &mut tx,
            session_id,
            "round-completed",
            json!({ "by": "athlete", "round_id": round.id, "number": round.number, "pain": pain, "is_final": round.is_final }),
            user.id,
        )
        .await?,
    ];
    if round.is_final {
        sqlx::query(
            "UPDATE training_sessions SET status = 'completed', completed_at = $1 WHERE id = $2",
        )
        .bind(now)
        .bind(session_id)
        .execute(&mut *tx)
        .await?;
        events.push(
            append_event(
                &mut tx,
                session_id,
                "session-completed",
                json!({ "by": "athlete", "final_round": round.number }),
                user.id,
            )
            .await?,
        );
    }
    commit(db, tx, session.participants(), round.is_final, events, once).await
}

// ---- queries ----------------------------------------------------------

type ExerciseRow = (
    i64,
    String,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    String,
);

fn exercise_from(row: ExerciseRow) -> Exercise {
    let (_, name, sets, reps, load, unit, duration_s, rest_s, notes) = row;
    let small = |v: Option<i64>| v.and_then(|n| u32::try_from(n).ok());
    Exercise {
        name,
        sets: small(sets),
        reps: small(reps),
        load: from_centi(load),
        load_unit: unit.as_deref().and_then(LoadUnit::parse),
        duration_s: small(duration_s),
        rest_s: small(rest_s),
        notes,
    }
}

const EXERCISE_COLUMNS: &str = "e.round_id, e.name, e.sets, e.reps, e.load_centi, e.load_unit, e.duration_s, e.rest_s, e.notes";

async fn load_exercises(tx: &mut Tx, round_id: i64) -> Result<Vec<Exercise>, AppError> {
    let rows: Vec<ExerciseRow> = sqlx::query_as(&format!(
        "SELECT {EXERCISE_COLUMNS} FROM exercises e WHERE e.round_id = $1 ORDER BY e.position"
    ))
    .bind(round_id)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(exercise_from).collect())
}

const SUMMARY_SELECT: &str = "SELECT s.id, a.display_name, t.display_name, s.status, s.created_at, s.cancelled_by, \
     s.cancel_reason, (SELECT COUNT(*) FROM rounds r WHERE r.session_id = s.id AND r.status = 'completed'), \
     s.athlete_id, s.trainer_id, s.last_seq \
     FROM training_sessions s JOIN users a ON a.id = s.athlete_id JOIN users t ON t.id = s.trainer_id";

type SummaryRow = (
    i64,
    String,
    String,
    String,
    i64,
    Option<String>,
    Option<String>,
    i64,
    i64,
    i64,
    i64,
);

fn summary_from(row: SummaryRow) -> Result<(SessionSummary, i64, i64), AppError> {
    let (
        id,
        athlete_name,
        trainer_name,
        status,
        created_at,
        cancelled_by,
        cancel_reason,
        rounds_completed,
        athlete_id,
        trainer_id,
        last_seq,
    ) = row;
    Ok((
        SessionSummary {
            id,
            athlete_name,
            trainer_name,
            status: parse_status(&status)?,
            created_at,
            cancelled_by: cancelled_by.as_deref().and_then(Side::parse),
            cancel_reason,
            rounds_completed,
            last_seq,
        },
        athlete_id,
        trainer_id,
    ))
}

/// The dashboard for `user`: their sessions by status, and for athletes the
/// trainers they can start a session with.
pub async fn dashboard(db: &Database, user: &User) -> Result<Dashboard, AppError> {
    let column = match user.role {
        Role::Athlete => "s.athlete_id",
        Role::Trainer => "s.trainer_id",
    };
    let rows: Vec<SummaryRow> = sqlx::query_as(&format!(
        "{SUMMARY_SELECT} WHERE {column} = $1 ORDER BY s.id DESC LIMIT 200"
    ))
    .bind(user.id)
    .fetch_all(&db.pool)
    .await?;
    let mut dashboard = Dashboard::default();
    for row in rows {
        let (summary, _, _) = summary_from(row)?;
        match summary.status {
            SessionStatus::Waiting => dashboard.waiting.push(summary),
            SessionStatus::Active => dashboard.active.push(summary),
            SessionStatus::Completed | SessionStatus::Cancelled => dashboard.past.push(summary),
        }
    }
    if user.role == Role::Athlete {
        let trainers: Vec<(i64, String)> =
            sqlx::query_as("SELECT id, display_name FROM users WHERE role = 'trainer' ORDER BY display_name, id LIMIT 500")
                .fetch_all(&db.pool)
                .await?;
        dashboard.trainers = trainers
            .into_iter()
            .map(|(id, name)| TrainerChoice { id, name })
            .collect();
    }
    Ok(dashboard)
}

/// A whole session as `user` sees it. Only participants may look (others
/// get `Forbidden`, unknown ids `NotFound`); athletes never see drafts.
pub async fn session_view(
    db: &Database,
    user: &User,
    session_id: i64,
) -> Result<SessionView, AppError> {
    let row: Option<SummaryRow> = sqlx::query_as(&format!("{SUMMARY_SELECT} WHERE s.id = $1"))
        .bind(session_id)
        .fetch_optional(&db.pool)
        .await?;
    let (summary, athlete_id, trainer_id) = summary_from(row.ok_or_else(no_such_session)?)?;
    let viewer = SessionRow {
        id: session_id,
        athlete_id,
        trainer_id,
        status: summary.status,
    }
    .side_of(user)?;
    type RoundRowFull = (i64, i64, String, i64, i64, Option<i64>, Option<i64>);
    let rounds: Vec<RoundRowFull> = sqlx::query_as(
        "SELECT id, number, status, is_final, revision, released_at, completed_at FROM rounds \
         WHERE session_id = $1 ORDER BY number",
    )
    .bind(session_id)
    .fetch_all(&db.pool)
    .await?;
    let exercises: Vec<ExerciseRow> = sqlx::query_as(&format!(
        "SELECT {EXERCISE_COLUMNS} FROM exercises e JOIN rounds r ON r.id = e.round_id \
         WHERE r.session_id = $1 ORDER BY e.round_id, e.position"
    ))
    .bind(session_id)
    .fetch_all(&db.pool)
    .await?;
    type FeedbackRow = (
        i64,
        String,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<String>,
        Option<i64>,
        Option<i64>,
        String,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        i64,
        String,
        Option<i64>,
    );
    let feedback: Vec<FeedbackRow> = sqlx::query_as(
        "SELECT f.round_id, f.exercise_name, f.presc_sets, f.presc_reps, f.presc_load_centi, f.presc_load_unit, \
         f.presc_duration_s, f.presc_rest_s, f.presc_notes, f.sets_done, f.reps_done, f.load_used_centi, f.rpe_half, f.pain, f.notes, \
         f.duration_done_s FROM feedback f JOIN rounds r ON r.id = f.round_id WHERE r.session_id = $1 ORDER BY f.round_id, f.position",
    )
    .bind(session_id)
    .fetch_all(&db.pool)
    .await?;
    let small = |v: Option<i64>| v.and_then(|n| u32::try_from(n).ok());
    let mut view = SessionView {
        summary,
        viewer,
        rounds: Vec::new(),
    };
    for (id, number, status, is_final, revision, released_at, completed_at) in rounds {
        let status = RoundStatus::parse(&status).ok_or_else(|| corrupt("round status", &status))?;
        if viewer == Side::Athlete && status == RoundStatus::Draft {
            continue;
        }
        view.rounds.push(Round {
            id,
            number,
            status,
            is_final: is_final != 0,
            revision,
            released_at,
            completed_at,
            exercises: exercises
                .iter()
                .filter(|e| e.0 == id)
                .cloned()
                .map(exercise_from)
                .collect(),
            feedback: feedback
                .iter()
                .filter(|f| f.0 == id)
                .map(|f| Feedback {
                    prescription: exercise_from((
                        f.0,
                        f.1.clone(),
                        f.2,
                        f.3,
                        f.4,
                        f.5.clone(),
                        f.6,
                        f.7,
                        f.8.clone(),
                    )),
                    sets_done: small(f.9),
                    reps_done: small(f.10),
                    load_used: from_centi(f.11),
                    rpe: from_halves(f.12),
                    pain: f.13 != 0,
                    notes: f.14.clone(),
                    duration_done_s: small(f.15),
                })
                .collect(),
        });
    }
    Ok(view)
}
