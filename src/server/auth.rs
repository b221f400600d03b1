//! Who is asking: password hashing, login sessions and the middleware that
//! turns the session cookie into a [`CurrentUser`] on every request.
//!
//! Written by hand rather than with tower-sessions: spotter needs one code
//! path over `AnyPool` (SQLite and PostgreSQL) and stores only a hash of each
//! token, which the maintained sqlx stores (one type per backend, plain ids)
//! do not offer. The crypto itself is argon2 and sha2, not ours.

use super::db::{now_ms, Database};
use crate::{
    error::AppError,
    model::{LoginFailed, Role, User},
};
use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use axum::{
    extract::{Request, State},
    http::{header, request::Parts, HeaderMap, HeaderValue},
    middleware::Next,
    response::Response,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::{collections::HashMap, sync::OnceLock};

/// Name of the login cookie.
pub const SESSION_COOKIE: &str = "spotter_session";
/// How long a login lasts.
pub const SESSION_TTL_MS: i64 = 30 * 24 * 60 * 60 * 1000;

/// The user behind the request's cookie, if any; put into the request's
/// extensions by [`resolve_user`] and read by server functions and pages.
#[derive(Clone, Debug, Default)]
pub struct CurrentUser(pub Option<User>);

/// Which login the request came with (the SHA-256 of its token), when it
/// resolved to a user: live connections opened with it close when it ends.
#[derive(Clone, Debug, Default)]
pub struct CurrentLogin(pub Option<std::sync::Arc<str>>);

/// The id of the login behind `token` (what [`CurrentLogin`] holds).
pub fn login_id(token: &str) -> std::sync::Arc<str> {
    token_hash(token).into()
}

/// At most this many argon2 computations at once (one per core): each takes
/// ~19 MiB, and a burst of logins must neither balloon the server's memory
/// (the allocator keeps what it once held) nor starve everything else.
fn argon2_permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    PERMITS.get_or_init(|| {
        tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    })
}

/// Runs an argon2 computation on a blocking thread, at most one per core.
async fn with_argon2<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AppError> {
    let _permit = argon2_permits()
        .acquire()
        .await
        .map_err(|e| internal("password hashing permit", e))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| internal("password hashing task", e))
}

/// Hashes a password with argon2id on a blocking thread: ~20 MiB and tens of
/// milliseconds of CPU must never stall the async executor.
pub async fn hash_password(password: String) -> Result<String, AppError> {
    with_argon2(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
    })
    .await?
    .map_err(|e| internal("password hashing", e))
}

/// Checks a password against a stored hash on a blocking thread. With no
/// stored hash (unknown email) it checks against a dummy hash, so both
/// failures take the same time and answer the same way.
pub async fn verify_password(stored: Option<String>, password: String) -> Result<bool, AppError> {
    with_argon2(move || {
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| dummy_hash().to_string());
        let ok = PasswordHash::new(&stored)
            .map(|hash| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &hash)
                    .is_ok()
            })
            .unwrap_or(false);
        known && ok
    })
    .await
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(b"spotter-dummy-password", &salt)
            .map(|hash| hash.to_string())
            .unwrap_or_default()
    })
}

