//! Submissions that must reach the server even when the phone is offline
//! when the athlete presses "send": each is kept in `localStorage` (with
//! its idempotency key, so a repeat can never count twice) until the server
//! answered it, and sent again when the link is back, after a reload too.

use super::storage;
use crate::error::AppError;
use serde::{Deserialize, Serialize};

/// Where the outbox lives in `localStorage`.
pub const OUTBOX_KEY: &str = "spotter.outbox";

/// A form submission waiting for the server's answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pending {
    /// Its idempotency key (also inside `body`).
    pub key: String,
    /// The session it belongs to.
    pub session_id: i64,
    /// The server function's path, e.g. `/api/rounds/complete`.
    pub path: String,
    /// The form, `application/x-www-form-urlencoded`.
    pub body: String,
    /// The form's drafts scope on the page (what to forget once the server
    /// has it, where to show its refusal).
    #[serde(default)]
    pub scope: String,
}

/// What became of one attempt to send a [`Pending`].
#[derive(Clone, Debug, PartialEq)]
pub enum Sent {
    /// The server committed it (or had committed it before).
    Accepted,
    /// The server refused it (bad input, round changed…): it will not be
    /// sent again; the form shows why.
    Refused(AppError),
    /// The network failed, or the server is not there: try again later.
    Unreachable,
}

/// Everything waiting, oldest first.
pub fn all() -> Vec<Pending> {
    storage::load(OUTBOX_KEY)
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

/// What waits for `session_id`, oldest first.
pub fn for_session(session_id: i64) -> Vec<Pending> {
    all()
        .into_iter()
        .filter(|p| p.session_id == session_id)
        .collect()
}

fn save(entries: &[Pending]) {
    if entries.is_empty() {
        storage::remove(OUTBOX_KEY);
    } else if let Ok(text) = serde_json::to_string(entries) {
        storage::store(OUTBOX_KEY, &text);
    }
}

/// Keeps `pending` (replacing an entry with the same key).
pub fn put(pending: Pending) {
    let mut entries = all();
    entries.retain(|p| p.key != pending.key);
    entries.push(pending);
    save(&entries);
}

/// Forgets the entry with idempotency key `key`.
pub fn remove(key: &str) {
    let mut entries = all();
    entries.retain(|p| p.key != key);
    save(&entries);
}

/// Sends one entry once, the way every request of a page goes
/// ([`crate::live::client::post_form`]: over the live connection when it is
/// Live, `fetch` otherwise, with a deadline; a network failure tells the
/// link) and says what became of it. What stays unsent is sent again by
/// the page when its link is Live again.
pub async fn send(pending: &Pending) -> Sent {
    let Ok(reply) = crate::live::client::post_form(&pending.path, pending.body.clone()).await
    else {
        return Sent::Unreachable;
    };
    let status = reply.status();
    if (200..300).contains(&status) {
        return Sent::Accepted;
    }
    let text = reply.text().await;
    let sent = match serde_json::from_str::<AppError>(&text) {
        Ok(error) => Sent::Refused(error),
        // Not our answer (a proxy's 502 while spotter restarts, say).
        Err(_) => Sent::Unreachable,
    };
    sent.or_retry_on(status)
}

impl Sent {
    /// A refusal that says the service is briefly unavailable is worth
    /// another try.
    fn or_retry_on(self, status: u16) -> Sent {
        match self {
            Sent::Refused(_) if status == 503 => Sent::Unreachable,
            other => other,
        }
    }
}
