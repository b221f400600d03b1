//! Sets as they are done: the athlete's "Set done" rows under each
//! exercise, and the trainer's view of them (sets done of sets prescribed,
//! each logged set next to the target, and what the athlete did last).

use crate::{
    api::{pain::ReportPain, sets::LogSet},
    components::field::{Drafts, Field, IdempotencyKey},
    error::AppError,
    model::{
        format_seconds, sets_to_log, Exercise, LoggedSet, Round, SetFields, SetInput,
        DURATION_MAX_S, LOAD_MAX, REPS_MAX, RPE_MAX,
    },
};
use leptos::{form::FromFormData, prelude::*, server_fn::ServerFn};

use super::clock::{ago_text, server_age};

/// The drafts scope of one set's form in the round's list (unique on the
/// page).
pub fn set_scope(round_id: i64, exercise: usize, set: u32) -> String {
    format!("{round_id}:set:{exercise}:{set}:")
}

/// The drafts scope of the large form of the set to do now.
pub fn now_scope(round_id: i64, exercise: usize, set: u32) -> String {
    format!("{round_id}:now:{exercise}:{set}:")
}

/// What a set or pain form sends: its server function's arguments, decoded
/// from the submit event as the server decodes the same form.
#[derive(Clone, Debug)]
pub enum Submitted {
    /// "Set done" or "Update".
    Set(LogSet),
    /// "Report pain".
    Pain(ReportPain),
}

/// A set or pain form's submission, as the athlete's page sends it through
/// its outbox: what it sends and the form's drafts scope.
#[derive(Clone, Debug)]
pub struct SetSubmit {
    /// The server function's arguments.
    pub submitted: Submitted,
    /// The form's drafts scope ([`set_scope`], [`pain_scope`]).
    pub scope: String,
}

/// What the athlete's set and pain forms take from their page: the typed
/// drafts, the successes that renew their idempotency keys, the last
/// refusal, where a submit goes (the page's outbox), and whether sets may
/// be logged now (`closed`: why not, as `rules::log_set` says; "Set done"
/// is off meanwhile).
#[derive(Clone, Copy)]
pub struct SetForms {
    pub drafts: Drafts,
    pub renew: Signal<u32>,
    pub refusal: Signal<SetRefusal>,
    pub on_submit: Callback<SetSubmit>,
    pub closed: Signal<Option<String>>,
    /// What became of the form last submitted on the page, by its drafts
    /// scope: "Saved on this phone…" or "Sent", shown next to that form.
    pub status: Signal<Option<(String, &'static str)>>,
}

/// The status line of the form with drafts scope `scope` (those whose
/// scope starts with it, with `prefix`): shown only while it is news.
pub(crate) fn send_status(forms: SetForms, scope: String, prefix: bool) -> impl IntoView {
    move || {
        forms
            .status
            .get()
            .filter(|(of, _)| if prefix { of.starts_with(&scope) } else { *of == scope })
            .map(|(_, text)| {
                view! { <p class="outbox-status" role="status" data-testid="outbox-status">{text}</p> }
            })
    }
}

/// The last refusal of a set or pain form: its scope and the server's error.
pub type SetRefusal = Option<(String, AppError)>;

/// What `pick` reads from the last refusal, when it was the form with drafts
/// scope `scope`'s.
fn refused(
    refusal: Signal<SetRefusal>,
    scope: String,
    pick: impl Fn(&AppError) -> Option<String> + Send + Sync + 'static,
) -> Signal<Option<String>> {
    Signal::derive(move || {
        refusal
            .get()
            .filter(|(of, _)| *of == scope)
            .and_then(|(_, error)| pick(&error))
    })
}

/// The submit handler of the form with drafts scope `scope`, whose
/// arguments are a `T` (`wrap` says which form it is).
fn submit_to<T: FromFormData + 'static>(
    on_submit: Callback<SetSubmit>,
    scope: String,
    wrap: fn(T) -> Submitted,
) -> impl Fn(leptos::ev::SubmitEvent) + 'static {
    move |event| {
        // A form that does not decode (a hidden field changed by hand)
        // posts itself: the server's answer names the field.
        let Ok(arguments) = T::from_event(&event) else {
            return;
        };
        event.prevent_default();
        on_submit.run(SetSubmit {
            submitted: wrap(arguments),
            scope: scope.clone(),
        })
    }
}

