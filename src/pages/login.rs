//! `/login`: email and password; returns to `?next=` afterwards. Without
//! JavaScript a refused login comes back here with the email still typed
//! and the message under its field (see [`login_failed`]).

use crate::{
    api::auth::{login_failed, Login},
    components::{
        auth::Auth,
        field::Field,
        forms::{field_error, general_error},
    },
    model::LoginFailed,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

/// The login form.
#[component]
pub fn LoginPage() -> impl IntoView {
    let action = ServerAction::<Login>::new();
    expect_context::<Auth>().refresh_after(action);
    let failed = Resource::new(|| (), |_| login_failed());
    view! {
        <Title text="Log in · spotter"/>
        <section class="card narrow">
            <h1>"Log in"</h1>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let failed = failed.await.ok().flatten();
                    view! { <LoginForm action failed/> }
                })}
            </Suspense>
            <p>"New to spotter? " <A href="/register">"Create an account"</A></p>
        </section>
    }
}

#[component]
fn LoginForm(action: ServerAction<Login>, failed: Option<LoginFailed>) -> impl IntoView {
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    let email = failed.as_ref().map(|f| f.email.clone()).unwrap_or_default();
    // The refusal of a plain form post, until this form is sent again.
    let earlier = StoredValue::new(failed);
    let error = move |field: &'static str| {
        let from_action = field_error(action.into(), field);
        Signal::derive(move || {
            if action.value().with(Option::is_some) {
                from_action.get()
            } else {
                earlier.with_value(|f| {
                    f.as_ref()
                        .filter(|f| f.field == field)
                        .map(|f| f.message.clone())
                })
            }
        })
    };
    view! {
        <ActionForm action=action>
            <input type="hidden" name="next" value=next/>
            <Field
                label="Email"
                name="email"
                kind="email"
                value=email
                autocomplete="username"
                error=error("email")
            />
            <Field
                label="Password"
                name="password"
                kind="password"
                autocomplete="current-password"
                error=error("password")
            />
            <p class="form-error" role="alert">{move || general_error(action.into()).get()}</p>
            <button type="submit" disabled=move || action.pending().get()>
                "Log in"
            </button>
        </ActionForm>
    }
}
