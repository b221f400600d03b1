//! Sets logged as they are done: what the athlete's "Set done" sends, how
//! it is checked, and what both pages show of it.

use super::{
    validation::{parse_decimal, parse_whole},
    Exercise, FieldError, LoggedSet, Round, RoundStatus, DURATION_MAX_S, LOAD_MAX, REPS_MAX,
    RPE_MAX, SETS_MAX,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// How many sets an exercise has to log: its prescribed sets, or one when
/// it prescribes none (a single carry, a plank).
pub fn sets_to_log(exercise: &Exercise) -> u32 {
    exercise.sets.unwrap_or(1).max(1)
}

/// A set as typed on the phone (all text, like the other forms).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SetInput {
    /// Reps done.
    pub reps: String,
    /// Load used.
    pub load: String,
    /// Time done, seconds.
    pub duration_s: String,
    /// RPE.
    pub rpe: String,
}

/// A set's checked values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SetValues {
    /// Reps done.
    pub reps: Option<u32>,
    /// Load used.
    pub load: Option<f64>,
    /// Time done, seconds.
    pub duration_s: Option<u32>,
    /// RPE.
    pub rpe: Option<f64>,
}

/// The form name of a set field: `reps`, `load`, `duration_s`, `rpe` (each
/// set is its own small form).
pub const SET_FIELDS: [&str; 4] = ["reps", "load", "duration_s", "rpe"];

/// Which values a set of an exercise asks for: what it prescribes. Time
/// for a timed exercise (a plank, a carry); reps and load where it has
/// them, and for any exercise without a time (the athlete may still give
/// them); RPE always (optional).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetFields {
    /// Reps.
    pub reps: bool,
    /// Load.
    pub load: bool,
    /// Time.
    pub time: bool,
}

impl SetFields {
    /// See [`SetFields`].
    pub fn of(exercise: &Exercise) -> SetFields {
        let timed = exercise.duration_s.is_some();
        SetFields {
            reps: exercise.reps.is_some() || !timed,
            load: exercise.load.is_some() || !timed,
            time: timed,
        }
    }
}

/// Checks set `set` of `exercise` and its values, with the same limits as
/// the feedback fields.
pub fn validate_set(
    exercise: &Exercise,
    set: i64,
    input: &SetInput,
) -> Result<SetValues, FieldError> {
    let count = sets_to_log(exercise);
    if !(1..=i64::from(count.min(SETS_MAX))).contains(&set) {
        return Err(FieldError {
            field: "set".into(),
            message: format!(
                "Set must be a whole number from 1 to {count}: {} has {count} set{}",
                exercise.name,
                if count == 1 { "" } else { "s" }
            ),
        });
    }
    Ok(SetValues {
        reps: parse_whole(&input.reps, "reps".into(), "Reps", 0, REPS_MAX)?,
        load: parse_decimal(&input.load, "load".into(), "Load", LOAD_MAX, 0.25)?,
        duration_s: parse_whole(
            &input.duration_s,
            "duration_s".into(),
            "Time",
            0,
            DURATION_MAX_S,
        )?,
        rpe: parse_decimal(&input.rpe, "rpe".into(), "RPE", RPE_MAX, 0.5)?,
    })
}

impl SetInput {
    /// What a logged set's form shows: its values as typed (no RPE when
    /// none was given).
    pub fn of(logged: &LoggedSet) -> SetInput {
        SetInput {
            reps: logged.reps.map(|n| n.to_string()).unwrap_or_default(),
            load: logged.load.map(super::format_number).unwrap_or_default(),
            duration_s: logged.duration_s.map(|n| n.to_string()).unwrap_or_default(),
            rpe: logged.rpe.map(super::format_number).unwrap_or_default(),
        }
    }

