//! Where every mutation's transaction comes from.
//!
//! On SQLite there is one write connection, and one task owns it (group
//! commit): it takes every action queued at that moment (at most
//! [`Limits::batch`]), runs them one after another inside one `BEGIN
//! IMMEDIATE` transaction, each but the first inside its own `SAVEPOINT`
//! (a refused action rolls back to it and disturbs nobody else; a refused
//! first action rolls the transaction back; savepoints are not released,
//! the commit ends them all), commits once, publishes the
//! batch's events in commit order, and only then answers each action. No
//! timer: an action that finds the queue empty is a batch of one, so light
//! load waits for nothing. When nobody is queued (at most every
//! [`CHECKPOINT_EVERY`] commits) it checkpoints the write-ahead log, so no
//! commit pays for that. The action's own code runs in its request's task
//! on the transaction *lent* to it ([`Lent`]); it hands it back kept
//! ([`Lent::keep`]) or, by being dropped, undone.
//!
//! On PostgreSQL mutations run side by side on the pool, each committing
//! on its own (its row locks order them).
//!
//! On both, at most [`Limits::queue`] actions wait for or hold a
//! transaction; one more is refused at once with `Busy` (503,
//! `Retry-After`), so memory stays bounded and nothing half-done is
//! answered.

use crate::{
    error::AppError,
    model::live::LiveEvent,
    server::{
        db::{Backend, Database},
        live::Bus,
        metrics,
    },
};
use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc,
};
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};

/// A read-write transaction.
pub(super) type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// Bounds of the write path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most actions in one SQLite commit.
    pub batch: usize,
    /// Most actions waiting for (or holding) a transaction; one more gets
    /// 503.
    pub queue: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            batch: 64,
            // Ten seconds of backlog at 1,000 actions/s: a reconnect storm
            // of 10,000 phones slows the writer for a few seconds, and a
            // queue of 1,024 refused 1,453 actions of one such run.
            queue: 10_000,
        }
    }
}

/// Hands out the transactions mutations run in. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Writer {
    kind: Kind,
}

#[derive(Clone, Debug)]
enum Kind {
    /// SQLite: the queue of the task that owns the write connection, and
    /// how many commits it made.
    Batching(mpsc::Sender<Turn>, Arc<AtomicU64>),
    /// PostgreSQL: the pool, with a bound on the actions admitted.
    Pool {
        db: Database,
        admitted: Arc<Semaphore>,
        limit: usize,
    },
}

/// One action's place in the SQLite queue: where its transaction is sent.
struct Turn {
    lend: oneshot::Sender<Lent>,
}

/// What an action hands back to the batch.
enum Back {
    /// Its changes stay: publish `events` after the commit, then answer.
    Kept {
        tx: Tx,
        events: Vec<LiveEvent>,
        participants: [i64; 2],
        answer: oneshot::Sender<Result<Vec<LiveEvent>, ()>>,
    },
    /// Refused (or its request went away): undo its changes.
    Undone(Tx),
}

/// The batch's transaction, lent to one action. Dropping it hands it back
/// undone.
pub(super) struct Lent {
    tx: Option<Tx>,
    back: Option<oneshot::Sender<Back>>,
}

/// A transaction as a mutation holds it.
pub(super) enum Held {
    /// Lent by the SQLite batch.
    Lent(Lent),
    /// Its own (PostgreSQL), with its place among the admitted actions.
    Own(Tx, OwnedSemaphorePermit),
}

impl Held {
    /// The transaction.
    pub fn tx(&mut self) -> &mut Tx {
        match self {
            Held::Lent(lent) => lent.tx.as_mut().expect("a lent transaction until kept"),
            Held::Own(tx, _) => tx,
        }
    }

    /// Makes the changes durable, then publishes `events` to the bus; the
    /// events back once that is done.
    pub async fn commit(
        self,
        bus: &Bus,
        events: Vec<LiveEvent>,
        participants: [i64; 2],
    ) -> Result<Vec<LiveEvent>, AppError> {
        match self {
            Held::Lent(mut lent) => {
                let (answer, answered) = oneshot::channel();
                let (tx, back) = (lent.tx.take(), lent.back.take());
                let (Some(tx), Some(back)) = (tx, back) else {
                    return Err(AppError::Internal);
                };
                back.send(Back::Kept {
                    tx,
                    events,
                    participants,
                    answer,
                })
                .map_err(|_| gone())?;
                answered
                    .await
                    .map_err(|_| gone())?
                    .map_err(|()| AppError::Internal)
            }
            Held::Own(tx, _permit) => {
                tx.commit().await.map_err(|e| {
                    tracing::error!(error = %e, step = "commit", "database step failed");
                    AppError::from(e)
                })?;
                bus.committed(&events, participants);
                Ok(events)
            }
        }
    }
}

