//! Pain as an alert: what the athlete flags, what the trainer must see.

use super::{FieldError, NOTES_MAX_CHARS};

/// Checks a pain note: optional, at most [`NOTES_MAX_CHARS`] characters,
/// like every note.
pub fn validate_pain_note(note: &str) -> Result<String, FieldError> {
    super::validation::check_text(note, "note".into(), "Note", NOTES_MAX_CHARS)
}

/// An optional set number as a form sends it: empty for the exercise as a
/// whole, else 1 to `sets`.
pub fn validate_pain_set(set: &str, sets: u32) -> Result<Option<u32>, FieldError> {
    let set = set.trim();
    if set.is_empty() {
        return Ok(None);
    }
    match set.parse::<u32>() {
        Ok(n) if (1..=sets).contains(&n) => Ok(Some(n)),
        _ => Err(FieldError {
            field: "set".into(),
            message: format!("Set must be empty or a whole number from 1 to {sets}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PainReport;

    #[test]
    fn notes_are_bounded_and_kept_whole() {
        assert_eq!(
            validate_pain_note("  Left knee \r\n sharp ").unwrap(),
            "Left knee \n sharp"
        );
        assert_eq!(validate_pain_note("").unwrap(), "");
        let long = "x".repeat(NOTES_MAX_CHARS + 1);
        let error = validate_pain_note(&long).unwrap_err();
        assert_eq!(error.field, "note");
        assert!(error.message.contains("at most 1000"), "{}", error.message);
        assert_eq!(validate_pain_note("a\0b").unwrap_err().field, "note");
    }

    #[test]
    fn a_set_is_optional_and_in_range() {
        assert_eq!(validate_pain_set("", 3), Ok(None));
        assert_eq!(validate_pain_set(" 2 ", 3), Ok(Some(2)));
        for bad in ["0", "4", "two", "-1", "99999999999"] {
            assert_eq!(validate_pain_set(bad, 3).unwrap_err().field, "set", "{bad}");
        }
    }

    #[test]
    fn a_report_reads_as_what_and_where() {
        let report = PainReport {
            id: 1,
            round: 1,
            exercise: 0,
            name: "Back squat".into(),
            set: Some(2),
            note: "Left knee".into(),
            reported_at: 0,
            acknowledged_at: None,
        };
        assert_eq!(report.describe(), "Back squat, set 2: “Left knee”");
        assert_eq!(report.detail(), "set 2: “Left knee”");
        let whole = PainReport {
            set: None,
            ..report.clone()
        };
        assert_eq!(whole.describe(), "Back squat: “Left knee”");
        assert_eq!(whole.detail(), "“Left knee”");
        let plain = PainReport {
            note: String::new(),
            ..whole
        };
        assert_eq!(plain.describe(), "Back squat");
        assert_eq!(plain.detail(), "");
        let set_only = PainReport {
            note: String::new(),
            ..report
        };
        assert_eq!(set_only.describe(), "Back squat, set 2");
    }
}
