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