impl Drop for Lent {
    fn drop(&mut self) {
        if let (Some(tx), Some(back)) = (self.tx.take(), self.back.take()) {
            let _ = back.send(Back::Undone(tx));
        }
    }
}

fn gone() -> AppError {
    tracing::error!("the writer stopped");
    AppError::Internal
}

impl Writer {
    /// The writer for `db`: on SQLite it starts the batching task (it ends
    /// when the last clone of the writer is dropped), on PostgreSQL it uses
    /// the pool.
    pub fn start(db: &Database, bus: &Bus, limits: Limits) -> Writer {
        let kind = match db.backend {
            Backend::Sqlite => {
                let (queue, turns) = mpsc::channel(limits.queue.max(1));
                let commits = Arc::new(AtomicU64::new(0));
                let batching = run(
                    db.writer.clone(),
                    turns,
                    bus.clone(),
                    limits.batch.max(1),
                    commits.clone(),
                );
                tokio::spawn(batching);
                Kind::Batching(queue, commits)
            }
            Backend::Postgres => Kind::Pool {
                db: db.clone(),
                admitted: Arc::new(Semaphore::new(limits.queue.max(1))),
                limit: limits.queue.max(1),
            },
        };
        Writer { kind }
    }

    /// Actions waiting for the database: queued for the SQLite writer (the
    /// one it is running not counted), or admitted on PostgreSQL.
    pub fn waiting(&self) -> usize {
        match &self.kind {
            Kind::Batching(queue, _) => queue.max_capacity() - queue.capacity(),
            Kind::Pool {
                admitted, limit, ..
            } => limit - admitted.available_permits(),
        }
    }

    /// SQLite: transactions committed so far (each one batch of actions);
    /// `None` on PostgreSQL.
    pub fn commits(&self) -> Option<u64> {
        match &self.kind {
            Kind::Batching(_, commits) => Some(commits.load(Ordering::Relaxed)),
            Kind::Pool { .. } => None,
        }
    }

    /// A transaction for one action, once its turn comes; `Busy` at once if
    /// the queue is full.
    pub(super) async fn begin(&self) -> Result<Held, AppError> {
        match &self.kind {
            Kind::Batching(queue, _) => {
                let (lend, lent) = oneshot::channel();
                queue.try_send(Turn { lend }).map_err(|e| match e {
                    mpsc::error::TrySendError::Full(_) => busy(),
                    mpsc::error::TrySendError::Closed(_) => gone(),
                })?;
                metrics::write_queue(queue.max_capacity() - queue.capacity());
                // A dropped turn: the batch could not begin (logged there).
                Ok(Held::Lent(lent.await.map_err(|_| AppError::Internal)?))
            }
            Kind::Pool { db, admitted, .. } => {
                let permit = admitted.clone().try_acquire_owned().map_err(|_| busy())?;
                let tx = db.pool.begin().await.map_err(|e| {
                    tracing::error!(error = %e, step = "begin", "database step failed");
                    AppError::from(e)
                })?;
                Ok(Held::Own(tx, permit))
            }
        }
    }
}

fn busy() -> AppError {
    metrics::write_refused();
    AppError::Busy(1)
}

/// The SQLite writer's loop: a batch per wake-up, until every sender is gone.
async fn run(
    pool: sqlx::AnyPool,
    mut turns: mpsc::Receiver<Turn>,
    bus: Bus,
    most: usize,
    commits: Arc<AtomicU64>,
) {
    let mut since_checkpoint = 0;
    while let Some(first) = turns.recv().await {
        let mut batch = Batch::default();
        let mut next = Some(first);
        while let Some(turn) = next {
            batch.run(&pool, turn).await;
            next = if batch.taken < most {
                turns.try_recv().ok()
            } else {
                None
            };
        }
        metrics::write_queue(turns.len());
        if batch.commit(&bus).await {
            commits.fetch_add(1, Ordering::Relaxed);
            since_checkpoint += 1;
        }
        // Copy the write-ahead log back into the database while nobody
        // waits, rather than in whichever commit crosses SQLite's
        // automatic threshold (raised on this connection as a backstop).
        if since_checkpoint >= CHECKPOINT_EVERY && turns.is_empty() {
            since_checkpoint = 0;
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&pool)
                .await
            {
                tracing::warn!(error = %e, "checkpoint failed");
            }
        }
    }
}

