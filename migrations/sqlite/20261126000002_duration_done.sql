-- How long the athlete held or carried an exercise with a duration (a
-- plank, a carry), in seconds: "2 sets" alone says nothing about it.
ALTER TABLE feedback ADD COLUMN duration_done_s INTEGER;
