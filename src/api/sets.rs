//! Sets logged as they are done. A form of its own per set, so it posts
//! without JavaScript too; with it, the athlete's page sends it through its
//! outbox.
// `#[server]` writes the nine form fields into functions of its own, where
// an attribute on `log_set` does not reach.
#![allow(clippy::too_many_arguments)]

use crate::error::AppError;
use leptos::prelude::*;

/// The athlete logs a set of the released round as done ("Set done"), or
/// corrects one logged before: `exercise` is the exercise's position (0 is
/// the first), `set` the set's number (1 is the first), against the round
/// `revision` they saw. Empty values are allowed ("done as planned").
/// Returns whether the set was new.
#[server(endpoint = "sets/log", client = crate::live::client::Deadline)]
pub async fn log_set(
    #[server(default)] session_id: i64,
    #[server(default)] round_id: i64,
    #[server(default)] revision: i64,
    #[server(default)] exercise: i64,
    #[server(default)] set: i64,
    #[server(default)] reps: String,
    #[server(default)] load: String,
    #[server(default)] rpe: String,
    #[server(default)] idempotency_key: String,
) -> Result<bool, AppError> {
    use crate::{
        model::SetInput,
        server::{
            answer,
            idempotency::Idempotency,
            limit_changes, require_user, state,
            training::{self, SetRef},
        },
    };
    answer(
        async {
            let user = require_user()?;
            limit_changes(&user)?;
            let input = SetInput { reps, load, rpe };
            let at = SetRef {
                session_id,
                round_id,
                revision,
                exercise,
                set,
            };
            let key = Idempotency::from_request(
                &idempotency_key,
                "sets/log",
                &(session_id, round_id, revision, exercise, set, &input),
            )?;
            let outcome =
                training::log_set(state()?.store(), &user, at, &input, key.as_ref()).await?;
            Ok(outcome.value)
        }
        .await,
    )
}
