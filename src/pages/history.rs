//! `/sessions/:id/history`: the read-only record of a session for both
//! sides, once it has ended: the completed rounds and the thread's
//! messages, in the order they happened.

use crate::components::session_view::session_id_param;
use crate::{
    api::{messages::whole_thread, sessions::load_session},
    components::{
        require_user::RequireUser,
        session::{CompletedRound, SessionError, SessionHeader},
        when::When,
    },
    model::{Message, Round, Side},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
fn History() -> impl IntoView {
    let id = session_id_param();
    let session = Resource::new(move || id.get(), load_session);
    // The view carries the newest messages only; the record has them all.
    let thread = Resource::new(move || id.get(), whole_thread);
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match (session.await, thread.await) {
                    (Err(error), _) | (_, Err(error)) => view! { <SessionError error/> }.into_any(),
                    (Ok(view), Ok(messages)) => {
                        let live_href = match view.viewer {
                            Side::Athlete => format!("/sessions/{}", view.summary.id),
                            Side::Trainer => format!("/sessions/{}/trainer", view.summary.id),
                        };
                        let ended = view.summary.status.has_ended();
                        let rounds: Vec<Round> = view.completed_rounds().cloned().collect();
                        let count = rounds.len();
                        let record = in_time_order(rounds, messages);
                        let name_of = {
                            let summary = view.summary.clone();
                            move |side: Side| match side {
                                Side::Athlete => summary.athlete_name.clone(),
                                Side::Trainer => summary.trainer_name.clone(),
                            }
                        };
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
                                    <a href=format!("/sessions/{}/messages.csv", view.summary.id) rel="external" download data-testid="export-messages">"Messages as CSV"</a>
                                    " · "
                                    <button type="button" class="secondary needs-js" on:click=|_| print()>"Print"</button>
                                </p>
                                {record
                                    .into_iter()
                                    .map(|entry| match entry {
                                        Entry::Round(round) => view! { <CompletedRound round pain=view.pain.clone()/> }.into_any(),
                                        Entry::Message(message) => view! {
                                            <p class="history-message" data-testid="history-message">
                                                <strong>{name_of(message.by)}</strong>
                                                " · "
                                                <When ms=message.sent_at/>
                                                ": "
                                                <span class="message-body">{message.body}</span>
                                            </p>
                                        }
                                        .into_any(),
                                    })
                                    .collect_view()}
                            </div>
                        }
                        .into_any()
                    }
                }
            })}
        </Suspense>
    }
}

/// The history page.
#[component]
pub fn HistoryPage() -> impl IntoView {
    view! {
        <Title text="Session history · spotter"/>
        <RequireUser children=|_user| view! { <History/> }/>
    }
}

/// One thing in the session's record.
enum Entry {
    /// A completed round, at the moment it was completed.
    Round(Round),
    /// A message of the thread, at the moment it was sent.
    Message(Message),
}

/// The completed rounds and the messages in the order they happened: each
/// message before the first round completed after it.
fn in_time_order(rounds: Vec<Round>, messages: Vec<Message>) -> Vec<Entry> {
    let mut entries: Vec<(i64, Entry)> = rounds
        .into_iter()
        .map(|round| (round.completed_at.unwrap_or(i64::MAX), Entry::Round(round)))
        .chain(
            messages
                .into_iter()
                .map(|message| (message.sent_at, Entry::Message(message))),
        )
        .collect();
    // Stable: rounds keep their number order, messages their id order.
    entries.sort_by_key(|(at, _)| *at);
    entries.into_iter().map(|(_, entry)| entry).collect()
}

/// The browser's print dialog.
fn print() {
    #[cfg(feature = "hydrate")]
    if let Some(window) = web_sys::window() {
        let _ = window.print();
    }
}
