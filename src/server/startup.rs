//! One startup and shutdown path (zero2prod's `Application`), used by
//! `src/main.rs` and by the integration tests' `spawn_app()`: configuration
//! → database → bus (and, on PostgreSQL, its listener tasks) → state →
//! router; then serve until told to stop, and stop cleanly.

use super::{
    config::Config,
    db::{Backend, Database},
    edge::Origins,
    limits::Limits,
    live::{cap::ConnectionCap, Bus},
    router::router,
    shutdown::Shutdown,
    state::AppState,
};
use axum::{extract::ConnectInfo, Extension};
use hyper::server::conn::http1;
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    service::TowerToHyperService,
};
use std::{future::Future, time::Duration};
use tokio::{sync::watch, task::JoinHandle};
use tower::Layer;

/// How long a stopping server waits for requests in flight.
pub const DRAIN: Duration = Duration::from_secs(10);

/// A built server, not yet serving.
pub struct Application {
    /// What every handler reaches (tests use its database and bus).
    pub state: AppState,
    /// Whether the database was created by this start (no migrations had
    /// run): the caller may seed it.
    pub is_new: bool,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    header_timeout: Duration,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The database could not be opened or migrated.
    #[error("cannot open the database at {url}: {source}")]
    Database {
        /// The URL, password hidden.
        url: String,
        /// What failed.
        source: sqlx::Error,
    },
    /// The PostgreSQL listener could not be set up.
    #[error("cannot start listening for other instances' events: {0}")]
    Bus(sqlx::Error),
}

/// Opens the database, starts the bus and assembles the state.
pub async fn build(config: &Config) -> Result<Application, StartError> {
    let database_error = |source| StartError::Database {
        url: redact(&config.database_url),
        source,
    };
    let (db, is_new) = Database::open(&config.database_url, config.db_connections)
        .await
        .map_err(database_error)?;
    tracing::info!(backend = ?db.backend, new = is_new, "database ready");
    let (stop, shutdown) = Shutdown::new();
    let (bus, tasks) = match db.backend {
        Backend::Sqlite => (Bus::local(), Vec::new()),
        Backend::Postgres => Bus::postgres(
            &db,
            &config.database_url,
            config.listener_retry,
            shutdown.clone(),
        )
        .await
        .map_err(StartError::Bus)?,
    };
    let state = AppState {
        leptos_options: config.leptos.clone(),
        db,
        bus,
        heartbeat: config.heartbeat,
        instance: config.instance.as_str().into(),
        shutdown,
        origins: Origins::new(config.allowed_origins.clone()),
        limits: Limits::new(config.rate_limits),
        live_cap: ConnectionCap::new(config.live_connections_per_user),
    };
    // The limiters forget addresses and users that are back to full.
    let limits = state.limits.clone();
    let mut tasks = tasks;
    tasks.push(tokio::spawn(state.shutdown.clone().or_stop(async move {
        let mut every = tokio::time::interval(Duration::from_secs(60));
        loop {
            every.tick().await;
            limits.shrink();
        }
    })));
    Ok(Application {
        state,
        is_new,
        stop,
        tasks,
        header_timeout: config.header_timeout,
    })
}

impl Application {
    /// Serves on `listener` until `signal` resolves; then stops accepting,
    /// sends close 1001 to every live socket and ends every event stream,
    /// stops the listener and presence tasks, lets requests in flight
    /// finish for up to [`DRAIN`], and returns.
    ///
    /// Each connection is HTTP/1.1 with WebSocket upgrades, and gets the
    /// header timeout: a client that takes longer to send a request's
    /// headers, or stays idle between requests longer, is closed (axum's
    /// own `serve` cannot set it, hence this loop).
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let Application {
            state,
            stop,
            tasks,
            header_timeout,
            ..
        } = self;
        let app = router(state);
        let mut connections = tokio::task::JoinSet::new();
        tokio::pin!(signal);
        loop {
            let (tcp, peer) = tokio::select! {
                () = &mut signal => break,
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors, say: wait, do not spin.
                        tracing::warn!(error = %e, "could not accept a connection");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            // Small live frames go out at once instead of waiting for the
            // previous one's ACK (Nagle + delayed ACK cost up to 40 ms).
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "could not set TCP_NODELAY");
            }
            // The peer address reaches handlers (per-address rate limits).
            let service = Extension(ConnectInfo(peer)).layer(app.clone());
            let mut stopping = stop.subscribe();
            connections.spawn(async move {
                let mut http = http1::Builder::new();
                http.timer(TokioTimer::new())
                    .header_read_timeout(header_timeout);
                let connection = http
                    .serve_connection(TokioIo::new(tcp), TowerToHyperService::new(service))
                    .with_upgrades();
                tokio::pin!(connection);
                let mut asked = false;
                loop {
                    tokio::select! {
                        _ = connection.as_mut() => break,
                        _ = stopping.wait_for(|stop| *stop), if !asked => {
                            // Finish the request in flight, take no other.
                            asked = true;
                            connection.as_mut().graceful_shutdown();
                        }
                    }
                }
            });
            // Forget connections that ended.
            while connections.try_join_next().is_some() {}
        }
        drop(listener);
        tracing::info!("stopping: closing live connections");
        let _ = stop.send(true);
        let drained = tokio::time::timeout(DRAIN, async {
            while connections.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!("stopping: connections still open after {DRAIN:?}, dropping them");
            connections.shutdown().await;
        }
        // The listener and presence tasks saw the same shutdown; wait for
        // them so nothing outlives the server.
        for task in tasks {
            let _ = tokio::time::timeout(Duration::from_secs(1), task).await;
        }
        Ok(())
    }
}

/// Hides the password in a database URL before printing it.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}
