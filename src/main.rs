//! Server entry: configuration → database → router → serve.

use axum::serve::ListenerExt;
use spotter::server::{config::Config, db::Database, demo, router, AppState, Shutdown};
use tracing_subscriber::EnvFilter;

fn main() {
    return_large_allocations();
    serve();
}

#[tokio::main]
async fn serve() {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")),
        )
        .init();
    if let Err(message) = run().await {
        eprintln!("spotter could not start: {message}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), String> {
    let config = Config::from_env().map_err(|e| e.to_string())?;
    // One open file per live connection: use all the system allows.
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::info!(limit, "open-file limit"),
        Err(e) => tracing::warn!(error = %e, "could not raise the open-file limit"),
    }
    let (db, is_new) = Database::open(&config.database_url, config.listener_retry)
        .await
        .map_err(|e| {
            format!(
                "cannot open the database at {}: {e}",
                redact(&config.database_url)
            )
        })?;
    tracing::info!(backend = ?db.backend, new = is_new, "database ready");
    if config.seed_demo && is_new {
        let logins = demo::seed(&db)
            .await
            .map_err(|e| format!("cannot create demo accounts: {e}"))?;
        if !logins.is_empty() {
            println!("\nNew database: demo accounts created (shown only this once):");
            for login in &logins {
                println!(
                    "  {:<8} {}  password: {}",
                    login.role.label(),
                    login.email,
                    login.password
                );
            }
            println!();
        }
    }
    let addr = config.leptos.site_addr;
    let (stop, shutdown) = Shutdown::new();
    let app = router(AppState {
        leptos_options: config.leptos.clone(),
        db,
        heartbeat: config.heartbeat,
        instance: config.instance.as_str().into(),
        shutdown,
    });
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr} (set LEPTOS_SITE_ADDR to change it): {e}"))?;
    // The bound address (with `:0`, the port the system chose).
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    // Small live frames go out at once instead of waiting for the previous
    // one's ACK (Nagle + delayed ACK cost up to 40 ms).
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
    });
    println!(
        "spotter is listening on http://{addr} (instance {})",
        config.instance
    );
    // On SIGTERM or Ctrl-C: stop accepting, tell live sockets (close 1001)
    // and event streams to end, let requests in flight finish, and exit;
    // whatever is still open after DRAIN is dropped.
    let (signalled, signal) = tokio::sync::oneshot::channel::<()>();
    let server =
        axum::serve(listener, app.into_make_service()).with_graceful_shutdown(async move {
            shutdown_signal().await;
            tracing::info!("stopping: closing live connections");
            let _ = stop.send(true);
            let _ = signalled.send(());
        });
    let drain = async {
        if signal.await.is_ok() {
            tokio::time::sleep(DRAIN).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        served = server => served.map_err(|e| e.to_string()),
        () = drain => {
            tracing::warn!("stopping: connections still open after {DRAIN:?}, dropping them");
            Ok(())
        }
    }
}

/// How long a stopping server waits for requests in flight.
const DRAIN: std::time::Duration = std::time::Duration::from_secs(10);

/// Hides the password in a database URL before printing it.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut signal) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}

/// glibc raises its mmap threshold each time a large block is freed, so
/// after the first password hash every later 19 MiB argon2 buffer comes from
/// (and stays in) a malloc arena of whichever thread ran it: a burst of
/// logins left the server at 360 MiB. A fixed threshold keeps blocks over
/// 1 MiB in their own mappings, returned to the system when freed.
fn return_large_allocations() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator tunable; called once at start,
    // before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}
