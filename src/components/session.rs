//! Pieces both session pages use: the header with status, a round's
//! exercises, the feedback next to the prescription, the cancel form, and
//! the page shown when a session cannot be shown.

use crate::components::field::IdempotencyKey;
use crate::{
    api::sessions::CancelSession,
    components::field::Field,
    components::forms::{field_error, general_error},
    error::AppError,
    model::{format_number, PainReport, Round, SessionStatus, SessionSummary, Side},
};
use leptos::prelude::*;
use leptos_router::components::A;

/// "Session with Tina", status badge, and why it ended if it did.
#[component]
pub fn SessionHeader(summary: SessionSummary, viewer: Side) -> impl IntoView {
    let other = match viewer {
        Side::Athlete => summary.trainer_name.clone(),
        Side::Trainer => summary.athlete_name.clone(),
    };
    let status = summary.status;
    let ended = match summary.status {
        SessionStatus::Cancelled => summary.cancel_notice(viewer),
        SessionStatus::Completed => {
            Some("The final round is done: this session is completed.".to_string())
        }
        _ => None,
    };
    view! {
        <header class="session-header">
            <h1>{format!("Session with {other}")}</h1>
            <span class=format!("status status-{}", status.as_str()) data-testid="session-status">
                {status.label()}
            </span>
        </header>
        {ended.map(|text| view! { <p class="notice" data-testid="session-ended">{text}</p> })}
    }
}

/// What a page shows under each exercise of a list (its index): the
/// athlete's set rows, the trainer's progress.
pub type UnderEach = std::sync::Arc<dyn Fn(usize) -> AnyView + Send + Sync>;

/// A round's exercises as prescribed, with `under` each if given.
#[component]
pub fn ExerciseList(round: Round, #[prop(optional)] under: Option<UnderEach>) -> impl IntoView {
    view! {
        <ol class="exercises">
            {round
                .exercises
                .into_iter()
                .enumerate()
                .map(|(index, exercise)| {
                    let summary = exercise.summary();
                    let notes = (!exercise.notes.is_empty()).then(|| exercise.notes.clone());
                    let below = under.as_ref().map(|under| under(index));
                    view! {
                        <li class="exercise">
                            <strong class="exercise-name">{exercise.name}</strong>
                            <span class="prescription">{summary}</span>
                            {notes.map(|n| view! { <p class="trainer-notes">{n}</p> })}
                            {below}
                        </li>
                    }
                })
                .collect_view()}
        </ol>
    }
}

