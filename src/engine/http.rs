//! HTTP steps: the rendered URL (and every redirect) must pass the same outbound safety check as
//! provider keys, the call has a 60 s limit, and the response is capped at 1 MiB as it streams in
//! (stored output at 64 KiB).

use serde_json::Value;
use worker::{Headers, Method};

use super::{Settings, StepError, StepOutput, STEP_TIMEOUT_MS};
use crate::domain::upstream::check_url;
use crate::domain::workflow::HttpStep;
use crate::outbound::{self, Call, Failure};

const RESPONSE_LIMIT: usize = 1024 * 1024;

/// Runs the step; `traceparent` (W3C) puts the called service's own spans in the run's trace.
pub async fn run(
    step: &HttpStep,
    input: &Value,
    earlier: &dyn Fn(&str) -> Option<String>,
    settings: &Settings,
    traceparent: &str,
) -> Result<StepOutput, StepError> {
    let template = |m: String| StepError::new("template", m);
    let url = step.url.render(input, earlier).map_err(template)?;
    let url = check_url(&url, settings.allow_private)
        .map_err(|m| StepError::new("blocked_url", format!("The step's URL {m}.")))?;
    let headers = Headers::new();
    for (name, value) in &step.headers {
        let value = value.render(input, earlier).map_err(template)?;
        headers.set(name, &value).map_err(|_| {
            StepError::new(
                "invalid_header",
                format!("Header {name} is not a valid header."),
            )
        })?;
    }
    if !headers.has("traceparent").unwrap_or(false) {
        let _ = headers.set("traceparent", traceparent);
    }
    let method = match step.method.as_str() {
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "PATCH" => Method::Patch,
        "DELETE" => Method::Delete,
        _ => Method::Get,
    };
    let body = match &step.body {
        Some(body) => {
            if !headers.has("content-type").unwrap_or(false) {
                let _ = headers.set("content-type", "application/json");
            }
            Some(body.render(input, earlier).map_err(template)?)
        }
        None => None,
    };
    let host = url.hostname.clone();
    let call = Call {
        method,
        url: url.href,
        headers,
        body,
        timeout_ms: STEP_TIMEOUT_MS as u32,
        allow_private: settings.allow_private,
    };
    let reply = outbound::send(call).await.map_err(|f| failed(f, &host))?;
    let status = reply.status();
    let bytes = reply
        .body(RESPONSE_LIMIT)
        .await
        .map_err(|f| failed(f, &host))?;
    if !(200..300).contains(&status) {
        return Err(StepError {
            provider_status: Some(status),
            ..StepError::new("http_error", format!("The endpoint answered {status}."))
        });
    }
    Ok(StepOutput {
        text: String::from_utf8_lossy(&bytes).into_owned(),
        usage: None,
    })
}

/// An outbound failure as the step's error; `who` names the other side.
pub fn failed(failure: Failure, who: &str) -> StepError {
    match failure {
        Failure::Blocked(why) => {
            StepError::new("blocked_url", format!("A redirect from {who} {why}."))
        }
        Failure::TooManyRedirects => {
            StepError::new("network", format!("{who} redirected more than 5 times."))
        }
        Failure::Timeout => StepError::new("timeout", format!("{who} did not answer within 60 s.")),
        Failure::Network => StepError::new("network", format!("{who} could not be reached.")),
        Failure::TooLarge => StepError::new(
            "response_too_large",
            format!("The answer from {who} is over 1 MiB."),
        ),
    }
}
