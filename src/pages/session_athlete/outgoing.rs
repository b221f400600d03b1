//! What the athlete's page sends through its outbox, typed: the server
//! functions' own arguments ([`Outgoing`]), the one sender that keeps
//! their order, and which form an answer is about ([`About`]).

use crate::{
    api::{messages::SendMessage, pain::ReportPain, rounds::CompleteRound, sets::LogSet},
    components::{field::Drafts, messages::MESSAGE_SCOPE, sets::Submitted},
    error::AppError,
    live::{
        outbox::{self, Pending, Queued, Sent},
        Live,
    },
};
use leptos::{prelude::*, server_fn::ServerFn};

/// What became of the athlete's feedback, as the page tells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Delivery {
    /// The server has it.
    Sent,
    /// Kept on the phone; sent when the link is back.
    Queued,
}

/// What the athlete's page sends through its outbox, in the order it was
/// sent: the server functions' own arguments, as the forms decoded them.
#[derive(Clone, Debug)]
pub(super) enum Outgoing {
    /// A set logged or corrected.
    Set(LogSet),
    /// A pain report.
    Pain(ReportPain),
    /// The round's feedback.
    Feedback(CompleteRound),
    /// A message in the session's thread.
    Message(SendMessage),
}

/// The same expression for each kind of [`Outgoing`].
macro_rules! each {
    ($outgoing:expr, $arguments:ident => $then:expr) => {
        match $outgoing {
            Outgoing::Set($arguments) => $then,
            Outgoing::Pain($arguments) => $then,
            Outgoing::Feedback($arguments) => $then,
            Outgoing::Message($arguments) => $then,
        }
    };
}

impl Queued for Outgoing {
    fn path(&self) -> &'static str {
        match self {
            Outgoing::Set(_) => LogSet::PATH,
            Outgoing::Pain(_) => ReportPain::PATH,
            Outgoing::Feedback(_) => CompleteRound::PATH,
            Outgoing::Message(_) => SendMessage::PATH,
        }
    }

    fn form(&self) -> String {
        each!(self, arguments => outbox::form_of(arguments))
    }

    fn key(&self) -> &str {
        each!(self, arguments => &arguments.idempotency_key)
    }

    fn session_id(&self) -> i64 {
        each!(self, arguments => arguments.session_id)
    }

    fn from_form(path: &str, form: &str) -> Option<Self> {
        if path == LogSet::PATH {
            outbox::read_form(form).map(Outgoing::Set)
        } else if path == ReportPain::PATH {
            outbox::read_form(form).map(Outgoing::Pain)
        } else if path == CompleteRound::PATH {
            outbox::read_form(form).map(Outgoing::Feedback)
        } else if path == SendMessage::PATH {
            outbox::read_form(form).map(Outgoing::Message)
        } else {
            None
        }
    }
}

impl From<Submitted> for Outgoing {
    fn from(submitted: Submitted) -> Self {
        match submitted {
            Submitted::Set(arguments) => Outgoing::Set(arguments),
            Submitted::Pain(arguments) => Outgoing::Pain(arguments),
        }
    }
}

/// Which form the latest answer is about: it shows the refusal, and its
/// drafts go once the server has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum About {
    /// The round's feedback form.
    Feedback,
    /// A set, pain or message form, by its drafts scope (empty: a set not
    /// known, a refusal of a plain form post, shown above the set rows).
    Form(String),
}

impl About {
    pub(super) fn of(pending: &Pending<Outgoing>) -> About {
        match pending.mutation {
            Outgoing::Feedback(_) => About::Feedback,
            Outgoing::Set(_) | Outgoing::Pain(_) | Outgoing::Message(_) => {
                About::Form(pending.scope.clone())
            }
        }
    }
}

/// The page's submissions (logged sets, pain reports, the feedback) go
/// through one sender: the outbox keeps their order.
pub(super) type Sender = Action<Pending<Outgoing>, Result<Delivery, AppError>>;

