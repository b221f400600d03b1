//! A labelled form input with its error tied to it (`aria-describedby`), so
//! screen readers read the message with the field.

use crate::{
    live::storage,
    model::{new_idempotency_key, IDEMPOTENCY_KEY_FIELD},
};
use leptos::prelude::*;
use std::collections::HashMap;

/// What a person has typed into a form that the page may re-render (a live
/// update refetches the data under it): fields read their starting value
/// from here and write every keystroke back, so nothing typed is lost.
///
/// A persisted store also keeps every keystroke in the browser's
/// `localStorage` under its key, so a reload, a crash or the OS killing the
/// tab loses nothing either; fields restore it when the page hydrates.
#[derive(Clone, Copy)]
pub struct Drafts {
    typed: RwSignal<HashMap<String, String>>,
    storage_key: StoredValue<Option<String>>,
    /// What each form sent last (by key), so that its success forgets only
    /// what the server now has, not what was typed while it was on its way.
    sent: StoredValue<HashMap<String, String>>,
    /// Fields edited since their form was last sent: the server's message
    /// about them is hidden (it is about the old value), across re-renders.
    edited: RwSignal<std::collections::HashSet<String>>,
}

impl Drafts {
    /// An empty store, owned by the calling component.
    pub fn new() -> Self {
        Drafts {
            typed: RwSignal::new(HashMap::new()),
            storage_key: StoredValue::new(None),
            sent: StoredValue::new(HashMap::new()),
            edited: RwSignal::new(Default::default()),
        }
    }

    /// A store kept in `localStorage` under `storage_key` (in the browser;
    /// on the server it starts empty, like [`Drafts::new`]).
    pub fn persisted(storage_key: String) -> Self {
        let typed = storage::load(&storage_key)
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default();
        Drafts {
            typed: RwSignal::new(typed),
            storage_key: StoredValue::new(Some(storage_key)),
            sent: StoredValue::new(HashMap::new()),
            edited: RwSignal::new(Default::default()),
        }
    }

    /// The typed value for `key`, or `default` if nothing was typed.
    pub fn value(&self, key: &str, default: String) -> String {
        self.typed
            .with_untracked(|m| m.get(key).cloned())
            .unwrap_or(default)
    }

    /// Records what was typed.
    pub fn set(&self, key: String, value: String) {
        self.typed.update_untracked(|m| {
            m.insert(key, value);
        });
        self.save();
    }

    /// Forgets everything (after the server accepted the form).
    pub fn clear(&self) {
        self.typed.update_untracked(HashMap::clear);
        if let Some(key) = self.storage_key.get_value() {
            storage::remove(&key);
        }
    }

    /// The form with keys starting with `scope` is being sent: remembers
    /// what it sends, and shows the server's messages about its fields
    /// again.
    pub fn sending(&self, scope: &str) {
        let typed = self.typed.with_untracked(|m| {
            m.iter()
                .filter(|(key, _)| key.starts_with(scope))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<Vec<_>>()
        });
        self.sent.update_value(|sent| {
            sent.retain(|key, _| !key.starts_with(scope));
            sent.extend(typed);
        });
        self.edited
            .update(|edited| edited.retain(|key| !key.starts_with(scope)));
    }

    /// The server accepted the form with keys starting with `scope`:
    /// forgets what it sent, keeping anything typed since.
    pub fn accepted(&self, scope: &str) {
        let sent = self.sent.with_value(|sent| {
            sent.iter()
                .filter(|(key, _)| key.starts_with(scope))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<HashMap<_, _>>()
        });
        self.typed.update_untracked(|m| {
            m.retain(|key, value| !key.starts_with(scope) || sent.get(key) != Some(value))
        });
        self.sent
            .update_value(|sent| sent.retain(|key, _| !key.starts_with(scope)));
        self.save();
    }

