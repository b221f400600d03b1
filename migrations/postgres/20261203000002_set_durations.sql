-- A timed exercise's sets log their time (a plank held 30 s), with the
-- prescription's time per set copied when the set is logged, like its
-- other targets.
ALTER TABLE set_logs ADD COLUMN duration_s BIGINT;
ALTER TABLE set_logs ADD COLUMN presc_duration_s BIGINT;
