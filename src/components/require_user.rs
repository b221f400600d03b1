//! Gate for pages that need a logged-in user: renders its content with the
//! user, or sends the visitor to `/login?next=<this page>` (a real 302 when
//! rendered on the server, a client navigation after hydration).

use crate::{components::auth::Auth, model::User};
use leptos::prelude::*;
use leptos_router::{components::Redirect, hooks::use_location};

/// Shows `children(user)` for a logged-in user, redirects to login otherwise.
#[component]
pub fn RequireUser<F, V>(children: F) -> impl IntoView
where
    F: Fn(User) -> V + Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let auth = expect_context::<Auth>();
    let location = use_location();
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || {
                let children = children.clone();
                Suspend::new(async move {
                    match auth.user.await {
                        Ok(Some(user)) => children(user).into_any(),
                        _ => {
                            let next = location.pathname.get_untracked();
                            view! { <Redirect path=format!("/login?next={}", encode_path(&next))/> }
                                .into_any()
                        }
                    }
                })
            }}
        </Suspense>
    }
}

/// Percent-encodes a path for use as a query value (keeps `/`).
fn encode_path(path: &str) -> String {
    path.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}
