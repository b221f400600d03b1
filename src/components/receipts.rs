//! This page's receipts, and what unread messages do to it.
//!
//! [`send_receipts`] tells the server what the viewer had on screen: the
//! newest of the other side's messages in view (`messages/read`) and, on
//! the athlete's page, the released round in view at its revision
//! (`rounds/opened`), as quiet calls (`live::client::Quiet`: over the Live
//! WebSocket or not at all). Only while the page is visible, only items
//! inside the viewport, only while the link is Live, only what is newer
//! than the view's receipts, and again only if an earlier try has not
//! shown up in the view within [`RESEND_AFTER_MS`]. It looks when the page
//! scrolls, resizes, becomes visible, and when the view changes. The
//! server keeps each receipt once and never backwards,
//! so a repeat is harmless.
//!
//! [`Unread`] puts "(2) spotter" in the tab's title while messages of the
//! other side are unread, and vibrates the phone once per burst of them
//! (when the first of them arrives; the burst ends when they are read).

use crate::{live::Live, model::SessionView};
use leptos::prelude::*;
use leptos_meta::Title;

/// How long a receipt that has not shown up in the view waits before it is
/// sent again.
pub const RESEND_AFTER_MS: f64 = 10_000.0;

/// The element of a round the athlete can open (its heading): with
/// `data-round-id` and `data-revision`; the round counts as opened once it
/// has been on screen.
pub const OPENABLE_ROUND: &str = "[data-openable-round]";

/// A receipt on its way: what (a message id and 0, or a round id and its
/// revision), and when it went.
#[cfg(any(feature = "hydrate", test))]
#[derive(Clone, Copy, Default)]
struct Sent {
    what: (i64, i64),
    at: f64,
}

#[cfg(any(feature = "hydrate", test))]
impl Sent {
    /// Whether `what` still needs sending at `now`: nothing as new went
    /// less than [`RESEND_AFTER_MS`] ago (for a round: of the same round).
    fn needs(&self, what: (i64, i64), now: f64) -> bool {
        let covered = if what.1 == 0 {
            self.what.0 >= what.0
        } else {
            self.what.0 == what.0 && self.what.1 >= what.1
        };
        !(covered && now - self.at < RESEND_AFTER_MS)
    }
}

/// Sends this page's receipts while the calling component lives.
pub fn send_receipts(live: Live, session_id: i64) {
    #[cfg(feature = "hydrate")]
    browser::watch(live, session_id);
    #[cfg(not(feature = "hydrate"))]
    let _ = (live, session_id);
}

/// What is on screen now that the view has no receipt for: the newest of
/// the other side's messages in view, and the round in view at its
/// revision. `in_view` says whether a message (by id) or the round is
/// inside the viewport.
#[cfg(any(feature = "hydrate", test))]
fn due(
    view: &SessionView,
    message_in_view: impl Fn(i64) -> bool,
    round_in_view: impl Fn() -> Option<(i64, i64)>,
) -> (Option<i64>, Option<(i64, i64)>) {
    let read = view.reads.of(view.viewer).map_or(0, |r| r.message_id);
    let message = view
        .messages
        .iter()
        .rev()
        .filter(|m| m.by != view.viewer && m.id > read)
        .map(|m| m.id)
        .find(|id| message_in_view(*id));
    let round = (view.viewer == crate::model::Side::Athlete)
        .then(round_in_view)
        .flatten()
        .filter(|(round_id, revision)| {
            view.rounds
                .iter()
                .find(|r| r.id == *round_id)
                .is_some_and(|r| r.opened.is_none_or(|o| o.revision < *revision))
        });
    (message, round)
}

#[cfg(feature = "hydrate")]
mod browser {
    use super::*;
    use crate::{
        api::{messages::read_messages, rounds::open_round},
        live::LinkStatus,
    };
    use wasm_bindgen::{closure::Closure, JsCast};

    /// Whether an element is (partly) inside the viewport.
    fn in_viewport(element: &web_sys::Element) -> bool {
        let height = web_sys::window()
            .and_then(|w| w.inner_height().ok())
            .and_then(|h| h.as_f64())
            .unwrap_or(0.0);
        let rect = element.get_bounding_client_rect();
        rect.bottom() > 0.0 && rect.top() < height && rect.height() > 0.0
    }

