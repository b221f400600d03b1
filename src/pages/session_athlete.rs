//! `/sessions/:id`: the athlete's view, made for a phone: the released
//! round with a feedback form, completed rounds with what was reported, and
//! the session's status.

use super::{field_error, general_error, successes};
use crate::{
    api::{
        rounds::CompleteRound,
        sessions::{load_session, CancelSession},
    },
    components::{
        field::{field_id, Drafts, Field},
        live_indicator::LiveIndicator,
        require_user::RequireUser,
        session::{
            CancelForm, CompletedRound, ExerciseList, SessionError, SessionHeader, WrongSide,
        },
    },
    live::use_session_live,
    model::{
        feedback_field, Round, SessionStatus, SessionView, Side, LOAD_MAX, NOTES_MAX_CHARS,
        REPS_MAX, RPE_MAX, SETS_MAX,
    },
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_params_map};

/// The session id from the URL (0, which matches nothing, if malformed).
pub(crate) fn session_id_param() -> Memo<i64> {
    let params = use_params_map();
    Memo::new(move |_| {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse().ok())
            .unwrap_or(0)
    })
}

/// The athlete's session page.
#[component]
pub fn AthleteSessionPage() -> impl IntoView {
    view! {
        <Title text="Session · spotter"/>
        <RequireUser children=|_user| view! { <AthleteSession/> }/>
    }
}

