//! Scale-out on PostgreSQL: events committed by any instance reach the
//! subscribers connected to every other instance.
//!
//! After a mutation commits, the instance that ran it sends a hint on
//! `spotter_events` ([`super::notifier`]: one `pg_notify` for all the
//! events committed meanwhile, outside the business transaction).
//! Each instance runs one [`spawn`]ed task holding a `LISTEN` connection: for
//! every notification about a session someone here follows, it publishes the
//! event to the local hub (carried in the notification, or read from the log
//! when it was too large or an earlier one is missing), in seq order, once
//! (the hub drops what it already published).
//!
//! PostgreSQL forgets notifications sent while a listener is disconnected.
//! So after every (re)connect, with `LISTEN` already active, the task catches
//! up each session that has local subscribers from the log, and tells local
//! dashboards to refetch. A follower (`live::follow`) fills any remaining
//! gap from the log when the next event arrives, so the log stays the one
//! source of truth.
//!
//! Presence crosses instances the same way, on a second channel: each
//! instance announces its local connection counts per session when they
//! change and repeats them every few seconds; reports that stop (an
//! instance died) expire. Typing goes on a third, as it happens (a lost
//! one is only a missed hint).

use super::{
    hub::Hub,
    presence::{LocalPresence, Presences},
    typing::{TypingNotice, Typists},
};
use crate::server::metrics;
use crate::{
    model::{live::LiveEvent, SessionEvent},
    server::{db::Database, events, shutdown::Shutdown},
};
use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use std::{
    str::FromStr,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

/// The PostgreSQL notification channel committed events are announced on.
pub const CHANNEL: &str = "spotter_events";
/// The channel a logout is announced on (payload: the login's id), so
/// every instance closes that login's live connections.
pub const LOGOUT_CHANNEL: &str = "spotter_logout";
/// The channel instances tell each other who is connected on.
pub const PRESENCE_CHANNEL: &str = "spotter_presence";
/// The channel instances relay typing on (payload: a [`TypingNotice`]).
pub const TYPING_CHANNEL: &str = "spotter_typing";
/// How often an instance repeats who is connected to it.
const PRESENCE_REFRESH: Duration = Duration::from_secs(5);
/// How long another instance's report holds unless repeated: an instance
/// that died stops counting after this.
const PRESENCE_TTL: Duration = Duration::from_secs(15);
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
    /// Events published from the log after a reconnect.
    pub fn caught_up(&self) -> u64 {
        self.inner.caught_up.load(Ordering::SeqCst)
    }
}

/// Payload of a presence notification.
#[derive(Debug, Deserialize, Serialize)]
struct PresenceNotice {
    instance: u64,
    session_id: i64,
    athletes: usize,
    trainers: usize,
}

/// One committed event in a notification on [`CHANNEL`] (a JSON array of
/// them, written by [`super::notifier`]).
#[derive(Debug, Deserialize, Serialize)]
pub struct Notice {
    pub session_id: i64,
    pub seq: i64,
    pub athlete_id: i64,
    pub trainer_id: i64,
    /// The event itself (`kind`, `at`, `data`), unless it was too large
    /// for a notification. Read as a [`NoticeEvent`]; one that does not
    /// read is taken from the log instead.
    pub event: Option<serde_json::Value>,
}

/// The event in a notification: when it was committed, and the typed event
/// (`kind` and `data`, as [`LiveEvent`] writes them).
#[derive(Debug, Deserialize)]
struct NoticeEvent {
    at: i64,
    #[serde(flatten)]
    event: SessionEvent,
}

/// What the listener works with: the log (read on catch-up) and where it
/// delivers (the local hub, presence, typing and logouts).
#[derive(Clone)]
pub struct Local {
    pub db: Database,
    pub hub: Hub,
    pub presences: Presences,
    pub typists: Typists,
    pub logouts: tokio::sync::broadcast::Sender<std::sync::Arc<str>>,
}

