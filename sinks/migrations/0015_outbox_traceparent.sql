-- leadsync 0015: the W3C traceparent of the lead behind each contact change (leadsync.tracing).
-- The relay publishes it as the event's record header, so one lead's trace ends at its
-- contact change. NULL for changes no lead caused and for rows written before this migration.
ALTER TABLE outbox ADD COLUMN traceparent text;
