//! `/sessions/:id`: the athlete's view, made for a phone: the released
//! round with a feedback form, completed rounds with what was reported, and
//! the session's status.
//!
//! The feedback form is made for a gym: what is typed is kept on the phone
//! as it is typed ([`Drafts::persisted`]); pressing send checks the live
//! link and puts the submission in the [`outbox`] first, so a dead network
//! only delays it ("Saved on this phone, sends when you are back online");
//! its idempotency key makes every resend count once. The screen stays on
//! while a round is open.

use super::{field_error, general_error, settled_changes};
use crate::{
    api::{
        rounds::CompleteRound,
        sessions::{load_session, CancelSession},
    },
    components::{
        field::{scoped_id, Drafts, Field, IdempotencyKey, TextArea},
        live_indicator::LiveIndicator,
        require_user::RequireUser,
        session::{
            CancelForm, CompletedRound, ExerciseList, SessionError, SessionHeader, WrongSide,
        },
    },
    error::AppError,
    live::{
        outbox::{self, Pending, Sent},
        use_session_live, wake_lock, LinkStatus, Live,
    },
    model::{
        feedback_field, Round, SessionStatus, SessionView, Side, DURATION_MAX_S, LOAD_MAX,
        NOTES_MAX_CHARS, REPS_MAX, RPE_MAX, SETS_MAX,
    },
};
use leptos::{prelude::*, server_fn::ServerFn};
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

/// What became of the athlete's feedback, as the page tells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Delivery {
    /// The server has it.
    Sent,
    /// Kept on the phone; sent when the link is back.
    Queued,
}

/// Sends the feedback in the outbox, one submission at a time, and keeps
/// what could not be sent.
fn feedback_sender() -> Action<Pending, Result<Delivery, AppError>> {
    let send = Action::new_local(|pending: &Pending| {
        let pending = pending.clone();
        async move {
            match outbox::send(&pending).await {
                Sent::Accepted => {
                    outbox::remove(&pending.key);
                    Ok(Delivery::Sent)
                }
                Sent::Refused(error) => {
                    outbox::remove(&pending.key);
                    Err(error)
                }
                Sent::Unreachable => Ok(Delivery::Queued),
            }
        }
    });
    // Without JavaScript the form posts itself and a refusal comes back in
    // the URL (as for every `ActionForm`): show it the same way.
    let refused = use_context::<leptos::server::ServerActionError>().and_then(|error| {
        (error.path() == <CompleteRound as ServerFn>::PATH).then(|| {
            leptos::server_fn::error::ServerFnUrlError::<AppError>::decode_err(error.err())
        })
    });
    if let Some(error) = refused {
        send.value().set(Some(Err(error)));
    }
    send
}

/// Sends the oldest waiting submission of `session_id`, unless one is on
/// its way.
fn flush(session_id: i64, send: Action<Pending, Result<Delivery, AppError>>) {
    if send.pending().get_untracked() {
        return;
    }
    if let Some(next) = outbox::for_session(session_id).into_iter().next() {
        send.dispatch_local(next);
    }
}

