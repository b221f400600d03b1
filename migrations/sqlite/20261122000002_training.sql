-- Training sessions, rounds, exercises, feedback and the event log (SQLite).
-- Keep in step with migrations/postgres/20261122000002_training.sql.
-- Booleans are INTEGER 0/1 and times BIGINT milliseconds on both backends.
-- Fractional numbers are stored as exact integers: loads in hundredths
-- (`*_centi`), RPE in half points (`rpe_half`). That keeps them exact, and
-- it avoids sqlx 0.8's Any driver binding a NULL double as float4 on
-- PostgreSQL, which breaks cached statements.
CREATE TABLE training_sessions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    athlete_id    INTEGER NOT NULL REFERENCES users (id),
    trainer_id    INTEGER NOT NULL REFERENCES users (id),
    status        TEXT    NOT NULL CHECK (status IN ('waiting', 'active', 'completed', 'cancelled')),
    created_at    BIGINT  NOT NULL,
    joined_at     BIGINT,
    completed_at  BIGINT,
    cancelled_at  BIGINT,
    cancelled_by  TEXT CHECK (cancelled_by IN ('athlete', 'trainer')),
    cancel_reason TEXT,
    -- Last event sequence number; bumping it is the first write of every
    -- mutation, which serialises mutations of one session.
    last_seq      BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX training_sessions_athlete ON training_sessions (athlete_id, status);
CREATE INDEX training_sessions_trainer ON training_sessions (trainer_id, status);

CREATE TABLE rounds (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id   INTEGER NOT NULL REFERENCES training_sessions (id) ON DELETE CASCADE,
    number       INTEGER NOT NULL,
    status       TEXT    NOT NULL CHECK (status IN ('draft', 'released', 'completed')),
    is_final     INTEGER NOT NULL DEFAULT 0 CHECK (is_final IN (0, 1)),
    revision     INTEGER NOT NULL DEFAULT 1,
    created_at   BIGINT  NOT NULL,
    released_at  BIGINT,
    completed_at BIGINT,
    UNIQUE (session_id, number)
);
-- At most one released, not yet completed round per session.
CREATE UNIQUE INDEX rounds_one_released ON rounds (session_id) WHERE status = 'released';

CREATE TABLE exercises (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    round_id   INTEGER NOT NULL REFERENCES rounds (id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    name       TEXT    NOT NULL,
    sets       INTEGER,
    reps       INTEGER,
    load_centi INTEGER,
    load_unit  TEXT CHECK (load_unit IN ('kg', 'lb', 'bodyweight', 'percent_1rm')),
    duration_s INTEGER,
    rest_s     INTEGER,
    notes      TEXT    NOT NULL DEFAULT '',
    UNIQUE (round_id, position)
);

-- The athlete's report per exercise, with the prescription copied as it
-- stood, so history stays true whatever happens to the round later.
CREATE TABLE feedback (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    round_id          INTEGER NOT NULL REFERENCES rounds (id) ON DELETE CASCADE,
    position          INTEGER NOT NULL,
    exercise_name     TEXT    NOT NULL,
    presc_sets        INTEGER,
    presc_reps        INTEGER,
    presc_load_centi  INTEGER,
    presc_load_unit   TEXT,
    presc_duration_s  INTEGER,
    presc_rest_s      INTEGER,
    presc_notes       TEXT    NOT NULL DEFAULT '',
    sets_done         INTEGER,
    reps_done         INTEGER,
    load_used_centi   INTEGER,
    rpe_half          INTEGER,
    pain              INTEGER NOT NULL DEFAULT 0 CHECK (pain IN (0, 1)),
    notes             TEXT    NOT NULL DEFAULT '',
    created_at        BIGINT  NOT NULL,
    UNIQUE (round_id, position)
);

-- Every committed change, per session, in order: the live layer's outbox.
CREATE TABLE session_events (
    session_id INTEGER NOT NULL REFERENCES training_sessions (id) ON DELETE CASCADE,
    seq        BIGINT  NOT NULL,
    kind       TEXT    NOT NULL,
    payload    TEXT    NOT NULL,
    actor_id   INTEGER REFERENCES users (id),
    at         BIGINT  NOT NULL,
    PRIMARY KEY (session_id, seq)
);
