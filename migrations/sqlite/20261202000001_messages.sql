-- The session's thread: what either side writes during the session.
-- Keep in step with migrations/postgres/20261202000001_messages.sql.
CREATE TABLE messages (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id INTEGER NOT NULL REFERENCES training_sessions (id) ON DELETE CASCADE,
    side       TEXT    NOT NULL CHECK (side IN ('athlete', 'trainer')),
    body       TEXT    NOT NULL,
    sent_at    BIGINT  NOT NULL
);
CREATE INDEX messages_session ON messages (session_id, id);