    /// What a set not logged yet is pre-filled with: the values of the set
    /// before it, when that one was done (a change carries on: 102.5 kg
    /// after 102.5 kg), else the prescription. RPE is never guessed.
    pub fn prefilled(exercise: &Exercise, before: Option<&SetInput>) -> SetInput {
        match before {
            Some(before) => SetInput {
                rpe: String::new(),
                ..before.clone()
            },
            None => SetInput {
                reps: exercise.reps.map(|n| n.to_string()).unwrap_or_default(),
                load: exercise.load.map(super::format_number).unwrap_or_default(),
                duration_s: exercise
                    .duration_s
                    .map(|n| n.to_string())
                    .unwrap_or_default(),
                rpe: String::new(),
            },
        }
    }
}

/// The set to do now: the first one not done yet, exercise by exercise and
/// set by set (`done(exercise, set)`: logged, or waiting on the phone to
/// be sent). `None` once every set of the round is done.
pub fn next_set(exercises: &[Exercise], done: impl Fn(usize, u32) -> bool) -> Option<(usize, u32)> {
    exercises.iter().enumerate().find_map(|(index, exercise)| {
        (1..=sets_to_log(exercise))
            .find(|&set| !done(index, set))
            .map(|set| (index, set))
    })
}

/// A set the athlete sent from this page that the live view may not have
/// yet (it waits in the outbox, or its event is on its way): it counts as
/// done here, so the card moves on and the feedback counts it at once,
/// online or not.
#[derive(Clone, Debug, PartialEq)]
pub struct SentHere {
    /// The exercise's position in the round.
    pub exercise: usize,
    /// The set's number.
    pub set: u32,
    /// What was sent (the next set starts from it).
    pub values: SetInput,
}

/// What this page knows of set `set` of exercise `exercise`: the values
/// last sent from here (the phone's newest), else the logged set's; `None`
/// while it is not done.
pub fn done_values(
    logged: &[LoggedSet],
    sent: &[SentHere],
    exercise: usize,
    set: u32,
) -> Option<SetInput> {
    sent.iter()
        .rev()
        .find(|s| s.exercise == exercise && s.set == set)
        .map(|s| s.values.clone())
        .or_else(|| {
            logged
                .iter()
                .find(|l| l.exercise as usize == exercise && l.set == set)
                .map(SetInput::of)
        })
}

/// Every set of exercise `exercise` this page knows is done, in set order,
/// with its values as [`done_values`] gives them: what the feedback counts.
pub fn done_sets(logged: &[LoggedSet], sent: &[SentHere], exercise: usize) -> Vec<(u32, SetInput)> {
    let mut numbers: Vec<u32> = logged
        .iter()
        .filter(|s| s.exercise as usize == exercise)
        .map(|s| s.set)
        .chain(
            sent.iter()
                .filter(|s| s.exercise == exercise)
                .map(|s| s.set),
        )
        .collect();
    numbers.sort_unstable();
    numbers.dedup();
    numbers
        .into_iter()
        .filter_map(|set| done_values(logged, sent, exercise, set).map(|values| (set, values)))
        .collect()
}

/// The value most of `values` have (the later one of a tie), if any.
fn most_common<T: PartialEq + Clone>(values: impl Iterator<Item = T>) -> Option<T> {
    let values: Vec<T> = values.collect();
    let mut best: Option<(usize, T)> = None;
    for value in &values {
        let count = values.iter().filter(|v| *v == value).count();
        if best.as_ref().is_none_or(|(most, _)| count >= *most) {
            best = Some((count, value.clone()));
        }
    }
    best.map(|(_, value)| value)
}

/// What the feedback form of an exercise opens with, from its sets done
/// (`done`: each set's number and values, as [`done_sets`] gives them, so
/// a set logged offline counts at once): sets done = sets done so far, reps and
/// load the most sets had (the later set's of a tie); where nothing was
/// done, the prescription. Text, as the form holds it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FeedbackPrefill {
    /// Sets done.
    pub sets_done: String,
    /// Reps done.
    pub reps_done: String,
    /// Load used.
    pub load_used: String,
    /// Time done, seconds.
    pub duration_done_s: String,
}