    fn visible() -> bool {
        web_sys::window()
            .and_then(|w| w.document())
            .is_some_and(|d| d.visibility_state() == web_sys::VisibilityState::Visible)
    }

    fn query(selector: &str) -> Option<web_sys::Element> {
        web_sys::window()?
            .document()?
            .query_selector(selector)
            .ok()
            .flatten()
    }

    pub(super) fn watch(live: Live, session_id: i64) {
        let messages_sent = StoredValue::new(Sent::default());
        let round_sent = StoredValue::new(Sent::default());
        let scheduled = StoredValue::new(false);
        // A look scheduled before the page was left finds its values
        // gone: it does nothing.
        let check = move || {
            if scheduled.try_update_value(|s| *s = false).is_none() || !visible() {
                return;
            }
            // Not Live: nothing would arrive (the view says when it is
            // back, and this looks again then).
            if live.status.try_get_untracked() != Some(LinkStatus::Live) {
                return;
            }
            let due = live.view.try_with_untracked(|view| {
                view.as_ref().map(|view| {
                    due(
                        view,
                        |id| {
                            query(&format!("[data-testid=thread] [data-message-id=\"{id}\"]"))
                                .is_some_and(|e| in_viewport(&e))
                        },
                        || {
                            let round = query(OPENABLE_ROUND).filter(in_viewport)?;
                            let id = round.get_attribute("data-round-id")?.parse().ok()?;
                            let revision = round.get_attribute("data-revision")?.parse().ok()?;
                            Some((id, revision))
                        },
                    )
                })
            });
            let Some(Some((message, round))) = due else {
                return;
            };
            let now = js_sys::Date::now();
            let fresh =
                |sent: StoredValue<Sent>, what: (i64, i64)| sent.get_value().needs(what, now);
            if let Some(id) = message.filter(|id| fresh(messages_sent, (*id, 0))) {
                messages_sent.set_value(Sent {
                    what: (id, 0),
                    at: now,
                });
                leptos::task::spawn_local(async move {
                    let _ = read_messages(session_id, id).await;
                });
            }
            if let Some((id, revision)) = round.filter(|r| fresh(round_sent, *r)) {
                round_sent.set_value(Sent {
                    what: (id, revision),
                    at: now,
                });
                leptos::task::spawn_local(async move {
                    let _ = open_round(session_id, id, revision).await;
                });
            }
        };
        // Looks a moment after the last scroll, resize or view change (the
        // DOM has the change by then).
        let schedule = move || {
            if scheduled.get_value() {
                return;
            }
            scheduled.set_value(true);
            let run = Closure::once_into_js(check);
            if let Some(window) = web_sys::window() {
                let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(
                    run.unchecked_ref(),
                    200,
                );
            }
        };
        let handles = ["scroll", "resize", "visibilitychange", "focus"]
            .into_iter()
            .map(|event| window_event_listener_untyped(event, move |_| schedule()))
            .collect::<Vec<_>>();
        on_cleanup(move || handles.into_iter().for_each(|h| h.remove()));
        Effect::new(move |_| {
            // What could bring something new on screen: the view's items
            // and receipts, and the link coming back.
            live.view.track();
            live.status.track();
            schedule();
        });
    }
}

