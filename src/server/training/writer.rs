//! Where every mutation runs.
//!
//! A mutation is an *action*: a closure that, given a transaction
//! ([`Tx`]), checks its rule, writes, and says what to keep
//! ([`Finished`]). [`Writer::run`] runs it and answers only once what it
//! kept is committed.
//!
//! On SQLite there is one write connection, and one thread of its own owns
//! it (group commit): it takes every action queued at that moment (at most
//! [`Limits::batch`]), runs them one after another inside one `BEGIN
//! IMMEDIATE` transaction, each but the first inside its own `SAVEPOINT`
//! (a refused action rolls back to it and disturbs nobody else; a refused
//! first action rolls the transaction back; savepoints are not released,
//! the commit ends them all), commits once, publishes the batch's events
//! in commit order, and only then answers each action. The action's
//! statements run right there on that thread (rusqlite, prepared
//! statements cached): no thread hop per statement. No timer: an action
//! that finds the queue empty is a batch of one, so light load waits for
//! nothing. When nobody is queued (at most every [`CHECKPOINT_EVERY`]
//! commits) it checkpoints the write-ahead log, so no commit pays for that.
//!
//! On PostgreSQL actions run side by side on the pool, in their request's
//! task, each committing on its own (its row locks order them).
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
        tx::Tx,
    },
};
use futures::future::BoxFuture;
use std::{
    panic::{catch_unwind, AssertUnwindSafe},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
};
use tokio::{
    runtime::Handle,
    sync::{mpsc, oneshot, Semaphore},
};

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

/// What an action leaves for the commit.
pub(super) enum Finished<T> {
    /// Commit its changes, then publish `events` (none for a replayed
    /// request) to the `participants`' dashboards and answer `value`.
    Keep {
        value: T,
        events: Vec<LiveEvent>,
        participants: [i64; 2],
    },
    /// Undo its changes and answer `value` (a concurrent repeat of the
    /// request committed first; this is its answer).
    Undo(T),
}

/// Runs mutations. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Writer {
    kind: Kind,
}

#[derive(Clone, Debug)]
enum Kind {
    /// SQLite: the queue of the thread that owns the write connection, and
    /// how many commits it made.
    Batching(mpsc::Sender<Job>, Arc<AtomicU64>),
    /// PostgreSQL: the pool, with a bound on the actions admitted.
    Pool {
        db: Database,
        bus: Bus,
        admitted: Arc<Semaphore>,
        limit: usize,
    },
}

/// One queued action, its result type erased: it runs on the write
/// connection and says what the batch keeps.
struct Job(Box<dyn RunOn>);

/// An action ready to run on the write connection.
trait RunOn: FnOnce(&mut rusqlite::Connection, &Handle) -> Step + Send {}

impl<F: FnOnce(&mut rusqlite::Connection, &Handle) -> Step + Send> RunOn for F {}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Job")
    }
}

/// How an action went, for its batch.
enum Step {
    /// Its changes stay: publish `events` after the commit, then answer.
    Kept(Kept),
    /// Refused, undone, or its request went away (answered already, if
    /// anyone is waiting).
    Undone,
}

/// An action kept in the batch, waiting for the commit.
struct Kept {
    events: Vec<LiveEvent>,
    participants: [i64; 2],
    /// Called once with the commit's result.
    answer: Box<dyn FnOnce(Result<(), ()>) + Send>,
}

fn gone() -> AppError {
    tracing::error!("the writer stopped");
    AppError::Internal
}

fn busy() -> AppError {
    metrics::write_refused();
    AppError::Busy(1)
}

/// Why the writer could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// SQLite's write connection could not be opened or set up.
    #[error("cannot open SQLite's write connection: {0}")]
    Connection(#[from] rusqlite::Error),
    /// The writer's thread could not be started.
    #[error("cannot start the SQLite writer's thread: {0}")]
    Thread(std::io::Error),
}

