//! One startup and shutdown path (zero2prod's `Application`), used by
//! `src/main.rs` and by the integration tests' `spawn_app()`: configuration
//! → database → bus (and, on PostgreSQL, its listener tasks) → state →
//! router; then serve until told to stop, and stop cleanly.

use super::{
    auth::Logins,
    config::Config,
    connection::{GuardedListener, Peer},
    db::{Backend, Database},
    edge::Origins,
    limits::Limits,
    live::{cap::ConnectionCap, Bus},
    metrics::Exporter,
    router::router,
    shutdown::Shutdown,
    state::AppState,
    training::Writer,
};
use std::{future::Future, time::Duration};
use tokio::{sync::watch, task::JoinHandle};

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
    /// SQLite's write connection could not be opened.
    #[error(transparent)]
    Writer(#[from] crate::server::training::writer::StartError),
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
    let writer = Writer::start(&db, &bus, config.write).map_err(StartError::Writer)?;
    let logins = Logins::new(db.clone());
    let state = AppState {
        logins,
        writer,
        leptos_options: config.leptos.clone(),
        db,
        bus,
        heartbeat: config.heartbeat,
        instance: config.instance.as_str().into(),
        shutdown,
        origins: Origins::new(config.allowed_origins.clone()),
        limits: Limits::new(config.rate_limits),
        live_cap: ConnectionCap::new(config.live_connections_per_user),
        metrics: Exporter::new(config.metrics_token.as_deref()),
        deadlines: config.deadlines,
        calls: Default::default(),
    };
    // The limiters forget addresses and users that are back to full.
    let limits = state.limits.clone();
    let mut tasks = tasks;
    if let Some(exporter) = state.metrics.clone() {
        tasks.push(tokio::spawn(state.shutdown.clone().or_stop(async move {
            let mut every = tokio::time::interval(Duration::from_secs(5));
            loop {
                every.tick().await;
                exporter.upkeep();
            }
        })));
    }
    // Logins that end, here or on another instance, are forgotten.
    let (logins, mut logouts) = (state.logins.clone(), state.bus.logouts());
    tasks.push(tokio::spawn(state.shutdown.clone().or_stop(async move {
        loop {
            match logouts.recv().await {
                Ok(login) => logins.forget(&login),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => logins.forget_all(),
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    })));
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
    })
}

impl Application {
    /// Serves on `listener` until `signal` resolves; then stops accepting,
    /// sends close 1001 to every live socket and ends every event stream,
    /// stops the listener and presence tasks, lets requests in flight
    /// finish for up to [`DRAIN`], and returns.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let Application {
            state, stop, tasks, ..
        } = self;
        let listener = GuardedListener::new(listener, state.deadlines);
        let calls = state.calls.clone();
        let app = router(state);
        // Calls over live sockets go into this router while it serves
        // (held here; the state only keeps a weak handle).
        let held = std::sync::Arc::new(app.clone());
        calls.serve_with(&held);
        let (signalled, stopping) = tokio::sync::oneshot::channel::<()>();
        // The peer address reaches handlers (per-address rate limits), and
        // the connection's phase reaches `connection::watch_requests`.
        let service = app.into_make_service_with_connect_info::<Peer>();
        let server = axum::serve(listener, service).with_graceful_shutdown(async move {
            signal.await;
            tracing::info!("stopping: closing live connections");
            let _ = stop.send(true);
            let _ = signalled.send(());
        });
        let drain = async {
            if stopping.await.is_ok() {
                tokio::time::sleep(DRAIN).await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        let served = tokio::select! {
            served = server => served,
            () = drain => {
                tracing::warn!("stopping: connections still open after {DRAIN:?}, dropping them");
                Ok(())
            }
        };
        // The listener and presence tasks saw the same shutdown; wait for
        // them so nothing outlives the server.
        for task in tasks {
            let _ = tokio::time::timeout(Duration::from_secs(1), task).await;
        }
        drop(held);
        served
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
