//! The trainer's round builder: one form for a new round, a draft, or the
//! released round, with a spare empty row to add an exercise and buttons to
//! move or remove rows. Every button is a submit button, so the builder works
//! the same with and without JavaScript; a draft's "Release" button is one
//! of them too, so what is on screen (the spare row included) is saved and
//! released together, never dropped.
//!
//! The builder is a disclosure: the next round's form and the released
//! round's editor are never open together.
//!
//! Every control's value is set as a property on every render: a re-render
//! after "Move up" (or a live update) puts each row's own values in place,
//! not what the browser kept at that position.

use crate::{
    api::rounds::SaveRound,
    components::field::{scoped_id, Drafts, Field, IdempotencyKey, TextArea},
    components::forms::{field_error, general_error},
    error::AppError,
    model::{
        exercise_field, ExerciseInput, LastDone, LoadUnit, Round, RoundStatus, DURATION_MAX_S,
        EXERCISE_NAME_MAX_CHARS, LOAD_MAX, NOTES_MAX_CHARS, RELEASE_ACTION, REPS_MAX, REST_MAX_S,
        SETS_MAX,
    },
};
use leptos::prelude::*;

/// The drafts scope (and id prefix) of the new-round form; a round's form
/// uses `"<round id>:"`.
pub const NEW_ROUND_SCOPE: &str = "new:";

/// The id of the page's list of exercise names the builder suggests
/// ([`ExerciseNameList`]).
pub const EXERCISE_NAMES_LIST: &str = "exercise-names";

/// The exercise names the trainer used before, as a `<datalist>` every
/// builder's name field offers (in the server's HTML too, so it works
/// without JavaScript). Nothing is shown while they load or if they
/// cannot be loaded: a suggestion is a convenience, never in the way.
#[component]
pub fn ExerciseNameList(names: Resource<Result<Vec<String>, AppError>>) -> impl IntoView {
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                let names = names.await.unwrap_or_default();
                view! {
                    <datalist id=EXERCISE_NAMES_LIST data-testid="exercise-names">
                        {names.into_iter().map(|name| view! { <option value=name/> }).collect_view()}
                    </datalist>
                }
            })}
        </Suspense>
    }
}