    /// Whether field `key` was edited since its form was last sent.
    fn edited(&self, key: &str) -> bool {
        self.edited.with(|edited| edited.contains(key))
    }

    fn mark_edited(&self, key: &str) {
        if !self.edited.with_untracked(|edited| edited.contains(key)) {
            self.edited.update(|edited| {
                edited.insert(key.to_string());
            });
        }
    }

    fn save(&self) {
        if let Some(key) = self.storage_key.get_value() {
            let text = self
                .typed
                .with_untracked(|m| serde_json::to_string(m).unwrap_or_default());
            storage::store(&key, &text);
        }
    }
}

impl Default for Drafts {
    fn default() -> Self {
        Drafts::new()
    }
}

/// A fresh idempotency key: the browser's `crypto.getRandomValues`, the
/// server's `rand`.
pub fn fresh_key() -> String {
    #[cfg(feature = "hydrate")]
    {
        let mut bytes = [0u8; 16];
        let filled = web_sys::window()
            .and_then(|w| w.crypto().ok())
            .is_some_and(|c| c.get_random_values_with_u8_array(&mut bytes).is_ok());
        let mut i = 0;
        new_idempotency_key(|| {
            i += 4;
            if filled {
                u32::from_le_bytes([bytes[i - 4], bytes[i - 3], bytes[i - 2], bytes[i - 1]])
            } else {
                (js_sys::Math::random() * f64::from(u32::MAX)) as u32
            }
        })
    }
    #[cfg(all(feature = "ssr", not(feature = "hydrate")))]
    {
        new_idempotency_key(rand::random::<u32>)
    }
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    {
        // The benchmark build renders no pages; std's per-process random
        // hash keys are enough.
        use std::hash::{BuildHasher, Hasher};
        new_idempotency_key(|| {
            std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish() as u32
        })
    }
}

