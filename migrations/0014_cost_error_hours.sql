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
