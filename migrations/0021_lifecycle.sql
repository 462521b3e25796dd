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
