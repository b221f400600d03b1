//! Sets logged as they are done: the athlete logs a set of the released
//! round, or corrects one, until the round is completed.

use super::{
    codec::{from_centi, from_halves, small, to_centi, to_halves},
    rounds::{exercise_at, load_exercises, no_such_round, round_in},
    work::{step, Begun, Work},
    Outcome, Store,
};
use crate::{
    error::AppError,
    model::{
        rules, validate_set, LoadUnit, LoggedSet, RoundStatus, SessionEvent, SetInput, Side, User,
    },
    server::{db::now_ms, idempotency::Idempotency, tx::sql},
};

/// Which set of which round the athlete logs, against the round `revision`
/// they saw.
#[derive(Clone, Copy, Debug)]
pub struct SetRef {
    /// The session.
    pub session_id: i64,
    /// The released round.
    pub round_id: i64,
    /// The round's revision on the athlete's screen.
    pub revision: i64,
    /// The exercise's position (0 is the first).
    pub exercise: i64,
    /// The set's number (1 is the first).
    pub set: i64,
}

/// Logs set `at.set` of exercise `at.exercise` as done (`set-logged`), or,
/// when it was logged before, corrects it (`set-updated`; nothing changes
/// and no event is told when the values are the same). Returns whether the
/// set was new. Only the athlete, only on the released round they saw
/// ([`rules::log_set`]), only sets the prescription has.
#[tracing::instrument(name = "log_set", skip(store, user, input, key), fields(user_id = user.id))]
pub async fn log_set(
    store: Store<'_>,
    user: &User,
    at: SetRef,
    input: &SetInput,
    key: Option<&Idempotency>,
) -> Result<Outcome<bool>, AppError> {
    let (user, input, key) = (user.clone(), input.clone(), key.cloned());
    store
        .writer
        .run(move |tx| {
            Box::pin(async move {
                let mut work = match Work::begin(tx, &user, at.session_id, key.as_ref()).await? {
                    Begun::Open(work) => work,
                    Begun::Done(done) => return Ok(done),
                };
                rules::require_side(work.side, Side::Athlete, "log sets")?;
                let round = match round_in(work.tx(), at.session_id, at.round_id).await {
                    Ok(round) if round.status != RoundStatus::Draft => round,
                    // The athlete never learns about drafts.
                    Ok(_) | Err(AppError::NotFound(_)) => return Err(no_such_round()),
                    Err(e) => return Err(e),
                };
                rules::log_set(work.session.status, round.status, at.revision, round.revision)?;
                let exercises = load_exercises(work.tx(), round.id).await?;
                let exercise = exercise_at(&exercises, at.exercise)?;
                let values = validate_set(exercise, at.set, &input)?;
                let (reps, load, rpe) = (
                    values.reps.map(i64::from),
                    to_centi(values.load),
                    to_halves(values.rpe),
                );
                let before: Option<(Option<i64>, Option<i64>, Option<i64>)> = work
                    .tx()
                    .fetch_optional(
                        sql("SELECT reps, load_centi, rpe_half FROM set_logs \
                             WHERE round_id = $1 AND position = $2 AND set_number = $3")
                            .bind(round.id)
                            .bind(at.exercise)
                            .bind(at.set),
                    )
                    .await
                    .map_err(step("read the set"))?;
                let now = now_ms();
                let new = before.is_none();
                match before {
                    Some(same) if same == (reps, load, rpe) => return work.finish(false).await,
                    Some(_) => {
                        work.tx()
                            .execute(
                                sql("UPDATE set_logs SET reps = $1, load_centi = $2, rpe_half = $3, updated_at = $4 \
                                     WHERE round_id = $5 AND position = $6 AND set_number = $7")
                                    .bind(reps)
                                    .bind(load)
                                    .bind(rpe)
                                    .bind(now)
                                    .bind(round.id)
                                    .bind(at.exercise)
                                    .bind(at.set),
                            )
                            .await
                            .map_err(step("correct the set"))?;
                    }
                    None => {
                        work.tx()
                            .execute(
                                sql("INSERT INTO set_logs (round_id, position, set_number, exercise_name, presc_sets, \
                                     presc_reps, presc_load_centi, presc_load_unit, presc_rest_s, reps, load_centi, \
                                     rpe_half, logged_at) \
                                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)")
                                    .bind(round.id)
                                    .bind(at.exercise)
                                    .bind(at.set)
                                    .bind(&exercise.name)
                                    .bind(exercise.sets.map(i64::from))
                                    .bind(exercise.reps.map(i64::from))
                                    .bind(to_centi(exercise.load))
                                    .bind(exercise.load_unit.map(|u| u.as_str()))
                                    .bind(exercise.rest_s.map(i64::from))
                                    .bind(reps)
                                    .bind(load)
                                    .bind(rpe)
                                    .bind(now),
                            )
                            .await
                            .map_err(step("log the set"))?;
                    }
                }
                let (by, round_id, number, exercise_at, set) =
                    (Side::Athlete, round.id, round.number, at.exercise, at.set);
                let unit = exercise.load_unit.map(|u| u.as_str().to_string());
                let (reps, load, rpe) = (reps, values.load, values.rpe);
                // A correction keeps the targets copied when the set was
                // first logged; the event says only what changed.
                let event = if new {
                    SessionEvent::SetLogged {
                        by,
                        round_id,
                        number,
                        exercise: exercise_at,
                        set,
                        reps,
                        load,
                        unit,
                        rpe,
                        name: exercise.name.clone(),
                        target_sets: exercise.sets,
                        target_reps: exercise.reps,
                        target_load: exercise.load,
                        rest_s: exercise.rest_s,
                        logged_at: now,
                    }
                } else {
                    SessionEvent::SetUpdated {
                        by,
                        round_id,
                        number,
                        exercise: exercise_at,
                        set,
                        reps,
                        load,
                        unit,
                        rpe,
                        updated_at: now,
                    }
                };
                work.append(event).await?;
                work.finish(new).await
            })
        })
        .await
}

