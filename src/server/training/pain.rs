//! Pain as an alert: the athlete reports it, the trainer acknowledges it.

use super::{
    codec::small,
    mutation::Mutation,
    rounds::{exercise_at, load_exercises, visible_round},
    work::Work,
};
use crate::{
    api::pain::{AcknowledgePain, ReportPain},
    error::AppError,
    model::{
        rules::{self, Verdict},
        sets_to_log, validate_pain_note, validate_pain_set, PainReport, SessionEvent, Side,
    },
    server::{db::now_ms, tx::sql},
};

/// The athlete reports pain on an exercise (or one of its sets) of a round
/// they have (`pain-reported`). Answers the report's id.
impl Mutation for ReportPain {
    type Answer = i64;
    const SIDE: Option<(Side, &'static str)> = Some((Side::Athlete, "report pain"));

    async fn apply(&self, work: &mut Work<'_, '_>) -> Result<i64, AppError> {
        let round = visible_round(work, self.round_id).await?;
        rules::report_pain(work.session.status, round.status)?;
        let exercises = load_exercises(work.tx(), round.id).await?;
        let exercise = exercise_at(&exercises, self.exercise)?;
        let set = validate_pain_set(&self.set, sets_to_log(exercise))?;
        let note = validate_pain_note(&self.note)?;
        let now = now_ms();
        let (id,): (i64,) = work.fetch_one("report pain", sql("INSERT INTO pain_reports (session_id, round_id, round_number, position, exercise_name, \
                     set_number, note, reported_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id")
                .bind(self.session_id)
                .bind(round.id)
                .bind(round.number)
                .bind(self.exercise)
                .bind(&exercise.name)
                .bind(set.map(i64::from))
                .bind(&note)
                .bind(now),).await?;
        work.append(SessionEvent::PainReported {
            by: Side::Athlete,
            report_id: id,
            round_id: round.id,
            number: round.number,
            exercise: self.exercise,
            set: set.map(i64::from),
            note: (!note.is_empty()).then_some(note),
            name: exercise.name.clone(),
            reported_at: now,
        })
        .await?;
        Ok(id)
    }
}

/// The trainer acknowledges a pain report (`pain-acknowledged`); again
/// changes nothing.
impl Mutation for AcknowledgePain {
    type Answer = ();
    const SIDE: Option<(Side, &'static str)> = Some((Side::Trainer, "acknowledge pain"));

    async fn apply(&self, work: &mut Work<'_, '_>) -> Result<(), AppError> {
        let row: Option<(Option<i64>,)> = work
            .fetch_optional(
                "read the pain report",
                sql("SELECT acknowledged_at FROM pain_reports WHERE id = $1 AND session_id = $2")
                    .bind(self.report_id)
                    .bind(self.session_id),
            )
            .await?;
        let (acknowledged_at,) = row.ok_or_else(|| {
            AppError::NotFound("There is no such pain report in this session".into())
        })?;
        if rules::acknowledge_pain(acknowledged_at.is_some()) == Verdict::AlreadyDone {
            return Ok(());
        }
        let now = now_ms();
        work.stamp(
            "acknowledge pain",
            "UPDATE pain_reports SET acknowledged_at = $1 WHERE id = $2",
            now,
            self.report_id,
        )
        .await?;
        work.append(SessionEvent::PainAcknowledged {
            by: Side::Trainer,
            report_id: self.report_id,
            acknowledged_at: now,
        })
        .await
    }
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
