//! `/`: what spotter is, and the way in.

use crate::components::auth::Auth;
use leptos::prelude::*;
use leptos_router::components::A;

/// The landing page.
#[component]
pub fn HomePage() -> impl IntoView {
    let auth = expect_context::<Auth>();
    view! {
        <section class="hero">
            <h1>"Train together, live."</h1>
            <p class="lead">
                "The trainer builds a round on the laptop, the athlete sees it at once on the phone, "
                "does it, and sends back how it went. Round by round, not \"log it later\"."
            </p>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match auth.user.await {
                        Ok(Some(_)) => view! {
                            <p><A href="/dashboard" attr:class="button">"Go to your dashboard"</A></p>
                        }
                        .into_any(),
                        _ => view! {
                            <p class="actions">
                                <A href="/register" attr:class="button">"Create an account"</A>
                                <A href="/login" attr:class="button secondary">"Log in"</A>
                            </p>
                        }
                        .into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}
