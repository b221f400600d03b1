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
    session_view::{part, prescription, session_id_param},
};
use crate::{
    api::{
        pain::ReportPain,
        rounds::CompleteRound,
        sessions::{load_session, CancelSession},
        sets::LogSet,
    },
    components::{
        field::{scoped_id, Drafts, Field, IdempotencyKey, TextArea},
        live_indicator::LiveIndicator,
        require_user::RequireUser,
        session::{
            CancelForm, CompletedRound, ExerciseList, SessionError, SessionHeader, UnderEach,
            WrongSide,
        },
        sets::{
            PainForm, PainStatus, RestTimer, SetForms, SetRefusal, SetRows, SetSubmit, Submitted,
        },
    },
    error::AppError,
    live::{
        outbox::{self, Pending, Queued, Sent},
        use_session_live, wake_lock, LinkStatus, Live,
    },
    model::{
        feedback_field, rules, Round, SessionStatus, Side, DURATION_MAX_S, LOAD_MAX,
        NOTES_MAX_CHARS, REPS_MAX, RPE_MAX, SETS_MAX,
    },
};
use leptos::{form::FromFormData, prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use leptos_router::components::A;
use serde::{Deserialize, Serialize};

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

/// What the athlete's page sends through its outbox, in the order it was
/// sent: the server functions' own arguments, as the forms decoded them.
#[derive(Clone, Debug, Serialize, Deserialize)]
enum Outgoing {
    /// A set logged or corrected.
    Set(LogSet),
    /// A pain report.
    Pain(ReportPain),
    /// The round's feedback.
    Feedback(CompleteRound),
}

/// The same expression for each kind of [`Outgoing`].
macro_rules! each {
    ($outgoing:expr, $arguments:ident => $then:expr) => {
        match $outgoing {
            Outgoing::Set($arguments) => $then,
            Outgoing::Pain($arguments) => $then,
            Outgoing::Feedback($arguments) => $then,
        }
    };
}

impl Queued for Outgoing {
    fn path(&self) -> &'static str {
        match self {
            Outgoing::Set(_) => LogSet::PATH,
            Outgoing::Pain(_) => ReportPain::PATH,
            Outgoing::Feedback(_) => CompleteRound::PATH,
        }
    }

    fn form(&self) -> String {
        each!(self, arguments => outbox::form_of(arguments))
    }

    fn key(&self) -> &str {
        each!(self, arguments => &arguments.idempotency_key)
    }

    fn session_id(&self) -> i64 {
        each!(self, arguments => arguments.session_id)
    }

    fn from_form(path: &str, form: &str) -> Option<Self> {
        if path == LogSet::PATH {
            outbox::read_form(form).map(Outgoing::Set)
        } else if path == ReportPain::PATH {
            outbox::read_form(form).map(Outgoing::Pain)
        } else if path == CompleteRound::PATH {
            outbox::read_form(form).map(Outgoing::Feedback)
        } else {
            None
        }
    }
}

impl From<Submitted> for Outgoing {
    fn from(submitted: Submitted) -> Self {
        match submitted {
            Submitted::Set(arguments) => Outgoing::Set(arguments),
            Submitted::Pain(arguments) => Outgoing::Pain(arguments),
        }
    }
}

/// Which form the latest answer is about: it shows the refusal, and its
/// drafts go once the server has it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum About {
    /// The round's feedback form.
    Feedback,
    /// A set or pain form, by its drafts scope (empty: not known, a refusal
    /// of a plain form post, shown above the set rows).
    Form(String),
}

impl About {
    fn of(pending: &Pending<Outgoing>) -> About {
        match pending.mutation {
            Outgoing::Feedback(_) => About::Feedback,
            Outgoing::Set(_) | Outgoing::Pain(_) => About::Form(pending.scope.clone()),
        }
    }
}

/// The page's submissions (logged sets, pain reports, the feedback) go
/// through one sender: the outbox keeps their order.
type Sender = Action<Pending<Outgoing>, Result<Delivery, AppError>>;

/// Sends what waits in the outbox, one submission at a time, and keeps
/// what could not be sent. `last` is what the latest answer is about.
fn sender(last: RwSignal<Option<About>>) -> Sender {
    let send = Action::new_local(move |pending: &Pending<Outgoing>| {
        let pending = pending.clone();
        last.set(Some(About::of(&pending)));
        async move {
            match outbox::send(&pending.mutation).await {
                Sent::Accepted => {
                    outbox::remove::<Outgoing>(pending.mutation.key());
                    Ok(Delivery::Sent)
                }
                Sent::Refused(error) => {
                    outbox::remove::<Outgoing>(pending.mutation.key());
                    Err(error)
                }
                Sent::Unreachable => Ok(Delivery::Queued),
            }
        }
    });
    // Without JavaScript the form posts itself and a refusal comes back in
    // the URL (as for every `ActionForm`), which names only the server
    // function: show it the same way.
    let refused = use_context::<leptos::server::ServerActionError>().and_then(|error| {
        let about = if error.path() == CompleteRound::PATH {
            About::Feedback
        } else if error.path() == LogSet::PATH {
            // Which set it was is not in the URL: the set rows show it
            // above them.
            About::Form(String::new())
        } else {
            return None;
        };
        let decoded =
            leptos::server_fn::error::ServerFnUrlError::<AppError>::decode_err(error.err());
        Some((about, decoded))
    });
    if let Some((about, error)) = refused {
        last.set(Some(about));
        send.value().set(Some(Err(error)));
    }
    send
}

