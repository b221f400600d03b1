//! The unit of work every mutation runs in: lock the session row, answer
//! a repeated request from its stored result, resolve which side the user
//! is on; then the mutation checks its rule, writes, appends its events,
//! and [`Work::finish`] stores the answer and hands the writer what to
//! keep (`writer::Finished`): the writer commits, publishes the events and
//! answers. A refused mutation returns an error instead: its changes are
//! undone, nothing is published.

pub(super) use super::writer::Finished;
use crate::{
    error::AppError,
    model::{Role, SessionEvent, SessionStatus, Side, User},
    server::{
        events,
        idempotency::{self, Idempotency, Once},
        tx::{sql, Columns, DbError, Sql, Tx},
    },
};
use serde::{de::DeserializeOwned, Serialize};
/// Which session a mutation changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// An existing session: locked for the transaction, the caller's side
    /// resolved (anyone else is refused).
    Session(i64),
    /// A session the calling athlete starts (their row is locked instead,
    /// so two taps at once take turns).
    NewSession,
}

/// A session row as mutations need it.
#[derive(Clone, Copy, Debug)]
pub struct SessionRow {
    pub id: i64,
    pub athlete_id: i64,
    pub trainer_id: i64,
    pub status: SessionStatus,
}

impl SessionRow {
    /// The two user ids whose dashboards hear about this session.
    pub fn participants(&self) -> [i64; 2] {
        [self.athlete_id, self.trainer_id]
    }

    /// Which side `user_id` is on, or `Forbidden` for anyone else.
    pub fn side_of(&self, user_id: i64) -> Result<Side, AppError> {
        if user_id == self.athlete_id {
            Ok(Side::Athlete)
        } else if user_id == self.trainer_id {
            Ok(Side::Trainer)
        } else {
            Err(AppError::Forbidden(
                "This session belongs to someone else".into(),
            ))
        }
    }
}

impl<T> Finished<T> {
    /// The answer of a request committed before (its key): nothing new to
    /// keep or publish, answered once the batch it is in commits.
    fn replayed(value: T) -> Finished<T> {
        Finished::Keep {
            value,
            events: Vec::new(),
            participants: [0, 0],
        }
    }
}

/// A transaction with its idempotency key and the events appended so far.
pub(super) struct Unit<'a, 'c> {
    tx: Tx<'c>,
    once: Once<'a>,
    actor_id: i64,
    events: Vec<crate::model::live::LiveEvent>,
}

impl<'a, 'c> Unit<'a, 'c> {
    /// `user`'s request in the transaction `tx`.
    pub fn new(tx: Tx<'c>, user: &User, key: Option<&'a Idempotency>) -> Unit<'a, 'c> {
        Unit {
            tx,
            once: Once {
                user_id: user.id,
                key,
            },
            actor_id: user.id,
            events: Vec::new(),
        }
    }

    /// The transaction.
    pub fn tx(&mut self) -> &mut Tx<'c> {
        &mut self.tx
    }

    /// The stored answer if this request (its key) was committed before.
    pub async fn replayed<T: DeserializeOwned>(&mut self) -> Result<Option<Finished<T>>, AppError> {
        Ok(idempotency::replay(&mut self.tx, self.once)
            .await?
            .map(Finished::replayed))
    }

    /// Appends `event` to the session's log, in this transaction.
    pub async fn append(&mut self, session_id: i64, event: SessionEvent) -> Result<(), AppError> {
        let kind = event.kind();
        let event = events::append(&mut self.tx, session_id, event, self.actor_id)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, kind, step = "append to the event log", "database step failed");
                AppError::Internal
            })?;
        self.events.push(event);
        Ok(())
    }

    /// Stores the answer under the request's key (if any) and hands the
    /// writer what to commit and publish: the one place every mutation
    /// ends.
    pub async fn finish<T: Serialize + DeserializeOwned>(
        mut self,
        participants: [i64; 2],
        value: T,
    ) -> Result<Finished<T>, AppError> {
        if !idempotency::record(&mut self.tx, self.once, &value).await? {
            // A concurrent repeat of this request (PostgreSQL) committed
            // first: undo, and give its answer (this transaction sees it
            // now).
            let value = idempotency::replay(&mut self.tx, self.once)
                .await?
                .ok_or(AppError::Internal)?;
            return Ok(Finished::Undo(value));
        }
        Ok(Finished::Keep {
            value,
            events: self.events,
            participants,
        })
    }
}

/// A unit of work on one locked session, with the user's side resolved.
pub struct Work<'a, 'c> {
    unit: Unit<'a, 'c>,
    pub session: SessionRow,
    pub side: Side,
}

/// How [`Work::begin`] went: go on, or this request was answered before.
pub(super) enum Begun<'a, 'c, T> {
    Open(Work<'a, 'c>),
    Done(Finished<T>),
}

