//! Training sessions: every mutation of a session, round or feedback, and
//! the read models the pages need.
//!
//! | file | owns |
//! |---|---|
//! | [`mutation`] | what a mutation declares (side, session, `apply`), and the one path every mutation takes: writer, unit of work, side check, answer |
//! | [`writer`] | runs each mutation (a closure over a `server::tx::Tx`) and answers after its commit: group commit on SQLite's write connection, on a thread of its own; the pool on PostgreSQL; the bound on waiting actions (503) |
//! | [`work`] | the unit of work: begin, lock the session, replay a repeated request, resolve the side; commit and hand the events to the bus |
//! | [`sessions`] | start, join, cancel (each an `impl Mutation` for its server function's arguments, like the three below) |
//! | [`rounds`] | save (and release with it), release, delete, complete with feedback |
//! | [`sets`] | log a set as it is done, correct it before the round is completed |
//! | [`pain`] | the athlete reports pain, the trainer acknowledges it |
//! | [`messages`] | either side writes in the session's thread |
//! | [`receipts`] | what each side had on screen: messages read, rounds opened |
//! | [`queries`] | the dashboard and the session view |
//! | [`codec`] | how loads, RPE and exercises are stored and read back |
//!
//! The rules themselves (who may do what, when) are pure functions in
//! `model::rules`, shared with the pages. Dependencies point one way:
//! training → events (the log) → db, and training → bus → hub.

mod codec;
pub mod messages;
pub mod mutation;
pub mod pain;
pub mod queries;
pub mod receipts;
pub mod rounds;
pub mod sessions;
pub mod sets;
mod work;
pub mod writer;

pub use mutation::{Mutation, Scoped};
pub use queries::{all_messages, dashboard, exercise_names, older_messages, session_view, thread};
pub use work::Scope;
pub use writer::Writer;
