//! Types shared by the server and the browser, and the pure validation rules
//! both use: the server as the authority, the forms as a hint.
//!
//! Nothing here touches the database, the network or the DOM.
//!
//! | file | concern |
//! |---|---|
//! | `mod.rs` | accounts: roles, users, registration and login checks, field errors |
//! | [`limits`] | every limit of a session (sets, reps, loads, lengths, counts) |
//! | [`validation`] | form text to values: numbers in range, bounded text, checkboxes |
//! | [`prescription`] | the round builder's rows, their checks, the row buttons |
//! | [`feedback`], [`sets`], [`pain`] | what the athlete sends: feedback per exercise, sets as they are done, pain |
//! | [`messages`] | the session's thread: a message as typed, the phone's quick replies |
//! | [`read`] | the dashboard's lists (the session's view is the protocol's) |
//! | [`rules`] | who may do what, when: the session's rules as pure functions |
//! | [`idempotency`] | the key every mutation form carries |

use serde::{Deserialize, Serialize};
use std::fmt;

pub mod feedback;
pub mod idempotency;
pub mod limits;
pub mod messages;
pub mod pain;
pub mod prescription;
pub mod read;
pub mod rules;
pub mod sets;
pub mod validation;

// Each concern in its file; what the app uses, named here once. The wire
// protocol (live frames, the typed event, the session's view, units and
// their formatting, `Side`, `RoundStatus`, `SessionStatus`) is its own
// crate, shared with other clients (`protocol/`).
pub use feedback::{feedback_field, validate_feedback, FeedbackInput};
pub use idempotency::{
    new_idempotency_key, validate_idempotency_key, IDEMPOTENCY_KEY_FIELD,
    IDEMPOTENCY_KEY_MAX_CHARS, IDEMPOTENCY_KEY_MIN_CHARS,
};
pub use limits::{
    DURATION_MAX_S, EXERCISES_MAX, EXERCISE_NAME_MAX_CHARS, LOAD_MAX, MESSAGE_MAX_CHARS,
    NOTES_MAX_CHARS, REPS_MAX, REST_MAX_S, ROUNDS_MAX, RPE_MAX, SETS_MAX,
};
pub use messages::{validate_message, MESSAGE_FIELD, QUICK_REPLIES};
pub use pain::{validate_pain_note, validate_pain_set};
pub use prescription::{
    apply_row_action, exercise_field, validate_exercise, validate_round, ExerciseInput,
    RELEASE_ACTION,
};
pub use read::{Dashboard, TrainerChoice};
pub use sets::{
    done_sets, done_values, next_set, sets_to_log, validate_set, FeedbackPrefill, LastDone,
    SentHere, SetFields, SetInput, SetValues, SET_FIELDS,
};
pub use spotter_protocol::view::{
    format_number, format_seconds, sets_and_reps, Exercise, Feedback, LoadUnit, LoggedSet, Message,
    Opened, PainReport, Read, Reads, Round, SessionStatus, SessionSummary, SessionView,
    MESSAGES_SHOWN,
};
pub use spotter_protocol::{event, live, state, RoundStatus, SessionEvent, Side};
pub use validation::{checkbox, validate_reason};

/// Longest display name we accept, in characters.
pub const NAME_MAX_CHARS: usize = 100;
/// Shortest password we accept, in characters.
pub const PASSWORD_MIN_CHARS: usize = 8;
/// Longest password we accept, in characters: argon2 hashes anything, but an
/// unbounded password is a cheap way to make the server burn CPU.
pub const PASSWORD_MAX_CHARS: usize = 1024;
/// Longest email address (RFC 5321's limit on a forward path).
pub const EMAIL_MAX_CHARS: usize = 254;

/// What a person does in spotter; fixed at registration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Builds and releases rounds from a laptop.
    Trainer,
    /// Does the rounds on a phone and sends feedback.
    Athlete,
}

impl Role {
    /// The value stored in the database and sent by forms.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Trainer => "trainer",
            Role::Athlete => "athlete",
        }
    }

    /// Parses the form / database value; anything else is refused.
    pub fn parse(value: &str) -> Result<Role, FieldError> {
        match value.trim() {
            "trainer" => Ok(Role::Trainer),
            "athlete" => Ok(Role::Athlete),
            _ => Err(FieldError::new(
                "role",
                "Choose whether you are a trainer or an athlete",
            )),
        }
    }

    /// Word shown to people.
    pub fn label(self) -> &'static str {
        match self {
            Role::Trainer => "Trainer",
            Role::Athlete => "Athlete",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A login that failed without JavaScript, for the login page to show
/// again: the email as typed, and the message about `field`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginFailed {
    /// The email as typed.
    pub email: String,
    /// The field the message is about.
    pub field: String,
    /// The message.
    pub message: String,
}