impl<'a, 'c> Work<'a, 'c> {
    /// Locks the session row for the rest of the transaction (a write, so
    /// PostgreSQL serialises mutations of one session; SQLite's writer
    /// already holds the write lock), replays a repeated request, and
    /// resolves the user's side (`Forbidden` for anyone else, unknown
    /// sessions `NotFound`). A new session is the calling athlete's own,
    /// not written yet: their row is locked instead, so their starts take
    /// turns from here to the commit (PostgreSQL's READ COMMITTED would
    /// let two each see no open session and insert).
    pub(super) async fn begin<T: DeserializeOwned>(
        tx: Tx<'c>,
        user: &User,
        scope: Scope,
        key: Option<&'a Idempotency>,
    ) -> Result<Begun<'a, 'c, T>, AppError> {
        let mut unit = Unit::new(tx, user, key);
        let session = match scope {
            Scope::Session(id) => lock_session(unit.tx(), id).await?,
            Scope::NewSession => {
                if user.role != Role::Athlete {
                    return Err(AppError::Forbidden(
                        "Only athletes start sessions; athletes invite their trainer".into(),
                    ));
                }
                unit.tx()
                    .execute(sql("UPDATE users SET id = id WHERE id = $1").bind(user.id))
                    .await
                    .map_err(step("lock the athlete"))?;
                SessionRow {
                    id: 0,
                    athlete_id: user.id,
                    trainer_id: 0,
                    status: SessionStatus::Waiting,
                }
            }
        };
        if let Some(done) = unit.replayed().await? {
            return Ok(Begun::Done(done));
        }
        let side = session.side_of(user.id)?;
        Ok(Begun::Open(Work {
            unit,
            session,
            side,
        }))
    }

    /// The transaction.
    pub fn tx(&mut self) -> &mut Tx<'c> {
        self.unit.tx()
    }

    /// Runs statement `q`; a failure is logged once, as step `what`.
    pub async fn execute(&mut self, what: &'static str, q: Sql) -> Result<u64, AppError> {
        self.tx().execute(q).await.map_err(step(what))
    }

    /// Runs `statement`, which stamps row `$2` with time `$1` (released,
    /// completed, acknowledged at), with `at` and `id`, as step `what`.
    pub async fn stamp(
        &mut self,
        what: &'static str,
        statement: &'static str,
        at: i64,
        id: i64,
    ) -> Result<(), AppError> {
        self.execute(what, sql(statement).bind(at).bind(id))
            .await
            .map(drop)
    }

    /// The first row of `q`, if any (a failure logged as step `what`).
    pub async fn fetch_optional<R: Columns>(
        &mut self,
        what: &'static str,
        q: Sql,
    ) -> Result<Option<R>, AppError> {
        self.tx().fetch_optional(q).await.map_err(step(what))
    }

    /// The first row of `q` (a failure, or no row, logged as step `what`).
    pub async fn fetch_one<R: Columns>(
        &mut self,
        what: &'static str,
        q: Sql,
    ) -> Result<R, AppError> {
        self.tx().fetch_one(q).await.map_err(step(what))
    }

    /// Appends an event of this session.
    pub async fn append(&mut self, event: SessionEvent) -> Result<(), AppError> {
        self.unit.append(self.session.id, event).await
    }

    /// Finishes (see [`Unit::finish`]).
    pub(super) async fn finish<T: Serialize + DeserializeOwned>(
        self,
        value: T,
    ) -> Result<Finished<T>, AppError> {
        let participants = self.session.participants();
        self.unit.finish(participants, value).await
    }
}

/// Locks session `id`'s row and reads it.
async fn lock_session(tx: &mut Tx<'_>, id: i64) -> Result<SessionRow, AppError> {
    let row: Option<(i64, i64, i64, String)> = tx
        .fetch_optional(
            sql(
                "UPDATE training_sessions SET last_seq = last_seq WHERE id = $1 \
                 RETURNING id, athlete_id, trainer_id, status",
            )
            .bind(id),
        )
        .await
        .map_err(step("lock the session"))?;
    let (id, athlete_id, trainer_id, status) = row.ok_or_else(no_such_session)?;
    Ok(SessionRow {
        id,
        athlete_id,
        trainer_id,
        status: parse_status(&status)?,
    })
}

/// Logs which step of a unit of work failed (the one log line of a
/// database error; `?` on a `DbError` without a step logs it as
/// "database error"), and answers `Internal`.
pub(super) fn step(what: &'static str) -> impl Fn(DbError) -> AppError {
    move |e| {
        tracing::error!(error = %e, step = what, "database step failed");
        AppError::Internal
    }
}

pub(super) fn no_such_session() -> AppError {
    AppError::NotFound("There is no such session".into())
}

pub(super) fn parse_status(value: &str) -> Result<SessionStatus, AppError> {
    SessionStatus::parse(value).ok_or_else(|| corrupt("session status", value))
}

pub(super) fn corrupt(what: &str, value: &str) -> AppError {
    tracing::error!(what, value, "unexpected value in the database");
    AppError::Internal
}
