//! The trainer's round builder: one form for a new round, a draft, or the
//! released round, with a spare empty row to add an exercise and buttons to
//! move or remove rows. Every button is a submit button, so the builder works
//! the same with and without JavaScript.

use crate::components::field::IdempotencyKey;
use crate::{
    api::rounds::SaveRound,
    components::field::{field_id, Drafts, Field},
    model::{
        exercise_field, ExerciseInput, LoadUnit, Round, RoundStatus, DURATION_MAX_S,
        EXERCISE_NAME_MAX_CHARS, LOAD_MAX, NOTES_MAX_CHARS, REPS_MAX, REST_MAX_S, SETS_MAX,
    },
    pages::{field_error, general_error},
};
use leptos::prelude::*;

/// Builds a new round (`round` = None) or edits `round`.
#[component]
pub fn RoundBuilder(
    session_id: i64,
    round: Option<Round>,
    action: ServerAction<SaveRound>,
    /// Keeps what the trainer typed when a live update re-renders the form.
    drafts: Drafts,
) -> impl IntoView {
    let scope = format!(
        "{}:",
        round
            .as_ref()
            .map(|r| r.id.to_string())
            .unwrap_or_else(|| "new".into())
    );
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
    let is_final = round.as_ref().is_some_and(|r| r.is_final);
    let (title, save_label) = match &round {
        None => ("New round".to_string(), "Save draft"),
        Some(r) if r.status == RoundStatus::Released => (
            format!("Edit round {} (the athlete sees changes)", r.number),
            "Save changes",
        ),
        Some(r) => (format!("Round {} (draft)", r.number), "Save draft"),
    };
    let err = move |field: String| field_error(action.into(), field);
    view! {
        <section class="card builder" data-testid="round-builder">
            <h2>{title}</h2>
            <ActionForm action=action>
                <IdempotencyKey renew=crate::pages::successes(action.into())/>
                <input type="hidden" name="session_id" value=session_id/>
                <input type="hidden" name="round_id" value=round_id/>
                {rows
                    .into_iter()
                    .enumerate()
                    .map(|(i, row)| {
                        let spare = i == last;
                        let f = move |name: &str| exercise_field(i, name);
                        let unit_name = f("load_unit");
                        let unit_id = field_id(&unit_name);
                        let unit_key = format!("{scope}{unit_name}");
                        let selected_unit = drafts.value(&unit_key, row.load_unit.clone());
                        let notes_name = f("notes");
                        let notes_id = field_id(&notes_name);
                        let notes_key = format!("{scope}{notes_name}");
                        let notes_text = drafts.value(&notes_key, row.notes.clone());
                        let legend = if spare { "Add an exercise".to_string() } else { format!("Exercise {}", i + 1) };
                        view! {
                            <fieldset class="exercise-row" class:spare=spare data-testid=format!("exercise-row-{i}")>
                                <legend>{legend}</legend>
                                <Field label="Exercise" name=f("name") value=row.name.clone() maxlength=EXERCISE_NAME_MAX_CHARS error=err(f("name")) drafts=(drafts, scope.clone())/>
                                <div class="row-grid">
                                    <Field label="Sets" name=f("sets") kind="number" value=row.sets.clone() range=(1.0, f64::from(SETS_MAX), 1.0) error=err(f("sets")) drafts=(drafts, scope.clone())/>
                                    <Field label="Reps" name=f("reps") kind="number" value=row.reps.clone() range=(0.0, f64::from(REPS_MAX), 1.0) error=err(f("reps")) drafts=(drafts, scope.clone())/>
                                    <Field label="Load" name=f("load") kind="number" value=row.load.clone() range=(0.0, LOAD_MAX, 0.25) error=err(f("load")) drafts=(drafts, scope.clone())/>
                                    <div class="field">
                                        <label for=unit_id.clone()>"Unit"</label>
                                        <select id=unit_id name=unit_name on:change=move |ev| drafts.set(unit_key.clone(), event_target_value(&ev))>
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
                                <div class="field">
                                    <label for=notes_id.clone()>"Notes for the athlete"</label>
                                    <textarea
                                        id=notes_id
                                        name=notes_name
                                        maxlength=NOTES_MAX_CHARS
                                        rows="2"
                                        on:input=move |ev| drafts.set(notes_key.clone(), event_target_value(&ev))
                                    >{notes_text}</textarea>
                                    <p class="field-error" role="alert">{move || err(f("notes")).get()}</p>
                                </div>
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
                <label class="checkbox">
                    <input type="checkbox" name="is_final" value="on" checked=is_final/>
                    " Final round: completing it completes the session"
                </label>
                <p class="form-error" role="alert">{move || general_error(action.into()).get()}</p>
                <p class="field-error" role="alert">{move || err("exercises".to_string()).get()}</p>
                <button type="submit" name="row_action" value="" disabled=move || action.pending().get()>{save_label}</button>
            </ActionForm>
        </section>
    }
}