impl Writer {
    /// The writer for `db`: on SQLite it opens the write connection and
    /// starts the batching thread (it ends when the last clone of the
    /// writer is dropped), on PostgreSQL it uses the pool.
    pub fn start(db: &Database, bus: &Bus, limits: Limits) -> Result<Writer, StartError> {
        let kind = match db.backend {
            Backend::Sqlite => {
                let conn = db.sqlite_writer()?;
                let (queue, jobs) = mpsc::channel(limits.queue.max(1));
                let commits = Arc::new(AtomicU64::new(0));
                let (bus, counted, most) = (bus.clone(), commits.clone(), limits.batch.max(1));
                let runtime = Handle::current();
                std::thread::Builder::new()
                    .name("spotter-writer".into())
                    .spawn(move || run(conn, jobs, bus, runtime, most, counted))
                    .map_err(StartError::Thread)?;
                Kind::Batching(queue, commits)
            }
            Backend::Postgres => Kind::Pool {
                db: db.clone(),
                bus: bus.clone(),
                admitted: Arc::new(Semaphore::new(limits.queue.max(1))),
                limit: limits.queue.max(1),
            },
        };
        Ok(Writer { kind })
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

    /// Runs `action` in a transaction once its turn comes; answers once
    /// what it kept is committed and its events are on the bus. `Busy` at
    /// once if the queue is full.
    pub(super) async fn run<T, A>(&self, action: A) -> Result<T, AppError>
    where
        T: Send + 'static,
        A: for<'c> FnOnce(Tx<'c>) -> BoxFuture<'c, Result<Finished<T>, AppError>> + Send + 'static,
    {
        match &self.kind {
            Kind::Batching(queue, _) => {
                let (answer, answered) = oneshot::channel();
                let job = Job(Box::new(move |conn, runtime| {
                    on_writer(conn, runtime, action, answer)
                }));
                queue.try_send(job).map_err(|e| match e {
                    mpsc::error::TrySendError::Full(_) => busy(),
                    mpsc::error::TrySendError::Closed(_) => gone(),
                })?;
                metrics::write_queue(queue.max_capacity() - queue.capacity());
                // A dropped answer: the batch could not begin or commit
                // (logged there).
                answered.await.map_err(|_| AppError::Internal)?
            }
            Kind::Pool {
                db, bus, admitted, ..
            } => {
                let _permit = admitted.clone().try_acquire_owned().map_err(|_| busy())?;
                let mut tx = db.pool.begin().await.map_err(|e| {
                    tracing::error!(error = %e, step = "begin", "database step failed");
                    AppError::Internal
                })?;
                // A refusal drops `tx`: rolled back.
                match action(Tx::Postgres(&mut tx)).await? {
                    Finished::Keep {
                        value,
                        events,
                        participants,
                    } => {
                        tx.commit().await.map_err(|e| {
                            tracing::error!(error = %e, step = "commit", "database step failed");
                            AppError::Internal
                        })?;
                        bus.committed(&events, participants);
                        Ok(value)
                    }
                    Finished::Undo(value) => Ok(value),
                }
            }
        }
    }
}

/// Runs one action on the writer's thread: to completion (its statements
/// never wait on anything but SQLite, so the future is ready at once), and
/// turns its result into the batch's [`Step`]. Refusals are answered at
/// once; kept actions when the batch is committed.
fn on_writer<T, A>(
    conn: &mut rusqlite::Connection,
    runtime: &Handle,
    action: A,
    answer: oneshot::Sender<Result<T, AppError>>,
) -> Step
where
    T: Send + 'static,
    A: for<'c> FnOnce(Tx<'c>) -> BoxFuture<'c, Result<Finished<T>, AppError>>,
{
    if answer.is_closed() {
        // The request went away before its turn.
        return Step::Undone;
    }
    let ran = catch_unwind(AssertUnwindSafe(|| {
        runtime.block_on(action(Tx::Sqlite(conn)))
    }));
    match ran {
        Ok(Ok(Finished::Keep {
            value,
            events,
            participants,
        })) => Step::Kept(Kept {
            events,
            participants,
            answer: Box::new(move |committed| {
                let _ = answer.send(match committed {
                    Ok(()) => Ok(value),
                    Err(()) => Err(AppError::Internal),
                });
            }),
        }),
        Ok(Ok(Finished::Undo(value))) => {
            let _ = answer.send(Ok(value));
            Step::Undone
        }
        Ok(Err(refused)) => {
            let _ = answer.send(Err(refused));
            Step::Undone
        }
        Err(_) => {
            tracing::error!("an action panicked on the writer; undone");
            let _ = answer.send(Err(AppError::Internal));
            Step::Undone
        }
    }
}