/// Sends what waits in the outbox, one submission at a time, and keeps
/// what could not be sent. `last` is what the latest answer is about.
pub(super) fn sender(last: RwSignal<Option<About>>) -> Sender {
    let send_one = move |pending: &Pending<Outgoing>| {
        let pending = pending.clone();
        last.set(Some(About::of(&pending)));
        async move {
            match outbox::send(&pending.mutation).await {
                Sent::Accepted => {
                    outbox::remove::<Outgoing>(pending.mutation.key());
                    Ok(Delivery::Sent)
                }
                Sent::Refused(error) => {
                    outbox::remove::<Outgoing>(pending.mutation.key());
                    Err(error)
                }
                Sent::Unreachable => Ok(Delivery::Queued),
            }
        }
    };
    // In the browser the send is a browser future (not `Send`). On the
    // server it never runs, but the page is rendered across threads: a
    // local action there panics when a plain post's refusal (below) is
    // shown after the render moved to another thread.
    #[cfg(feature = "hydrate")]
    let send = Action::new_local(send_one);
    #[cfg(not(feature = "hydrate"))]
    let send = Action::new(send_one);
    // Without JavaScript the form posts itself and a refusal comes back in
    // the URL (as for every `ActionForm`), which names only the server
    // function: show it the same way.
    let refused = use_context::<leptos::server::ServerActionError>().and_then(|error| {
        let about = if error.path() == CompleteRound::PATH {
            About::Feedback
        } else if error.path() == LogSet::PATH {
            // Which set it was is not in the URL: the set rows show it
            // above them.
            About::Form(String::new())
        } else if error.path() == SendMessage::PATH {
            About::Form(MESSAGE_SCOPE.to_string())
        } else {
            return None;
        };
        let decoded =
            leptos::server_fn::error::ServerFnUrlError::<AppError>::decode_err(error.err());
        Some((about, decoded))
    });
    if let Some((about, error)) = refused {
        last.set(Some(about));
        send.value().set(Some(Err(error)));
    }
    send
}

/// Puts `mutation`, from the form with drafts scope `scope`, in the
/// outbox (first: a dead network only delays it) and sends it unless a
/// submission is on its way (then it goes after, in order); asks the link
/// to check its connection meanwhile. `latest` becomes that form (its
/// status line shows what became of it).
pub(super) fn enqueue(
    send: Sender,
    queued: RwSignal<bool>,
    latest: RwSignal<Option<About>>,
    live: Live,
    drafts: Drafts,
    mutation: Outgoing,
    scope: &str,
) {
    drafts.sending(scope);
    let pending = Pending {
        mutation,
        scope: scope.to_string(),
    };
    outbox::put(pending.clone());
    latest.set(Some(About::of(&pending)));
    queued.set(true);
    live.probe();
    if !send.pending().get_untracked() {
        send.dispatch_local(pending);
    }
}

/// What became of the form submitted last (`latest`), for its status line:
/// kept on the phone from the tap ("Saved on this phone, sending…" while
/// on its way, "…, sends when you are back online" once it could not go),
/// then "Sent" for a few seconds (no longer news after that). A refusal
/// shows in the form instead.
pub(super) fn send_status(
    send: Sender,
    queued: RwSignal<bool>,
    latest: RwSignal<Option<About>>,
    live: Live,
) -> Signal<Option<(About, &'static str)>> {
    let fresh = RwSignal::new(false);
    let answers = StoredValue::new(0u32);
    Effect::new(move |_| {
        if let Some(Ok(Delivery::Sent)) = send.value().get() {
            answers.update_value(|n| *n += 1);
            fresh.set(true);
            #[cfg(feature = "hydrate")]
            {
                let this = answers.get_value();
                set_timeout(
                    move || {
                        if answers.try_get_value() == Some(this) {
                            fresh.set(false);
                        }
                    },
                    std::time::Duration::from_secs(4),
                );
            }
        }
    });
    Signal::derive(move || {
        let about = latest.get()?;
        let text = if queued.get() && live.unsent.get() {
            "Saved on this phone, sends when you are back online"
        } else if queued.get() {
            "Saved on this phone, sending…"
        } else if fresh.get() {
            "Sent"
        } else {
            return None;
        };
        Some((about, text))
    })
}

