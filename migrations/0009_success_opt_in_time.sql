-- When a member asked for successes: only successes from then on are theirs to see, so opting
-- in does not bring back every earlier success as unread. NULL while they have not asked.
ALTER TABLE notification_preferences ADD COLUMN notify_success_since INTEGER;
UPDATE notification_preferences SET notify_success_since = updated_at WHERE notify_success = 1;
