//! Stand-ins for services outside the product, as small local HTTP servers that speak their real
//! wire formats: an LLM provider (OpenAI `GET /v1/models` and `POST /v1/chat/completions`,
//! Anthropic `GET /v1/models` and `POST /v1/messages`), an email API (Resend's `POST /emails`)
//! and a plain HTTP endpoint (`/hook`; `/hook/headers` echoes the request's headers,
//! `/hook/redirect-to/<host:port/path>` redirects to `http://<host:port/path>`, `/hook/endless`
//! streams a body that never ends). [`other_origin`] is the same server on a second port.
//!
//! The provider accepts one known key per service and refuses others the way the real ones do
//! (401 with a body that quotes the key — which Beacon must never relay). The model name picks a
//! behaviour: `standin-500` always fails with 500, `standin-429` always rate-limits, `standin-429-once`
//! rate-limits the first call for a prompt, `standin-hold` answers only once the test calls
//! [`StandIn::release`] with a marker its prompt contains (or after 60 s), `standin-slow` sends its
//! first byte after 300 ms, `standin-cut` breaks its stream (or its body) off mid-answer, and a base URL ending in `/down` answers 503;
//! anything else answers at once with usage that includes cached tokens. A request with
//! `"stream": true` is answered as each provider streams: OpenAI's `data:` chunks (a final usage
//! chunk only with `stream_options.include_usage`) and `data: [DONE]`; Anthropic's
//! `message_start`, `content_block_*`, `message_delta` (with the output usage) and
//! `message_stop` events. `POST /v1/embeddings` answers OpenAI's embeddings. Every request is
//! recorded for assertions.

use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Condvar, Mutex, OnceLock};
use std::thread;
use std::time::Duration;

/// The one OpenAI-style key the stand-in accepts.
pub const OPENAI_KEY: &str = "sk-standin-openai-VALID-7f3a9c";
/// The one Anthropic key the stand-in accepts.
pub const ANTHROPIC_KEY: &str = "sk-ant-standin-VALID-1b2c3d";
/// The one Resend API key the email stand-in accepts.
pub const RESEND_KEY: &str = "re_standin_VALID_4d5e6f";
/// A key both refuse.
pub const BAD_KEY: &str = "sk-standin-REFUSED-000000";

/// One request the stand-in received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

pub struct StandIn {
    /// `http://127.0.0.1:<port>`: a provider `base_url`, and the root of `/hook`.
    pub base_url: String,
    recorded: Mutex<Vec<Recorded>>,
    calls_per_prompt: Mutex<HashMap<String, u32>>,
    released: (Mutex<Vec<String>>, Condvar),
}

impl StandIn {
    /// Lets every held call whose prompt contains `marker` answer.
    pub fn release(&self, marker: &str) {
        let (released, wake) = &self.released;
        released
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(marker.to_string());
        wake.notify_all();
    }

    fn hold_until_released(&self, body: &str) {
        let (released, wake) = &self.released;
        let guard = released.lock().unwrap_or_else(|e| e.into_inner());
        let _ = wake.wait_timeout_while(guard, Duration::from_secs(60), |markers| {
            !markers.iter().any(|m| body.contains(m.as_str()))
        });
    }

    /// Every recorded request whose body contains `marker` (tests put a unique marker in inputs).
    pub fn requests_with(&self, marker: &str) -> Vec<Recorded> {
        let recorded = self.recorded.lock().unwrap_or_else(|e| e.into_inner());
        recorded
            .iter()
            .filter(|r| r.body.contains(marker))
            .cloned()
            .collect()
    }
}

static STAND_IN: OnceLock<StandIn> = OnceLock::new();

/// The shared stand-in services.
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
        StandIn {
            base_url,
            recorded: Mutex::new(Vec::new()),
            calls_per_prompt: Mutex::new(HashMap::new()),
            released: (Mutex::new(Vec::new()), Condvar::new()),
        }
    })
}

