//! The unit of work every mutation runs in: begin a read-write transaction,
//! lock the session row, answer a repeated request from its stored result,
//! resolve which side the user is on; then the mutation checks its rule,
//! writes, appends its events, and [`Work::commit`] stores the answer,
//! commits and hands the events to the bus. A refused mutation returns
//! before the commit: the transaction rolls back, nothing is published.

pub(super) use super::writer::Tx;
use super::{writer::Held, Outcome, Store};
use crate::{
    error::AppError,
    model::{SessionEvent, SessionStatus, Side, User},
    server::{
        events,
        idempotency::{self, Idempotency, Once},
    },
};
use serde::{de::DeserializeOwned, Serialize};

/// A session row as mutations need it.
#[derive(Clone, Copy, Debug)]
pub(super) struct SessionRow {
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

/// A transaction with its idempotency key and the events appended so far.
pub(super) struct Unit<'a> {
    held: Held,
    once: Once<'a>,
    actor_id: i64,
    events: Vec<crate::model::live::LiveEvent>,
}

impl<'a> Unit<'a> {
    /// Begins the transaction for `user`'s request.
    pub async fn begin(
        store: Store<'_>,
        user: &User,
        key: Option<&'a Idempotency>,
    ) -> Result<Unit<'a>, AppError> {
        Ok(Unit {
            held: store.writer.begin().await?,
            once: Once {
                user_id: user.id,
                key,
            },
            actor_id: user.id,
            events: Vec::new(),
        })
    }

    /// The transaction.
    pub fn tx(&mut self) -> &mut Tx {
        self.held.tx()
    }

    /// The stored answer if this request (its key) was committed before.
    pub async fn replayed<T: DeserializeOwned>(&mut self) -> Result<Option<Outcome<T>>, AppError> {
        Ok(idempotency::replay(self.held.tx(), self.once)
            .await?
            .map(|value| Outcome {
                value,
                events: Vec::new(),
            }))
    }

    /// Appends `event` to the session's log, in this transaction.
    pub async fn append(&mut self, session_id: i64, event: SessionEvent) -> Result<(), AppError> {
        let kind = event.kind();
        let event = events::append(self.held.tx(), session_id, event, self.actor_id)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, kind, "cannot append to the event log");
                AppError::from(e)
            })?;
        self.events.push(event);
        Ok(())
    }

    /// Stores the answer under the request's key (if any), commits, then
    /// hands the events to the bus: the one place every mutation ends.
    pub async fn commit<T: Serialize + DeserializeOwned>(
        mut self,
        store: Store<'_>,
        participants: [i64; 2],
        value: T,
    ) -> Result<Outcome<T>, AppError> {
        if !idempotency::record(self.held.tx(), self.once, &value).await? {
            // A concurrent repeat of this request committed first: roll
            // back and give its answer.
            drop(self.held);
            let value = idempotency::stored(&store.db.pool, self.once).await?;
            return Ok(Outcome {
                value,
                events: Vec::new(),
            });
        }
        let events = self
            .held
            .commit(store.bus, self.events, participants)
            .await?;
        Ok(Outcome { value, events })
    }
}

/// A unit of work on one locked session, with the user's side resolved.
pub(super) struct Work<'a> {
    pub unit: Unit<'a>,
    pub session: SessionRow,
    pub side: Side,
}

/// How [`Work::begin`] went: go on, or this request was answered before.
pub(super) enum Begun<'a, T> {
    Open(Work<'a>),
    Done(Outcome<T>),
}

impl<'a> Work<'a> {
    /// Begins, locks the session row for the rest of the transaction (a
    /// write, so SQLite takes its write lock up front and PostgreSQL
    /// serialises mutations of one session), replays a repeated request,
    /// and resolves the user's side (`Forbidden` for anyone else, unknown
    /// sessions `NotFound`).
    pub async fn begin<T: DeserializeOwned>(
        store: Store<'_>,
        user: &User,
        session_id: i64,
        key: Option<&'a Idempotency>,
    ) -> Result<Begun<'a, T>, AppError> {
        let mut unit = Unit::begin(store, user, key).await?;
        let row: Option<(i64, i64, i64, String)> = sqlx::query_as(
            "UPDATE training_sessions SET last_seq = last_seq WHERE id = $1 \
             RETURNING id, athlete_id, trainer_id, status",
        )
        .bind(session_id)
        .fetch_optional(&mut **unit.tx())
        .await
        .map_err(step("lock the session"))?;
        let (id, athlete_id, trainer_id, status) = row.ok_or_else(no_such_session)?;
        let session = SessionRow {
            id,
            athlete_id,
            trainer_id,
            status: parse_status(&status)?,
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
    pub fn tx(&mut self) -> &mut Tx {
        self.unit.tx()
    }

    /// Appends an event of this session.
    pub async fn append(&mut self, event: SessionEvent) -> Result<(), AppError> {
        self.unit.append(self.session.id, event).await
    }

    /// Commits (see [`Unit::commit`]).
    pub async fn commit<T: Serialize + DeserializeOwned>(
        self,
        store: Store<'_>,
        value: T,
    ) -> Result<Outcome<T>, AppError> {
        let participants = self.session.participants();
        self.unit.commit(store, participants, value).await
    }
}

/// Logs which step of a unit of work failed, then maps the error.
pub(super) fn step(what: &'static str) -> impl Fn(sqlx::Error) -> AppError {
    move |e| {
        tracing::error!(error = %e, step = what, "database step failed");
        AppError::from(e)
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
