//! HTTP steps: the rendered URL must pass the same outbound safety check as provider keys, the
//! call has a 60 s limit, and the response is capped at 1 MiB (stored output at 64 KiB).

use serde_json::Value;
use wasm_bindgen::JsValue;
use worker::{Headers, Method, Request, RequestInit};

use super::{fetch_with_timeout, Settings, StepError, StepOutput};
use crate::domain::upstream::check_url;
use crate::domain::workflow::HttpStep;

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
    let mut init = RequestInit::new();
    let method = match step.method.as_str() {
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "PATCH" => Method::Patch,
        "DELETE" => Method::Delete,
        _ => Method::Get,
    };
    if let Some(body) = &step.body {
        init.with_body(Some(JsValue::from_str(
            &body.render(input, earlier).map_err(template)?,
        )));
        if !headers.has("content-type").unwrap_or(false) {
            let _ = headers.set("content-type", "application/json");
        }
    }
    init.with_method(method).with_headers(headers);
    let host = url.hostname.clone();
    let request = Request::new_with_init(&url.href, &init)
        .map_err(|_| StepError::new("network", format!("{host} could not be reached.")))?;
    let mut response = fetch_with_timeout(request, &host).await?;
    let status = response.status_code();
    let declared = response
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > RESPONSE_LIMIT) {
        return Err(StepError::new(
            "response_too_large",
            "The endpoint's response is over 1 MiB.",
        ));
    }
    let bytes = response
        .bytes()
        .await
        .map_err(|_| StepError::new("network", format!("{host} broke off its answer.")))?;
    if bytes.len() > RESPONSE_LIMIT {
        return Err(StepError::new(
            "response_too_large",
            "The endpoint's response is over 1 MiB.",
        ));
    }
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
