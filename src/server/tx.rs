//! The transaction every mutation's statements run in, written once for
//! both backends.
//!
//! - On PostgreSQL it is a sqlx transaction on the pool (every statement a
//!   network round trip, awaited).
//! - On SQLite it is the one write connection, owned by the writer's own
//!   thread (`training::writer`) and used through rusqlite: each statement
//!   runs right there, with its prepared statement cached, and no message
//!   to another thread. (sqlx's SQLite driver sends every statement to the
//!   connection's worker thread and waits for the reply: two thread
//!   switches per statement, about a third of the server's CPU per action
//!   in the profile, BENCHMARKS.md.)
//!
//! Statements use `$1`-style placeholders, which both accept; values are
//! integers or text ([`Value`]), typed even when null so PostgreSQL knows
//! the parameter's type. Rows are read as tuples ([`Columns`]).
//!
//! This module depends on nothing else in the server but the error type.

use crate::error::AppError;
use sqlx::{any::AnyRow, Any, Row as _};
use std::{borrow::Cow, fmt};

/// A statement's parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// An integer (or a typed integer NULL).
    Int(Option<i64>),
    /// Text (or a typed text NULL).
    Text(Option<String>),
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Int(Some(v))
    }
}

impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Value {
        Value::Int(v)
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Int(Some(i64::from(v)))
    }
}

impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Text(Some(v))
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(Some(v.to_string()))
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Value {
        Value::Text(Some(v.clone()))
    }
}

impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Value {
        Value::Text(v)
    }
}

impl From<Option<&str>> for Value {
    fn from(v: Option<&str>) -> Value {
        Value::Text(v.map(str::to_string))
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Value::Int(Some(v)) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Value::Text(Some(v)) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
            Value::Int(None) | Value::Text(None) => ToSqlOutput::Borrowed(ValueRef::Null),
        })
    }
}

/// A statement and its parameters, in `$1`, `$2`… order.
#[derive(Clone, Debug)]
pub struct Sql {
    text: Cow<'static, str>,
    args: Vec<Value>,
}

/// A statement to bind parameters to ([`Sql::bind`]).
pub fn sql(text: impl Into<Cow<'static, str>>) -> Sql {
    Sql {
        text: text.into(),
        args: Vec::new(),
    }
}

impl Sql {
    /// Binds the next parameter.
    pub fn bind(mut self, value: impl Into<Value>) -> Sql {
        self.args.push(value.into());
        self
    }
}

/// A failed statement.
#[derive(Debug)]
pub enum DbError {
    /// From PostgreSQL (through sqlx).
    Postgres(sqlx::Error),
    /// From SQLite (through rusqlite).
    Sqlite(rusqlite::Error),
    /// `fetch_one` found no row.
    NoRow,
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbError::Postgres(e) => e.fmt(f),
            DbError::Sqlite(e) => e.fmt(f),
            DbError::NoRow => f.write_str("no row returned"),
        }
    }
}

impl std::error::Error for DbError {}

impl From<sqlx::Error> for DbError {
    fn from(e: sqlx::Error) -> DbError {
        DbError::Postgres(e)
    }
}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> DbError {
        DbError::Sqlite(e)
    }
}

impl From<DbError> for AppError {
    /// Logged in full, shown to users as `Internal`.
    fn from(err: DbError) -> AppError {
        tracing::error!(error = %err, "database error");
        AppError::Internal
    }
}

/// A value of one column, as both backends read it.
pub trait Column:
    Sized + rusqlite::types::FromSql + for<'r> sqlx::Decode<'r, Any> + sqlx::Type<Any>
{
}

impl<T> Column for T where
    T: Sized + rusqlite::types::FromSql + for<'r> sqlx::Decode<'r, Any> + sqlx::Type<Any>
{
}

/// A row read as a tuple of [`Column`]s, in the statement's column order.
pub trait Columns: Sized {
    /// From a SQLite row.
    fn from_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self>;
    /// From a PostgreSQL row.
    fn from_any(row: &AnyRow) -> sqlx::Result<Self>;
}

macro_rules! columns {
    ($($t:ident $i:tt),+) => {
        impl<$($t: Column),+> Columns for ($($t,)+) {
            fn from_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
                Ok(($(row.get($i)?,)+))
            }
            fn from_any(row: &AnyRow) -> sqlx::Result<Self> {
                Ok(($(row.try_get($i)?,)+))
            }
        }
    };
}

columns!(A 0);
columns!(A 0, B 1);
columns!(A 0, B 1, C 2);
columns!(A 0, B 1, C 2, D 3);
columns!(A 0, B 1, C 2, D 3, E 4);
columns!(A 0, B 1, C 2, D 3, E 4, F 5);
columns!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
columns!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
columns!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);

/// A read-write transaction: PostgreSQL's own, or the SQLite writer's
/// connection inside the batch's transaction.
pub enum Tx<'c> {
    /// A transaction on the PostgreSQL pool.
    Postgres(&'c mut sqlx::Transaction<'static, Any>),
    /// The SQLite write connection, inside `BEGIN IMMEDIATE` (and this
    /// action's savepoint).
    Sqlite(&'c mut rusqlite::Connection),
}

