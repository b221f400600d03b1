//! Session mutations: start, join, cancel.

use super::{
    work::{step, Begun, Unit, Work},
    Outcome, Store,
};
use crate::{
    error::AppError,
    model::{
        rules::{self, Verdict},
        Role, SessionEvent, Side, User,
    },
    server::{db::now_ms, idempotency::Idempotency, tx::sql},
};

/// An athlete starts a session with one of the trainers. If the two already
/// have one open (waiting or active), that one is returned instead, so a
/// double tap does not start two.
#[tracing::instrument(name = "start_session", skip(store, athlete, key), fields(user_id = athlete.id))]
pub async fn start_session(
    store: Store<'_>,
    athlete: &User,
    trainer_id: i64,
    key: Option<&Idempotency>,
) -> Result<Outcome<i64>, AppError> {
    if athlete.role != Role::Athlete {
        return Err(AppError::Forbidden(
            "Only athletes start sessions; athletes invite their trainer".into(),
        ));
    }
    let (athlete, key) = (athlete.clone(), key.cloned());
    store
        .writer
        .run(move |tx| {
            Box::pin(async move {
                let mut unit = Unit::new(tx, &athlete, key.as_ref());
                // Taps at once must not start two sessions: a no-op update locks the
                // athlete's row, so this athlete's starts take turns from here to the
                // commit. (PostgreSQL's READ COMMITTED would let each one see no open
                // session and insert; SQLite's single writer already takes turns.)
                unit.tx()
                    .execute(sql("UPDATE users SET id = id WHERE id = $1").bind(athlete.id))
                    .await
                    .map_err(step("lock the athlete"))?;
                if let Some(done) = unit.replayed().await? {
                    return Ok(done);
                }
                let trainer: Option<(String,)> = unit
                    .tx()
                    .fetch_optional(sql("SELECT role FROM users WHERE id = $1").bind(trainer_id))
                    .await?;
                if !matches!(trainer, Some((ref role,)) if role == Role::Trainer.as_str()) {
                    return Err(AppError::invalid(
                        "trainer_id",
                        "Choose one of the trainers",
                    ));
                }
                let participants = [athlete.id, trainer_id];
                let open: Option<(i64,)> = unit
                    .tx()
                    .fetch_optional(
                        sql("SELECT id FROM training_sessions WHERE athlete_id = $1 AND trainer_id = $2 \
                             AND status IN ('waiting', 'active') ORDER BY id LIMIT 1")
                        .bind(athlete.id)
                        .bind(trainer_id),
                    )
                    .await?;
                if let Some((id,)) = open {
                    return unit.finish(participants, id).await;
                }
                let (id,): (i64,) = unit
                    .tx()
                    .fetch_one(
                        sql("INSERT INTO training_sessions (athlete_id, trainer_id, status, created_at) \
                             VALUES ($1, $2, 'waiting', $3) RETURNING id")
                        .bind(athlete.id)
                        .bind(trainer_id)
                        .bind(now_ms()),
                    )
                    .await
                    .map_err(step("insert the session"))?;
                let started = SessionEvent::SessionStarted {
                    by: Side::Athlete,
                    athlete_id: athlete.id,
                    trainer_id,
                };
                unit.append(id, started).await?;
                unit.finish(participants, id).await
            })
        })
        .await
}

/// The session's trainer joins; joining an active session again is a no-op.
#[tracing::instrument(name = "join_session", skip(store, user, key), fields(user_id = user.id))]
pub async fn join_session(
    store: Store<'_>,
    user: &User,
    session_id: i64,
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
                if rules::join(work.side, work.session.status)? == Verdict::AlreadyDone {
                    return work.finish(()).await;
                }
                work.tx()
                    .execute(
                        sql("UPDATE training_sessions SET status = 'active', joined_at = $1 WHERE id = $2")
                            .bind(now_ms())
                            .bind(session_id),
                    )
                    .await?;
                let joined = SessionEvent::SessionJoined {
                    by: Side::Trainer,
                    trainer_id: user.id,
                };
                work.append(joined).await?;
                work.finish(()).await
            })
        })
        .await
}

/// Either side cancels an unfinished session, with an optional reason.
/// Cancelling an already cancelled session again is a no-op.
#[tracing::instrument(name = "cancel_session", skip(store, user, reason, key), fields(user_id = user.id))]
pub async fn cancel_session(
    store: Store<'_>,
    user: &User,
    session_id: i64,
    reason: Option<String>,
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
                if rules::cancel(work.session.status)? == Verdict::AlreadyDone {
                    return work.finish(()).await;
                }
                let by = work.side;
                work.tx()
                    .execute(
                        sql("UPDATE training_sessions SET status = 'cancelled', cancelled_at = $1, cancelled_by = $2, cancel_reason = $3 WHERE id = $4")
                            .bind(now_ms())
                            .bind(by.as_str())
                            .bind(reason.clone())
                            .bind(session_id),
                    )
                    .await?;
                work.append(SessionEvent::SessionCancelled { by, reason })
                    .await?;
                work.finish(()).await
            })
        })
        .await
}
