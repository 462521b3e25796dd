-- Identity: teams, their members, sessions, access tokens, invites, the audit log and the mail outbox.
-- Every table that belongs to a team carries team_id; ids are UUIDv7 strings; times are epoch ms.

CREATE TABLE teams (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL,
  created_at  INTEGER NOT NULL
);

-- One person belongs to one team; removing them deletes the row, and their sessions and tokens
-- go with it (D1 enforces foreign keys).
CREATE TABLE users (
  id              TEXT PRIMARY KEY,
  team_id         TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  email           TEXT NOT NULL UNIQUE,
  name            TEXT NOT NULL,
  role            TEXT NOT NULL CHECK (role IN ('viewer', 'member', 'admin', 'owner')),
  password_hash   TEXT NOT NULL,
  created_at      INTEGER NOT NULL,
  last_active_at  INTEGER
);
CREATE INDEX users_team ON users (team_id, role);

-- Sessions are looked up by the SHA-256 of the cookie's token; the token itself is never stored.
CREATE TABLE sessions (
  token_hash  TEXT PRIMARY KEY,
  user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  team_id     TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);

CREATE TABLE access_tokens (
  id            TEXT PRIMARY KEY,
  team_id       TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name          TEXT NOT NULL,
  role          TEXT NOT NULL CHECK (role IN ('viewer', 'member', 'admin', 'owner')),
  token_hash    TEXT NOT NULL UNIQUE,
  created_at    INTEGER NOT NULL,
  last_used_at  INTEGER
);
CREATE INDEX access_tokens_team ON access_tokens (team_id, id);
CREATE INDEX access_tokens_user ON access_tokens (user_id);

CREATE TABLE invites (
  id           TEXT PRIMARY KEY,
  team_id      TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  email        TEXT NOT NULL,
  role         TEXT NOT NULL CHECK (role IN ('viewer', 'member', 'admin', 'owner')),
  token_hash   TEXT NOT NULL UNIQUE,
  invited_by   TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL,
  accepted_at  INTEGER,
  revoked_at   INTEGER
);
CREATE INDEX invites_team ON invites (team_id, id);

-- Failed logins per email, for the 10-in-15-minutes limit; old rows are pruned by the cron tick.
CREATE TABLE login_failures (
  email         TEXT NOT NULL,
  attempted_at  INTEGER NOT NULL
);
CREATE INDEX login_failures_email ON login_failures (email, attempted_at);

-- Who did what to what. Actor details are copied so the entry survives the actor's removal.
CREATE TABLE activity (
  id           TEXT PRIMARY KEY,
  team_id      TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  actor_id     TEXT,
  actor_email  TEXT,
  action       TEXT NOT NULL,
  target_type  TEXT NOT NULL,
  target_id    TEXT,
  detail       TEXT,
  created_at   INTEGER NOT NULL
);
CREATE INDEX activity_team ON activity (team_id, id);

-- Mail the `log` mailer "sent": the message is kept here (the log line withholds links).
CREATE TABLE outbox (
  id          TEXT PRIMARY KEY,
  team_id     TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  to_email    TEXT NOT NULL,
  subject     TEXT NOT NULL,
  body        TEXT NOT NULL,
  created_at  INTEGER NOT NULL
);

-- Small facts about the deployment itself, such as the last cron tick.
CREATE TABLE app_state (
  key    TEXT PRIMARY KEY,
  value  TEXT NOT NULL
);

-- The provider-key vault. `secret` is an AES-256-GCM envelope (`v1:<master key id>:<iv>:<ct>`)
-- whose additional data binds it to (team_id, id); `master_key_id` mirrors the envelope's id so
-- the re-wrap task can find old ciphertexts by index. A deleted key keeps its row (usage history
-- names it) but loses its secret.
CREATE TABLE provider_keys (
  id              TEXT PRIMARY KEY,
  team_id         TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  name            TEXT NOT NULL,
  service         TEXT NOT NULL CHECK (service IN ('openai', 'anthropic', 'openai_compatible')),
  base_url        TEXT NOT NULL,
  last4           TEXT NOT NULL,
  secret          TEXT,
  master_key_id   TEXT,
  status          TEXT NOT NULL DEFAULT 'untested' CHECK (status IN ('untested', 'valid', 'invalid')),
  usage_count     INTEGER NOT NULL DEFAULT 0,
  last_used_at    INTEGER,
  last_tested_at  INTEGER,
  created_at      INTEGER NOT NULL,
  rotated_at      INTEGER,
  deleted_at      INTEGER
);
CREATE INDEX provider_keys_team ON provider_keys (team_id, id) WHERE deleted_at IS NULL;
CREATE INDEX provider_keys_master ON provider_keys (master_key_id) WHERE secret IS NOT NULL;

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

-- Workflows (versioned), their executions and steps, the status-change feed behind the live
-- monitor, and one usage row per LLM call.

CREATE TABLE workflows (
  id           TEXT PRIMARY KEY,
  team_id      TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  name         TEXT NOT NULL,
  description  TEXT,
  version      INTEGER NOT NULL,
  created_by   TEXT,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  deleted_at   INTEGER
);
CREATE INDEX workflows_team ON workflows (team_id, id) WHERE deleted_at IS NULL;

-- Every version's definition; an execution runs (and records) exactly one of them.
CREATE TABLE workflow_versions (
  workflow_id  TEXT NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
  version      INTEGER NOT NULL,
  team_id      TEXT NOT NULL,
  name         TEXT NOT NULL,
  steps        TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  PRIMARY KEY (workflow_id, version)
);

