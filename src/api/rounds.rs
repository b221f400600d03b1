//! Rounds: the trainer saves, releases and deletes them; the athlete
//! completes them with feedback. Without JavaScript each form posts and the
//! browser comes back to the page it was on, showing the new state.

use crate::{
    error::AppError,
    model::{ExerciseInput, FeedbackInput},
};
use leptos::prelude::*;

/// Creates (empty `round_id`) or edits a round: its exercises in order and
/// whether it is the final one. `row_action` is the button pressed, if any:
/// a row's (`remove:2`, `up:1`, `down:0`), applied before saving, or
/// `release`, which saves the round as it is on screen and releases it in
/// the same transaction. Returns the round's id.
#[server(endpoint = "rounds/save", client = crate::live::client::Deadline)]
pub async fn save_round(
    #[server(default)] session_id: i64,
    #[server(default)] round_id: String,
    #[server(default)] exercises: Vec<ExerciseInput>,
    #[server(default)] is_final: Option<String>,
    #[server(default)] row_action: String,
    #[server(default)] idempotency_key: String,
) -> Result<i64, AppError> {
    use crate::{
        model::{apply_row_action, checkbox, validate_round, RELEASE_ACTION},
        server::{answer, idempotency::Idempotency, limit_changes, require_user, state, training},
    };
    answer(
        async {
            let user = require_user()?;
            limit_changes(&user)?;
            let key = Idempotency::from_request(
                &idempotency_key,
                "rounds/save",
                &(session_id, &round_id, &exercises, &is_final, &row_action),
            )?;
            let round_id = match round_id.trim() {
                "" => None,
                id => Some(
                    id.parse::<i64>()
                        .map_err(|_| AppError::NotFound("There is no such round".into()))?,
                ),
            };
            let exercises = validate_round(&apply_row_action(exercises, &row_action))?;
            let is_final = checkbox(is_final.as_deref(), "is_final".into(), "Final round")?;
            let release = row_action == RELEASE_ACTION;
            let outcome = training::save_round(
                state()?.store(),
                &user,
                session_id,
                round_id,
                &exercises,
                is_final,
                release,
                key.as_ref(),
            )
            .await?;
            Ok(outcome.value)
        }
        .await,
    )
}

/// Releases a draft round to the athlete.
#[server(endpoint = "rounds/release", client = crate::live::client::Deadline)]
pub async fn release_round(
    #[server(default)] session_id: i64,
    #[server(default)] round_id: i64,
    #[server(default)] idempotency_key: String,
) -> Result<(), AppError> {
    use crate::server::{
        answer, idempotency::Idempotency, limit_changes, require_user, state, training,
    };
    answer(
        async {
            let user = require_user()?;
            limit_changes(&user)?;
            let key = Idempotency::from_request(
                &idempotency_key,
                "rounds/release",
                &(session_id, round_id),
            )?;
            training::release_round(state()?.store(), &user, session_id, round_id, key.as_ref())
                .await
                .map(|_| ())
        }
        .await,
    )
}

/// Deletes a round that is not completed.
#[server(endpoint = "rounds/delete", client = crate::live::client::Deadline)]
pub async fn delete_round(
    #[server(default)] session_id: i64,
    #[server(default)] round_id: i64,
    #[server(default)] idempotency_key: String,
) -> Result<(), AppError> {
    use crate::server::{
        answer, idempotency::Idempotency, limit_changes, require_user, state, training,
    };
    answer(
        async {
            let user = require_user()?;
            limit_changes(&user)?;
            let key = Idempotency::from_request(
                &idempotency_key,
                "rounds/delete",
                &(session_id, round_id),
            )?;
            training::delete_round(state()?.store(), &user, session_id, round_id, key.as_ref())
                .await
                .map(|_| ())
        }
        .await,
    )
}

/// The athlete completes the released round: feedback for each exercise, in
/// order, against the round `revision` they saw. Returns whether that
/// completed the session.
#[server(endpoint = "rounds/complete", client = crate::live::client::Deadline)]
pub async fn complete_round(
    #[server(default)] session_id: i64,
    #[server(default)] round_id: i64,
    #[server(default)] revision: i64,
    #[server(default)] feedback: Vec<FeedbackInput>,
    #[server(default)] idempotency_key: String,
) -> Result<bool, AppError> {
    use crate::server::{
        answer, idempotency::Idempotency, limit_changes, require_user, state, training,
    };
    answer(
        async {
            let user = require_user()?;
            limit_changes(&user)?;
            let key = Idempotency::from_request(
                &idempotency_key,
                "rounds/complete",
                &(session_id, round_id, revision, &feedback),
            )?;
            let outcome = training::complete_round(
                state()?.store(),
                &user,
                session_id,
                round_id,
                revision,
                &feedback,
                key.as_ref(),
            )
            .await?;
            Ok(outcome.value)
        }
        .await,
    )
}