fn read_request(stream: &TcpStream) -> Option<Recorded> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    let mut parts = request_line.split_whitespace();
    let (method, path) = (parts.next()?.to_string(), parts.next()?.to_string());
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
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Recorded {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

struct Reply {
    status: u16,
    body: String,
    retry_after: Option<&'static str>,
    location: Option<String>,
    /// A streamed answer: its SSE events, each sent as a chunk of its own.
    events: Option<Vec<String>>,
    /// Break the connection off halfway through the answer.
    cut: bool,
}

fn reply(status: u16, body: impl Into<String>) -> Reply {
    Reply {
        status,
        body: body.into(),
        retry_after: None,
        location: None,
        events: None,
        cut: false,
    }
}

/// Writes a streamed answer with chunked transfer encoding, an event per chunk; a cut one stops
/// halfway without the last chunk, as a connection that broke.
fn write_events(stream: &mut TcpStream, events: &[String], cut: bool) {
    let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\ncache-control: no-cache\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n";
    if stream.write_all(head.as_bytes()).is_err() {
        return;
    }
    let upto = if cut { events.len() / 2 } else { events.len() };
    for event in &events[..upto] {
        let chunk = format!("{:x}\r\n{event}\r\n", event.len());
        if stream.write_all(chunk.as_bytes()).is_err() {
            return;
        }
        let _ = stream.flush();
        thread::sleep(Duration::from_millis(2));
    }
    if cut {
        let _ = stream.shutdown(std::net::Shutdown::Both);
        return;
    }
    let _ = stream.write_all(b"0\r\n\r\n");
}

/// The stand-in services on a second port: another origin for redirect tests.
pub fn other_origin() -> &'static str {
    static OTHER: OnceLock<String> = OnceLock::new();
    OTHER.get_or_init(|| {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the second stand-in");
        let address = format!(
            "127.0.0.1:{}",
            listener.local_addr().expect("address").port()
        );
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                thread::spawn(move || serve(stream));
            }
        });
        address
    })
}

/// A chunked body that goes on (a chunk every few ms) until the reader hangs up or 2 minutes pass.
fn endless(mut stream: TcpStream) {
    let head = "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n";
    if stream.write_all(head.as_bytes()).is_err() {
        return;
    }
    let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, "x".repeat(64 * 1024));
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_secs(120) {
        if stream.write_all(chunk.as_bytes()).is_err() {
            return;
        }
        thread::sleep(Duration::from_millis(5));
    }
}