#[component]
fn AthleteSession() -> impl IntoView {
    let id = session_id_param();
    let complete = ServerAction::<CompleteRound>::new();
    let cancel = ServerAction::<CancelSession>::new();
    let completed = successes(complete.into());
    let live = use_session_live(id.get_untracked(), Side::Athlete);
    let session = Resource::new(
        move || (id.get(), completed.get(), live.changes.get()),
        |(id, ..)| load_session(id),
    );
    let trainer_name = RwSignal::new(String::new());
    let drafts = Drafts::new();
    Effect::new(move |_| {
        if let Some(Ok(view)) = session.get() {
            trainer_name.set(view.summary.trainer_name.clone());
            live.seen(view.summary.last_seq);
        }
    });
    view! {
        <LiveIndicator live viewer=Side::Athlete other_name=trainer_name.into()/>
        <Suspense fallback=|| view! { <p class="loading">"Loading the session…"</p> }>
            {move || Suspend::new(async move {
                match session.await {
                    Err(error) => view! { <SessionError error/> }.into_any(),
                    Ok(view) if view.viewer != Side::Athlete => {
                        view! { <WrongSide viewer=view.viewer session_id=view.summary.id/> }.into_any()
                    }
                    Ok(view) => view! { <AthleteView view complete cancel drafts/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn AthleteView(
    view: SessionView,
    complete: ServerAction<CompleteRound>,
    cancel: ServerAction<CancelSession>,
    drafts: Drafts,
) -> impl IntoView {
    let session_id = view.summary.id;
    let status = view.summary.status;
    let trainer = view.summary.trainer_name.clone();
    let released = view.released_round().cloned();
    let completed: Vec<Round> = view.completed_rounds().rev().cloned().collect();
    let announcement = match (status, &released) {
        (SessionStatus::Waiting, _) => format!("Waiting for {trainer} to join"),
        (SessionStatus::Active, Some(round)) => format!("Round {} is ready", round.number),
        (SessionStatus::Active, None) => format!("{trainer} is preparing the next round"),
        (SessionStatus::Completed, _) => "Session completed".to_string(),
        (SessionStatus::Cancelled, _) => "Session cancelled".to_string(),
    };
    view! {
        <div class="session athlete-session">
            <SessionHeader summary=view.summary.clone() viewer=Side::Athlete/>
            <p class="live-status" role="status" aria-live="polite" data-testid="announcement">{announcement.clone()}</p>
            {match (status, released) {
                (SessionStatus::Active, Some(round)) => view! { <ReleasedRound session_id round action=complete drafts/> }.into_any(),
                (SessionStatus::Active, None) | (SessionStatus::Waiting, _) => view! {
                    <section class="card waiting"><p>{announcement}". It appears here the moment it is released."</p></section>
                }
                .into_any(),
                _ => view! {
                    <p><A href=format!("/sessions/{session_id}/history")>"See the whole session"</A></p>
                }
                .into_any(),
            }}
            {(!completed.is_empty()).then(|| view! {
                <h2>"Done so far"</h2>
                {completed.into_iter().map(|round| view! { <CompletedRound round/> }).collect_view()}
            })}
            {(!status.has_ended()).then(|| view! { <CancelForm session_id action=cancel/> })}
        </div>
    }
}

/// The round the athlete is doing, and the form to report on it.
#[component]
fn ReleasedRound(
    session_id: i64,
    round: Round,
    action: ServerAction<CompleteRound>,
    drafts: Drafts,
) -> impl IntoView {
    // What the athlete typed survives the trainer's edits (which re-render
    // this form); a new round starts clean.
    let scope = format!("{}:", round.id);
    let title = format!(
        "Round {}{}",
        round.number,
        if round.is_final {
            " · final round"
        } else {
            ""
        }
    );
    let exercises = round.exercises.clone();
    let err = move |field: String| field_error(action.into(), field);
    view! {
        <section class="card round released-round" data-testid="released-round">
            <h2>{title}</h2>
            <ExerciseList round=round.clone()/>
            <ActionForm action=action>
                <input type="hidden" name="session_id" value=session_id/>
                <input type="hidden" name="round_id" value=round.id/>
                <input type="hidden" name="revision" value=round.revision/>
                <h3>"How did it go?"</h3>
                {exercises
                    .into_iter()
                    .enumerate()
                    .map(|(i, exercise)| {
                        let f = move |name: &str| feedback_field(i, name);
                        let pain_id = field_id(&f("pain"));
                        let notes_id = field_id(&f("notes"));
                        let pain_key = format!("{scope}{}", f("pain"));
                        let notes_key = format!("{scope}{}", f("notes"));
                        let pain_checked = drafts.value(&pain_key, String::new()) == "on";
                        let notes_text = drafts.value(&notes_key, String::new());
                        view! {
                            <fieldset class="feedback-row" data-testid=format!("feedback-{i}")>
                                <legend>{exercise.name.clone()}</legend>
                                <div class="row-grid">
                                    <Field label="Sets done" name=f("sets_done") kind="number" value=exercise.sets.map(|n| n.to_string()).unwrap_or_default() range=(0.0, f64::from(SETS_MAX), 1.0) error=err(f("sets_done")) drafts=(drafts, scope.clone())/>
                                    <Field label="Reps done" name=f("reps_done") kind="number" value=exercise.reps.map(|n| n.to_string()).unwrap_or_default() range=(0.0, f64::from(REPS_MAX), 1.0) error=err(f("reps_done")) drafts=(drafts, scope.clone())/>
                                    <Field label="Load used" name=f("load_used") kind="number" value=exercise.load.map(crate::model::format_number).unwrap_or_default() range=(0.0, LOAD_MAX, 0.25) error=err(f("load_used")) drafts=(drafts, scope.clone())/>
                                    <Field label="RPE (0–10)" name=f("rpe") kind="number" range=(0.0, RPE_MAX, 0.5) error=err(f("rpe")) drafts=(drafts, scope.clone())/>
                                </div>
                                <label class="checkbox" for=pain_id.clone()>
                                    <input
                                        id=pain_id.clone()
                                        type="checkbox"
                                        name=f("pain")
                                        value="on"
                                        checked=pain_checked
                                        on:change=move |ev| drafts.set(pain_key.clone(), if event_target_checked(&ev) { "on".into() } else { String::new() })
                                    />
                                    " Pain or discomfort"
                                </label>
                                <div class="field">
                                    <label for=notes_id.clone()>"Notes for your trainer"</label>
                                    <textarea
                                        id=notes_id
                                        name=f("notes")
                                        maxlength=NOTES_MAX_CHARS
                                        rows="2"
                                        on:input=move |ev| drafts.set(notes_key.clone(), event_target_value(&ev))
                                    >{notes_text}</textarea>
                                    <p class="field-error" role="alert">{move || err(f("notes")).get()}</p>
                                </div>
                            </fieldset>
                        }
                    })
                    .collect_view()}
                <p class="form-error" role="alert">{move || general_error(action.into()).get()}</p>
                <p class="field-error" role="alert">{move || err("feedback".to_string()).get()}</p>
                <button type="submit" class="wide" disabled=move || action.pending().get()>"Send feedback and finish the round"</button>
            </ActionForm>
        </section>
    }
}
