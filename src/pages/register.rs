//! `/register`: create a trainer or athlete account.

use crate::components::forms::{field_error, general_error};
use crate::{
    api::auth::Register,
    components::auth::Auth,
    components::field::Field,
    model::{NAME_MAX_CHARS, PASSWORD_MAX_CHARS},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

/// The registration form.
#[component]
pub fn RegisterPage() -> impl IntoView {
    let action = ServerAction::<Register>::new();
    expect_context::<Auth>().refresh_after(action);
    let role_error = field_error(action.into(), "role");
    view! {
        <Title text="Create an account · spotter"/>
        <section class="card narrow">
            <h1>"Create your account"</h1>
            <ActionForm action=action>
                <Field
                    label="Your name"
                    name="display_name"
                    autocomplete="name"
                    maxlength=NAME_MAX_CHARS
                    error=field_error(action.into(), "display_name")
                />
                <Field
                    label="Email"
                    name="email"
                    kind="email"
                    autocomplete="email"
                    error=field_error(action.into(), "email")
                />
                <Field
                    label="Password"
                    name="password"
                    kind="password"
                    autocomplete="new-password"
                    hint="At least 8 characters"
                    maxlength=PASSWORD_MAX_CHARS
                    error=field_error(action.into(), "password")
                />
                <fieldset class="field choices" aria-describedby="field-role-error">
                    <legend>"I am"</legend>
                    <label class="choice">
                        <input type="radio" name="role" value="trainer"/>
                        " a trainer"
                    </label>
                    <label class="choice">
                        <input type="radio" name="role" value="athlete"/>
                        " an athlete"
                    </label>
                    <p class="field-error" id="field-role-error" role="alert">
                        {move || role_error.get()}
                    </p>
                </fieldset>
                <p class="form-error" role="alert">{move || general_error(action.into()).get()}</p>
                <button type="submit" disabled=move || action.pending().get()>
                    "Create account"
                </button>
            </ActionForm>
            <p>"Already have an account? " <A href="/login">"Log in"</A></p>
        </section>
    }
}