impl FeedbackPrefill {
    /// See [`FeedbackPrefill`].
    pub fn of(exercise: &Exercise, done: &[(u32, SetInput)]) -> FeedbackPrefill {
        let number = |n: Option<u32>| n.map(|n| n.to_string()).unwrap_or_default();
        let decimal = |n: Option<f64>| n.map(super::format_number).unwrap_or_default();
        if done.is_empty() {
            return FeedbackPrefill {
                sets_done: number(exercise.sets),
                reps_done: number(exercise.reps),
                load_used: decimal(exercise.load),
                duration_done_s: number(exercise.duration_s),
            };
        }
        // Compared as text, as the page holds them (logged sets in the
        // shape the page writes numbers): parsing numbers here would add
        // the float parser to the phone's code for nothing. A set the
        // server refuses leaves the sets done.
        let mut in_order: Vec<&(u32, SetInput)> = done.iter().collect();
        in_order.sort_by_key(|(set, _)| *set);
        let most = |field: fn(&SetInput) -> &str| {
            most_common(
                in_order
                    .iter()
                    .map(|(_, input)| field(input).trim())
                    .filter(|v| !v.is_empty()),
            )
            .map(str::to_string)
        };
        FeedbackPrefill {
            sets_done: done.len().to_string(),
            reps_done: most(|i| &i.reps).unwrap_or_default(),
            load_used: most(|i| &i.load).unwrap_or_default(),
            duration_done_s: most(|i| &i.duration_s).unwrap_or_else(|| number(exercise.duration_s)),
        }
    }
}

/// What the athlete last did of each exercise, by name (case and spaces
/// around it ignored): the round builder shows it under a row of the same
/// name, as a hint for the next prescription. The newest round with
/// something done counts: the open round's sets so far, else a completed
/// round's sets, else its feedback.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LastDone(HashMap<String, String>);

impl LastDone {
    /// Reads `rounds` (any order; drafts have nothing done and are skipped).
    pub fn from_rounds(rounds: &[Round]) -> Self {
        let mut newest_first: Vec<&Round> = rounds.iter().collect();
        newest_first.sort_by_key(|r| std::cmp::Reverse(r.number));
        let mut hints = HashMap::new();
        for round in newest_first {
            for (index, exercise) in round.exercises.iter().enumerate() {
                let key = Self::key(&exercise.name);
                if hints.contains_key(&key) {
                    continue;
                }
                if let Some(done) = Self::done_in(round, index) {
                    hints.insert(key, done);
                }
            }
        }
        LastDone(hints)
    }

    /// "Round 2: 5 × 100 kg · RPE 8, 4 × 100 kg · RPE 9 · ⚠ pain" for a row
    /// named `name`, if the athlete did it before.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(&Self::key(name)).map(String::as_str)
    }

    fn key(name: &str) -> String {
        name.trim().to_lowercase()
    }

    /// What was done of exercise `index` of `round`, if anything was.
    fn done_in(round: &Round, index: usize) -> Option<String> {
        let sets: Vec<String> = round
            .sets
            .iter()
            .filter(|s| s.exercise as usize == index)
            .map(LoggedSet::actual)
            .collect();
        let feedback = round.feedback.get(index);
        let mut done = if !sets.is_empty() {
            sets.join(", ")
        } else {
            feedback.map(|fb| fb.done()).filter(|done| done != "—")?
        };
        if let Some(rpe) = feedback.and_then(|fb| fb.rpe).filter(|_| sets.is_empty()) {
            done.push_str(&format!(" · RPE {}", super::format_number(rpe)));
        }
        if feedback.is_some_and(|fb| fb.pain) {
            done.push_str(" · ⚠ pain");
        }
        let when = if round.status == RoundStatus::Completed {
            format!("Round {}", round.number)
        } else {
            format!("Round {} so far", round.number)
        };
        Some(format!("{when}: {done}"))
    }
}

#[cfg(test)]
mod tests;
