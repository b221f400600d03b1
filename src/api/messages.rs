//! The session's thread: either side writes a message while the session
//! goes on. A form of its own, so it posts without JavaScript too; with it,
//! the athlete's page sends it through its outbox, in order with the sets.
//! Read receipts, and the older pages of a long thread.

use crate::{error::AppError, model::Message};
use leptos::prelude::*;

mutation! {
    /// Either participant writes `body` (trimmed, 1 to 2,000 characters)
    /// in the session's thread. Returns the message's id.
    #[server(endpoint = "messages/send")]
    pub async fn send_message(
        session_id: i64,
        body: String,
        idempotency_key: String,
    ) -> i64 as SendMessage in session_id;

    /// A read receipt: the caller had the other side's messages up to
    /// `message_id` on screen (the other side sees "Seen"). One for an
    /// earlier message than the newest so far, or the same again, changes
    /// nothing. Answers whether it was new.
    #[server(endpoint = "messages/read", client = crate::live::client::Quiet)]
    pub async fn read_messages(session_id: i64, message_id: i64) -> bool as ReadMessages in session_id;
}

/// "Show older messages": the (up to 50) messages of the session's thread
/// before message `before` (its id), oldest first. Participants only.
#[server(endpoint = "messages/older", client = crate::live::client::Deadline)]
pub async fn older_messages(
    #[server(default)] session_id: i64,
    #[server(default)] before: i64,
) -> Result<Vec<Message>, AppError> {
    use crate::server::{answer, require_user, state, training};
    answer(
        async {
            training::older_messages(&state()?.db, &require_user()?, session_id, before).await
        }
        .await,
    )
}

/// The session's whole thread, oldest first (the history page).
/// Participants only.
#[server(endpoint = "messages/all", client = crate::live::client::Deadline)]
pub async fn whole_thread(#[server(default)] session_id: i64) -> Result<Vec<Message>, AppError> {
    use crate::server::{answer, require_user, state, training};
    answer(async { training::thread(&state()?.db, &require_user()?, session_id).await }.await)
}
