//! Run-time configuration: environment variables with defaults, read once at
//! start. Owns every `std::env::var` the server reads (zero2prod style).

use leptos::config::{get_configuration, LeptosOptions};
use std::{path::Path, time::Duration};

/// Where the embedded database lives when `DATABASE_URL` is not set.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/spotter.db?mode=rwc";
/// The runtime Leptos configuration file, read from the working directory.
pub const LEPTOS_TOML: &str = "Leptos.toml";
/// Live connections one user may hold on one instance: tabs and devices of
/// a real person, with room to spare.
pub const DEFAULT_LIVE_CONNECTIONS_PER_USER: usize = 50;
/// Time to get a request's head to the router, from connecting or from the
/// end of the previous answer (the idle keep-alive timeout too).
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Time a write may wait for a client to make room (to read).
pub const DEFAULT_WRITE_STALL: Duration = Duration::from_secs(30);
/// How long the PostgreSQL listener waits before its first reconnect.
pub const DEFAULT_LISTENER_RETRY: Duration = Duration::from_millis(250);

/// Everything the server needs to start.
#[derive(Clone, Debug)]
pub struct Config {
    /// `sqlite://…` or `postgres://…`.
    pub database_url: String,
    /// Create demo accounts (and print their passwords) in an empty database.
    pub seed_demo: bool,
    /// Leptos's own options: site address, site root, output name.
    pub leptos: LeptosOptions,
    /// This instance's name in `/healthz`, `/readyz` and the
    /// `x-spotter-instance` response header (`SPOTTER_INSTANCE`, default
    /// `spotter-<pid>`).
    pub instance: String,
    /// PostgreSQL only: the first wait before the listener reconnects
    /// (`SPOTTER_LISTENER_RETRY_MS`, default 250).
    pub listener_retry: Duration,
    /// How often every live connection gets a heartbeat frame
    /// (`SPOTTER_HEARTBEAT_MS`, default 10,000). Clients call a link dead
    /// after two and a half intervals of silence.
    pub heartbeat: Duration,
    /// Connections in the database's query pool (`SPOTTER_DB_CONNECTIONS`;
    /// default 16 on PostgreSQL, 8 readers on SQLite, whose writes always
    /// go through one more).
    pub db_connections: Option<u32>,
    /// Origins besides the site's own that may send changes and open live
    /// sockets (`SPOTTER_ALLOWED_ORIGINS`, comma-separated, e.g.
    /// `https://app.example.com`; default none). See `server::edge`.
    pub allowed_origins: Vec<String>,
    /// Rate limits (`SPOTTER_RATE_LIMITS`, on by default; `off` for load
    /// tests). See `server::limits`.
    pub rate_limits: Option<super::limits::Rates>,
    /// Open live connections (sockets and event streams) one user may hold
    /// on one instance (`SPOTTER_LIVE_CONNECTIONS_PER_USER`, default 50;
    /// 0: no cap).
    pub live_connections_per_user: usize,
    /// Connection deadlines (`SPOTTER_HEADER_TIMEOUT_MS`, default 10,000:
    /// to send a request's headers, and idle keep-alive;
    /// `SPOTTER_WRITE_STALL_MS`, default 30,000: a client that reads
    /// nothing for that long is dropped; `SPOTTER_SEND_BUFFER_BYTES`,
    /// default 0 = the kernel's sizing). See `server::connection`.
    pub deadlines: super::connection::Deadlines,
    /// The bearer token `GET /metrics` asks for (`SPOTTER_METRICS_TOKEN`;
    /// unset: no metrics page, and nothing is recorded).
    pub metrics_token: Option<String>,
    /// Bounds of the write path (`SPOTTER_WRITE_BATCH`, default 64: most
    /// actions in one SQLite commit; `SPOTTER_WRITE_QUEUE`, default 10,000:
    /// most actions waiting for the database, one more gets 503). See
    /// `server::training::writer`.
    pub write: super::training::writer::Limits,
}

/// A configuration problem, reported before anything starts.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Leptos.toml (or the LEPTOS_* variables) could not be read.
    #[error("could not read the Leptos configuration from {path}: {reason}")]
    Leptos { path: String, reason: String },
    /// A SPOTTER_* variable had a value we do not understand.
    #[error("{name} must be one of 1/0/true/false/on/off, not {value:?}")]
    Flag { name: &'static str, value: String },
    /// SPOTTER_INSTANCE is not a short printable name.
    #[error("SPOTTER_INSTANCE must be 1 to 64 letters, digits or .-_: characters, not {0:?}")]
    Instance(String),
    /// An entry of SPOTTER_ALLOWED_ORIGINS is not `scheme://host[:port]`.
    #[error("SPOTTER_ALLOWED_ORIGINS entries must look like https://app.example.com (scheme and host, no path), not {0:?}")]
    Origin(String),
    /// `SPOTTER_LOG_FORMAT` is neither `text` nor `json`.
    #[error("SPOTTER_LOG_FORMAT must be text or json, not {0:?}")]
    LogFormat(String),
    /// A SPOTTER_* number is not a number in range.
    #[error("{name} must be a whole number from {min} to {max}, not {value:?}")]
    Number {
        name: &'static str,
        value: String,
        min: u64,
        max: u64,
    },
}

