//! What a form shows from its action's answer: the message for a field,
//! the message for the form, and a count of successes (new idempotency
//! keys, refetches).

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
