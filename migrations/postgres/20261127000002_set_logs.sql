-- Each set the athlete logs as done, while the round is open; corrected in
-- place (`updated_at`) until the round is completed. The prescription's
-- targets are copied next to the actuals, as the feedback table does, so
-- history stays true whatever happens to the round later.
-- Keep in step with migrations/sqlite/20261127000002_set_logs.sql.
CREATE TABLE set_logs (
    round_id         BIGINT NOT NULL REFERENCES rounds (id) ON DELETE CASCADE,
    position         BIGINT NOT NULL,
    set_number       BIGINT NOT NULL,
    exercise_name    TEXT    NOT NULL,
    presc_sets       BIGINT,
    presc_reps       BIGINT,
    presc_load_centi BIGINT,
    presc_load_unit  TEXT,
    presc_rest_s     BIGINT,
    reps             BIGINT,
    load_centi       BIGINT,
    rpe_half         BIGINT,
    logged_at        BIGINT  NOT NULL,
    updated_at       BIGINT,
    PRIMARY KEY (round_id, position, set_number)
);
