//! The bus carries committed events to the hubs that fan them out
//! (centrifuge's broker, Sockudo's horizontal adapter): on SQLite, one
//! process, it hands them straight to the local hub; on PostgreSQL the
//! [`super::notifier`] tells every instance after the commit, and each
//! instance's [`super::listener`] feeds its own hub, this instance's events
//! included.
//! Mutations call [`Bus::committed`] after their commit and do not know
//! which one runs.

use super::{
    hub::Hub,
    listener::{self, ListenerStatus},
    notifier::Notifier,
    presence::Presences,
    typing::Typists,
};
use crate::server::metrics;
use crate::{
    model::live::LiveEvent,
    server::{db::Database, shutdown::Shutdown},
};
use std::{sync::Arc, time::Duration};
use tokio::{sync::broadcast, task::JoinHandle};

/// Cheap to clone; clones share the hub, presence and listener.
#[derive(Clone, Debug)]
pub struct Bus {
    hub: Hub,
    presences: Presences,
    typists: Typists,
    /// PostgreSQL only: the listener feeding the hub.
    listener: Option<ListenerStatus>,
    /// PostgreSQL only: sends the hints the listeners wait for.
    notifier: Option<Notifier>,
    /// Logins that just ended (their ids): their live connections close.
    logouts: broadcast::Sender<Arc<str>>,
}

impl Bus {
    /// One process: committed events go straight to the local hub.
    pub fn local() -> Bus {
        let hub = Hub::default();
        Bus {
            presences: Presences::new(hub.clone()),
            typists: Typists::new(hub.clone()),
            hub,
            listener: None,
            notifier: None,
            logouts: broadcast::channel(64).0,
        }
    }

    /// Several instances on one PostgreSQL database at `url`: starts the
    /// listener (first reconnect after `retry`) and the presence exchange,
    /// both ending when `shutdown` is requested, and waits up to 10 s for
    /// the listener's first connection.
    pub async fn postgres(
        db: &Database,
        url: &str,
        retry: Duration,
        shutdown: Shutdown,
    ) -> Result<(Bus, Vec<JoinHandle<()>>), sqlx::Error> {
        let mut bus = Bus::local();
        let local = listener::Local {
            db: db.clone(),
            hub: bus.hub.clone(),
            presences: bus.presences.clone(),
            typists: bus.typists.clone(),
            logouts: bus.logouts.clone(),
        };
        let (status, mut tasks) = listener::spawn(local, url, retry, shutdown)?;
        let started = tokio::time::Instant::now();
        while !status.connected() && started.elapsed() < Duration::from_secs(10) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        bus.listener = Some(status);
        let (notifier, task) = Notifier::spawn(db.clone());
        bus.notifier = Some(notifier);
        tasks.push(task);
        Ok((bus, tasks))
    }

    /// Events a mutation just committed, in order. Never blocks.
    pub fn committed(&self, events: &[LiveEvent], participants: [i64; 2]) {
        metrics::events_published(events.len());
        for event in events {
            tracing::info!(
                session_id = event.session_id,
                seq = event.seq,
                kind = event.kind(),
                "session event"
            );
        }
        // On PostgreSQL the listener publishes every instance's events,
        // this one's included, in the order the log has them.
        match &self.notifier {
            Some(notifier) => notifier.committed(events, participants),
            None => self.hub.publish(events, participants),
        }
    }

    /// A login ended: its live connections here close at once (4401), and
    /// on PostgreSQL every other instance is told (best effort: a missed
    /// notice leaves that instance's connections open until they end; the
    /// login itself no longer works anywhere).
    pub async fn logged_out(&self, db: &Database, login: Arc<str>) {
        let _ = self.logouts.send(login.clone());
        if self.listener.is_some() {
            if let Err(e) = sqlx::query("SELECT pg_notify($1, $2)")
                .bind(listener::LOGOUT_CHANNEL)
                .bind(&*login)
                .execute(&db.pool)
                .await
            {
                tracing::warn!(error = %e, "could not tell other instances about a logout");
            }
        }
    }

    /// Logins that end from now on.
    pub fn logouts(&self) -> broadcast::Receiver<Arc<str>> {
        self.logouts.subscribe()
    }

    /// The local fan-out.
    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// Who is connected, here and elsewhere.
    pub fn presences(&self) -> &Presences {
        &self.presences
    }

    /// Who is typing, told here and elsewhere.
    pub fn typists(&self) -> &Typists {
        &self.typists
    }

    /// The PostgreSQL listener's state (`None` on SQLite).
    pub fn listener(&self) -> Option<&ListenerStatus> {
        self.listener.as_ref()
    }
}
