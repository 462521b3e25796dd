//! A stand-in LLM provider: a small local HTTP server that speaks the OpenAI and Anthropic wire
//! formats for `GET /v1/models`, accepting one known key each and refusing others the way the
//! real services do (401 with an error body that quotes part of the key — which Beacon must
//! never relay). Started once per test process, on a free port of 127.0.0.1.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::OnceLock;
use std::thread;

/// The one OpenAI-style key the stand-in accepts.
pub const OPENAI_KEY: &str = "sk-standin-openai-VALID-7f3a9c";
/// The one Anthropic key the stand-in accepts.
pub const ANTHROPIC_KEY: &str = "sk-ant-standin-VALID-1b2c3d";
/// A key both refuse.
pub const BAD_KEY: &str = "sk-standin-REFUSED-000000";

pub struct StandIn {
    /// `http://127.0.0.1:<port>`: a provider `base_url`.
    pub base_url: String,
}

static STAND_IN: OnceLock<StandIn> = OnceLock::new();

/// The shared stand-in provider.
pub fn stand_in() -> &'static StandIn {
    STAND_IN.get_or_init(|| {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the stand-in provider");
        let base_url = format!(
            "http://{}",
            listener.local_addr().expect("stand-in address")
        );
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                thread::spawn(move || serve(stream));
            }
        });
        StandIn { base_url }
    })
}

fn serve(mut stream: TcpStream) {
    let Ok(clone) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(clone);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" || line == "\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let path = request_line.split_whitespace().nth(1).unwrap_or("");
    let (status, body) = if path != "/v1/models" {
        (
            404,
            r#"{"error":{"message":"Unknown request URL","type":"invalid_request_error"}}"#
                .to_string(),
        )
    } else if let Some(key) = header("x-api-key") {
        anthropic_models(key, header("anthropic-version"))
    } else {
        openai_models(header("authorization").and_then(|a| a.strip_prefix("Bearer ")))
    };
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        _ => "Not Found",
    };
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes());
}

fn openai_models(key: Option<&str>) -> (u16, String) {
    match key {
        Some(OPENAI_KEY) => (
            200,
            r#"{"object":"list","data":[{"id":"gpt-4o-mini","object":"model","created":1721172741,"owned_by":"system"}]}"#.into(),
        ),
        Some(other) => (
            401,
            format!(
                r#"{{"error":{{"message":"Incorrect API key provided: {other}. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}}}"#
            ),
        ),
        None => (
            401,
            r#"{"error":{"message":"You didn't provide an API key.","type":"invalid_request_error","param":null,"code":null}}"#.into(),
        ),
    }
}

fn anthropic_models(key: &str, version: Option<&str>) -> (u16, String) {
    if version.is_none() {
        return (
            400,
            r#"{"type":"error","error":{"type":"invalid_request_error","message":"anthropic-version: header is required"}}"#.into(),
        );
    }
    if key == ANTHROPIC_KEY {
        (
            200,
            r#"{"data":[{"type":"model","id":"claude-sonnet-4-5","display_name":"Claude Sonnet 4.5","created_at":"2025-09-29T00:00:00Z"}],"has_more":false,"first_id":"claude-sonnet-4-5","last_id":"claude-sonnet-4-5"}"#.into(),
        )
    } else {
        (
            401,
            format!(
                r#"{{"type":"error","error":{{"type":"authentication_error","message":"invalid x-api-key {key}"}}}}"#
            ),
        )
    }
}
