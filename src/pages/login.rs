//! `/login`: email and password; returns to `?next=` afterwards.

use super::{field_error, general_error};
use crate::{api::auth::Login, app::Auth, components::field::Field};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

/// The login form.
#[component]
pub fn LoginPage() -> impl IntoView {
    let action = ServerAction::<Login>::new();
    expect_context::<Auth>().refresh_after(action);
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    view! {
        <Title text="Log in · spotter"/>
        <section class="card narrow">
            <h1>"Log in"</h1>
            <ActionForm action=action>
                <input type="hidden" name="next" value=next/>
                <Field
                    label="Email"
                    name="email"
                    kind="email"
                    autocomplete="username"
                    error=field_error(action.into(), "email")
                />
                <Field
                    label="Password"
                    name="password"
                    kind="password"
                    autocomplete="current-password"
                    error=field_error(action.into(), "password")
                />
                <p class="form-error" role="alert">{move || general_error(action.into()).get()}</p>
                <button type="submit" disabled=move || action.pending().get()>
                    "Log in"
                </button>
            </ActionForm>
            <p>"New to spotter? " <A href="/register">"Create an account"</A></p>
        </section>
    }
}
