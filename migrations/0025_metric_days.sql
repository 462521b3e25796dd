-- Metric averages per component (#19): a window read every hour's row of every component and
-- metric name in it (12 components x 5 metrics x 720 hours = 43,200 rows for 30 days: ~20 ms of
-- SQLite). Kept per day as well, a window is its whole days from here and only the hours of its
-- partial first and last days from `metric_hours` (about a tenth of the rows). Samples come one
-- per request: one more row written each, for a read that no longer grows with the window.

CREATE TABLE metric_days (
  team_id    TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  component  TEXT NOT NULL,
  day        INTEGER NOT NULL,
  name       TEXT NOT NULL,
  count      INTEGER NOT NULL,
  total      REAL NOT NULL,
  PRIMARY KEY (team_id, component, day, name)
) WITHOUT ROWID;

INSERT INTO metric_days (team_id, component, day, name, count, total)
  SELECT team_id, component, hour / 86400000, name, SUM(count), SUM(total)
  FROM metric_hours GROUP BY team_id, component, hour / 86400000, name;

DROP TRIGGER metrics_rollup;
CREATE TRIGGER metrics_rollup AFTER INSERT ON metrics BEGIN
  INSERT OR IGNORE INTO components (team_id, name, first_seen_at)
    VALUES (NEW.team_id, NEW.component, NEW.created_at);
  INSERT INTO metric_hours (team_id, hour, component, name, count, total)
    VALUES (NEW.team_id, NEW.created_at / 3600000 * 3600000, NEW.component, NEW.name, 1, NEW.value)
    ON CONFLICT DO UPDATE SET count = count + 1, total = total + excluded.total;
  INSERT INTO metric_days (team_id, component, day, name, count, total)
    VALUES (NEW.team_id, NEW.component, NEW.created_at / 86400000, NEW.name, 1, NEW.value)
    ON CONFLICT DO UPDATE SET count = count + 1, total = total + excluded.total;
END;
