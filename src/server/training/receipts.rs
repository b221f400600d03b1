//! Receipts: what each side had on screen. Either side reads the other's
//! messages (`messages-read`); the athlete opens a released round at a
//! revision (`round-opened`). Each is a row and an event, kept only when it
//! is newer than the last of its kind (`rules::receipt`): the same receipt
//! again, or an older one arriving late, changes nothing.

use super::{mutation::Mutation, rounds::visible_round, work::Work};
use crate::{
    api::{messages::ReadMessages, rounds::OpenRound},
    error::AppError,
    model::{
        rules::{self, Verdict},
        SessionEvent, Side,
    },
    server::{db::now_ms, tx::sql},
};

/// A read receipt for the other side's messages up to `message_id`.
impl Mutation for ReadMessages {
    type Answer = bool;
    const SIDE: Option<(Side, &'static str)> = None;

    async fn apply(&self, work: &mut Work<'_, '_>) -> Result<bool, AppError> {
        let reader = work.side;
        let written: Option<(String,)> = work
            .fetch_optional(
                "read the message",
                sql("SELECT side FROM messages WHERE id = $1 AND session_id = $2")
                    .bind(self.message_id)
                    .bind(self.session_id),
            )
            .await?;
        let Some((by,)) = written else {
            return Err(AppError::NotFound(
                "There is no such message in this session".into(),
            ));
        };
        if by == reader.as_str() {
            return Err(AppError::invalid(
                "message_id",
                "A receipt is for a message of the other side",
            ));
        }
        let (newest,): (Option<i64>,) = work
            .fetch_one(
                "read the last receipt",
                sql("SELECT MAX(item_id) FROM receipts \
                     WHERE session_id = $1 AND side = $2 AND kind = 'messages'")
                .bind(self.session_id)
                .bind(reader.as_str()),
            )
            .await?;
        if rules::receipt(newest, self.message_id) == Verdict::AlreadyDone {
            return Ok(false);
        }
        let now = now_ms();
        keep(work, "messages", self.message_id, 0, now).await?;
        work.append(SessionEvent::MessagesRead {
            by: reader,
            message_id: self.message_id,
            read_at: now,
        })
        .await?;
        Ok(true)
    }
}

/// A receipt for a round the athlete has: `revision` was on their screen.
impl Mutation for OpenRound {
    type Answer = bool;
    const SIDE: Option<(Side, &'static str)> = Some((Side::Athlete, "open rounds"));

    async fn apply(&self, work: &mut Work<'_, '_>) -> Result<bool, AppError> {
        let round = visible_round(work, self.round_id).await?;
        if self.revision < 1 || self.revision > round.revision {
            return Err(AppError::invalid(
                "revision",
                format!(
                    "Round {} has revisions 1 to {}",
                    round.number, round.revision
                ),
            ));
        }
        let (newest,): (Option<i64>,) = work
            .fetch_one(
                "read the last receipt",
                sql("SELECT MAX(revision) FROM receipts \
                     WHERE session_id = $1 AND side = 'athlete' AND kind = 'round' AND item_id = $2")
                .bind(self.session_id)
                .bind(round.id),
            )
            .await?;
        if rules::receipt(newest, self.revision) == Verdict::AlreadyDone {
            return Ok(false);
        }
        let now = now_ms();
        keep(work, "round", round.id, self.revision, now).await?;
        work.append(SessionEvent::RoundOpened {
            by: Side::Athlete,
            round_id: round.id,
            number: round.number,
            revision: self.revision,
            opened_at: now,
        })
        .await?;
        Ok(true)
    }
}

/// Writes the receipt's row.
async fn keep(
    work: &mut Work<'_, '_>,
    kind: &'static str,
    item_id: i64,
    revision: i64,
    at: i64,
) -> Result<(), AppError> {
    let (session_id, side) = (work.session.id, work.side);
    work.execute(
        "write the receipt",
        sql(
            "INSERT INTO receipts (session_id, side, kind, item_id, revision, seen_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(session_id)
        .bind(side.as_str())
        .bind(kind)
        .bind(item_id)
        .bind(revision)
        .bind(at),
    )
    .await?;
    Ok(())
}

/// A `receipts` row as the session view reads it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub(super) struct ReceiptRow {
    pub side: String,
    pub kind: String,
    pub item_id: i64,
    pub revision: i64,
    pub seen_at: i64,
}

/// The columns of [`ReceiptRow`], in the order the view wants them (each
/// kind's newest last).
pub(super) const RECEIPTS_SELECT: &str = "SELECT side, kind, item_id, revision, seen_at \
     FROM receipts WHERE session_id = $1 ORDER BY kind, item_id, revision";
