//! Pain as an alert: the athlete reports it on an exercise or a set at any
//! moment of a round; the trainer acknowledges it.

mutation! {
    /// The athlete reports pain on exercise `exercise` (its position, 0 first)
    /// of round `round_id`, in set `set` (empty: the exercise as a whole), with
    /// an optional `note`. Returns the report's id.
    #[server(endpoint = "pain/report")]
    pub async fn report_pain(
        session_id: i64,
        round_id: i64,
        exercise: i64,
        set: String,
        note: String,
        idempotency_key: String,
    ) -> i64 as ReportPain in session_id;

    /// The trainer acknowledges pain report `report_id`: the alert goes, and
    /// the athlete sees the trainer saw it.
    #[server(endpoint = "pain/acknowledge")]
    pub async fn acknowledge_pain(
        session_id: i64,
        report_id: i64,
        idempotency_key: String,
    ) -> () as AcknowledgePain in session_id;
}
