//! A round's prescription as the trainer types it: the builder's rows
//! (all text), their field names, the row buttons, and the checks that
//! turn them into exercises.

use super::{
    format_number,
    limits::{
        DURATION_MAX_S, EXERCISES_MAX, EXERCISE_NAME_MAX_CHARS, LOAD_MAX, NOTES_MAX_CHARS,
        REPS_MAX, REST_MAX_S, SETS_MAX,
    },
    validation::{check_text, parse_decimal, parse_whole},
    Exercise, FieldError, LoadUnit,
};
use serde::{Deserialize, Serialize};

/// An exercise as typed into the round builder: every field is text, so an
/// empty or mistyped number gets a message on its field instead of a
/// decoding error.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExerciseInput {
    /// Exercise name.
    pub name: String,
    /// Sets.
    pub sets: String,
    /// Reps per set.
    pub reps: String,
    /// Load value.
    pub load: String,
    /// Load unit (`kg`, `lb`, `bodyweight`, `percent_1rm`).
    pub load_unit: String,
    /// Duration, seconds.
    pub duration_s: String,
    /// Rest, seconds.
    pub rest_s: String,
    /// Trainer's notes.
    pub notes: String,
}

impl ExerciseInput {
    /// A row the trainer left entirely empty (the builder's spare row).
    pub fn is_blank(&self) -> bool {
        [
            &self.name,
            &self.sets,
            &self.reps,
            &self.load,
            &self.duration_s,
            &self.rest_s,
            &self.notes,
        ]
        .iter()
        .all(|v| v.trim().is_empty())
    }

    /// The input that shows `exercise` in the builder again.
    pub fn from_exercise(exercise: &Exercise) -> ExerciseInput {
        let num = |v: Option<u32>| v.map(|n| n.to_string()).unwrap_or_default();
        ExerciseInput {
            name: exercise.name.clone(),
            sets: num(exercise.sets),
            reps: num(exercise.reps),
            load: exercise.load.map(format_number).unwrap_or_default(),
            load_unit: exercise
                .load_unit
                .map(|u| u.as_str().to_string())
                .unwrap_or_default(),
            duration_s: num(exercise.duration_s),
            rest_s: num(exercise.rest_s),
            notes: exercise.notes.clone(),
        }
    }
}

/// The form name of field `field` of exercise row `index`.
pub fn exercise_field(index: usize, field: &str) -> String {
    format!("exercises[{index}][{field}]")
}

/// Checks one builder row (`index` names its fields in errors).
pub fn validate_exercise(index: usize, input: &ExerciseInput) -> Result<Exercise, FieldError> {
    let f = |name: &str| exercise_field(index, name);
    let name = check_text(
        &input.name,
        f("name"),
        "The exercise name",
        EXERCISE_NAME_MAX_CHARS,
    )?;
    if name.is_empty() {
        return Err(FieldError {
            field: f("name"),
            message: "Give the exercise a name".into(),
        });
    }
    let sets = parse_whole(&input.sets, f("sets"), "Sets", 1, SETS_MAX)?;
    let reps = parse_whole(&input.reps, f("reps"), "Reps", 0, REPS_MAX)?;
    let load = parse_decimal(&input.load, f("load"), "Load", LOAD_MAX, 0.25)?;
    let duration_s = parse_whole(
        &input.duration_s,
        f("duration_s"),
        "Duration (seconds)",
        1,
        DURATION_MAX_S,
    )?;
    let rest_s = parse_whole(&input.rest_s, f("rest_s"), "Rest (seconds)", 0, REST_MAX_S)?;
    let notes = check_text(&input.notes, f("notes"), "Notes", NOTES_MAX_CHARS)?;
    if reps.is_none() && duration_s.is_none() {
        return Err(FieldError {
            field: f("reps"),
            message: "Set reps or a duration (or both)".into(),
        });
    }
    let load_unit = match input.load_unit.trim() {
        "" => None,
        unit => Some(LoadUnit::parse(unit).ok_or_else(|| FieldError {
            field: f("load_unit"),
            message: "Choose kg, lb, bodyweight or % of 1RM".into(),
        })?),
    };
    let load_unit = match (load, load_unit) {
        (Some(_), None) => Some(LoadUnit::Kg),
        (None, Some(LoadUnit::Bodyweight)) => Some(LoadUnit::Bodyweight),
        (None, Some(_)) => None,
        (_, unit) => unit,
    };
    if load_unit == Some(LoadUnit::PercentOneRm) && load.is_some_and(|l| l > 100.0) {
        return Err(FieldError {
            field: f("load"),
            message: "A percentage of 1RM is at most 100".into(),
        });
    }
    Ok(Exercise {
        name,
        sets,
        reps,
        load,
        load_unit,
        duration_s,
        rest_s,
        notes,
    })
}

/// Checks a whole round as submitted: blank rows are dropped, at most
/// [`EXERCISES_MAX`] remain.
pub fn validate_round(inputs: &[ExerciseInput]) -> Result<Vec<Exercise>, FieldError> {
    let rows: Vec<(usize, &ExerciseInput)> = inputs
        .iter()
        .enumerate()
        .filter(|(_, input)| !input.is_blank())
        .collect();
    if rows.len() > EXERCISES_MAX {
        return Err(FieldError::new(
            "exercises",
            format!("A round has at most {EXERCISES_MAX} exercises"),
        ));
    }
    rows.into_iter()
        .map(|(i, input)| validate_exercise(i, input))
        .collect()
}