CREATE TABLE executions (
  id                TEXT PRIMARY KEY,
  team_id           TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  workflow_id       TEXT NOT NULL,
  workflow_version  INTEGER NOT NULL,
  workflow_name     TEXT NOT NULL,
  status            TEXT NOT NULL CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'cancelled', 'timed_out')),
  input             TEXT NOT NULL,
  error             TEXT,
  retry_of          TEXT,
  schedule_id       TEXT,
  idempotency_key   TEXT,
  triggered_by      TEXT,
  created_at        INTEGER NOT NULL,
  started_at        INTEGER,
  completed_at      INTEGER,
  deadline_at       INTEGER
);
CREATE INDEX executions_team ON executions (team_id, id);
CREATE INDEX executions_team_status ON executions (team_id, status, id);
CREATE INDEX executions_team_workflow ON executions (team_id, workflow_id, id);
CREATE UNIQUE INDEX executions_idempotency ON executions (team_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
-- The sweep that re-sends lost queue messages looks only at unfinished executions.
CREATE INDEX executions_unfinished ON executions (status, created_at) WHERE status IN ('pending', 'running');

-- One row per step per execution, created with the execution. `lease_until` lets a redelivered
-- queue message tell a step another consumer is running from one whose consumer died.
CREATE TABLE execution_steps (
  execution_id  TEXT NOT NULL REFERENCES executions(id) ON DELETE CASCADE,
  step_id       TEXT NOT NULL,
  position      INTEGER NOT NULL,
  kind          TEXT NOT NULL,
  agent         TEXT,
  status        TEXT NOT NULL CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'skipped', 'cancelled')),
  attempts      INTEGER NOT NULL DEFAULT 0,
  lease_until   INTEGER,
  started_at    INTEGER,
  completed_at  INTEGER,
  output        TEXT,
  error         TEXT,
  tokens        TEXT,
  cost_nusd     INTEGER,
  PRIMARY KEY (execution_id, step_id)
);

-- Status changes, in order, for the live monitor's Server-Sent Events (resumable by seq).
CREATE TABLE execution_events (
  seq           INTEGER PRIMARY KEY AUTOINCREMENT,
  team_id       TEXT NOT NULL,
  execution_id  TEXT NOT NULL,
  status        TEXT NOT NULL,
  created_at    INTEGER NOT NULL
);
CREATE INDEX execution_events_team ON execution_events (team_id, seq);

-- One row per LLM call, in buckets that do not overlap. Cost is filled when pricing lands:
-- NULL means unknown, never zero by silence.
CREATE TABLE llm_usage (
  id                 TEXT PRIMARY KEY,
  team_id            TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  execution_id       TEXT NOT NULL,
  workflow_id        TEXT NOT NULL,
  step_id            TEXT NOT NULL,
  agent              TEXT,
  key_id             TEXT,
  provider           TEXT NOT NULL,
  model              TEXT NOT NULL,
  input_tokens       INTEGER NOT NULL,
  cache_read_tokens  INTEGER NOT NULL,
  cache_write_tokens INTEGER NOT NULL,
  output_tokens      INTEGER NOT NULL,
  reasoning_tokens   INTEGER NOT NULL,
  cost_nusd          INTEGER,
  price_id           TEXT,
  created_at         INTEGER NOT NULL
);
CREATE INDEX llm_usage_team ON llm_usage (team_id, created_at);
CREATE INDEX llm_usage_execution ON llm_usage (execution_id);

-- Cron schedules and the runs they claimed. A run is a unique (schedule, scheduled time) row, so
-- two overlapping or repeated ticks can never start the same slot twice.

CREATE TABLE schedules (
  id                    TEXT PRIMARY KEY,
  team_id               TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  workflow_id           TEXT NOT NULL,
  cron                  TEXT NOT NULL,
  timezone              TEXT NOT NULL,
  enabled               INTEGER NOT NULL CHECK (enabled IN (0, 1)),
  input                 TEXT NOT NULL,
  overlap               TEXT NOT NULL CHECK (overlap IN ('skip', 'allow')),
  next_run_at           INTEGER,
  last_run_at           INTEGER,
  consecutive_failures  INTEGER NOT NULL DEFAULT 0,
  disabled_reason       TEXT,
  created_by            TEXT,
  created_at            INTEGER NOT NULL,
  updated_at            INTEGER NOT NULL
);
CREATE INDEX schedules_team ON schedules (team_id, id);
CREATE INDEX schedules_due ON schedules (next_run_at) WHERE enabled = 1;

CREATE TABLE schedule_runs (
  schedule_id    TEXT NOT NULL REFERENCES schedules(id) ON DELETE CASCADE,
  scheduled_for  INTEGER NOT NULL,
  team_id        TEXT NOT NULL,
  execution_id   TEXT,
  outcome        TEXT NOT NULL CHECK (outcome IN ('started', 'skipped_overlap', 'failed_to_start')),
  created_at     INTEGER NOT NULL,
  PRIMARY KEY (schedule_id, scheduled_for)
);

CREATE INDEX executions_schedule ON executions (team_id, schedule_id, id) WHERE schedule_id IS NOT NULL;

-- Cost and error tracking: the price table (defaults and team overrides), budgets and their
-- threshold alerts, and error issues with their occurrences.

-- Rates are integer nano-USD per million tokens (USD per 1M tokens x 1e9: $2.50 is 2500000000).
-- `model_pattern` is an exact model name, or a prefix ending in '%' ('gpt-4o-mini%'). `team_id`
-- NULL is the default table; a team's rows override it. A NULL cache rate is charged at the input
-- rate, a NULL reasoning rate at the output rate. Rows are never deleted, only marked: a removed
-- row still tells the re-pricing task which usage rows it priced.
CREATE TABLE prices (
  id                TEXT PRIMARY KEY,
  team_id           TEXT REFERENCES teams(id) ON DELETE CASCADE,
  model_pattern     TEXT NOT NULL,
  input_nusd        INTEGER NOT NULL CHECK (input_nusd >= 0),
  cache_read_nusd   INTEGER CHECK (cache_read_nusd >= 0),
  cache_write_nusd  INTEGER CHECK (cache_write_nusd >= 0),
  output_nusd       INTEGER NOT NULL CHECK (output_nusd >= 0),
  reasoning_nusd    INTEGER CHECK (reasoning_nusd >= 0),
  effective_from    INTEGER NOT NULL,
  source            TEXT,
  created_at        INTEGER NOT NULL,
  -- Any change to a row moves this on; the re-pricing task follows it.
  updated_at        INTEGER NOT NULL,
  deleted_at        INTEGER
);
CREATE INDEX prices_team ON prices (team_id) WHERE deleted_at IS NULL;
CREATE INDEX prices_updated ON prices (updated_at, id);

