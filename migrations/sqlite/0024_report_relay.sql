-- Moderation, part 4 (issue 9): reports about content of a community hosted here are relayed
-- to the instances of the community's remote moderators (SQLite). Keep in step with
-- ../postgres/0024_report_relay.sql.

-- The outbox event of that relayed Flag, when the report was not forwarded (a report
-- forwarded by its reporter carries its moderators' instances in its own Flag,
-- `flag_event_id`). A Resolve of either Flag finds the report.
ALTER TABLE reports ADD COLUMN relay_event_id BIGINT;
CREATE INDEX reports_relay_event ON reports (relay_event_id);
