-- Telemetry: raw events and metrics, the components they name, and the rollups analytics reads.
--
-- Rollups are kept by triggers in the same transaction as the raw rows, and a trigger on
-- `events` fires only for rows actually inserted, so a duplicate (ON CONFLICT DO NOTHING) is never
-- counted. Analytics answers from the rollups; raw events serve only the sub-hour edges of a window
-- and exports. Times are epoch ms; `hour` is the start of a UTC hour in ms, `day` a UTC day number
-- (ms / 86400000).

-- A client-supplied id is stored once per team: the UNIQUE key makes a repeat a no-op.
CREATE TABLE events (
  team_id      TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  id           TEXT NOT NULL,
  component    TEXT NOT NULL,
  action       TEXT NOT NULL,
  user_id      TEXT,
  session_id   TEXT,
  properties   TEXT,
  ts           INTEGER NOT NULL,
  received_at  INTEGER NOT NULL,
  UNIQUE (team_id, id)
);
CREATE INDEX events_team_ts ON events (team_id, ts);

-- Registered the first time an event or a metric names them.
CREATE TABLE components (
  team_id        TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  name           TEXT NOT NULL,
  first_seen_at  INTEGER NOT NULL,
  PRIMARY KEY (team_id, name)
) WITHOUT ROWID;

-- Actions per team and hour (summary, trends), and per team, hour and component (components).
CREATE TABLE team_hours (
  team_id  TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  hour     INTEGER NOT NULL,
  actions  INTEGER NOT NULL,
  PRIMARY KEY (team_id, hour)
) WITHOUT ROWID;

CREATE TABLE event_hours (
  team_id    TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  hour       INTEGER NOT NULL,
  component  TEXT NOT NULL,
  actions    INTEGER NOT NULL,
  PRIMARY KEY (team_id, hour, component)
) WITHOUT ROWID;

-- Who was active when, as bitmaps, so "distinct users in a window" is one pass over one row per
-- subject instead of a DISTINCT over every hour's rows. `kind` is 'user' or 'session'; `scope` is ''
-- for the whole team or a component's name (per-component users). `active_hours` holds one row per
-- subject and day with a bit per hour (bit h = hour h of that UTC day); `active_days` one row per
-- subject and 60-day block with a bit per day (bit d of `days` = day block*60 + d) and the block
-- before's bits again in `prior`, so a window of up to 61 days reads a single row per subject.
CREATE TABLE active_hours (
  team_id  TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  kind     TEXT NOT NULL CHECK (kind IN ('user', 'session')),
  scope    TEXT NOT NULL,
  day      INTEGER NOT NULL,
  subject  TEXT NOT NULL,
  hours    INTEGER NOT NULL,
  PRIMARY KEY (team_id, kind, scope, day, subject)
) WITHOUT ROWID;

CREATE TABLE active_days (
  team_id  TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  kind     TEXT NOT NULL CHECK (kind IN ('user', 'session')),
  scope    TEXT NOT NULL,
  block    INTEGER NOT NULL,
  subject  TEXT NOT NULL,
  days     INTEGER NOT NULL,
  prior    INTEGER NOT NULL,
  PRIMARY KEY (team_id, kind, scope, block, subject)
) WITHOUT ROWID;

-- Per event: one upsert per rollup. An upsert that would set no new bit writes nothing.
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
  INSERT INTO active_hours (team_id, kind, scope, day, subject, hours)
    SELECT NEW.team_id, 'session', '', NEW.ts / 86400000, NEW.session_id, 1 << (NEW.ts / 3600000 % 24)
    WHERE NEW.session_id IS NOT NULL
    ON CONFLICT DO UPDATE SET hours = hours | excluded.hours WHERE hours & excluded.hours = 0;
END;

-- Cascades that run only on a first sighting (an upsert that updates fires no INSERT trigger):
-- a new component-hour registers the component, a new subject-day sets its day bit (in its own
-- block's row and as `prior` in the next block's).
CREATE TRIGGER event_hours_component AFTER INSERT ON event_hours BEGIN
  INSERT OR IGNORE INTO components (team_id, name, first_seen_at)
    VALUES (NEW.team_id, NEW.component, NEW.hour);
END;

CREATE TRIGGER active_hours_day AFTER INSERT ON active_hours BEGIN
  INSERT INTO active_days (team_id, kind, scope, block, subject, days, prior)
    VALUES (NEW.team_id, NEW.kind, NEW.scope, NEW.day / 60, NEW.subject, 1 << (NEW.day % 60), 0)
    ON CONFLICT DO UPDATE SET days = days | excluded.days;
  INSERT INTO active_days (team_id, kind, scope, block, subject, days, prior)
    VALUES (NEW.team_id, NEW.kind, NEW.scope, NEW.day / 60 + 1, NEW.subject, 0, 1 << (NEW.day % 60))
    ON CONFLICT DO UPDATE SET prior = prior | excluded.prior;
END;

-- Numeric metrics (page load time, ...), newest first per component for the metrics list.
CREATE TABLE metrics (
  id          TEXT PRIMARY KEY,
  team_id     TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  component   TEXT NOT NULL,
  name        TEXT NOT NULL,
  value       REAL NOT NULL,
  metadata    TEXT,
  created_at  INTEGER NOT NULL
);
CREATE INDEX metrics_component ON metrics (team_id, component, id);
CREATE INDEX metrics_team_time ON metrics (team_id, created_at);

-- Count and sum per team, hour, component and metric name, for averages over a window.
CREATE TABLE metric_hours (
  team_id    TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  hour       INTEGER NOT NULL,
  component  TEXT NOT NULL,
  name       TEXT NOT NULL,
  count      INTEGER NOT NULL,
  total      REAL NOT NULL,
  PRIMARY KEY (team_id, hour, component, name)
) WITHOUT ROWID;

CREATE TRIGGER metrics_rollup AFTER INSERT ON metrics BEGIN
  INSERT OR IGNORE INTO components (team_id, name, first_seen_at)
    VALUES (NEW.team_id, NEW.component, NEW.created_at);
  INSERT INTO metric_hours (team_id, hour, component, name, count, total)
    VALUES (NEW.team_id, NEW.created_at / 3600000 * 3600000, NEW.component, NEW.name, 1, NEW.value)
    ON CONFLICT DO UPDATE SET count = count + 1, total = total + excluded.total;
END;
