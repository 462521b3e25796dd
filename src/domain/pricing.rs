//! What an LLM call costs: choosing the price row for a call and multiplying it out.
//!
//! Prices are integer nano-USD per million tokens (`$2.50 / 1M tokens` is `2_500_000_000`), one
//! rate per token bucket. A row names its models by pattern: an exact model name, or a prefix
//! written with a trailing `%` (`gpt-4o-mini%`). A missing cache rate falls back to the input
//! rate and a missing reasoning rate to the output rate. Costs are integer nano-USD, rounded half
//! up once on the whole call, so a sum of calls never drifts from the calls themselves.
//!
//! Which row prices a call of `model` made at `at` ([`choose`]): among the rows that match the
//! model and are effective (`effective_from <= at`), a team's own row beats a default one; then
//! the most specific pattern wins (an exact name beats any prefix, a longer prefix a shorter one),
//! so a newer row for a whole family cannot silently re-price a model that has its own row; then
//! the newest `effective_from`; then the most recently written row (a correction). No row: the
//! cost is unknown, never zero.

use super::usage::Tokens;

/// Token count a rate is quoted for.
const PER_TOKENS: i128 = 1_000_000;
/// Rates above $1,000,000 per million tokens are refused as typos.
pub const MAX_RATE_NUSD: i64 = 1_000_000 * 1_000_000_000;
/// The most one call is ever priced at: $1,000,000. No real call comes near it, and the cap keeps
/// every sum of costs (a trace's, an hour's, a month's) far inside an i64 and SQLite's integer
/// `SUM`, whatever rates an admin sets and whatever counts a client reports.
pub const MAX_CALL_COST_NUSD: i64 = 1_000_000 * 1_000_000_000;

/// A price row as stored (rates in nano-USD per million tokens).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Price {
    pub id: String,
    /// `None` for the default table; a team's override otherwise.
    pub team_id: Option<String>,
    pub model_pattern: String,
    pub input_nusd: i64,
    pub cache_read_nusd: Option<i64>,
    pub cache_write_nusd: Option<i64>,
    pub output_nusd: i64,
    pub reasoning_nusd: Option<i64>,
    pub effective_from: i64,
    pub updated_at: i64,
    /// Where the rates come from (a pricing page), for people.
    pub source: Option<String>,
}

impl Price {
    pub fn matches(&self, model: &str) -> bool {
        match self.model_pattern.strip_suffix('%') {
            Some(prefix) => model.starts_with(prefix),
            None => model == self.model_pattern,
        }
    }

    /// Exact names first, then longer prefixes.
    fn specificity(&self) -> (bool, usize) {
        (!self.model_pattern.ends_with('%'), self.model_pattern.len())
    }

    /// The five rates with their fallbacks: input, cache read, cache write, output, reasoning.
    fn rates(&self) -> [i64; 5] {
        [
            self.input_nusd,
            self.cache_read_nusd.unwrap_or(self.input_nusd),
            self.cache_write_nusd.unwrap_or(self.input_nusd),
            self.output_nusd,
            self.reasoning_nusd.unwrap_or(self.output_nusd),
        ]
    }

    /// The cost of a call's tokens, in nano-USD.
    pub fn cost_nusd(&self, t: &Tokens) -> i64 {
        let counts = [t.input, t.cache_read, t.cache_write, t.output, t.reasoning];
        let sum: i128 = counts
            .iter()
            .zip(self.rates())
            .map(|(&n, rate)| i128::from(n.max(0)) * i128::from(rate))
            .sum();
        i64::try_from((sum + PER_TOKENS / 2) / PER_TOKENS)
            .unwrap_or(i64::MAX)
            .min(MAX_CALL_COST_NUSD)
    }

    /// The most a call can cost before it is made: every prompt token at the dearest input-side
    /// rate, and `max_output` tokens at the dearer of output and reasoning.
    pub fn worst_case_nusd(&self, prompt_tokens: i64, max_output: i64) -> i64 {
        let [input, read, write, output, reasoning] = self.rates();
        let t = Tokens {
            input: prompt_tokens,
            output: max_output,
            ..Tokens::default()
        };
        let dearest = Price {
            input_nusd: input.max(read).max(write),
            output_nusd: output.max(reasoning),
            cache_read_nusd: None,
            cache_write_nusd: None,
            reasoning_nusd: None,
            ..self.clone()
        };
        dearest.cost_nusd(&t)
    }

    /// The model names this row can cover, as SQL bounds: `(exact, prefix range [lo, hi))`.
    pub fn model_bounds(&self) -> (Option<String>, Option<(String, String)>) {
        match self.model_pattern.strip_suffix('%') {
            Some(prefix) => {
                let mut hi = prefix.as_bytes().to_vec();
                if let Some(last) = hi.last_mut() {
                    *last = last.saturating_add(1);
                }
                let hi = String::from_utf8(hi).unwrap_or_default();
                (None, Some((prefix.to_string(), hi)))
            }
            None => (Some(self.model_pattern.clone()), None),
        }
    }
}