/// A logged-in person as the pages see them (never the password hash).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Database id.
    pub id: i64,
    /// Name shown to the other side of a session.
    pub display_name: String,
    /// Lower-cased login email.
    pub email: String,
    /// Trainer or athlete.
    pub role: Role,
}

/// A message about one form field, so the page can show it next to that field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The form field's `name`.
    pub field: String,
    /// What the person can do about it.
    pub message: String,
}

impl FieldError {
    /// Builds an error for `field`.
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        FieldError {
            field: field.to_string(),
            message: message.into(),
        }
    }
}

/// A registration that passed every rule in [`validate_registration`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAccount {
    /// Trimmed display name.
    pub display_name: String,
    /// Trimmed, lower-cased email.
    pub email: String,
    /// The password exactly as typed.
    pub password: String,
    /// Chosen role.
    pub role: Role,
}

/// Checks a display name: present and at most [`NAME_MAX_CHARS`].
pub fn validate_display_name(value: &str) -> Result<String, FieldError> {
    let name = value.trim();
    if name.is_empty() {
        return Err(FieldError::new("display_name", "Enter your name"));
    }
    if name.chars().count() > NAME_MAX_CHARS {
        return Err(FieldError::new(
            "display_name",
            format!("Your name must be at most {NAME_MAX_CHARS} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(FieldError::new(
            "display_name",
            "Your name cannot contain control characters",
        ));
    }
    Ok(name.to_string())
}

/// Checks an email's shape and returns it trimmed and lower-cased.
///
/// This is a shape check (one `@`, a dot in the domain, no spaces), not
/// deliverability: we never send mail.
pub fn normalize_email(value: &str) -> Result<String, FieldError> {
    let email = value.trim().to_lowercase();
    let invalid = || FieldError::new("email", "Enter an email address like name@example.com");
    if email.is_empty() {
        return Err(FieldError::new("email", "Enter your email address"));
    }
    if email.chars().count() > EMAIL_MAX_CHARS {
        return Err(FieldError::new(
            "email",
            format!("An email address has at most {EMAIL_MAX_CHARS} characters"),
        ));
    }
    let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
    let well_formed = !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if well_formed {
        Ok(email)
    } else {
        Err(invalid())
    }
}

/// Checks a new password's length (in characters, not bytes).
pub fn validate_password(value: &str) -> Result<(), FieldError> {
    let chars = value.chars().count();
    if chars < PASSWORD_MIN_CHARS {
        return Err(FieldError::new(
            "password",
            format!("Your password must be at least {PASSWORD_MIN_CHARS} characters"),
        ));
    }
    if chars > PASSWORD_MAX_CHARS {
        return Err(FieldError::new(
            "password",
            format!("Your password must be at most {PASSWORD_MAX_CHARS} characters"),
        ));
    }
    Ok(())
}

/// Every registration rule in one place; the first failing field is reported.
pub fn validate_registration(
    display_name: &str,
    email: &str,
    password: &str,
    role: &str,
) -> Result<NewAccount, FieldError> {
    let display_name = validate_display_name(display_name)?;
    let email = normalize_email(email)?;
    validate_password(password)?;
    let role = Role::parse(role)?;
    Ok(NewAccount {
        display_name,
        email,
        password: password.to_string(),
        role,
    })
}

/// Where to send someone after they log in: only paths on this site, so a
/// crafted `?next=` link cannot bounce a user to another origin.
pub fn safe_next_path(next: Option<&str>) -> String {
    match next.map(str::trim) {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && !path.chars().any(char::is_control) =>
        {
            path.to_string()
        }
        _ => "/dashboard".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_lowercased_and_shape_checked() {
        assert_eq!(
            normalize_email("  Ann@Example.COM ").unwrap(),
            "ann@example.com"
        );
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "a b@example.com",
            "a@b@c.com",
            "ann@.com",
            "ann@example..com",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn password_length_counts_characters() {
        assert!(validate_password("1234567").is_err());
        assert!(validate_password("12345678").is_ok());
        assert!(validate_password(&"é".repeat(1024)).is_ok());
        assert!(validate_password(&"é".repeat(1025)).is_err());
    }

    #[test]
    fn names_are_bounded() {
        assert!(validate_display_name("   ").is_err());
        assert!(validate_display_name(&"x".repeat(100)).is_ok());
        assert_eq!(
            validate_display_name(&"x".repeat(101)).unwrap_err().field,
            "display_name"
        );
    }

    #[test]
    fn roles_are_closed() {
        assert_eq!(Role::parse("trainer").unwrap(), Role::Trainer);
        assert_eq!(Role::parse("admin").unwrap_err().field, "role");
    }

    #[test]
    fn next_path_stays_on_site() {
        assert_eq!(safe_next_path(Some("/sessions/4")), "/sessions/4");
        assert_eq!(safe_next_path(Some("//evil.example")), "/dashboard");
        assert_eq!(safe_next_path(Some("https://evil.example")), "/dashboard");
        assert_eq!(safe_next_path(None), "/dashboard");
    }
}
