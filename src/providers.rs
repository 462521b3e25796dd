//! Talking to LLM providers. For now: asking a provider's models endpoint whether a key works.
//! Provider bodies are never relayed — they can echo the key — only the HTTP status is kept.

use worker::{Headers, Method};

use crate::domain::service::{Service, ANTHROPIC_VERSION};
use crate::outbound::{self, Call, Failure};
use crate::platform::now_ms;
use crate::vault::Secret;

const PROBE_TIMEOUT_MS: u32 = 10_000;

/// Headers that authenticate `secret` with `service`.
pub fn auth_headers(service: Service, secret: &Secret) -> worker::Result<Headers> {
    let headers = Headers::new();
    match service {
        Service::Anthropic => {
            headers.set("x-api-key", secret.expose())?;
            headers.set("anthropic-version", ANTHROPIC_VERSION)?;
        }
        Service::OpenAi | Service::OpenAiCompatible => {
            headers.set("authorization", &format!("Bearer {}", secret.expose()))?;
        }
    }
    Ok(headers)
}

/// What the models endpoint said about a key.
pub enum Verdict {
    /// 2xx: the key works.
    Valid,
    /// 401/403: the provider refused the key.
    Invalid,
    /// Anything else (rate limit, outage, network): the key's state is unknown.
    Unknown(String),
}

pub struct Probe {
    pub verdict: Verdict,
    pub http_status: Option<u16>,
    pub latency_ms: i64,
}

/// GET `{base_url}/v1/models` with the key, within 10 s, every redirect checked.
pub async fn probe_models(
    service: Service,
    base_url: &str,
    secret: &Secret,
    allow_private: bool,
) -> Probe {
    let started = now_ms();
    let result = send_probe(service, base_url, secret, allow_private).await;
    let latency_ms = now_ms() - started;
    match result {
        Ok(status) => {
            let verdict = match status {
                200..=299 => Verdict::Valid,
                401 | 403 => Verdict::Invalid,
                429 => Verdict::Unknown(
                    "The provider is rate limiting this key; try the test again shortly.".into(),
                ),
                500..=599 => Verdict::Unknown(format!(
                    "The provider answered {status}; it may be having an outage."
                )),
                other => Verdict::Unknown(format!(
                    "The provider answered {other} to its models endpoint; check the base URL."
                )),
            };
            Probe {
                verdict,
                http_status: Some(status),
                latency_ms,
            }
        }
        Err(reason) => Probe {
            verdict: Verdict::Unknown(reason),
            http_status: None,
            latency_ms,
        },
    }
}

async fn send_probe(
    service: Service,
    base_url: &str,
    secret: &Secret,
    allow_private: bool,
) -> Result<u16, String> {
    let headers = auth_headers(service, secret)
        .map_err(|_| "The key cannot be sent as a header.".to_string())?;
    let call = Call {
        method: Method::Get,
        url: format!("{base_url}/v1/models"),
        headers,
        body: None,
        timeout_ms: PROBE_TIMEOUT_MS,
        allow_private,
    };
    match outbound::send(call).await {
        // The body is dropped unread: provider error bodies may quote the key.
        Ok(reply) => Ok(reply.status()),
        Err(Failure::Blocked(why)) => Err(format!("The provider redirected to a URL that {why}.")),
        Err(_) => Err(
            "The provider could not be reached at this base URL (network error or timeout)."
                .to_string(),
        ),
    }
}
