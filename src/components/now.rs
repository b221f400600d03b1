//! "Now, next": the top of the athlete's round while it is done, made for
//! a thumb between sets. The set to do now (its exercise, "Set 2 of 3",
//! the target, the values pre-filled, one large "Set done"), and the set
//! after it. The whole round stays one tap away below it
//! (`SetRows` in a collapsed list), where any set can be logged or
//! corrected.

use crate::{
    components::sets::{send_status, target_text, PainForm, SetForms, SetRow},
    model::{done_values, next_set, sets_to_log, LoggedSet, Round, SentHere},
};
use leptos::prelude::*;

/// The set to do now and the one after it, in round `round` (the
/// prescription): `logged` are the round's sets as they land, `sent` the
/// ones sent from here.
#[component]
pub fn NowSet(
    session_id: i64,
    round: Round,
    #[prop(into)] logged: Signal<Vec<LoggedSet>>,
    #[prop(into)] sent: Signal<Vec<SentHere>>,
    forms: SetForms,
) -> impl IntoView {
    let exercises = round.exercises.clone();
    let round = StoredValue::new(round);
    // (the set now, what the set before it was, the set after it)
    let now = Memo::new(move |_| {
        logged.with(|logged| {
            sent.with(|sent| {
                let values = |exercise: usize, set: u32| done_values(logged, sent, exercise, set);
                let done = |exercise: usize, set: u32| values(exercise, set).is_some();
                let (index, set) = next_set(&exercises, done)?;
                let before = values(index, set.saturating_sub(1));
                let after = next_set(&exercises, |e, s| done(e, s) || (e, s) == (index, set));
                Some(((index, set), before, after))
            })
        })
    });
    let (round_id, revision) = round.with_value(|r| (r.id, r.revision));
    move || {
        let round = round.get_value();
        let Some(((index, set), before, after)) = now.get() else {
            return view! {
                <div class="now all-done" data-testid="now">
                    <p class="now-what"><strong>"All sets done."</strong>" Tell your trainer how it went below."</p>
                </div>
            }
            .into_any();
        };
        let exercise = round.exercises[index].clone();
        let of = sets_to_log(&exercise);
        let target = target_text(&exercise)
            .map(|target| view! { <p class="now-target">{format!("Target {target}")}</p> });
        let notes = (!exercise.notes.is_empty())
            .then(|| view! { <p class="trainer-notes">{exercise.notes.clone()}</p> });
        let next = after.map(|(next_index, next_set)| {
            let name = &round.exercises[next_index].name;
            let of = sets_to_log(&round.exercises[next_index]);
            format!("Next: {name}, set {next_set} of {of}")
        });
        view! {
            <div class="now" data-testid="now" data-exercise=index data-set=set>
                <p class="now-what">
                    <strong class="now-exercise">{exercise.name.clone()}</strong>
                    " "
                    <span class="now-set-of">{format!("Set {set} of {of}")}</span>
                </p>
                {target}
                {notes}
                <SetRow session_id round_id revision index set exercise logged=None before forms now=true/>
                // Its line has its room: "Sent" coming and going moves
                // nothing below.
                <div class="now-status">{send_status(forms, format!("{round_id}:now:"), true)}</div>
                <p class="now-next" data-testid="now-next">{next.unwrap_or_else(|| "Last set of the round".to_string())}</p>
                <PainForm session_id round=round.clone() index forms now=true/>
            </div>
        }
        .into_any()
    }
}
