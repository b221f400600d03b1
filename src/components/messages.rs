//! The session's thread on both pages: its messages as they land, each
//! drawn once, and the form to write one; on the phone, one-tap quick
//! replies above it. Every form posts `/api/messages/send` by itself
//! without JavaScript; with it, its arguments (decoded from the submit
//! event as the server decodes the same form) go to the page's `on_send`:
//! the athlete's outbox, the trainer's action.

use crate::{
    api::messages::{older_messages, SendMessage},
    components::{
        field::{Drafts, IdempotencyKey, TextArea},
        when::When,
    },
    error::AppError,
    model::{Message, Read, Side, MESSAGES_SHOWN, MESSAGE_FIELD, MESSAGE_MAX_CHARS, QUICK_REPLIES},
};
use leptos::{form::FromFormData, prelude::*, server_fn::ServerFn};
use std::collections::BTreeMap;

/// The drafts scope of the message box (what is typed is kept there).
pub const MESSAGE_SCOPE: &str = "message:";

/// The drafts scope of the quick replies (nothing typed: no drafts).
pub const QUICK_REPLY_SCOPE: &str = "message:quick:";

/// The thread: the session's newest messages (`messages`, as the live view
/// keeps them), oldest first, and above them "Show older messages", which
/// loads the ones before, a page at a time, keeping what is on screen
/// where it was (without JavaScript it is a link to the history page,
/// which shows them all). `other` is the other side's name, `typing`
/// whether they are writing one now, and `seen` their read receipt: "Seen
/// 14:05" under the newest of the viewer's messages they read. The newest
/// come in live; nothing is drawn twice, and nothing once shown goes while
/// the page is open. Each message says whose it is (`data-from`), for the
/// page's own receipts (`components::receipts`).
#[component]
pub fn Thread(
    session_id: i64,
    #[prop(into)] messages: Signal<Vec<Message>>,
    viewer: Side,
    #[prop(into)] other: Signal<String>,
    #[prop(into)] typing: Signal<bool>,
    #[prop(into)] seen: Signal<Option<Read>>,
    children: Children,
) -> impl IntoView {
    let paging = Paging::new(messages);
    let shown = paging.shown;
    let load_older = move |event: leptos::ev::MouseEvent| {
        event.prevent_default();
        paging.load_older(session_id);
    };
    view! {
        <section class="card thread" data-testid="thread" aria-labelledby="thread-title">
            <h2 id="thread-title">"Messages"</h2>
            <Show when=move || shown.with(Vec::is_empty)>
                <p class="hint" data-testid="no-messages">"No messages yet."</p>
            </Show>
            <Show when=move || paging.may_have_older()>
                <p class="older-messages">
                    <a href=format!("/sessions/{session_id}/history") class="button secondary" data-testid="show-older" on:click=load_older aria-disabled=move || paging.loading.get().to_string()>
                        {move || if paging.loading.get() { "Loading older messages…" } else { "Show older messages" }}
                    </a>
                </p>
            </Show>
            <p class="form-error" role="alert">{move || paging.failed.get()}</p>
            <ol class="messages" aria-live="polite">
                <For
                    each=move || shown.get()
                    key=|message| message.id
                    children=move |message| {
                        let mine = message.by == viewer;
                        let author = if mine { "You".to_string() } else { other.get_untracked() };
                        let id = message.id;
                        let seen_at = move || {
                            seen.get().filter(|read| mine && read.message_id == id).map(|read| read.at)
                        };
                        view! {
                            <li class="message" class:mine=mine data-testid="message" data-message-id=id data-from=if mine { "me" } else { "other" }>
                                <p class="message-meta">
                                    <span class="author">{author}</span>
                                    " · "
                                    <When ms=message.sent_at/>
                                </p>
                                <p class="message-body">{message.body}</p>
                                {move || seen_at().map(|at| view! {
                                    <p class="seen" data-testid="seen">"Seen " <When ms=at/></p>
                                })}
                            </li>
                        }
                    }
                />
            </ol>
            <p class="typing" data-testid="typing">
                {move || typing.get().then(|| format!("{} is typing…", other.get()))}
            </p>
            {children()}
        </section>
    }
}

/// The thread's pages: what the live view holds, and (once older messages
/// were asked for) everything shown since, so a message the view drops as
/// new ones come stays on screen.
#[derive(Clone, Copy)]
struct Paging {
    /// What is on screen, oldest first.
    shown: Memo<Vec<Message>>,
    /// Messages kept by the page (empty until the first older page).
    kept: RwSignal<BTreeMap<i64, Message>>,
    /// The server said there is nothing before the oldest shown.
    exhausted: RwSignal<bool>,
    loading: RwSignal<bool>,
    failed: RwSignal<Option<String>>,
}

impl Paging {
    fn new(messages: Signal<Vec<Message>>) -> Paging {
        let kept = RwSignal::new(BTreeMap::new());
        let shown = Memo::new(move |_| {
            kept.with(|kept: &BTreeMap<i64, Message>| {
                if kept.is_empty() {
                    return messages.get();
                }
                let mut all = kept.clone();
                for message in messages.get() {
                    all.entry(message.id).or_insert(message);
                }
                all.into_values().collect()
            })
        });
        // Once paging started, whatever the view shows is kept as well.
        Effect::new(move |_| {
            let now = messages.get();
            if !kept.with_untracked(BTreeMap::is_empty) {
                kept.update(|kept| {
                    for message in now {
                        kept.entry(message.id).or_insert(message);
                    }
                });
            }
        });
        Paging {
            shown,
            kept,
            exhausted: RwSignal::new(false),
            loading: RwSignal::new(false),
            failed: RwSignal::new(None),
        }
    }

