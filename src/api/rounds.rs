//! Rounds: the trainer saves, releases and deletes them; the athlete
//! completes them with feedback. Without JavaScript each form posts and the
//! browser comes back to the page it was on, showing the new state.

use crate::model::{ExerciseInput, FeedbackInput};

mutation! {
    /// Creates (empty `round_id`) or edits a round: its exercises in order and
    /// whether it is the final one. `row_action` is the button pressed, if any:
    /// a row's (`remove:2`, `up:1`, `down:0`), applied before saving, or
    /// `release`, which saves the round as it is on screen and releases it in
    /// the same transaction. Returns the round's id.
    #[server(endpoint = "rounds/save")]
    pub async fn save_round(
        session_id: i64,
        round_id: String,
        exercises: Vec<ExerciseInput>,
        is_final: Option<String>,
        row_action: String,
        idempotency_key: String,
    ) -> i64 as SaveRound in session_id;

    /// Releases a draft round to the athlete.
    #[server(endpoint = "rounds/release")]
    pub async fn release_round(
        session_id: i64,
        round_id: i64,
        idempotency_key: String,
    ) -> () as ReleaseRound in session_id;

    /// Deletes a round that is not completed.
    #[server(endpoint = "rounds/delete")]
    pub async fn delete_round(
        session_id: i64,
        round_id: i64,
        idempotency_key: String,
    ) -> () as DeleteRound in session_id;

    /// The athlete completes the released round: feedback for each exercise, in
    /// order, against the round `revision` they saw. Returns whether that
    /// completed the session.
    #[server(endpoint = "rounds/complete")]
    pub async fn complete_round(
        session_id: i64,
        round_id: i64,
        revision: i64,
        feedback: Vec<FeedbackInput>,
        idempotency_key: String,
    ) -> bool as CompleteRound in session_id;

    /// A receipt: the athlete had `revision` of the released (or completed)
    /// round on screen (the trainer sees "Andy opened round 3 at 14:05").
    /// One for an earlier revision than the newest so far, or the same
    /// again, changes nothing. Answers whether it was new.
    #[server(endpoint = "rounds/opened", client = crate::live::client::Quiet)]
    pub async fn open_round(
        session_id: i64,
        round_id: i64,
        revision: i64,
    ) -> bool as OpenRound in session_id;
}