-- Public list prices, checked against the providers' pricing pages. Anthropic's cache write is
-- the 5-minute rate. effective_from 0: in force for every call the table has seen; a later price
-- change is a new row with a later effective_from, a correction a newer row (or an edit that
-- moves updated_at on).
INSERT INTO prices (id, model_pattern, input_nusd, cache_read_nusd, cache_write_nusd, output_nusd, source, effective_from, created_at, updated_at)
SELECT column1, column2, column3, column4, column5, column6, column7, 0, 1, 1 FROM (VALUES
  ('01940000-0000-7000-8000-000000000001', 'gpt-5%', 1250000000, 125000000, NULL, 10000000000, 'https://platform.openai.com/docs/pricing'),
  ('01940000-0000-7000-8000-000000000002', 'gpt-5-mini%', 250000000, 25000000, NULL, 2000000000, 'https://platform.openai.com/docs/pricing'),
  ('01940000-0000-7000-8000-000000000003', 'gpt-5-nano%', 50000000, 5000000, NULL, 400000000, 'https://platform.openai.com/docs/pricing'),
  ('01940000-0000-7000-8000-000000000004', 'gpt-5-pro%', 15000000000, NULL, NULL, 120000000000, 'https://platform.openai.com/docs/pricing'),
  ('01940000-0000-7000-8000-000000000005', 'gpt-4.1%', 2000000000, 500000000, NULL, 8000000000, 'https://platform.openai.com/docs/pricing'),
  ('01940000-0000-7000-8000-000000000006', 'gpt-4.1-mini%', 400000000, 100000000, NULL, 1600000000, 'https://platform.openai.com/docs/pricing'),
  ('01940000-0000-7000-8000-000000000007', 'gpt-4.1-nano%', 100000000, 25000000, NULL, 400000000, 'https://platform.openai.com/docs/pricing'),
  ('01940000-0000-7000-8000-000000000008', 'gpt-4o%', 2500000000, 1250000000, NULL, 10000000000, 'https://platform.openai.com/docs/pricing'),
  ('01940000-0000-7000-8000-000000000009', 'gpt-4o-mini%', 150000000, 75000000, NULL, 600000000, 'https://platform.openai.com/docs/pricing'),
  ('01940000-0000-7000-8000-000000000010', 'gpt-4-turbo%', 10000000000, NULL, NULL, 30000000000, 'https://platform.openai.com/docs/pricing'),
  ('01940000-0000-7000-8000-000000000011', 'gpt-3.5-turbo%', 500000000, NULL, NULL, 1500000000, 'https://platform.openai.com/docs/pricing'),
  ('01940000-0000-7000-8000-000000000012', 'o1%', 15000000000, 7500000000, NULL, 60000000000, 'https://platform.openai.com/docs/pricing'),
  ('01940000-0000-7000-8000-000000000013', 'o1-mini%', 1100000000, 550000000, NULL, 4400000000, 'https://platform.openai.com/docs/pricing'),
  ('01940000-0000-7000-8000-000000000014', 'o1-pro%', 150000000000, NULL, NULL, 600000000000, 'https://platform.openai.com/docs/pricing'),
  ('01940000-0000-7000-8000-000000000015', 'o3%', 2000000000, 500000000, NULL, 8000000000, 'https://platform.openai.com/docs/pricing'),
  ('01940000-0000-7000-8000-000000000016', 'o3-mini%', 1100000000, 550000000, NULL, 4400000000, 'https://platform.openai.com/docs/pricing'),
  ('01940000-0000-7000-8000-000000000017', 'o3-pro%', 20000000000, NULL, NULL, 80000000000, 'https://platform.openai.com/docs/pricing'),
  ('01940000-0000-7000-8000-000000000018', 'o4-mini%', 1100000000, 275000000, NULL, 4400000000, 'https://platform.openai.com/docs/pricing'),
  ('01940000-0000-7000-8000-000000000019', 'claude-opus-4-5%', 5000000000, 500000000, 6250000000, 25000000000, 'https://docs.anthropic.com/en/docs/about-claude/pricing'),
  ('01940000-0000-7000-8000-000000000020', 'claude-opus-4%', 15000000000, 1500000000, 18750000000, 75000000000, 'https://docs.anthropic.com/en/docs/about-claude/pricing'),
  ('01940000-0000-7000-8000-000000000021', 'claude-sonnet-4%', 3000000000, 300000000, 3750000000, 15000000000, 'https://docs.anthropic.com/en/docs/about-claude/pricing'),
  ('01940000-0000-7000-8000-000000000022', 'claude-haiku-4-5%', 1000000000, 100000000, 1250000000, 5000000000, 'https://docs.anthropic.com/en/docs/about-claude/pricing'),
  ('01940000-0000-7000-8000-000000000023', 'claude-3-7-sonnet%', 3000000000, 300000000, 3750000000, 15000000000, 'https://docs.anthropic.com/en/docs/about-claude/pricing'),
  ('01940000-0000-7000-8000-000000000024', 'claude-3-5-sonnet%', 3000000000, 300000000, 3750000000, 15000000000, 'https://docs.anthropic.com/en/docs/about-claude/pricing'),
  ('01940000-0000-7000-8000-000000000025', 'claude-3-5-haiku%', 800000000, 80000000, 1000000000, 4000000000, 'https://docs.anthropic.com/en/docs/about-claude/pricing'),
  ('01940000-0000-7000-8000-000000000026', 'claude-3-opus%', 15000000000, 1500000000, 18750000000, 75000000000, 'https://docs.anthropic.com/en/docs/about-claude/pricing'),
  ('01940000-0000-7000-8000-000000000027', 'claude-3-haiku%', 250000000, 30000000, 300000000, 1250000000, 'https://docs.anthropic.com/en/docs/about-claude/pricing')
);

-- When the row's cost was last worked out: older than its price row's updated_at means stale.
ALTER TABLE llm_usage ADD COLUMN priced_at INTEGER;
CREATE INDEX llm_usage_model ON llm_usage (model, created_at);
CREATE INDEX llm_usage_price ON llm_usage (price_id);
CREATE INDEX llm_usage_key ON llm_usage (team_id, key_id, created_at);

-- A team's monthly budget in nano-USD; `enforce` refuses LLM calls that could overshoot it.
CREATE TABLE budgets (
  team_id       TEXT PRIMARY KEY REFERENCES teams(id) ON DELETE CASCADE,
  monthly_nusd  INTEGER NOT NULL CHECK (monthly_nusd > 0),
  enforce       INTEGER NOT NULL DEFAULT 0 CHECK (enforce IN (0, 1)),
  updated_at    INTEGER NOT NULL
);

