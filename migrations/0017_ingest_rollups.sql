-- Ingest speed (#19): an event is one row keyed by its id plus one `(team_id, ts)` index entry,
-- and the rollups are applied once per batch by grouped upserts (src/store/telemetry.rs) instead
-- of by a trigger per event. On D1 every row written (index entries and trigger writes included)
-- is billed and takes the single writer's time: the rowid table with its UNIQUE index, its time
-- index and the per-event trigger wrote about five rows per event; this writes two, plus one row
-- per hour, component, user-hour and new session of the batch.

CREATE TABLE events_by_id (
  team_id      TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  id           TEXT NOT NULL,
  component    TEXT NOT NULL,
  action       TEXT NOT NULL,
  user_id      TEXT,
  session_id   TEXT,
  properties   TEXT,
  ts           INTEGER NOT NULL,
  received_at  INTEGER NOT NULL,
  PRIMARY KEY (team_id, id)
) WITHOUT ROWID;

INSERT INTO events_by_id (team_id, id, component, action, user_id, session_id, properties, ts, received_at)
  SELECT team_id, id, component, action, user_id, session_id, properties, ts, received_at FROM events;

DROP TRIGGER events_rollup;
DROP TABLE events;
ALTER TABLE events_by_id RENAME TO events;
-- Exports and retention walk a team's events in time order; `id` breaks ties.
CREATE INDEX events_team_ts ON events (team_id, ts);

-- The triggers that stay fire once per first sighting, not per event: a new component-hour
-- registers its component (event_hours_component), a new user-day sets its day bits
-- (active_hours_day), a new or earlier session moves its hour's count (telemetry_sessions_*).