fn serve(mut stream: TcpStream) {
    let Some(request) = read_request(&stream) else {
        return;
    };
    let me = stand_in();
    me.recorded
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(request.clone());
    let header = |name: &str| request.header(name);
    if request.path == "/hook/endless" {
        return endless(stream);
    }
    let r = if let Some(target) = request.path.strip_prefix("/hook/redirect-to/") {
        Reply {
            location: Some(format!("http://{target}")),
            ..reply(302, "{}")
        }
    } else if request.path.starts_with("/down/") {
        // A provider having an outage: a key whose base URL ends in /down gets 503s.
        reply(
            503,
            r#"{"error":{"message":"The server is overloaded","type":"server_error"}}"#,
        )
    } else if request.path == "/hook/headers" {
        let headers: serde_json::Map<String, Value> = request
            .headers
            .iter()
            .map(|(n, v)| (n.clone(), json!(v)))
            .collect();
        reply(200, Value::Object(headers).to_string())
    } else {
        match (request.method.as_str(), request.path.as_str()) {
            ("GET", "/v1/models") => match header("x-api-key") {
                Some(key) => anthropic_models(key, header("anthropic-version")),
                None => {
                    openai_models(header("authorization").and_then(|a| a.strip_prefix("Bearer ")))
                }
            },
            ("POST", "/v1/chat/completions") => {
                let key = header("authorization").and_then(|a| a.strip_prefix("Bearer "));
                if key != Some(OPENAI_KEY) {
                    openai_models(key)
                } else {
                    generate(me, &request.body, openai_reply)
                }
            }
            ("POST", "/v1/messages") => {
                if header("x-api-key") != Some(ANTHROPIC_KEY)
                    || header("anthropic-version").is_none()
                {
                    anthropic_models(
                        header("x-api-key").unwrap_or(""),
                        header("anthropic-version"),
                    )
                } else {
                    generate(me, &request.body, anthropic_reply)
                }
            }
            ("POST", "/v1/embeddings") => {
                let key = header("authorization").and_then(|a| a.strip_prefix("Bearer "));
                if key != Some(OPENAI_KEY) {
                    openai_models(key)
                } else {
                    generate(me, &request.body, embeddings_reply)
                }
            }
            ("POST", "/emails") => resend_reply(me, &request),
            (_, "/hook") => reply(
                200,
                json!({"received": request.body, "method": request.method}).to_string(),
            ),
            (_, "/hook/fail") => reply(503, r#"{"error":"unavailable"}"#),
            _ => reply(
                404,
                r#"{"error":{"message":"Unknown request URL","type":"invalid_request_error"}}"#,
            ),
        }
    };
    if let Some(events) = &r.events {
        return write_events(&mut stream, events, r.cut);
    }
    let reason = match r.status {
        200 => "OK",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Not Found",
    };
    let retry_after = r
        .retry_after
        .map(|s| format!("retry-after: {s}\r\n"))
        .unwrap_or_default()
        + &r.location
            .map(|l| format!("location: {l}\r\n"))
            .unwrap_or_default();
    let response = format!(
        "HTTP/1.1 {} {reason}\r\ncontent-type: application/json\r\n{retry_after}content-length: {}\r\nconnection: close\r\n\r\n{}",
        r.status,
        r.body.len(),
        r.body
    );
    // A cut body: the head promises more than ever comes.
    let sent = if r.cut {
        response.len() - r.body.len() / 2
    } else {
        response.len()
    };
    let _ = stream.write_all(&response.as_bytes()[..sent]);
}

/// The generation endpoints' behaviours, chosen by model name.
fn generate(me: &StandIn, body: &str, ok: fn(&Value) -> Value) -> Reply {
    let request: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let model = request["model"].as_str().unwrap_or("");
    let calls = {
        let mut counts = me
            .calls_per_prompt
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let n = counts.entry(body.to_string()).or_insert(0);
        *n += 1;
        *n
    };
    match model {
        "standin-500" => reply(
            500,
            r#"{"error":{"message":"The server had an error","type":"server_error"}}"#,
        ),
        "standin-429" => Reply {
            retry_after: Some("0"),
            ..reply(
                429,
                r#"{"error":{"message":"Rate limit reached","type":"rate_limit_error","code":"rate_limit_exceeded"}}"#,
            )
        },
        "standin-429-once" if calls == 1 => Reply {
            retry_after: Some("0"),
            ..reply(
                429,
                r#"{"error":{"message":"Rate limit reached","type":"rate_limit_error"}}"#,
            )
        },
        _ => {
            if model == "standin-hold" {
                me.hold_until_released(body);
            }
            if model == "standin-slow" {
                thread::sleep(Duration::from_millis(300));
            }
            let answer = ok(&request);
            let cut = model == "standin-cut";
            if request["stream"] == json!(true) {
                return Reply {
                    events: Some(stream_events(&request, &answer)),
                    cut,
                    ..reply(200, "")
                };
            }
            Reply {
                cut,
                ..reply(200, answer.to_string())
            }
        }
    }
}

/// A whole answer as its provider streams it.
fn stream_events(request: &Value, answer: &Value) -> Vec<String> {
    let data = |v: Value| format!("data: {v}\n\n");
    if answer["type"] == "message" {
        let event = |name: &str, v: Value| format!("event: {name}\ndata: {v}\n\n");
        let usage = &answer["usage"];
        let text = answer["content"][0]["text"].as_str().unwrap_or("");
        let mut events = vec![
            event(
                "message_start",
                json!({"type": "message_start", "message": {"id": answer["id"], "type": "message", "role": "assistant",
                "model": answer["model"], "content": [], "stop_reason": null,
                "usage": {"input_tokens": usage["input_tokens"], "cache_creation_input_tokens": usage["cache_creation_input_tokens"],
                          "cache_read_input_tokens": usage["cache_read_input_tokens"], "output_tokens": 1}}}),
            ),
            event(
                "content_block_start",
                json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            ),
            event("ping", json!({"type": "ping"})),
        ];
        for piece in pieces(text) {
            events.push(event("content_block_delta", json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}})));
        }
        events.push(event(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ));
        events.push(event("message_delta", json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null},
            "usage": {"output_tokens": usage["output_tokens"]}})));
        events.push(event("message_stop", json!({"type": "message_stop"})));
        return events;
    }
    let with_usage = request["stream_options"]["include_usage"] == json!(true);
    let chunk = |delta: Value, finish: Value| {
        let mut c = json!({"id": answer["id"], "object": "chat.completion.chunk", "created": answer["created"], "model": answer["model"],
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
        if with_usage {
            c["usage"] = Value::Null;
        }
        data(c)
    };
    let text = answer["choices"][0]["message"]["content"]
        .as_str()
        .unwrap_or("");
    let mut events = vec![chunk(
        json!({"role": "assistant", "content": ""}),
        Value::Null,
    )];
    for piece in pieces(text) {
        events.push(chunk(json!({"content": piece}), Value::Null));
    }
    events.push(chunk(json!({}), json!("stop")));
    if with_usage {
        events.push(data(json!({"id": answer["id"], "object": "chat.completion.chunk", "created": answer["created"],
            "model": answer["model"], "choices": [], "usage": answer["usage"]})));
    }
    events.push("data: [DONE]\n\n".to_string());
    events
}

/// A text in the few-character pieces a model streams.
fn pieces(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars.chunks(4).map(|c| c.iter().collect()).collect()
}

fn embeddings_reply(request: &Value) -> Value {
    json!({"object": "list", "model": request["model"],
           "data": [{"object": "embedding", "index": 0, "embedding": [0.0023, -0.0094, 0.0157]}],
           "usage": {"prompt_tokens": 8, "total_tokens": 8}})
}

/// The text of the last user message, echoed back so tests can follow data between steps.
fn prompt_of(request: &Value) -> String {
    let messages = request["messages"].as_array().cloned().unwrap_or_default();
    let last = messages.iter().rev().find(|m| m["role"] == "user");
    last.and_then(|m| m["content"].as_str())
        .unwrap_or("")
        .to_string()
}

fn openai_reply(request: &Value) -> Value {
    json!({
        "id": "chatcmpl-standin", "object": "chat.completion", "created": 1767225600, "model": request["model"],
        "choices": [{"index": 0, "message": {"role": "assistant", "content": format!("echo: {}", prompt_of(request))}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1000, "completion_tokens": 300, "total_tokens": 1300,
                  "prompt_tokens_details": {"cached_tokens": 800}, "completion_tokens_details": {"reasoning_tokens": 120}}
    })
}

fn anthropic_reply(request: &Value) -> Value {
    json!({
        "id": "msg_standin", "type": "message", "role": "assistant", "model": request["model"],
        "content": [{"type": "text", "text": format!("echo: {}", prompt_of(request))}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 50, "output_tokens": 70, "cache_read_input_tokens": 900, "cache_creation_input_tokens": 100}
    })
}

fn openai_models(key: Option<&str>) -> Reply {
    match key {
        Some(OPENAI_KEY) => reply(
            200,
            r#"{"object":"list","data":[{"id":"gpt-4o-mini","object":"model","created":1721172741,"owned_by":"system"}]}"#,
        ),
        Some(other) => reply(
            401,
            format!(
                r#"{{"error":{{"message":"Incorrect API key provided: {other}. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}}}"#
            ),
        ),
        None => reply(
            401,
            r#"{"error":{"message":"You didn't provide an API key.","type":"invalid_request_error","param":null,"code":null}}"#,
        ),
    }
}

fn anthropic_models(key: &str, version: Option<&str>) -> Reply {
    if version.is_none() {
        return reply(
            400,
            r#"{"type":"error","error":{"type":"invalid_request_error","message":"anthropic-version: header is required"}}"#,
        );
    }
    if key == ANTHROPIC_KEY {
        reply(
            200,
            r#"{"data":[{"type":"model","id":"claude-sonnet-4-5","display_name":"Claude Sonnet 4.5","created_at":"2025-09-29T00:00:00Z"}],"has_more":false,"first_id":"claude-sonnet-4-5","last_id":"claude-sonnet-4-5"}"#,
        )
    } else {
        reply(
            401,
            format!(
                r#"{{"type":"error","error":{{"type":"authentication_error","message":"invalid x-api-key {key}"}}}}"#
            ),
        )
    }
}

/// Resend's `POST /emails`: 401 for a wrong key, 422 without `from`, `to` and `subject`, 500 the
/// first time a recipient containing `fail-once` is sent to, else 200 with the message's id.
fn resend_reply(me: &StandIn, request: &Recorded) -> Reply {
    let key = request
        .header("authorization")
        .and_then(|a| a.strip_prefix("Bearer "));
    if key != Some(RESEND_KEY) {
        return reply(
            401,
            json!({"statusCode": 401, "name": "validation_error", "message": "API key is invalid"})
                .to_string(),
        );
    }
    let body: Value = serde_json::from_str(&request.body).unwrap_or(Value::Null);
    let to = body["to"][0].as_str().unwrap_or("").to_string();
    if to.is_empty() || body["from"].as_str().is_none() || body["subject"].as_str().is_none() {
        return reply(
            422,
            json!({"statusCode": 422, "name": "validation_error", "message": "Missing `to`, `from` or `subject` field."})
                .to_string(),
        );
    }
    let mut calls = me
        .calls_per_prompt
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let n = calls.entry(format!("mail:{to}")).or_insert(0);
    *n += 1;
    if to.contains("fail-once") && *n == 1 {
        return reply(
            500,
            json!({"statusCode": 500, "name": "internal_server_error", "message": "An unexpected error occurred."})
                .to_string(),
        );
    }
    reply(
        200,
        json!({"id": format!("standin-mail-{n}-{}", to.len())}).to_string(),
    )
}
