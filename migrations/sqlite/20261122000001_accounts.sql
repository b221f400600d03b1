-- Accounts and login sessions (SQLite). Keep in step with
-- migrations/postgres/20261122000001_accounts.sql.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('trainer', 'athlete')),
    password_hash TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL
);

-- One row per logged-in browser. Only the SHA-256 of the cookie's token is
-- stored, so a copy of the database cannot be used to log in.
CREATE TABLE auth_sessions (
    token_hash TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL
);
CREATE INDEX auth_sessions_user ON auth_sessions (user_id);
CREATE INDEX auth_sessions_expiry ON auth_sessions (expires_at);
