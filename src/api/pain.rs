//! Pain as an alert: the athlete reports it on an exercise or a set at any
//! moment of a round; the trainer acknowledges it.

use crate::error::AppError;
use leptos::prelude::*;

/// The athlete reports pain on exercise `exercise` (its position, 0 first)
/// of round `round_id`, in set `set` (empty: the exercise as a whole), with
/// an optional `note`. Returns the report's id.
#[server(endpoint = "pain/report", client = crate::live::client::Deadline)]
pub async fn report_pain(
    #[server(default)] session_id: i64,
    #[server(default)] round_id: i64,
    #[server(default)] exercise: i64,
    #[server(default)] set: String,
    #[server(default)] note: String,
    #[server(default)] idempotency_key: String,
) -> Result<i64, AppError> {
    use crate::server::{
        answer,
        idempotency::Idempotency,
        limit_changes, require_user, state,
        training::{self, PainInput},
    };
    answer(
        async {
            let user = require_user()?;
            limit_changes(&user)?;
            let key = Idempotency::from_request(
                &idempotency_key,
                "pain/report",
                &(session_id, round_id, exercise, &set, &note),
            )?;
            let input = PainInput {
                round_id,
                exercise,
                set,
                note,
            };
            let outcome =
                training::report_pain(state()?.store(), &user, session_id, &input, key.as_ref())
                    .await?;
            Ok(outcome.value)
        }
        .await,
    )
}

/// The trainer acknowledges pain report `report_id`: the alert goes, and
/// the athlete sees the trainer saw it.
#[server(endpoint = "pain/acknowledge", client = crate::live::client::Deadline)]
pub async fn acknowledge_pain(
    #[server(default)] session_id: i64,
    #[server(default)] report_id: i64,
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
                "pain/acknowledge",
                &(session_id, report_id),
            )?;
            training::acknowledge_pain(state()?.store(), &user, session_id, report_id, key.as_ref())
                .await
                .map(|_| ())
        }
        .await,
    )
}
