-- One row fewer written per LLM call (#14, #19): `llm_usage_price (price_id)` served only the
-- re-pricing task's "rows this price did price" when a price row is deleted. Price rows are never
-- changed otherwise (a team's overrides are replaced: the old rows marked deleted, new ones
-- inserted), and every call is now priced as of the time it was made (a trace's call at its
-- span's start, as re-pricing always did), so a row priced by a price always matches that price's
-- pattern, team and effective date: the re-pricing walk finds it along `llm_usage_model` with the
-- rows the price may price. A trace call is 2 rows written instead of 3 (the row and
-- `llm_usage_model`); a step's or the gateway's 4 instead of 5.
--
-- Rows written before this migration for a span that started before its price took effect keep
-- that price's cost should the price be deleted later (at most the seconds between a span's start
-- and its export, for an override whose effective date fell inside them).

DROP INDEX llm_usage_price;
