-- Exactly-once submission: a client sends a random key with each mutation
-- (a hidden form field); the mutation stores the key with its answer in the
-- same transaction. A repeat of a committed key gets the stored answer and
-- changes nothing; the same key with another request is refused.
CREATE TABLE idempotency_keys (
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key          TEXT NOT NULL,
    -- SHA-256 of the endpoint and its arguments.
    request_hash TEXT NOT NULL,
    -- The answer, as JSON.
    response     TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (user_id, key)
);
