//! The event log (`session_events`): the one module that reads or writes it.
//! A mutation appends its events inside its own transaction ([`append`]),
//! so an event exists exactly when its change was committed; followers and
//! the PostgreSQL listener read them back ([`between`]).

use super::{
    db::{now_ms, Database},
    tx::{sql, DbError, Tx},
};
use crate::model::{live::LiveEvent, SessionEvent, Side};

/// Appends `event` to the session's log with the next sequence number
/// (`training_sessions.last_seq`, bumped in the same transaction).
pub async fn append(
    tx: &mut Tx<'_>,
    session_id: i64,
    event: SessionEvent,
    actor_id: i64,
) -> Result<LiveEvent, DbError> {
    let at = now_ms();
    let (seq,): (i64,) = tx
        .fetch_one(
            sql("UPDATE training_sessions SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq")
                .bind(session_id),
        )
        .await?;
    tx.execute(
        sql("INSERT INTO session_events (session_id, seq, kind, payload, actor_id, at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(session_id)
            .bind(seq)
            .bind(event.kind())
            .bind(event.data().to_string())
            .bind(actor_id)
            .bind(at),
    )
    .await?;
    Ok(LiveEvent {
        seq,
        session_id,
        at,
        event,
    })
}

/// Logged events with `after < seq <= upto`, in order. A row that does not
/// read as a [`SessionEvent`] (written by hand, or by a newer version) is
/// logged and skipped; followers then move past it.
pub async fn between(
    db: &Database,
    session_id: i64,
    after: i64,
    upto: i64,
) -> Result<Vec<LiveEvent>, sqlx::Error> {
    let rows: Vec<(i64, String, i64, String)> = sqlx::query_as(
        "SELECT seq, kind, at, payload FROM session_events WHERE session_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq",
    )
    .bind(session_id)
    .bind(after)
    .bind(upto)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(seq, kind, at, payload)| {
            let data = serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null);
            match SessionEvent::from_parts(&kind, data) {
                Ok(event) => Some(LiveEvent {
                    seq,
                    session_id,
                    at,
                    event,
                }),
                Err(error) => {
                    tracing::error!(session_id, seq, %error, "unreadable event in the log");
                    None
                }
            }
        })
        .collect())
}

/// The seq of the last event at or before `upto` that `side` is shown
/// (0: none): the athlete's position skips the trainer's drafts, so the
/// athlete learns nothing of them, not even how many changes they had.
pub async fn last_shown(
    conn: &mut sqlx::AnyConnection,
    session_id: i64,
    side: Side,
    upto: i64,
) -> Result<i64, sqlx::Error> {
    const PAGE: i64 = 64;
    let mut upto = upto;
    loop {
        let rows: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT seq, kind, payload FROM session_events WHERE session_id = $1 AND seq <= $2 ORDER BY seq DESC LIMIT $3",
        )
        .bind(session_id)
        .bind(upto)
        .bind(PAGE)
        .fetch_all(&mut *conn)
        .await?;
        for (seq, kind, payload) in &rows {
            let data = serde_json::from_str(payload).unwrap_or(serde_json::Value::Null);
            // An unreadable row is skipped by every follower: not shown.
            if SessionEvent::from_parts(kind, data).is_ok_and(|e| e.visible_to(side)) {
                return Ok(*seq);
            }
        }
        match rows.last() {
            Some((seq, ..)) if rows.len() as i64 == PAGE => upto = seq - 1,
            _ => return Ok(0),
        }
    }
}

/// A session's participants (athlete, trainer) and its log's last seq.
pub async fn head(db: &Database, session_id: i64) -> Result<Option<Head>, sqlx::Error> {
    let row: Option<(i64, i64, i64)> = sqlx::query_as(
        "SELECT athlete_id, trainer_id, last_seq FROM training_sessions WHERE id = $1",
    )
    .bind(session_id)
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.map(|(athlete_id, trainer_id, last_seq)| Head {
        participants: [athlete_id, trainer_id],
        last_seq,
    }))
}

/// Who takes part in a session and where its log ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    /// [athlete, trainer] user ids.
    pub participants: [i64; 2],
    /// The last seq committed (0: none).
    pub last_seq: i64,
}