/// A completed round: each exercise's prescription (as it stood when the
/// athlete reported) next to what the athlete did, and the pain reported
/// in it (from `pain`: the session's reports; this round's are shown).
#[component]
pub fn CompletedRound(round: Round, #[prop(optional)] pain: Vec<PainReport>) -> impl IntoView {
    let title = format!(
        "Round {}{}",
        round.number,
        if round.is_final { " (final)" } else { "" }
    );
    view! {
        <section class="card round completed-round" data-testid=format!("completed-round-{}", round.number)>
            <h3>{title}</h3>
            <div class="table-wrap">
                // Roles spelled out: on a phone the rows are laid out as
                // cards (CSS display: block), which some screen readers
                // take as the table no longer being one.
                <table class="feedback" role="table">
                    <thead role="rowgroup">
                        <tr role="row">
                            <th scope="col" role="columnheader">"Exercise"</th>
                            <th scope="col" role="columnheader">"Prescribed"</th>
                            <th scope="col" role="columnheader">"Done"</th>
                            <th scope="col" role="columnheader">"RPE"</th>
                            <th scope="col" role="columnheader">"Pain"</th>
                            <th scope="col" role="columnheader">"Notes"</th>
                        </tr>
                    </thead>
                    <tbody role="rowgroup">
                        {round
                            .feedback
                            .iter()
                            .enumerate()
                            .map(|(index, fb)| {
                                let rpe = fb.rpe.map(format_number).unwrap_or_else(|| "—".into());
                                // The sets as they were logged, in order.
                                let sets: Vec<String> = round
                                    .sets
                                    .iter()
                                    .filter(|s| s.exercise as usize == index)
                                    .map(|s| format!("{}: {}", s.set, s.actual()))
                                    .collect();
                                // Logged sets are what was done: the
                                // feedback's one-line summary only where
                                // none were logged (no "3 × 5 · 100 kg"
                                // above sets that say otherwise).
                                let done = if sets.is_empty() {
                                    view! { {fb.done()} }.into_any()
                                } else {
                                    view! {
                                        <span class="sets-done" data-testid="sets-done">{format!("Sets {}", sets.join("; "))}</span>
                                    }
                                    .into_any()
                                };
                                // Each report about this exercise, with
                                // its set and note; else the form's box.
                                let reports: Vec<String> = pain
                                    .iter()
                                    .filter(|p| p.round == round.number && p.exercise as usize == index)
                                    .map(|p| match p.detail() {
                                        detail if detail.is_empty() => "⚠ yes".to_string(),
                                        detail => format!("⚠ {detail}"),
                                    })
                                    .collect();
                                let hurt = fb.pain || !reports.is_empty();
                                let pain_text = match (reports.is_empty(), fb.pain) {
                                    (false, _) => reports.join("; "),
                                    (true, true) => "⚠ yes".to_string(),
                                    (true, false) => "no".to_string(),
                                };
                                view! {
                                    <tr class:pain=hurt role="row">
                                        <th scope="row" role="rowheader">{fb.prescription.name.clone()}</th>
                                        <td data-label="Prescribed" role="cell">{fb.prescription.summary()}</td>
                                        <td data-label="Done" role="cell">{done}</td>
                                        <td data-label="RPE" role="cell">{rpe}</td>
                                        <td data-label="Pain" role="cell" data-testid="pain-cell">{pain_text}</td>
                                        <td data-label="Notes" role="cell">{fb.notes.clone()}</td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}

/// Ends the session early; the reason is optional.
#[component]
pub fn CancelForm(session_id: i64, action: ServerAction<CancelSession>) -> impl IntoView {
    let reason_error = field_error(action.into(), "reason");
    view! {
        <details class="card cancel">
            <summary>"Cancel this session"</summary>
            <ActionForm action=action>
                <IdempotencyKey renew=crate::components::forms::successes(action.into())/>
                <input type="hidden" name="session_id" value=session_id/>
                <Field label="Reason (optional)" name="reason" maxlength=crate::model::NOTES_MAX_CHARS error=reason_error/>
                <p class="form-error" role="alert">{move || general_error(action.into()).get()}</p>
                <button type="submit" class="danger" disabled=move || action.pending().get()>"Cancel session"</button>
            </ActionForm>
        </details>
    }
}

/// What to show when a session cannot be shown: not found, not yours, or
/// not your side's page. Sets the matching HTTP status on the server.
#[component]
pub fn SessionError(error: AppError) -> impl IntoView {
    set_page_status(error.status());
    let (title, text) = match &error {
        AppError::Forbidden(message) => ("Not your session", message.clone()),
        AppError::NotFound(message) => ("Session not found", message.clone()),
        other => ("Something went wrong", other.to_string()),
    };
    view! {
        <section class="card narrow" data-testid="session-error">
            <h1>{title}</h1>
            <p>{text}</p>
            <p><A href="/dashboard">"Back to your dashboard"</A></p>
        </section>
    }
}

/// The page for the other side of the session, when someone opens the wrong one.
#[component]
pub fn WrongSide(viewer: Side, session_id: i64) -> impl IntoView {
    set_page_status(403);
    let (text, href) = match viewer {
        Side::Athlete => (
            "This page is for the session's trainer.",
            format!("/sessions/{session_id}"),
        ),
        Side::Trainer => (
            "This page is for the session's athlete.",
            format!("/sessions/{session_id}/trainer"),
        ),
    };
    view! {
        <section class="card narrow" data-testid="session-error">
            <h1>"Not your side of the session"</h1>
            <p>{text}</p>
            <p><A href=href>"Go to your view of this session"</A></p>
        </section>
    }
}

/// Sets the HTTP status of a page rendered on the server (no-op in the
/// browser).
fn set_page_status(_status: u16) {
    #[cfg(feature = "ssr")]
    if let (Some(response), Ok(status)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        axum::http::StatusCode::from_u16(_status),
    ) {
        response.set_status(status);
    }
}
