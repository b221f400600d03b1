//! What the session pages read: the session id in the URL, and parts of
//! the live view (each redrawn only when that part changed).

use crate::{
    live::Live,
    model::{Round, SessionView},
};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

/// The session id from the URL (0, which matches nothing, if malformed).
pub(crate) fn session_id_param() -> Memo<i64> {
    let params = use_params_map();
    Memo::new(move |_| {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse().ok())
            .unwrap_or(0)
    })
}

/// A part of the page's view, recomputed when the view changes and passed
/// on only when that part did (so only what changed is drawn again).
pub(crate) fn part<T>(
    live: Live,
    pick: impl Fn(&SessionView) -> T + Send + Sync + 'static,
) -> Memo<Option<T>>
where
    T: Clone + PartialEq + Send + Sync + 'static,
{
    Memo::new(move |_| live.view.with(|v| v.as_ref().map(&pick)))
}

/// The server's clock as the page's view last read it (ms since the
/// epoch): it moves with each event and snapshot. A memo, so what counts
/// from it is corrected only when it moves.
pub(crate) fn server_clock(live: Live) -> Memo<i64> {
    Memo::new(move |_| live.view.with(|v| v.as_ref().map_or(0, |v| v.now)))
}

/// A round as prescribed (what forms are built from): without its sets and
/// feedback, so a set landing does not make its forms again.
pub(crate) fn prescription(round: &Round) -> Round {
    Round {
        sets: Vec::new(),
        opened: None,
        feedback: Vec::new(),
        ..round.clone()
    }
}
