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
