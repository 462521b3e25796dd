-- Under an enforced budget, the worst case an LLM step holds against its month is recorded on
-- the step, so whoever ends the hold gives back exactly that once: the call settling, the call
-- failing, or — when the consumer died mid-call — the next one taking the step over (or failing
-- it as interrupted). Before this, a dead consumer's reservation was held until the month ended.
ALTER TABLE execution_steps ADD COLUMN reserved_month TEXT;
ALTER TABLE execution_steps ADD COLUMN reserved_nusd INTEGER;
