//! Token accounting: turning each provider's usage report into five buckets that do not
//! overlap — uncached input, cache read, cache write, output, reasoning — so adding them up never
//! counts a token twice.
//!
//! - OpenAI (and compatible) report cached tokens *inside* `prompt_tokens`
//!   (`prompt_tokens_details.cached_tokens`) and reasoning tokens *inside* `completion_tokens`
//!   (`completion_tokens_details.reasoning_tokens`): both are split out.
//! - Anthropic reports `input_tokens` *excluding* cache reads and writes, which come separately
//!   (`cache_read_input_tokens`, `cache_creation_input_tokens`); thinking is inside `output_tokens`
//!   and not reported apart, so reasoning is 0.

use serde::Serialize;
use serde_json::Value;

/// The most tokens one count of one call may say: no model comes near a billion, so a larger
/// count is a client's or a provider's bug. A provider's report is cut to it; an OTLP span that
/// says more is refused (one such span made the whole export fail on an integer overflow in the
/// hourly rollup). It also keeps one call's cost within an `i64` at the dearest allowed rate.
pub const MAX_TOKENS: i64 = 1_000_000_000;
/// Why a span with such a count is refused (`partial_success.error_message`).
pub const TOO_MANY_TOKENS: &str = "a token count over 1,000,000,000";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tokens {
    pub input: i64,
    pub cache_read: i64,
    pub cache_write: i64,
    pub output: i64,
    pub reasoning: i64,
}

impl Tokens {
    pub fn total(&self) -> i64 {
        self.input + self.cache_read + self.cache_write + self.output + self.reasoning
    }
}

/// A token count as a provider reported it (a JSON integer), within 0..=[`MAX_TOKENS`].
pub fn reported_count(v: &Value) -> Option<i64> {
    v.as_i64().map(|n| n.clamp(0, MAX_TOKENS))
}

fn int(v: &Value, path: &[&str]) -> i64 {
    path.iter()
        .try_fold(v, |v, k| v.get(*k))
        .and_then(reported_count)
        .unwrap_or(0)
}

/// From an OpenAI chat-completions `usage` object.
pub fn from_openai(usage: &Value) -> Tokens {
    let prompt = int(usage, &["prompt_tokens"]);
    let cached = int(usage, &["prompt_tokens_details", "cached_tokens"]).min(prompt);
    let completion = int(usage, &["completion_tokens"]);
    let reasoning = int(usage, &["completion_tokens_details", "reasoning_tokens"]).min(completion);
    Tokens {
        input: prompt - cached,
        cache_read: cached,
        cache_write: 0,
        output: completion - reasoning,
        reasoning,
    }
}

/// From an Anthropic messages `usage` object.
pub fn from_anthropic(usage: &Value) -> Tokens {
    Tokens {
        input: int(usage, &["input_tokens"]),
        cache_read: int(usage, &["cache_read_input_tokens"]),
        cache_write: int(usage, &["cache_creation_input_tokens"]),
        output: int(usage, &["output_tokens"]),
        reasoning: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn openai_cached_and_reasoning_tokens_are_split_out_not_double_counted() {
        let usage = json!({"prompt_tokens": 1000, "completion_tokens": 300,
            "prompt_tokens_details": {"cached_tokens": 800}, "completion_tokens_details": {"reasoning_tokens": 120}});
        let t = from_openai(&usage);
        assert_eq!(
            t,
            Tokens {
                input: 200,
                cache_read: 800,
                cache_write: 0,
                output: 180,
                reasoning: 120
            }
        );
        assert_eq!(t.total(), 1300);
    }

    #[test]
    fn anthropic_cache_tokens_are_already_apart() {
        let usage = json!({"input_tokens": 50, "output_tokens": 70, "cache_read_input_tokens": 900, "cache_creation_input_tokens": 100});
        assert_eq!(
            from_anthropic(&usage),
            Tokens {
                input: 50,
                cache_read: 900,
                cache_write: 100,
                output: 70,
                reasoning: 0
            }
        );
    }

    #[test]
    fn missing_or_inconsistent_fields_never_go_negative() {
        assert_eq!(from_openai(&json!({})), Tokens::default());
        let t = from_openai(
            &json!({"prompt_tokens": 10, "prompt_tokens_details": {"cached_tokens": 50}}),
        );
        assert_eq!((t.input, t.cache_read), (0, 10));
    }

    #[test]
    fn the_refusal_names_the_bound() {
        let digits: String = TOO_MANY_TOKENS
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        assert_eq!(digits, MAX_TOKENS.to_string());
    }

    #[test]
    fn a_provider_count_past_any_call_is_cut_to_the_bound() {
        let t = from_openai(&json!({"prompt_tokens": i64::MAX, "completion_tokens": 7}));
        assert_eq!((t.input, t.output), (MAX_TOKENS, 7));
        let t = from_anthropic(&json!({"input_tokens": 1, "cache_read_input_tokens": i64::MAX}));
        assert_eq!((t.input, t.cache_read), (1, MAX_TOKENS));
    }
}