/// The row that prices a call of `model` by `team_id` made at `at`, if any.
pub fn choose<'a>(prices: &'a [Price], team_id: &str, model: &str, at: i64) -> Option<&'a Price> {
    prices
        .iter()
        .filter(|p| p.team_id.as_deref().is_none_or(|t| t == team_id))
        .filter(|p| p.effective_from <= at && p.matches(model))
        .max_by_key(|p| {
            (
                p.team_id.is_some(),
                p.specificity(),
                p.effective_from,
                p.updated_at,
                &p.id,
            )
        })
}

/// A pattern as a person may write it: printable ASCII without spaces, at most 100 characters,
/// `%` only as the last character and after at least one other.
pub fn parse_pattern(raw: &str) -> Result<String, &'static str> {
    let body = raw.strip_suffix('%').unwrap_or(raw);
    if body.is_empty() || raw.len() > 100 {
        return Err("must be a model name, or a prefix of 1 to 99 characters followed by %");
    }
    if !body.bytes().all(|b| b.is_ascii_graphic() && b != b'%') {
        return Err("may hold printable ASCII only, and % only at the end");
    }
    Ok(raw.to_string())
}

/// A rate given in US dollars per million tokens, as stored (nano-USD per million tokens).
pub fn rate_from_usd(usd: f64) -> Option<i64> {
    let nusd = (usd * 1e9).round();
    (usd.is_finite() && usd >= 0.0 && nusd <= MAX_RATE_NUSD as f64).then_some(nusd as i64)
}

/// Prompt tokens guessed from the prompt's size, on the high side (tokenisers average about four
/// bytes a token on English text; three leaves room for code and other scripts).
pub fn prompt_tokens_estimate(bytes: usize) -> i64 {
    i64::try_from(bytes.div_ceil(3)).unwrap_or(i64::MAX)
}

/// Nano-USD as dollars, for the `*_usd` fields.
pub fn usd(nusd: i64) -> f64 {
    nusd as f64 / 1e9
}

