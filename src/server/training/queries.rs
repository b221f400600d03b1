//! The read models the pages need: a user's dashboard and a whole session.
//! Rows are read into named structs (`sqlx::FromRow`) and grouped by round.

use super::{
    codec::{from_centi, from_halves, small, ExerciseRow, EXERCISE_COLUMNS},
    messages::{MessageRow, MESSAGE_COLUMNS},
    pain::{PainRow, PAIN_COLUMNS},
    receipts::{ReceiptRow, RECEIPTS_SELECT},
    sets::{SetRow, SET_COLUMNS},
    work::{corrupt, no_such_session, parse_status, SessionRow},
};
use crate::{
    error::AppError,
    model::{
        Dashboard, Feedback, Message, Opened, PainReport, Read, Reads, Role, Round, RoundStatus,
        SessionStatus, SessionSummary, SessionView, Side, TrainerChoice, User, MESSAGES_SHOWN,
    },
    server::{
        db::{now_ms, Backend, Database},
        events,
    },
};
use std::collections::HashMap;

const SUMMARY_SELECT: &str = "SELECT s.id, a.display_name AS athlete_name, t.display_name AS trainer_name, \
     s.status, s.created_at, s.cancelled_by, s.cancel_reason, \
     (SELECT COUNT(*) FROM rounds r WHERE r.session_id = s.id AND r.status = 'completed') AS rounds_completed, \
     s.athlete_id, s.trainer_id, s.last_seq \
     FROM training_sessions s JOIN users a ON a.id = s.athlete_id JOIN users t ON t.id = s.trainer_id";

#[derive(sqlx::FromRow)]
struct SummaryRow {
    id: i64,
    athlete_name: String,
    trainer_name: String,
    status: String,
    created_at: i64,
    cancelled_by: Option<String>,
    cancel_reason: Option<String>,
    rounds_completed: i64,
    athlete_id: i64,
    trainer_id: i64,
    last_seq: i64,
}

impl SummaryRow {
    fn summary(self) -> Result<(SessionSummary, SessionRow), AppError> {
        let status = parse_status(&self.status)?;
        let session = SessionRow {
            id: self.id,
            athlete_id: self.athlete_id,
            trainer_id: self.trainer_id,
            status,
        };
        let summary = SessionSummary {
            id: self.id,
            athlete_name: self.athlete_name,
            trainer_name: self.trainer_name,
            status,
            created_at: self.created_at,
            cancelled_by: self.cancelled_by.as_deref().and_then(Side::parse),
            cancel_reason: self.cancel_reason,
            rounds_completed: self.rounds_completed,
            last_seq: self.last_seq,
        };
        Ok((summary, session))
    }
}

