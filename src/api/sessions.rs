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

mutation! {
    /// An athlete starts a session with a trainer, then goes to it.
    #[server(endpoint = "sessions/start")]
    pub async fn start_session(
        trainer_id: String,
        idempotency_key: String,
    ) -> i64 as StartSession in new_session;

    /// The trainer joins a waiting session, then goes to the trainer's view.
    #[server(endpoint = "sessions/join")]
    pub async fn join_session(
        session_id: i64,
        idempotency_key: String,
    ) -> () as JoinSession in session_id;

    /// Either side ends the session early, with an optional reason, and goes
    /// back to the dashboard.
    #[server(endpoint = "sessions/cancel")]
    pub async fn cancel_session(
        session_id: i64,
        reason: String,
        idempotency_key: String,
    ) -> () as CancelSession in session_id;
}
