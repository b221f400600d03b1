//! Scale-out on PostgreSQL: events committed by any instance reach the
//! subscribers connected to every other instance.
//!
//! A trigger on `session_events` (migration `..._notify.sql`) calls
//! `pg_notify('spotter_events', …)` in the inserting transaction, so
//! PostgreSQL delivers the notification only if that transaction commits.
//! Each instance runs one [`spawn`]ed task holding a `LISTEN` connection: for
//! every notification about a session someone here follows, it reads the new
//! row(s) from the event log and publishes them to the local hub, in seq
//! order, once (the hub drops what it already published).
//!
//! PostgreSQL forgets notifications sent while a listener is disconnected.
//! So after every (re)connect, with `LISTEN` already active, the task catches
//! up each session that has local subscribers from the log, and tells local
//! dashboards to refetch. A follower (`live::follow`) fills any remaining
//! gap from the log when the next event arrives, so the log stays the one
//! source of truth.

use super::{db::Database, live::events_between};
use serde::Deserialize;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use std::{
    str::FromStr,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

/// The PostgreSQL notification channel (as in the migration's trigger).
pub const CHANNEL: &str = "spotter_events";
/// The `application_name` of the listener's connection (visible in
/// `pg_stat_activity`).
pub const APPLICATION_NAME: &str = "spotter-listener";
/// Longest wait between two connection attempts.
const MAX_RETRY: Duration = Duration::from_secs(5);

/// What the listener is doing, for `/readyz` and for tests.
#[derive(Clone, Debug, Default)]
pub struct ListenerStatus {
    inner: Arc<Counters>,
}

#[derive(Debug, Default)]
struct Counters {
    connected: AtomicBool,
    connects: AtomicU64,
    notifications: AtomicU64,
    caught_up: AtomicU64,
}

impl ListenerStatus {
    /// Whether the `LISTEN` connection is up.
    pub fn connected(&self) -> bool {
        self.inner.connected.load(Ordering::SeqCst)
    }
    /// Successful connections so far (1 + reconnects).
    pub fn connects(&self) -> u64 {
        self.inner.connects.load(Ordering::SeqCst)
    }
    /// Notifications received.
    pub fn notifications(&self) -> u64 {
        self.inner.notifications.load(Ordering::SeqCst)
    }
    /// Events published from the log after a reconnect.
    pub fn caught_up(&self) -> u64 {
        self.inner.caught_up.load(Ordering::SeqCst)
    }
}

/// Payload of a notification, written by the trigger.
#[derive(Debug, Deserialize)]
struct Notice {
    session_id: i64,
    seq: i64,
    athlete_id: i64,
    trainer_id: i64,
}

/// Starts the listener task for `db` (a PostgreSQL database at `url`).
/// `retry` is the first wait after a lost connection (it doubles up to 5 s
/// while connecting fails).
pub fn spawn(db: Database, url: &str, retry: Duration) -> Result<ListenerStatus, sqlx::Error> {
    let options = PgConnectOptions::from_str(url)?.application_name(APPLICATION_NAME);
    // The listener's own connection, never shared with queries (two, so a
    // new one can open while a broken one is still being closed).
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(10))
        .connect_lazy_with(options);
    let status = ListenerStatus::default();
    tokio::spawn(run(db, pool, status.clone(), retry));
    Ok(status)
}

async fn run(db: Database, pool: sqlx::PgPool, status: ListenerStatus, retry: Duration) {
    let mut wait = retry;
    loop {
        let result = listen(&db, &pool, &status).await;
        let was_connected = status.inner.connected.swap(false, Ordering::SeqCst);
        match result {
            Ok(()) => tracing::warn!("listener: connection lost; reconnecting"),
            Err(e) => tracing::warn!(error = %e, "listener: not connected; retrying"),
        }
        if was_connected {
            wait = retry;
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(MAX_RETRY.max(retry));
    }
}

/// One connection's life: LISTEN, catch up, then deliver notifications
/// until the connection is lost (Ok) or fails (Err).
async fn listen(
    db: &Database,
    pool: &sqlx::PgPool,
    status: &ListenerStatus,
) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.eager_reconnect(false);
    listener.listen(CHANNEL).await?;
    // Ready only once caught up: LISTEN is active, so anything committed
    // from here on is notified; anything before is read from the log.
    // (Also on the first connection: subscribers may have come while it
    // could not connect.)
    let published = catch_up(db).await?;
    if status.inner.connects.fetch_add(1, Ordering::SeqCst) > 0 {
        tracing::info!(published, "listener: reconnected and caught up");
    }
    status
        .inner
        .caught_up
        .fetch_add(published, Ordering::SeqCst);
    status.inner.connected.store(true, Ordering::SeqCst);
    while let Some(notification) = listener.try_recv().await? {
        status.inner.notifications.fetch_add(1, Ordering::SeqCst);
        match serde_json::from_str::<Notice>(notification.payload()) {
            Ok(notice) => deliver(db, &notice).await?,
            Err(e) => {
                tracing::warn!(error = %e, payload = notification.payload(), "listener: unreadable notification")
            }
        }
    }
    Ok(())
}

/// Publishes the event a notification announces, if anyone here listens,
/// with any earlier ones this instance has not published yet.
async fn deliver(db: &Database, notice: &Notice) -> Result<(), sqlx::Error> {
    let participants = [notice.athlete_id, notice.trainer_id];
    let Some(published) = db.hub.interest(notice.session_id, participants) else {
        return Ok(());
    };
    if notice.seq <= published {
        return Ok(());
    }
    let after = if published == 0 {
        notice.seq - 1
    } else {
        published
    };
    let events = events_between(db, notice.session_id, after, notice.seq).await?;
    db.hub.publish(&events, participants);
    Ok(())
}

/// After a reconnect: publishes, for each session followed here, the events
/// committed since the last one published (or its latest event, from which
/// followers fill their own gaps), then asks dashboards to refetch. Returns
/// the number of events published.
async fn catch_up(db: &Database) -> Result<u64, sqlx::Error> {
    let mut published = 0;
    for (session_id, last) in db.hub.watched_sessions() {
        let row: Option<(i64, i64, i64)> = sqlx::query_as(
            "SELECT athlete_id, trainer_id, last_seq FROM training_sessions WHERE id = $1",
        )
        .bind(session_id)
        .fetch_optional(&db.pool)
        .await?;
        let Some((athlete_id, trainer_id, last_seq)) = row else {
            continue;
        };
        if last_seq <= last {
            continue;
        }
        let after = if last == 0 { last_seq - 1 } else { last };
        let events = events_between(db, session_id, after, last_seq).await?;
        published += events.len() as u64;
        db.hub.publish(&events, [athlete_id, trainer_id]);
    }
    db.hub.reset_dashboards();
    Ok(published)
}
