//! `/sessions/:id/trainer`: the trainer's view, made for a laptop: join,
//! the round builder, the released round and its status, each completed
//! round with the athlete's feedback next to the prescription, cancel.

use super::{general_error, session_athlete::session_id_param, successes};
use crate::components::field::IdempotencyKey;
use crate::{
    api::{
        rounds::{DeleteRound, ReleaseRound, SaveRound},
        sessions::{load_session, CancelSession, JoinSession},
    },
    components::{
        field::Drafts,
        live_indicator::LiveIndicator,
        require_user::RequireUser,
        round_builder::RoundBuilder,
        session::{
            CancelForm, CompletedRound, ExerciseList, SessionError, SessionHeader, WrongSide,
        },
    },
    live::use_session_live,
    model::{Round, SessionStatus, SessionView, Side},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

/// Every mutation the trainer's page can make.
#[derive(Clone, Copy)]
struct TrainerActions {
    join: ServerAction<JoinSession>,
    save: ServerAction<SaveRound>,
    release: ServerAction<ReleaseRound>,
    delete: ServerAction<DeleteRound>,
    cancel: ServerAction<CancelSession>,
    /// What the trainer typed into a builder, kept across re-renders.
    drafts: Drafts,
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
        release: ServerAction::new(),
        delete: ServerAction::new(),
        cancel: ServerAction::new(),
        // Kept on this computer as typed, restored after a reload.
        drafts: Drafts::persisted(format!("spotter.draft.{}.trainer", id.get_untracked())),
    };
    let changes = (
        successes(actions.join.into()),
        successes(actions.save.into()),
        successes(actions.release.into()),
        successes(actions.delete.into()),
    );
    let live = use_session_live(id.get_untracked(), Side::Trainer);
    let session = Resource::new(
        move || {
            (
                id.get(),
                changes.0.get(),
                changes.1.get(),
                changes.2.get(),
                changes.3.get(),
                live.changes.get(),
            )
        },
        |(id, ..)| load_session(id),
    );
    // A saved builder shows what the server stored; typed drafts are done
    // (not on the first run: a reload restores them).
    Effect::new(move |first: Option<()>| {
        changes.1.track();
        if first.is_some() {
            actions.drafts.clear();
        }
    });
    let athlete_name = RwSignal::new(String::new());
    Effect::new(move |_| {
        if let Some(Ok(view)) = session.get() {
            athlete_name.set(view.summary.athlete_name.clone());
            live.seen(view.summary.last_seq);
        }
    });
    view! {
        <LiveIndicator live viewer=Side::Trainer other_name=athlete_name.into()/>
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
            format!("{athlete} finished round {n}: feedback below")
        }
        (SessionStatus::Active, None, None) => "Build the first round and release it".to_string(),
        (SessionStatus::Completed, ..) => "Session completed".to_string(),
        (SessionStatus::Cancelled, ..) => "Session cancelled".to_string(),
    };
    view! {
        <div class="session trainer-session">
            <SessionHeader summary=view.summary.clone() viewer=Side::Trainer/>
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
            {(status == SessionStatus::Active).then(|| view! {
                <div class="trainer-columns">
                    <div>
                        {released.clone().map(|round| view! { <ReleasedRoundPanel session_id round actions/> })}
                        {draft.clone().map(|round| view! { <DraftPanel session_id round actions/> })}
                        {draft.is_none().then(|| view! { <RoundBuilder session_id round=None action=actions.save drafts=actions.drafts/> })}
                    </div>
                </div>
            })}
            {status.has_ended().then(|| view! {
                <p><A href=format!("/sessions/{session_id}/history")>"See the whole session"</A></p>
            })}
            {(!completed.is_empty()).then(|| view! {
                <h2>"Completed rounds"</h2>
                {completed.into_iter().map(|round| view! { <CompletedRound round/> }).collect_view()}
            })}
            {(!status.has_ended()).then(|| view! { <CancelForm session_id action=actions.cancel/> })}
        </div>
    }
}

/// The round the athlete has now: what they see, edit it, or delete it.
#[component]
fn ReleasedRoundPanel(session_id: i64, round: Round, actions: TrainerActions) -> impl IntoView {
    let number = round.number;
    view! {
        <section class="card round released-round" data-testid="released-round">
            <h2>{format!("Round {number} is with the athlete{}", if round.is_final { " (final)" } else { "" })}</h2>
            <ExerciseList round=round.clone()/>
            <DeleteButton session_id round_id=round.id number actions/>
        </section>
        <details class="edit-released">
            <summary>{format!("Edit round {number}")}</summary>
            <RoundBuilder session_id round=Some(round) action=actions.save drafts=actions.drafts/>
        </details>
    }
}

/// The draft being built: the builder, and release or delete it.
#[component]
fn DraftPanel(session_id: i64, round: Round, actions: TrainerActions) -> impl IntoView {
    let number = round.number;
    let round_id = round.id;
    let can_release = !round.exercises.is_empty();
    view! {
        <RoundBuilder session_id round=Some(round) action=actions.save drafts=actions.drafts/>
        <section class="card release" data-testid="release-panel">
            <ActionForm action=actions.release attr:class="inline">
                <IdempotencyKey renew=crate::pages::successes(actions.release.into())/>
                <input type="hidden" name="session_id" value=session_id/>
                <input type="hidden" name="round_id" value=round_id/>
                <button type="submit" disabled=move || !can_release || actions.release.pending().get()>
                    {format!("Release round {number}")}
                </button>
            </ActionForm>
            <DeleteButton session_id round_id number actions/>
            <p class="form-error" role="alert">{move || general_error(actions.release.into()).get()}</p>
            <p class="field-error" role="alert">
                {move || actions.release.value().get().and_then(|r| r.err()).and_then(|e| e.for_field("exercises"))}
            </p>
            {(!can_release).then(|| view! { <p class="hint">"Save at least one exercise to release the round."</p> })}
        </section>
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
