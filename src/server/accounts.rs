//! Account rows: creating users and finding them by email. Validation happens
//! before this module (in `model`); it only stores and loads.

use super::db::{now_ms, Database};
use crate::{
    error::AppError,
    model::{NewAccount, Role, User},
};

/// Inserts a user; a taken email is reported on the email field.
pub async fn create(
    db: &Database,
    account: &NewAccount,
    password_hash: &str,
) -> Result<User, AppError> {
    let inserted: Result<i64, sqlx::Error> = sqlx::query_scalar(
        "INSERT INTO users (email, display_name, role, password_hash, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(&account.email)
    .bind(&account.display_name)
    .bind(account.role.as_str())
    .bind(password_hash)
    .bind(now_ms())
    .fetch_one(&db.pool)
    .await;
    match inserted {
        Ok(id) => Ok(User {
            id,
            display_name: account.display_name.clone(),
            email: account.email.clone(),
            role: account.role,
        }),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(AppError::invalid(
            "email",
            "An account with this email already exists; log in instead",
        )),
        Err(e) => Err(e.into()),
    }
}

/// A user and their password hash, for logging in.
pub async fn find_by_email(db: &Database, email: &str) -> Result<Option<(User, String)>, AppError> {
    let row: Option<(i64, String, String, String, String)> = sqlx::query_as(
        "SELECT id, display_name, email, role, password_hash FROM users WHERE email = $1",
    )
    .bind(email)
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.and_then(|(id, display_name, email, role, hash)| {
        let role = Role::parse(&role).ok()?;
        Some((
            User {
                id,
                display_name,
                email,
                role,
            },
            hash,
        ))
    }))
}

/// How many accounts exist.
pub async fn count(db: &Database) -> Result<i64, AppError> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&db.pool)
        .await?)
}
