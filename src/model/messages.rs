//! Messages in a session's thread, as typed, and their check.

use super::{limits::MESSAGE_MAX_CHARS, validation::check_text, FieldError};

/// The form field a message is typed in.
pub const MESSAGE_FIELD: &str = "body";

/// What an athlete says between sets, one tap each on the phone (each is a
/// normal message).
pub const QUICK_REPLIES: [&str; 5] = ["Ready", "Need more rest", "Too heavy", "Too light", "Done"];

/// A message as typed: trimmed, 1 to [`MESSAGE_MAX_CHARS`] characters
/// (counted as typed, refused over the limit, never cut), no control
/// characters but line breaks and tabs.
pub fn validate_message(body: &str) -> Result<String, FieldError> {
    let text = check_text(body, MESSAGE_FIELD.into(), "A message", MESSAGE_MAX_CHARS)?;
    if text.is_empty() {
        return Err(FieldError::new(MESSAGE_FIELD, "Write a message first"));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_trimmed_text_of_one_to_two_thousand_characters() {
        assert_eq!(validate_message("  Ready \n").unwrap(), "Ready");
        assert_eq!(
            validate_message("knee\r\nfeels odd").unwrap(),
            "knee\nfeels odd"
        );
        assert_eq!(
            validate_message(&"ä".repeat(2000)).unwrap().chars().count(),
            2000
        );
        for bad in ["", "   \n ", "beep\u{7}", "\u{1b}[31mred"] {
            assert_eq!(validate_message(bad).unwrap_err().field, "body", "{bad:?}");
        }
        let over = validate_message(&"a".repeat(2001)).unwrap_err();
        assert_eq!(over.message, "A message must be at most 2000 characters");
        assert_eq!(
            validate_message("<script>x</script>").unwrap(),
            "<script>x</script>"
        );
    }
}