/// Whether the round's feedback waits in the outbox of `session_id`.
fn feedback_waits(session_id: i64) -> bool {
    outbox::for_session::<Outgoing>(session_id)
        .iter()
        .any(|p| matches!(p.mutation, Outgoing::Feedback(_)))
}

/// Sends the oldest waiting submission of `session_id`, unless one is on
/// its way.
fn flush(session_id: i64, send: Sender) {
    if send.pending().get_untracked() {
        return;
    }
    if let Some(next) = outbox::for_session::<Outgoing>(session_id)
        .into_iter()
        .next()
    {
        send.dispatch_local(next);
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
    let status = part(live, |v| v.summary.status);
    let trainer = part(live, |v| v.summary.trainer_name.clone());
    let trainer = move || trainer.get().unwrap_or_default();
    let released = part(live, |v| v.released_round().map(|r| (r.id, r.number)));
    let released = move || released.get().flatten();
    let completed = part(live, |v| {
        v.completed_rounds().rev().cloned().collect::<Vec<Round>>()
    });
    let pain = part(live, |v| v.pain.clone());
    let announcement = move || match (status.get(), released()) {
        (Some(SessionStatus::Waiting), _) => format!("Waiting for {} to join", trainer()),
        (Some(SessionStatus::Active), Some((_, number))) => format!("Round {number} is ready"),
        (Some(SessionStatus::Active), None) => {
            format!("{} is preparing the next round", trainer())
        }
        (Some(SessionStatus::Completed), _) => "Session completed".to_string(),
        (Some(SessionStatus::Cancelled), _) => "Session cancelled".to_string(),
        (None, _) => String::new(),
    };
    let waiting = move || match status.get() {
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
    let main = Memo::new(move |_| match (status.get(), released()) {
        (Some(SessionStatus::Active), Some((round_id, _))) => Some(Some(round_id)),
        (Some(SessionStatus::Active | SessionStatus::Waiting), None) => Some(None),
        _ => None,
    });
    view! {
        <div class="session athlete-session">
            {move || summary.get().map(|summary| view! { <SessionHeader summary viewer=Side::Athlete/> })}
            {move || view! { <PainStatus reports=pain.get().unwrap_or_default() trainer=trainer()/> }}
            <p class="live-status" role="status" aria-live="polite" data-testid="announcement">{announcement}</p>
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
            {move || match main.get() {
                Some(Some(round_id)) => view! { <ReleasedRound session_id round_id send last queued live drafts/> }.into_any(),
                Some(None) => view! {
                    <section class="card waiting"><p>{waiting}</p></section>
                }
                .into_any(),
                None => view! {
                    <p><A href=format!("/sessions/{session_id}/history")>"See the whole session"</A></p>
                }
                .into_any(),
            }}
            <For
                each=move || {
                    let rounds = completed.get().unwrap_or_default();
                    let first = rounds.first().map(|r| r.id);
                    rounds.into_iter().map(move |r| (first == Some(r.id), r))
                }
                key=|(first, round)| (round.id, *first)
                children=|(first, round)| view! {
                    {first.then(|| view! { <h2>"Done so far"</h2> })}
                    <CompletedRound round/>
                }
            />
            {move || (!status.get().is_some_and(SessionStatus::has_ended)).then(|| view! { <CancelForm session_id action=cancel/> })}
        </div>
    }
}

/// The round the athlete is doing, and the form to report on it. Its parts
/// follow the live view each on its own: the set rows as sets land, the
/// rest timer, and the exercises and the feedback form only when the
/// trainer edits the round.
#[component]
fn ReleasedRound(
    session_id: i64,
    round_id: i64,
    send: Sender,
    last: RwSignal<Option<About>>,
    queued: RwSignal<bool>,
    live: Live,
    drafts: Drafts,
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
    let timer = part(live, move |v| {
        v.rounds
            .iter()
            .find(|r| r.id == round_id)
            .map(|r| (r.clone(), v.now))
    });
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
    // A new key once the server has a submission; the same one for every
    // resend of it.
    let (accepted, set_accepted) = signal(0u32);
    Effect::new(move |_| {
        if let Some(Ok(Delivery::Sent)) = send.value().get() {
            set_accepted.update(|n| *n += 1);
        }
    });
    // Without JavaScript a form posts itself; with it, the submission goes
    // through the outbox.
    let through_outbox = move |mutation: Outgoing, scope: &str| {
        drafts.sending(scope);
        let pending = Pending {
            mutation,
            scope: scope.to_string(),
        };
        outbox::put(pending.clone());
        queued.set(true);
        live.probe();
        if !send.pending().get_untracked() {
            send.dispatch_local(pending);
        }
    };
    let forms = SetForms {
        drafts,
        renew: accepted.into(),
        refusal,
        on_submit: Callback::new(move |set: SetSubmit| {
            through_outbox(set.submitted.into(), &set.scope)
        }),
        closed,
    };
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
        // Pre-filled with the sets logged so far, as they were when the
        // form was made (it is not made again for a set).
        let logged_now = logged.get_untracked();
        let sets_done: Vec<String> = round
            .exercises
            .iter()
            .enumerate()
            .map(|(i, e)| {
                match logged_now
                    .iter()
                    .filter(|s| s.exercise as usize == i)
                    .count()
                {
                    0 => e.sets.map(|n| n.to_string()).unwrap_or_default(),
                    n => n.to_string(),
                }
            })
            .collect();
        let exercises = round.exercises.clone();
        Some(view! {
            <ExerciseList round=round.clone() under/>
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
                                    <Field label="Sets done" name=f("sets_done") kind="number" value=sets_done[i].clone() range=(0.0, f64::from(SETS_MAX), 1.0) error=err(f("sets_done")) drafts=(drafts, scope.clone())/>
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
                <p class="form-error" role="alert">{general}</p>
                <p class="field-error" role="alert">{move || err("feedback".to_string()).get()}</p>
                <button type="submit" class="wide" disabled=move || feedback_waiting.get() || (send.pending().get() && about_feedback())>"Send feedback and finish the round"</button>
            </form>
        })
    };
    view! {
        <section class="card round released-round" data-testid="released-round">
            <h2>{title}</h2>
            {move || timer.get().flatten().map(|(round, now)| view! { <RestTimer round now vibrate=true/> })}
            <p class="form-error" role="alert" data-testid="set-error">{unplaced}</p>
            {form}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FeedbackInput;

    fn set() -> LogSet {
        LogSet {
            session_id: 7,
            round_id: 3,
            revision: 2,
            exercise: 1,
            set: 2,
            reps: "5".into(),
            load: "102.5".into(),
            rpe: "8 & more=?".into(),
            idempotency_key: "k-set".into(),
        }
    }

    #[test]
    fn what_is_queued_is_sent_as_the_form_the_server_reads() {
        let feedback = Outgoing::Feedback(CompleteRound {
            session_id: 7,
            round_id: 3,
            revision: 2,
            feedback: vec![
                FeedbackInput {
                    sets_done: "3".into(),
                    pain: Some("on".into()),
                    notes: "knee, ä ✓".into(),
                    ..FeedbackInput::default()
                },
                FeedbackInput::default(),
            ],
            idempotency_key: "k-feedback".into(),
        });
        for outgoing in [Outgoing::Set(set()), feedback] {
            let form = outgoing.form();
            let again = Outgoing::from_form(outgoing.path(), &form).expect("reads back");
            assert_eq!(format!("{again:?}"), format!("{outgoing:?}"), "{form}");
            assert_eq!(again.key(), outgoing.key());
            assert_eq!(again.session_id(), 7);
        }
    }

    #[test]
    fn an_outbox_kept_by_the_earlier_version_is_read_and_nothing_is_dropped() {
        // How the outbox was kept before it was typed: the form as text
        // under its path; then an entry of today; then one nobody can read.
        let old_body = outbox::form_of(&set());
        let stored = serde_json::json!([
            {"key": "k-set", "session_id": 7, "path": "/api/sets/log",
             "body": old_body, "scope": "3:set:1:2:"},
            {"mutation": {"Pain": {"session_id": 7, "round_id": 3, "exercise": 0,
             "set": "", "note": "sharp", "idempotency_key": "k-pain"}}, "scope": "3:pain:0:"},
            {"key": "k-odd", "session_id": 7, "path": "/api/sets/log", "body": "set=x"},
        ])
        .to_string();
        let (read, unread) = outbox::entries::<Outgoing>(&stored);
        assert_eq!(read.len(), 2);
        assert_eq!(
            format!("{:?}", read[0].mutation),
            format!("{:?}", Outgoing::Set(set()))
        );
        assert_eq!(read[0].scope, "3:set:1:2:");
        assert!(matches!(&read[1].mutation, Outgoing::Pain(p) if p.note == "sharp"));
        assert_eq!(unread.len(), 1, "kept as it was, not dropped");
    }
}
