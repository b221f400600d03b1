//! Accounts: register, log in, log out, and who is logged in.

use crate::{error::AppError, model::User};
use leptos::prelude::*;

/// Creates an account, logs it in and goes to the dashboard.
#[server(endpoint = "register", client = crate::live::client::Deadline)]
pub async fn register(
    // Missing fields (an unticked radio button sends nothing) count as empty,
    // so they get a message on the field rather than a decoding error.
    #[server(default)] display_name: String,
    #[server(default)] email: String,
    #[server(default)] password: String,
    #[server(default)] role: String,
) -> Result<(), AppError> {
    use crate::{
        model::validate_registration,
        server::{
            accounts, answer, auth, client_address, limit, limits::Attempt, request_parts,
            set_cookie, state,
        },
    };
    answer(
        async {
            // Before any work: hashing is what an attacker would queue.
            limit(Attempt::Register(client_address()?))?;
            let account = validate_registration(&display_name, &email, &password, &role)?;
            let state = state()?;
            let hash = auth::hash_password(account.password.clone()).await?;
            let user = accounts::create(&state.db, &account, &hash).await?;
            let token = auth::start_session(&state.db, user.id).await?;
            set_cookie(auth::session_cookie(&token, &request_parts()?.headers));
            tracing::info!(user_id = user.id, role = %user.role, "account registered");
            leptos_axum::redirect("/dashboard");
            Ok(())
        }
        .await,
    )
}

/// Logs in with email and password, then goes to `next` (a path on this
/// site) or the dashboard. Unknown email and wrong password answer alike.
///
/// A refusal to a plain HTML form (no JavaScript) goes back to the login
/// page with the email and the message kept in a short-lived cookie (see
/// [`login_failed`]), not encoded into the address bar.
#[server(endpoint = "login", client = crate::live::client::Deadline)]
pub async fn login(
    #[server(default)] email: String,
    #[server(default)] password: String,
    #[server(default)] next: Option<String>,
) -> Result<(), AppError> {
    use crate::{
        model::{normalize_email, safe_next_path, LoginFailed},
        server::{
            accounts, answer, auth, client_address, limit, limits::Attempt, request_parts,
            set_cookie, state,
        },
    };
    let parts = request_parts()?;
    let result = async {
        let normalized = normalize_email(&email)?;
        // Per address and per account, before the password is checked.
        limit(Attempt::Login(client_address()?, &normalized))?;
        if password.is_empty() {
            return Err(AppError::invalid("password", "Enter your password"));
        }
        let state = state()?;
        let found = accounts::find_by_email(&state.db, &normalized).await?;
        let (stored_hash, user) = match found {
            Some((user, hash)) => (Some(hash), Some(user)),
            None => (None, None),
        };
        let matches = auth::verify_password(stored_hash, password).await?;
        let user = match (matches, user) {
            (true, Some(user)) => user,
            _ => {
                return Err(AppError::invalid(
                    "password",
                    "That email and password do not match an account",
                ))
            }
        };
        let token = auth::start_session(&state.db, user.id).await?;
        set_cookie(auth::session_cookie(&token, &parts.headers));
        leptos_axum::redirect(&safe_next_path(next.as_deref()));
        Ok(())
    }
    .await;
    if let Err(AppError::Invalid(error)) = &result {
        if auth::is_plain_form(&parts.headers) {
            let failed = LoginFailed {
                email: email.chars().take(crate::model::EMAIL_MAX_CHARS).collect(),
                field: error.field.clone(),
                message: error.message.clone(),
            };
            set_cookie(auth::login_failed_cookie(&failed, &parts.headers));
            let back = match next.as_deref().filter(|n| !n.is_empty()) {
                Some(next) => format!(
                    "/login?next={}",
                    form_urlencoded::byte_serialize(safe_next_path(Some(next)).as_bytes())
                        .collect::<String>()
                ),
                None => "/login".to_string(),
            };
            leptos_axum::redirect(&back);
            return Ok(());
        }
    }
    answer(result)
}

/// The login this browser tried without JavaScript and that failed, once
/// (the cookie is removed as it is read).
#[server(endpoint = "login/failed", client = crate::live::client::Deadline)]
pub async fn login_failed() -> Result<Option<crate::model::LoginFailed>, AppError> {
    use crate::server::{auth, request_parts, set_cookie};
    Ok(
        auth::take_login_failed(&request_parts()?.headers).map(|(failed, clear)| {
            set_cookie(clear);
            failed
        }),
    )
}

/// Ends this browser's login (the token stops working server-side) and goes
/// to the home page.
#[server(endpoint = "logout", client = crate::live::client::Deadline)]
pub async fn logout() -> Result<(), AppError> {
    use crate::server::{answer, auth, request_parts, set_cookie, state};
    answer(
        async {
            let parts = request_parts()?;
            if let Some(token) = auth::session_token(&parts.headers) {
                let state = state()?;
                state.logins.end(&token).await?;
                // Its live connections close now (4401), here and on the
                // other instances.
                state
                    .bus
                    .logged_out(&state.db, auth::login_id(&token))
                    .await;
            }
            set_cookie(auth::clear_session_cookie(&parts.headers));
            leptos_axum::redirect("/");
            Ok(())
        }
        .await,
    )
}

/// The logged-in user, or `None`.
#[server(endpoint = "me", client = crate::live::client::Deadline)]
pub async fn current_user() -> Result<Option<User>, AppError> {
    use crate::server::{auth, request_parts};
    Ok(auth::current_user(&request_parts()?))
}
