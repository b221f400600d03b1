//! A moment shown to people: on the server (and while the page hydrates)
//! in UTC, then in the browser's own time zone and language; with the date
//! whenever it is not today.

use leptos::prelude::*;

/// `ms` (since the epoch) as a `<time>` element.
#[component]
pub fn When(ms: i64) -> impl IntoView {
    // The same text on the server and at hydration, so they agree; the
    // browser's own reading replaces it once the page runs.
    let text = RwSignal::new(clock(ms));
    Effect::new(move |_| {
        if let Some(local) = local(ms) {
            text.set(local);
        }
    });
    view! { <time>{text}</time> }
}

/// `ms` in the browser's time zone and language: "14:05" today,
/// "24 Nov 2026, 14:05" on any other day.
fn local(ms: i64) -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsValue;
        let language = web_sys::window()?.navigator().language()?;
        let at = js_sys::Date::new(&JsValue::from_f64(ms as f64));
        let now = js_sys::Date::new_0();
        let today = at.get_full_year() == now.get_full_year()
            && at.get_month() == now.get_month()
            && at.get_date() == now.get_date();
        let options = js_sys::Object::new();
        let set = |key: &str, value: &str| {
            js_sys::Reflect::set(&options, &key.into(), &value.into()).ok()
        };
        if !today {
            set("dateStyle", "medium")?;
        }
        set("timeStyle", "short")?;
        Some(String::from(at.to_locale_string(&language, &options)))
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = ms;
        None
    }
}

/// When a time (ms since the epoch) was, in UTC, as the server renders
/// it: `14:05 UTC` today, `24 Nov 2026, 14:05 UTC` on another day. In the
/// browser this is only the text hydration starts from; [`When`] replaces
/// it with the browser's own time zone and language.
///
pub(crate) fn clock(ms: i64) -> String {
    #[cfg(feature = "ssr")]
    {
        use time::{macros::format_description, OffsetDateTime};
        if let Ok(at) = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000) {
            let formatted = if at.date() == OffsetDateTime::now_utc().date() {
                at.format(format_description!("[hour]:[minute] UTC"))
            } else {
                at.format(format_description!(
                    "[day padding:none] [month repr:short] [year], [hour]:[minute] UTC"
                ))
            };
            if let Ok(text) = formatted {
                return text;
            }
        }
    }
    let minutes = ms.div_euclid(60_000);
    format!(
        "{:02}:{:02} UTC",
        minutes.div_euclid(60).rem_euclid(24),
        minutes.rem_euclid(60)
    )
}
