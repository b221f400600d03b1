-- Each set the athlete logs as done, while the round is open; corrected in
-- place (`updated_at`) until the round is completed. The prescription's
-- targets are copied next to the actuals, as the feedback table does, so
-- history stays true whatever happens to the round later.
-- Keep in step with migrations/postgres/20261127000002_set_logs.sql.
CREATE TABLE set_logs (
    round_id         INTEGER NOT NULL REFERENCES rounds (id) ON DELETE CASCADE,
    position         INTEGER NOT NULL,
    set_number       INTEGER NOT NULL,
    exercise_name    TEXT    NOT NULL,
    presc_sets       INTEGER,
    presc_reps       INTEGER,
    presc_load_centi INTEGER,
    presc_load_unit  TEXT,
    presc_rest_s     INTEGER,
    reps             INTEGER,
    load_centi       INTEGER,
    rpe_half         INTEGER,
    logged_at        BIGINT  NOT NULL,
    updated_at       BIGINT,
    PRIMARY KEY (round_id, position, set_number)
);
