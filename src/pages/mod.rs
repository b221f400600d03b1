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

/// When a time (ms since the epoch) was, as `HH:MM UTC`: the same on server
/// and browser, so hydration never disagrees.
pub(crate) fn clock(ms: i64) -> String {
    let minutes = ms.div_euclid(60_000);
    format!(
        "{:02}:{:02} UTC",
        minutes.div_euclid(60).rem_euclid(24),
        minutes.rem_euclid(60)
    )
}