/// Nano-USD as an exact decimal number of dollars, for people (`270000` is `0.00027`).
pub fn usd_text(nusd: i64) -> String {
    let (whole, frac) = (nusd / 1_000_000_000, (nusd % 1_000_000_000).unsigned_abs());
    let mut text = whole.to_string();
    if frac > 0 {
        let digits = (frac + 1_000_000_000).to_string(); // "1" then nine digits
        text.push('.');
        text.push_str(digits[1..].trim_end_matches('0'));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn price(id: &str, team: Option<&str>, pattern: &str, input: i64, output: i64) -> Price {
        Price {
            id: id.into(),
            team_id: team.map(Into::into),
            model_pattern: pattern.into(),
            input_nusd: input,
            cache_read_nusd: None,
            cache_write_nusd: None,
            output_nusd: output,
            reasoning_nusd: None,
            effective_from: 0,
            updated_at: 0,
            source: None,
        }
    }

    #[test]
    fn gpt_4o_mini_with_cached_and_reasoning_tokens_to_the_nano_dollar() {
        // $0.15 / $0.075 cached / $0.60 per million; the stand-in's OpenAI usage.
        let p = Price {
            cache_read_nusd: Some(75_000_000),
            ..price("p", None, "gpt-4o-mini%", 150_000_000, 600_000_000)
        };
        let t = Tokens {
            input: 200,
            cache_read: 800,
            cache_write: 0,
            output: 180,
            reasoning: 120,
        };
        // 200×0.15 + 800×0.075 + 180×0.60 + 120×0.60 (reasoning at the output rate) = 270 µ$.
        assert_eq!(p.cost_nusd(&t), 30_000 + 60_000 + 108_000 + 72_000);
        let with_reasoning_rate = Price {
            reasoning_nusd: Some(1_000_000_000),
            ..p.clone()
        };
        assert_eq!(with_reasoning_rate.cost_nusd(&t), 198_000 + 120_000);
    }

    #[test]
    fn anthropic_cache_writes_and_reads_have_their_own_rates() {
        let p = Price {
            cache_read_nusd: Some(300_000_000),
            cache_write_nusd: Some(3_750_000_000),
            ..price("p", None, "claude-sonnet-4%", 3_000_000_000, 15_000_000_000)
        };
        let t = Tokens {
            input: 50,
            cache_read: 900,
            cache_write: 100,
            output: 70,
            reasoning: 0,
        };
        assert_eq!(p.cost_nusd(&t), 150_000 + 270_000 + 375_000 + 1_050_000);
    }

    #[test]
    fn fractions_of_a_nano_dollar_round_half_up_once_per_call() {
        let p = price("p", None, "m", 1_500_000, 2_500_000); // 1.5 and 2.5 n$ a token
        let one = |input, output| Tokens {
            input,
            output,
            ..Tokens::default()
        };
        assert_eq!(p.cost_nusd(&one(1, 0)), 2);
        assert_eq!(p.cost_nusd(&one(1, 1)), 4);
        assert_eq!(p.cost_nusd(&one(3, 0)), 5); // 4.5
        assert_eq!(p.cost_nusd(&Tokens::default()), 0);
        let huge = price("p", None, "m", MAX_RATE_NUSD, MAX_RATE_NUSD);
        assert_eq!(
            huge.cost_nusd(&one(i64::MAX, i64::MAX)),
            MAX_CALL_COST_NUSD,
            "no overflow panic, and no call priced past the ceiling"
        );
        assert_eq!(huge.worst_case_nusd(i64::MAX, i64::MAX), MAX_CALL_COST_NUSD);
    }

    #[test]
    fn a_team_override_beats_the_default_and_specific_beats_general() {
        let prices = vec![
            price("general", None, "gpt-4o%", 1, 1),
            price("mini", None, "gpt-4o-mini%", 2, 2),
            price("exact", None, "gpt-4o-mini-2024-07-18", 3, 3),
            price("ours", Some("t1"), "gpt-4o%", 4, 4),
            price("theirs", Some("t2"), "gpt-4o-mini%", 5, 5),
        ];
        let id = |team, model| choose(&prices, team, model, 10).map(|p| p.id.as_str());
        assert_eq!(id("t2", "gpt-4o"), Some("general"));
        assert_eq!(id("t2", "gpt-4o-mini"), Some("theirs"));
        assert_eq!(id("t3", "gpt-4o-mini"), Some("mini"));
        assert_eq!(id("t3", "gpt-4o-mini-2024-07-18"), Some("exact"));
        assert_eq!(id("t1", "gpt-4o-mini-2024-07-18"), Some("ours"));
        assert_eq!(id("t1", "claude-3-haiku"), None);
        assert_eq!(id("t1", "gpt-4"), None, "a prefix is not a substring");
    }

    #[test]
    fn the_newest_effective_row_wins_and_future_rows_wait() {
        let at = |id: &str, from: i64, updated: i64| Price {
            effective_from: from,
            updated_at: updated,
            ..price(id, None, "o3%", 1, 1)
        };
        let prices = vec![at("old", 0, 0), at("new", 100, 0), at("future", 1_000, 0)];
        let id = |t| choose(&prices, "t", "o3", t).map(|p| p.id.as_str());
        assert_eq!(id(50), Some("old"));
        assert_eq!(id(100), Some("new"));
        assert_eq!(id(999), Some("new"));
        assert_eq!(id(1_000), Some("future"));
        // Two rows from the same date: the later write is the correction.
        let corrected = vec![at("first", 0, 5), at("fix", 0, 9)];
        assert_eq!(
            choose(&corrected, "t", "o3", 1).map(|p| p.id.as_str()),
            Some("fix")
        );
    }

    #[test]
    fn worst_case_uses_the_dearest_rates() {
        let p = Price {
            cache_write_nusd: Some(3_750_000_000),
            reasoning_nusd: Some(20_000_000_000),
            ..price("p", None, "m", 3_000_000_000, 15_000_000_000)
        };
        assert_eq!(p.worst_case_nusd(1_000, 100), 3_750_000 + 2_000_000);
        assert_eq!(prompt_tokens_estimate(10), 4);
    }

    #[test]
    fn patterns_are_checked_and_give_sql_bounds() {
        assert_eq!(parse_pattern("gpt-4o-mini%"), Ok("gpt-4o-mini%".into()));
        assert!(parse_pattern("claude-3-haiku-20240307").is_ok());
        for bad in ["%", "", "gpt 4", "gpt%4%", "gpt-%%", &"x".repeat(101)] {
            assert!(parse_pattern(bad).is_err(), "{bad}");
        }
        let p = price("p", None, "gpt-4o%", 1, 1);
        assert_eq!(
            p.model_bounds(),
            (None, Some(("gpt-4o".into(), "gpt-4p".into())))
        );
        let e = price("p", None, "o3", 1, 1);
        assert_eq!(e.model_bounds(), (Some("o3".into()), None));
    }

    #[test]
    fn dollars_are_written_exactly() {
        assert_eq!(usd_text(270_000), "0.00027");
        assert_eq!(usd_text(12_000_000_001), "12.000000001");
        assert_eq!(usd_text(500_000_000), "0.5");
        assert_eq!(usd_text(0), "0");
    }

    #[test]
    fn dollar_rates_convert_exactly_and_refuse_nonsense() {
        assert_eq!(rate_from_usd(0.15), Some(150_000_000));
        assert_eq!(rate_from_usd(0.075), Some(75_000_000));
        assert_eq!(rate_from_usd(2.5), Some(2_500_000_000));
        assert_eq!(rate_from_usd(0.0), Some(0));
        assert_eq!(rate_from_usd(-1.0), None);
        assert_eq!(rate_from_usd(f64::NAN), None);
        assert_eq!(rate_from_usd(2e6), None);
    }
}