#[derive(sqlx::FromRow)]
struct RoundRowFull {
    id: i64,
    number: i64,
    status: String,
    is_final: i64,
    revision: i64,
    released_at: Option<i64>,
    completed_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct FeedbackRow {
    #[sqlx(flatten)]
    prescription: ExerciseRow,
    sets_done: Option<i64>,
    reps_done: Option<i64>,
    load_used_centi: Option<i64>,
    rpe_half: Option<i64>,
    pain: i64,
    feedback_notes: String,
    duration_done_s: Option<i64>,
}

impl From<FeedbackRow> for Feedback {
    fn from(row: FeedbackRow) -> Feedback {
        Feedback {
            prescription: row.prescription.into(),
            sets_done: small(row.sets_done),
            reps_done: small(row.reps_done),
            load_used: from_centi(row.load_used_centi),
            rpe: from_halves(row.rpe_half),
            pain: row.pain != 0,
            notes: row.feedback_notes,
            duration_done_s: small(row.duration_done_s),
        }
    }
}

/// Ended sessions a dashboard lists (the newest).
pub const PAST_SESSIONS: usize = 50;

/// The dashboard for `user`: their sessions by status, and for athletes the
/// trainers they can start a session with.
#[tracing::instrument(name = "dashboard", skip_all, fields(user_id = user.id))]
pub async fn dashboard(db: &Database, user: &User) -> Result<Dashboard, AppError> {
    let column = match user.role {
        Role::Athlete => "s.athlete_id",
        Role::Trainer => "s.trainer_id",
    };
    // Open sessions in one list, ended ones in another: however many
    // sessions ended (a flood of start-and-cancel), the open ones show.
    // (Open ones are few by design: one per athlete-trainer pair.)
    let mut rows: Vec<SummaryRow> = sqlx::query_as(&format!(
        "{SUMMARY_SELECT} WHERE {column} = $1 AND s.status IN ('waiting', 'active') ORDER BY s.id DESC LIMIT 500"
    ))
    .bind(user.id)
    .fetch_all(&db.pool)
    .await?;
    rows.extend(
        sqlx::query_as::<_, SummaryRow>(&format!(
            "{SUMMARY_SELECT} WHERE {column} = $1 AND s.status IN ('completed', 'cancelled') ORDER BY s.id DESC LIMIT {PAST_SESSIONS}"
        ))
        .bind(user.id)
        .fetch_all(&db.pool)
        .await?,
    );
    let mut dashboard = Dashboard::default();
    let side = match user.role {
        Role::Athlete => Side::Athlete,
        Role::Trainer => Side::Trainer,
    };
    let unread: Vec<(i64, i64)> = sqlx::query_as(&format!(
        "SELECT m.session_id, COUNT(*) FROM messages m \
         JOIN training_sessions s ON s.id = m.session_id \
         WHERE {column} = $1 AND s.status IN ('waiting', 'active') AND m.side <> $2 \
         AND m.id > COALESCE((SELECT MAX(r.item_id) FROM receipts r WHERE r.session_id = m.session_id \
         AND r.side = $2 AND r.kind = 'messages'), 0) \
         GROUP BY m.session_id"
    ))
    .bind(user.id)
    .bind(side.as_str())
    .fetch_all(&db.pool)
    .await?;
    dashboard.unread = unread
        .into_iter()
        .map(|(session, count)| (session, u32::try_from(count).unwrap_or(u32::MAX)))
        .collect();
    for row in rows {
        let (summary, _) = row.summary()?;
        match summary.status {
            SessionStatus::Waiting => dashboard.waiting.push(summary),
            SessionStatus::Active => dashboard.active.push(summary),
            SessionStatus::Completed | SessionStatus::Cancelled => dashboard.past.push(summary),
        }
    }
    if user.role == Role::Athlete {
        let trainers: Vec<(i64, String)> =
            sqlx::query_as("SELECT id, display_name FROM users WHERE role = 'trainer' ORDER BY display_name, id LIMIT 500")
                .fetch_all(&db.pool)
                .await?;
        dashboard.trainers = trainers
            .into_iter()
            .map(|(id, name)| TrainerChoice { id, name })
            .collect();
    }
    Ok(dashboard)
}

/// A whole session as `user` sees it. Only participants may look (others
/// get `Forbidden`, unknown ids `NotFound`); athletes never see drafts.
#[tracing::instrument(name = "session_view", skip(db, user), fields(user_id = user.id))]
pub async fn session_view(
    db: &Database,
    user: &User,
    session_id: i64,
) -> Result<SessionView, AppError> {
    read_view(db, session_id, Viewer::User(user.id)).await
}

/// A whole session as `side` sees it, for a live connection's `snapshot`
/// frame (the caller checked who may look): `NotFound` if there is no
/// such session.
pub async fn snapshot(db: &Database, session_id: i64, side: Side) -> Result<SessionView, AppError> {
    read_view(db, session_id, Viewer::Side(side)).await
}

/// Who reads a view: a user (a participant, or refused), or a side the
/// caller already checked.
#[derive(Clone, Copy)]
enum Viewer {
    User(i64),
    Side(Side),
}

/// [`read_in_one_transaction`] in a task of its own: a caller that goes
/// away (a page closed mid-request, a live connection dropped while its
/// snapshot is read) must not cancel the transaction halfway, which would
/// put its connection back in the pool still inside it.
async fn read_view(
    db: &Database,
    session_id: i64,
    viewer: Viewer,
) -> Result<SessionView, AppError> {
    let db = db.clone();
    tokio::spawn(async move { read_in_one_transaction(&db, session_id, viewer).await })
        .await
        .unwrap_or_else(|error| {
            tracing::error!(%error, "the session view's read failed");
            Err(AppError::Internal)
        })
}

/// Reads the view in one read transaction (a snapshot on PostgreSQL too),
/// so `summary.last_seq` is exactly the position the rest reflects: a live
/// connection continues from it and no change falls between the two. For
/// the athlete that position is their last visible event's, so nothing
/// about drafts shows, not even how many changes they had.
async fn read_in_one_transaction(
    db: &Database,
    session_id: i64,
    viewer: Viewer,
) -> Result<SessionView, AppError> {
    let mut tx = db.pool.begin().await?;
    if db.backend == Backend::Postgres {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
    }
    let row: Option<SummaryRow> = sqlx::query_as(&format!("{SUMMARY_SELECT} WHERE s.id = $1"))
        .bind(session_id)
        .fetch_optional(&mut *tx)
        .await?;
    let (mut summary, session) = row.ok_or_else(no_such_session)?.summary()?;
    let viewer = match viewer {
        Viewer::User(user_id) => session.side_of(user_id)?,
        Viewer::Side(side) => side,
    };
    if viewer == Side::Athlete {
        summary.last_seq =
            events::last_shown(&mut tx, session_id, viewer, summary.last_seq).await?;
    }
    let rounds: Vec<RoundRowFull> = sqlx::query_as(
        "SELECT id, number, status, is_final, revision, released_at, completed_at FROM rounds \
         WHERE session_id = $1 ORDER BY number",
    )
    .bind(session_id)
    .fetch_all(&mut *tx)
    .await?;
    let exercises: Vec<ExerciseRow> = sqlx::query_as(&format!(
        "SELECT {EXERCISE_COLUMNS} FROM exercises e JOIN rounds r ON r.id = e.round_id \
         WHERE r.session_id = $1 ORDER BY e.round_id, e.position"
    ))
    .bind(session_id)
    .fetch_all(&mut *tx)
    .await?;
    let feedback: Vec<FeedbackRow> = sqlx::query_as(
        "SELECT f.round_id, f.exercise_name AS name, f.presc_sets AS sets, f.presc_reps AS reps, \
         f.presc_load_centi AS load_centi, f.presc_load_unit AS load_unit, f.presc_duration_s AS duration_s, \
         f.presc_rest_s AS rest_s, f.presc_notes AS notes, f.sets_done, f.reps_done, f.load_used_centi, \
         f.rpe_half, f.pain, f.notes AS feedback_notes, f.duration_done_s \
         FROM feedback f JOIN rounds r ON r.id = f.round_id WHERE r.session_id = $1 ORDER BY f.round_id, f.position",
    )
    .bind(session_id)
    .fetch_all(&mut *tx)
    .await?;
    let sets: Vec<SetRow> = sqlx::query_as(&format!(
        "SELECT {SET_COLUMNS} FROM set_logs l JOIN rounds r ON r.id = l.round_id \
         WHERE r.session_id = $1 ORDER BY l.round_id, l.position, l.set_number"
    ))
    .bind(session_id)
    .fetch_all(&mut *tx)
    .await?;
    let pain: Vec<PainRow> = sqlx::query_as(&format!(
        "SELECT {PAIN_COLUMNS} FROM pain_reports WHERE session_id = $1 ORDER BY id"
    ))
    .bind(session_id)
    .fetch_all(&mut *tx)
    .await?;
    let newest: Vec<MessageRow> = sqlx::query_as(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE session_id = $1 ORDER BY id DESC LIMIT $2"
    ))
    .bind(session_id)
    .bind(MESSAGES_SHOWN as i64)
    .fetch_all(&mut *tx)
    .await?;
    let receipts: Vec<ReceiptRow> = sqlx::query_as(RECEIPTS_SELECT)
        .bind(session_id)
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    let mut exercises = group_by_round(exercises, |e| e.round_id);
    let mut sets = group_by_round(sets, |s| s.round_id);
    let mut feedback = group_by_round(feedback, |f| f.prescription.round_id);
    let mut view = SessionView {
        summary,
        viewer,
        rounds: Vec::new(),
        now: now_ms(),
        pain: pain.into_iter().map(PainReport::from).collect(),
        messages: newest
            .into_iter()
            .rev()
            .filter_map(MessageRow::message)
            .collect(),
        reads: Reads::default(),
    };
    // Each kind's newest comes last.
    let mut opened = HashMap::new();
    for receipt in receipts {
        match (receipt.kind.as_str(), Side::parse(&receipt.side)) {
            ("messages", Some(side)) => {
                *view.reads.of_mut(side) = Some(Read {
                    message_id: receipt.item_id,
                    at: receipt.seen_at,
                })
            }
            ("round", Some(Side::Athlete)) => {
                opened.insert(
                    receipt.item_id,
                    Opened {
                        revision: receipt.revision,
                        at: receipt.seen_at,
                    },
                );
            }
            _ => {}
        }
    }
    for row in rounds {
        let status =
            RoundStatus::parse(&row.status).ok_or_else(|| corrupt("round status", &row.status))?;
        if !status.visible_to(viewer) {
            continue;
        }
        view.rounds.push(Round {
            id: row.id,
            number: row.number,
            status,
            is_final: row.is_final != 0,
            revision: row.revision,
            released_at: row.released_at,
            completed_at: row.completed_at,
            exercises: take(&mut exercises, row.id),
            feedback: take(&mut feedback, row.id),
            sets: take(&mut sets, row.id),
            opened: opened.get(&row.id).copied(),
        });
    }
    Ok(view)
}

