//! Round mutations: the trainer saves, releases and deletes rounds; the
//! athlete completes the released one with feedback.

use super::{
    codec::{bind_exercise, to_centi, to_halves, ExerciseRow, ExerciseTuple, EXERCISE_COLUMNS},
    mutation::Mutation,
    work::{corrupt, step, Work},
};
use crate::{
    api::rounds::{CompleteRound, DeleteRound, ReleaseRound, SaveRound},
    error::AppError,
    model::{
        apply_row_action, checkbox,
        rules::{self, Verdict},
        validate_feedback, validate_round, Exercise, Feedback, RoundStatus, SessionEvent, Side,
        RELEASE_ACTION,
    },
    server::{
        db::now_ms,
        tx::{sql, Tx},
    },
};

/// A round as mutations need it.
#[derive(Clone, Copy, Debug)]
pub(super) struct RoundRow {
    pub id: i64,
    pub number: i64,
    pub status: RoundStatus,
    pub is_final: bool,
    pub revision: i64,
    pub released_at: Option<i64>,
}

impl RoundRow {
    /// The event a change of this round (as it now stands, with these
    /// exercises) is told as.
    fn event(&self, released: bool, exercises: Vec<Exercise>) -> SessionEvent {
        // The two variants carry the same fields.
        macro_rules! told_as {
            ($variant:ident) => {
                SessionEvent::$variant {
                    by: Side::Trainer,
                    round_id: self.id,
                    number: self.number,
                    status: self.status,
                    revision: self.revision,
                    is_final: self.is_final,
                    released_at: self.released_at,
                    exercises,
                }
            };
        }
        if released {
            told_as!(RoundReleased)
        } else {
            told_as!(RoundUpdated)
        }
    }
}

pub(super) fn no_such_round() -> AppError {
    AppError::NotFound("There is no such round in this session".into())
}

pub(super) async fn round_in(
    tx: &mut Tx<'_>,
    session_id: i64,
    round_id: i64,
) -> Result<RoundRow, AppError> {
    let row: Option<(i64, i64, String, i64, i64, Option<i64>)> = tx
        .fetch_optional(
            sql("SELECT id, number, status, is_final, revision, released_at FROM rounds WHERE id = $1 AND session_id = $2")
                .bind(round_id)
                .bind(session_id),
        )
        .await
        .map_err(step("read the round"))?;
    let (id, number, status, is_final, revision, released_at) = row.ok_or_else(no_such_round)?;
    Ok(RoundRow {
        id,
        number,
        status: RoundStatus::parse(&status).ok_or_else(|| corrupt("round status", &status))?,
        is_final: is_final != 0,
        revision,
        released_at,
    })
}

/// A round of the session as the caller's side may see it: a round it
/// does not see (a draft, to the athlete) is "no such round".
pub(super) async fn visible_round(
    work: &mut Work<'_, '_>,
    round_id: i64,
) -> Result<RoundRow, AppError> {
    let (session_id, side) = (work.session.id, work.side);
    match round_in(work.tx(), session_id, round_id).await? {
        round if !round.status.visible_to(side) => Err(no_such_round()),
        round => Ok(round),
    }
}

pub(super) async fn load_exercises(
    tx: &mut Tx<'_>,
    round_id: i64,
) -> Result<Vec<Exercise>, AppError> {
    let rows: Vec<ExerciseTuple> = tx
        .fetch_all(
            sql(format!(
                "SELECT {EXERCISE_COLUMNS} FROM exercises e WHERE e.round_id = $1 ORDER BY e.position"
            ))
            .bind(round_id),
        )
        .await
        .map_err(step("read the exercises"))?;
    Ok(rows
        .into_iter()
        .map(|row| Exercise::from(ExerciseRow::from(row)))
        .collect())
}

/// The exercise at `position` (0 is the first) of a round's `exercises`,
/// or a message naming the `exercise` field.
pub(super) fn exercise_at(exercises: &[Exercise], position: i64) -> Result<&Exercise, AppError> {
    usize::try_from(position)
        .ok()
        .and_then(|i| exercises.get(i))
        .ok_or_else(|| {
            AppError::invalid(
                "exercise",
                format!(
                    "Exercise must be a position from 0 to {} in this round",
                    exercises.len().saturating_sub(1)
                ),
            )
        })
}

