//! Submissions that must reach the server even when the phone is offline
//! when the athlete presses "send": each is kept in `localStorage` (with
//! its idempotency key, so a repeat can never count twice) until the server
//! answered it, and sent again when the link is back, after a reload too.
//!
//! The outbox is typed: a page queues the server function's own arguments
//! (the struct `#[server]` makes of them, decoded from the submit event by
//! Leptos's `FromFormData`), in its enum of what it may queue
//! ([`Queued`]), and gets them back typed. In `localStorage` each is kept
//! as its wire form (the server function's path and the url-encoded form
//! `#[server]` posts), so nothing but the sending code is needed to keep
//! it (no second encoding in the phone's download), and what an earlier
//! version kept reads the same way. This module knows no server function:
//! the page names them.

use super::storage;
use crate::error::AppError;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use serde_json::Value;

/// Where the outbox lives in `localStorage`.
pub const OUTBOX_KEY: &str = "spotter.outbox";

/// What a page may queue: an enum of server functions' arguments.
pub trait Queued: Clone + 'static {
    /// The server function's path, e.g. `/api/sets/log`.
    fn path(&self) -> &'static str;
    /// Its arguments as the server function reads them (a url-encoded
    /// form, [`form_of`]).
    fn form(&self) -> String;
    /// Its idempotency key.
    fn key(&self) -> &str;
    /// The session it changes.
    fn session_id(&self) -> i64;
    /// Back from its path and form ([`read_form`]); `None` for a form no
    /// server function of the page reads.
    fn from_form(path: &str, form: &str) -> Option<Self>;
}

/// A submission waiting for the server's answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Pending<M> {
    /// What to send.
    pub mutation: M,
    /// The form's drafts scope on the page (what to forget once the server
    /// has it, where to show its refusal).
    pub scope: String,
}

/// How an entry is kept: its wire form, and what to find it by.
#[derive(Serialize, Deserialize)]
struct Stored {
    key: String,
    session_id: i64,
    path: String,
    body: String,
    #[serde(default)]
    scope: String,
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

/// Server function arguments as a url-encoded form, the way `#[server]`
/// posts them (`serde_qs`).
pub fn form_of<T: Serialize>(arguments: &T) -> String {
    serde_qs::to_string(arguments).unwrap_or_default()
}

/// Server function arguments from a url-encoded form, read the way the
/// server reads them (`serde_qs`, depth 5, not strict).
pub fn read_form<T: DeserializeOwned>(form: &str) -> Option<T> {
    serde_qs::Config::new(5, false).deserialize_str(form).ok()
}

/// The outbox as stored.
fn stored<M: Queued>() -> (Vec<Pending<M>>, Vec<Value>) {
    entries(&storage::load(OUTBOX_KEY).unwrap_or_default())
}

/// The entries of a stored outbox, each read on its own; what cannot be
/// read (a form no server function of the page reads) is returned as it
/// is, to be kept, never dropped.
pub(crate) fn entries<M: Queued>(text: &str) -> (Vec<Pending<M>>, Vec<Value>) {
    let entries: Vec<Value> = serde_json::from_str(text).unwrap_or_default();
    let mut read = Vec::new();
    let mut unread = Vec::new();
    for entry in entries {
        match typed::<M>(&entry) {
            Some(pending) => read.push(pending),
            None => unread.push(entry),
        }
    }
    (read, unread)
}

fn typed<M: Queued>(entry: &Value) -> Option<Pending<M>> {
    let stored = Stored::deserialize(entry).ok()?;
    Some(Pending {
        mutation: M::from_form(&stored.path, &stored.body)?,
        scope: stored.scope,
    })
}

fn save<M: Queued>(entries: &[Pending<M>], unread: Vec<Value>) {
    let mut all: Vec<Value> = entries
        .iter()
        .filter_map(|p| {
            serde_json::to_value(Stored {
                key: p.mutation.key().to_string(),
                session_id: p.mutation.session_id(),
                path: p.mutation.path().to_string(),
                body: p.mutation.form(),
                scope: p.scope.clone(),
            })
            .ok()
        })
        .collect();
    all.extend(unread);
    if all.is_empty() {
        storage::remove(OUTBOX_KEY);
    } else if let Ok(text) = serde_json::to_string(&all) {
        storage::store(OUTBOX_KEY, &text);
    }
}

/// What waits for `session_id`, oldest first.
pub fn for_session<M: Queued>(session_id: i64) -> Vec<Pending<M>> {
    stored::<M>()
        .0
        .into_iter()
        .filter(|p| p.mutation.session_id() == session_id)
        .collect()
}

/// Keeps `pending` (replacing an entry with the same key).
pub fn put<M: Queued>(pending: Pending<M>) {
    let (mut entries, unread) = stored::<M>();
    entries.retain(|p| p.mutation.key() != pending.mutation.key());
    entries.push(pending);
    save(&entries, unread);
}

/// Forgets the entry with idempotency key `key`.
pub fn remove<M: Queued>(key: &str) {
    let (mut entries, unread) = stored::<M>();
    entries.retain(|p| p.mutation.key() != key);
    save(&entries, unread);
}

/// Sends one entry once, the way every request of a page goes
/// ([`crate::live::client::post_form`]: over the live connection when it is
/// Live, `fetch` otherwise, with a deadline; a network failure tells the
/// link) and says what became of it. What stays unsent is sent again by
/// the page when its link is Live again.
pub async fn send<M: Queued>(mutation: &M) -> Sent {
    let Ok(reply) = crate::live::client::post_form(mutation.path(), mutation.form()).await else {
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
