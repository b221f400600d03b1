//! How training values are stored: loads in hundredths, RPE in half points,
//! exercises as eight columns (`name, sets, reps, load_centi, load_unit,
//! duration_s, rest_s, notes`, the same order in `exercises` and in the
//! prescription copy in `feedback`), and the rows read back.

use crate::{
    model::{Exercise, LoadUnit},
    server::tx::Sql,
};

/// Loads are stored in hundredths (see the migration).
pub(super) fn to_centi(value: Option<f64>) -> Option<i64> {
    value.map(|v| (v * 100.0).round() as i64)
}

pub(super) fn from_centi(value: Option<i64>) -> Option<f64> {
    value.map(|v| v as f64 / 100.0)
}

/// RPE is stored in half points.
pub(super) fn to_halves(value: Option<f64>) -> Option<i64> {
    value.map(|v| (v * 2.0).round() as i64)
}

pub(super) fn from_halves(value: Option<i64>) -> Option<f64> {
    value.map(|v| v as f64 / 2.0)
}

/// A stored count or duration, if it fits the model's `u32`.
pub(super) fn small(value: Option<i64>) -> Option<u32> {
    value.and_then(|n| u32::try_from(n).ok())
}

/// Binds an exercise's eight columns, in the order above.
pub(super) fn bind_exercise(query: Sql, exercise: &Exercise) -> Sql {
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

/// The eight exercise columns as read back, with the round they belong to.
#[derive(Clone, Debug, sqlx::FromRow)]
pub(super) struct ExerciseRow {
    pub round_id: i64,
    pub name: String,
    pub sets: Option<i64>,
    pub reps: Option<i64>,
    pub load_centi: Option<i64>,
    pub load_unit: Option<String>,
    pub duration_s: Option<i64>,
    pub rest_s: Option<i64>,
    pub notes: String,
}

/// An [`ExerciseRow`] as the writer's transaction reads it (same columns).
pub(super) type ExerciseTuple = (
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

impl From<ExerciseTuple> for ExerciseRow {
    fn from(
        (round_id, name, sets, reps, load_centi, load_unit, duration_s, rest_s, notes): ExerciseTuple,
    ) -> ExerciseRow {
        ExerciseRow {
            round_id,
            name,
            sets,
            reps,
            load_centi,
            load_unit,
            duration_s,
            rest_s,
            notes,
        }
    }
}

/// The columns of [`ExerciseRow`] from `exercises e`.
pub(super) const EXERCISE_COLUMNS: &str = "e.round_id, e.name, e.sets, e.reps, e.load_centi, e.load_unit, e.duration_s, e.rest_s, e.notes";

impl From<ExerciseRow> for Exercise {
    fn from(row: ExerciseRow) -> Exercise {
        Exercise {
            name: row.name,
            sets: small(row.sets),
            reps: small(row.reps),
            load: from_centi(row.load_centi),
            load_unit: row.load_unit.as_deref().and_then(LoadUnit::parse),
            duration_s: small(row.duration_s),
            rest_s: small(row.rest_s),
            notes: row.notes,
        }
    }
}