/// Stores a new login for `user_id` and returns the cookie's token: 32 random
/// bytes, of which only the SHA-256 is kept.
pub async fn start_session(db: &Database, user_id: i64) -> Result<String, AppError> {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let now = now_ms();
    // Logins past their expiry are of no use to anyone: clear them here.
    sqlx::query("DELETE FROM auth_sessions WHERE expires_at <= $1")
        .bind(now)
        .execute(&db.pool)
        .await?;
    sqlx::query("INSERT INTO auth_sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(token_hash(&token))
        .bind(user_id)
        .bind(now)
        .bind(now + SESSION_TTL_MS)
        .execute(&db.pool)
        .await?;
    Ok(token)
}

/// Ends a login: the token no longer works, whatever the browser keeps.
async fn end_session(db: &Database, token: &str) -> Result<(), AppError> {
    sqlx::query("DELETE FROM auth_sessions WHERE token_hash = $1")
        .bind(token_hash(token))
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// The user a login (by its id, the token's hash) belongs to, with when
/// the login expires, if it exists and has not expired.
async fn user_for_login(db: &Database, login: &str) -> Result<Option<(User, i64)>, AppError> {
    let row: Option<(i64, String, String, String, i64)> = sqlx::query_as(
        "SELECT u.id, u.display_name, u.email, u.role, s.expires_at FROM auth_sessions s \
         JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > $2",
    )
    .bind(login)
    .bind(now_ms())
    .fetch_optional(&db.pool)
    .await?;
    row.map(|(id, display_name, email, role, expires_at)| {
        let role = Role::parse(&role).map_err(|_| internal("stored role", role))?;
        let user = User {
            id,
            display_name,
            email,
            role,
        };
        Ok((user, expires_at))
    })
    .transpose()
}

/// How long a resolved login is served from memory before the database is
/// asked again. A logout forgets it at once on this instance, and on the
/// others when its notice arrives (PostgreSQL); this bounds how long
/// another instance that missed the notice still accepts it.
pub const LOGIN_CACHE_MS: i64 = 5_000;
/// Most logins remembered (one entry is ~150 bytes).
const LOGIN_CACHE_MAX: usize = 100_000;

/// Remembered logins: login id → (user, remembered until, ms).
type Remembered = HashMap<std::sync::Arc<str>, (User, i64)>;

/// Resolves login cookies, remembering each found login for
/// [`LOGIN_CACHE_MS`] so the hot path (every action, every page) does not
/// query the database. Unknown tokens are never remembered (they would let
/// anyone fill the memory). Cheap to clone.
///
/// A map and a mutex rather than a cache crate: the policy is three rules
/// (a short time to live, capped by the login's own expiry; forget on
/// logout; start over when full), and moka or quick_cache would add more
/// build time than code on a 2-core CI.
#[derive(Clone, Debug)]
pub struct Logins {
    db: Database,
    cache: std::sync::Arc<std::sync::Mutex<Remembered>>,
}

impl Logins {
    /// Logins in `db`, none remembered yet.
    pub fn new(db: Database) -> Logins {
        Logins {
            db,
            cache: Default::default(),
        }
    }

    /// The user behind login `login` ([`login_id`]), if it exists and has
    /// not expired.
    pub async fn user(&self, login: &std::sync::Arc<str>) -> Result<Option<User>, AppError> {
        let now = now_ms();
        if let Some((user, until)) = self.lock().get(login) {
            if *until > now {
                return Ok(Some(user.clone()));
            }
        }
        let Some((user, expires_at)) = user_for_login(&self.db, login).await? else {
            self.forget(login);
            return Ok(None);
        };
        let mut cache = self.lock();
        if cache.len() >= LOGIN_CACHE_MAX {
            cache.retain(|_, (_, until)| *until > now);
            if cache.len() >= LOGIN_CACHE_MAX {
                cache.clear();
            }
        }
        let until = expires_at.min(now + LOGIN_CACHE_MS);
        cache.insert(login.clone(), (user.clone(), until));
        Ok(Some(user))
    }

    /// Ends the login behind `token`: forgotten here at once, deleted from
    /// the database.
    pub async fn end(&self, token: &str) -> Result<(), AppError> {
        let login = login_id(token);
        self.forget(&login);
        end_session(&self.db, token).await?;
        // A lookup that raced the delete may have put it back.
        self.forget(&login);
        Ok(())
    }

    /// Forgets login `login` (it ended, here or on another instance).
    pub fn forget(&self, login: &str) {
        self.lock().remove(login);
    }

    /// Forgets every login (some logout notices were missed).
    pub fn forget_all(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Remembered> {
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn token_hash(token: &str) -> String {
    use std::fmt::Write;
    let mut hex = String::with_capacity(64);
    for b in Sha256::digest(token.as_bytes()) {
        let _ = write!(hex, "{b:02x}");
    }
    hex
}

/// The session token from a `Cookie` header, if present.
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    cookie(headers, SESSION_COOKIE)
}

/// The value of cookie `name`, if set and not empty.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim().to_string())
        .filter(|value| !value.is_empty())
}

/// The cookie a failed plain-HTML login (no JavaScript) leaves for the
/// login page: what was typed and why it failed, read once, never in the
/// address bar.
const LOGIN_FAILED_COOKIE: &str = "spotter_login_failed";

/// Whether the request is a plain HTML form post (no JavaScript), which
/// expects a page back rather than data. (Posts from another site never get
/// here: `edge::guard` refuses them first, so a foreign form cannot fill in
/// this site's login form.)
pub fn is_plain_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// `Set-Cookie` value that carries `failed` to the login page (2 minutes).
pub fn login_failed_cookie(failed: &LoginFailed, headers: &HeaderMap) -> HeaderValue {
    let value = URL_SAFE_NO_PAD.encode(serde_json::to_vec(failed).unwrap_or_default());
    cookie_value(format!(
        "{LOGIN_FAILED_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age=120{}",
        secure_suffix(headers)
    ))
}

/// The failed login this browser left, if any, and the `Set-Cookie` value
/// that removes it.
pub fn take_login_failed(headers: &HeaderMap) -> Option<(LoginFailed, HeaderValue)> {
    let value = cookie(headers, LOGIN_FAILED_COOKIE)?;
    let failed = URL_SAFE_NO_PAD
        .decode(value)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())?;
    let clear = cookie_value(format!(
        "{LOGIN_FAILED_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}",
        secure_suffix(headers)
    ));
    Some((failed, clear))
}

/// `Set-Cookie` value for a new login. `Secure` when the request came over
/// https (directly or through a proxy that says so).
pub fn session_cookie(token: &str, headers: &HeaderMap) -> HeaderValue {
    let max_age = SESSION_TTL_MS / 1000;
    cookie_value(format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{}",
        secure_suffix(headers)
    ))
}

/// `Set-Cookie` value that removes the login cookie.
pub fn clear_session_cookie(headers: &HeaderMap) -> HeaderValue {
    cookie_value(format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}",
        secure_suffix(headers)
    ))
}

