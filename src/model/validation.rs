//! How a form's text becomes a value: whole and decimal numbers in range,
//! bounded text without control characters, checkboxes; each refusal a
//! message naming the field.

use super::{format_number, limits::NOTES_MAX_CHARS, FieldError};

/// A whole number from `min` to `max`, or empty (`None`).
pub fn parse_whole(
    value: &str,
    field: String,
    what: &str,
    min: u32,
    max: u32,
) -> Result<Option<u32>, FieldError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    match value.parse::<u32>() {
        Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
        _ => Err(FieldError {
            field,
            message: format!("{what} must be a whole number from {min} to {max}"),
        }),
    }
}

/// A number from 0 to `max` in steps of `step` (a comma counts as the
/// decimal point), or empty (`None`).
pub fn parse_decimal(
    value: &str,
    field: String,
    what: &str,
    max: f64,
    step: f64,
) -> Result<Option<f64>, FieldError> {
    let value = value.trim().replace(',', ".");
    if value.is_empty() {
        return Ok(None);
    }
    let step_text = format_number(step);
    let error = || FieldError {
        field: field.clone(),
        message: format!(
            "{what} must be a number from 0 to {} in steps of {step_text}",
            format_number(max)
        ),
    };
    let n: f64 = value.parse().map_err(|_| error())?;
    let steps = n / step;
    if !n.is_finite() || !(0.0..=max).contains(&n) || (steps - steps.round()).abs() > 1e-9 {
        return Err(error());
    }
    Ok(Some(n))
}

/// Text trimmed, line breaks counted once, at most `max` characters, no
/// control characters but line breaks and tabs.
pub fn check_text(
    value: &str,
    field: String,
    what: &str,
    max: usize,
) -> Result<String, FieldError> {
    // A browser posts a textarea's line breaks as CRLF: one break each.
    let value = value.replace("\r\n", "\n");
    let value = value.trim();
    // NUL, escape sequences and the like never come from a keyboard; they
    // would be stored as they are (SQLite) or fail the insert (PostgreSQL).
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(FieldError {
            field,
            message: format!(
                "{what} cannot contain control characters (only line breaks and tabs)"
            ),
        });
    }
    if value.chars().count() > max {
        return Err(FieldError {
            field,
            message: format!("{what} must be at most {max} characters"),
        });
    }
    Ok(value.to_string())
}

/// A checkbox as a form posts it: absent (or `false`, `0`, empty) is off;
/// `on` (what a browser sends), `true` or `1` is on. Anything else is
/// refused, never guessed.
pub fn checkbox(value: Option<&str>, field: String, what: &str) -> Result<bool, FieldError> {
    match value.map(str::trim) {
        None | Some("" | "false" | "0" | "off") => Ok(false),
        Some("on" | "true" | "1") => Ok(true),
        Some(_) => Err(FieldError {
            field,
            message: format!("{what} is a checkbox: send on (or true, 1) or leave it out"),
        }),
    }
}

/// A cancel reason: optional, bounded.
pub fn validate_reason(reason: &str) -> Result<Option<String>, FieldError> {
    let reason = check_text(reason, "reason".into(), "The reason", NOTES_MAX_CHARS)?;
    Ok((!reason.is_empty()).then_some(reason))
}