/// "2 of 4 sets done".
fn count_text(done: usize, of: u32) -> String {
    format!("{done} of {of} set{} done", if of == 1 { "" } else { "s" })
}

/// Exercise `index`'s sets on the athlete's page: one small form per set,
/// pre-filled with the logged values or the prescription (one tap when it
/// went as planned), "Set done" or "Update". Each posts to
/// `/api/sets/log` by itself without JavaScript; with it, `on_submit`
/// sends it through the page's outbox. `round` is the prescription (the
/// rows are made again only when it changes); `logged` are the round's
/// sets as they land: each row is redrawn only when its own set changed,
/// so a set landing moves nothing else on the page.
#[component]
pub fn SetRows(
    session_id: i64,
    round: Round,
    #[prop(into)] logged: Signal<Vec<LoggedSet>>,
    index: usize,
    forms: SetForms,
) -> impl IntoView {
    let Some(exercise) = round.exercises.get(index).cloned() else {
        return ().into_any();
    };
    let count = sets_to_log(&exercise);
    let done =
        move || logged.with(|sets| sets.iter().filter(|s| s.exercise as usize == index).count());
    let (round_id, revision) = (round.id, round.revision);
    let rows = (1..=count)
        .map(|set| {
            let find = move |set: u32| {
                logged.with(|sets| {
                    sets.iter()
                        .find(|l| l.exercise as usize == index && l.set == set)
                        .cloned()
                })
            };
            let this = Memo::new(move |_| find(set));
            // A set not logged yet starts from the one before it.
            let before = Memo::new(move |_| {
                this.with(Option::is_none)
                    .then(|| find(set.saturating_sub(1)).map(|l| SetInput::of(&l)))
                    .flatten()
            });
            let exercise = exercise.clone();
            move || {
                let exercise = exercise.clone();
                view! {
                    <SetRow session_id round_id revision index set exercise logged=this.get() before=before.get() forms/>
                }
            }
        })
        .collect_view();
    view! {
        <div class="set-log" data-testid=format!("sets-{index}")>
            <p class="set-count" data-testid="set-count">{move || count_text(done(), count)}</p>
            {rows}
        </div>
    }
    .into_any()
}

/// One set's form: its values pre-filled (as logged; else from the set
/// `before` it, when that one was done; else the prescription), "Set done"
/// or, once logged, "Update" (secondary). With `now` it is the large form
/// at the top of the athlete's round ([`crate::components::now`]), a form
/// of its own (its drafts scope and ids are not the list row's).
#[component]
pub(crate) fn SetRow(
    session_id: i64,
    round_id: i64,
    revision: i64,
    index: usize,
    set: u32,
    exercise: Exercise,
    logged: Option<LoggedSet>,
    before: Option<SetInput>,
    forms: SetForms,
    #[prop(optional)] now: bool,
) -> impl IntoView {
    let scope = if now {
        now_scope(round_id, index, set)
    } else {
        set_scope(round_id, index, set)
    };
    let label = format!("{}, set {set}", exercise.name);
    let fields = SetFields::of(&exercise);
    let SetInput {
        reps,
        load,
        duration_s,
        rpe,
    } = match &logged {
        Some(l) => SetInput::of(l),
        None => SetInput::prefilled(&exercise, before.as_ref()),
    };
    let load_label = match exercise.load_unit {
        Some(unit) if unit != crate::model::LoadUnit::Bodyweight => {
            format!("Load ({})", unit.label())
        }
        Some(_) => "Added load".to_string(),
        None => "Load".to_string(),
    };
    let error_of =
        |field: &'static str| refused(forms.refusal, scope.clone(), move |e| e.for_field(field));
    let general = refused(forms.refusal, scope.clone(), |e| {
        e.general()
            .or_else(|| e.for_field("set"))
            .or_else(|| e.for_field("exercise"))
    });
    let submit = submit_to(forms.on_submit, scope.clone(), Submitted::Set);
    let is_logged = logged.is_some();
    view! {
        <form
            class="set-row"
            class:logged=is_logged
            class:now-set=now
            data-testid=if now { "now-set".to_string() } else { format!("set-{index}-{set}") }
            method="post"
            action=LogSet::url()
            on:submit=submit
            aria-label=label
        >
            <IdempotencyKey renew=forms.renew/>
            <input type="hidden" name="session_id" value=session_id/>
            <input type="hidden" name="round_id" value=round_id/>
            <input type="hidden" name="revision" value=revision/>
            <input type="hidden" name="exercise" value=index/>
            <input type="hidden" name="set" value=set/>
            {(!now).then(|| view! { <span class="set-number">{format!("Set {set}")}</span> })}
            {fields.reps.then(|| view! {
                <Field label="Reps" name="reps" kind="number" value=reps range=(0.0, f64::from(REPS_MAX), 1.0) error=error_of("reps") drafts=(forms.drafts, scope.clone())/>
            })}
            {fields.load.then(|| view! {
                <Field label=load_label name="load" kind="number" value=load range=(0.0, LOAD_MAX, 0.25) error=error_of("load") drafts=(forms.drafts, scope.clone())/>
            })}
            {fields.time.then(|| view! {
                <Field label="Time (s)" name="duration_s" kind="number" value=duration_s range=(0.0, f64::from(DURATION_MAX_S), 1.0) error=error_of("duration_s") drafts=(forms.drafts, scope.clone())/>
            })}
            <Field label="RPE" name="rpe" kind="number" value=rpe range=(0.0, RPE_MAX, 0.5) error=error_of("rpe") drafts=(forms.drafts, scope.clone())/>
            <button type="submit" class="set-button" class:secondary=is_logged disabled=move || forms.closed.get().is_some()>
                {if is_logged { "Update" } else { "Set done" }}
            </button>
            {logged.map(|l| view! {
                <span class="set-done" data-testid="set-done">{format!("✓ {}", l.actual())}</span>
            })}
            <p class="form-error set-error" role="alert">{general}</p>
            {(!now).then(|| send_status(forms, scope.clone(), false))}
        </form>
    }
    .into_any()
}

