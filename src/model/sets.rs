//! Sets logged as they are done: what the athlete's "Set done" sends, how
//! it is checked, and what both pages show of it.

use super::{
    training::{parse_decimal, parse_whole},
    Exercise, FieldError, LoadUnit, LOAD_MAX, REPS_MAX, RPE_MAX, SETS_MAX,
};
use serde::{Deserialize, Serialize};

/// One set the athlete logged, with the prescription's targets it answers
/// (copied when it was logged).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoggedSet {
    /// The exercise's position in the round (0 is the first).
    pub exercise: u32,
    /// The set's number (1 is the first).
    pub set: u32,
    /// The exercise's name when the set was logged.
    pub name: String,
    /// Sets prescribed then.
    pub target_sets: Option<u32>,
    /// Reps prescribed then.
    pub target_reps: Option<u32>,
    /// Load prescribed then, in `unit`.
    pub target_load: Option<f64>,
    /// The prescription's load unit.
    pub unit: Option<LoadUnit>,
    /// Rest prescribed after each set, seconds.
    pub rest_s: Option<u32>,
    /// Reps done.
    pub reps: Option<u32>,
    /// Load used, in `unit`.
    pub load: Option<f64>,
    /// RPE, 0–10 in steps of 0.5.
    pub rpe: Option<f64>,
    /// When it was first logged (ms since the epoch, the server's clock).
    pub logged_at: i64,
    /// When it was last corrected, if it was.
    pub updated_at: Option<i64>,
}

impl LoggedSet {
    /// "8 × 60 kg · RPE 8", or "—" when nothing was given.
    pub fn actual(&self) -> String {
        let mut parts = Vec::new();
        match (self.reps, self.load) {
            (Some(reps), Some(load)) => parts.push(format!(
                "{reps} × {}",
                self.unit
                    .map(|u| u.show(Some(load)))
                    .unwrap_or_else(|| super::format_number(load))
            )),
            (Some(reps), None) => parts.push(format!("{reps} reps")),
            (None, Some(load)) => parts.push(
                self.unit
                    .map(|u| u.show(Some(load)))
                    .unwrap_or_else(|| super::format_number(load)),
            ),
            (None, None) => {}
        }
        if let Some(rpe) = self.rpe {
            parts.push(format!("RPE {}", super::format_number(rpe)));
        }
        if parts.is_empty() {
            "done".into()
        } else {
            parts.join(" · ")
        }
    }

    /// The last change's time: the correction's, else the log's.
    pub fn changed_at(&self) -> i64 {
        self.updated_at.unwrap_or(self.logged_at)
    }
}

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
    /// RPE.
    pub rpe: Option<f64>,
}

/// The form name of a set field: `reps`, `load`, `rpe` (each set is its own
/// small form).
pub const SET_FIELDS: [&str; 3] = ["reps", "load", "rpe"];

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
        rpe: parse_decimal(&input.rpe, "rpe".into(), "RPE", RPE_MAX, 0.5)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn squat(sets: Option<u32>) -> Exercise {
        Exercise {
            name: "Back squat".into(),
            sets,
            reps: Some(5),
            load: Some(100.0),
            load_unit: Some(LoadUnit::Kg),
            duration_s: None,
            rest_s: Some(90),
            notes: String::new(),
        }
    }

    fn input(reps: &str, load: &str, rpe: &str) -> SetInput {
        SetInput {
            reps: reps.into(),
            load: load.into(),
            rpe: rpe.into(),
        }
    }

    #[test]
    fn set_numbers_stay_within_the_prescription() {
        let four = squat(Some(4));
        for set in [1, 4] {
            assert!(validate_set(&four, set, &input("5", "100", "8")).is_ok());
        }
        for set in [0, 5, -1, i64::MAX] {
            let error = validate_set(&four, set, &input("5", "", "")).unwrap_err();
            assert_eq!(error.field, "set");
            assert!(error.message.contains("from 1 to 4"), "{}", error.message);
        }
        // No sets prescribed: one set to log.
        let once = squat(None);
        assert!(validate_set(&once, 1, &SetInput::default()).is_ok());
        assert_eq!(
            validate_set(&once, 2, &SetInput::default())
                .unwrap_err()
                .field,
            "set"
        );
    }

    #[test]
    fn values_are_checked_like_feedback_and_name_their_field() {
        let four = squat(Some(4));
        assert_eq!(
            validate_set(&four, 1, &input(" 8 ", "62,5", "7.5")).unwrap(),
            SetValues {
                reps: Some(8),
                load: Some(62.5),
                rpe: Some(7.5)
            }
        );
        assert_eq!(
            validate_set(&four, 1, &SetInput::default()).unwrap(),
            SetValues {
                reps: None,
                load: None,
                rpe: None
            }
        );
        for (typed, field) in [
            (input("eight", "", ""), "reps"),
            (input("1001", "", ""), "reps"),
            (input("-1", "", ""), "reps"),
            (input("", "60.1", ""), "load"),
            (input("", "1e9", ""), "load"),
            (input("", "NaN", ""), "load"),
            (input("", "", "7.3"), "rpe"),
            (input("", "", "11"), "rpe"),
        ] {
            assert_eq!(
                validate_set(&four, 1, &typed).unwrap_err().field,
                field,
                "{typed:?}"
            );
        }
    }

    #[test]
    fn a_logged_set_reads_as_done() {
        let logged = LoggedSet {
            exercise: 0,
            set: 2,
            name: "Back squat".into(),
            target_sets: Some(4),
            target_reps: Some(5),
            target_load: Some(100.0),
            unit: Some(LoadUnit::Kg),
            rest_s: Some(90),
            reps: Some(5),
            load: Some(102.5),
            rpe: Some(8.0),
            logged_at: 1,
            updated_at: None,
        };
        assert_eq!(logged.actual(), "5 × 102.5 kg · RPE 8");
        let bare = LoggedSet {
            reps: None,
            load: None,
            rpe: None,
            ..logged
        };
        assert_eq!(bare.actual(), "done");
    }
}
