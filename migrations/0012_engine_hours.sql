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
