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
