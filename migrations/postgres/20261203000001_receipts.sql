-- Receipts: what each side had on screen. 'messages': the other side's
-- messages up to message item_id (revision 0); 'round': revision
-- `revision` of round item_id (the athlete's). One row per receipt; a
-- receipt never goes backwards (the mutation keeps only newer ones).
-- Keep in step with migrations/sqlite/20261203000001_receipts.sql.
CREATE TABLE receipts (
    session_id BIGINT NOT NULL REFERENCES training_sessions (id) ON DELETE CASCADE,
    side       TEXT    NOT NULL CHECK (side IN ('athlete', 'trainer')),
    kind       TEXT    NOT NULL CHECK (kind IN ('messages', 'round')),
    item_id    BIGINT  NOT NULL,
    revision   BIGINT  NOT NULL,
    seen_at    BIGINT  NOT NULL,
    PRIMARY KEY (session_id, side, kind, item_id, revision)
);
