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
