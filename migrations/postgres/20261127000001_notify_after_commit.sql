-- Committed events are now announced after the commit, by the instance that
-- committed them (server::live::notifier: one pg_notify per batch, outside
-- the business transaction). A NOTIFY inside the transaction took a
-- database-wide lock at every commit and serialised every notifying commit.
DROP TRIGGER IF EXISTS session_events_notify ON session_events;
DROP FUNCTION IF EXISTS spotter_notify_event();
