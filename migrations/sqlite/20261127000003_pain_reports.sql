-- Pain the athlete flags during a round, on an exercise or one of its sets,
-- until the trainer acknowledges it. Not tied to the round's row: a round
-- the trainer deletes does not take a pain report with it.
-- Keep in step with migrations/postgres/20261127000003_pain_reports.sql.
CREATE TABLE pain_reports (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id      INTEGER NOT NULL REFERENCES training_sessions (id) ON DELETE CASCADE,
    round_id        INTEGER NOT NULL,
    round_number    INTEGER NOT NULL,
    position        INTEGER NOT NULL,
    exercise_name   TEXT    NOT NULL,
    set_number      INTEGER,
    note            TEXT    NOT NULL DEFAULT '',
    reported_at     BIGINT  NOT NULL,
    acknowledged_at BIGINT
);
CREATE INDEX pain_reports_session ON pain_reports (session_id, id);