/// Starts the listener (feeding `local`'s hub) and the presence and typing
/// exchange (for its `presences` and `typists`) on its `db` (a
/// PostgreSQL database at `url`); both end when `shutdown` is requested.
/// `retry` is the first wait after a lost connection (it doubles up to 5 s
/// while connecting fails).
pub fn spawn(
    local: Local,
    url: &str,
    retry: Duration,
    shutdown: Shutdown,
) -> Result<(ListenerStatus, Vec<tokio::task::JoinHandle<()>>), sqlx::Error> {
    let options = PgConnectOptions::from_str(url)?;
    // The listener's own connection, never shared with queries (two, so a
    // new one can open while a broken one is still being closed).
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(10))
        .connect_lazy_with(options.clone().application_name(APPLICATION_NAME));
    // One more connection to send presence and typing notifications on.
    let presence_pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(10))
        .connect_lazy_with(options.application_name("spotter-presence"));
    let status = ListenerStatus::default();
    // Tells this instance's notifications about presence from the others'.
    let instance: u64 = rand::random();
    let (sink, changes) = tokio::sync::mpsc::unbounded_channel();
    local.presences.send_changes_to(sink);
    let (sink, typing) = tokio::sync::mpsc::unbounded_channel();
    local.typists.send_to(sink);
    let tasks = vec![
        tokio::spawn(shutdown.clone().or_stop(share_presence(
            local.presences.clone(),
            presence_pool,
            instance,
            changes,
            typing,
        ))),
        tokio::spawn(shutdown.or_stop(run(local, pool, status.clone(), retry, instance))),
    ];
    Ok((status, tasks))
}

/// Sends local presence changes to the other instances, repeats all local
/// presence every [`PRESENCE_REFRESH`] (so an instance that missed a change
/// or just started learns it), and forgets reports not repeated in time;
/// relays local typing as it comes.
async fn share_presence(
    presences: Presences,
    pool: sqlx::PgPool,
    instance: u64,
    mut changes: tokio::sync::mpsc::UnboundedReceiver<LocalPresence>,
    mut typing: tokio::sync::mpsc::UnboundedReceiver<TypingNotice>,
) {
    let mut refresh = tokio::time::interval(PRESENCE_REFRESH);
    loop {
        let batch = tokio::select! {
            notice = typing.recv() => {
                let Some(notice) = notice else { return };
                // A lost one is a missed hint.
                tell(&pool, TYPING_CHANNEL, &TypingNotice { instance, ..notice }).await;
                continue;
            }
            change = changes.recv() => match change {
                Some(change) => vec![change],
                None => return,
            },
            _ = refresh.tick() => {
                presences.expire_remote();
                presences.local()
            }
        };
        for presence in batch {
            let notice = PresenceNotice {
                instance,
                session_id: presence.session_id,
                athletes: presence.athletes,
                trainers: presence.trainers,
            };
            // A lost one: the next refresh repeats it.
            tell(&pool, PRESENCE_CHANNEL, &notice).await;
        }
    }
}

/// Sends `notice` (as JSON) to the other instances on `channel`, best
/// effort: a failure is logged and forgotten.
async fn tell(pool: &sqlx::PgPool, channel: &str, notice: &impl Serialize) {
    let payload = serde_json::to_string(notice).unwrap_or_default();
    if let Err(e) = sqlx::query("SELECT pg_notify($1, $2)")
        .bind(channel)
        .bind(payload)
        .execute(pool)
        .await
    {
        tracing::debug!(error = %e, channel, "listener: could not tell the other instances");
    }
}