/// How many names [`exercise_names`] suggests at most.
pub const EXERCISE_NAMES_MAX: i64 = 300;

/// The exercise names a trainer used in their rounds, most recently used
/// first, each once as typed (no case folding: "RDL" and "rdl" are both
/// the trainer's own spelling). Athletes build no rounds: none.
#[tracing::instrument(name = "exercise_names", skip_all, fields(user_id = user.id))]
pub async fn exercise_names(db: &Database, user: &User) -> Result<Vec<String>, AppError> {
    if user.role != Role::Trainer {
        return Ok(Vec::new());
    }
    let names: Vec<(String,)> = sqlx::query_as(
        "SELECT e.name FROM exercises e JOIN rounds r ON r.id = e.round_id \
         JOIN training_sessions s ON s.id = r.session_id WHERE s.trainer_id = $1 \
         GROUP BY e.name ORDER BY MAX(e.round_id) DESC, e.name LIMIT $2",
    )
    .bind(user.id)
    .bind(EXERCISE_NAMES_MAX)
    .fetch_all(&db.pool)
    .await?;
    Ok(names.into_iter().map(|(name,)| name).collect())
}

/// Every message of session `session_id`, oldest first (the caller checked
/// who may read them: the export, after [`session_view`]).
pub async fn all_messages(db: &Database, session_id: i64) -> Result<Vec<Message>, AppError> {
    messages_before(db, session_id, i64::MAX, i64::MAX).await
}

