//! The session's thread: either side writes a message while the session
//! goes on. A form of its own, so it posts without JavaScript too; with it,
//! the athlete's page sends it through its outbox, in order with the sets.

mutation! {
    /// Either participant writes `body` (trimmed, 1 to 2,000 characters)
    /// in the session's thread. Returns the message's id.
    #[server(endpoint = "messages/send")]
    pub async fn send_message(
        session_id: i64,
        body: String,
        idempotency_key: String,
    ) -> i64 as SendMessage in session_id;
}
