//! Server entry: configuration → `server::startup::build` → serve until
//! SIGTERM or Ctrl-C.

use spotter::server::{
    config::{self, Config},
    demo, startup,
};
use tracing_subscriber::EnvFilter;

fn main() {
    return_large_allocations();
    serve();
}

#[tokio::main]
async fn serve() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    match config::json_logs() {
        Ok(true) => tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .init(),
        Ok(false) => tracing_subscriber::fmt().with_env_filter(filter).init(),
        Err(message) => {
            eprintln!("spotter could not start: {message}");
            std::process::exit(1);
        }
    }
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
    let app = startup::build(&config).await.map_err(|e| e.to_string())?;
    if config.seed_demo && app.is_new {
        let logins = demo::seed(&app.state.db)
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
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr} (set LEPTOS_SITE_ADDR to change it): {e}"))?;
    // The bound address (with `:0`, the port the system chose).
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!(
        "spotter is listening on http://{addr} (instance {})",
        config.instance
    );
    // On SIGTERM or Ctrl-C: stop accepting, close live sockets with 1001,
    // end event streams and background tasks, drain, exit 0.
    app.serve(listener, shutdown_signal())
        .await
        .map_err(|e| e.to_string())
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
