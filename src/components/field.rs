//! A labelled form input with its error tied to it (`aria-describedby`), so
//! screen readers read the message with the field.

use leptos::prelude::*;
use std::collections::HashMap;

/// What a person has typed into a form that the page may re-render (a live
/// update refetches the data under it): fields read their starting value
/// from here and write every keystroke back, so nothing typed is lost.
#[derive(Clone, Copy)]
pub struct Drafts(RwSignal<HashMap<String, String>>);

impl Drafts {
    /// An empty store, owned by the calling component.
    pub fn new() -> Self {
        Drafts(RwSignal::new(HashMap::new()))
    }

    /// The typed value for `key`, or `default` if nothing was typed.
    pub fn value(&self, key: &str, default: String) -> String {
        self.0
            .with_untracked(|m| m.get(key).cloned())
            .unwrap_or(default)
    }

    /// Records what was typed.
    pub fn set(&self, key: String, value: String) {
        self.0.update_untracked(|m| {
            m.insert(key, value);
        });
    }

    /// Forgets everything (after the form was saved).
    pub fn clear(&self) {
        self.0.update_untracked(HashMap::clear);
    }
}

impl Default for Drafts {
    fn default() -> Self {
        Drafts::new()
    }
}

/// An HTML id made from a form name: `exercises[0][reps]` → `field-exercises-0-reps`.
pub fn field_id(name: &str) -> String {
    let mut id = String::from("field-");
    let mut last_dash = true;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            id.push(c);
            last_dash = false;
        } else if !last_dash {
            id.push('-');
            last_dash = true;
        }
    }
    id.trim_end_matches('-').to_string()
}

/// One labelled input and the message about it.
#[component]
pub fn Field(
    /// Visible label.
    #[prop(into)]
    label: String,
    /// The form field's `name` (the server function's argument).
    #[prop(into)]
    name: String,
    /// Input type: text, email, password, number.
    #[prop(default = "text")]
    kind: &'static str,
    /// Initial value.
    #[prop(optional, into)]
    value: String,
    /// Browser autofill hint.
    #[prop(optional)]
    autocomplete: Option<&'static str>,
    /// Short help shown under the label.
    #[prop(optional)]
    hint: Option<&'static str>,
    /// Maximum length the browser lets people type.
    #[prop(optional)]
    maxlength: Option<usize>,
    /// For numbers: smallest, largest, step, as the server checks them.
    #[prop(optional)]
    range: Option<(f64, f64, f64)>,
    /// The message about this field, if any.
    #[prop(into)]
    error: Signal<Option<String>>,
    /// Keep what is typed across re-renders, under `scope` + `name`.
    #[prop(optional)]
    drafts: Option<(Drafts, String)>,
) -> impl IntoView {
    let id = field_id(&name);
    let draft_key = drafts.as_ref().map(|(_, scope)| format!("{scope}{name}"));
    let value = match (&drafts, &draft_key) {
        (Some((store, _)), Some(key)) => store.value(key, value),
        _ => value,
    };
    let on_input = move |ev: leptos::ev::Event| {
        if let (Some((store, _)), Some(key)) = (&drafts, &draft_key) {
            store.set(key.clone(), event_target_value(&ev));
        }
    };
    let hint_id = format!("{id}-hint");
    let error_id = format!("{id}-error");
    let described_by = match hint {
        Some(_) => format!("{hint_id} {error_id}"),
        None => error_id.clone(),
    };
    let (min, max, step) = match range {
        Some((min, max, step)) => (Some(min), Some(max), Some(step)),
        None => (None, None, None),
    };
    let inputmode = range.map(|(_, _, step)| {
        if step.fract() == 0.0 {
            "numeric"
        } else {
            "decimal"
        }
    });
    view! {
        <div class="field" class:has-error=move || error.get().is_some()>
            <label for=id.clone()>{label}</label>
            {hint.map(|hint| view! { <p class="hint" id=hint_id.clone()>{hint}</p> })}
            <input
                id=id
                name=name
                type=kind
                value=value
                autocomplete=autocomplete
                maxlength=maxlength
                min=min
                max=max
                step=step
                inputmode=inputmode
                aria-invalid=move || if error.get().is_some() { "true" } else { "false" }
                aria-describedby=described_by
                on:input=on_input
            />
            <p class="field-error" id=error_id role="alert">
                {move || error.get()}
            </p>
        </div>
    }
}