/// Exercise `index`'s sets on the trainer's page: done of prescribed, and
/// each logged set next to its target, as they land (`logged`: the
/// round's sets).
#[component]
pub fn SetProgress(
    round: Round,
    #[prop(into)] logged: Signal<Vec<LoggedSet>>,
    index: usize,
) -> impl IntoView {
    let Some(exercise) = round.exercises.get(index).cloned() else {
        return ().into_any();
    };
    let count = sets_to_log(&exercise);
    let target = target_text(&exercise);
    let mine = Memo::new(move |_| {
        logged.with(|sets| {
            sets.iter()
                .filter(|s| s.exercise as usize == index)
                .cloned()
                .collect::<Vec<_>>()
        })
    });
    view! {
        <div class="set-progress" data-testid=format!("progress-{index}")>
            <p class="set-count" data-testid="set-count">{move || count_text(mine.with(Vec::len), count)}</p>
            {move || {
                let logged = mine.get();
                let target = target.clone();
                (!logged.is_empty()).then(|| view! {
                    <ol class="set-list">
                        {logged.into_iter().map(|l| {
                            let corrected = l.updated_at.is_some();
                            view! {
                                <li data-testid=format!("logged-{index}-{}", l.set)>
                                    <span class="set-number">{format!("Set {}", l.set)}</span>
                                    " "
                                    <strong>{l.actual()}</strong>
                                    {target.clone().map(|t| view! { <span class="set-target">{format!(" (target {t})")}</span> })}
                                    {corrected.then(|| view! { <span class="hint">" · corrected"</span> })}
                                </li>
                            }
                        }).collect_view()}
                    </ol>
                })
            }}
        </div>
    }
    .into_any()
}

/// "8 × 80 kg", "30 s", "24 kg · 40 s": what one set should be.
pub(crate) fn target_text(exercise: &Exercise) -> Option<String> {
    let load = exercise.load_unit.map(|u| u.show(exercise.load));
    let amount = match (exercise.reps, load) {
        (Some(reps), Some(load)) if !load.is_empty() => Some(format!("{reps} × {load}")),
        (Some(reps), _) => Some(format!("{reps} reps")),
        (None, Some(load)) if !load.is_empty() => Some(load),
        _ => None,
    };
    let parts: Vec<String> = amount
        .into_iter()
        .chain(exercise.duration_s.map(format_seconds))
        .collect();
    (!parts.is_empty()).then(|| parts.join(" · "))
}

