//! Sets logged as they are done. A form of its own per set, so it posts
//! without JavaScript too; with it, the athlete's page sends it through its
//! outbox.
// `#[server]` writes the nine form fields into functions of its own, where
// an attribute on `log_set` does not reach.
#![allow(clippy::too_many_arguments)]

mutation! {
    /// The athlete logs a set of the released round as done ("Set done"), or
    /// corrects one logged before: `exercise` is the exercise's position (0 is
    /// the first), `set` the set's number (1 is the first), against the round
    /// `revision` they saw. Empty values are allowed ("done as planned");
    /// `duration_s` is the time of a timed exercise (like every argument,
    /// it may be left out).
    /// Returns whether the set was new.
    #[server(endpoint = "sets/log")]
    pub async fn log_set(
        session_id: i64,
        round_id: i64,
        revision: i64,
        exercise: i64,
        set: i64,
        reps: String,
        load: String,
        rpe: String,
        duration_s: String,
        idempotency_key: String,
    ) -> bool as LogSet in session_id;
}
