-- Identity: teams, their members, sessions, access tokens, invites, the audit log and the mail outbox.
-- Every table that belongs to a team carries team_id; ids are UUIDv7 strings; times are epoch ms.

CREATE TABLE teams (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL,
  created_at  INTEGER NOT NULL
);

-- One person belongs to one team; removing them deletes the row, and their sessions and tokens
-- go with it (D1 enforces foreign keys).
CREATE TABLE users (
  id              TEXT PRIMARY KEY,
  team_id         TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  email           TEXT NOT NULL UNIQUE,
  name            TEXT NOT NULL,
  role            TEXT NOT NULL CHECK (role IN ('viewer', 'member', 'admin', 'owner')),
  password_hash   TEXT NOT NULL,
  created_at      INTEGER NOT NULL,
  last_active_at  INTEGER
);
CREATE INDEX users_team ON users (team_id, role);

-- Sessions are looked up by the SHA-256 of the cookie's token; the token itself is never stored.
CREATE TABLE sessions (
  token_hash  TEXT PRIMARY KEY,
  user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  team_id     TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);

CREATE TABLE access_tokens (
  id            TEXT PRIMARY KEY,
  team_id       TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name          TEXT NOT NULL,
  role          TEXT NOT NULL CHECK (role IN ('viewer', 'member', 'admin', 'owner')),
  token_hash    TEXT NOT NULL UNIQUE,
  created_at    INTEGER NOT NULL,
  last_used_at  INTEGER
);
CREATE INDEX access_tokens_team ON access_tokens (team_id, id);
CREATE INDEX access_tokens_user ON access_tokens (user_id);

CREATE TABLE invites (
  id           TEXT PRIMARY KEY,
  team_id      TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  email        TEXT NOT NULL,
  role         TEXT NOT NULL CHECK (role IN ('viewer', 'member', 'admin', 'owner')),
  token_hash   TEXT NOT NULL UNIQUE,
  invited_by   TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL,
  accepted_at  INTEGER,
  revoked_at   INTEGER
);
CREATE INDEX invites_team ON invites (team_id, id);

-- Failed logins per email, for the 10-in-15-minutes limit; old rows are pruned by the cron tick.
CREATE TABLE login_failures (
  email         TEXT NOT NULL,
  attempted_at  INTEGER NOT NULL
);
CREATE INDEX login_failures_email ON login_failures (email, attempted_at);

-- Who did what to what. Actor details are copied so the entry survives the actor's removal.
CREATE TABLE activity (
  id           TEXT PRIMARY KEY,
  team_id      TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  actor_id     TEXT,
  actor_email  TEXT,
  action       TEXT NOT NULL,
  target_type  TEXT NOT NULL,
  target_id    TEXT,
  detail       TEXT,
  created_at   INTEGER NOT NULL
);
CREATE INDEX activity_team ON activity (team_id, id);

-- Mail the `log` mailer "sent": the message is kept here (the log line withholds links).
CREATE TABLE outbox (
  id          TEXT PRIMARY KEY,
  team_id     TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  to_email    TEXT NOT NULL,
  subject     TEXT NOT NULL,
  body        TEXT NOT NULL,
  created_at  INTEGER NOT NULL
);

-- Small facts about the deployment itself, such as the last cron tick.
CREATE TABLE app_state (
  key    TEXT PRIMARY KEY,
  value  TEXT NOT NULL
);

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