/// The newest `limit` messages of the session before message `before`,
/// oldest first.
async fn messages_before(
    db: &Database,
    session_id: i64,
    before: i64,
    limit: i64,
) -> Result<Vec<Message>, AppError> {
    let rows: Vec<MessageRow> = sqlx::query_as(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE session_id = $1 AND id < $2 \
         ORDER BY id DESC LIMIT $3"
    ))
    .bind(session_id)
    .bind(before)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .rev()
        .filter_map(MessageRow::message)
        .collect())
}

/// How many messages "Show older messages" loads at a time.
pub const OLDER_MESSAGES: i64 = MESSAGES_SHOWN as i64;

/// The [`OLDER_MESSAGES`] messages of the session's thread just before
/// message `before` (an id; 0 or less: before none, so nothing), oldest
/// first. Only participants may read them (others `Forbidden`, unknown ids
/// `NotFound`).
#[tracing::instrument(name = "older_messages", skip(db, user), fields(user_id = user.id))]
pub async fn older_messages(
    db: &Database,
    user: &User,
    session_id: i64,
    before: i64,
) -> Result<Vec<Message>, AppError> {
    must_take_part(db, user, session_id).await?;
    messages_before(db, session_id, before, OLDER_MESSAGES).await
}

/// The whole thread of the session, oldest first, for a participant (the
/// history page).
#[tracing::instrument(name = "thread", skip(db, user), fields(user_id = user.id))]
pub async fn thread(db: &Database, user: &User, session_id: i64) -> Result<Vec<Message>, AppError> {
    must_take_part(db, user, session_id).await?;
    all_messages(db, session_id).await
}

/// `NotFound` for no such session, `Forbidden` if `user` is not one of
/// its two participants.
async fn must_take_part(db: &Database, user: &User, session_id: i64) -> Result<(), AppError> {
    let participants: Option<(i64, i64)> =
        sqlx::query_as("SELECT athlete_id, trainer_id FROM training_sessions WHERE id = $1")
            .bind(session_id)
            .fetch_optional(&db.pool)
            .await?;
    let (athlete_id, trainer_id) = participants.ok_or_else(no_such_session)?;
    if user.id != athlete_id && user.id != trainer_id {
        return Err(AppError::Forbidden(
            "This session belongs to someone else".into(),
        ));
    }
    Ok(())
}

/// Rows grouped by their round, keeping their order.
fn group_by_round<R>(rows: Vec<R>, round: impl Fn(&R) -> i64) -> HashMap<i64, Vec<R>> {
    let mut groups: HashMap<i64, Vec<R>> = HashMap::new();
    for row in rows {
        groups.entry(round(&row)).or_default().push(row);
    }
    groups
}

/// One round's rows, converted.
fn take<R, T: From<R>>(groups: &mut HashMap<i64, Vec<R>>, round_id: i64) -> Vec<T> {
    groups
        .remove(&round_id)
        .unwrap_or_default()
        .into_iter()
        .map(T::from)
        .collect()
}
