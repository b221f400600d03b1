//! What the page sends over its Live WebSocket besides the link's own
//! frames: server-function calls (`live::client`) and `typing` frames;
//! and whether there is, or may again be, a Live WebSocket to send on.

use super::{Link, Shared, LINKS};
use crate::live::TYPING_EVERY_MS;
use crate::model::live::{Answer, ClientFrame};
use futures::channel::oneshot;
use std::rc::Weak;

/// Sends `POST path` with form `body` as a `call` frame over the page's
/// Live WebSocket, if it has one: the receiver gets the answer, or is
/// cancelled when that connection closes first. `None`: no Live
/// WebSocket (not connected, not current yet, or on SSE).
pub(in crate::live) fn call(path: &str, body: &str) -> Option<oneshot::Receiver<Answer>> {
    newest_live(|l, live| {
        let id = l.next_call;
        let conn = l.conns.iter_mut().find(|c| c.id == live)?;
        let text = serde_json::to_string(&ClientFrame::Call {
            id,
            path: path.into(),
            body: body.into(),
        })
        .ok()?;
        conn.socket.as_ref()?.send_with_str(&text).ok()?;
        let (answer, waiting) = oneshot::channel();
        conn.calls.push((id, answer));
        l.next_call += 1;
        Some(waiting)
    })
}

/// The user is writing a message: a `typing` frame goes over the page's
/// Live WebSocket, unless one went less than [`TYPING_EVERY_MS`] ago (or
/// there is no Live WebSocket: then the other side is not told).
pub(in crate::live) fn typed() {
    let now = js_sys::Date::now();
    newest_live(|l, live| {
        if now - l.typing_sent < TYPING_EVERY_MS {
            return Some(());
        }
        let socket = l.conns.iter().find(|c| c.id == live)?.socket.as_ref()?;
        let text = serde_json::to_string(&ClientFrame::Typing).ok()?;
        socket.send_with_str(&text).ok()?;
        l.typing_sent = now;
        Some(())
    });
}

/// Whether [`call`] would go over a live connection now.
pub(in crate::live) fn callable() -> bool {
    newest_live(|_, _| Some(())).is_some()
}

/// Whether a link of the page may be Live again (none: the page has no
/// link, or each was stopped or refused for good).
pub(in crate::live) fn coming_back() -> bool {
    LINKS.with(|links| {
        links
            .borrow()
            .iter()
            .filter_map(Weak::upgrade)
            .any(|l| l.try_borrow().map_or(true, |l| l.machine.may_come_back()))
    })
}

/// `f` on the newest running link that is Live on a WebSocket (with that
/// connection's id), until it gives `Some`.
fn newest_live<T>(mut f: impl FnMut(&mut Link, u32) -> Option<T>) -> Option<T> {
    let links: Vec<Shared> = LINKS.with(|links| {
        let mut links = links.borrow_mut();
        links.retain(|l| l.strong_count() > 0);
        links.iter().rev().filter_map(Weak::upgrade).collect()
    });
    links.iter().find_map(|link| {
        let mut l = link.try_borrow_mut().ok()?;
        let live = l.machine.live_websocket()?;
        f(&mut l, live)
    })
}
