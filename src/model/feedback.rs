//! The athlete's feedback on a round, as typed on the phone, and its check.

use super::{
    limits::{DURATION_MAX_S, LOAD_MAX, NOTES_MAX_CHARS, REPS_MAX, RPE_MAX, SETS_MAX},
    validation::{check_text, checkbox, parse_decimal, parse_whole},
    Exercise, Feedback, FieldError,
};
use serde::{Deserialize, Serialize};

/// Feedback as typed on the phone (all text, like the builder's rows).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FeedbackInput {
    /// Sets done.
    pub sets_done: String,
    /// Reps done.
    pub reps_done: String,
    /// Load used.
    pub load_used: String,
    /// Time done per set, seconds.
    pub duration_done_s: String,
    /// RPE.
    pub rpe: String,
    /// Checkbox: present ("on") when ticked.
    pub pain: Option<String>,
    /// Notes.
    pub notes: String,
}

/// The form name of field `field` of feedback row `index`.
pub fn feedback_field(index: usize, field: &str) -> String {
    format!("feedback[{index}][{field}]")
}

/// Checks one exercise's feedback.
pub fn validate_feedback(
    index: usize,
    input: &FeedbackInput,
    prescription: &Exercise,
) -> Result<Feedback, FieldError> {
    let f = |name: &str| feedback_field(index, name);
    Ok(Feedback {
        prescription: prescription.clone(),
        sets_done: parse_whole(&input.sets_done, f("sets_done"), "Sets done", 0, SETS_MAX)?,
        reps_done: parse_whole(&input.reps_done, f("reps_done"), "Reps done", 0, REPS_MAX)?,
        load_used: parse_decimal(
            &input.load_used,
            f("load_used"),
            "Load used",
            LOAD_MAX,
            0.25,
        )?,
        duration_done_s: parse_whole(
            &input.duration_done_s,
            f("duration_done_s"),
            "Time done",
            0,
            DURATION_MAX_S,
        )?,
        rpe: parse_decimal(&input.rpe, f("rpe"), "RPE", RPE_MAX, 0.5)?,
        pain: checkbox(input.pain.as_deref(), f("pain"), "Pain")?,
        notes: check_text(&input.notes, f("notes"), "Notes", NOTES_MAX_CHARS)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{validate_exercise, ExerciseInput};

    #[test]
    fn rpe_goes_in_half_steps() {
        let squat = ExerciseInput {
            name: "Squat".into(),
            reps: "8".into(),
            ..Default::default()
        };
        let p = validate_exercise(0, &squat).unwrap();
        let fb = |rpe: &str| {
            validate_feedback(
                0,
                &FeedbackInput {
                    rpe: rpe.into(),
                    ..Default::default()
                },
                &p,
            )
        };
        assert_eq!(fb("7.5").unwrap().rpe, Some(7.5));
        assert_eq!(fb("10").unwrap().rpe, Some(10.0));
        assert!(fb("7.3").is_err());
        assert!(fb("10.5").is_err());
        assert!(fb("-1").is_err());
        assert_eq!(fb("7.3").unwrap_err().field, "feedback[0][rpe]");
    }
}
