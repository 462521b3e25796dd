-- OpenAI's newer GPT-5 models. Without their own rows they matched 'gpt-5%' and were priced as
-- gpt-5, several times too cheap for gpt-5.5. Rates as published on OpenAI's pricing page (read
-- through third-party copies of it in November 2026; correct a row here, or per team through
-- PUT /api/pricing, and the re-pricing task fixes the usage it priced). Units as in 0006:
-- nano-USD per million tokens.
INSERT INTO prices (id, model_pattern, input_nusd, cache_read_nusd, cache_write_nusd, output_nusd, source, effective_from, created_at, updated_at)
SELECT column1, column2, column3, column4, column5, column6, column7, 0, 1, 1 FROM (VALUES
  ('01940000-0000-7000-8000-000000000101', 'gpt-5.1%', 1250000000, 125000000, NULL, 10000000000, 'https://platform.openai.com/docs/pricing'),
  ('01940000-0000-7000-8000-000000000102', 'gpt-5.2%', 1750000000, 175000000, NULL, 14000000000, 'https://platform.openai.com/docs/pricing'),
  ('01940000-0000-7000-8000-000000000103', 'gpt-5.2-pro%', 21000000000, NULL, NULL, 168000000000, 'https://platform.openai.com/docs/pricing'),
  ('01940000-0000-7000-8000-000000000104', 'gpt-5.4%', 2500000000, 250000000, NULL, 15000000000, 'https://platform.openai.com/docs/pricing'),
  ('01940000-0000-7000-8000-000000000105', 'gpt-5.4-mini%', 750000000, 75000000, NULL, 4500000000, 'https://platform.openai.com/docs/pricing'),
  ('01940000-0000-7000-8000-000000000106', 'gpt-5.4-nano%', 200000000, 20000000, NULL, 1250000000, 'https://platform.openai.com/docs/pricing'),
  ('01940000-0000-7000-8000-000000000107', 'gpt-5.4-pro%', 30000000000, NULL, NULL, 180000000000, 'https://platform.openai.com/docs/pricing'),
  ('01940000-0000-7000-8000-000000000108', 'gpt-5.5%', 5000000000, 500000000, NULL, 30000000000, 'https://platform.openai.com/docs/pricing'),
  ('01940000-0000-7000-8000-000000000109', 'gpt-5.5-pro%', 30000000000, NULL, NULL, 180000000000, 'https://platform.openai.com/docs/pricing')
);