impl Config {
    /// Reads `Leptos.toml` (overridden by `LEPTOS_*` variables, so
    /// `LEPTOS_SITE_ADDR=0.0.0.0:8080` works) and the `DATABASE_URL` and
    /// `SPOTTER_*` variables.
    pub fn from_env() -> Result<Config, ConfigError> {
        let leptos = leptos_options(LEPTOS_TOML)?;
        let database_url = std::env::var("DATABASE_URL")
            .ok()
            .filter(|url| !url.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string());
        let seed_demo = flag("SPOTTER_DEMO", true)?;
        let instance = instance_name(std::env::var("SPOTTER_INSTANCE").ok())?;
        let listener_retry = millis(
            "SPOTTER_LISTENER_RETRY_MS",
            DEFAULT_LISTENER_RETRY,
            10,
            60_000,
        )?;
        let heartbeat = millis(
            "SPOTTER_HEARTBEAT_MS",
            Duration::from_millis(crate::model::live::DEFAULT_HEARTBEAT_MS),
            100,
            600_000,
        )?;
        // Unset (0) means the backend's default.
        let db_connections = match number("SPOTTER_DB_CONNECTIONS", 0, 1, 1000)? {
            0 => None,
            n => Some(n as u32),
        };
        let allowed_origins = origins(std::env::var("SPOTTER_ALLOWED_ORIGINS").ok())?;
        let rate_limits = flag("SPOTTER_RATE_LIMITS", true)?.then(super::limits::Rates::default);
        let live_connections_per_user = number(
            "SPOTTER_LIVE_CONNECTIONS_PER_USER",
            DEFAULT_LIVE_CONNECTIONS_PER_USER as u64,
            0,
            1_000_000,
        )? as usize;
        let deadlines = super::connection::Deadlines {
            head: millis(
                "SPOTTER_HEADER_TIMEOUT_MS",
                DEFAULT_HEADER_TIMEOUT,
                100,
                600_000,
            )?,
            write_stall: millis("SPOTTER_WRITE_STALL_MS", DEFAULT_WRITE_STALL, 100, 600_000)?,
            send_buffer: match number("SPOTTER_SEND_BUFFER_BYTES", 0, 0, 64 * 1024 * 1024)? {
                0 => None,
                bytes => Some(bytes as usize),
            },
        };
        let metrics_token = std::env::var("SPOTTER_METRICS_TOKEN")
            .ok()
            .map(|token| token.trim().to_string())
            .filter(|token| !token.is_empty());
        let defaults = super::training::writer::Limits::default();
        let write = super::training::writer::Limits {
            batch: number("SPOTTER_WRITE_BATCH", defaults.batch as u64, 1, 1024)? as usize,
            queue: number("SPOTTER_WRITE_QUEUE", defaults.queue as u64, 1, 1_000_000)? as usize,
        };
        Ok(Config {
            write,
            metrics_token,
            deadlines,
            live_connections_per_user,
            rate_limits,
            allowed_origins,
            heartbeat,
            database_url,
            seed_demo,
            leptos,
            instance,
            listener_retry,
            db_connections,
        })
    }

    /// The defaults, for `database_url` and the given Leptos options
    /// (tests and tools that do not read the environment).
    pub fn with_defaults(leptos: LeptosOptions, database_url: &str) -> Config {
        Config {
            database_url: database_url.to_string(),
            seed_demo: false,
            leptos,
            instance: format!("spotter-{}", std::process::id()),
            listener_retry: DEFAULT_LISTENER_RETRY,
            heartbeat: Duration::from_millis(crate::model::live::DEFAULT_HEARTBEAT_MS),
            db_connections: None,
            allowed_origins: Vec::new(),
            rate_limits: Some(super::limits::Rates::default()),
            live_connections_per_user: DEFAULT_LIVE_CONNECTIONS_PER_USER,
            deadlines: super::connection::Deadlines {
                head: DEFAULT_HEADER_TIMEOUT,
                write_stall: DEFAULT_WRITE_STALL,
                send_buffer: None,
            },
            metrics_token: None,
            write: Default::default(),
        }
    }
}

