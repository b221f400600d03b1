//! Read models the pages get besides the session view (which is the
//! protocol's `SessionView`).

use super::SessionSummary;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The dashboard's lists.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    /// Sessions waiting for this trainer to join (trainers only).
    pub waiting: Vec<SessionSummary>,
    /// Active sessions.
    pub active: Vec<SessionSummary>,
    /// Completed or cancelled sessions, newest first.
    pub past: Vec<SessionSummary>,
    /// Trainers the athlete can start a session with (athletes only).
    pub trainers: Vec<TrainerChoice>,
    /// Messages of the other side this user has not read yet, by open
    /// session (none: not listed).
    #[serde(default)]
    pub unread: BTreeMap<i64, u32>,
}

/// A trainer in the athlete's "start a session" picker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrainerChoice {
    /// User id.
    pub id: i64,
    /// Display name.
    pub name: String,
}
