//! The logged-in user, shared by the header and the pages, and the log-out
//! action: one context, provided by the app's layout.

use crate::{
    api::auth::{current_user, Logout},
    error::AppError,
    model::User,
};
use leptos::prelude::*;

/// The logged-in user, shared by the header and pages, and the log-out
/// action (the header's button).
///
/// Login and register actions belong to their pages (inside `<Routes>`, where
/// a failed form post without JavaScript finds its error in the URL); they
/// call [`Auth::changed`] on success so the user is fetched again.
#[derive(Clone, Copy)]
pub struct Auth {
    /// Log out.
    pub logout: ServerAction<Logout>,
    /// Who is logged in, if anyone.
    pub user: Resource<Result<Option<User>, AppError>>,
    logins: RwSignal<u32>,
}

impl Auth {
    /// The context for the app's layout: the user, fetched again after a
    /// log-out and after [`Auth::refresh_after`]'s actions succeed.
    pub fn provide() -> Auth {
        let logout = ServerAction::<Logout>::new();
        let logins = RwSignal::new(0);
        let user = Resource::new(
            move || (logins.get(), logout.version().get()),
            |_| current_user(),
        );
        let auth = Auth {
            logout,
            user,
            logins,
        };
        provide_context(auth);
        auth
    }

    /// Refetches the user after `action` succeeds (client side; without
    /// JavaScript every form post reloads the page anyway).
    pub fn refresh_after<I, O>(self, action: ServerAction<I>)
    where
        I: leptos::server_fn::ServerFn<Output = O, Error = AppError>
            + Clone
            + Send
            + Sync
            + 'static,
        O: Clone + Send + Sync + 'static,
    {
        Effect::new(move |_| {
            if matches!(action.value().get(), Some(Ok(_))) {
                self.logins.update(|n| *n += 1);
            }
        });
    }
}
