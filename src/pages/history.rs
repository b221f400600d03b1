//! `/sessions/:id/history`: the read-only record of a session for both
//! sides, once it has ended.

use crate::components::session_view::session_id_param;
use crate::{
    api::sessions::load_session,
    components::{
        require_user::RequireUser,
        session::{CompletedRound, SessionError, SessionHeader},
    },
    model::{Round, Side},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

/// The history page.
#[component]
pub fn HistoryPage() -> impl IntoView {
    view! {
        <Title text="Session history · spotter"/>
        <RequireUser children=|_user| view! { <History/> }/>
    }
}

#[component]
fn History() -> impl IntoView {
    let id = session_id_param();
    let session = Resource::new(move || id.get(), load_session);
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match session.await {
                    Err(error) => view! { <SessionError error/> }.into_any(),
                    Ok(view) => {
                        let live_href = match view.viewer {
                            Side::Athlete => format!("/sessions/{}", view.summary.id),
                            Side::Trainer => format!("/sessions/{}/trainer", view.summary.id),
                        };
                        let ended = view.summary.status.has_ended();
                        let rounds: Vec<Round> = view.completed_rounds().cloned().collect();
                        let count = rounds.len();
                        view! {
                            <div class="session history">
                                <SessionHeader summary=view.summary.clone() viewer=view.viewer/>
                                {(!ended).then(|| view! {
                                    <p class="notice">"This session is still going: the history is complete once it ends. "
                                        <A href=live_href.clone()>"Back to the session"</A></p>
                                })}
                                <p data-testid="history-count">{format!("{count} completed round{}", if count == 1 { "" } else { "s" })}</p>
                                // A file download and the browser's print
                                // dialog (the page prints without the
                                // header and buttons: style/main.css).
                                <p class="export no-print">
                                    <a href=format!("/sessions/{}/export.csv", view.summary.id) rel="external" download data-testid="export-csv">"Download as CSV (one row per set)"</a>
                                    " · "
                                    <button type="button" class="secondary needs-js" on:click=|_| print()>"Print"</button>
                                </p>
                                {rounds.into_iter().map(|round| view! { <CompletedRound round/> }).collect_view()}
                            </div>
                        }
                        .into_any()
                    }
                }
            })}
        </Suspense>
    }
}

/// The browser's print dialog.
fn print() {
    #[cfg(feature = "hydrate")]
    if let Some(window) = web_sys::window() {
        let _ = window.print();
    }
}
