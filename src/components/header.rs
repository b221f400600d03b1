//! The top bar: the brand, and who is logged in with a log-out button.

use crate::components::auth::Auth;
use leptos::prelude::*;
use leptos_router::components::A;

/// Site header, on every page.
#[component]
pub fn Header() -> impl IntoView {
    let auth = expect_context::<Auth>();
    view! {
        <header class="site-header">
            <A href="/" attr:class="brand">"spotter"</A>
            <nav aria-label="Account">
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        match auth.user.await {
                            Ok(Some(user)) => view! {
                                <span class="who" data-testid="current-user">
                                    {user.display_name.clone()}
                                    <span class="role">{user.role.label()}</span>
                                </span>
                                <A href="/dashboard">"Dashboard"</A>
                                <ActionForm action=auth.logout attr:class="inline">
                                    <button type="submit" class="link">"Log out"</button>
                                </ActionForm>
                            }
                            .into_any(),
                            _ => view! {
                                <A href="/login">"Log in"</A>
                                <A href="/register">"Register"</A>
                            }
                            .into_any(),
                        }
                    })}
                </Transition>
            </nav>
        </header>
    }
}