/// The hidden idempotency key of a mutation form: one per submission, the
/// same for every retry of it, a new one each time `renew` changes (after
/// the server accepted the form). Rendered by the server too, so a plain
/// HTML post carries one.
#[component]
pub fn IdempotencyKey(#[prop(into)] renew: Signal<u32>) -> impl IntoView {
    view! {
        <input type="hidden" name=IDEMPOTENCY_KEY_FIELD value=move || {
            renew.track();
            fresh_key()
        }/>
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

/// How long a text may be, counted as the server counts it (characters of
/// the trimmed text): from 80 % of the limit the field shows a live count,
/// and over it a message naming the field. The browser then refuses to
/// submit the form (the field is marked invalid with the same message), so
/// nothing is cut: the person shortens it.
#[derive(Clone, Copy)]
struct Length {
    max: usize,
    label: StoredValue<String>,
    count: RwSignal<usize>,
}

impl Length {
    fn new(max: usize, label: &str, text: &str) -> Self {
        Length {
            max,
            label: StoredValue::new(label.trim_end_matches(" (optional)").to_string()),
            count: RwSignal::new(Self::count_of(text)),
        }
    }

    fn count_of(text: &str) -> usize {
        text.trim().chars().count()
    }

    /// The message when `count` is over the limit.
    fn too_long(&self, count: usize) -> Option<String> {
        (count > self.max).then(|| {
            format!(
                "{} is {count} characters, {} over the limit of {}: shorten it to send",
                self.label.get_value(),
                count - self.max,
                self.max
            )
        })
    }

    /// The count near the limit, or the message over it.
    fn note(self) -> Option<String> {
        let count = self.count.get();
        self.too_long(count).or_else(|| {
            (count * 5 >= self.max * 4).then(|| format!("{count} of {} characters", self.max))
        })
    }

    /// After typing `text` into `target`: the new count, and the field's
    /// validity (the browser blocks the submit while it is too long).
    fn typed(self, target: Option<web_sys::EventTarget>, text: &str) {
        let count = Self::count_of(text);
        self.count.set(count);
        set_validity(target, &self.too_long(count).unwrap_or_default());
    }
}

fn count_class(over: bool) -> &'static str {
    if over {
        "char-count over"
    } else {
        "char-count"
    }
}

/// Marks an input or textarea invalid with `message` ("" makes it valid).
fn set_validity(target: Option<web_sys::EventTarget>, message: &str) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        match target {
            Some(t) if t.is_instance_of::<web_sys::HtmlInputElement>() => t
                .unchecked_into::<web_sys::HtmlInputElement>()
                .set_custom_validity(message),
            Some(t) if t.is_instance_of::<web_sys::HtmlTextAreaElement>() => t
                .unchecked_into::<web_sys::HtmlTextAreaElement>()
                .set_custom_validity(message),
            _ => {}
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (target, message);
}

/// The error shown under a field: the server's message about it, until
/// the person edits the field again. A field whose form keeps drafts
/// remembers that across re-renders (a live update must not bring a fixed
/// field's message back); others until the message changes.
fn shown_error(
    error: Signal<Option<String>>,
    drafts: Option<(Drafts, String)>,
) -> (Signal<Option<String>>, Callback<()>) {
    match drafts {
        Some((store, key)) => {
            let seen = key.clone();
            let shown = Signal::derive(move || {
                if store.edited(&seen) {
                    None
                } else {
                    error.get()
                }
            });
            (shown, Callback::new(move |_| store.mark_edited(&key)))
        }
        None => {
            let edited = RwSignal::new(false);
            Effect::new(move |_| {
                error.track();
                edited.set(false);
            });
            let shown = Signal::derive(move || if edited.get() { None } else { error.get() });
            (shown, Callback::new(move |_| edited.set(true)))
        }
    }
}

/// The id of field `name` in the form whose drafts scope is `scope` ("" for
/// a form that is alone on its page): ids stay unique when two forms with
/// the same field names share a page.
pub fn scoped_id(scope: &str, name: &str) -> String {
    field_id(&format!("{scope}{name}"))
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
    /// Longest text the server accepts (characters): a count near it, a
    /// message over it (see [`Length`]).
    #[prop(optional)]
    maxlength: Option<usize>,
    /// For numbers: smallest, largest, step, as the server checks them.
    #[prop(optional)]
    range: Option<(f64, f64, f64)>,
    /// The id of a `<datalist>` whose options the browser suggests.
    #[prop(optional)]
    list: Option<&'static str>,
    /// The message about this field, if any.
    #[prop(into)]
    error: Signal<Option<String>>,
    /// Keep what is typed across re-renders, under `scope` + `name`; the
    /// scope also makes the field's id unique on the page.
    #[prop(optional)]
    drafts: Option<(Drafts, String)>,
) -> impl IntoView {
    let id = scoped_id(drafts.as_ref().map_or("", |(_, scope)| scope), &name);
    let draft_key = drafts.as_ref().map(|(_, scope)| format!("{scope}{name}"));
    // Counted from the server's value, the same on both sides at hydration;
    // a restored draft is counted once the page runs (the effect below).
    let length = maxlength.map(|max| Length::new(max, &label, &value));
    let value = match (&drafts, &draft_key) {
        (Some((store, _)), Some(key)) => store.value(key, value),
        _ => value,
    };
    let (error, edited) = shown_error(
        error,
        drafts
            .as_ref()
            .zip(draft_key.as_ref())
            .map(|((store, _), key)| (*store, key.clone())),
    );
    let on_input = move |ev: leptos::ev::Event| {
        let text = event_target_value(&ev);
        edited.run(());
        if let Some(length) = length {
            length.typed(ev.target(), &text);
        }
        if let (Some((store, _)), Some(key)) = (&drafts, &draft_key) {
            store.set(key.clone(), text);
        }
    };
    let node = NodeRef::<leptos::html::Input>::new();
    // A restored draft may already be too long.
    Effect::new(move |_| {
        if let (Some(length), Some(el)) = (length, node.get()) {
            let text = el.value();
            length.typed(Some(el.into()), &text);
        }
    });
    let hint_id = format!("{id}-hint");
    let error_id = format!("{id}-error");
    let count_id = format!("{id}-count");
    let described_by = [
        hint.map(|_| hint_id.clone()),
        Some(error_id.clone()),
        length.map(|_| count_id.clone()),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ");
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
    let too_long = move || length.is_some_and(|l| l.count.get() > l.max);
    view! {
        <div class="field" class:has-error=move || error.get().is_some() || too_long()>
            <label for=id.clone()>{label}</label>
            {hint.map(|hint| view! { <p class="hint" id=hint_id.clone()>{hint}</p> })}
            <input
                id=id
                name=name
                type=kind
                node_ref=node
                // The attribute for the server's HTML, the property for a
                // value restored in the browser (hydration keeps attributes)
                // and for every re-render (the property is always set).
                prop:value=value.clone()
                value=value
                autocomplete=autocomplete
                min=min
                max=max
                step=step
                inputmode=inputmode
                list=list
                aria-invalid=move || if error.get().is_some() || too_long() { "true" } else { "false" }
                aria-describedby=described_by
                on:input=on_input
            />
            {length.map(|length| view! {
                <p class=move || count_class(length.count.get() > length.max) id=count_id aria-live="polite">
                    {move || length.note()}
                </p>
            })}
            <p class="field-error" id=error_id role="alert">
                {move || error.get()}
            </p>
        </div>
    }
}

/// A labelled multi-line text with a length limit (see [`Length`]), its
/// count near the limit and the message about it; what is typed is kept
/// in `drafts` under `scope` + `name`.
#[component]
pub fn TextArea(
    /// Visible label.
    #[prop(into)]
    label: String,
    /// The form field's `name`.
    #[prop(into)]
    name: String,
    /// Initial value.
    #[prop(optional, into)]
    value: String,
    /// Longest text the server accepts (characters).
    maxlength: usize,
    /// The message about this field, if any.
    #[prop(into)]
    error: Signal<Option<String>>,
    /// Keep what is typed, under `scope` + `name` (the scope also makes the
    /// id unique on the page).
    drafts: (Drafts, String),
) -> impl IntoView {
    let (store, scope) = drafts;
    let id = scoped_id(&scope, &name);
    let key = format!("{scope}{name}");
    // Counted from the server's value (see `Field`).
    let length = Length::new(maxlength, &label, &value);
    let value = store.value(&key, value);
    let (error, edited) = shown_error(error, Some((store, key.clone())));
    let node = NodeRef::<leptos::html::Textarea>::new();
    Effect::new(move |_| {
        if let Some(el) = node.get() {
            let text = el.value();
            length.typed(Some(el.into()), &text);
        }
    });
    let error_id = format!("{id}-error");
    let count_id = format!("{id}-count");
    let too_long = move || length.count.get() > length.max;
    view! {
        <div class="field" class:has-error=move || error.get().is_some() || too_long()>
            <label for=id.clone()>{label}</label>
            <textarea
                id=id
                name=name
                rows="2"
                node_ref=node
                aria-invalid=move || if error.get().is_some() || too_long() { "true" } else { "false" }
                aria-describedby=format!("{error_id} {count_id}")
                on:input=move |ev| {
                    let text = event_target_value(&ev);
                    edited.run(());
                    length.typed(ev.target(), &text);
                    store.set(key.clone(), text);
                }
                // Set on every render: a re-render after a move or a live
                // update shows this row's text, never a neighbour's.
                prop:value=value.clone()
            >{value.clone()}</textarea>
            <p class=move || count_class(too_long()) id=count_id aria-live="polite">{move || length.note()}</p>
            <p class="field-error" id=error_id role="alert">{move || error.get()}</p>
        </div>
    }
}