/// What the athlete did last in the round, and how long ago, counting up
/// by the second: "Set 2 of 4 of Back squat, 14 s ago". The age is the
/// server's (`now` − the set's time, both the server's clock) plus the
/// time since the page read it, so the browser's clock does not matter.
#[component]
pub fn CurrentActivity(round: Round, #[prop(into)] now: Signal<i64>) -> impl IntoView {
    let Some(last) = round.sets.iter().max_by_key(|s| s.changed_at()).cloned() else {
        return view! {
            <p class="activity" data-testid="activity">"No set logged yet in this round."</p>
        }
        .into_any();
    };
    let of = round
        .exercises
        .get(last.exercise as usize)
        .map(sets_to_log)
        .or(last.target_sets)
        .unwrap_or(1);
    let what = format!(
        "{} {} of {of} of {}",
        if last.updated_at.is_some() {
            "Corrected set"
        } else {
            "Set"
        },
        last.set,
        last.name
    );
    let age = server_age(now, last.changed_at(), 1_000);
    let ago = move || ago_text(age() / 1000);
    view! {
        <p class="activity" role="status" data-testid="activity">
            <strong>{what}</strong>", "{ago}
        </p>
    }
    .into_any()
}

/// The drafts scope of exercise `exercise`'s pain form.
pub fn pain_scope(round_id: i64, exercise: usize) -> String {
    format!("{round_id}:pain:{exercise}:")
}

/// "Report pain" under an exercise on the athlete's page: which set (or
/// the exercise as a whole) and an optional note, sent at once through
/// the page's outbox (a plain post without JavaScript).
///
/// With `now` it is the one under the set to do now (a form of its own).
#[component]
pub fn PainForm(
    session_id: i64,
    round: Round,
    index: usize,
    forms: SetForms,
    #[prop(optional)] now: bool,
) -> impl IntoView {
    let Some(exercise) = round.exercises.get(index).cloned() else {
        return ().into_any();
    };
    let scope = if now {
        format!("{}:now-pain:{index}:", round.id)
    } else {
        pain_scope(round.id, index)
    };
    let testid = if now {
        "now-pain".to_string()
    } else {
        format!("pain-{index}")
    };
    let label = format!("Pain in {}", exercise.name);
    let set_id = crate::components::field::scoped_id(&scope, "set");
    let sets = sets_to_log(&exercise);
    let error = refused(forms.refusal, scope.clone(), |e| {
        e.for_field("note")
            .or_else(|| e.for_field("set"))
            .or_else(|| e.general())
    });
    let submit = submit_to(forms.on_submit, scope.clone(), Submitted::Pain);
    view! {
        <details class="pain-report" data-testid=testid>
            <summary>"Report pain"</summary>
            <form method="post" action=ReportPain::url() on:submit=submit aria-label=label>
                <IdempotencyKey renew=forms.renew/>
                <input type="hidden" name="session_id" value=session_id/>
                <input type="hidden" name="round_id" value=round.id/>
                <input type="hidden" name="exercise" value=index/>
                <div class="field">
                    <label for=set_id.clone()>"When"</label>
                    <select id=set_id name="set">
                        <option value="">"During the exercise"</option>
                        {(1..=sets).map(|set| view! { <option value=set>{format!("In set {set}")}</option> }).collect_view()}
                    </select>
                </div>
                <crate::components::field::TextArea label="What hurts? (optional)" name="note" maxlength=crate::model::NOTES_MAX_CHARS error drafts=(forms.drafts, scope.clone())/>
                <button type="submit" class="danger">"Tell my trainer"</button>
                {send_status(forms, scope.clone(), false)}
            </form>
        </details>
    }
    .into_any()
}

/// The athlete's pain reports in this session and whether the trainer saw
/// each one.
#[component]
pub fn PainStatus(reports: Vec<crate::model::PainReport>, trainer: String) -> impl IntoView {
    if reports.is_empty() {
        return ().into_any();
    }
    view! {
        <section class="card pain-status" aria-label="Pain you reported">
            {reports
                .into_iter()
                .map(|report| {
                    let seen = report.acknowledged_at.is_some();
                    let state = if seen {
                        format!("{trainer} saw it ✓")
                    } else {
                        format!("waiting for {trainer} to see it")
                    };
                    view! {
                        <p data-testid="pain-status" class:seen=seen>
                            {format!("You reported pain in round {}: {} — {state}", report.round, report.describe())}
                        </p>
                    }
                })
                .collect_view()}
        </section>
    }
    .into_any()
}