#[component]
fn AthleteSession() -> impl IntoView {
    let id = session_id_param();
    let send = feedback_sender();
    let cancel = ServerAction::<CancelSession>::new();
    let (delivered, set_delivered) = signal(0u32);
    let queued = RwSignal::new(false);
    let live = use_session_live(id.get_untracked(), Side::Athlete);
    let busy = Signal::derive(move || send.pending().get() || cancel.pending().get());
    let live_changes = settled_changes(live.changes, busy);
    let session = Resource::new(
        move || (id.get(), delivered.get(), live_changes.get()),
        |(id, ..)| load_session(id),
    );
    let trainer_name = RwSignal::new(String::new());
    let drafts = Drafts::persisted(format!("spotter.draft.{}.athlete", id.get_untracked()));
    // After each answer: the server has it (typed text is done, the page
    // refetches, the next waiting one goes) or it is still waiting.
    Effect::new(move |_| {
        let result = send.value().get();
        let waiting = !outbox::for_session(id.get_untracked()).is_empty();
        queued.set(waiting);
        if let Some(Ok(Delivery::Sent)) = result {
            drafts.clear();
            set_delivered.update(|n| *n += 1);
            flush(id.get_untracked(), send);
        }
    });
    // Whenever the link is (back) Live, and every few seconds meanwhile,
    // whatever waits is sent. A reload with a waiting outbox sends it too.
    Effect::new(move |_| {
        if live.status.get() == LinkStatus::Live {
            flush(id.get_untracked(), send);
        }
    });
    #[cfg(feature = "hydrate")]
    {
        let retry = set_interval_with_handle(
            move || {
                if queued.get_untracked() {
                    flush(id.get_untracked(), send);
                }
            },
            std::time::Duration::from_secs(5),
        )
        .ok();
        on_cleanup(move || {
            if let Some(retry) = retry {
                retry.clear();
            }
        });
    }
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
                    Ok(view) => view! { <AthleteView view send queued live cancel drafts/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn AthleteView(
    view: SessionView,
    send: Action<Pending, Result<Delivery, AppError>>,
    queued: RwSignal<bool>,
    live: Live,
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
    let waiting = match status {
        SessionStatus::Waiting => format!(
            "Waiting for {trainer} to join. Your first round shows here the moment {trainer} releases it."
        ),
        _ => format!(
            "{trainer} is preparing the next round. It shows here the moment {trainer} releases it."
        ),
    };
    view! {
        <div class="session athlete-session">
            <SessionHeader summary=view.summary.clone() viewer=Side::Athlete/>
            <p class="live-status" role="status" aria-live="polite" data-testid="announcement">{announcement.clone()}</p>
            <p class="outbox-status" role="status" aria-live="polite" data-testid="outbox-status">
                {move || {
                    if queued.get() {
                        Some("Saved on this phone, sends when you are back online")
                    } else if matches!(send.value().get(), Some(Ok(Delivery::Sent))) {
                        Some("Sent")
                    } else {
                        None
                    }
                }}
            </p>
            {match (status, released) {
                (SessionStatus::Active, Some(round)) => view! { <ReleasedRound session_id round send queued live drafts/> }.into_any(),
                (SessionStatus::Active, None) | (SessionStatus::Waiting, _) => view! {
                    <section class="card waiting"><p>{waiting}</p></section>
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
    send: Action<Pending, Result<Delivery, AppError>>,
    queued: RwSignal<bool>,
    live: Live,
    drafts: Drafts,
) -> impl IntoView {
    wake_lock::hold_while_mounted();
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
    let err = move |field: String| field_error(send, field);
    // A new key once the server has a submission; the same one for every
    // resend of it.
    let (accepted, set_accepted) = signal(0u32);
    Effect::new(move |_| {
        if let Some(Ok(Delivery::Sent)) = send.value().get() {
            set_accepted.update(|n| *n += 1);
        }
    });
    let sending = scope.clone();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        // Without JavaScript the form posts itself; with it, the submission
        // goes through the outbox.
        ev.prevent_default();
        drafts.sending(&sending);
        if let Some(pending) = submission(&ev, session_id) {
            outbox::put(pending.clone());
            queued.set(true);
            live.probe();
            if !send.pending().get_untracked() {
                send.dispatch_local(pending);
            }
        }
    };
    view! {
        <section class="card round released-round" data-testid="released-round">
            <h2>{title}</h2>
            <ExerciseList round=round.clone()/>
            <form method="post" action=CompleteRound::url() on:submit=on_submit>
                <IdempotencyKey renew=accepted/>
                <input type="hidden" name="session_id" value=session_id/>
                <input type="hidden" name="round_id" value=round.id/>
                <input type="hidden" name="revision" value=round.revision/>
                <h3>"How did it go?"</h3>
                {exercises
                    .into_iter()
                    .enumerate()
                    .map(|(i, exercise)| {
                        let f = move |name: &str| feedback_field(i, name);
                        let pain_id = scoped_id(&scope, &f("pain"));
                        let pain_key = format!("{scope}{}", f("pain"));
                        let pain_checked = drafts.value(&pain_key, String::new()) == "on";
                        view! {
                            <fieldset class="feedback-row" data-testid=format!("feedback-{i}")>
                                <legend>{exercise.name.clone()}</legend>
                                <div class="row-grid">
                                    <Field label="Sets done" name=f("sets_done") kind="number" value=exercise.sets.map(|n| n.to_string()).unwrap_or_default() range=(0.0, f64::from(SETS_MAX), 1.0) error=err(f("sets_done")) drafts=(drafts, scope.clone())/>
                                    <Field label="Reps done" name=f("reps_done") kind="number" value=exercise.reps.map(|n| n.to_string()).unwrap_or_default() range=(0.0, f64::from(REPS_MAX), 1.0) error=err(f("reps_done")) drafts=(drafts, scope.clone())/>
                                    <Field label="Load used" name=f("load_used") kind="number" value=exercise.load.map(crate::model::format_number).unwrap_or_default() range=(0.0, LOAD_MAX, 0.25) error=err(f("load_used")) drafts=(drafts, scope.clone())/>
                                    {exercise.duration_s.map(|seconds| view! {
                                        <Field label="Time done (s)" name=f("duration_done_s") kind="number" value=seconds.to_string() range=(0.0, f64::from(DURATION_MAX_S), 1.0) error=err(f("duration_done_s")) drafts=(drafts, scope.clone())/>
                                    })}
                                    <Field label="RPE (0–10)" name=f("rpe") kind="number" range=(0.0, RPE_MAX, 0.5) error=err(f("rpe")) drafts=(drafts, scope.clone())/>
                                </div>
                                <label class="checkbox" for=pain_id.clone()>
                                    <input
                                        id=pain_id.clone()
                                        type="checkbox"
                                        name=f("pain")
                                        value="on"
                                        checked=pain_checked
                                        prop:checked=pain_checked
                                        on:change=move |ev| drafts.set(pain_key.clone(), if event_target_checked(&ev) { "on".into() } else { String::new() })
                                    />
                                    " Pain or discomfort"
                                </label>
                                <TextArea label="Notes for your trainer" name=f("notes") maxlength=NOTES_MAX_CHARS error=err(f("notes")) drafts=(drafts, scope.clone())/>
                            </fieldset>
                        }
                    })
                    .collect_view()}
                <p class="form-error" role="alert">{move || general_error(send).get()}</p>
                <p class="field-error" role="alert">{move || err("feedback".to_string()).get()}</p>
                <button type="submit" class="wide" disabled=move || send.pending().get() || queued.get()>"Send feedback and finish the round"</button>
            </form>
        </section>
    }
}

/// The feedback form as the outbox keeps it: its fields, url-encoded as a
/// browser would post them, under the form's idempotency key.
fn submission(ev: &leptos::ev::SubmitEvent, session_id: i64) -> Option<Pending> {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let form: web_sys::HtmlFormElement = ev.target()?.dyn_into().ok()?;
        let data = web_sys::FormData::new_with_form(&form).ok()?;
        let key = data
            .get(crate::model::IDEMPOTENCY_KEY_FIELD)
            .as_string()
            .filter(|k| !k.is_empty())?;
        let body: String = web_sys::UrlSearchParams::new_with_str_sequence_sequence(&data)
            .ok()?
            .to_string()
            .into();
        Some(Pending {
            key,
            session_id,
            path: CompleteRound::url().to_string(),
            body,
        })
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (ev, session_id);
        None
    }
}