/// The SQLite writer's loop: a batch per wake-up, until every sender is gone.
fn run(
    mut conn: rusqlite::Connection,
    mut jobs: mpsc::Receiver<Job>,
    bus: Bus,
    runtime: Handle,
    most: usize,
    commits: Arc<AtomicU64>,
) {
    // Publishing and metrics may need the runtime's context.
    let _entered = runtime.enter();
    let mut since_checkpoint = 0;
    while let Some(first) = jobs.blocking_recv() {
        let mut batch = Batch::default();
        let mut next = Some(first);
        while let Some(job) = next {
            batch.run(&mut conn, &runtime, job);
            next = if batch.taken < most {
                jobs.try_recv().ok()
            } else {
                None
            };
        }
        metrics::write_queue(jobs.len());
        if batch.commit(&conn, &bus) {
            commits.fetch_add(1, Ordering::Relaxed);
            since_checkpoint += 1;
        }
        // Copy the write-ahead log back into the database while nobody
        // waits, rather than in whichever commit crosses SQLite's
        // automatic threshold (raised on this connection as a backstop).
        if since_checkpoint >= CHECKPOINT_EVERY && jobs.is_empty() {
            since_checkpoint = 0;
            if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                tracing::warn!(error = %e, "checkpoint failed");
            }
        }
    }
}

/// Commits between two idle-time checkpoints.
const CHECKPOINT_EVERY: u64 = 200;

/// One transaction's worth of actions.
#[derive(Default)]
struct Batch {
    /// Whether `BEGIN IMMEDIATE` ran and the transaction is still open.
    open: bool,
    kept: Vec<Kept>,
    taken: usize,
}

const BEGIN: &str = "BEGIN IMMEDIATE";
const SAVEPOINT: &str = "SAVEPOINT action";
const ROLLBACK_TO: &str = "ROLLBACK TO action";

impl Batch {
    /// Runs `job`'s action in the batch's transaction.
    fn run(&mut self, conn: &mut rusqlite::Connection, runtime: &Handle, job: Job) {
        self.taken += 1;
        if !self.open {
            if let Err(e) = conn.execute_batch(BEGIN) {
                // The action's request gets `Internal` (the job, with its
                // answer, is dropped); the next one tries again.
                tracing::error!(error = %e, step = "begin", "database step failed");
                return;
            }
            self.open = true;
        }
        let nested = !self.kept.is_empty();
        if nested && self.execute(conn, SAVEPOINT).is_err() {
            return;
        }
        match (job.0)(conn, runtime) {
            // Its savepoint stays open until the commit (no RELEASE: one
            // statement less per action); the next action's savepoint
            // nests inside it.
            Step::Kept(kept) => self.kept.push(kept),
            Step::Undone if nested => {
                // Rolls back to the newest savepoint of that name: this
                // action's.
                let _ = self.execute(conn, ROLLBACK_TO);
            }
            Step::Undone => {
                // The first action: nothing else to keep.
                self.open = false;
                if let Err(e) = conn.execute_batch("ROLLBACK") {
                    tracing::error!(error = %e, "rollback failed");
                }
            }
        }
    }

    /// Runs a statement of the batch's own; on failure the whole batch is
    /// given up (an error inside a savepoint may have ended the
    /// transaction).
    fn execute(&mut self, conn: &rusqlite::Connection, sql: &'static str) -> Result<(), ()> {
        match conn.execute_batch(sql) {
            Ok(()) => Ok(()),
            Err(e) => {
                tracing::error!(error = %e, sql, "write batch statement failed");
                self.fail(conn, sql);
                Err(())
            }
        }
    }

    /// Rolls back and answers every kept action with an error.
    fn fail(&mut self, conn: &rusqlite::Connection, why: &str) {
        if !self.kept.is_empty() {
            tracing::error!(why, actions = self.kept.len(), "write batch failed");
        }
        if self.open && !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        self.open = false;
        for kept in self.kept.drain(..) {
            (kept.answer)(Err(()));
        }
    }

    /// Commits once; on success publishes every kept action's events in
    /// commit order, then answers each. Whether anything was committed.
    fn commit(mut self, conn: &rusqlite::Connection, bus: &Bus) -> bool {
        metrics::write_batch(self.kept.len());
        if !self.open {
            self.fail(conn, "no transaction");
            return false;
        }
        if self.kept.is_empty() {
            self.open = false;
            let _ = conn.execute_batch("ROLLBACK");
            return false;
        }
        if let Err(e) = conn.execute_batch("COMMIT") {
            tracing::error!(error = %e, step = "commit", "database step failed");
            self.fail(conn, "commit");
            return false;
        }
        self.open = false;
        for kept in &self.kept {
            bus.committed(&kept.events, kept.participants);
        }
        for kept in self.kept.drain(..) {
            (kept.answer)(Ok(()));
        }
        true
    }
}
