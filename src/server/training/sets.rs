//! Sets logged as they are done: the athlete logs a set of the released
//! round, or corrects one, until the round is completed.

use super::{
    codec::{from_centi, from_halves, small, to_centi, to_halves},
    mutation::Mutation,
    rounds::{exercise_at, load_exercises, visible_round},
    work::Work,
};
use crate::{
    api::sets::LogSet,
    error::AppError,
    model::{rules, validate_set, LoadUnit, LoggedSet, SessionEvent, SetInput, Side},
    server::{
        db::now_ms,
        tx::{sql, Sql},
    },
};

/// A set's values as stored: reps, load (centi), time (s), RPE (halves).
type Stored = (Option<i64>, Option<i64>, Option<i64>, Option<i64>);

/// Logs set `set` of exercise `exercise` as done (`set-logged`), or, when
/// it was logged before, corrects it (`set-updated`; nothing changes and no
/// event is told when the values are the same). Answers whether the set
/// was new. Only the athlete, only on the released round they saw
/// ([`rules::log_set`]), only sets the prescription has.
impl Mutation for LogSet {
    type Answer = bool;
    const SIDE: Option<(Side, &'static str)> = Some((Side::Athlete, "log sets"));

    async fn apply(&self, work: &mut Work<'_, '_>) -> Result<bool, AppError> {
        let round = visible_round(work, self.round_id).await?;
        let input = SetInput {
            reps: self.reps.clone(),
            load: self.load.clone(),
            duration_s: self.duration_s.clone(),
            rpe: self.rpe.clone(),
        };
        rules::log_set(
            work.session.status,
            round.status,
            self.revision,
            round.revision,
        )?;
        let exercises = load_exercises(work.tx(), round.id).await?;
        let exercise = exercise_at(&exercises, self.exercise)?;
        let values = validate_set(exercise, self.set, &input)?;
        let (reps, load, duration, rpe) = (
            values.reps.map(i64::from),
            to_centi(values.load),
            values.duration_s.map(i64::from),
            to_halves(values.rpe),
        );
        // Every statement names the set as $1, $2, $3.
        let the_set = |q: Sql| q.bind(round.id).bind(self.exercise).bind(self.set);
        let before: Option<Stored> = work
            .fetch_optional(
                "read the set",
                the_set(sql(
                    "SELECT reps, load_centi, duration_s, rpe_half FROM set_logs \
                             WHERE round_id = $1 AND position = $2 AND set_number = $3",
                )),
            )
            .await?;
        let now = now_ms();
        let new = before.is_none();
        // Writes: then the values and when as $4 to $8.
        let written = |q: Sql| {
            the_set(q)
                .bind(reps)
                .bind(load)
                .bind(duration)
                .bind(rpe)
                .bind(now)
        };
        let (what, statement) = match before {
            Some(same) if same == (reps, load, duration, rpe) => return Ok(false),
            Some(_) => (
                "correct the set",
                written(sql("UPDATE set_logs SET reps = $4, load_centi = $5, duration_s = $6, \
                             rpe_half = $7, updated_at = $8 \
                             WHERE round_id = $1 AND position = $2 AND set_number = $3")),
            ),
            None => (
                "log the set",
                written(sql("INSERT INTO set_logs (round_id, position, set_number, reps, load_centi, \
                             duration_s, rpe_half, logged_at, exercise_name, presc_sets, presc_reps, \
                             presc_load_centi, presc_load_unit, presc_rest_s, presc_duration_s) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"))
                .bind(&exercise.name)
                .bind(exercise.sets.map(i64::from))
                .bind(exercise.reps.map(i64::from))
                .bind(to_centi(exercise.load))
                .bind(exercise.load_unit.map(|u| u.as_str()))
                .bind(exercise.rest_s.map(i64::from))
                .bind(exercise.duration_s.map(i64::from)),
            ),
        };
        work.execute(what, statement).await?;
        let unit = exercise.load_unit.map(|u| u.as_str().to_string());
        let (load, duration_s, rpe) = (values.load, values.duration_s, values.rpe);
        // The two variants share what the set is and its values; a
        // correction keeps the targets copied when the set was first
        // logged, so it says only what changed.
        macro_rules! told_as {
            ($variant:ident { $($more:tt)* }) => {
                SessionEvent::$variant {
                    by: Side::Athlete,
                    round_id: round.id,
                    number: round.number,
                    exercise: self.exercise,
                    set: self.set,
                    reps,
                    load,
                    unit,
                    rpe,
                    duration_s,
                    $($more)*
                }
            };
        }
        let event = if new {
            told_as!(SetLogged {
                name: exercise.name.clone(),
                target_sets: exercise.sets,
                target_reps: exercise.reps,
                target_load: exercise.load,
                rest_s: exercise.rest_s,
                target_duration_s: exercise.duration_s,
                logged_at: now,
            })
        } else {
            told_as!(SetUpdated { updated_at: now })
        };
        work.append(event).await?;
        Ok(new)
    }
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
    pub presc_duration_s: Option<i64>,
    pub reps: Option<i64>,
    pub load_centi: Option<i64>,
    pub duration_s: Option<i64>,
    pub rpe_half: Option<i64>,
    pub logged_at: i64,
    pub updated_at: Option<i64>,
}

/// The columns of [`SetRow`], from `set_logs l`.
pub(super) const SET_COLUMNS: &str = "l.round_id, l.position, l.set_number, l.exercise_name, \
    l.presc_sets, l.presc_reps, l.presc_load_centi, l.presc_load_unit, l.presc_rest_s, \
    l.presc_duration_s, l.reps, l.load_centi, l.duration_s, l.rpe_half, l.logged_at, l.updated_at";

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
            target_duration_s: small(row.presc_duration_s),
            reps: small(row.reps),
            load: from_centi(row.load_centi),
            duration_s: small(row.duration_s),
            rpe: from_halves(row.rpe_half),
            logged_at: row.logged_at,
            updated_at: row.updated_at,
        }
    }
}