/// Commits between two idle-time checkpoints.
const CHECKPOINT_EVERY: u64 = 200;

/// An action kept in the batch, waiting for the commit.
struct Kept {
    events: Vec<LiveEvent>,
    participants: [i64; 2],
    answer: oneshot::Sender<Result<Vec<LiveEvent>, ()>>,
}

/// One transaction's worth of actions.
#[derive(Default)]
struct Batch {
    tx: Option<Tx>,
    kept: Vec<Kept>,
    taken: usize,
}

const SAVEPOINT: &str = "SAVEPOINT action";
const ROLLBACK_TO: &str = "ROLLBACK TO action";

impl Batch {
    /// Lends the transaction to `turn`'s action and takes it back.
    async fn run(&mut self, pool: &sqlx::AnyPool, turn: Turn) {
        self.taken += 1;
        if self.tx.is_none() {
            match pool.begin_with("BEGIN IMMEDIATE").await {
                Ok(tx) => self.tx = Some(tx),
                Err(e) => {
                    // The action's request gets `Internal` (its turn is
                    // dropped); the next one tries again.
                    tracing::error!(error = %e, step = "begin", "database step failed");
                    return;
                }
            }
        }
        let nested = !self.kept.is_empty();
        if nested && self.execute(SAVEPOINT).await.is_err() {
            return;
        }
        let (back, returned) = oneshot::channel();
        let lent = Lent {
            tx: self.tx.take(),
            back: Some(back),
        };
        if let Err(mut lent) = turn.lend.send(lent) {
            // The request went away before its turn: nothing to undo (its
            // empty savepoint ends with the commit).
            lent.back = None;
            self.tx = lent.tx.take();
            return;
        }
        match returned.await {
            Ok(Back::Kept {
                tx,
                events,
                participants,
                answer,
            }) => {
                // Its savepoint stays open until the commit (no RELEASE:
                // one statement less per action); the next action's
                // savepoint nests inside it.
                self.tx = Some(tx);
                self.kept.push(Kept {
                    events,
                    participants,
                    answer,
                });
            }
            Ok(Back::Undone(tx)) => {
                self.tx = Some(tx);
                if nested {
                    // Rolls back to the newest savepoint of that name: this
                    // action's.
                    let _ = self.execute(ROLLBACK_TO).await;
                } else if let Some(tx) = self.tx.take() {
                    // The first action: nothing else to keep.
                    let _ = tx.rollback().await;
                }
            }
            // The transaction was lost with its action (only if the lent
            // value was leaked): what the batch kept is gone with it.
            Err(_) => self.fail("the lent transaction was not handed back"),
        }
    }

    /// Runs a statement of the batch's own; on failure the whole batch is
    /// given up (an error inside a savepoint may have ended the
    /// transaction).
    async fn execute(&mut self, sql: &'static str) -> Result<(), ()> {
        let Some(tx) = self.tx.as_mut() else {
            return Err(());
        };
        match sqlx::query(sql).execute(&mut **tx).await {
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::error!(error = %e, sql, "write batch statement failed");
                self.fail(sql);
                Err(())
            }
        }
    }

    /// Answers every kept action with an error and drops the transaction
    /// (rolled back).
    fn fail(&mut self, why: &str) {
        if !self.kept.is_empty() {
            tracing::error!(why, actions = self.kept.len(), "write batch failed");
        }
        self.tx = None;
        for kept in self.kept.drain(..) {
            let _ = kept.answer.send(Err(()));
        }
    }

    /// Commits once; on success publishes every kept action's events in
    /// commit order, then answers each. Whether anything was committed.
    async fn commit(mut self, bus: &Bus) -> bool {
        metrics::write_batch(self.kept.len());
        let Some(tx) = self.tx.take() else {
            self.fail("no transaction");
            return false;
        };
        if self.kept.is_empty() {
            let _ = tx.rollback().await;
            return false;
        }
        if let Err(e) = tx.commit().await {
            tracing::error!(error = %e, step = "commit", "database step failed");
            self.fail("commit");
            return false;
        }
        for kept in &self.kept {
            bus.committed(&kept.events, kept.participants);
        }
        for kept in self.kept.drain(..) {
            let _ = kept.answer.send(Ok(kept.events));
        }
        true
    }
}
