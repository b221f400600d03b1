//! `GET /sessions/{id}/export.csv`: a session's work as a spreadsheet, one
//! row per set (the way Strong and Hevy export), for either participant.
//! An exercise finished without logged sets is one row with the feedback's
//! numbers, so nothing the athlete reported is left out.

use crate::{
    error::AppError,
    model::{
        format_number, Exercise, Feedback, LoggedSet, Message, PainReport, RoundStatus,
        SessionView, Side,
    },
    server::{auth::CurrentUser, state::AppState, training},
};
use axum::{
    extract::{Path, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Extension, Router,
};

/// The export routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sessions/{id}/export.csv", get(session_csv))
        .route("/sessions/{id}/messages.csv", get(messages_csv))
}

/// Which file of a session.
#[derive(Clone, Copy)]
enum File {
    /// One row per set (`export.csv`).
    Sets,
    /// The whole thread, one row per message, oldest first
    /// (`messages.csv`): a file of its own, a message is not a set and
    /// the sets file keeps one row per set.
    Messages,
}

async fn session_csv(
    state: State<AppState>,
    id: Path<i64>,
    user: Extension<CurrentUser>,
) -> Response {
    download(state, id, user, File::Sets).await
}

async fn messages_csv(
    state: State<AppState>,
    id: Path<i64>,
    user: Extension<CurrentUser>,
) -> Response {
    download(state, id, user, File::Messages).await
}

/// `file` of session `session_id`, for either participant.
async fn download(
    State(state): State<AppState>,
    Path(session_id): Path<i64>,
    Extension(CurrentUser(user)): Extension<CurrentUser>,
    file: File,
) -> Response {
    let Some(user) = user else {
        return (StatusCode::UNAUTHORIZED, "Log in to export this session").into_response();
    };
    let written = match training::session_view(&state.db, &user, session_id).await {
        Ok(view) => match file {
            File::Sets => Ok(csv_of(&view)),
            File::Messages => training::all_messages(&state.db, session_id)
                .await
                .map(|messages| messages_csv_of(&view, &messages)),
        },
        Err(error) => Err(error),
    };
    let name = match file {
        File::Sets => format!("spotter-session-{session_id}.csv"),
        File::Messages => format!("spotter-session-{session_id}-messages.csv"),
    };
    attachment(written, name)
}

/// A CSV file to download, or the error that kept it from being written.
fn attachment(written: Result<Result<String, csv::Error>, AppError>, filename: String) -> Response {
    match written {
        Ok(Ok(body)) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{filename}\""),
                ),
                (header::CACHE_CONTROL, "private, no-cache".to_string()),
            ],
            body,
        )
            .into_response(),
        Ok(Err(error)) => {
            tracing::error!(%error, "cannot write the CSV");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
        Err(error) => {
            let status =
                StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, error.to_string()).into_response()
        }
    }
}

/// The header row of the messages file.
pub const MESSAGE_COLUMNS: [&str; 5] = ["sent_at", "session", "from", "name", "message"];

/// The thread as CSV: when (UTC), the session, which side, who, what.
pub fn messages_csv_of(view: &SessionView, messages: &[Message]) -> Result<String, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(MESSAGE_COLUMNS)?;
    let session = view.summary.id.to_string();
    for message in messages {
        let name = match message.by {
            Side::Athlete => &view.summary.athlete_name,
            Side::Trainer => &view.summary.trainer_name,
        };
        out.write_record([
            moment(message.sent_at),
            session.clone(),
            message.by.as_str().to_string(),
            text(name),
            text(&message.body),
        ])?;
    }
    let bytes = out.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The header row.
pub const COLUMNS: [&str; 18] = [
    "date",
    "session",
    "round",
    "exercise",
    "set",
    "prescribed_sets",
    "prescribed_reps",
    "prescribed_load",
    "unit",
    "prescribed_duration_s",
    "prescribed_rest_s",
    "reps",
    "load",
    "duration_s",
    "rpe",
    "pain",
    "pain_note",
    "notes",
];

