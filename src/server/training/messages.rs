//! The session's thread: either side writes a message.

use super::{mutation::Mutation, work::Work};
use crate::{
    api::messages::SendMessage,
    error::AppError,
    model::{rules, validate_message, Message, SessionEvent, Side},
    server::{db::now_ms, tx::sql},
};

/// Either participant writes a message while the session goes on
/// (`message-sent`). Answers the message's id.
impl Mutation for SendMessage {
    type Answer = i64;
    const SIDE: Option<(Side, &'static str)> = None;

    async fn apply(&self, work: &mut Work<'_, '_>) -> Result<i64, AppError> {
        rules::send_message(work.session.status)?;
        let body = validate_message(&self.body)?;
        let now = now_ms();
        let (id,): (i64,) = work
            .fetch_one(
                "write the message",
                sql("INSERT INTO messages (session_id, side, body, sent_at) \
                     VALUES ($1, $2, $3, $4) RETURNING id")
                .bind(self.session_id)
                .bind(work.side.as_str())
                .bind(&body)
                .bind(now),
            )
            .await?;
        work.append(SessionEvent::MessageSent {
            by: work.side,
            message_id: id,
            body,
            sent_at: now,
        })
        .await?;
        Ok(id)
    }
}

/// A `messages` row as the session view reads it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub(super) struct MessageRow {
    pub id: i64,
    pub side: String,
    pub body: String,
    pub sent_at: i64,
}

/// The columns of [`MessageRow`].
pub(super) const MESSAGE_COLUMNS: &str = "id, side, body, sent_at";

impl MessageRow {
    /// The message, if its side reads back (a row spotter wrote always does).
    pub(super) fn message(self) -> Option<Message> {
        Some(Message {
            id: self.id,
            by: Side::parse(&self.side)?,
            body: self.body,
            sent_at: self.sent_at,
        })
    }
}
