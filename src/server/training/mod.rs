//! Training sessions: every mutation of a session, round or feedback, and
//! the read models the pages need.
//!
//! | file | owns |
//! |---|---|
//! | [`writer`] | runs each mutation (a closure over a `server::tx::Tx`) and answers after its commit: group commit on SQLite's write connection, on a thread of its own; the pool on PostgreSQL; the bound on waiting actions (503) |
//! | [`work`] | the unit of work: begin, lock the session, replay a repeated request, resolve the side; commit and hand the events to the bus |
//! | [`sessions`] | start, join, cancel |
//! | [`rounds`] | save (and release with it), release, delete, complete with feedback |
//! | [`sets`] | log a set as it is done, correct it before the round is completed |
//! | [`pain`] | the athlete reports pain, the trainer acknowledges it |
//! | [`queries`] | the dashboard and the session view |
//! | [`codec`] | how loads, RPE and exercises are stored and read back |
//!
//! The rules themselves (who may do what, when) are pure functions in
//! `model::rules`, shared with the pages. Dependencies point one way:
//! training → events (the log) → db, and training → bus → hub.

mod codec;
pub mod pain;
pub mod queries;
pub mod rounds;
pub mod sessions;
pub mod sets;
mod work;
pub mod writer;

pub use pain::{acknowledge_pain, report_pain, PainInput};
pub use queries::{dashboard, exercise_names, session_view};
pub use rounds::{complete_round, delete_round, release_round, save_round};
pub use sessions::{cancel_session, join_session, start_session};
pub use sets::{log_set, SetRef};
pub use writer::Writer;

use super::{db::Database, live::Bus};
use crate::model::live::LiveEvent;

/// What a mutation needs: the database it commits to and the bus its
/// committed events go to.
#[derive(Clone, Copy, Debug)]
pub struct Store<'a> {
    /// Where the change and its events are committed.
    pub db: &'a Database,
    /// Where the events go after the commit.
    pub bus: &'a Bus,
    /// Where the transactions come from (group commit on SQLite).
    pub writer: &'a Writer,
}

/// What a committed mutation did: its result and the events it published.
#[derive(Clone, Debug)]
pub struct Outcome<T> {
    /// The mutation's result.
    pub value: T,
    /// Events it appended, in order (empty for an idempotent retry).
    pub events: Vec<LiveEvent>,
}

impl<T> Outcome<T> {
    /// A result that changed nothing (a repeated request).
    pub fn unchanged(value: T) -> Outcome<T> {
        Outcome {
            value,
            events: Vec::new(),
        }
    }
}