fn cookie_value(cookie: String) -> HeaderValue {
    // Built only from our own URL-safe token and constant text.
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn secure_suffix(headers: &HeaderMap) -> &'static str {
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|proto| proto.eq_ignore_ascii_case("https"));
    if https {
        "; Secure"
    } else {
        ""
    }
}

/// Middleware: resolves the login cookie once per request and stores the
/// result as [`CurrentUser`] in the request's extensions.
pub async fn resolve_user(
    State(logins): State<Logins>,
    mut request: Request,
    next: Next,
) -> Response {
    if is_static_file(request.uri().path()) {
        // The wasm, the CSS, the favicon: the same for everyone, so no
        // login query (a 404 page for a missing one shows a logged-out
        // header).
        request.extensions_mut().insert(CurrentUser(None));
        request.extensions_mut().insert(CurrentLogin(None));
        return next.run(request).await;
    }
    let login = session_token(request.headers()).map(|token| login_id(&token));
    let user = match &login {
        Some(login) => logins.user(login).await.unwrap_or_else(|err| {
            tracing::warn!(error = %err, "could not resolve login cookie");
            None
        }),
        None => None,
    };
    let login = login.filter(|_| user.is_some());
    request.extensions_mut().insert(CurrentUser(user));
    request.extensions_mut().insert(CurrentLogin(login));
    next.run(request).await
}

/// Files the server hands out as they are: the build's `/pkg/` directory
/// and the `public/` files at the site root.
fn is_static_file(path: &str) -> bool {
    path.starts_with("/pkg/") || path == "/favicon.svg"
}

/// The current request's user, from the parts Leptos keeps in context.
pub fn current_user(parts: &Parts) -> Option<User> {
    parts
        .extensions
        .get::<CurrentUser>()
        .and_then(|current| current.0.clone())
}

fn internal(what: &str, err: impl std::fmt::Display) -> AppError {
    tracing::error!(error = %err, "{what} failed");
    AppError::Internal
}
