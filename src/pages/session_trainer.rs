//! `/sessions/:id/trainer`: the trainer's view, made for a laptop: join,
//! the round builder, the released round and its status, each completed
//! round with the athlete's feedback next to the prescription, cancel.

use super::{general_error, session_athlete::session_id_param, settled_changes, successes};
use crate::components::field::IdempotencyKey;
use crate::{
    api::{
        pain::AcknowledgePain,
        rounds::{DeleteRound, SaveRound},
        sessions::{exercise_names, load_session, CancelSession, JoinSession},
    },
    components::{
        field::Drafts,
        live_indicator::LiveIndicator,
        require_user::RequireUser,
        round_builder::{ExerciseNameList, RoundBuilder, NEW_ROUND_SCOPE},
        session::{
            CancelForm, CompletedRound, ExerciseList, SessionError, SessionHeader, UnderEach,
            WrongSide,
        },
        sets::{CurrentActivity, RestTimer, SetProgress},
    },
    live::use_session_live,
    model::{
        exercise_field, ExerciseInput, LastDone, PainReport, Round, SessionStatus, SessionView,
        Side,
    },
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

/// Every mutation the trainer's page can make.
#[derive(Clone, Copy)]
struct TrainerActions {
    join: ServerAction<JoinSession>,
    /// Saves (and releases) the next round.
    save: ServerAction<SaveRound>,
    /// Saves changes to the released round (its own action, so its errors
    /// show in its own form).
    edit: ServerAction<SaveRound>,
    delete: ServerAction<DeleteRound>,
    cancel: ServerAction<CancelSession>,
    acknowledge: ServerAction<AcknowledgePain>,
    /// Makes a completed round's copy the next draft ("Repeat round n").
    repeat: ServerAction<SaveRound>,
    /// What the trainer typed into a builder, kept across re-renders.
    drafts: Drafts,
    /// Whether the released round's editor (rather than the next round's
    /// form) is the open one.
    editing: RwSignal<bool>,
}

/// The trainer's session page.
#[component]
pub fn TrainerSessionPage() -> impl IntoView {
    view! {
        <Title text="Coaching · spotter"/>
        <RequireUser children=|_user| view! { <TrainerSession/> }/>
    }
}

#[component]
fn TrainerSession() -> impl IntoView {
    let id = session_id_param();
    let actions = TrainerActions {
        join: ServerAction::new(),
        save: ServerAction::new(),
        edit: ServerAction::new(),
        delete: ServerAction::new(),
        cancel: ServerAction::new(),
        acknowledge: ServerAction::new(),
        repeat: ServerAction::new(),
        // Kept on this computer as typed, restored after a reload.
        drafts: Drafts::persisted(format!("spotter.draft.{}.trainer", id.get_untracked())),
        editing: RwSignal::new(false),
    };
    let changes = (
        successes(actions.join.into()),
        successes(actions.save.into()),
        successes(actions.edit.into()),
        successes(actions.delete.into()),
        successes(actions.acknowledge.into()),
        successes(actions.repeat.into()),
    );
    let live = use_session_live(id.get_untracked(), Side::Trainer);
    let busy = Signal::derive(move || {
        actions.join.pending().get()
            || actions.save.pending().get()
            || actions.edit.pending().get()
            || actions.delete.pending().get()
            || actions.cancel.pending().get()
            || actions.acknowledge.pending().get()
            || actions.repeat.pending().get()
    });
    let live_changes = settled_changes(live.changes, busy);
    let session = Resource::new(
        move || {
            (
                id.get(),
                changes.0.get(),
                changes.1.get(),
                changes.2.get(),
                changes.3.get(),
                changes.4.get(),
                changes.5.get(),
                live_changes.get(),
            )
        },
        |(id, ..)| load_session(id),
    );
    // A saved builder shows what the server stored: what was typed into
    // that form is done (only that form's: the other keeps its text).
    // (What was typed into it while the request was on its way stays.)
    Effect::new(move |_| {
        if let Some(Ok(round_id)) = actions.save.value().get() {
            actions.drafts.accepted(NEW_ROUND_SCOPE);
            actions.drafts.accepted(&format!("{round_id}:"));
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(round_id)) = actions.edit.value().get() {
            actions.drafts.accepted(&format!("{round_id}:"));
        }
    });
    // The names this trainer used before, suggested by the builders; asked
    // again after a save (a new name joins them).
    let names = Resource::new(
        move || (changes.1.get(), changes.2.get()),
        |_| exercise_names(),
    );
    let athlete_name = RwSignal::new(String::new());
    Effect::new(move |_| {
        if let Some(Ok(view)) = session.get() {
            athlete_name.set(view.summary.athlete_name.clone());
            live.seen(view.summary.last_seq);
        }
    });
    view! {
        <LiveIndicator live viewer=Side::Trainer other_name=athlete_name.into()/>
        <ExerciseNameList names/>
        <Suspense fallback=|| view! { <p class="loading">"Loading the session…"</p> }>
            {move || Suspend::new(async move {
                match session.await {
                    Err(error) => view! { <SessionError error/> }.into_any(),
                    Ok(view) if view.viewer != Side::Trainer => {
                        view! { <WrongSide viewer=view.viewer session_id=view.summary.id/> }.into_any()
                    }
                    Ok(view) => view! { <TrainerView view actions/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn TrainerView(view: SessionView, actions: TrainerActions) -> impl IntoView {
    let session_id = view.summary.id;
    let status = view.summary.status;
    let athlete = view.summary.athlete_name.clone();
    let released = view.released_round().cloned();
    let draft = view.draft_round().cloned();
    let completed: Vec<Round> = view.completed_rounds().rev().cloned().collect();
    let latest_feedback = completed.first().map(|r| r.number);
    let announcement = match (status, &released, latest_feedback) {
        (SessionStatus::Waiting, ..) => format!("{athlete} is waiting for you to join"),
        (SessionStatus::Active, Some(round), _) => {
            format!("Round {} is with {athlete}", round.number)
        }
        (SessionStatus::Active, None, Some(n)) => {
            format!("{athlete} finished round {n}: feedback on the right")
        }
        (SessionStatus::Active, None, None) => "Build the first round and release it".to_string(),
        (SessionStatus::Completed, ..) => "Session completed".to_string(),
        (SessionStatus::Cancelled, ..) => "Session cancelled".to_string(),
    };
    let active = status == SessionStatus::Active;
    // The server's rule, asked the same way: another open round blocks it.
    let can_release = crate::model::rules::release_possible(released.as_ref().map(|r| r.number));
    if can_release && actions.editing.get_untracked() {
        // The edited round is done or gone: back to the next round.
        actions.editing.set(false);
    }
    let next_number = view.rounds.iter().map(|r| r.number).max().unwrap_or(0) + 1;
    let pain: Vec<PainReport> = view.unacknowledged_pain().cloned().collect();
    let last_done = std::sync::Arc::new(LastDone::from_rounds(&view.rounds));
    view! {
        <div class="session trainer-session">
            <SessionHeader summary=view.summary.clone() viewer=Side::Trainer/>
            <PainAlerts reports=pain session_id now=view.now athlete=athlete.clone() action=actions.acknowledge/>
            <p class="live-status" role="status" aria-live="polite" data-testid="announcement">{announcement}</p>
            {(status == SessionStatus::Waiting).then(|| view! {
                <section class="card">
                    <p>{format!("{athlete} started this session and is waiting for you.")}</p>
                    <ActionForm action=actions.join>
                        <IdempotencyKey renew=crate::pages::successes(actions.join.into())/>
                        <input type="hidden" name="session_id" value=session_id/>
                        <p class="form-error" role="alert">{move || general_error(actions.join.into()).get()}</p>
                        <button type="submit" disabled=move || actions.join.pending().get()>"Join session"</button>
                    </ActionForm>
                </section>
            })}
            <div class="desk" class:desk-active=active>
                {active.then(|| view! {
                    // The round being built, or the released one being
                    // edited: one form open at a time (an exclusive pair of
                    // disclosures, which works without JavaScript too).
                    <div class="desk-build">
                        {released.clone().map(|round| view! {
                            <RoundBuilder session_id round=Some(round) action=actions.edit drafts=actions.drafts editing=actions.editing is_editor=true last_done=last_done.clone()/>
                        })}
                        {match draft.clone() {
                            Some(round) => view! { <DraftPanel session_id round actions can_release last_done=last_done.clone()/> }.into_any(),
                            None => view! {
                                <RoundBuilder session_id round=None action=actions.save drafts=actions.drafts editing=actions.editing release_number=can_release.then_some(next_number) last_done=last_done.clone()/>
                            }
                            .into_any(),
                        }}
                    </div>
                })}
                <section class="desk-athlete" aria-labelledby="athlete-side">
                    <h2 id="athlete-side" class="visually-hidden">{format!("{athlete}'s side")}</h2>
                    {released.clone().map(|round| view! { <ReleasedRoundPanel session_id round now=view.now actions/> })}
                    {status.has_ended().then(|| view! {
                        <p><A href=format!("/sessions/{session_id}/history")>"See the whole session"</A></p>
                    })}
                    {if completed.is_empty() {
                        active.then(|| view! { <p class="empty card">{format!("{athlete}'s feedback shows here as it arrives.")}</p> }).into_any()
                    } else {
                        view! {
                            <h2>"Feedback"</h2>
                            {completed.into_iter().map(|round| {
                                // Only while there is no draft: the copy
                                // becomes the next round's draft.
                                let repeat = (active && draft.is_none()).then(|| view! {
                                    <RepeatRound session_id round=round.clone() next=next_number action=actions.repeat/>
                                });
                                view! { <CompletedRound round/> {repeat} }
                            }).collect_view()}
                            <p class="form-error" role="alert">{move || general_error(actions.repeat.into()).get()}</p>
                        }
                        .into_any()
                    }}
                </section>
            </div>
            {(!status.has_ended()).then(|| view! { <CancelForm session_id action=actions.cancel/> })}
        </div>
    }
}

/// The round the athlete has now: what they see, and delete it (editing it
/// is on the builder's side).
#[component]
fn ReleasedRoundPanel(
    session_id: i64,
    round: Round,
    now: i64,
    actions: TrainerActions,
) -> impl IntoView {
    let number = round.number;
    let progress = round.clone();
    let under: UnderEach = std::sync::Arc::new(move |index| {
        view! { <SetProgress round=progress.clone() index/> }.into_any()
    });
    view! {
        <section class="card round released-round" data-testid="released-round">
            <h2>{format!("Round {number} is with the athlete{}", if round.is_final { " (final)" } else { "" })}</h2>
            <CurrentActivity round=round.clone() now/>
            <RestTimer round=round.clone() now/>
            <ExerciseList round=round.clone() under/>
            <DeleteButton session_id round_id=round.id number actions/>
        </section>
    }
}

/// The draft being built: the builder (whose "Release" button saves what
/// is on screen and releases it), and delete it.
#[component]
fn DraftPanel(
    session_id: i64,
    round: Round,
    actions: TrainerActions,
    can_release: bool,
    last_done: std::sync::Arc<LastDone>,
) -> impl IntoView {
    let number = round.number;
    let round_id = round.id;
    view! {
        <RoundBuilder session_id round=Some(round) action=actions.save drafts=actions.drafts release_number=can_release.then_some(number) editing=actions.editing last_done>
            <div class="release" data-testid="release-panel">
                <DeleteButton session_id round_id number actions/>
                {(!can_release).then(|| view! { <p class="hint">"Release it once the athlete has completed the open round."</p> })}
            </div>
        </RoundBuilder>
    }
}

#[component]
fn DeleteButton(
    session_id: i64,
    round_id: i64,
    number: i64,
    actions: TrainerActions,
) -> impl IntoView {
    view! {
        <ActionForm action=actions.delete attr:class="inline">
            <IdempotencyKey renew=crate::pages::successes(actions.delete.into())/>
            <input type="hidden" name="session_id" value=session_id/>
            <input type="hidden" name="round_id" value=round_id/>
            <button type="submit" class="secondary danger" disabled=move || actions.delete.pending().get()>
                {format!("Delete round {number}")}
            </button>
        </ActionForm>
        <p class="form-error" role="alert">{move || general_error(actions.delete.into()).get()}</p>
    }
}

/// Pain the athlete reported that the trainer has not acknowledged: on top
/// of the page, and in the tab's title (seen from another tab), until
/// "Seen" is pressed.
#[component]
fn PainAlerts(
    reports: Vec<PainReport>,
    session_id: i64,
    now: i64,
    athlete: String,
    action: ServerAction<AcknowledgePain>,
) -> impl IntoView {
    if reports.is_empty() {
        return ().into_any();
    }
    let title = format!("⚠ Pain reported · {athlete} · spotter");
    view! {
        <Title text=title/>
        {reports
            .into_iter()
            .map(|report| {
                let when = crate::components::sets::ago_text((now - report.reported_at).max(0) / 1000);
                view! {
                    <section class="pain-alert" role="alert" data-testid="pain-alert">
                        <p>
                            <strong>{format!("⚠ {athlete} reported pain")}</strong>
                            {format!(" in round {}: {} ({when})", report.round, report.describe())}
                        </p>
                        <ActionForm action=action attr:class="inline">
                            <IdempotencyKey renew=crate::pages::successes(action.into())/>
                            <input type="hidden" name="session_id" value=session_id/>
                            <input type="hidden" name="report_id" value=report.id/>
                            <button type="submit" disabled=move || action.pending().get()>"Seen"</button>
                        </ActionForm>
                    </section>
                }
            })
            .collect_view()}
        <p class="form-error" role="alert">{move || general_error(action.into()).get()}</p>
    }
    .into_any()
}

/// "Repeat round n as round m": the completed round's exercises, as they
/// were prescribed, saved as the next round's draft, ready to change and
/// release (the athlete's actuals are in the table above it). A plain form
/// of hidden fields: it works without JavaScript too.
#[component]
fn RepeatRound(
    session_id: i64,
    round: Round,
    next: i64,
    action: ServerAction<SaveRound>,
) -> impl IntoView {
    let fields: Vec<(String, String)> = round
        .exercises
        .iter()
        .map(ExerciseInput::from_exercise)
        .enumerate()
        .flat_map(|(i, row)| {
            [
                ("name", row.name),
                ("sets", row.sets),
                ("reps", row.reps),
                ("load", row.load),
                ("load_unit", row.load_unit),
                ("duration_s", row.duration_s),
                ("rest_s", row.rest_s),
                ("notes", row.notes),
            ]
            .map(|(field, value)| (exercise_field(i, field), value))
        })
        .collect();
    let label = format!("Repeat round {} as round {next}", round.number);
    view! {
        <ActionForm action=action attr:class="repeat-round">
            <IdempotencyKey renew=crate::pages::successes(action.into())/>
            <input type="hidden" name="session_id" value=session_id/>
            <input type="hidden" name="round_id" value=""/>
            <input type="hidden" name="row_action" value=""/>
            {fields.into_iter().map(|(name, value)| view! { <input type="hidden" name=name value=value/> }).collect_view()}
            <button type="submit" class="secondary" data-testid=format!("repeat-{}", round.number) disabled=move || action.pending().get()>{label}</button>
        </ActionForm>
    }
}