/// The session's rows: every round the athlete had (drafts never), in
/// order; each exercise's logged sets, or its feedback when none was
/// logged.
pub fn csv_of(view: &SessionView) -> Result<String, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(COLUMNS)?;
    let session = view.summary.id.to_string();
    for round in view
        .rounds
        .iter()
        .filter(|r| r.status != RoundStatus::Draft)
    {
        for (index, exercise) in round.exercises.iter().enumerate() {
            let feedback = round.feedback.get(index);
            // What was prescribed when it was reported, else as it stands.
            let prescription = feedback.map_or(exercise, |f| &f.prescription);
            let sets: Vec<&LoggedSet> = round
                .sets
                .iter()
                .filter(|s| s.exercise as usize == index)
                .collect();
            let pain_in = |set: Option<u32>| {
                view.pain
                    .iter()
                    .filter(|p| {
                        p.round == round.number
                            && p.exercise as usize == index
                            && (p.set.is_none() || p.set == set)
                    })
                    .collect::<Vec<&PainReport>>()
            };
            let notes = feedback.map(|f| f.notes.clone()).unwrap_or_default();
            if sets.is_empty() {
                let Some(fb) = feedback else { continue };
                let reports = pain_in(None);
                let at = round.completed_at.unwrap_or(view.now);
                out.write_record(row(
                    at,
                    &session,
                    round.number,
                    prescription,
                    "",
                    Actual::from_feedback(fb),
                    fb.pain || !reports.is_empty(),
                    &reports,
                    &notes,
                ))?;
                continue;
            }
            for set in sets {
                let reports = pain_in(Some(set.set));
                let actual = Actual {
                    reps: set.reps,
                    load: set.load,
                    duration_s: set.duration_s,
                    rpe: set.rpe,
                };
                let pain = feedback.is_some_and(|f| f.pain) || !reports.is_empty();
                out.write_record(row(
                    set.logged_at,
                    &session,
                    round.number,
                    &Exercise {
                        name: set.name.clone(),
                        sets: set.target_sets,
                        reps: set.target_reps,
                        load: set.target_load,
                        load_unit: set.unit,
                        duration_s: set.target_duration_s.or(prescription.duration_s),
                        rest_s: set.rest_s,
                        notes: String::new(),
                    },
                    &set.set.to_string(),
                    actual,
                    pain,
                    &reports,
                    &notes,
                ))?;
            }
        }
    }
    let bytes = out.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// What was done, per set or per exercise.
#[derive(Clone, Copy)]
struct Actual {
    reps: Option<u32>,
    load: Option<f64>,
    duration_s: Option<u32>,
    rpe: Option<f64>,
}

impl Actual {
    fn from_feedback(fb: &Feedback) -> Actual {
        Actual {
            reps: fb.reps_done,
            load: fb.load_used,
            duration_s: fb.duration_done_s,
            rpe: fb.rpe,
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn row(
    at: i64,
    session: &str,
    round: i64,
    prescription: &Exercise,
    set: &str,
    actual: Actual,
    pain: bool,
    reports: &[&PainReport],
    notes: &str,
) -> Vec<String> {
    let whole = |n: Option<u32>| n.map(|n| n.to_string()).unwrap_or_default();
    let decimal = |n: Option<f64>| n.map(format_number).unwrap_or_default();
    let pain_note = reports
        .iter()
        .map(|r| r.note.as_str())
        .filter(|n| !n.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    vec![
        date(at),
        session.to_string(),
        round.to_string(),
        text(&prescription.name),
        set.to_string(),
        whole(prescription.sets),
        whole(prescription.reps),
        decimal(prescription.load),
        prescription
            .load_unit
            .map(|u| u.as_str().to_string())
            .unwrap_or_default(),
        whole(prescription.duration_s),
        whole(prescription.rest_s),
        whole(actual.reps),
        decimal(actual.load),
        whole(actual.duration_s),
        decimal(actual.rpe),
        if pain { "yes" } else { "no" }.to_string(),
        text(&pain_note),
        text(notes),
    ]
}

/// Text typed by someone, made safe to open in a spreadsheet: a cell that
/// starts like a formula (`=`, `+`, `-`, `@`, tab, return) is prefixed
/// with `'`, so it is shown, never run. (The `csv` writer quotes commas,
/// quotes and line breaks.)
fn text(value: &str) -> String {
    match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{value}"),
        _ => value.to_string(),
    }
}

/// `2026-11-27T14:05:09Z` (UTC).
fn moment(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|at| {
            at.format(time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
            ))
            .ok()
        })
        .unwrap_or_default()
}

/// `2026-11-27` (UTC).
fn date(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|at| {
            at.format(time::macros::format_description!("[year]-[month]-[day]"))
                .ok()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_shown_never_run_and_dates_are_utc_days() {
        assert_eq!(text("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(text("-1 rep"), "'-1 rep");
        assert_eq!(text("Back squat"), "Back squat");
        assert_eq!(date(1_795_000_000_000), "2026-11-18");
        assert_eq!(moment(1_795_000_000_000), "2026-11-18T11:06:40Z");
    }
}