#[tracing::instrument(name = "listener", skip_all)]
async fn run(
    local: Local,
    pool: sqlx::PgPool,
    status: ListenerStatus,
    retry: Duration,
    instance: u64,
) {
    let mut wait = retry;
    loop {
        let result = listen(&local, &pool, &status, instance).await;
        let was_connected = status.inner.connected.swap(false, Ordering::SeqCst);
        match result {
            Ok(()) => {
                metrics::listener_reconnect();
                tracing::warn!("listener: connection lost; reconnecting");
            }
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
    local: &Local,
    pool: &sqlx::PgPool,
    status: &ListenerStatus,
    instance: u64,
) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.eager_reconnect(false);
    listener
        .listen_all([CHANNEL, PRESENCE_CHANNEL, LOGOUT_CHANNEL, TYPING_CHANNEL])
        .await?;
    // Ready only once caught up: LISTEN is active, so anything committed
    // from here on is notified; anything before is read from the log.
    // (Also on the first connection: subscribers may have come while it
    // could not connect.)
    let published = catch_up(local).await?;
    if status.inner.connects.fetch_add(1, Ordering::SeqCst) > 0 {
        tracing::info!(published, "listener: reconnected and caught up");
    }
    status
        .inner
        .caught_up
        .fetch_add(published, Ordering::SeqCst);
    status.inner.connected.store(true, Ordering::SeqCst);
    while let Some(notification) = listener.try_recv().await? {
        let payload = notification.payload();
        if notification.channel() == LOGOUT_CHANNEL {
            let _ = local.logouts.send(payload.into());
            continue;
        }
        if notification.channel() == TYPING_CHANNEL {
            match serde_json::from_str::<TypingNotice>(payload) {
                Ok(notice) if notice.instance == instance => {}
                Ok(notice) => local.typists.remote(notice),
                Err(e) => tracing::warn!(error = %e, payload, "listener: unreadable typing"),
            }
            continue;
        }
        if notification.channel() == PRESENCE_CHANNEL {
            match serde_json::from_str::<PresenceNotice>(payload) {
                Ok(notice) if notice.instance == instance => {}
                Ok(notice) => local.presences.remote(
                    notice.instance,
                    LocalPresence {
                        session_id: notice.session_id,
                        athletes: notice.athletes,
                        trainers: notice.trainers,
                    },
                    PRESENCE_TTL,
                ),
                Err(e) => tracing::warn!(error = %e, payload, "listener: unreadable presence"),
            }
            continue;
        }
        match serde_json::from_str::<Vec<Notice>>(payload) {
            Ok(notices) => {
                for notice in notices {
                    deliver(local, notice).await?;
                }
            }
            Err(e) => tracing::warn!(error = %e, payload, "listener: unreadable notification"),
        }
    }
    Ok(())
}

/// Publishes the event a notification announces, if anyone here listens,
/// with any earlier ones this instance has not published yet.
async fn deliver(local: &Local, notice: Notice) -> Result<(), sqlx::Error> {
    let participants = [notice.athlete_id, notice.trainer_id];
    let Some(published) = local.hub.interest(notice.session_id, participants) else {
        return Ok(());
    };
    if notice.seq <= published {
        return Ok(());
    }
    // The usual case: the next event, carried by the notification itself.
    let next = published == 0 || published == notice.seq - 1;
    let (session_id, seq) = (notice.session_id, notice.seq);
    if let Some(event) = carried(notice).filter(|_| next) {
        let lag = crate::server::db::now_ms().saturating_sub(event.at);
        metrics::listener_lag(Duration::from_millis(lag.max(0) as u64));
        local.hub.publish(&[event], participants);
        return Ok(());
    }
    publish_from_log(local, session_id, published, seq, participants).await?;
    Ok(())
}

/// The event a notice carries, if it carries one that reads.
pub fn carried(notice: Notice) -> Option<LiveEvent> {
    let event = serde_json::from_value::<NoticeEvent>(notice.event?).ok()?;
    Some(LiveEvent {
        seq: notice.seq,
        session_id: notice.session_id,
        at: event.at,
        event: event.event,
    })
}

/// Publishes the logged events after `published` up to `upto` (only the
/// one at `upto` when nothing was published yet: followers fill their own
/// gaps from the log). Returns how many it published.
async fn publish_from_log(
    local: &Local,
    session_id: i64,
    published: i64,
    upto: i64,
    participants: [i64; 2],
) -> Result<u64, sqlx::Error> {
    if upto <= published {
        return Ok(0);
    }
    let after = if published == 0 { upto - 1 } else { published };
    let events = events::between(&local.db, session_id, after, upto).await?;
    local.hub.publish(&events, participants);
    Ok(events.len() as u64)
}

/// After a reconnect: publishes, for each session followed here, the events
/// committed since the last one published (or its latest event), then asks
/// dashboards to refetch. Returns the number of events published.
async fn catch_up(local: &Local) -> Result<u64, sqlx::Error> {
    let mut published = 0;
    for (session_id, last) in local.hub.watched_sessions() {
        if let Some(head) = events::head(&local.db, session_id).await? {
            published +=
                publish_from_log(local, session_id, last, head.last_seq, head.participants).await?;
        }
    }
    local.hub.reset_dashboards();
    Ok(published)
}
