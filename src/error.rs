//! The one error type every server function returns, shared with the browser
//! so a page can put a message next to the field it is about.
//!
//! The HTTP status for each kind is decided here ([`AppError::status`]) and
//! nowhere else.

use crate::model::{rules::Refusal, FieldError};
use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};

/// Why a server function refused or failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// Bad input: a message about one field; nothing was changed.
    #[error("{}", .0.message)]
    Invalid(FieldError),
    /// No logged-in user.
    #[error("Please log in to continue")]
    Unauthorized,
    /// Logged in, but not allowed to do this.
    #[error("{0}")]
    Forbidden(String),
    /// The thing asked for does not exist (or is not the caller's to know about).
    #[error("{0}")]
    NotFound(String),
    /// The request is well-formed but conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// Something went wrong on our side; details are in the server log only.
    #[error("Something went wrong on our side; please try again")]
    Internal,
    /// Too many tries in a short time: wait this many seconds.
    #[error("Too many tries in a short time; wait {0} s and try again")]
    TooManyRequests(u64),
    /// Too many changes waiting for the database: try again in this many
    /// seconds (nothing was changed).
    #[error("spotter is very busy right now; nothing was changed, try again in {0} s")]
    Busy(u64),
    /// The request never reached our code or its answer could not be read.
    #[error("Could not reach spotter: {0}")]
    Transport(String),
}

impl From<Refusal> for AppError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Forbidden(message) => AppError::Forbidden(message),
            Refusal::Conflict(message) => AppError::Conflict(message),
            Refusal::Invalid(error) => AppError::Invalid(error),
        }
    }
}

impl AppError {
    /// Shorthand for a field error.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        AppError::Invalid(FieldError::new(field, message))
    }

    /// The message for `field`, if this error is about that field.
    pub fn for_field(&self, field: &str) -> Option<String> {
        match self {
            AppError::Invalid(e) if e.field == field => Some(e.message.clone()),
            _ => None,
        }
    }

    /// The message when it is not about a single field (or `None`).
    pub fn general(&self) -> Option<String> {
        match self {
            AppError::Invalid(_) => None,
            other => Some(other.to_string()),
        }
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Invalid(_) => 422,
            AppError::Unauthorized => 401,
            AppError::Forbidden(_) => 403,
            AppError::NotFound(_) => 404,
            AppError::Conflict(_) => 409,
            AppError::Internal => 500,
            AppError::Transport(_) => 400,
            AppError::TooManyRequests(_) => 429,
            AppError::Busy(_) => 503,
        }
    }
}

impl From<FieldError> for AppError {
    fn from(value: FieldError) -> Self {
        AppError::Invalid(value)
    }
}

/// The field a form that could not be decoded is refused under, until
/// `server::edge`, which has the body, names the field it could not read.
pub const UNREADABLE_FORM: &str = "form";

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // The server could not decode the form into the function's
            // arguments: bad input.
            ServerFnErrorErr::Args(why) | ServerFnErrorErr::MissingArg(why) => {
                AppError::Invalid(FieldError::new(
                    UNREADABLE_FORM,
                    format!("The form could not be read: {why}"),
                ))
            }
            other => AppError::Transport(other.to_string()),
        }
    }
}

#[cfg(feature = "ssr")]
impl From<sqlx::Error> for AppError {
    /// Database failures are logged in full and shown to users as `Internal`.
    fn from(err: sqlx::Error) -> Self {
        tracing::error!(error = %err, "database error");
        AppError::Internal
    }
}
