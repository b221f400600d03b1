//! Training sessions: start, join, cancel, and the dashboard and session
//! queries the pages render.

use crate::{
    error::AppError,
    model::{Dashboard, SessionView},
};
use leptos::prelude::*;

/// The logged-in user's dashboard.
#[server(endpoint = "dashboard", client = crate::live::client::Deadline)]
pub async fn load_dashboard() -> Result<Dashboard, AppError> {
    use crate::server::{answer, require_user, state, training};
    answer(async { training::dashboard(&state()?.db, &require_user()?).await }.await)
}

/// A session as the logged-in participant sees it.
#[server(endpoint = "sessions/view", client = crate::live::client::Deadline)]
pub async fn load_session(#[server(default)] session_id: i64) -> Result<SessionView, AppError> {
    use crate::server::{answer, require_user, state, training};
    answer(async { training::session_view(&state()?.db, &require_user()?, session_id).await }.await)
}

/// The exercise names the logged-in trainer used before, most recent
/// first: the round builder suggests them (an HTML `datalist`). Empty for
/// athletes.
#[server(endpoint = "exercises/names", client = crate::live::client::Deadline)]
pub async fn exercise_names() -> Result<Vec<String>, AppError> {
    use crate::server::{answer, require_user, state, training};
    answer(async { training::exercise_names(&state()?.db, &require_user()?).await }.await)
}

/// An athlete starts a session with a trainer, then goes to it.
#[server(endpoint = "sessions/start", client = crate::live::client::Deadline)]
pub async fn start_session(
    #[server(default)] trainer_id: String,
    #[server(default)] idempotency_key: String,
) -> Result<i64, AppError> {
    use crate::server::{
        answer, idempotency::Idempotency, limit, limits::Attempt, require_user, state, training,
    };
    answer(
        async {
            let user = require_user()?;
            limit(Attempt::Start(user.id))?;
            let trainer_id = trainer_id
                .trim()
                .parse::<i64>()
                .map_err(|_| AppError::invalid("trainer_id", "Choose one of the trainers"))?;
            let key = Idempotency::from_request(&idempotency_key, "sessions/start", &trainer_id)?;
            let outcome =
                training::start_session(state()?.store(), &user, trainer_id, key.as_ref()).await?;
            leptos_axum::redirect(&format!("/sessions/{}", outcome.value));
            Ok(outcome.value)
        }
        .await,
    )
}

/// The trainer joins a waiting session, then goes to the trainer's view.
#[server(endpoint = "sessions/join", client = crate::live::client::Deadline)]
pub async fn join_session(
    #[server(default)] session_id: i64,
    #[server(default)] idempotency_key: String,
) -> Result<(), AppError> {
    use crate::server::{
        answer, idempotency::Idempotency, limit_changes, require_user, state, training,
    };
    answer(
        async {
            let user = require_user()?;
            limit_changes(&user)?;
            let key = Idempotency::from_request(&idempotency_key, "sessions/join", &session_id)?;
            training::join_session(state()?.store(), &user, session_id, key.as_ref()).await?;
            leptos_axum::redirect(&format!("/sessions/{session_id}/trainer"));
            Ok(())
        }
        .await,
    )
}

/// Either side ends the session early, with an optional reason, and goes
/// back to the dashboard.
#[server(endpoint = "sessions/cancel", client = crate::live::client::Deadline)]
pub async fn cancel_session(
    #[server(default)] session_id: i64,
    #[server(default)] reason: String,
    #[server(default)] idempotency_key: String,
) -> Result<(), AppError> {
    use crate::{
        model::validate_reason,
        server::{answer, idempotency::Idempotency, limit_changes, require_user, state, training},
    };
    answer(
        async {
            let user = require_user()?;
            limit_changes(&user)?;
            let reason = validate_reason(&reason)?;
            let key = Idempotency::from_request(
                &idempotency_key,
                "sessions/cancel",
                &(session_id, &reason),
            )?;
            training::cancel_session(state()?.store(), &user, session_id, reason, key.as_ref())
                .await?;
            leptos_axum::redirect(&format!("/dashboard?cancelled={session_id}"));
            Ok(())
        }
        .await,
    )
}