-- Spending per team per UTC month ('YYYY-MM'): settled (known) cost, and the worst cases held by
-- LLM calls in flight while enforcement is on. One guarded upsert reserves against the budget.
CREATE TABLE budget_months (
  team_id        TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  month          TEXT NOT NULL,
  spent_nusd     INTEGER NOT NULL DEFAULT 0,
  reserved_nusd  INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (team_id, month)
);

-- Each threshold (50, 80, 100 %) crossed, once per team per month.
CREATE TABLE budget_alerts (
  team_id      TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  month        TEXT NOT NULL,
  threshold    INTEGER NOT NULL,
  spent_nusd   INTEGER NOT NULL,
  budget_nusd  INTEGER NOT NULL,
  created_at   INTEGER NOT NULL,
  PRIMARY KEY (team_id, month, threshold)
);

-- Error issues: occurrences grouped by fingerprint (type, normalised message, workflow, step).
CREATE TABLE error_issues (
  id                   TEXT PRIMARY KEY,
  team_id              TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  fingerprint          TEXT NOT NULL,
  type                 TEXT NOT NULL,
  message              TEXT NOT NULL,
  severity             TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
  status               TEXT NOT NULL CHECK (status IN ('unresolved', 'resolved', 'regressed')),
  count                INTEGER NOT NULL,
  workflow_id          TEXT,
  step_id              TEXT,
  first_seen_at        INTEGER NOT NULL,
  last_seen_at         INTEGER NOT NULL,
  resolved_at          INTEGER,
  resolved_by          TEXT,
  resolution_notes     TEXT,
  -- The workflow's version when resolved: occurrences from older versions do not regress it.
  resolved_in_version  INTEGER,
  regressed_at         INTEGER,
  UNIQUE (team_id, fingerprint)
);
CREATE INDEX error_issues_seen ON error_issues (team_id, last_seen_at, id);

CREATE TABLE error_occurrences (
  id                TEXT PRIMARY KEY,
  team_id           TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  issue_id          TEXT NOT NULL REFERENCES error_issues(id) ON DELETE CASCADE,
  source            TEXT NOT NULL CHECK (source IN ('engine', 'client')),
  type              TEXT NOT NULL,
  message           TEXT NOT NULL,
  severity          TEXT NOT NULL,
  provider_status   INTEGER,
  stack             TEXT,
  detail            TEXT,
  context           TEXT,
  execution_id      TEXT,
  workflow_id       TEXT,
  workflow_version  INTEGER,
  step_id           TEXT,
  agent             TEXT,
  created_at        INTEGER NOT NULL
);
CREATE INDEX error_occurrences_issue ON error_occurrences (issue_id, id);
CREATE INDEX error_occurrences_team ON error_occurrences (team_id, created_at);

-- Notifications: one row per event for the team; read and hidden state per member; per-member
-- preferences. Who sees a notification is decided when it is read: every member who joined
-- before it, except the person whose own action caused it, and only categories they keep on.

CREATE TABLE notifications (
  id          TEXT PRIMARY KEY,
  team_id     TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  category    TEXT NOT NULL CHECK (category IN ('workflow', 'system', 'team', 'billing')),
  type        TEXT NOT NULL,
  title       TEXT NOT NULL,
  message     TEXT NOT NULL,
  link        TEXT,
  actor_id    TEXT,
  created_at  INTEGER NOT NULL
);
CREATE INDEX notifications_team ON notifications (team_id, id);

CREATE TABLE notification_states (
  notification_id  TEXT NOT NULL REFERENCES notifications(id) ON DELETE CASCADE,
  user_id          TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  read_at          INTEGER,
  hidden_at        INTEGER,
  PRIMARY KEY (user_id, notification_id)
);

CREATE TABLE notification_preferences (
  user_id         TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  team_id         TEXT NOT NULL,
  muted           TEXT NOT NULL DEFAULT '[]',
  notify_success  INTEGER NOT NULL DEFAULT 0 CHECK (notify_success IN (0, 1)),
  updated_at      INTEGER NOT NULL
);

-- OpenAI's newer GPT-5 models. Without their own rows they matched 'gpt-5%' and were priced as
-- gpt-5, several times too cheap for gpt-5.5. Rates as published on OpenAI's pricing page (read
-- through third-party copies of it in November 2026; correct a row here, or per team through
-- PUT /api/pricing, and the re-pricing task fixes the usage it priced). Units as in 0006:
-- nano-USD per million tokens.
INSERT INTO prices (id, model_pattern, input_nusd, cache_read_nusd, cache_write_nusd, output_nusd, source, effective_from, created_at, updated_at)
SELECT column1, column2, column3, column4, column5, column6, column7, 0, 1, 1 FROM (VALUES
  ('01940000-0000-7000-8000-000000000101', 'gpt-5.1%', 1250000000, 125000000, NULL, 10000000000, 'https://platform.openai.com/docs/pricing'),
  ('01940000-0000-7000-8000-000000000102', 'gpt-5.2%', 1750000000, 175000000, NULL, 14000000000, 'https://platform.openai.com/docs/pricing'),
  ('01940000-0000-7000-8000-000000000103', 'gpt-5.2-pro%', 21000000000, NULL, NULL, 168000000000, 'https://platform.openai.com/docs/pricing'),
  ('01940000-0000-7000-8000-000000000104', 'gpt-5.4%', 2500000000, 250000000, NULL, 15000000000, 'https://platform.openai.com/docs/pricing'),
  ('01940000-0000-7000-8000-000000000105', 'gpt-5.4-mini%', 750000000, 75000000, NULL, 4500000000, 'https://platform.openai.com/docs/pricing'),
  ('01940000-0000-7000-8000-000000000106', 'gpt-5.4-nano%', 200000000, 20000000, NULL, 1250000000, 'https://platform.openai.com/docs/pricing'),
  ('01940000-0000-7000-8000-000000000107', 'gpt-5.4-pro%', 30000000000, NULL, NULL, 180000000000, 'https://platform.openai.com/docs/pricing'),
  ('01940000-0000-7000-8000-000000000108', 'gpt-5.5%', 5000000000, 500000000, NULL, 30000000000, 'https://platform.openai.com/docs/pricing'),
  ('01940000-0000-7000-8000-000000000109', 'gpt-5.5-pro%', 30000000000, NULL, NULL, 180000000000, 'https://platform.openai.com/docs/pricing')
);