/// The builder's `row_action` that saves the round as it is on screen and
/// releases it.
pub const RELEASE_ACTION: &str = "release";

/// The builder's rows with a row button applied (`remove:i`, `up:i`,
/// `down:i`), before validation; anything else leaves them as they are.
pub fn apply_row_action(mut rows: Vec<ExerciseInput>, action: &str) -> Vec<ExerciseInput> {
    let parse = |prefix: &str| {
        action
            .strip_prefix(prefix)
            .and_then(|i| i.parse::<usize>().ok())
    };
    if let Some(i) = parse("remove:") {
        if i < rows.len() {
            rows.remove(i);
        }
    } else if let Some(i) = parse("up:") {
        if i > 0 && i < rows.len() {
            rows.swap(i - 1, i);
        }
    } else if let Some(i) = parse("down:") {
        if i + 1 < rows.len() {
            rows.swap(i, i + 1);
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, reps: &str, duration: &str) -> ExerciseInput {
        ExerciseInput {
            name: name.into(),
            reps: reps.into(),
            duration_s: duration.into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_line_break_counts_once_however_the_browser_sends_it() {
        let mut input = row("Squat", "8", "");
        input.notes = format!("{}\r\n{}", "a".repeat(500), "b".repeat(499));
        let exercise = validate_exercise(0, &input).expect("1000 characters fit");
        assert_eq!(exercise.notes.chars().count(), 1000);
        input.notes.push('c');
        assert_eq!(
            validate_exercise(0, &input).unwrap_err().field,
            "exercises[0][notes]"
        );
    }

    #[test]
    fn an_exercise_needs_reps_or_duration() {
        assert!(validate_exercise(0, &row("Squat", "8", "")).is_ok());
        assert!(validate_exercise(0, &row("Plank", "", "60")).is_ok());
        let err = validate_exercise(2, &row("Squat", "", "")).unwrap_err();
        assert_eq!(err.field, "exercises[2][reps]");
    }

    #[test]
    fn limits_are_enforced_with_field_names() {
        let squat = row("Squat", "8", "");
        // (field, a value out of its range): refused, naming that field.
        type Slot = fn(&mut ExerciseInput) -> &mut String;
        let out_of_range: [(&str, &str, Slot); 7] = [
            ("sets", "51", |i| &mut i.sets),
            ("sets", "0", |i| &mut i.sets),
            ("load", "2000.5", |i| &mut i.load),
            ("rest_s", "3601", |i| &mut i.rest_s),
            ("duration_s", "10801", |i| &mut i.duration_s),
            ("reps", "1001", |i| &mut i.reps),
            ("reps", "eight", |i| &mut i.reps),
        ];
        for (field, value, slot) in out_of_range {
            let mut input = squat.clone();
            *slot(&mut input) = value.into();
            let error = validate_exercise(1, &input).unwrap_err();
            assert_eq!(error.field, format!("exercises[1][{field}]"), "{value}");
        }
        let mut long_name = squat.clone();
        long_name.name = "x".repeat(101);
        assert_eq!(
            validate_exercise(1, &long_name).unwrap_err().field,
            "exercises[1][name]"
        );
        let mut eight = squat.clone();
        eight.reps = "eight".into();
        let message = validate_exercise(1, &eight).unwrap_err().message;
        assert!(message.contains("whole number"), "{message}");
        let mut loaded = squat;
        loaded.load = "82.5".into();
        let ok = validate_exercise(1, &loaded).unwrap();
        assert_eq!((ok.load, ok.load_unit), (Some(82.5), Some(LoadUnit::Kg)));
    }

    #[test]
    fn blank_rows_are_dropped_and_rounds_are_bounded() {
        let rows = vec![row("Squat", "5", ""), ExerciseInput::default()];
        assert_eq!(validate_round(&rows).unwrap().len(), 1);
        let many = vec![row("Squat", "5", ""); 31];
        assert_eq!(validate_round(&many).unwrap_err().field, "exercises");
    }

    #[test]
    fn row_buttons_move_and_remove() {
        let rows = vec![row("A", "1", ""), row("B", "1", ""), row("C", "1", "")];
        let names = |rows: Vec<ExerciseInput>| {
            rows.into_iter()
                .map(|r| r.name)
                .collect::<Vec<_>>()
                .join("")
        };
        assert_eq!(names(apply_row_action(rows.clone(), "up:1")), "BAC");
        assert_eq!(names(apply_row_action(rows.clone(), "down:1")), "ACB");
        assert_eq!(names(apply_row_action(rows.clone(), "remove:0")), "BC");
        assert_eq!(names(apply_row_action(rows.clone(), "up:0")), "ABC");
        assert_eq!(names(apply_row_action(rows.clone(), "remove:9")), "ABC");
        assert_eq!(names(apply_row_action(rows, "")), "ABC");
    }

    #[test]
    fn prescriptions_read_well() {
        let mut input = row("Squat", "8", "");
        input.sets = "3".into();
        input.load = "80".into();
        input.rest_s = "120".into();
        assert_eq!(
            validate_exercise(0, &input).unwrap().summary(),
            "3 × 8 · 80 kg · rest 2 min"
        );
    }
}
