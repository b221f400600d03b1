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

use crate::components::{
    forms::{field_error, general_error},
    session_view::{part, prescription, server_clock, session_id_param},
};
use crate::{
    api::{
        messages::SendMessage,
        rounds::CompleteRound,
        sessions::{load_session, CancelSession},
    },
    components::{
        field::{scoped_id, Drafts, Field, IdempotencyKey, TextArea},
        live_indicator::LiveIndicator,
        messages::{MessageForm, MessageSending, Thread, MESSAGE_SCOPE},
        now::NowSet,
        receipts::{send_receipts, Unread},
        require_user::RequireUser,
        session::{
            CancelForm, CompletedRound, ExerciseList, SessionError, SessionHeader, UnderEach,
            WrongSide,
        },
        sets::{PainForm, PainStatus, Rest, RestTimer, SetForms, SetRefusal, SetRows, SetSubmit},
    },
    error::AppError,
    live::{outbox, use_session_live, wake_lock, LinkStatus, Live},
    model::{
        done_sets, feedback_field, rules, sets_to_log, FeedbackPrefill, Round, SentHere,
        SessionStatus, SetInput, Side, DURATION_MAX_S, LOAD_MAX, NOTES_MAX_CHARS, REPS_MAX,
        RPE_MAX, SETS_MAX,
    },
};
use leptos::{form::FromFormData, prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use leptos_router::components::A;
use outgoing::{
    enqueue, feedback_waits, flush, send_status, sender, About, Delivery, Outgoing, Sender,
};

mod outgoing;

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
    let last = RwSignal::new(None::<About>);
    let send = sender(last);
    let cancel = ServerAction::<CancelSession>::new();
    let queued = RwSignal::new(false);
    let live = use_session_live(id.get_untracked(), Side::Athlete);
    // The first paint's data (rendered on the server, hydrated from it);
    // after that the live link keeps `live.view` current: nothing is
    // fetched again and nothing falls back to "Loading".
    let first = Resource::new(move || id.get(), load_session);
    let trainer_name = Signal::derive(move || {
        live.view
            .with(|v| v.as_ref().map(|v| v.summary.trainer_name.clone()))
            .unwrap_or_default()
    });
    let drafts = Drafts::persisted(format!("spotter.draft.{}.athlete", id.get_untracked()));
    // After each answer: the server has it (typed text is done, the next
    // waiting one goes; the change itself arrives over the live link) or
    // it is still waiting, and then the path it failed on is suspect.
    Effect::new(move |_| {
        let result = send.value().get();
        let waiting = !outbox::for_session::<Outgoing>(id.get_untracked()).is_empty();
        queued.set(waiting);
        if !waiting {
            live.unsent.set(false);
        }
        match result {
            Some(Ok(Delivery::Sent)) => {
                match last.get_untracked() {
                    Some(About::Form(scope)) => drafts.accepted(&scope),
                    _ => drafts.clear(),
                }
                flush(id.get_untracked(), send);
            }
            // (The failed request already told the live link.)
            Some(Ok(Delivery::Queued)) => live.unsent.set(true),
            _ => {}
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
    view! {
        <LiveIndicator live viewer=Side::Athlete other_name=trainer_name/>
        <Suspense fallback=|| view! { <p class="loading">"Loading the session…"</p> }>
            {move || Suspend::new(async move {
                match first.await {
                    Err(error) => view! { <SessionError error/> }.into_any(),
                    Ok(view) if view.viewer != Side::Athlete => {
                        view! { <WrongSide viewer=view.viewer session_id=view.summary.id/> }.into_any()
                    }
                    Ok(view) => {
                        live.adopt(view);
                        view! { <AthleteView send last queued live cancel drafts/> }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
fn AthleteView(
    send: Sender,
    last: RwSignal<Option<About>>,
    queued: RwSignal<bool>,
    live: Live,
    cancel: ServerAction<CancelSession>,
    drafts: Drafts,
) -> impl IntoView {
    let summary = part(live, |v| v.summary.clone());
    let session_id = live
        .view
        .with_untracked(|v| v.as_ref().map_or(0, |v| v.summary.id));
    let session_status = part(live, |v| v.summary.status);
    let trainer = part(live, |v| v.summary.trainer_name.clone());
    let trainer = move || trainer.get().unwrap_or_default();
    // A new key once the server has a submission; the same one for every
    // resend of it.
    let (accepted, set_accepted) = signal(0u32);
    Effect::new(move |_| {
        if let Some(Ok(Delivery::Sent)) = send.value().get() {
            set_accepted.update(|n| *n += 1);
        }
    });
    let latest = RwSignal::new(None::<About>);
    let status = send_status(send, queued, latest, live);
    let messages = part(live, |v| v.messages.clone());
    let seen = part(live, |v| v.reads.of(Side::Trainer));
    send_receipts(live, session_id);
    let (messages_sent, set_messages_sent) = signal(0u32);
    Effect::new(move |_| {
        if let Some(Ok(Delivery::Sent)) = send.value().get() {
            if matches!(last.get_untracked(), Some(About::Form(scope)) if scope.starts_with(MESSAGE_SCOPE))
            {
                set_messages_sent.update(|n| *n += 1);
            }
        }
    });
    let sending = MessageSending {
        drafts,
        renew: messages_sent.into(),
        error: Signal::derive(move || {
            let Some(About::Form(scope)) = last.get() else {
                return None;
            };
            scope
                .starts_with(MESSAGE_SCOPE)
                .then(|| send.value().get()?.err())?
        }),
        // The outbox takes a message at any moment, online or not.
        busy: Signal::derive(|| false),
        on_send: Callback::new(move |(message, scope): (SendMessage, &'static str)| {
            enqueue(
                send,
                queued,
                latest,
                live,
                drafts,
                Outgoing::Message(message),
                scope,
            )
        }),
    };
    let released = part(live, |v| v.released_round().map(|r| (r.id, r.number)));
    let released = move || released.get().flatten();
    let completed = part(live, |v| {
        v.completed_rounds().rev().cloned().collect::<Vec<Round>>()
    });
    let pain = part(live, |v| v.pain.clone());
    let announcement = move || match (session_status.get(), released()) {
        (Some(SessionStatus::Waiting), _) => format!("Waiting for {} to join", trainer()),
        (Some(SessionStatus::Active), Some((_, number))) => format!("Round {number} is ready"),
        (Some(SessionStatus::Active), None) => {
            format!("{} is preparing the next round", trainer())
        }
        (Some(SessionStatus::Completed), _) => "Session completed".to_string(),
        (Some(SessionStatus::Cancelled), _) => "Session cancelled".to_string(),
        (None, _) => String::new(),
    };
    let waiting = move || match session_status.get() {
        Some(SessionStatus::Waiting) => format!(
            "Waiting for {0} to join. Your first round shows here the moment {0} releases it.",
            trainer()
        ),
        _ => format!(
            "{0} is preparing the next round. It shows here the moment {0} releases it.",
            trainer()
        ),
    };
    // What the round card is: made again only when the released round
    // changes to another one (or none), never for a set or an edit.
    let main = Memo::new(move |_| match (session_status.get(), released()) {
        (Some(SessionStatus::Active), Some((round_id, _))) => Some(Some(round_id)),
        (Some(SessionStatus::Active | SessionStatus::Waiting), None) => Some(None),
        _ => None,
    });
    view! {
        <div class="session athlete-session">
            <Unread live title="Session · spotter" vibrate=true/>
            {move || summary.get().map(|summary| view! { <SessionHeader summary viewer=Side::Athlete/> })}
            {move || view! { <PainStatus reports=pain.get().unwrap_or_default() trainer=trainer()/> }}
            <p class="live-status" role="status" aria-live="polite" data-testid="announcement">{announcement}</p>
            {move || match main.get() {
                Some(Some(round_id)) => view! { <ReleasedRound session_id round_id send last queued latest status live drafts accepted/> }.into_any(),
                Some(None) => view! {
                    <section class="card waiting"><p>{waiting}</p></section>
                }
                .into_any(),
                None => view! {
                    <p class="session-link"><A href=format!("/sessions/{session_id}/history")>"See the whole session"</A></p>
                }
                .into_any(),
            }}
            <Thread session_id messages=Signal::derive(move || messages.get().unwrap_or_default()) viewer=Side::Athlete other=Signal::derive(trainer) typing=Signal::derive(move || live.other_typing()) seen=Signal::derive(move || seen.get().flatten())>
                {move || (!session_status.get().is_some_and(SessionStatus::has_ended)).then(|| view! { <MessageForm session_id sending quick_replies=true/> })}
                {move || status.get().filter(|(about, _)| matches!(about, About::Form(scope) if scope.starts_with(MESSAGE_SCOPE))).map(|(_, text)| view! {
                    <p class="outbox-status" role="status" data-testid="outbox-status">{text}</p>
                })}
            </Thread>
            <For
                each=move || {
                    let rounds = completed.get().unwrap_or_default();
                    let first = rounds.first().map(|r| r.id);
                    let pain = pain.get().unwrap_or_default();
                    rounds.into_iter().map(move |r| {
                        let hurt: Vec<_> = pain.iter().filter(|p| p.round == r.number).cloned().collect();
                        (first == Some(r.id), r, hurt)
                    })
                }
                key=|(first, round, hurt)| (round.id, *first, hurt.len())
                children=|(first, round, pain)| view! {
                    {first.then(|| view! { <h2>"Done so far"</h2> })}
                    <CompletedRound round pain/>
                }
            />
            {move || (!session_status.get().is_some_and(SessionStatus::has_ended)).then(|| view! {
                <p class="session-link"><A href=format!("/sessions/{session_id}/history")>"See the whole session"</A></p>
            })}
            {move || (!session_status.get().is_some_and(SessionStatus::has_ended)).then(|| view! { <CancelForm session_id action=cancel/> })}
        </div>
    }
}

/// The round the athlete is doing, and the form to report on it: at the
/// top the rest (sticky while it runs) and the set to do now
/// ([`NowSet`]), then the whole round one tap away (collapsed), then the
/// feedback, pre-filled from the logged sets. Its parts follow the live
/// view each on its own: the set to do now and the set rows as sets land,
/// the rest timer, the exercises only when the trainer edits the round,
/// the feedback form when either changes.
#[component]
fn ReleasedRound(
    session_id: i64,
    round_id: i64,
    send: Sender,
    last: RwSignal<Option<About>>,
    queued: RwSignal<bool>,
    latest: RwSignal<Option<About>>,
    status: Signal<Option<(About, &'static str)>>,
    live: Live,
    drafts: Drafts,
    accepted: ReadSignal<u32>,
) -> impl IntoView {
    wake_lock::hold_while_mounted();
    let round = part(live, move |v| {
        v.rounds.iter().find(|r| r.id == round_id).map(prescription)
    });
    let round = Memo::new(move |_| round.get().flatten());
    let logged = part(live, move |v| {
        v.rounds
            .iter()
            .find(|r| r.id == round_id)
            .map(|r| r.sets.clone())
            .unwrap_or_default()
    });
    let logged = Signal::derive(move || logged.get().unwrap_or_default());
    let rest = part(live, move |v| {
        v.rounds
            .iter()
            .find(|r| r.id == round_id)
            .and_then(Rest::after_last_set)
    });
    let clock = server_clock(live);
    // What the athlete typed survives the trainer's edits (which re-render
    // this form); a new round starts clean.
    let scope = format!("{round_id}:");
    let title = move || {
        round
            .get()
            .map(|round| {
                format!(
                    "Round {}{}",
                    round.number,
                    if round.is_final {
                        " · final round"
                    } else {
                        ""
                    }
                )
            })
            .unwrap_or_default()
    };
    // The feedback form shows the refusals of the feedback, each set row
    // those of its own set.
    let about_feedback = move || last.get().is_none_or(|about| about == About::Feedback);
    let err = move |field: String| {
        let error = field_error(send, field);
        Signal::derive(move || error.get().filter(|_| about_feedback()))
    };
    let general = {
        let error = general_error(send);
        Signal::derive(move || error.get().filter(|_| about_feedback()))
    };
    let refusal: Signal<SetRefusal> = Signal::derive(move || {
        let Some(About::Form(scope)) = last.get() else {
            return None;
        };
        let error = send.value().get()?.err()?;
        Some((scope, error))
    });
    // The server's rule for a set, asked the same way about the revision
    // the rows were made from: while it refuses (the session ended, the
    // round was finished), "Set done" is off and the card says why.
    let closed: Signal<Option<String>> = {
        let verdict = part(live, move |v| {
            let seen = round.get_untracked()?.revision;
            let now = v.rounds.iter().find(|r| r.id == round_id)?;
            rules::log_set(v.summary.status, now.status, seen, now.revision)
                .err()
                .map(|refusal| AppError::from(refusal).to_string())
        });
        Signal::derive(move || verdict.get().flatten())
    };
    let unplaced = Signal::derive(move || {
        refusal
            .get()
            .filter(|(scope, _)| scope.is_empty())
            .map(|(_, error)| format!("The set was not logged: {error}"))
            .or_else(|| closed.get())
    });
    // Whether the feedback itself waits in the outbox (logged sets waiting
    // do not stop the athlete from finishing: they go first).
    let feedback_waiting = Signal::derive(move || {
        queued.track();
        feedback_waits(session_id)
    });
    // Sets sent from this page count as done at once (the card moves on,
    // online or not) until the server refuses one: those waiting in the
    // outbox since before a reload too.
    let sent = RwSignal::new(
        outbox::for_session::<Outgoing>(session_id)
            .into_iter()
            .filter_map(|pending| match pending.mutation {
                Outgoing::Set(set) if set.round_id == round_id => {
                    Some((pending.scope.clone(), sent_here(&set)))
                }
                _ => None,
            })
            .collect::<Vec<_>>(),
    );
    Effect::new(move |_| {
        if let (Some(Err(_)), Some(About::Form(scope))) = (send.value().get(), last.get_untracked())
        {
            sent.update(|sent| sent.retain(|(of, _)| *of != scope));
        }
    });
    let sent_sets = Signal::derive(move || {
        sent.with(|sent| sent.iter().map(|(_, set)| set.clone()).collect::<Vec<_>>())
    });
    // Without JavaScript a form posts itself; with it, the submission goes
    // through the outbox.
    let through_outbox = move |mutation: Outgoing, scope: &str| {
        if let Outgoing::Set(set) = &mutation {
            let here = (scope.to_string(), sent_here(set));
            sent.update(|sent| sent.push(here));
        }
        enqueue(send, queued, latest, live, drafts, mutation, scope)
    };
    let forms = SetForms {
        drafts,
        renew: accepted.into(),
        refusal,
        on_submit: Callback::new(move |set: SetSubmit| {
            through_outbox(set.submitted.into(), &set.scope)
        }),
        closed,
        status: Signal::derive(move || match status.get()? {
            (About::Form(scope), text) => Some((scope, text)),
            (About::Feedback, _) => None,
        }),
    };
    // The list of all the round's sets stays as the athlete left it (open
    // or closed) when the trainer's edit draws it again.
    let list_open = RwSignal::new(false);
    // The feedback form's values from the sets done so far, logged or sent
    // from here (the form is updated in place when they change; what the
    // athlete typed is kept, and so is the caret).
    let prefill = Memo::new(move |_| {
        let round = round.get()?;
        logged.with(|logged| {
            sent_sets.with(|sent| {
                Some(
                    round
                        .exercises
                        .iter()
                        .enumerate()
                        .map(|(i, exercise)| {
                            FeedbackPrefill::of(exercise, &done_sets(logged, sent, i))
                        })
                        .collect::<Vec<_>>(),
                )
            })
        })
    });
    let form = move || {
        let round = round.get()?;
        let scope = scope.clone();
        let sending = scope.clone();
        let on_submit = move |ev: leptos::ev::SubmitEvent| {
            // A form that does not decode (a hidden field changed by hand)
            // posts itself: the server's answer names the field.
            if let Ok(feedback) = CompleteRound::from_event(&ev) {
                ev.prevent_default();
                through_outbox(Outgoing::Feedback(feedback), &sending);
            }
        };
        let prescribed = round.clone();
        let under: UnderEach = std::sync::Arc::new(move |index| {
            view! {
                <SetRows session_id round=prescribed.clone() logged index forms/>
                <PainForm session_id round=prescribed.clone() index forms/>
            }
            .into_any()
        });
        let exercises = round.exercises.clone();
        let total: u32 = exercises.iter().map(sets_to_log).sum();
        let (id, revision) = (round.id, round.revision);
        let feedback = move || {
            let prefill = prefill.get().unwrap_or_default();
            let scope = scope.clone();
            view! {
            <form method="post" action=CompleteRound::url() on:submit=on_submit.clone()>
                <IdempotencyKey renew=accepted/>
                <input type="hidden" name="session_id" value=session_id/>
                <input type="hidden" name="round_id" value=id/>
                <input type="hidden" name="revision" value=revision/>
                <h3>"How did it go?"</h3>
                {exercises
                    .clone()
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
                                    <Field label="Sets done" name=f("sets_done") kind="number" value=prefill.get(i).map(|p| p.sets_done.clone()).unwrap_or_default() range=(0.0, f64::from(SETS_MAX), 1.0) error=err(f("sets_done")) drafts=(drafts, scope.clone())/>
                                    <Field label="Reps done" name=f("reps_done") kind="number" value=prefill.get(i).map(|p| p.reps_done.clone()).unwrap_or_default() range=(0.0, f64::from(REPS_MAX), 1.0) error=err(f("reps_done")) drafts=(drafts, scope.clone())/>
                                    <Field label="Load used" name=f("load_used") kind="number" value=prefill.get(i).map(|p| p.load_used.clone()).unwrap_or_default() range=(0.0, LOAD_MAX, 0.25) error=err(f("load_used")) drafts=(drafts, scope.clone())/>
                                    {exercise.duration_s.map(|_| view! {
                                        <Field label="Time done (s)" name=f("duration_done_s") kind="number" value=prefill.get(i).map(|p| p.duration_done_s.clone()).unwrap_or_default() range=(0.0, f64::from(DURATION_MAX_S), 1.0) error=err(f("duration_done_s")) drafts=(drafts, scope.clone())/>
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
                <p class="form-error" role="alert">{general}</p>
                <p class="field-error" role="alert">{move || err("feedback".to_string()).get()}</p>
                <button type="submit" class="wide" disabled=move || feedback_waiting.get() || (send.pending().get() && about_feedback())>"Send feedback and finish the round"</button>
                {move || status.get().filter(|(about, _)| *about == About::Feedback).map(|(_, text)| view! {
                    <p class="outbox-status" role="status" data-testid="outbox-status">{text}</p>
                })}
            </form>
            }
            .into_any()
        };
        Some(view! {
            <NowSet session_id round=round.clone() logged sent=sent_sets forms/>
            <details class="round-sets" data-testid="round-sets" prop:open=move || list_open.get() on:toggle=move |ev| list_open.set(details_open(&ev))>
                <summary>
                    "All sets of this round · "
                    {move || format!("{} of {total} done", logged.with(Vec::len))}
                </summary>
                <ExerciseList round=round.clone() under/>
            </details>
            {feedback}
        }
        .into_any())
    };
    let revision = move || round.get().map(|round| round.revision);
    // Without JavaScript, the receipt is this image, which only a browser
    // that runs no scripts loads (server::beacon).
    let beacon = move || {
        revision().map(|revision| {
            format!(r#"<img src="/sessions/{session_id}/rounds/{round_id}/opened/{revision}" alt="" width="1" height="1">"#)
        })
    };
    view! {
        <section class="card round released-round" data-testid="released-round">
            <noscript inner_html=beacon></noscript>
            // Opened once its heading has been on screen.
            <h2 data-openable-round="" data-round-id=round_id data-revision=revision>{title}</h2>
            {move || rest.get().flatten().map(|rest| view! { <RestTimer rest now=clock vibrate=true skip=true/> })}
            <p class="form-error" role="alert" data-testid="set-error">{unplaced}</p>
            {form}
        </section>
    }
}

/// What a set sent from this page counts as until the live view has it.
fn sent_here(set: &crate::api::sets::LogSet) -> SentHere {
    SentHere {
        exercise: usize::try_from(set.exercise).unwrap_or(usize::MAX),
        set: u32::try_from(set.set).unwrap_or(u32::MAX),
        values: SetInput {
            reps: set.reps.clone(),
            load: set.load.clone(),
            duration_s: set.duration_s.clone(),
            rpe: set.rpe.clone(),
        },
    }
}

/// Whether the `<details>` a toggle event is about is open now.
fn details_open(event: &leptos::ev::Event) -> bool {
    use wasm_bindgen::JsCast;
    event
        .target()
        .and_then(|target| target.dyn_into::<web_sys::Element>().ok())
        .is_some_and(|details| details.has_attribute("open"))
}
