//! Demo accounts for a brand-new database, so a first-time user can try both
//! sides at once. Passwords are random per database and printed once at
//! start; nothing secret lives in the repository.

use super::{accounts, auth, db::Database};
use crate::{
    error::AppError,
    model::{validate_registration, Role},
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use rand::RngCore;

/// One created demo login, to print.
#[derive(Debug)]
pub struct DemoLogin {
    /// Trainer or athlete.
    pub role: Role,
    /// Login email.
    pub email: String,
    /// Freshly generated password.
    pub password: String,
}

/// Creates a demo trainer and a demo athlete when there are no accounts yet.
pub async fn seed(db: &Database) -> Result<Vec<DemoLogin>, AppError> {
    if accounts::count(db).await? > 0 {
        return Ok(Vec::new());
    }
    let mut logins = Vec::new();
    for (role, name, email) in [
        (Role::Trainer, "Demo Trainer", "trainer@demo.spotter.test"),
        (Role::Athlete, "Demo Athlete", "athlete@demo.spotter.test"),
    ] {
        let mut bytes = [0u8; 9];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let password = URL_SAFE_NO_PAD.encode(bytes);
        let account = validate_registration(name, email, &password, role.as_str())?;
        let hash = auth::hash_password(password.clone()).await?;
        accounts::create(db, &account, &hash).await?;
        logins.push(DemoLogin {
            role,
            email: account.email,
            password,
        });
    }
    Ok(logins)
}
