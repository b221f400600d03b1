//! `/sessions/:id/trainer`: the trainer's view, made for a laptop: join,
//! the round builder, the released round and its status, each completed
//! round with the athlete's feedback next to the prescription, cancel.

use crate::components::{
    field::IdempotencyKey,
    forms::{general_error, successes},
    session_view::{part, prescription, server_clock, session_id_param},
};
use crate::{
    api::{
        messages::SendMessage,
        pain::AcknowledgePain,
        rounds::{DeleteRound, SaveRound},
        sessions::{exercise_names, load_session, CancelSession, JoinSession},
    },
    components::{
        field::Drafts,
        live_indicator::LiveIndicator,
        messages::{MessageForm, MessageSending, Thread},
        receipts::{send_receipts, Unread},
        require_user::RequireUser,
        round_builder::{ExerciseNameList, RoundBuilder, NEW_ROUND_SCOPE},
        session::{
            CancelForm, CompletedRound, ExerciseList, SessionError, SessionHeader, UnderEach,
            WrongSide,
        },
        sets::{CurrentActivity, Rest, RestTimer, SetProgress},
        when::When,
    },
    live::{use_session_live, Live},
    model::{exercise_field, ExerciseInput, LastDone, PainReport, Round, SessionStatus, Side},
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
    /// Writes in the session's thread.
    message: ServerAction<SendMessage>,
    /// What the trainer typed into a builder, kept across re-renders.
    drafts: Drafts,
    /// Whether the released round's editor (rather than the next round's
    /// form) is the open one.
    editing: RwSignal<bool>,
    /// A builder's own save answered, its event not in the view yet: the
    /// saved round and its revision before the save. Meanwhile the builders
    /// show the form as it was before the save, so their buttons are off
    /// (its "Release round 1" would make a second round).
    waiting_for: RwSignal<Option<(i64, i64)>>,
}

