//! One module per route, and the small helpers pages share.

pub mod dashboard;
pub mod history;
pub mod home;
pub mod login;
pub mod not_found;
pub mod register;
pub mod session_athlete;
pub mod session_trainer;

use crate::error::AppError;
use leptos::prelude::*;

/// The message for `field` from an action's last result.
pub(crate) fn field_error<I, O>(
    action: Action<I, Result<O, AppError>>,
    field: impl Into<String>,
) -> Signal<Option<String>>
where
    I: Send + Sync + 'static,
    O: Clone + Send + Sync + 'static,
{
    let field = field.into();
    Signal::derive(move || {
        action
            .value()
            .get()
            .and_then(|result| result.err())
            .and_then(|err| err.for_field(&field))
    })
}

/// The message not tied to a field from an action's last result.
pub(crate) fn general_error<I, O>(action: Action<I, Result<O, AppError>>) -> Signal<Option<String>>
where
    I: Send + Sync + 'static,
    O: Clone + Send + Sync + 'static,
{
    Signal::derive(move || {
        action
            .value()
            .get()
            .and_then(|result| result.err())
            .and_then(|err| err.general())
    })
}

/// A counter bumped each time `action` succeeds: resources keyed on it
/// refetch after a successful mutation, and only then, so a refused form
/// keeps what the user typed.
pub(crate) fn successes<I, O>(action: Action<I, Result<O, AppError>>) -> ReadSignal<u32>
where
    I: Send + Sync + 'static,
    O: Clone + Send + Sync + 'static,
{
    let (count, set_count) = signal(0u32);
    Effect::new(move |_| {
        if matches!(action.value().get(), Some(Ok(_))) {
            set_count.update(|n| *n += 1);
        }
    });
    count
}

/// Sets the HTTP status of a page rendered on the server (no-op in the
/// browser).
pub(crate) fn set_page_status(_status: u16) {
    #[cfg(feature = "ssr")]
    if let (Some(response), Ok(status)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        axum::http::StatusCode::from_u16(_status),
    ) {
        response.set_status(status);
    }
}

/// When a time (ms since the epoch) was, in UTC, as the server renders
/// it: `14:05 UTC` today, `24 Nov 2026, 14:05 UTC` on another day. In the
/// browser this is only the text hydration starts from; [`When`] replaces
/// it with the browser's own time zone and language.
///
/// [`When`]: crate::components::when::When
pub(crate) fn clock(ms: i64) -> String {
    #[cfg(feature = "ssr")]
    {
        use time::{macros::format_description, OffsetDateTime};
        if let Ok(at) = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000) {
            let formatted = if at.date() == OffsetDateTime::now_utc().date() {
                at.format(format_description!("[hour]:[minute] UTC"))
            } else {
                at.format(format_description!(
                    "[day padding:none] [month repr:short] [year], [hour]:[minute] UTC"
                ))
            };
            if let Ok(text) = formatted {
                return text;
            }
        }
    }
    let minutes = ms.div_euclid(60_000);
    format!(
        "{:02}:{:02} UTC",
        minutes.div_euclid(60).rem_euclid(24),
        minutes.rem_euclid(60)
    )
}