/// Builds a new round (`round` = None) or edits `round`.
#[component]
pub fn RoundBuilder(
    session_id: i64,
    round: Option<Round>,
    action: ServerAction<SaveRound>,
    /// Keeps what the trainer typed when a live update re-renders the form.
    drafts: Drafts,
    /// The round's number if it can be released from here now (a draft or
    /// a new round, while no other round is open): shows "Release round n",
    /// which saves what is on screen and releases it.
    #[prop(default = None)]
    release_number: Option<i64>,
    /// Which of the page's two round forms is open: the released round's
    /// editor (true) or the next round's (false). Each is a disclosure;
    /// opening one closes the other, and closing the editor opens the next
    /// round's form.
    editing: RwSignal<bool>,
    /// True while the page waits for this form's own save to show (its
    /// buttons are off meanwhile).
    #[prop(optional)]
    settling: Option<Signal<bool>>,
    /// Whether this builder is the released round's editor.
    #[prop(optional)]
    is_editor: bool,
    /// What the athlete last did of each exercise: shown under a row of
    /// the same name, as a hint for its prescription.
    #[prop(optional)]
    last_done: Option<std::sync::Arc<LastDone>>,
    /// More controls under the form (the draft's delete button).
    #[prop(optional)]
    children: Option<Children>,
) -> impl IntoView {
    let scope = round
        .as_ref()
        .map(|r| format!("{}:", r.id))
        .unwrap_or_else(|| NEW_ROUND_SCOPE.to_string());
    let mut rows: Vec<ExerciseInput> = round
        .as_ref()
        .map(|r| {
            r.exercises
                .iter()
                .map(ExerciseInput::from_exercise)
                .collect()
        })
        .unwrap_or_default();
    rows.push(ExerciseInput::default());
    let last = rows.len() - 1;
    let round_id = round.as_ref().map(|r| r.id.to_string()).unwrap_or_default();
    let is_final_key = format!("{scope}is_final");
    let is_final = drafts.value(
        &is_final_key,
        if round.as_ref().is_some_and(|r| r.is_final) {
            "on".into()
        } else {
            String::new()
        },
    ) == "on";
    let final_id = scoped_id(&scope, "is_final");
    let final_for = final_id.clone();
    let release_label = release_number
        .filter(|_| {
            round
                .as_ref()
                .is_none_or(|r| r.status == RoundStatus::Draft)
        })
        .map(|n| format!("Release round {n}"));
    let sending = scope.clone();
    let (title, save_label) = match &round {
        None => ("Next round".to_string(), "Save draft"),
        Some(r) if r.status == RoundStatus::Released => {
            (format!("Edit round {}", r.number), "Save changes")
        }
        Some(r) => (format!("Round {} (draft)", r.number), "Save draft"),
    };
    let err = move |field: String| field_error(action.into(), field);
    let busy = move || action.pending().get() || settling.is_some_and(|s| s.get());
    // One round form open at a time. (Not the `name` attribute of
    // exclusive disclosures: a form rendered anew after a save would be the
    // one the browser closes.) The attribute is for the server's HTML, the
    // property keeps the browser in step.
    let open = move || editing.get() == is_editor;
    let toggled = move |ev: leptos::ev::Event| {
        let now_open = event_target::<web_sys::HtmlElement>(&ev).has_attribute("open");
        if now_open != open() {
            editing.set(if now_open { is_editor } else { !is_editor });
        }
    };
    view! {
        <details class="disclosure round-form card builder" open=open() prop:open=open on:toggle=toggled data-testid="round-builder">
            <summary><h2>{title}</h2></summary>
            <ActionForm action=action on:submit=move |_| drafts.sending(&sending)>
                // The form's first submit button is what Enter in a field
                // presses: save, not a row's "Move up".
                <button type="submit" name="row_action" value="" class="visually-hidden" tabindex="-1" aria-hidden="true">{save_label}</button>
                <IdempotencyKey renew=crate::components::forms::successes(action.into())/>
                <input type="hidden" name="session_id" value=session_id/>
                <input type="hidden" name="round_id" value=round_id/>
                {rows
                    .into_iter()
                    .enumerate()
                    .map(|(i, row)| {
                        let spare = i == last;
                        let f = move |name: &str| exercise_field(i, name);
                        let unit_name = f("load_unit");
                        let unit_id = scoped_id(&scope, &unit_name);
                        let unit_key = format!("{scope}{unit_name}");
                        let selected_unit = drafts.value(&unit_key, row.load_unit.clone());
                        // The hint follows the name as shown (typed or saved).
                        let last_time = (!spare)
                            .then(|| {
                                let name = drafts.value(&format!("{scope}{}", f("name")), row.name.clone());
                                last_done.as_ref().and_then(|hints| hints.get(&name)).map(|done| format!("Last time: {done}"))
                            })
                            .flatten();
                        let legend = if spare { "Add an exercise".to_string() } else { format!("Exercise {}", i + 1) };
                        view! {
                            <fieldset class="exercise-row" class:spare=spare data-testid=format!("exercise-row-{i}")>
                                <legend>{legend}</legend>
                                <Field label="Exercise" name=f("name") value=row.name.clone() maxlength=EXERCISE_NAME_MAX_CHARS list=EXERCISE_NAMES_LIST error=err(f("name")) drafts=(drafts, scope.clone())/>
                                {last_time.map(|text| view! { <p class="hint last-done" data-testid="last-done">{text}</p> })}
                                <div class="row-grid">
                                    <Field label="Sets" name=f("sets") kind="number" value=row.sets.clone() range=(1.0, f64::from(SETS_MAX), 1.0) error=err(f("sets")) drafts=(drafts, scope.clone())/>
                                    <Field label="Reps" name=f("reps") kind="number" value=row.reps.clone() range=(0.0, f64::from(REPS_MAX), 1.0) error=err(f("reps")) drafts=(drafts, scope.clone())/>
                                    <Field label="Load" name=f("load") kind="number" value=row.load.clone() range=(0.0, LOAD_MAX, 0.25) error=err(f("load")) drafts=(drafts, scope.clone())/>
                                    <div class="field">
                                        <label for=unit_id.clone()>"Unit"</label>
                                        <select id=unit_id name=unit_name prop:value=selected_unit.clone() on:change=move |ev| drafts.set(unit_key.clone(), event_target_value(&ev))>
                                            <option value="" selected=selected_unit.is_empty()>"—"</option>
                                            {LoadUnit::ALL
                                                .into_iter()
                                                .map(|unit| view! {
                                                    <option value=unit.as_str() selected=selected_unit == unit.as_str()>{unit.label()}</option>
                                                })
                                                .collect_view()}
                                        </select>
                                    </div>
                                    <Field label="Duration (s)" name=f("duration_s") kind="number" value=row.duration_s.clone() range=(1.0, f64::from(DURATION_MAX_S), 1.0) error=err(f("duration_s")) drafts=(drafts, scope.clone())/>
                                    <Field label="Rest (s)" name=f("rest_s") kind="number" value=row.rest_s.clone() range=(0.0, f64::from(REST_MAX_S), 1.0) error=err(f("rest_s")) drafts=(drafts, scope.clone())/>
                                </div>
                                <TextArea label="Notes for the athlete" name=f("notes") value=row.notes.clone() maxlength=NOTES_MAX_CHARS error=err(f("notes")) drafts=(drafts, scope.clone())/>
                                {(!spare).then(|| view! {
                                    <div class="row-actions">
                                        <button type="submit" class="secondary" name="row_action" value=format!("up:{i}") disabled=i == 0>
                                            {format!("Move exercise {} up", i + 1)}
                                        </button>
                                        <button type="submit" class="secondary" name="row_action" value=format!("down:{i}") disabled=i + 1 == last>
                                            {format!("Move exercise {} down", i + 1)}
                                        </button>
                                        <button type="submit" class="secondary danger" name="row_action" value=format!("remove:{i}")>
                                            {format!("Remove exercise {}", i + 1)}
                                        </button>
                                    </div>
                                })}
                            </fieldset>
                        }
                    })
                    .collect_view()}
                <label class="checkbox" for=final_for>
                    <input
                        id=final_id
                        type="checkbox"
                        name="is_final"
                        value="on"
                        checked=is_final
                        prop:checked=is_final
                        on:change=move |ev| drafts.set(is_final_key.clone(), if event_target_checked(&ev) { "on".into() } else { String::new() })
                    />
                    " Final round: completing it completes the session"
                </label>
                <p class="form-error" role="alert">{move || general_error(action.into()).get()}</p>
                <p class="field-error" role="alert">{move || err("exercises".to_string()).get()}</p>
                <div class="form-actions">
                    <button type="submit" class:secondary=release_label.is_some() name="row_action" value="" disabled=busy>{save_label}</button>
                    {release_label.map(|label| view! {
                        <button type="submit" name="row_action" value=RELEASE_ACTION disabled=busy>{label}</button>
                    })}
                </div>
            </ActionForm>
            {children.map(|children| children())}
        </details>
    }
}
