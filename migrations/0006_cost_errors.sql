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
