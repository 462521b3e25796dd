-- The provider-key vault. `secret` is an AES-256-GCM envelope (`v1:<master key id>:<iv>:<ct>`)
-- whose additional data binds it to (team_id, id); `master_key_id` mirrors the envelope's id so
-- the re-wrap task can find old ciphertexts by index. A deleted key keeps its row (usage history
-- names it) but loses its secret.
CREATE TABLE provider_keys (
  id              TEXT PRIMARY KEY,
  team_id         TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  name            TEXT NOT NULL,
  service         TEXT NOT NULL CHECK (service IN ('openai', 'anthropic', 'openai_compatible')),
  base_url        TEXT NOT NULL,
  last4           TEXT NOT NULL,
  secret          TEXT,
  master_key_id   TEXT,
  status          TEXT NOT NULL DEFAULT 'untested' CHECK (status IN ('untested', 'valid', 'invalid')),
  usage_count     INTEGER NOT NULL DEFAULT 0,
  last_used_at    INTEGER,
  last_tested_at  INTEGER,
  created_at      INTEGER NOT NULL,
  rotated_at      INTEGER,
  deleted_at      INTEGER
);
CREATE INDEX provider_keys_team ON provider_keys (team_id, id) WHERE deleted_at IS NULL;
CREATE INDEX provider_keys_master ON provider_keys (master_key_id) WHERE secret IS NOT NULL;
