//! Shows how the live link is doing (Live / Reconnecting (attempt n) /
//! Offline, with "Last update hh:mm:ss" when not Live) and whether the other
//! side of the session is connected (unknown while our own link is down).
//! "Live" is only shown while frames keep arriving (see `live::link`).

use crate::{
    live::{clock, LinkStatus, Live},
    model::Side,
};
use leptos::prelude::*;

/// How the link is doing, and when it last delivered anything if it is not
/// Live (the dashboard shows just this).
#[component]
pub fn LinkStatusBadge(live: Live) -> impl IntoView {
    let class = move || match live.shown() {
        LinkStatus::Live => "live-link live-link-live",
        LinkStatus::Connecting | LinkStatus::Reconnecting(_) | LinkStatus::Sending => {
            "live-link live-link-reconnecting"
        }
        LinkStatus::Offline => "live-link live-link-offline",
    };
    let last_update = move || match (live.shown(), live.last_update.get()) {
        (LinkStatus::Live, _) | (_, None) => None,
        (_, Some(at)) => Some(format!("Last update {}", clock(at))),
    };
    view! {
        <span class=move || format!("{} needs-js", class()) data-testid="live-status">{move || live.shown().label()}</span>
        <span class="live-link live-link-static no-js-only">"Refresh to see changes"</span>
        <span class="last-update" data-testid="last-update">{last_update}</span>
    }
}

/// The indicator, for `viewer`'s page.
#[component]
pub fn LiveIndicator(live: Live, viewer: Side, other_name: Signal<String>) -> impl IntoView {
    let other = move || {
        let Some((athlete, trainer)) = live.presence.get() else {
            let status = live.status.get();
            return (status != LinkStatus::Connecting && status != LinkStatus::Live)
                .then(|| format!("{}: unknown until the link is back", other_name.get()));
        };
        Some({
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
            <LinkStatusBadge live/>
            <span class="presence" data-testid="presence">{other}</span>
        </p>
    }
}
