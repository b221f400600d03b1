//! A mutation, declared once. The server function's own arguments (the
//! struct `#[server]` makes of them, e.g. `api::sets::LogSet`) are the
//! mutation: its endpoint is the server function's path, and its `impl`
//! here says which side may call it, which session it changes and what it
//! does ([`Mutation::apply`]: rule, SQL, events). [`run`] is the one path
//! every mutation takes through the writer and the unit of work; the
//! request around it (login, rate limit, idempotency key, status of an
//! error) is `server::mutate`.
//!
//! Adding a mutation: a `#[server]` function whose body is
//! `crate::server::mutate(TheArgs { … }).await`, one `impl Mutation` for
//! its arguments, and one `SessionEvent` variant.

use super::{
    work::{Begun, Scope, Work},
    writer::Writer,
};
use crate::{
    error::AppError,
    model::{rules, Side, User},
    server::{idempotency::Idempotency, limits::Attempt},
};
use leptos::server_fn::ServerFn;
use serde::{de::DeserializeOwned, Serialize};
use std::{future::Future, sync::Arc};

/// Which session a request changes: declared with the server function
/// (`api::mutation!`, after `in`), from its arguments.
pub trait Scoped {
    /// The session it changes.
    fn scope(&self) -> Scope;
}

/// A change to a training session: one server function's arguments.
pub trait Mutation: Scoped + ServerFn + Serialize + Send + Sync + 'static {
    /// The answer: stored under the request's idempotency key, given again
    /// to a repeat of it.
    type Answer: Serialize + DeserializeOwned + Send + Sync + 'static;

    /// The only side that may call it, and what it does in words (for the
    /// refusal: "Only the session's athlete can log sets"); `None`: either
    /// side (its rule decides).
    const SIDE: Option<(Side, &'static str)>;

    /// The rate limit a call by `user_id` counts against.
    fn attempt(user_id: i64) -> Attempt<'static> {
        Attempt::Change(user_id)
    }

    /// Checks its input and its rule, writes, appends its events: inside
    /// the unit of work, with the session locked and the side checked. A
    /// refusal undoes everything.
    fn apply(
        &self,
        work: &mut Work<'_, '_>,
    ) -> impl Future<Output = Result<Self::Answer, AppError>> + Send;

    /// Where a plain form post goes once it is done (none: back to the
    /// form's page).
    fn redirect(&self, _done: &Self::Answer) -> Option<String> {
        None
    }
}

/// Runs `mutation` for `user` through the writer: lock, replay a repeated
/// request, check the side, apply, store the answer, commit, publish.
#[tracing::instrument(name = "mutation", skip_all, fields(endpoint = M::PATH, user_id = user.id))]
pub async fn run<M: Mutation>(
    writer: &Writer,
    user: &User,
    mutation: Arc<M>,
    key: Option<Idempotency>,
) -> Result<M::Answer, AppError> {
    let user = user.clone();
    writer
        .run(move |tx| {
            Box::pin(async move {
                let scope = mutation.scope();
                let mut work = match Work::begin(tx, &user, scope, key.as_ref()).await? {
                    Begun::Open(work) => work,
                    Begun::Done(done) => return Ok(done),
                };
                if let Some((side, doing)) = M::SIDE {
                    rules::require_side(work.side, side, doing)?;
                }
                let value = mutation.apply(&mut work).await?;
                work.finish(value).await
            })
        })
        .await
}
