-- Delivery through an HTTP email API (MAILER=resend). The outbox is the queue: a message is
-- stored in the same batch as what caused it, sent after the response, and retried by the cron
-- tick with backoff until it is sent or given up. Once sent or given up, its body (which holds a
-- single-use link) is erased. The `log` mailer's messages count as sent when stored.
ALTER TABLE outbox ADD COLUMN sent_at INTEGER;
ALTER TABLE outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN next_attempt_at INTEGER;
ALTER TABLE outbox ADD COLUMN last_error TEXT;
ALTER TABLE outbox ADD COLUMN provider_id TEXT;
UPDATE outbox SET sent_at = created_at;
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE sent_at IS NULL AND next_attempt_at IS NOT NULL;
