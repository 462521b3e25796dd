//! What a step gives back — its output and an LLM call's usage, or why it failed — and what both
//! step kinds share: the deployment's tunables and output truncation.

use serde::Serialize;
use serde_json::{json, Value};
use worker::Env;

use super::cost;
use crate::domain::usage::Tokens;

/// Why a step failed, as recorded on the step and the execution.
#[derive(Debug, Clone, Serialize)]
pub struct StepError {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_id: Option<String>,
}

impl StepError {
    pub fn new(kind: &'static str, message: impl Into<String>) -> StepError {
        StepError {
            kind,
            message: message.into(),
            provider_status: None,
            detail: None,
            step_id: None,
        }
    }
}

/// What a step produced.
pub struct StepOutput {
    pub text: String,
    pub usage: Option<Usage>,
}

/// One LLM call's usage, for its row.
pub struct Usage {
    pub provider: &'static str,
    pub model: String,
    pub key_id: String,
    pub tokens: Tokens,
    /// The price and budget reservation settled before the call.
    pub plan: cost::Plan,
}

/// Tunables read from the deployment (tests shorten the retry backoff).
pub struct Settings {
    pub allow_private: bool,
    pub retry_base_ms: u64,
}

impl Settings {
    pub fn from_env(env: &Env) -> Settings {
        let var = |name: &str| env.var(name).ok().map(|v| v.to_string());
        Settings {
            allow_private: crate::platform::allow_private_upstreams(env),
            retry_base_ms: var("RETRY_BASE_MS")
                .and_then(|v| v.parse().ok())
                .unwrap_or(1_000),
        }
    }
}

pub fn tokens_json(t: &Tokens) -> Value {
    json!({"input": t.input, "cache_read": t.cache_read, "cache_write": t.cache_write, "output": t.output,
           "reasoning": t.reasoning, "total": t.total()})
}

/// Cuts `text` to at most `limit` bytes on a character boundary.
pub fn truncate(mut text: String, limit: usize) -> String {
    if text.len() > limit {
        let mut end = limit;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}
