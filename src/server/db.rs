//! The database: one `AnyPool` for SQLite (embedded default) or PostgreSQL,
//! chosen by the URL, with each backend's migrations embedded in the binary;
//! on SQLite also the writer's own connection ([`Database::sqlite_writer`],
//! rusqlite: see `server::tx`).
//!
//! Queries elsewhere are written once in the SQL both backends accept
//! (`$1` placeholders, `RETURNING`, integer timestamps in milliseconds).
//!
//! This module depends on nothing else in the server: the live layer
//! (`server::live`) wraps it, it does not know the live layer exists.

use sqlx::{
    any::{install_default_drivers, AnyPoolOptions},
    migrate::Migrator,
    AnyPool, Executor,
};
use std::{
    path::{Path, PathBuf},
    time::Duration,
};

/// Migrations for the embedded SQLite database.
pub static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
/// Migrations for PostgreSQL; the same tables as SQLite, in PostgreSQL's types.
pub static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// Which engine a pool talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// One file under `data/`, one process.
    Sqlite,
    /// A shared server, several instances possible.
    Postgres,
}

impl Backend {
    /// Picks the backend from a database URL.
    pub fn from_url(url: &str) -> Result<Backend, sqlx::Error> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Backend::Postgres)
        } else {
            Err(sqlx::Error::Configuration(
                format!("DATABASE_URL must start with sqlite:// or postgres://, got {url:?}")
                    .into(),
            ))
        }
    }
}

/// Connections in the query pool when the configuration does not say:
/// PostgreSQL's pool serves reads and writes, SQLite's only reads (its
/// writes go through one connection of their own).
pub fn default_connections(backend: Backend) -> u32 {
    match backend {
        Backend::Sqlite => 8,
        Backend::Postgres => 16,
    }
}

/// A connected, migrated database.
#[derive(Clone, Debug)]
pub struct Database {
    /// The pool queries go through.
    pub pool: AnyPool,
    /// SQLite's file: read-write transactions go through one connection
    /// to it ([`Database::sqlite_writer`], owned by
    /// `server::training::writer`), so writers queue there, in order,
    /// instead of in SQLite's busy handler (which sleeps 1, 2, 5, 10… ms
    /// between tries and made the slowest commits wait 30-100 ms under
    /// load). `None` on PostgreSQL, whose pool serves writes too.
    pub sqlite_file: Option<PathBuf>,
    /// The engine behind it.
    pub backend: Backend,
}

/// Current time as milliseconds since the Unix epoch: the one time format in
/// the database, identical on both backends.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

impl Database {
    /// [`Database::open`] with the backend's default pool size.
    pub async fn connect(url: &str) -> Result<(Database, bool), sqlx::Error> {
        Database::open(url, None).await
    }

    /// Connects (creating the SQLite file and its folder if needed) with
    /// `connections` in the query pool (`None`: [`default_connections`]) and
    /// applies pending migrations. Returns whether the database was new,
    /// i.e. had no migrations applied before.
    pub async fn open(
        url: &str,
        connections: Option<u32>,
    ) -> Result<(Database, bool), sqlx::Error> {
        install_default_drivers();
        let backend = Backend::from_url(url)?;
        if backend == Backend::Sqlite {
            create_sqlite_folder(url)?;
        }
        let connections = connections.unwrap_or_else(|| default_connections(backend));
        let (pool, sqlite_file) = if backend == Backend::Sqlite {
            let pool = sqlite_options()
                .max_connections(connections)
                .connect(url)
                .await?;
            // Readers do not block the writer (and vice versa); persistent.
            pool.execute("PRAGMA journal_mode = WAL").await?;
            let file = sqlite_file(url).ok_or_else(|| {
                sqlx::Error::Configuration(
                    "SQLite needs a file (not :memory:): its writer has a connection of its own"
                        .into(),
                )
            })?;
            (pool, Some(file))
        } else {
            let pool = AnyPoolOptions::new()
                .acquire_timeout(Duration::from_secs(10))
                .max_connections(connections)
                .connect(url)
                .await?;
            (pool, None)
        };
        let database = Database {
            pool,
            sqlite_file,
            backend,
        };
        let is_new = database.migrate().await?;
        Ok((database, is_new))
    }

    /// Applies this backend's pending migrations; true if none had run before.
    async fn migrate(&self) -> Result<bool, sqlx::Error> {
        let table_exists: i64 = match self.backend {
            Backend::Sqlite => sqlx::query_scalar(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
            ),
            Backend::Postgres => sqlx::query_scalar(
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'",
            ),
        }
        .fetch_one(&self.pool)
        .await?;
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&self.pool).await?;
        Ok(table_exists == 0)
    }
}

impl Database {
    /// A new connection to the SQLite file for the writer: it waits for
    /// another writer up to 5 s, enforces foreign keys, and runs
    /// `synchronous = FULL`: every commit is on disk (the WAL fsynced)
    /// before it returns, so an answered change survives a crash of the
    /// machine too, not only of the process (with group commit, one fsync
    /// per batch). The writer checkpoints when idle; SQLite's own
    /// checkpoint inside a commit is raised to 10,000 pages, a backstop.
    pub fn sqlite_writer(&self) -> rusqlite::Result<rusqlite::Connection> {
        let Some(file) = &self.sqlite_file else {
            return Err(rusqlite::Error::InvalidPath(PathBuf::new()));
        };
        let conn = rusqlite::Connection::open(file)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.execute_batch(
            "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL; PRAGMA wal_autocheckpoint = 10000;",
        )?;
        // Every statement a mutation runs stays prepared.
        conn.set_prepared_statement_cache_capacity(64);
        Ok(conn)
    }
}

/// Options of the query pool's connections (readers: they write nothing
/// that must survive a power cut, so `synchronous = NORMAL`; logins and
/// registrations write through them, waiting for the writer's lock).
fn sqlite_options() -> AnyPoolOptions {
    AnyPoolOptions::new()
        .acquire_timeout(Duration::from_secs(10))
        .after_connect(move |conn, _| {
            Box::pin(async move {
                // Wait for a writer instead of failing at once, and
                // enforce the schema's foreign keys on every connection.
                conn.execute("PRAGMA busy_timeout = 5000").await?;
                conn.execute("PRAGMA foreign_keys = ON").await?;
                conn.execute("PRAGMA synchronous = NORMAL").await?;
                Ok(())
            })
        })
}

/// The file of a `sqlite:` URL; `None` for an in-memory database.
fn sqlite_file(url: &str) -> Option<PathBuf> {
    let path = sqlite_path(url);
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

fn sqlite_path(url: &str) -> &str {
    url.trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or_default()
}

fn create_sqlite_folder(url: &str) -> Result<(), sqlx::Error> {
    let path = sqlite_path(url);
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    if let Some(parent) = Path::new(path)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent).map_err(|e| {
            sqlx::Error::Configuration(format!("cannot create {}: {e}", parent.display()).into())
        })?;
    }
    Ok(())
}
