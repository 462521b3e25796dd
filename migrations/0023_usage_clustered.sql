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
