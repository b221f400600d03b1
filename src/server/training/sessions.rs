//! Session mutations: start, join, cancel.

use super::{
    mutation::Mutation,
    work::{SessionRow, Work},
};
use crate::{
    api::sessions::{CancelSession, JoinSession, StartSession},
    error::AppError,
    model::{
        rules::{self, Verdict},
        validate_reason, Role, SessionEvent, SessionStatus, Side,
    },
    server::{db::now_ms, limits::Attempt, tx::sql},
};

/// An athlete starts a session with one of the trainers. If the two already
/// have one open (waiting or active), that one is returned instead, so a
/// double tap does not start two. Answers the session's id.
impl Mutation for StartSession {
    type Answer = i64;
    // Only athletes: `Scope::NewSession` refuses anyone else.
    const SIDE: Option<(Side, &'static str)> = None;

    fn attempt(user_id: i64) -> Attempt<'static> {
        Attempt::Start(user_id)
    }

    async fn apply(&self, work: &mut Work<'_, '_>) -> Result<i64, AppError> {
        let choose = || AppError::invalid("trainer_id", "Choose one of the trainers");
        let trainer_id = self
            .trainer_id
            .trim()
            .parse::<i64>()
            .map_err(|_| choose())?;
        let trainer: Option<(String,)> = work
            .fetch_optional(
                "read the trainer",
                sql("SELECT role FROM users WHERE id = $1").bind(trainer_id),
            )
            .await?;
        if !matches!(trainer, Some((ref role,)) if role == Role::Trainer.as_str()) {
            return Err(choose());
        }
        let athlete_id = work.session.athlete_id;
        let open: Option<(i64,)> = work
            .fetch_optional(
                "find an open session",
                sql(
                    "SELECT id FROM training_sessions WHERE athlete_id = $1 AND trainer_id = $2 \
                     AND status IN ('waiting', 'active') ORDER BY id LIMIT 1",
                )
                .bind(athlete_id)
                .bind(trainer_id),
            )
            .await?;
        let mut session = SessionRow {
            trainer_id,
            ..work.session
        };
        if let Some((id,)) = open {
            work.session = SessionRow { id, ..session };
            return Ok(id);
        }
        let (id,): (i64,) = work
            .fetch_one(
                "insert the session",
                sql(
                    "INSERT INTO training_sessions (athlete_id, trainer_id, status, created_at) \
                     VALUES ($1, $2, 'waiting', $3) RETURNING id",
                )
                .bind(athlete_id)
                .bind(trainer_id)
                .bind(now_ms()),
            )
            .await?;
        session.id = id;
        session.status = SessionStatus::Waiting;
        work.session = session;
        work.append(SessionEvent::SessionStarted {
            by: Side::Athlete,
            athlete_id,
            trainer_id,
        })
        .await?;
        Ok(id)
    }

    fn redirect(&self, id: &i64) -> Option<String> {
        Some(format!("/sessions/{id}"))
    }
}

/// The session's trainer joins; joining an active session again is a no-op.
impl Mutation for JoinSession {
    type Answer = ();
    // `rules::join` names the side.
    const SIDE: Option<(Side, &'static str)> = None;

    async fn apply(&self, work: &mut Work<'_, '_>) -> Result<(), AppError> {
        if rules::join(work.side, work.session.status)? == Verdict::AlreadyDone {
            return Ok(());
        }
        work.execute(
            "join",
            sql("UPDATE training_sessions SET status = 'active', joined_at = $1 WHERE id = $2")
                .bind(now_ms())
                .bind(self.session_id),
        )
        .await?;
        let trainer_id = work.session.trainer_id;
        work.append(SessionEvent::SessionJoined {
            by: Side::Trainer,
            trainer_id,
        })
        .await
    }

    fn redirect(&self, _: &()) -> Option<String> {
        Some(format!("/sessions/{}/trainer", self.session_id))
    }
}

/// Either side cancels an unfinished session, with an optional reason.
/// Cancelling an already cancelled session again is a no-op.
impl Mutation for CancelSession {
    type Answer = ();
    const SIDE: Option<(Side, &'static str)> = None;

    async fn apply(&self, work: &mut Work<'_, '_>) -> Result<(), AppError> {
        let reason = validate_reason(&self.reason)?;
        if rules::cancel(work.session.status)? == Verdict::AlreadyDone {
            return Ok(());
        }
        let by = work.side;
        work.execute(
            "cancel",
            sql(
                "UPDATE training_sessions SET status = 'cancelled', cancelled_at = $1, \
                     cancelled_by = $2, cancel_reason = $3 WHERE id = $4",
            )
            .bind(now_ms())
            .bind(by.as_str())
            .bind(reason.clone())
            .bind(self.session_id),
        )
        .await?;
        work.append(SessionEvent::SessionCancelled { by, reason })
            .await
    }

    fn redirect(&self, _: &()) -> Option<String> {
        Some(format!("/dashboard?cancelled={}", self.session_id))
    }
}