-- When a member asked for successes: only successes from then on are theirs to see, so opting
-- in does not bring back every earlier success as unread. NULL while they have not asked.
ALTER TABLE notification_preferences ADD COLUMN notify_success_since INTEGER;
UPDATE notification_preferences SET notify_success_since = updated_at WHERE notify_success = 1;

-- Delivery through an HTTP email API (MAILER=resend). The outbox is the queue: a message is
-- stored in the same batch as what caused it, sent after the response, and retried by the cron
-- tick with backoff until it is sent or given up. Once sent or given up, its body (which holds a
-- single-use link) is erased. The `log` mailer's messages count as sent when stored.
ALTER TABLE outbox ADD COLUMN sent_at INTEGER;
ALTER TABLE outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN next_attempt_at INTEGER;
ALTER TABLE outbox ADD COLUMN last_error TEXT;
ALTER TABLE outbox ADD COLUMN provider_id TEXT;
UPDATE outbox SET sent_at = created_at;
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE sent_at IS NULL AND next_attempt_at IS NOT NULL;

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

-- The engine's figures per team and hour beside telemetry's, so the summary reads one table:
-- executions created in the hour, how many of those succeeded and how many finished (succeeded,
-- failed or timed out: the success rate's denominator), and the LLM tokens used in the hour.
-- Kept by triggers as runs are created and change status and as usage rows are written; a run is
-- counted in the hour it was created, whenever it finishes.

ALTER TABLE team_hours ADD COLUMN executions INTEGER NOT NULL DEFAULT 0;
ALTER TABLE team_hours ADD COLUMN succeeded INTEGER NOT NULL DEFAULT 0;
ALTER TABLE team_hours ADD COLUMN finished INTEGER NOT NULL DEFAULT 0;
ALTER TABLE team_hours ADD COLUMN tokens INTEGER NOT NULL DEFAULT 0;

INSERT INTO team_hours (team_id, hour, actions, executions, succeeded, finished)
  SELECT team_id, created_at / 3600000 * 3600000, 0, COUNT(*), SUM(status = 'succeeded'),
         SUM(status IN ('succeeded', 'failed', 'timed_out'))
  FROM executions GROUP BY 1, 2
  ON CONFLICT DO UPDATE SET executions = excluded.executions, succeeded = excluded.succeeded,
    finished = excluded.finished;

INSERT INTO team_hours (team_id, hour, actions, tokens)
  SELECT team_id, created_at / 3600000 * 3600000, 0,
         SUM(input_tokens + cache_read_tokens + cache_write_tokens + output_tokens + reasoning_tokens)
  FROM llm_usage GROUP BY 1, 2
  ON CONFLICT DO UPDATE SET tokens = excluded.tokens;

CREATE TRIGGER executions_hours AFTER INSERT ON executions BEGIN
  INSERT INTO team_hours (team_id, hour, actions, executions, succeeded, finished)
    VALUES (NEW.team_id, NEW.created_at / 3600000 * 3600000, 0, 1, NEW.status = 'succeeded',
            NEW.status IN ('succeeded', 'failed', 'timed_out'))
    ON CONFLICT DO UPDATE SET executions = executions + 1, succeeded = succeeded + excluded.succeeded,
      finished = finished + excluded.finished;
END;

CREATE TRIGGER executions_hours_status AFTER UPDATE OF status ON executions
  WHEN (NEW.status = 'succeeded') != (OLD.status = 'succeeded')
    OR (NEW.status IN ('succeeded', 'failed', 'timed_out')) != (OLD.status IN ('succeeded', 'failed', 'timed_out'))
BEGIN
  UPDATE team_hours
    SET succeeded = succeeded + (NEW.status = 'succeeded') - (OLD.status = 'succeeded'),
        finished = finished + (NEW.status IN ('succeeded', 'failed', 'timed_out'))
                            - (OLD.status IN ('succeeded', 'failed', 'timed_out'))
    WHERE team_id = NEW.team_id AND hour = OLD.created_at / 3600000 * 3600000;
END;

CREATE TRIGGER llm_usage_hours AFTER INSERT ON llm_usage BEGIN
  INSERT INTO team_hours (team_id, hour, actions, tokens)
    VALUES (NEW.team_id, NEW.created_at / 3600000 * 3600000, 0,
            NEW.input_tokens + NEW.cache_read_tokens + NEW.cache_write_tokens + NEW.output_tokens + NEW.reasoning_tokens)
    ON CONFLICT DO UPDATE SET tokens = tokens + excluded.tokens;
END;

-- Under an enforced budget, the worst case an LLM step holds against its month is recorded on
-- the step, so whoever ends the hold gives back exactly that once: the call settling, the call
-- failing, or — when the consumer died mid-call — the next one taking the step over (or failing
-- it as interrupted). Before this, a dead consumer's reservation was held until the month ended.
ALTER TABLE execution_steps ADD COLUMN reserved_month TEXT;
ALTER TABLE execution_steps ADD COLUMN reserved_nusd INTEGER;

-- Cost and errors per team and hour beside the rest of `team_hours`, so the summary and the
-- trends read them from the rollup like every other figure: the known cost (nano-USD) of the LLM
-- calls made in the hour (an unpriced call adds nothing; a re-priced one moves its hour's total by
-- the difference), and the error occurrences recorded in the hour. Backfilled from history.

ALTER TABLE team_hours ADD COLUMN cost_nusd INTEGER NOT NULL DEFAULT 0;
ALTER TABLE team_hours ADD COLUMN errors INTEGER NOT NULL DEFAULT 0;

INSERT INTO team_hours (team_id, hour, actions, cost_nusd)
  SELECT team_id, created_at / 3600000 * 3600000, 0, COALESCE(SUM(cost_nusd), 0)
  FROM llm_usage GROUP BY 1, 2
  ON CONFLICT DO UPDATE SET cost_nusd = excluded.cost_nusd;

INSERT INTO team_hours (team_id, hour, actions, errors)
  SELECT team_id, created_at / 3600000 * 3600000, 0, COUNT(*)
  FROM error_occurrences GROUP BY 1, 2
  ON CONFLICT DO UPDATE SET errors = excluded.errors;

-- One upsert per usage row for both of its figures (each trigger write is a billed row write).
DROP TRIGGER llm_usage_hours;
CREATE TRIGGER llm_usage_hours AFTER INSERT ON llm_usage BEGIN
  INSERT INTO team_hours (team_id, hour, actions, tokens, cost_nusd)
    VALUES (NEW.team_id, NEW.created_at / 3600000 * 3600000, 0,
            NEW.input_tokens + NEW.cache_read_tokens + NEW.cache_write_tokens + NEW.output_tokens + NEW.reasoning_tokens,
            COALESCE(NEW.cost_nusd, 0))
    ON CONFLICT DO UPDATE SET tokens = tokens + excluded.tokens, cost_nusd = cost_nusd + excluded.cost_nusd;
END;

CREATE TRIGGER llm_usage_hours_cost AFTER UPDATE OF cost_nusd ON llm_usage
  WHEN COALESCE(NEW.cost_nusd, 0) != COALESCE(OLD.cost_nusd, 0)
BEGIN
  UPDATE team_hours SET cost_nusd = cost_nusd + COALESCE(NEW.cost_nusd, 0) - COALESCE(OLD.cost_nusd, 0)
    WHERE team_id = NEW.team_id AND hour = NEW.created_at / 3600000 * 3600000;
END;

CREATE TRIGGER error_occurrences_hours AFTER INSERT ON error_occurrences BEGIN
  INSERT INTO team_hours (team_id, hour, actions, errors)
    VALUES (NEW.team_id, NEW.created_at / 3600000 * 3600000, 0, 1)
    ON CONFLICT DO UPDATE SET errors = errors + 1;
END;

CREATE TRIGGER error_occurrences_hours_delete AFTER DELETE ON error_occurrences BEGIN
  UPDATE team_hours SET errors = errors - 1
    WHERE team_id = OLD.team_id AND hour = OLD.created_at / 3600000 * 3600000;
END;

-- Traces: spans received over OTLP (and written by the engine for Beacon's own executions), and
-- one row per trace with its aggregates, kept as spans arrive so the list never scans spans.
--
-- Rows written per span are what D1 bills (every index entry is a row write; a row read costs
-- about a thousandth of one), so: `spans` is clustered on its idempotency key (WITHOUT ROWID: the
-- insert is the only write, no separate unique index), and has no secondary index at all; `traces`
-- is upserted once per trace per request (domain::otlp::summarize sums the request's newly
-- inserted spans), and has one secondary index, the list's.
--
-- Times: epoch ms as REAL, keeping the sub-millisecond precision of OTLP's nanoseconds (the API
-- shows `started_at` floored to an integer and `duration_ms` as a number).

-- One row per (team, trace). `name` and `service` are the root span's once it has arrived
-- (`root_seen`), else the earliest span's so far. `agents` / `models` are JSON arrays of distinct
-- names (at most 32 each), merged on upsert. `status` is 'error' once any span failed.
CREATE TABLE traces (
  team_id             TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  trace_id            TEXT NOT NULL,
  name                TEXT NOT NULL,
  service             TEXT,
  root_seen           INTEGER NOT NULL DEFAULT 0 CHECK (root_seen IN (0, 1)),
  status              TEXT NOT NULL CHECK (status IN ('ok', 'error')),
  started_at          REAL NOT NULL,
  ended_at            REAL NOT NULL,
  span_count          INTEGER NOT NULL,
  llm_calls           INTEGER NOT NULL DEFAULT 0,
  input_tokens        INTEGER NOT NULL DEFAULT 0,
  cache_read_tokens   INTEGER NOT NULL DEFAULT 0,
  cache_write_tokens  INTEGER NOT NULL DEFAULT 0,
  output_tokens       INTEGER NOT NULL DEFAULT 0,
  reasoning_tokens    INTEGER NOT NULL DEFAULT 0,
  cost_nusd           INTEGER NOT NULL DEFAULT 0,
  agents              TEXT NOT NULL DEFAULT '[]',
  models              TEXT NOT NULL DEFAULT '[]',
  -- Set when the trace is a Beacon execution (its trace id is fixed when the run is created).
  execution_id        TEXT,
  created_at          INTEGER NOT NULL,
  updated_at          INTEGER NOT NULL,
  PRIMARY KEY (team_id, trace_id)
) WITHOUT ROWID;

-- The only secondary index, for `GET /api/traces`: newest first within a team (walked backwards;
-- ascending so both columns of ORDER BY ... DESC follow it), the cursor being
-- (started_at, trace_id); `range`/`from`/`to` bound the same walk and retention deletes along it.
-- The other filters (service, agent, model, status, q) are checked on the rows of that walk,
-- which stops after `limit` matches: an index per filter would cost a write per trace each for
-- reads that a time-ordered walk answers. Its entry moves once per trace when the root span
-- (usually the last to end, so the last exported) brings an earlier start.
CREATE INDEX traces_started ON traces (team_id, started_at, trace_id);

-- One row per span, idempotent on (team, trace, span): a retried export's spans are inserted
-- with ON CONFLICT DO NOTHING, and RETURNING tells the store which ones were new (only those are
-- summed into `traces`, priced into `llm_usage` and made error occurrences). A trace's spans are
-- one range of the primary key, read in one pass for `GET /api/traces/:trace_id`.
-- `agent` is the span's own `gen_ai.agent.name` or its nearest ancestor's; the token columns are
-- NULL on spans that are not LLM calls. `attributes` (JSON object), `events` (JSON array) and the
-- messages (JSON arrays of {role, parts}) are cut to the per-span limits (`truncated` = 1).
-- No index on user_id / session_id: erasing an end user's spans (`POST /api/team/erase`, rare)
-- walks the team's key range in chunks; an index would be a write on every span that has one.
CREATE TABLE spans (
  team_id             TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  trace_id            TEXT NOT NULL,
  span_id             TEXT NOT NULL,
  parent_span_id      TEXT,
  name                TEXT NOT NULL,
  kind                TEXT NOT NULL CHECK (kind IN ('unspecified', 'internal', 'server', 'client', 'producer', 'consumer')),
  started_at          REAL NOT NULL,
  duration_ms         REAL NOT NULL,
  status              TEXT NOT NULL CHECK (status IN ('unset', 'ok', 'error')),
  status_message      TEXT,
  service             TEXT,
  scope               TEXT,
  session_id          TEXT,
  user_id             TEXT,
  operation           TEXT,
  provider            TEXT,
  request_model       TEXT,
  response_model      TEXT,
  agent               TEXT,
  tool                TEXT,
  conversation_id     TEXT,
  input_tokens        INTEGER,
  cache_read_tokens   INTEGER,
  cache_write_tokens  INTEGER,
  output_tokens       INTEGER,
  reasoning_tokens    INTEGER,
  cost_nusd           INTEGER,
  price_id            TEXT,
  attributes          TEXT NOT NULL DEFAULT '{}',
  events              TEXT NOT NULL DEFAULT '[]',
  input_messages      TEXT,
  output_messages     TEXT,
  truncated           INTEGER NOT NULL DEFAULT 0 CHECK (truncated IN (0, 1)),
  received_at         INTEGER NOT NULL,
  PRIMARY KEY (team_id, trace_id, span_id)
) WITHOUT ROWID;

-- The joins with the rest of Beacon. A span with usage is an LLM call in `llm_usage` and an
-- error span an occurrence in `error_occurrences`, each naming its trace and span (the trace's
-- LLM calls have no workflow or step: the store writes '' into those NOT NULL columns, which the
-- breakdowns by workflow leave out). An execution's trace id is fixed when it is created.
-- Plain columns, no index: they are read from the row already found, never searched by.
ALTER TABLE llm_usage ADD COLUMN trace_id TEXT;
ALTER TABLE llm_usage ADD COLUMN span_id TEXT;
ALTER TABLE error_occurrences ADD COLUMN trace_id TEXT;
ALTER TABLE error_occurrences ADD COLUMN span_id TEXT;
ALTER TABLE executions ADD COLUMN trace_id TEXT;

-- Hardening (#18): access tokens may expire; live streams are counted per user; per-team quotas
-- count in fixed windows.

-- NULL: never expires. A token past it is treated as unknown (401).
ALTER TABLE access_tokens ADD COLUMN expires_at INTEGER;

-- One row per open SSE stream, refreshed while it lives (seen_at) and deleted when it ends; a row
-- not seen for a minute is a stream that died without saying so.
CREATE TABLE open_streams (
  id        TEXT PRIMARY KEY,
  team_id   TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  user_id   TEXT NOT NULL,
  seen_at   INTEGER NOT NULL
);
CREATE INDEX open_streams_user ON open_streams (user_id, seen_at);

-- Per-team rate quotas: how much of `kind` the team used in the window that starts at
-- `window_start` (epoch ms, a multiple of the window's length). Old windows are pruned by the tick.
CREATE TABLE quota_usage (
  team_id       TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  kind          TEXT NOT NULL,
  window_start  INTEGER NOT NULL,
  used          INTEGER NOT NULL,
  PRIMARY KEY (team_id, kind, window_start)
);

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

-- The LLM gateway (#15): its calls are usage rows like a step's, told apart by `source`, with the
-- cache and cut streams marked; the budget it holds while a call is in flight has a row of its own.

-- 'gateway' for the gateway's calls; NULL for the rest (a workflow step when it names an
-- execution, else a trace's span).
ALTER TABLE llm_usage ADD COLUMN source TEXT;
-- 1: answered from the gateway's cache (free; `saved_nusd` is what the call it repeats cost).
ALTER TABLE llm_usage ADD COLUMN cache_hit INTEGER NOT NULL DEFAULT 0;
ALTER TABLE llm_usage ADD COLUMN saved_nusd INTEGER;
-- 1: a stream cut before its usage arrived; the tokens are what was counted until then.
ALTER TABLE llm_usage ADD COLUMN incomplete INTEGER NOT NULL DEFAULT 0;

-- The worst case a gateway call in flight holds of its month's budget (`budget_months.reserved_nusd`),
-- given back when the call is settled; a hold left by an isolate that died is given back by the
-- cron tick once it is older than any call can be.
CREATE TABLE gateway_holds (
  id          TEXT PRIMARY KEY,
  team_id     TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  month       TEXT NOT NULL,
  nusd        INTEGER NOT NULL,
  created_at  INTEGER NOT NULL
);
CREATE INDEX gateway_holds_age ON gateway_holds (created_at);

-- A write batch's leading checks (#19). A batch of events is one D1 round trip: the sender's
-- lookup and the quota are checked by statements at the head of the same batch, which insert a
-- row here only when the check fails — and the row breaks the named CHECK, so D1 rolls the whole
-- batch back and names the check in its error. The table never holds a row.
CREATE TABLE write_checks (
  caller  INTEGER CONSTRAINT caller CHECK (caller IS NULL),
  quota   INTEGER CONSTRAINT quota CHECK (quota IS NULL)
);

-- Data lifecycle (#17): how long each team keeps its raw rows. The cron tick deletes what is
-- past them in bounded chunks, oldest first, along indexes that exist already (events_team_ts,
-- metrics_team_time, traces_started, executions_team); the hourly rollups (team_hours,
-- event_hours, active_hours/days, metric_hours), usage rows (cost totals) and error issues stay,
-- so analytics over old ranges answer as before. `POST /api/team/erase` deletes one end user's
-- or session's events, spans and error occurrences and corrects the rollups in the same batch.

-- Days of raw telemetry events (and metric samples), trace spans (with message content) and
-- finished executions (with step outputs) kept; each 1-400.
ALTER TABLE teams ADD COLUMN events_days INTEGER NOT NULL DEFAULT 90 CHECK (events_days BETWEEN 1 AND 400);
ALTER TABLE teams ADD COLUMN traces_days INTEGER NOT NULL DEFAULT 30 CHECK (traces_days BETWEEN 1 AND 400);
ALTER TABLE teams ADD COLUMN executions_days INTEGER NOT NULL DEFAULT 90 CHECK (executions_days BETWEEN 1 AND 400);

-- Fewer rows written per LLM call (each index entry and trigger write is a billed row write, and
-- the single writer's time): a trace's calls are half of a typical agent trace's spans.
--
-- `llm_usage_execution` is read by nothing (a run's calls are its steps' rows in
-- `execution_steps`), so it goes. `llm_usage_key` only serves one key's usage, so it holds only
-- rows that name a key (a trace's calls never do); the per-key read names `key_id = ?`, which
-- implies the index's WHERE.
DROP INDEX llm_usage_execution;
DROP INDEX llm_usage_key;
CREATE INDEX llm_usage_key ON llm_usage (team_id, key_id, created_at) WHERE key_id IS NOT NULL;

-- A trace's calls are written many to a statement (`source` 'trace'; older rows are NULL, told
-- apart by their empty execution id) and that statement's batch adds them to `team_hours` with one
-- grouped upsert per hour (`store::traces::insert_calls`), instead of one trigger write per row.
-- Every other writer (a workflow step, the gateway: one call at a time) keeps the trigger.
DROP TRIGGER llm_usage_hours;
CREATE TRIGGER llm_usage_hours AFTER INSERT ON llm_usage WHEN NEW.source IS NOT 'trace' BEGIN
  INSERT INTO team_hours (team_id, hour, actions, tokens, cost_nusd)
    VALUES (NEW.team_id, NEW.created_at / 3600000 * 3600000, 0,
            NEW.input_tokens + NEW.cache_read_tokens + NEW.cache_write_tokens + NEW.output_tokens + NEW.reasoning_tokens,
            COALESCE(NEW.cost_nusd, 0))
    ON CONFLICT DO UPDATE SET tokens = tokens + excluded.tokens, cost_nusd = cost_nusd + excluded.cost_nusd;
END;

-- LLM calls kept in the order every reader wants them: by team and time. `llm_usage` was a rowid
-- table with a TEXT primary key, so each call wrote the row, the key's own index and
-- `llm_usage_team (team_id, created_at)`; clustered on (team_id, created_at, id) it writes one of
-- the three. A trace's call is now 3 rows written (the row, `llm_usage_model`, `llm_usage_price`)
-- instead of 5; a step's or the gateway's 5 (with `llm_usage_key` and the hourly rollup) instead
-- of 7. The usage pages, the budget's month and the CSV export read a range of the key itself.
-- Ids are fresh UUIDv7s (never reused), so nothing relied on `id` alone being unique; re-pricing
-- names the whole key (`store::usage::repriced`).

CREATE TABLE llm_usage_by_time (
  id                 TEXT NOT NULL,
  team_id            TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  execution_id       TEXT NOT NULL,
  workflow_id        TEXT NOT NULL,
  step_id            TEXT NOT NULL,
  agent              TEXT,
  key_id             TEXT,
  provider           TEXT NOT NULL,
  model              TEXT NOT NULL,
  input_tokens       INTEGER NOT NULL,
  cache_read_tokens  INTEGER NOT NULL,
  cache_write_tokens INTEGER NOT NULL,
  output_tokens      INTEGER NOT NULL,
  reasoning_tokens   INTEGER NOT NULL,
  cost_nusd          INTEGER,
  price_id           TEXT,
  created_at         INTEGER NOT NULL,
  priced_at          INTEGER,
  trace_id           TEXT,
  span_id            TEXT,
  source             TEXT,
  cache_hit          INTEGER NOT NULL DEFAULT 0,
  saved_nusd         INTEGER,
  incomplete         INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (team_id, created_at, id)
) WITHOUT ROWID;

INSERT INTO llm_usage_by_time (id, team_id, execution_id, workflow_id, step_id, agent, key_id, provider, model,
                               input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens,
                               cost_nusd, price_id, created_at, priced_at, trace_id, span_id, source, cache_hit,
                               saved_nusd, incomplete)
  SELECT id, team_id, execution_id, workflow_id, step_id, agent, key_id, provider, model,
         input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens,
         cost_nusd, price_id, created_at, priced_at, trace_id, span_id, source, cache_hit, saved_nusd, incomplete
  FROM llm_usage;

-- Dropping the table drops its indexes and triggers; they are made again on the new one.
DROP TABLE llm_usage;
ALTER TABLE llm_usage_by_time RENAME TO llm_usage;

CREATE INDEX llm_usage_model ON llm_usage (model, created_at);
CREATE INDEX llm_usage_price ON llm_usage (price_id);
CREATE INDEX llm_usage_key ON llm_usage (team_id, key_id, created_at) WHERE key_id IS NOT NULL;

CREATE TRIGGER llm_usage_hours AFTER INSERT ON llm_usage WHEN NEW.source IS NOT 'trace' BEGIN
  INSERT INTO team_hours (team_id, hour, actions, tokens, cost_nusd)
    VALUES (NEW.team_id, NEW.created_at / 3600000 * 3600000, 0,
            NEW.input_tokens + NEW.cache_read_tokens + NEW.cache_write_tokens + NEW.output_tokens + NEW.reasoning_tokens,
            COALESCE(NEW.cost_nusd, 0))
    ON CONFLICT DO UPDATE SET tokens = tokens + excluded.tokens, cost_nusd = cost_nusd + excluded.cost_nusd;
END;

CREATE TRIGGER llm_usage_hours_cost AFTER UPDATE OF cost_nusd ON llm_usage
  WHEN COALESCE(NEW.cost_nusd, 0) != COALESCE(OLD.cost_nusd, 0)
BEGIN
  UPDATE team_hours SET cost_nusd = cost_nusd + COALESCE(NEW.cost_nusd, 0) - COALESCE(OLD.cost_nusd, 0)
    WHERE team_id = NEW.team_id AND hour = NEW.created_at / 3600000 * 3600000;
END;

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

-- One row fewer written per LLM call (#14, #19): `llm_usage_price (price_id)` served only the
-- re-pricing task's "rows this price did price" when a price row is deleted. Price rows are never
-- changed otherwise (a team's overrides are replaced: the old rows marked deleted, new ones
-- inserted), and every call is now priced as of the time it was made (a trace's call at its
-- span's start, as re-pricing always did), so a row priced by a price always matches that price's
-- pattern, team and effective date: the re-pricing walk finds it along `llm_usage_model` with the
-- rows the price may price. A trace call is 2 rows written instead of 3 (the row and
-- `llm_usage_model`); a step's or the gateway's 4 instead of 5.
--
-- Rows written before this migration for a span that started before its price took effect keep
-- that price's cost should the price be deleted later (at most the seconds between a span's start
-- and its export, for an override whose effective date fell inside them).

DROP INDEX llm_usage_price;