impl Tx<'_> {
    /// Runs a statement that returns no rows; how many rows it changed.
    pub async fn execute(&mut self, q: Sql) -> Result<u64, DbError> {
        match self {
            Tx::Postgres(tx) => Ok(any_query(&q).execute(&mut ***tx).await?.rows_affected()),
            Tx::Sqlite(conn) => {
                let mut statement = prepared(conn, &q)?;
                Ok(statement.raw_execute()? as u64)
            }
        }
    }

    /// Every row the statement returns.
    pub async fn fetch_all<R: Columns>(&mut self, q: Sql) -> Result<Vec<R>, DbError> {
        match self {
            Tx::Postgres(tx) => {
                let rows = any_query(&q).fetch_all(&mut ***tx).await?;
                Ok(rows.iter().map(R::from_any).collect::<sqlx::Result<_>>()?)
            }
            Tx::Sqlite(conn) => {
                let mut statement = prepared(conn, &q)?;
                let mut rows = statement.raw_query();
                let mut all = Vec::new();
                while let Some(row) = rows.next()? {
                    all.push(R::from_sqlite(row)?);
                }
                Ok(all)
            }
        }
    }

    /// The first row, if any. (The statement runs to its end: an
    /// `UPDATE … RETURNING` changes every row it matches.)
    pub async fn fetch_optional<R: Columns>(&mut self, q: Sql) -> Result<Option<R>, DbError> {
        Ok(self.fetch_all(q).await?.into_iter().next())
    }

    /// The first row; [`DbError::NoRow`] if there is none.
    pub async fn fetch_one<R: Columns>(&mut self, q: Sql) -> Result<R, DbError> {
        self.fetch_optional(q).await?.ok_or(DbError::NoRow)
    }
}

fn any_query(q: &Sql) -> sqlx::query::Query<'_, Any, sqlx::any::AnyArguments<'_>> {
    q.args
        .iter()
        .fold(sqlx::query(&q.text), |query, value| match value {
            Value::Int(v) => query.bind(*v),
            Value::Text(v) => query.bind(v.as_deref()),
        })
}

/// The cached prepared statement with `q`'s parameters bound: `$n` takes
/// the n-th value wherever it appears.
fn prepared<'c>(
    conn: &'c rusqlite::Connection,
    q: &Sql,
) -> rusqlite::Result<rusqlite::CachedStatement<'c>> {
    let mut statement = conn.prepare_cached(&q.text)?;
    for index in 1..=statement.parameter_count() {
        let n = statement
            .parameter_name(index)
            .and_then(|name| name.strip_prefix('$'))
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(index);
        let value = q
            .args
            .get(n.wrapping_sub(1))
            .ok_or(rusqlite::Error::InvalidParameterCount(n, q.args.len()))?;
        statement.raw_bind_parameter(index, value)?;
    }
    Ok(statement)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory() -> rusqlite::Connection {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (a INTEGER, b TEXT)")
            .unwrap();
        conn
    }

    #[tokio::test]
    async fn placeholders_bind_by_number_wherever_they_appear() {
        let mut conn = memory();
        let mut tx = Tx::Sqlite(&mut conn);
        let changed = tx
            .execute(
                sql("INSERT INTO t (b, a) VALUES ($2, $1)")
                    .bind(7)
                    .bind("seven"),
            )
            .await
            .unwrap();
        assert_eq!(changed, 1);
        let row: (i64, String, i64) = tx
            .fetch_one(sql("SELECT a, b, $1 + a FROM t WHERE a = $1").bind(7))
            .await
            .unwrap();
        assert_eq!(row, (7, "seven".to_string(), 14));
    }

    #[tokio::test]
    async fn typed_nulls_and_missing_rows_read_back() {
        let mut conn = memory();
        let mut tx = Tx::Sqlite(&mut conn);
        tx.execute(
            sql("INSERT INTO t (a, b) VALUES ($1, $2)")
                .bind(None::<i64>)
                .bind(None::<String>),
        )
        .await
        .unwrap();
        let row: (Option<i64>, Option<String>) =
            tx.fetch_one(sql("SELECT a, b FROM t")).await.unwrap();
        assert_eq!(row, (None, None));
        let none: Option<(i64,)> = tx
            .fetch_optional(sql("SELECT a FROM t WHERE b = $1").bind("x"))
            .await
            .unwrap();
        assert!(none.is_none());
        assert!(matches!(
            tx.fetch_one::<(i64,)>(sql("SELECT a FROM t WHERE b = 'x'"))
                .await,
            Err(DbError::NoRow)
        ));
    }

    #[tokio::test]
    async fn a_missing_parameter_is_an_error_not_a_null() {
        let mut conn = memory();
        let mut tx = Tx::Sqlite(&mut conn);
        let result = tx
            .execute(sql("INSERT INTO t (a, b) VALUES ($1, $2)").bind(1))
            .await;
        assert!(matches!(
            result,
            Err(DbError::Sqlite(rusqlite::Error::InvalidParameterCount(
                2, 1
            )))
        ));
    }
}
