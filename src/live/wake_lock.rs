//! Keeps the phone's screen on while the athlete has a round open (Screen
//! Wake Lock API), re-acquired when the page becomes visible again (the
//! browser releases it when the page is hidden). Where the browser lacks the
//! API or refuses the lock, nothing happens.

/// Holds a screen wake lock for as long as the calling component lives.
pub fn hold_while_mounted() {
    #[cfg(feature = "hydrate")]
    imp::hold();
}

#[cfg(feature = "hydrate")]
mod imp {
    use leptos::prelude::*;
    use send_wrapper::SendWrapper;
    use std::{cell::RefCell, rc::Rc};
    use wasm_bindgen::{closure::Closure, JsCast, JsValue};

    type Sentinel = Rc<RefCell<Option<JsValue>>>;

    fn get(target: &JsValue, name: &str) -> Option<JsValue> {
        js_sys::Reflect::get(target, &JsValue::from_str(name))
            .ok()
            .filter(|v| !v.is_undefined() && !v.is_null())
    }

    /// `promise.then(on_ok, on_error)` with one-shot callbacks: each frees
    /// itself when called; the one never called stays (a few bytes per lock
    /// request, a handful per round).
    fn settle(promise: &JsValue, on_ok: &JsValue, on_error: &JsValue) {
        if let Some(then) = get(promise, "then").and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        {
            let _ = then.call2(promise, on_ok, on_error);
        }
    }

    /// `navigator.wakeLock.request("screen")`; the sentinel is kept to
    /// release it; a refusal is ignored.
    fn request(sentinel: &Sentinel) {
        let Some(navigator) = web_sys::window().map(|w| JsValue::from(w.navigator())) else {
            return;
        };
        let Some(wake_lock) = get(&navigator, "wakeLock") else {
            return;
        };
        let Some(request) =
            get(&wake_lock, "request").and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        else {
            return;
        };
        let Ok(promise) = request.call1(&wake_lock, &JsValue::from_str("screen")) else {
            return;
        };
        let keep = sentinel.clone();
        let on_lock = Closure::once_into_js(move |lock: JsValue| {
            *keep.borrow_mut() = Some(lock);
        });
        // Headless browsers and pages without a user gesture may refuse.
        let on_refusal = Closure::once_into_js(move |_: JsValue| {});
        settle(&promise, &on_lock, &on_refusal);
    }

    fn release(sentinel: &Sentinel) {
        if let Some(lock) = sentinel.borrow_mut().take() {
            if let Some(f) =
                get(&lock, "release").and_then(|f| f.dyn_into::<js_sys::Function>().ok())
            {
                if let Ok(promise) = f.call0(&lock) {
                    let ignore = Closure::once_into_js(move |_: JsValue| {});
                    settle(&promise, &JsValue::UNDEFINED, &ignore);
                }
            }
        }
    }

    pub fn hold() {
        let sentinel: Sentinel = Rc::new(RefCell::new(None));
        request(&sentinel);
        let Some(document) = web_sys::window().and_then(|w| w.document()) else {
            return;
        };
        let on_visible = {
            let sentinel = sentinel.clone();
            Closure::<dyn FnMut()>::new(move || {
                let visible = web_sys::window()
                    .and_then(|w| w.document())
                    .is_some_and(|d| d.visibility_state() == web_sys::VisibilityState::Visible);
                if visible {
                    request(&sentinel);
                }
            })
        };
        let _ = document.add_event_listener_with_callback(
            "visibilitychange",
            on_visible.as_ref().unchecked_ref(),
        );
        let guard = SendWrapper::new((sentinel, on_visible));
        on_cleanup(move || {
            let (sentinel, on_visible) = guard.take();
            if let Some(document) = web_sys::window().and_then(|w| w.document()) {
                let _ = document.remove_event_listener_with_callback(
                    "visibilitychange",
                    on_visible.as_ref().unchecked_ref(),
                );
            }
            release(&sentinel);
        });
    }
}