/// The rest after a round's last logged set: what [`RestTimer`] counts. A
/// page's part picks this, not the round, so the timer is drawn again only
/// when a new set starts a new rest (not on a message, a receipt or a
/// correction, which would bring back a skipped rest and blink the sticky
/// timer).
#[derive(Clone, Debug, PartialEq)]
pub struct Rest {
    /// The set it follows, and its exercise's name.
    set: u32,
    name: String,
    /// How long, in milliseconds (more than 0).
    rest_ms: i64,
    /// When that set was logged (the server's clock).
    logged_at: i64,
}

impl Rest {
    /// The rest after `round`'s last logged set, if it prescribes one.
    pub fn after_last_set(round: &Round) -> Option<Rest> {
        let last = round.sets.iter().max_by_key(|s| s.logged_at)?;
        let rest_s = last.rest_s.filter(|&s| s > 0)?;
        Some(Rest {
            set: last.set,
            name: last.name.clone(),
            rest_ms: i64::from(rest_s) * 1000,
            logged_at: last.logged_at,
        })
    }
}

/// How long a rest stays on the page after it is over.
const REST_OVER_SHOWN_MS: i64 = 60_000;

/// The rest after the last logged set, counted down on both pages from the
/// set's commit time: its age by the server's clock ([`server_age`]: `now`
/// − the set's time, both the server's, plus the time since the page read
/// `now`), so a phone and a laptop whose clocks disagree still show the
/// same seconds, and a page that loaded slowly is corrected by the next
/// event or snapshot without drawing the timer again.
/// Shown while the rest runs and for a minute after; with `vibrate` (the
/// athlete's phone) the phone vibrates when the rest is over, where it can.
#[component]
pub fn RestTimer(
    rest: Rest,
    #[prop(into)] now: Signal<i64>,
    #[prop(optional)] vibrate: bool,
    #[prop(optional)] skip: bool,
) -> impl IntoView {
    let Rest {
        set,
        name,
        rest_ms,
        logged_at,
    } = rest;
    let age = server_age(now, logged_at, 250);
    let age_at_read = untrack(age);
    if age_at_read > rest_ms + REST_OVER_SHOWN_MS {
        return ().into_any();
    }
    // Whole seconds left, rounded up (0 once the rest is over).
    let left = Memo::new(move |_| {
        let ms = rest_ms - age();
        if ms <= 0 {
            0
        } else {
            (ms + 999) / 1000
        }
    });
    let running_at_start = rest_ms > age_at_read;
    if vibrate && running_at_start {
        Effect::new(move |was: Option<i64>| {
            let now_left = left.get();
            if was.is_some_and(|w| w > 0) && now_left == 0 {
                buzz();
            }
            now_left
        });
    }
    let after = format!("after set {set} of {name}");
    // "Skip rest" (the athlete's page) hides this rest here; the next set
    // logged starts the next one. A minute after it is over it goes.
    let skipped = RwSignal::new(false);
    let gone = Memo::new(move |_| age() > rest_ms + REST_OVER_SHOWN_MS);
    let running = move || left.get() > 0;
    view! {
        <Show when=move || !skipped.get() && !gone.get()>
            <div class="rest" class:running=running data-testid="rest">
                // The time in large digits, what it follows under it.
                <p class="rest-timer" class:over=move || !running() role="timer" aria-live="off" data-testid="rest-timer" data-left=move || left.get()>
                    <span class="rest-left">
                        {move || match left.get() {
                            0 => "Rest over".to_string(),
                            s => format!("Rest {}:{:02}", s / 60, s % 60),
                        }}
                    </span>
                    {
                        let after = after.clone();
                        move || if running() { format!(" {after}") } else { format!(" {after}: next set") }
                    }
                </p>
                {move || (skip && running()).then(|| view! {
                    <button type="button" class="secondary skip-rest" on:click=move |_| skipped.set(true)>"Skip rest"</button>
                })}
            </div>
        </Show>
    }
    .into_any()
}

/// A short vibration, where the device has one and allows it.
pub(crate) fn buzz() {
    #[cfg(feature = "hydrate")]
    if let Some(window) = web_sys::window() {
        let _ = window.navigator().vibrate_with_duration(400);
    }
}
