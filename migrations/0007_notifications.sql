-- Notifications: one row per event for the team; read and hidden state per member; per-member
-- preferences. Who sees a notification is decided when it is read: every member who joined
-- before it, except the person whose own action caused it, and only categories they keep on.

CREATE TABLE notifications (
  id          TEXT PRIMARY KEY,
  team_id     TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  category    TEXT NOT NULL CHECK (category IN ('workflow', 'system', 'team', 'billing')),
  type        TEXT NOT NULL,
  title       TEXT NOT NULL,
  message     TEXT NOT NULL,
  link        TEXT,
  actor_id    TEXT,
  created_at  INTEGER NOT NULL
);
CREATE INDEX notifications_team ON notifications (team_id, id);

CREATE TABLE notification_states (
  notification_id  TEXT NOT NULL REFERENCES notifications(id) ON DELETE CASCADE,
  user_id          TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  read_at          INTEGER,
  hidden_at        INTEGER,
  PRIMARY KEY (user_id, notification_id)
);

CREATE TABLE notification_preferences (
  user_id         TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  team_id         TEXT NOT NULL,
  muted           TEXT NOT NULL DEFAULT '[]',
  notify_success  INTEGER NOT NULL DEFAULT 0 CHECK (notify_success IN (0, 1)),
  updated_at      INTEGER NOT NULL
);