impl TrainerActions {
    /// Whether the builders' buttons wait for a save to settle.
    fn settling(self) -> Signal<bool> {
        let waiting_for = self.waiting_for;
        Signal::derive(move || waiting_for.with(Option::is_some))
    }
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
        message: ServerAction::new(),
        // Kept on this computer as typed, restored after a reload.
        drafts: Drafts::persisted(format!("spotter.draft.{}.trainer", id.get_untracked())),
        editing: RwSignal::new(false),
        waiting_for: RwSignal::new(None),
    };
    let saves = (
        successes(actions.save.into()),
        successes(actions.edit.into()),
    );
    let live = use_session_live(id.get_untracked(), Side::Trainer);
    // The first paint's data; after it the live link keeps `live.view`
    // current (every change, the trainer's own included, arrives as an
    // event): nothing is fetched again, nothing falls back to "Loading".
    let first = Resource::new(move || id.get(), load_session);
    // The names this trainer used before, suggested by the builders; asked
    // again after a save (a new name joins them).
    let names = Resource::new(move || (saves.0.get(), saves.1.get()), |_| exercise_names());
    let athlete_name = Signal::derive(move || {
        live.view
            .with(|v| v.as_ref().map(|v| v.summary.athlete_name.clone()))
            .unwrap_or_default()
    });
    view! {
        <LiveIndicator live viewer=Side::Trainer other_name=athlete_name/>
        <ExerciseNameList names/>
        <Suspense fallback=|| view! { <p class="loading">"Loading the session…"</p> }>
            {move || Suspend::new(async move {
                match first.await {
                    Err(error) => view! { <SessionError error/> }.into_any(),
                    Ok(view) if view.viewer != Side::Trainer => {
                        view! { <WrongSide viewer=view.viewer session_id=view.summary.id/> }.into_any()
                    }
                    Ok(view) => {
                        live.adopt(view);
                        view! { <TrainerView live actions/> }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
fn TrainerView(live: Live, actions: TrainerActions) -> impl IntoView {
    let session_id = live
        .view
        .with_untracked(|v| v.as_ref().map_or(0, |v| v.summary.id));
    let summary = part(live, |v| v.summary.clone());
    let status = part(live, |v| v.summary.status);
    let status = move || status.get().unwrap_or(SessionStatus::Waiting);
    let athlete = part(live, |v| v.summary.athlete_name.clone());
    let athlete = move || athlete.get().unwrap_or_default();
    let messages = part(live, |v| v.messages.clone());
    let seen = part(live, |v| v.reads.of(Side::Athlete));
    send_receipts(live, session_id);
    let message = actions.message;
    let sent = successes(message.into());
    let sending = MessageSending {
        drafts: actions.drafts,
        renew: sent.into(),
        error: Signal::derive(move || message.value().get()?.err()),
        busy: message.pending().into(),
        on_send: Callback::new(move |(arguments, scope): (SendMessage, &'static str)| {
            actions.drafts.sending(scope);
            message.dispatch(arguments);
        }),
    };
    // The released round's and the draft's prescriptions: their builders
    // are made again only when these change (an edit, a save), never for a
    // set, a pain report or a feedback, so what is typed there stays put.
    let released = part(live, |v| v.released_round().map(prescription));
    let released = Memo::new(move |_| released.get().flatten());
    let released_number = Memo::new(move |_| released.get().map(|r| r.number));
    let draft = part(live, |v| v.draft_round().map(prescription));
    let draft = Memo::new(move |_| draft.get().flatten());
    let has_draft = Memo::new(move |_| draft.with(Option::is_some));
    // What the builders show: the server's draft and released round, but
    // held while one of the builders' own saves is on its way (its event
    // arrives before its answer), and shown once it settled, after what
    // that form sent is forgotten from the drafts (so a saved "move up"
    // does not lay the old typing over the new order of rows). What was
    // typed meanwhile stays; the other form keeps its text.
    let builders = RwSignal::new((draft.get_untracked(), released.get_untracked()));
    // After a builder's own save the server's answer can come before its
    // event (on PostgreSQL by some milliseconds): until the view has the
    // saved round at a new revision, the builder stays as it was (or a
    // "Release round 1" still on the next round's form would make a second
    // round). At most 3 s: a round deleted meanwhile does not hold it.
    let waiting_for = actions.waiting_for;
    let at_dispatch = StoredValue::new(Vec::<(i64, i64)>::new());
    let was_busy = StoredValue::new(false);
    let versions = StoredValue::new([0usize; 3]);
    let revisions = move || {
        live.view.with_untracked(|v| {
            v.as_ref()
                .map(|v| {
                    v.rounds
                        .iter()
                        .map(|r| (r.id, r.revision))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    };
    Effect::new(move |_| {
        let current = (draft.get(), released.get());
        let busy = actions.save.pending().get()
            || actions.edit.pending().get()
            || actions.repeat.pending().get();
        if busy {
            if !was_busy.get_value() {
                was_busy.set_value(true);
                at_dispatch.set_value(revisions());
            }
            return;
        }
        was_busy.set_value(false);
        let forms = [actions.save, actions.repeat, actions.edit];
        for (i, action) in forms.into_iter().enumerate() {
            let version = action.version().get();
            if version == versions.with_value(|v| v[i]) {
                continue;
            }
            versions.update_value(|v| v[i] = version);
            if let Some(Ok(round_id)) = action.value().get_untracked() {
                if i < 2 {
                    actions.drafts.accepted(NEW_ROUND_SCOPE);
                }
                actions.drafts.accepted(&format!("{round_id}:"));
                let before = at_dispatch.with_value(|revs| {
                    revs.iter()
                        .find(|(id, _)| *id == round_id)
                        .map_or(0, |(_, revision)| *revision)
                });
                waiting_for.set(Some((round_id, before)));
                set_timeout(
                    move || waiting_for.set(None),
                    std::time::Duration::from_secs(3),
                );
            }
        }
        if let Some((round_id, before)) = waiting_for.get() {
            let arrived = revisions()
                .iter()
                .any(|(id, revision)| *id == round_id && *revision > before);
            if !arrived {
                return;
            }
            waiting_for.set(None);
        }
        if builders.with_untracked(|shown| *shown != current) {
            builders.set(current);
        }
    });
    let draft_shown = Memo::new(move |_| builders.with(|(draft, _)| draft.clone()));
    let released_shown = Memo::new(move |_| builders.with(|(_, released)| released.clone()));
    let completed = part(live, |v| {
        v.completed_rounds().rev().cloned().collect::<Vec<Round>>()
    });
    let completed = Memo::new(move |_| completed.get().unwrap_or_default());
    // All pain reported, for the completed rounds' tables.
    let reported = part(live, |v| v.pain.clone());
    let reported = Memo::new(move |_| reported.get().unwrap_or_default());
    let next_number = part(live, |v| {
        v.rounds.iter().map(|r| r.number).max().unwrap_or(0) + 1
    });
    let next_number = Memo::new(move |_| next_number.get().unwrap_or(1));
    let pain = part(live, |v| {
        (
            v.unacknowledged_pain()
                .cloned()
                .collect::<Vec<PainReport>>(),
            v.now,
        )
    });
    // Unacknowledged pain is in the tab's title too (seen from another tab).
    let pain_title = Signal::derive(move || {
        pain.with(|p| p.as_ref().is_some_and(|(reports, _)| !reports.is_empty()))
            .then(|| format!("⚠ Pain reported · {} · spotter", athlete()))
    });
    let announcement = move || {
        let athlete = athlete();
        let latest_feedback = completed.with(|c| c.first().map(|r| r.number));
        match (status(), released_number.get(), latest_feedback) {
            (SessionStatus::Waiting, ..) => format!("{athlete} is waiting for you to join"),
            (SessionStatus::Active, Some(number), _) => {
                format!("Round {number} is with {athlete}")
            }
            (SessionStatus::Active, None, Some(n)) => {
                format!("{athlete} finished round {n}: feedback on the right")
            }
            (SessionStatus::Active, None, None) => {
                "Build the first round and release it".to_string()
            }
            (SessionStatus::Completed, ..) => "Session completed".to_string(),
            (SessionStatus::Cancelled, ..) => "Session cancelled".to_string(),
        }
    };
    let active = Memo::new(move |_| status() == SessionStatus::Active);
    // The server's rule (the part of `rules::release` about the other
    // rounds), asked the same way: another open round blocks it.
    let can_release =
        Memo::new(move |_| crate::model::rules::no_open_round(released_number.get()).is_ok());
    Effect::new(move |_| {
        if can_release.get() && actions.editing.get_untracked() {
            // The edited round is done or gone: back to the next round.
            actions.editing.set(false);
        }
    });
    // What the athlete did last of each exercise, for the builders' hints:
    // read when a builder is made (a set landing does not make it again).
    let last_done = move || {
        std::sync::Arc::new(
            live.view
                .with_untracked(|v| v.as_ref().map(|v| LastDone::from_rounds(&v.rounds)))
                .unwrap_or_default(),
        )
    };
    view! {
        <div class="session trainer-session">
            <Unread live title="Coaching · spotter" alert=pain_title/>
            {move || summary.get().map(|summary| view! { <SessionHeader summary viewer=Side::Trainer/> })}
            {move || {
                let (reports, now) = pain.get().unwrap_or_default();
                view! { <PainAlerts reports session_id now athlete=athlete() action=actions.acknowledge/> }
            }}
            <p class="live-status" role="status" aria-live="polite" data-testid="announcement">{announcement}</p>
            {move || (status() == SessionStatus::Waiting).then(|| view! {
                <section class="card">
                    <p>{format!("{} started this session and is waiting for you.", athlete())}</p>
                    <ActionForm action=actions.join>
                        <IdempotencyKey renew=crate::components::forms::successes(actions.join.into())/>
                        <input type="hidden" name="session_id" value=session_id/>
                        <p class="form-error" role="alert">{move || general_error(actions.join.into()).get()}</p>
                        <button type="submit" disabled=move || actions.join.pending().get()>"Join session"</button>
                    </ActionForm>
                </section>
            })}
            <div class="desk" class:desk-active=active>
                {move || active.get().then(|| view! {
                    // The round being built, or the released one being
                    // edited: one form open at a time (an exclusive pair of
                    // disclosures, which works without JavaScript too).
                    <div class="desk-build">
                        {move || released_shown.get().map(|round| view! {
                            <RoundBuilder session_id round=Some(round) action=actions.edit drafts=actions.drafts editing=actions.editing is_editor=true last_done=last_done() settling=actions.settling()/>
                        })}
                        {move || match draft_shown.get() {
                            Some(round) => view! { <DraftPanel session_id round actions can_release=can_release.get() last_done=last_done()/> }.into_any(),
                            None => {
                                let release_number = can_release.get().then(|| next_number.get());
                                view! {
                                    <RoundBuilder session_id round=None action=actions.save drafts=actions.drafts editing=actions.editing release_number last_done=last_done() settling=actions.settling()/>
                                }
                                .into_any()
                            }
                        }}
                    </div>
                })}
                <section class="desk-athlete" aria-labelledby="athlete-side">
                    <h2 id="athlete-side" class="visually-hidden">{move || format!("{}'s side", athlete())}</h2>
                    {move || released_number.get().map(|_| view! { <ReleasedRoundPanel session_id live actions/> })}
                    <p class="session-link"><A href=format!("/sessions/{session_id}/history")>"See the whole session"</A></p>
                    {move || (completed.with(Vec::is_empty) && active.get()).then(|| view! {
                        <p class="empty card">{format!("{}'s feedback shows here as it arrives.", athlete())}</p>
                    })}
                    {move || (!completed.with(Vec::is_empty)).then(|| view! { <h2>"Feedback"</h2> })}
                    <For
                        each=move || {
                            let pain = reported.get();
                            completed.get().into_iter().map(move |round| {
                                let hurt: Vec<_> = pain.iter().filter(|p| p.round == round.number).cloned().collect();
                                (round, hurt)
                            })
                        }
                        key=|(round, hurt)| (round.id, hurt.len())
                        children=move |(round, pain)| {
                            // Only while there is no draft: the copy
                            // becomes the next round's draft.
                            let repeat = {
                                let round = round.clone();
                                move || (active.get() && !has_draft.get()).then(|| view! {
                                    <RepeatRound session_id round=round.clone() next=next_number.get() action=actions.repeat/>
                                })
                            };
                            view! { <CompletedRound round pain/> {repeat} }
                        }
                    />
                    {move || (!completed.with(Vec::is_empty)).then(|| view! {
                        <p class="form-error" role="alert">{move || general_error(actions.repeat.into()).get()}</p>
                    })}
                </section>
            </div>
            <Thread session_id messages=Signal::derive(move || messages.get().unwrap_or_default()) viewer=Side::Trainer other=Signal::derive(athlete) typing=Signal::derive(move || live.other_typing()) seen=Signal::derive(move || seen.get().flatten())>
                {move || (!status().has_ended()).then(|| view! { <MessageForm session_id sending quick_replies=false/> })}
            </Thread>
            {move || (!status().has_ended()).then(|| view! { <CancelForm session_id action=actions.cancel/> })}
        </div>
    }
}

/// The round the athlete has now: what they see, each set as it lands,
/// and delete it (editing it is on the builder's side).
#[component]
fn ReleasedRoundPanel(session_id: i64, live: Live, actions: TrainerActions) -> impl IntoView {
    let round = part(live, |v| v.released_round().map(prescription));
    let round = Memo::new(move |_| round.get().flatten());
    let logged = part(live, |v| {
        v.released_round()
            .map(|r| r.sets.clone())
            .unwrap_or_default()
    });
    let logged = Signal::derive(move || logged.get().unwrap_or_default());
    let activity = part(live, |v| v.released_round().cloned());
    let rest = part(live, |v| v.released_round().and_then(Rest::after_last_set));
    let clock = server_clock(live);
    // Whether the athlete has had this round on screen, at which revision.
    let opened = part(live, |v| {
        v.released_round().map(|r| {
            (
                r.number,
                r.revision,
                r.opened,
                v.summary.athlete_name.clone(),
            )
        })
    });
    let opened = move || {
        let (number, revision, opened, athlete) = opened.get().flatten()?;
        Some(match opened {
            None => view! { <span>{format!("{athlete} has not opened round {number} yet")}</span> }.into_any(),
            Some(o) if o.revision >= revision => view! {
                <span>{format!("{athlete} opened round {number} at ")}<When ms=o.at/></span>
            }
            .into_any(),
            Some(o) => view! {
                <span>{format!("{athlete} opened round {number} at ")}<When ms=o.at/>", before your last change"</span>
            }
            .into_any(),
        })
    };
    view! {
        {move || round.get().map(|round| {
            let number = round.number;
            let prescribed = round.clone();
            let under: UnderEach = std::sync::Arc::new(move |index| {
                view! { <SetProgress round=prescribed.clone() logged index/> }.into_any()
            });
            view! {
                <section class="card round released-round" data-testid="released-round">
                    <h2>{format!("Round {number} is with the athlete{}", if round.is_final { " (final)" } else { "" })}</h2>
                    <p class="opened" data-testid="opened">{opened}</p>
                    {move || activity.get().flatten().map(|round| view! { <CurrentActivity round now=clock/> })}
                    {move || rest.get().flatten().map(|rest| view! { <RestTimer rest now=clock/> })}
                    <ExerciseList round=round.clone() under/>
                    <DeleteButton session_id round_id=round.id number actions/>
                </section>
            }
        })}
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
        <RoundBuilder session_id round=Some(round) action=actions.save drafts=actions.drafts release_number=can_release.then_some(number) editing=actions.editing last_done settling=actions.settling()>
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
            <IdempotencyKey renew=crate::components::forms::successes(actions.delete.into())/>
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
/// of the page until "Seen" is pressed (and in the tab's title: the page's
/// `Unread`).
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
    view! {
        {reports
            .into_iter()
            .map(|report| {
                let when = crate::components::clock::ago_text((now - report.reported_at).max(0) / 1000);
                view! {
                    <section class="pain-alert" role="alert" data-testid="pain-alert">
                        <p>
                            <strong>{format!("⚠ {athlete} reported pain")}</strong>
                            {format!(" in round {}: {} ({when})", report.round, report.describe())}
                        </p>
                        <ActionForm action=action attr:class="inline">
                            <IdempotencyKey renew=crate::components::forms::successes(action.into())/>
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
            <IdempotencyKey renew=crate::components::forms::successes(action.into())/>
            <input type="hidden" name="session_id" value=session_id/>
            <input type="hidden" name="round_id" value=""/>
            <input type="hidden" name="row_action" value=""/>
            {fields.into_iter().map(|(name, value)| view! { <input type="hidden" name=name value=value/> }).collect_view()}
            <button type="submit" class="secondary" data-testid=format!("repeat-{}", round.number) disabled=move || action.pending().get()>{label}</button>
        </ActionForm>
    }
}
