-- Sessions counted where they begin: a session is one of the window's sessions when its first
-- event falls in the window (the earliest event Beacon has of it, so a late-arriving earlier
-- event moves it). Kept as a count per team and hour in `team_hours`, so the summary sums hours
-- instead of scanning a bitmap row per session (10,000 rows a month at modest traffic), and
-- ingest keeps one row per session instead of per session and day and 60-day block.

CREATE TABLE telemetry_sessions (
  team_id     TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  session_id  TEXT NOT NULL,
  first_hour  INTEGER NOT NULL,
  PRIMARY KEY (team_id, session_id)
) WITHOUT ROWID;

ALTER TABLE team_hours ADD COLUMN sessions INTEGER NOT NULL DEFAULT 0;

-- What the session bitmaps knew: each session's earliest hour (the lowest bit of its first day).
INSERT INTO telemetry_sessions (team_id, session_id, first_hour)
  SELECT team_id, subject, MIN(day * 86400000 + 3600000 * CASE hours & -hours WHEN 1 THEN 0 WHEN 2 THEN 1 WHEN 4 THEN 2 WHEN 8 THEN 3 WHEN 16 THEN 4 WHEN 32 THEN 5 WHEN 64 THEN 6 WHEN 128 THEN 7 WHEN 256 THEN 8 WHEN 512 THEN 9 WHEN 1024 THEN 10 WHEN 2048 THEN 11 WHEN 4096 THEN 12 WHEN 8192 THEN 13 WHEN 16384 THEN 14 WHEN 32768 THEN 15 WHEN 65536 THEN 16 WHEN 131072 THEN 17 WHEN 262144 THEN 18 WHEN 524288 THEN 19 WHEN 1048576 THEN 20 WHEN 2097152 THEN 21 WHEN 4194304 THEN 22 WHEN 8388608 THEN 23 END)
  FROM active_hours WHERE kind = 'session' AND scope = '' GROUP BY team_id, subject;
UPDATE team_hours SET sessions = c.n
  FROM (SELECT team_id, first_hour, COUNT(*) AS n FROM telemetry_sessions GROUP BY team_id, first_hour) c
  WHERE c.team_id = team_hours.team_id AND c.first_hour = team_hours.hour;
DELETE FROM active_hours WHERE kind = 'session';
DELETE FROM active_days WHERE kind = 'session';

-- The event trigger again, its session bitmap replaced by the session's row. The hour's row is
-- upserted first, so the session triggers below always find it.
DROP TRIGGER events_rollup;
CREATE TRIGGER events_rollup AFTER INSERT ON events BEGIN
  INSERT INTO team_hours (team_id, hour, actions)
    VALUES (NEW.team_id, NEW.ts / 3600000 * 3600000, 1)
    ON CONFLICT DO UPDATE SET actions = actions + 1;
  INSERT INTO event_hours (team_id, hour, component, actions)
    VALUES (NEW.team_id, NEW.ts / 3600000 * 3600000, NEW.component, 1)
    ON CONFLICT DO UPDATE SET actions = actions + 1;
  INSERT INTO active_hours (team_id, kind, scope, day, subject, hours)
    SELECT NEW.team_id, 'user', '', NEW.ts / 86400000, NEW.user_id, 1 << (NEW.ts / 3600000 % 24)
    WHERE NEW.user_id IS NOT NULL
    ON CONFLICT DO UPDATE SET hours = hours | excluded.hours WHERE hours & excluded.hours = 0;
  INSERT INTO active_hours (team_id, kind, scope, day, subject, hours)
    SELECT NEW.team_id, 'user', NEW.component, NEW.ts / 86400000, NEW.user_id, 1 << (NEW.ts / 3600000 % 24)
    WHERE NEW.user_id IS NOT NULL
    ON CONFLICT DO UPDATE SET hours = hours | excluded.hours WHERE hours & excluded.hours = 0;
  INSERT INTO telemetry_sessions (team_id, session_id, first_hour)
    SELECT NEW.team_id, NEW.session_id, NEW.ts / 3600000 * 3600000
    WHERE NEW.session_id IS NOT NULL
    ON CONFLICT DO UPDATE SET first_hour = excluded.first_hour WHERE excluded.first_hour < first_hour;
END;

CREATE TRIGGER telemetry_sessions_new AFTER INSERT ON telemetry_sessions BEGIN
  UPDATE team_hours SET sessions = sessions + 1 WHERE team_id = NEW.team_id AND hour = NEW.first_hour;
END;

CREATE TRIGGER telemetry_sessions_earlier AFTER UPDATE OF first_hour ON telemetry_sessions BEGIN
  UPDATE team_hours SET sessions = sessions - 1 WHERE team_id = OLD.team_id AND hour = OLD.first_hour;
  UPDATE team_hours SET sessions = sessions + 1 WHERE team_id = NEW.team_id AND hour = NEW.first_hour;
END;