/// Whether the round's feedback waits in the outbox of `session_id`.
pub(super) fn feedback_waits(session_id: i64) -> bool {
    outbox::for_session::<Outgoing>(session_id)
        .iter()
        .any(|p| matches!(p.mutation, Outgoing::Feedback(_)))
}

/// Sends the oldest waiting submission of `session_id`, unless one is on
/// its way.
pub(super) fn flush(session_id: i64, send: Sender) {
    if send.pending().get_untracked() {
        return;
    }
    if let Some(next) = outbox::for_session::<Outgoing>(session_id)
        .into_iter()
        .next()
    {
        send.dispatch_local(next);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FeedbackInput;

    fn set() -> LogSet {
        LogSet {
            session_id: 7,
            round_id: 3,
            revision: 2,
            exercise: 1,
            set: 2,
            reps: "5".into(),
            load: "102.5".into(),
            rpe: "8 & more=?".into(),
            duration_s: String::new(),
            idempotency_key: "k-set".into(),
        }
    }

    #[test]
    fn what_is_queued_is_sent_as_the_form_the_server_reads() {
        let feedback = Outgoing::Feedback(CompleteRound {
            session_id: 7,
            round_id: 3,
            revision: 2,
            feedback: vec![
                FeedbackInput {
                    sets_done: "3".into(),
                    pain: Some("on".into()),
                    notes: "knee, ä ✓".into(),
                    ..FeedbackInput::default()
                },
                FeedbackInput::default(),
            ],
            idempotency_key: "k-feedback".into(),
        });
        let message = Outgoing::Message(SendMessage {
            session_id: 7,
            body: "knee feels odd,\nswap? 50% & more".into(),
            idempotency_key: "k-message".into(),
        });
        for outgoing in [Outgoing::Set(set()), feedback, message] {
            let form = outgoing.form();
            let again = Outgoing::from_form(outgoing.path(), &form).expect("reads back");
            assert_eq!(format!("{again:?}"), format!("{outgoing:?}"), "{form}");
            assert_eq!(again.key(), outgoing.key());
            assert_eq!(again.session_id(), 7);
        }
    }

    #[test]
    fn the_outbox_reads_back_what_it_kept_and_keeps_what_it_cannot_read() {
        // As kept in `localStorage` (and as the version before typed
        // mutations kept it): the wire form under its path. Then an entry
        // no server function of the page reads: kept as it is, not dropped.
        let stored = serde_json::json!([
            {"key": "k-set", "session_id": 7, "path": "/api/sets/log",
             "body": outbox::form_of(&set()), "scope": "3:set:1:2:"},
            {"key": "k-pain", "session_id": 7, "path": "/api/pain/report",
             "body": "session_id=7&round_id=3&exercise=0&set=&note=sharp&idempotency_key=k-pain"},
            {"key": "k-odd", "session_id": 7, "path": "/api/sets/log", "body": "set=x"},
            {"key": "k-gone", "session_id": 7, "path": "/api/nothing", "body": ""},
        ])
        .to_string();
        let (read, unread) = outbox::entries::<Outgoing>(&stored);
        assert_eq!(read.len(), 2);
        assert_eq!(
            format!("{:?}", read[0].mutation),
            format!("{:?}", Outgoing::Set(set()))
        );
        assert_eq!(read[0].scope, "3:set:1:2:");
        assert!(matches!(&read[1].mutation, Outgoing::Pain(p) if p.note == "sharp"));
        assert_eq!(read[1].scope, "", "no scope kept: none");
        assert_eq!(unread.len(), 2, "kept as they were, not dropped");
    }
}