/// The tab's title: `title` (the page's), or "(2) spotter" while messages
/// of the other side are unread, or `alert` while there is one (with the
/// count in front: "(2) ⚠ Pain reported · …"); and one vibration per
/// burst of unread messages (the phone). One title whose text follows
/// them: leptos_meta keeps a stack of titles, and a `Title` made again for
/// each change leaves the old ones on it.
#[component]
pub fn Unread(
    live: Live,
    title: &'static str,
    #[prop(optional, into)] alert: Option<Signal<Option<String>>>,
    #[prop(optional)] vibrate: bool,
) -> impl IntoView {
    let unread = Memo::new(move |_| {
        live.view
            .with(|view| view.as_ref().map_or(0, SessionView::unread))
    });
    if vibrate {
        Effect::new(move |was: Option<usize>| {
            let count = unread.get();
            if was == Some(0) && count > 0 {
                crate::components::sets::buzz();
            }
            count
        });
    }
    // Read by leptos_meta's title effect, which outlives this page: once
    // the page is gone (its values with it) it must not panic, only say
    // the page's title until the `Title` leaves the stack.
    let text = move || {
        let alert = alert.and_then(|alert| alert.try_get().flatten());
        match (unread.try_get().unwrap_or(0), alert) {
            (0, None) => title.to_string(),
            (0, Some(alert)) => alert,
            (n, None) => format!("({n}) spotter"),
            (n, Some(alert)) => format!("({n}) {alert}"),
        }
    };
    view! { <Title text=text/> }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Message, Opened, Read, Round, RoundStatus, Side};

    fn message(id: i64, by: Side) -> Message {
        Message {
            id,
            by,
            body: format!("m{id}"),
            sent_at: id,
        }
    }

    fn view(viewer: Side) -> SessionView {
        let mut view: SessionView = serde_json::from_value(serde_json::json!({
            "summary": {"id": 7, "athlete_name": "Andy", "trainer_name": "Tina", "status": "active",
                "created_at": 1, "cancelled_by": null, "cancel_reason": null, "rounds_completed": 0, "last_seq": 9},
            "viewer": viewer, "rounds": []
        }))
        .unwrap();
        view.messages = vec![
            message(1, Side::Trainer),
            message(2, Side::Athlete),
            message(3, Side::Trainer),
        ];
        view
    }

    #[test]
    fn the_newest_message_of_the_other_side_in_view_is_due_once() {
        let mut athlete = view(Side::Athlete);
        let none = || None;
        assert_eq!(due(&athlete, |_| true, none), (Some(3), None));
        // Only what is on screen.
        assert_eq!(due(&athlete, |id| id == 1, none), (Some(1), None));
        assert_eq!(
            due(&athlete, |id| id == 2, none),
            (None, None),
            "own message"
        );
        // Nothing once the view has the receipt, nor for older ones.
        athlete.reads.athlete = Some(Read {
            message_id: 3,
            at: 5,
        });
        assert_eq!(due(&athlete, |_| true, none), (None, None));
    }

    #[test]
    fn a_receipt_goes_again_only_when_newer_or_after_a_while() {
        let sent = Sent {
            what: (7, 0),
            at: 1_000.0,
        };
        assert!(!sent.needs((7, 0), 2_000.0), "on its way");
        assert!(!sent.needs((6, 0), 2_000.0), "an older one is covered");
        assert!(sent.needs((8, 0), 2_000.0), "a newer one goes");
        assert!(sent.needs((7, 0), 1_000.0 + RESEND_AFTER_MS), "lost: again");
        let round = Sent {
            what: (31, 2),
            at: 1_000.0,
        };
        assert!(!round.needs((31, 1), 2_000.0));
        assert!(round.needs((31, 3), 2_000.0));
        assert!(round.needs((32, 1), 2_000.0), "another round");
    }

    #[test]
    fn a_round_in_view_is_due_at_each_new_revision_for_the_athlete_only() {
        let round: Round = serde_json::from_value(serde_json::json!({
            "id": 31, "number": 1, "status": "released", "is_final": false, "revision": 2,
            "released_at": 5, "completed_at": null, "exercises": [], "feedback": []
        }))
        .unwrap();
        assert_eq!(round.status, RoundStatus::Released);
        let mut athlete = view(Side::Athlete);
        athlete.messages.clear();
        athlete.rounds.push(round);
        let on_screen = || Some((31, 2));
        assert_eq!(due(&athlete, |_| false, on_screen), (None, Some((31, 2))));
        assert_eq!(
            due(&athlete, |_| false, || None),
            (None, None),
            "not in view"
        );
        athlete.rounds[0].opened = Some(Opened { revision: 1, at: 3 });
        assert_eq!(due(&athlete, |_| false, on_screen), (None, Some((31, 2))));
        athlete.rounds[0].opened = Some(Opened { revision: 2, at: 4 });
        assert_eq!(due(&athlete, |_| false, on_screen), (None, None));
        let mut trainer = athlete.clone();
        trainer.viewer = Side::Trainer;
        trainer.rounds[0].opened = None;
        assert_eq!(due(&trainer, |_| false, on_screen), (None, None));
    }
}