    /// Whether "Show older messages" is offered: a full page is shown and
    /// the server has not said there is nothing before it.
    fn may_have_older(&self) -> bool {
        !self.exhausted.get() && self.shown.with(|shown| shown.len() >= MESSAGES_SHOWN)
    }

    /// Loads the page before the oldest message shown and puts it above,
    /// keeping the messages on screen where they were.
    fn load_older(self, session_id: i64) {
        let Some(before) = self.shown.with_untracked(|s| s.first().map(|m| m.id)) else {
            return;
        };
        if self.loading.get_untracked() {
            return;
        }
        self.loading.set(true);
        self.failed.set(None);
        leptos::task::spawn_local(async move {
            let answer = older_messages(session_id, before).await;
            // The page was left meanwhile: nothing to show it on.
            if self.loading.try_set(false).is_some() {
                return;
            }
            let older = match answer {
                Ok(older) => older,
                Err(error) => {
                    self.failed
                        .set(Some(format!("Older messages could not be loaded: {error}")));
                    return;
                }
            };
            if older.len() < MESSAGES_SHOWN {
                self.exhausted.set(true);
            }
            let anchor = keep_in_place("[data-testid=thread] [data-testid=message]");
            let current = self.shown.get_untracked();
            self.kept.update(|kept| {
                for message in older.into_iter().chain(current) {
                    kept.entry(message.id).or_insert(message);
                }
            });
            anchor();
        });
    }
}

/// Notes where the first element matching `selector` is on screen; the
/// returned function (called after content was added above it) scrolls so
/// it is there again, before the next paint.
fn keep_in_place(selector: &str) -> impl FnOnce() {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::{closure::Closure, JsCast};
        let element = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.query_selector(selector).ok().flatten());
        let top = element.as_ref().map(|e| e.get_bounding_client_rect().top());
        move || {
            let (Some(element), Some(top)) = (element, top) else {
                return;
            };
            let restore = Closure::once_into_js(move || {
                let moved = element.get_bounding_client_rect().top() - top;
                if let Some(window) = web_sys::window() {
                    window.scroll_by_with_x_and_y(0.0, moved);
                }
            });
            if let Some(window) = web_sys::window() {
                let _ = window.request_animation_frame(restore.unchecked_ref());
            }
        }
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = selector;
        || {}
    }
}

/// What a message form takes from its page: where a message goes, whether
/// one is on its way, the last refusal of a message (`error`), and the
/// count of messages the server accepted (`renew`: it empties the box and
/// renews the keys; only messages count, so a set landing never remakes
/// the box being typed in).
#[derive(Clone, Copy)]
pub struct MessageSending {
    pub drafts: Drafts,
    pub renew: Signal<u32>,
    pub error: Signal<Option<AppError>>,
    pub busy: Signal<bool>,
    /// Called with the message and the drafts scope of the form it came
    /// from ([`MESSAGE_SCOPE`], [`QUICK_REPLY_SCOPE`]); it tells the drafts
    /// (`Drafts::sending`).
    pub on_send: Callback<(SendMessage, &'static str)>,
}

/// The submit handler of a message form with drafts scope `scope`.
fn submit_to(
    sending: MessageSending,
    scope: &'static str,
) -> impl Fn(leptos::ev::SubmitEvent) + 'static {
    move |event| {
        // A form that does not decode (a hidden field changed by hand)
        // posts itself: the server's answer names the field.
        let Ok(message) = SendMessage::from_event(&event) else {
            return;
        };
        event.prevent_default();
        sending.on_send.run((message, scope));
    }
}

/// The box to write a message in, with its send button; with
/// `quick_replies`, the phone's one-tap replies above it.
#[component]
pub fn MessageForm(session_id: i64, sending: MessageSending, quick_replies: bool) -> impl IntoView {
    let field_error = Signal::derive(move || {
        sending
            .error
            .get()
            .and_then(|error| error.for_field(MESSAGE_FIELD))
    });
    let general = Signal::derive(move || sending.error.get().and_then(|error| error.general()));
    let quick = quick_replies.then(|| {
        QUICK_REPLIES
            .iter()
            .map(|reply| {
                view! {
                    <form method="post" action=SendMessage::url() on:submit=submit_to(sending, QUICK_REPLY_SCOPE)>
                        <IdempotencyKey renew=sending.renew/>
                        <input type="hidden" name="session_id" value=session_id/>
                        <input type="hidden" name=MESSAGE_FIELD value=*reply/>
                        <button type="submit" class="secondary quick-reply">{*reply}</button>
                    </form>
                }
            })
            .collect_view()
    });
    view! {
        {quick.map(|replies| view! {
            <div class="quick-replies" data-testid="quick-replies" aria-label="Quick replies">{replies}</div>
        })}
        <form class="message-form" method="post" action=SendMessage::url() on:submit=submit_to(sending, MESSAGE_SCOPE) on:input=|_| crate::live::typed()>
            <IdempotencyKey renew=sending.renew/>
            <input type="hidden" name="session_id" value=session_id/>
            // Made again once a message is sent: the box is empty then
            // (what was typed while it was on its way stays).
            {move || {
                if sending.renew.get() > 0 {
                    // The server has the message: its text goes (before
                    // the box is made, so the new box is empty).
                    sending.drafts.accepted(MESSAGE_SCOPE);
                }
                view! {
                    <TextArea label="Message" name=MESSAGE_FIELD maxlength=MESSAGE_MAX_CHARS error=field_error drafts=(sending.drafts, MESSAGE_SCOPE.to_string())/>
                }
            }}
            <p class="form-error" role="alert">{general}</p>
            <button type="submit" disabled=move || sending.busy.get()>"Send"</button>
        </form>
    }
}
