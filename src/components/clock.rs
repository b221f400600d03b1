//! Clocks for what counts on a page (a rest, "14 s ago"): from the
//! server's time, ticking in the browser, never drawn again to move.

use leptos::prelude::*;

/// How old something the server stamped at `at` is (ms), by the server's
/// clock: `now` (the page's view's server time, re-read whenever it moves:
/// each event or snapshot corrects the count) plus the time since the page
/// read it, updated every `every_ms`. A component's clock that follows
/// the view without being drawn again.
pub(crate) fn server_age(now: Signal<i64>, at: i64, every_ms: u64) -> impl Fn() -> i64 + Copy {
    let drawn = local_ms();
    let elapsed = elapsed_ms(every_ms);
    // (the server's time, the page's time since drawn) when it was read
    let reading = Memo::new(move |_| (now.get(), local_ms() - drawn));
    move || {
        let (server, read_at) = reading.get();
        (server - at + elapsed.get() - read_at).max(0)
    }
}

/// The browser's clock (ms); 0 on the server, where nothing counts.
fn local_ms() -> i64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now() as i64
    }
    #[cfg(not(feature = "hydrate"))]
    {
        0
    }
}

/// Milliseconds since the component was drawn, updated every `every_ms`
/// in the browser (stays 0 on the server); the timer ends with the
/// component.
fn elapsed_ms(every_ms: u64) -> RwSignal<i64> {
    let elapsed = RwSignal::new(0i64);
    #[cfg(feature = "hydrate")]
    {
        let started = js_sys::Date::now();
        if let Ok(tick) = set_interval_with_handle(
            move || elapsed.set((js_sys::Date::now() - started) as i64),
            std::time::Duration::from_millis(every_ms),
        ) {
            on_cleanup(move || tick.clear());
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = every_ms;
    elapsed
}

/// "just now", "14 s ago", "3 min ago".
pub fn ago_text(seconds: i64) -> String {
    match seconds {
        s if s < 5 => "just now".into(),
        s if s < 60 => format!("{s} s ago"),
        s if s < 3600 => format!("{} min ago", s / 60),
        s => format!("{} h ago", s / 3600),
    }
}
