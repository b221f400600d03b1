-- Scale-out: every event appended to the log is announced on the
-- 'spotter_events' channel in the same transaction, so PostgreSQL delivers
-- the notification to every instance's listener only if it commits.
-- Payload: session_id, seq, athlete_id, trainer_id and, when it is small
-- enough for NOTIFY's 8000-byte limit, the event itself (kind, at, data), so
-- listeners need not read it back; otherwise they read it from the log.
CREATE FUNCTION spotter_notify_event() RETURNS trigger AS $$
DECLARE
    participants RECORD;
BEGIN
    SELECT athlete_id, trainer_id INTO participants
      FROM training_sessions WHERE id = NEW.session_id;
    PERFORM pg_notify('spotter_events', json_build_object(
        'session_id', NEW.session_id,
        'seq', NEW.seq,
        'athlete_id', participants.athlete_id,
        'trainer_id', participants.trainer_id,
        'event', CASE WHEN octet_length(NEW.payload) <= 6000 THEN json_build_object(
            'kind', NEW.kind,
            'at', NEW.at,
            'data', NEW.payload::json) END)::text);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER session_events_notify
    AFTER INSERT ON session_events
    FOR EACH ROW EXECUTE FUNCTION spotter_notify_event();
