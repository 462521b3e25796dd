//! LLM steps: OpenAI chat completions, Anthropic messages, and OpenAI-compatible endpoints at a
//! key's `base_url`. 429 and 5xx answers are retried with backoff; provider error bodies are
//! never stored whole (they can quote the key): only their error type or code.

use serde_json::{json, Value};
use worker::{Delay, Env, Method};

use super::http::failed;
use super::keys::{use_key, UseKeyError};
use super::{cost, Settings, StepError, StepOutput, Usage, STEP_TIMEOUT_MS};
use crate::domain::retry::{backoff_ms, is_retryable, MAX_RETRIES};
use crate::domain::service::Service;
use crate::domain::upstream::check_url;
use crate::domain::usage::{from_anthropic, from_openai};
use crate::domain::workflow::LlmStep;
use crate::outbound::{self, Call};
use crate::platform::now_ms;
use crate::providers::auth_headers;
use crate::store::Team;
use crate::vault;

const DEFAULT_ANTHROPIC_MAX_TOKENS: u32 = 1024;
/// A provider's answer is read up to this much, as it streams in.
const RESPONSE_LIMIT: usize = 1024 * 1024;

pub async fn run(
    env: &Env,
    team: &Team<'_>,
    holder: (&str, &str),
    step: &LlmStep,
    input: &Value,
    earlier: &dyn Fn(&str) -> Option<String>,
    settings: &Settings,
) -> Result<StepOutput, StepError> {
    let prompt = step
        .prompt
        .render(input, earlier)
        .map_err(|m| StepError::new("template", m))?;
    let system = match &step.system {
        Some(t) => Some(
            t.render(input, earlier)
                .map_err(|m| StepError::new("template", m))?,
        ),
        None => None,
    };
    let master = vault::master_keys(env).map_err(|e| {
        worker::console_error!("engine: {e}");
        StepError::new(
            "key_unavailable",
            "The vault is not configured on this deployment.",
        )
    })?;
    let key = use_key(team, &master, &step.key_id, now_ms())
        .await
        .map_err(|e| match e {
            UseKeyError::Missing => StepError::new(
                "key_unavailable",
                "The step's provider key was deleted; choose another key.",
            ),
            UseKeyError::Vault(e) => {
                worker::console_error!("engine: key {}: {e}", step.key_id);
                StepError::new(
                    "key_unavailable",
                    "The step's provider key cannot be decrypted; rotate it.",
                )
            }
            UseKeyError::Store(e) => {
                worker::console_error!("engine: loading key: {e}");
                StepError::new("internal", "The provider key could not be loaded.")
            }
        })?;
    let prompt_bytes = prompt.len() + system.as_ref().map_or(0, String::len);
    check_url(&key.base_url, settings.allow_private)
        .map_err(|m| StepError::new("blocked_url", format!("The key's base URL {m}.")))?;

    let (url, body) = match key.service {
        Service::Anthropic => {
            let mut body = json!({
                "model": step.model,
                "max_tokens": step.max_tokens.unwrap_or(DEFAULT_ANTHROPIC_MAX_TOKENS),
                "messages": [{"role": "user", "content": prompt}],
            });
            if let Some(system) = system {
                body["system"] = json!(system);
            }
            (format!("{}/v1/messages", key.base_url), body)
        }
        Service::OpenAi | Service::OpenAiCompatible => {
            let mut messages = Vec::new();
            if let Some(system) = system {
                messages.push(json!({"role": "system", "content": system}));
            }
            messages.push(json!({"role": "user", "content": prompt}));
            let mut body = json!({"model": step.model, "messages": messages});
            if let Some(n) = step.max_tokens {
                // OpenAI's current name for it; compatible servers mostly still expect the old one.
                let field = if key.service == Service::OpenAi {
                    "max_completion_tokens"
                } else {
                    "max_tokens"
                };
                body[field] = json!(n);
            }
            (format!("{}/v1/chat/completions", key.base_url), body)
        }
    };

    let max_output = step.max_tokens.unwrap_or(match key.service {
        Service::Anthropic => DEFAULT_ANTHROPIC_MAX_TOKENS,
        Service::OpenAi | Service::OpenAiCompatible => cost::UNCAPPED_OUTPUT_TOKENS,
    });
    let plan = cost::prepare(
        team,
        holder,
        &step.model,
        prompt_bytes,
        max_output,
        now_ms(),
    )
    .await?;
    let reply = call_with_retries(key.service, &url, &body, &key.secret, settings).await;
    drop(key.secret);
    if reply.is_err() {
        cost::release(team, holder, &plan).await;
    }
    let reply = reply?;
    let (text, tokens) = match key.service {
        Service::Anthropic => {
            let text = reply["content"]
                .as_array()
                .map(|parts| {
                    parts
                        .iter()
                        .filter(|p| p["type"] == "text")
                        .filter_map(|p| p["text"].as_str())
                        .collect::<Vec<_>>()
                        .join("")
                })
                .unwrap_or_default();
            (text, from_anthropic(&reply["usage"]))
        }
        Service::OpenAi | Service::OpenAiCompatible => {
            let text = reply["choices"][0]["message"]["content"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            (text, from_openai(&reply["usage"]))
        }
    };
    let provider = key.service.as_str();
    Ok(StepOutput {
        text,
        usage: Some(Usage {
            provider,
            model: step.model.clone(),
            key_id: step.key_id.clone(),
            tokens,
            plan,
        }),
    })
}

async fn call_with_retries(
    service: Service,
    url: &str,
    body: &Value,
    secret: &vault::Secret,
    settings: &Settings,
) -> Result<Value, StepError> {
    let mut retry = 0;
    loop {
        let (status, retry_after, reply) =
            send(service, url, body, secret, settings.allow_private).await?;
        if (200..300).contains(&status) {
            return reply.ok_or_else(|| {
                provider_error(
                    status,
                    "invalid_response",
                    "The provider's answer was not JSON.",
                    None,
                )
            });
        }
        if is_retryable(status) && retry < MAX_RETRIES {
            retry += 1;
            Delay::from(std::time::Duration::from_millis(backoff_ms(
                retry,
                retry_after.as_deref(),
                settings.retry_base_ms,
            )))
            .await;
            continue;
        }
        let code = reply.as_ref().and_then(error_code);
        return Err(match status {
            401 | 403 => provider_error(
                status,
                "provider_auth",
                "The provider refused the key.",
                code,
            ),
            429 => provider_error(
                status,
                "rate_limit",
                "The provider kept rate limiting the call after 3 retries.",
                code,
            ),
            500..=599 => provider_error(
                status,
                "provider_error",
                &format!("The provider answered {status} after 3 retries."),
                code,
            ),
            _ => provider_error(
                status,
                "provider_rejected",
                &format!("The provider refused the request ({status})."),
                code,
            ),
        });
    }
}

fn provider_error(
    status: u16,
    kind: &'static str,
    message: &str,
    code: Option<String>,
) -> StepError {
    StepError {
        provider_status: Some(status),
        detail: code,
        ..StepError::new(kind, message)
    }
}

/// The provider's short error identifier (`invalid_api_key`, `overloaded_error`), never its
/// message, which can quote the key.
fn error_code(reply: &Value) -> Option<String> {
    let error = &reply["error"];
    let code = error["code"].as_str().or_else(|| error["type"].as_str())?;
    let safe = code.len() <= 64
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
    safe.then(|| code.to_string())
}

async fn send(
    service: Service,
    url: &str,
    body: &Value,
    secret: &vault::Secret,
    allow_private: bool,
) -> Result<(u16, Option<String>, Option<Value>), StepError> {
    let network = |_| StepError::new("network", "The provider could not be reached.");
    let headers = auth_headers(service, secret)
        .map_err(|_| StepError::new("key_unavailable", "The key cannot be sent as a header."))?;
    headers
        .set("content-type", "application/json")
        .map_err(network)?;
    let call = Call {
        method: Method::Post,
        url: url.to_string(),
        headers,
        body: Some(body.to_string()),
        timeout_ms: STEP_TIMEOUT_MS as u32,
        allow_private,
    };
    let reply = outbound::send(call)
        .await
        .map_err(|f| failed(f, "The provider"))?;
    let status = reply.status();
    let retry_after = reply.header("retry-after");
    let bytes = reply
        .body(RESPONSE_LIMIT)
        .await
        .map_err(|f| failed(f, "The provider"))?;
    let reply = serde_json::from_slice::<Value>(&bytes).ok();
    Ok((status, retry_after, reply))
}
