-- Components (#19): actions per component over a window were summed from `event_hours` keyed
-- (team_id, hour, component), so a 30-day window walked every component's hours together and
-- grouped them in a temporary B-tree (8,640 rows for 12 components: 2.5 ms of SQLite on the
-- bench's database). Keyed (team_id, component, hour), each component's window is one range of
-- the key, summed in order (0.6 ms). The same rows, so nothing more is written per event; the
-- batch's grouped upsert and an erasure's correction name the whole key either way.

CREATE TABLE event_hours_by_component (
  team_id    TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  component  TEXT NOT NULL,
  hour       INTEGER NOT NULL,
  actions    INTEGER NOT NULL,
  PRIMARY KEY (team_id, component, hour)
) WITHOUT ROWID;

INSERT INTO event_hours_by_component (team_id, component, hour, actions)
  SELECT team_id, component, hour, actions FROM event_hours;

DROP TABLE event_hours;
ALTER TABLE event_hours_by_component RENAME TO event_hours;

-- A new component-hour registers the component (dropped with the old table).
CREATE TRIGGER event_hours_component AFTER INSERT ON event_hours BEGIN
  INSERT OR IGNORE INTO components (team_id, name, first_seen_at)
    VALUES (NEW.team_id, NEW.component, NEW.hour);
END;
