//! The idempotency key every mutation form carries (a hidden field, so the
//! no-JavaScript path has one too): a random id per submission, the same
//! for every retry of it. The server stores it with the answer in the
//! mutation's transaction (`server::idempotency`).

use super::FieldError;

/// The form field's name.
pub const IDEMPOTENCY_KEY_FIELD: &str = "idempotency_key";
/// Longest key accepted.
pub const IDEMPOTENCY_KEY_MAX_CHARS: usize = 64;
/// Shortest key accepted: shorter ones are too easy to reuse by accident.
pub const IDEMPOTENCY_KEY_MIN_CHARS: usize = 16;

/// `None` for no key (an API client that does not retry), the key if it is
/// 16 to 64 letters, digits, `-` or `_`, otherwise a field error.
pub fn validate_idempotency_key(value: &str) -> Result<Option<&str>, FieldError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    let len = value.chars().count();
    let valid = (IDEMPOTENCY_KEY_MIN_CHARS..=IDEMPOTENCY_KEY_MAX_CHARS).contains(&len)
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid {
        Ok(Some(value))
    } else {
        Err(FieldError::new(
            IDEMPOTENCY_KEY_FIELD,
            format!(
                "The idempotency key must be {IDEMPOTENCY_KEY_MIN_CHARS} to {IDEMPOTENCY_KEY_MAX_CHARS} letters, digits, - or _; reload the page and try again"
            ),
        ))
    }
}

/// A fresh key from 128 random bits (`random_u32` gives 32 at a time; the
/// server passes its CSPRNG, the browser `crypto.getRandomValues`).
pub fn new_idempotency_key(mut random_u32: impl FnMut() -> u32) -> String {
    (0..4).map(|_| format!("{:08x}", random_u32())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_optional_but_well_formed() {
        assert_eq!(validate_idempotency_key(""), Ok(None));
        assert_eq!(
            validate_idempotency_key("0123456789abcdef"),
            Ok(Some("0123456789abcdef"))
        );
        assert!(validate_idempotency_key("short").is_err());
        assert!(validate_idempotency_key(&"a".repeat(65)).is_err());
        assert!(validate_idempotency_key("0123456789abcdef'; DROP").is_err());
        let mut n = 0;
        let key = new_idempotency_key(|| {
            n += 1;
            n
        });
        assert_eq!(key, "00000001000000020000000300000004");
        assert!(validate_idempotency_key(&key).unwrap().is_some());
    }
}