/// A `set_logs` row as the session view reads it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub(super) struct SetRow {
    pub round_id: i64,
    pub position: i64,
    pub set_number: i64,
    pub exercise_name: String,
    pub presc_sets: Option<i64>,
    pub presc_reps: Option<i64>,
    pub presc_load_centi: Option<i64>,
    pub presc_load_unit: Option<String>,
    pub presc_rest_s: Option<i64>,
    pub reps: Option<i64>,
    pub load_centi: Option<i64>,
    pub rpe_half: Option<i64>,
    pub logged_at: i64,
    pub updated_at: Option<i64>,
}

/// The columns of [`SetRow`], from `set_logs l`.
pub(super) const SET_COLUMNS: &str = "l.round_id, l.position, l.set_number, l.exercise_name, \
    l.presc_sets, l.presc_reps, l.presc_load_centi, l.presc_load_unit, l.presc_rest_s, l.reps, \
    l.load_centi, l.rpe_half, l.logged_at, l.updated_at";

impl From<SetRow> for LoggedSet {
    fn from(row: SetRow) -> LoggedSet {
        LoggedSet {
            exercise: small(Some(row.position)).unwrap_or_default(),
            set: small(Some(row.set_number)).unwrap_or_default(),
            name: row.exercise_name,
            target_sets: small(row.presc_sets),
            target_reps: small(row.presc_reps),
            target_load: from_centi(row.presc_load_centi),
            unit: row.presc_load_unit.as_deref().and_then(LoadUnit::parse),
            rest_s: small(row.presc_rest_s),
            reps: small(row.reps),
            load: from_centi(row.load_centi),
            rpe: from_halves(row.rpe_half),
            logged_at: row.logged_at,
            updated_at: row.updated_at,
        }
    }
}
