//! The session's thread on both pages: its messages as they land, each
//! drawn once, and the form to write one; on the phone, one-tap quick
//! replies above it. Every form posts `/api/messages/send` by itself
//! without JavaScript; with it, its arguments (decoded from the submit
//! event as the server decodes the same form) go to the page's `on_send`:
//! the athlete's outbox, the trainer's action.

use crate::{
    api::messages::SendMessage,
    components::{
        field::{Drafts, IdempotencyKey, TextArea},
        when::When,
    },
    error::AppError,
    model::{Message, Side, MESSAGE_FIELD, MESSAGE_MAX_CHARS, QUICK_REPLIES},
};
use leptos::{form::FromFormData, prelude::*, server_fn::ServerFn};

/// The drafts scope of the message box (what is typed is kept there).
pub const MESSAGE_SCOPE: &str = "message:";

/// The drafts scope of the quick replies (nothing typed: no drafts).
pub const QUICK_REPLY_SCOPE: &str = "message:quick:";

/// The thread: every message shown, oldest first; `other` is the other
/// side's name. The newest come in live; nothing is drawn twice.
#[component]
pub fn Thread(
    #[prop(into)] messages: Signal<Vec<Message>>,
    viewer: Side,
    #[prop(into)] other: Signal<String>,
    children: Children,
) -> impl IntoView {
    view! {
        <section class="card thread" data-testid="thread" aria-labelledby="thread-title">
            <h2 id="thread-title">"Messages"</h2>
            <Show when=move || messages.with(Vec::is_empty)>
                <p class="hint" data-testid="no-messages">"No messages yet."</p>
            </Show>
            <ol class="messages" aria-live="polite">
                <For
                    each=move || messages.get()
                    key=|message| message.id
                    children=move |message| {
                        let mine = message.by == viewer;
                        let author = if mine { "You".to_string() } else { other.get_untracked() };
                        view! {
                            <li class="message" class:mine=mine data-testid="message">
                                <p class="message-meta">
                                    <span class="author">{author}</span>
                                    " · "
                                    <When ms=message.sent_at/>
                                </p>
                                <p class="message-body">{message.body}</p>
                            </li>
                        }
                    }
                />
            </ol>
            {children()}
        </section>
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
        <form class="message-form" method="post" action=SendMessage::url() on:submit=submit_to(sending, MESSAGE_SCOPE)>
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
