//! The spotter wire protocol, shared by the server, the browser app and
//! any other client (the load generator in `bench/` is one): the live
//! channel's frames ([`live`]), the typed session event ([`event`]), the
//! view of a session each side's page shows ([`view`]) and the one rule
//! that applies an event to it ([`state`]), and the two small enums they
//! carry. Only serde; no server, no browser.
//! `docs/live-protocol.md` documents it; a test checks its event table
//! against [`event::SessionEvent`].

use serde::{Deserialize, Serialize};

pub mod event;
pub mod live;
pub mod state;
pub mod view;

pub use event::SessionEvent;

/// Where a round is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RoundStatus {
    /// Being built by the trainer; the athlete does not see it.
    Draft,
    /// Visible to the athlete, who is doing it.
    Released,
    /// Done, with feedback; immutable.
    Completed,
}

impl RoundStatus {
    /// Whether `side` sees a round in this state: drafts are the
    /// trainer's alone (the one place this rule is written; the read
    /// model, the events a side is sent and the athlete's mutations all
    /// ask it).
    pub fn visible_to(self, side: Side) -> bool {
        self != RoundStatus::Draft || side == Side::Trainer
    }

    /// Database value.
    pub fn as_str(self) -> &'static str {
        match self {
            RoundStatus::Draft => "draft",
            RoundStatus::Released => "released",
            RoundStatus::Completed => "completed",
        }
    }
    /// Parses a database value.
    pub fn parse(value: &str) -> Option<RoundStatus> {
        Some(match value {
            "draft" => RoundStatus::Draft,
            "released" => RoundStatus::Released,
            "completed" => RoundStatus::Completed,
            _ => return None,
        })
    }
}

/// Which side of a session someone is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// The session's athlete.
    Athlete,
    /// The session's trainer.
    Trainer,
}

impl Side {
    /// Database value.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Athlete => "athlete",
            Side::Trainer => "trainer",
        }
    }
    /// Parses a database value.
    pub fn parse(value: &str) -> Option<Side> {
        match value {
            "athlete" => Some(Side::Athlete),
            "trainer" => Some(Side::Trainer),
            _ => None,
        }
    }
}
