//! Run-time configuration: environment variables with defaults, read once at
//! start. Owns every `std::env::var` the server reads (zero2prod style).

use leptos::config::{get_configuration, LeptosOptions};
use std::path::Path;

/// Where the embedded database lives when `DATABASE_URL` is not set.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/spotter.db?mode=rwc";
/// The runtime Leptos configuration file, read from the working directory.
pub const LEPTOS_TOML: &str = "Leptos.toml";

/// Everything the server needs to start.
#[derive(Clone, Debug)]
pub struct Config {
    /// `sqlite://…` or `postgres://…`.
    pub database_url: String,
    /// Create demo accounts (and print their passwords) in an empty database.
    pub seed_demo: bool,
    /// Leptos's own options: site address, site root, output name.
    pub leptos: LeptosOptions,
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
        Ok(Config {
            database_url,
            seed_demo,
            leptos,
        })
    }
}

/// Leptos options from `path` when it exists (cargo-leptos's LEPTOS_*
/// variables still win), otherwise from the LEPTOS_* variables alone.
pub fn leptos_options(path: &str) -> Result<LeptosOptions, ConfigError> {
    let file = Path::new(path).exists().then_some(path);
    get_configuration(file)
        .map(|conf| conf.leptos_options)
        .map_err(|e| ConfigError::Leptos {
            path: file.unwrap_or("LEPTOS_* variables").to_string(),
            reason: e.to_string(),
        })
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
