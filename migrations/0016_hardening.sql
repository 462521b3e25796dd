-- Hardening (#18): access tokens may expire; live streams are counted per user; per-team quotas
-- count in fixed windows.

-- NULL: never expires. A token past it is treated as unknown (401).
ALTER TABLE access_tokens ADD COLUMN expires_at INTEGER;

-- One row per open SSE stream, refreshed while it lives (seen_at) and deleted when it ends; a row
-- not seen for a minute is a stream that died without saying so.
CREATE TABLE open_streams (
  id        TEXT PRIMARY KEY,
  team_id   TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  user_id   TEXT NOT NULL,
  seen_at   INTEGER NOT NULL
);
CREATE INDEX open_streams_user ON open_streams (user_id, seen_at);

-- Per-team rate quotas: how much of `kind` the team used in the window that starts at
-- `window_start` (epoch ms, a multiple of the window's length). Old windows are pruned by the tick.
CREATE TABLE quota_usage (
  team_id       TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  kind          TEXT NOT NULL,
  window_start  INTEGER NOT NULL,
  used          INTEGER NOT NULL,
  PRIMARY KEY (team_id, kind, window_start)
);
