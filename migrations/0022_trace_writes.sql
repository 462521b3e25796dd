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