/// Leptos options from `path` when it exists (cargo-leptos's LEPTOS_*
/// variables still win), otherwise from the LEPTOS_* variables alone.
///
/// With `hash-files` on, pages link the content-hashed names listed in
/// the hash file next to the server binary (written by `cargo leptos
/// build`). A binary without one (a test binary, a binary copied alone)
/// would panic rendering a page (Leptos reads the file with `expect`), so
/// then hashing is turned off with a warning: pages link the plain names.
pub fn leptos_options(path: &str) -> Result<LeptosOptions, ConfigError> {
    let file = Path::new(path).exists().then_some(path);
    let mut options = get_configuration(file)
        .map(|conf| conf.leptos_options)
        .map_err(|e| ConfigError::Leptos {
            path: file.unwrap_or("LEPTOS_* variables").to_string(),
            reason: e.to_string(),
        })?;
    if options.hash_files {
        let hashes = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(|dir| dir.join(options.hash_file.as_ref())));
        if !hashes.as_deref().is_some_and(Path::exists) {
            tracing::warn!(
                hash_file = ?hashes,
                "hash-files is on but there is no hash file beside the server binary: \
                 pages link the unhashed file names (build with cargo leptos build)"
            );
            options.hash_files = false;
        }
    }
    Ok(options)
}

fn flag(name: &'static str, default: bool) -> Result<bool, ConfigError> {
    match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(value) => match value.trim().to_ascii_lowercase().as_str() {
            "" => Ok(default),
            "1" | "true" | "on" | "yes" => Ok(true),
            "0" | "false" | "off" | "no" => Ok(false),
            _ => Err(ConfigError::Flag { name, value }),
        },
    }
}

/// Whether log lines are JSON objects (`SPOTTER_LOG_FORMAT=json`; `text`,
/// the default, is for people). Read before anything else, so that even
/// start-up is logged in the chosen format.
pub fn json_logs() -> Result<bool, ConfigError> {
    match std::env::var("SPOTTER_LOG_FORMAT") {
        Err(_) => Ok(false),
        Ok(value) => match value.trim().to_ascii_lowercase().as_str() {
            "" | "text" => Ok(false),
            "json" => Ok(true),
            _ => Err(ConfigError::LogFormat(value)),
        },
    }
}

/// The instance name: `value` if it is a short printable name (it goes into
/// a response header), `spotter-<pid>` when unset.
pub fn instance_name(value: Option<String>) -> Result<String, ConfigError> {
    let Some(value) = value.filter(|v| !v.trim().is_empty()) else {
        return Ok(format!("spotter-{}", std::process::id()));
    };
    let value = value.trim();
    let valid = value.len() <= 64
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'));
    if valid {
        Ok(value.to_string())
    } else {
        Err(ConfigError::Instance(value.to_string()))
    }
}

/// `SPOTTER_ALLOWED_ORIGINS`: comma-separated `http(s)://host[:port]`.
pub fn origins(value: Option<String>) -> Result<Vec<String>, ConfigError> {
    let mut origins = Vec::new();
    for entry in value.unwrap_or_default().split(',') {
        let entry = entry.trim().trim_end_matches('/');
        if entry.is_empty() {
            continue;
        }
        let valid = entry.split_once("://").is_some_and(|(scheme, authority)| {
            matches!(scheme, "http" | "https")
                && !authority.is_empty()
                && !authority.contains(['/', '?', '#', ' ', '@'])
        });
        if !valid {
            return Err(ConfigError::Origin(entry.to_string()));
        }
        origins.push(entry.to_string());
    }
    Ok(origins)
}

/// A duration in milliseconds from variable `name` (see [`number`]).
fn millis(
    name: &'static str,
    default: Duration,
    min: u64,
    max: u64,
) -> Result<Duration, ConfigError> {
    let default = u64::try_from(default.as_millis()).unwrap_or(u64::MAX);
    Ok(Duration::from_millis(number(name, default, min, max)?))
}

fn number(name: &'static str, default: u64, min: u64, max: u64) -> Result<u64, ConfigError> {
    match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(value) if value.trim().is_empty() => Ok(default),
        Ok(value) => value
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|n| (min..=max).contains(n))
            .ok_or(ConfigError::Number {
                name,
                value,
                min,
                max,
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_origins_are_scheme_and_host_only() {
        assert_eq!(origins(None).unwrap(), Vec::<String>::new());
        assert_eq!(
            origins(Some(" https://a.example/, http://b.example:8080".into())).unwrap(),
            vec!["https://a.example", "http://b.example:8080"]
        );
        assert!(origins(Some("a.example".into())).is_err());
        assert!(origins(Some("https://a.example/path".into())).is_err());
        assert!(origins(Some("ftp://a.example".into())).is_err());
    }

    #[test]
    fn instance_names_are_short_and_printable() {
        assert!(instance_name(None).unwrap().starts_with("spotter-"));
        assert_eq!(instance_name(Some("a-1".into())).unwrap(), "a-1");
        assert_eq!(
            instance_name(Some("  ".into())).unwrap(),
            format!("spotter-{}", std::process::id())
        );
        assert!(instance_name(Some("two words".into())).is_err());
        assert!(instance_name(Some("x".repeat(65))).is_err());
        assert!(instance_name(Some("caf\u{e9}".into())).is_err());
    }
}