/// Creates a draft round (empty `round_id`) or replaces an unfinished
/// round's exercises and final flag, bumping its revision; the row action
/// (move, remove) is applied first; with `release`, releases it too, in
/// the same transaction (so what the trainer had on screen is exactly what
/// the athlete gets). Answers the round's id.
impl Mutation for SaveRound {
    type Answer = i64;
    const SIDE: Option<(Side, &'static str)> = Some((Side::Trainer, "build rounds"));

    async fn apply(&self, work: &mut Work<'_, '_>) -> Result<i64, AppError> {
        let round_id = match self.round_id.trim() {
            "" => None,
            id => Some(id.parse::<i64>().map_err(|_| no_such_round())?),
        };
        let exercises =
            validate_round(&apply_row_action(self.exercises.clone(), &self.row_action))?;
        let is_final = checkbox(self.is_final.as_deref(), "is_final".into(), "Final round")?;
        let round = match round_id {
            None => new_round(work, is_final, exercises.len()).await?,
            Some(round_id) => revised_round(work, round_id, is_final, exercises.len()).await?,
        };
        for (position, exercise) in exercises.iter().enumerate() {
            let query = sql(
                "INSERT INTO exercises (round_id, position, name, sets, reps, load_centi, load_unit, duration_s, rest_s, notes) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(round.id)
            .bind(position as i64);
            work.execute("insert an exercise", bind_exercise(query, exercise))
                .await?;
        }
        work.append(round.event(false, exercises)).await?;
        if self.row_action == RELEASE_ACTION {
            release_in(work, &round).await?;
        }
        Ok(round.id)
    }
}

/// Inserts the session's next round, a draft, if [`rules::save`] allows a
/// new round with `exercises`.
async fn new_round(
    work: &mut Work<'_, '_>,
    is_final: bool,
    exercises: usize,
) -> Result<RoundRow, AppError> {
    let session_id = work.session.id;
    let (count, last): (i64, Option<i64>) = work
        .fetch_one(
            "count the rounds",
            sql("SELECT COUNT(*), MAX(number) FROM rounds WHERE session_id = $1").bind(session_id),
        )
        .await?;
    rules::save(work.side, work.session.status, None, count, exercises)?;
    let number = last.unwrap_or(0) + 1;
    let (id,): (i64,) = work
        .fetch_one(
            "insert the round",
            sql(
                "INSERT INTO rounds (session_id, number, status, is_final, revision, created_at) \
                 VALUES ($1, $2, 'draft', $3, 1, $4) RETURNING id",
            )
            .bind(session_id)
            .bind(number)
            .bind(is_final)
            .bind(now_ms()),
        )
        .await?;
    Ok(RoundRow {
        id,
        number,
        status: RoundStatus::Draft,
        is_final,
        revision: 1,
        released_at: None,
    })
}

/// Bumps an existing round's revision and final flag and clears its
/// exercises (the caller writes the new ones), if [`rules::save`] allows it.
async fn revised_round(
    work: &mut Work<'_, '_>,
    round_id: i64,
    is_final: bool,
    exercises: usize,
) -> Result<RoundRow, AppError> {
    let (side, status) = (work.side, work.session.status);
    rules::require_in_progress(status)?;
    let session_id = work.session.id;
    let round = round_in(work.tx(), session_id, round_id).await?;
    rules::save(
        side,
        status,
        Some((round.number, round.status)),
        0,
        exercises,
    )?;
    let revision = round.revision + 1;
    work.execute(
        "revise the round",
        sql("UPDATE rounds SET is_final = $1, revision = $2 WHERE id = $3")
            .bind(is_final)
            .bind(revision)
            .bind(round.id),
    )
    .await?;
    work.execute(
        "clear the exercises",
        sql("DELETE FROM exercises WHERE round_id = $1").bind(round.id),
    )
    .await?;
    Ok(RoundRow {
        revision,
        is_final,
        ..round
    })
}

/// A round of an in-progress session, for the trainer to change.
async fn open_round(work: &mut Work<'_, '_>, round_id: i64) -> Result<RoundRow, AppError> {
    rules::require_in_progress(work.session.status)?;
    let session_id = work.session.id;
    round_in(work.tx(), session_id, round_id).await
}

/// Releases `round` (as it now stands) inside the unit of work, if
/// [`rules::release`] allows it, and appends the event.
async fn release_in(work: &mut Work<'_, '_>, round: &RoundRow) -> Result<(), AppError> {
    let session_id = work.session.id;
    let exercises = load_exercises(work.tx(), round.id).await?;
    let open: Option<(i64,)> = work
        .fetch_optional(
            "find the open round",
            sql("SELECT number FROM rounds WHERE session_id = $1 AND status = 'released'")
                .bind(session_id),
        )
        .await?;
    rules::release(
        round.number,
        round.status,
        exercises.len(),
        open.map(|(number,)| number),
    )?;
    let now = now_ms();
    work.stamp(
        "release the round",
        "UPDATE rounds SET status = 'released', released_at = $1 WHERE id = $2",
        now,
        round.id,
    )
    .await?;
    let released = RoundRow {
        status: RoundStatus::Released,
        released_at: Some(now),
        ..*round
    };
    work.append(released.event(true, exercises)).await
}

/// Releases a draft with at least one exercise, when no other round is open.
impl Mutation for ReleaseRound {
    type Answer = ();
    const SIDE: Option<(Side, &'static str)> = Some((Side::Trainer, "release rounds"));

    async fn apply(&self, work: &mut Work<'_, '_>) -> Result<(), AppError> {
        let round = open_round(work, self.round_id).await?;
        release_in(work, &round).await
    }
}

/// Deletes a draft or released (not completed) round.
impl Mutation for DeleteRound {
    type Answer = ();
    const SIDE: Option<(Side, &'static str)> = Some((Side::Trainer, "delete rounds"));

    async fn apply(&self, work: &mut Work<'_, '_>) -> Result<(), AppError> {
        let round = open_round(work, self.round_id).await?;
        rules::delete(round.number, round.status)?;
        work.execute(
            "delete the round",
            sql("DELETE FROM rounds WHERE id = $1").bind(round.id),
        )
        .await?;
        work.append(SessionEvent::RoundDeleted {
            by: Side::Trainer,
            round_id: round.id,
            number: round.number,
            was: round.status,
        })
        .await
    }
}

/// Stores the checked feedback, one row per exercise, with a copy of the
/// prescription it answers.
async fn insert_feedback(
    work: &mut Work<'_, '_>,
    round_id: i64,
    checked: &[Feedback],
    now: i64,
) -> Result<(), AppError> {
    for (position, fb) in checked.iter().enumerate() {
        let query = sql(
            "INSERT INTO feedback (round_id, position, exercise_name, presc_sets, presc_reps, presc_load_centi, \
             presc_load_unit, presc_duration_s, presc_rest_s, presc_notes, sets_done, reps_done, load_used_centi, rpe_half, \
             pain, notes, created_at, duration_done_s) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
        )
        .bind(round_id)
        .bind(position as i64);
        let query = bind_exercise(query, &fb.prescription)
            .bind(fb.sets_done.map(i64::from))
            .bind(fb.reps_done.map(i64::from))
            .bind(to_centi(fb.load_used))
            .bind(to_halves(fb.rpe))
            .bind(fb.pain)
            .bind(&fb.notes)
            .bind(now)
            .bind(fb.duration_done_s.map(i64::from));
        work.execute("insert feedback", query).await?;
    }
    Ok(())
}

/// The athlete completes the released round with feedback for every
/// exercise, against the `revision` they saw ([`rules::complete`]).
/// Completing an already completed round again (a retry) changes nothing
/// and succeeds. Completing the final round completes the session; answers
/// whether it did.
impl Mutation for CompleteRound {
    type Answer = bool;
    const SIDE: Option<(Side, &'static str)> = Some((Side::Athlete, "complete rounds"));

    async fn apply(&self, work: &mut Work<'_, '_>) -> Result<bool, AppError> {
        let round = visible_round(work, self.round_id).await?;
        let status = work.session.status;
        if rules::complete(status, round.status, self.revision, round.revision)?
            == Verdict::AlreadyDone
        {
            return Ok(round.is_final);
        }
        let prescriptions = load_exercises(work.tx(), round.id).await?;
        if self.feedback.len() != prescriptions.len() {
            return Err(AppError::invalid(
                "feedback",
                format!(
                    "Give feedback for each of the {} exercises",
                    prescriptions.len()
                ),
            ));
        }
        let checked = self
            .feedback
            .iter()
            .zip(&prescriptions)
            .enumerate()
            .map(|(i, (input, prescription))| validate_feedback(i, input, prescription))
            .collect::<Result<Vec<_>, _>>()?;
        let now = now_ms();
        insert_feedback(work, round.id, &checked, now).await?;
        work.stamp(
            "complete the round",
            "UPDATE rounds SET status = 'completed', completed_at = $1 WHERE id = $2",
            now,
            round.id,
        )
        .await?;
        work.append(SessionEvent::RoundCompleted {
            by: Side::Athlete,
            round_id: round.id,
            number: round.number,
            pain: checked.iter().any(|fb| fb.pain),
            is_final: round.is_final,
            completed_at: now,
            feedback: checked,
        })
        .await?;
        if round.is_final {
            let completed = "UPDATE training_sessions SET status = 'completed', \
                             completed_at = $1 WHERE id = $2";
            work.stamp("complete the session", completed, now, self.session_id)
                .await?;
            work.append(SessionEvent::SessionCompleted {
                by: Side::Athlete,
                final_round: round.number,
            })
            .await?;
        }
        Ok(round.is_final)
    }
}
