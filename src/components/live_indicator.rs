//! Shows how the live link is doing (Live / Reconnecting (attempt n) /
//! Offline) and whether the other side of the session is connected.

use crate::{
    live::{LinkStatus, Live},
    model::Side,
};
use leptos::prelude::*;

/// The indicator, for `viewer`'s page.
#[component]
pub fn LiveIndicator(live: Live, viewer: Side, other_name: Signal<String>) -> impl IntoView {
    let class = move || match live.status.get() {
        LinkStatus::Live => "live-link live-link-live",
        LinkStatus::Connecting | LinkStatus::Reconnecting(_) => "live-link live-link-reconnecting",
        LinkStatus::Offline => "live-link live-link-offline",
    };
    let other = move || {
        live.presence.get().map(|(athlete, trainer)| {
            let here = match viewer {
                Side::Athlete => trainer,
                Side::Trainer => athlete,
            };
            let name = other_name.get();
            if here {
                format!("{name} is here")
            } else {
                format!("{name} is away")
            }
        })
    };
    view! {
        <p class="live-indicator">
            <span class=class data-testid="live-status">{move || live.status.get().label()}</span>
            <span class="presence" data-testid="presence">{other}</span>
        </p>
    }
}
