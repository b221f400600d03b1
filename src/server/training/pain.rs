//! Pain as an alert: the athlete reports it, the trainer acknowledges it.

use super::{
    codec::small,
    rounds::{exercise_at, load_exercises, no_such_round, round_in},
    work::{step, Begun, Work},
    Outcome, Store,
};
use crate::{
    error::AppError,
    model::{
        rules::{self, Verdict},
        sets_to_log, validate_pain_note, validate_pain_set, PainReport, RoundStatus, SessionEvent,
        Side, User,
    },
    server::{db::now_ms, idempotency::Idempotency, tx::sql},
};

/// What the athlete reports: where, and what they say.
#[derive(Clone, Debug)]
pub struct PainInput {
    /// The round.
    pub round_id: i64,
    /// The exercise's position (0 is the first).
    pub exercise: i64,
    /// The set's number as typed ("" for the exercise as a whole).
    pub set: String,
    /// The note as typed.
    pub note: String,
}

/// The athlete reports pain on an exercise (or one of its sets) of a round
/// they have (`pain-reported`). Returns the report's id.
#[tracing::instrument(name = "report_pain", skip(store, user, input, key), fields(user_id = user.id))]
pub async fn report_pain(
    store: Store<'_>,
    user: &User,
    session_id: i64,
    input: &PainInput,
    key: Option<&Idempotency>,
) -> Result<Outcome<i64>, AppError> {
    let (user, input, key) = (user.clone(), input.clone(), key.cloned());
    store
        .writer
        .run(move |tx| {
            Box::pin(async move {
                let mut work = match Work::begin(tx, &user, session_id, key.as_ref()).await? {
                    Begun::Open(work) => work,
                    Begun::Done(done) => return Ok(done),
                };
                rules::require_side(work.side, Side::Athlete, "report pain")?;
                let round = match round_in(work.tx(), session_id, input.round_id).await {
                    Ok(round) if round.status != RoundStatus::Draft => round,
                    Ok(_) | Err(AppError::NotFound(_)) => return Err(no_such_round()),
                    Err(e) => return Err(e),
                };
                rules::report_pain(work.session.status, round.status)?;
                let exercises = load_exercises(work.tx(), round.id).await?;
                let exercise = exercise_at(&exercises, input.exercise)?;
                let set = validate_pain_set(&input.set, sets_to_log(exercise))?;
                let note = validate_pain_note(&input.note)?;
                let now = now_ms();
                let (id,): (i64,) = work
                    .tx()
                    .fetch_one(
                        sql("INSERT INTO pain_reports (session_id, round_id, round_number, position, exercise_name, \
                             set_number, note, reported_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id")
                            .bind(session_id)
                            .bind(round.id)
                            .bind(round.number)
                            .bind(input.exercise)
                            .bind(&exercise.name)
                            .bind(set.map(i64::from))
                            .bind(&note)
                            .bind(now),
                    )
                    .await
                    .map_err(step("report pain"))?;
                let reported = SessionEvent::PainReported {
                    by: Side::Athlete,
                    report_id: id,
                    round_id: round.id,
                    number: round.number,
                    exercise: input.exercise,
                    set: set.map(i64::from),
                    note: (!note.is_empty()).then_some(note),
                    name: exercise.name.clone(),
                    reported_at: now,
                };
                work.append(reported).await?;
                work.finish(id).await
            })
        })
        .await
}

/// The trainer acknowledges pain report `report_id` (`pain-acknowledged`);
/// again changes nothing.
#[tracing::instrument(name = "acknowledge_pain", skip(store, user, key), fields(user_id = user.id))]
pub async fn acknowledge_pain(
    store: Store<'_>,
    user: &User,
    session_id: i64,
    report_id: i64,
    key: Option<&Idempotency>,
) -> Result<Outcome<()>, AppError> {
    let (user, key) = (user.clone(), key.cloned());
    store
        .writer
        .run(move |tx| {
            Box::pin(async move {
                let mut work = match Work::begin(tx, &user, session_id, key.as_ref()).await? {
                    Begun::Open(work) => work,
                    Begun::Done(done) => return Ok(done),
                };
                rules::require_side(work.side, Side::Trainer, "acknowledge pain")?;
                let row: Option<(Option<i64>,)> = work
                    .tx()
                    .fetch_optional(
                        sql("SELECT acknowledged_at FROM pain_reports WHERE id = $1 AND session_id = $2")
                            .bind(report_id)
                            .bind(session_id),
                    )
                    .await
                    .map_err(step("read the pain report"))?;
                let (acknowledged_at,) = row.ok_or_else(|| {
                    AppError::NotFound("There is no such pain report in this session".into())
                })?;
                if rules::acknowledge_pain(acknowledged_at.is_some()) == Verdict::AlreadyDone {
                    return work.finish(()).await;
                }
                let now = now_ms();
                work.tx()
                    .execute(
                        sql("UPDATE pain_reports SET acknowledged_at = $1 WHERE id = $2")
                            .bind(now)
                            .bind(report_id),
                    )
                    .await
                    .map_err(step("acknowledge pain"))?;
                work.append(SessionEvent::PainAcknowledged {
                    by: Side::Trainer,
                    report_id,
                    acknowledged_at: now,
                })
                .await?;
                work.finish(()).await
            })
        })
        .await
}

/// A `pain_reports` row as the session view reads it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub(super) struct PainRow {
    pub id: i64,
    pub round_number: i64,
    pub position: i64,
    pub exercise_name: String,
    pub set_number: Option<i64>,
    pub note: String,
    pub reported_at: i64,
    pub acknowledged_at: Option<i64>,
}

/// The columns of [`PainRow`].
pub(super) const PAIN_COLUMNS: &str =
    "id, round_number, position, exercise_name, set_number, note, reported_at, acknowledged_at";

impl From<PainRow> for PainReport {
    fn from(row: PainRow) -> PainReport {
        PainReport {
            id: row.id,
            round: row.round_number,
            exercise: small(Some(row.position)).unwrap_or_default(),
            name: row.exercise_name,
            set: small(row.set_number),
            note: row.note,
            reported_at: row.reported_at,
            acknowledged_at: row.acknowledged_at,
        }
    }
}
