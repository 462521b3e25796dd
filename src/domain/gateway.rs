//! The LLM gateway's rules, apart from HTTP and storage: which provider API a route speaks, the
//! few fields of a request Beacon reads (the body itself is sent on as the caller wrote it), the
//! one change it makes to a streamed OpenAI request, the worst case a call can cost, the usage a
//! streamed answer reports as it goes ([`Meter`]), the cache's key and TTL, and a `traceparent`.

use serde_json::{json, Value};

use super::service::Service;
use super::usage::{from_anthropic, from_openai, reported_count, Tokens};

/// The longest cache TTL a request may ask for: 7 days.
pub const MAX_CACHE_TTL_S: u32 = 7 * 86_400;

/// One of the provider APIs the gateway passes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// OpenAI chat completions (`openai` and `openai_compatible` keys).
    Chat,
    /// OpenAI embeddings.
    Embeddings,
    /// Anthropic messages.
    Messages,
}

impl Api {
    /// The provider's path, after the key's `base_url`.
    pub fn path(self) -> &'static str {
        match self {
            Api::Chat => "/v1/chat/completions",
            Api::Embeddings => "/v1/embeddings",
            Api::Messages => "/v1/messages",
        }
    }

    /// Whether a key of `service` can answer this API.
    pub fn accepts(self, service: Service) -> bool {
        (self == Api::Messages) == (service == Service::Anthropic)
    }

    /// The GenAI operation name of its spans.
    pub fn operation(self) -> &'static str {
        match self {
            Api::Embeddings => "embeddings",
            Api::Chat | Api::Messages => "chat",
        }
    }

    /// The usage object of a whole (not streamed) answer, as the five buckets.
    pub fn tokens(self, answer: &Value) -> Tokens {
        match self {
            Api::Messages => from_anthropic(&answer["usage"]),
            Api::Chat | Api::Embeddings => from_openai(&answer["usage"]),
        }
    }
}

/// What Beacon reads of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub model: String,
    pub stream: bool,
    /// `max_completion_tokens`, else `max_tokens`, when given.
    pub max_output: Option<i64>,
}

/// Reads the request's model, whether it streams and its output cap; a field that cannot be
/// read is `(field, why)`, a 422.
pub fn read(api: Api, body: &Value) -> Result<Call, (&'static str, &'static str)> {
    let fields = body.as_object().ok_or(("body", "must be a JSON object"))?;
    let model = fields
        .get("model")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty() && m.len() <= 256)
        .ok_or(("model", "must be a model name"))?;
    let stream = match fields.get("stream") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b && api != Api::Embeddings,
        Some(_) => return Err(("stream", "must be true or false")),
    };
    let mut max_output = None;
    for name in ["max_completion_tokens", "max_tokens"] {
        match fields.get(name) {
            None | Some(Value::Null) => {}
            Some(v) => {
                let n = v
                    .as_i64()
                    .filter(|n| *n >= 0)
                    .ok_or((name, "must be a whole number of tokens"))?;
                max_output = max_output.or(Some(n));
            }
        }
    }
    Ok(Call {
        model: model.to_string(),
        stream,
        max_output,
    })
}

/// The most output tokens a call can produce: its own cap, else the model's limit (0 for
/// embeddings, which produce none).
pub fn worst_output(api: Api, call: &Call) -> i64 {
    match api {
        Api::Embeddings => 0,
        _ => call.max_output.unwrap_or_else(|| output_limit(&call.model)),
    }
}

/// The longest answer a model can give, from the providers' model pages; an unknown model gets
/// the largest of them, so a budget is never under-reserved.
pub fn output_limit(model: &str) -> i64 {
    const LIMITS: [(&str, i64); 12] = [
        ("gpt-5", 128_000),
        ("o1", 100_000),
        ("o3", 100_000),
        ("o4", 100_000),
        ("gpt-4.1", 32_768),
        ("gpt-4o", 16_384),
        ("gpt-4", 8_192),
        ("gpt-3.5", 4_096),
        ("claude-opus-4", 32_000),
        ("claude-sonnet-4", 64_000),
        ("claude-haiku-4", 64_000),
        ("claude-3", 8_192),
    ];
    LIMITS
        .iter()
        .find(|(prefix, _)| model.starts_with(prefix))
        .map_or(128_000, |(_, n)| *n)
}

/// The body to send when it is not the caller's own bytes: an OpenAI chat stream that does not
/// ask for its usage gets `stream_options.include_usage = true` (without it the stream carries
/// no usage at all). Added at the end of the object when the caller sent no `stream_options`, so
/// the rest of the body stays byte for byte as it was.
pub fn outgoing(api: Api, call: &Call, body: &Value, raw: &[u8]) -> Option<Vec<u8>> {
    if api != Api::Chat || !call.stream {
        return None;
    }
    let options = body.get("stream_options");
    if options.is_some_and(|o| o["include_usage"].as_bool() == Some(true)) {
        return None;
    }
    if options.is_none() {
        let end = raw.iter().rposition(|b| *b == b'}')?;
        let mut out = Vec::with_capacity(raw.len() + 42);
        out.extend_from_slice(&raw[..end]);
        out.extend_from_slice(br#","stream_options":{"include_usage":true}"#);
        out.extend_from_slice(&raw[end..]);
        return Some(out);
    }
    let mut body = body.clone();
    match body["stream_options"].as_object_mut() {
        Some(options) => {
            options.insert("include_usage".into(), Value::Bool(true));
        }
        None => body["stream_options"] = json!({"include_usage": true}),
    }
    Some(body.to_string().into_bytes())
}

/// `x-beacon-cache-ttl`: seconds, 1 to [`MAX_CACHE_TTL_S`]; absent is `None` (no cache).
pub fn cache_ttl(raw: Option<&str>) -> Result<Option<u32>, &'static str> {
    match raw.map(str::trim) {
        None => Ok(None),
        Some(s) => s
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_CACHE_TTL_S).contains(n))
            .map(Some)
            .ok_or("must be a number of seconds from 1 to 604800"),
    }
}

/// What the cache key hashes: the team, the API and the key's service, the model, and the body
/// with its object keys sorted and no white space, so two requests that differ only in how
/// their JSON is laid out share an entry.
pub fn cache_material(team: &str, api: Api, service: Service, model: &str, body: &Value) -> String {
    // serde_json's map is ordered by key, so its text is already canonical.
    format!(
        "{team}\n{}\n{}\n{model}\n{body}",
        api.path(),
        service.as_str()
    )
}

/// A cached answer as stored: when it expires (KV keeps an entry at least 60 s), then the body.
pub fn cache_entry(expires_at: i64, body: &str) -> String {
    format!("{expires_at}\n{body}")
}

/// The body of a cached entry that is still fresh at `now`.
pub fn cache_hit(entry: &str, now: i64) -> Option<&str> {
    let (expires, body) = entry.split_once('\n')?;
    (expires.parse::<i64>().ok()? > now).then_some(body)
}

/// The trace id and parent span id of a W3C `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`).
pub fn traceparent(raw: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = raw.trim().split('-').collect();
    let hex = |s: &str, n: usize| {
        s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit()) && s.bytes().any(|b| b != b'0')
    };
    match parts.as_slice() {
        [version, trace, span, flags, ..]
            if version.len() == 2
                && *version != "ff"
                && hex(trace, 32)
                && hex(span, 16)
                && flags.len() == 2 =>
        {
            Some((trace.to_ascii_lowercase(), span.to_ascii_lowercase()))
        }
        _ => None,
    }
}

/// `body` with every occurrence of `secret` replaced: providers quote a refused key in their
/// error messages. `None` when it does not occur.
pub fn redact(body: &[u8], secret: &str) -> Option<Vec<u8>> {
    let needle = secret.as_bytes();
    if needle.len() < 8 || !body.windows(needle.len()).any(|w| w == needle) {
        return None;
    }
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        if body[i..].starts_with(needle) {
            out.extend_from_slice(b"<redacted>");
            i += needle.len();
        } else {
            out.push(body[i]);
            i += 1;
        }
    }
    Some(out)
}

/// The usage fields of Anthropic's stream events.
const ANTHROPIC_USAGE: [&str; 4] = [
    "input_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
    "output_tokens",
];

/// Lines of a stream longer than this are not read for usage (no provider sends them).
const MAX_LINE: usize = 256 * 1024;

/// Reads the usage a streamed answer reports while it is relayed, chunk by chunk, with lines
/// split anywhere between chunks: OpenAI's final chunk (`usage`, with `include_usage`) and
/// `data: [DONE]`; Anthropic's `message_start` (input and cache tokens), `message_delta`
/// (output tokens so far) and `message_stop`.
#[derive(Debug)]
pub struct Meter {
    api: Api,
    line: Vec<u8>,
    /// Anthropic's usage as it stands (message_start's, updated by each message_delta), in the
    /// order of [`ANTHROPIC_USAGE`].
    usage: [Option<i64>; 4],
    reported: Option<Tokens>,
    /// Content chunks seen: the output counted when the stream is cut before its usage.
    chunks: i64,
    done: bool,
}

/// What a stream came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metered {
    pub tokens: Tokens,
    /// The stream ended as the provider ends one (`[DONE]`, `message_stop`).
    pub complete: bool,
}

impl Meter {
    pub fn new(api: Api) -> Meter {
        Meter {
            api,
            line: Vec::new(),
            usage: [None; 4],
            reported: None,
            chunks: 0,
            done: false,
        }
    }

    pub fn feed(&mut self, bytes: &[u8]) {
        let mut rest = bytes;
        while let Some(end) = rest.iter().position(|b| *b == b'\n') {
            if self.line.is_empty() {
                self.on_line(&rest[..end]);
            } else {
                let mut line = std::mem::take(&mut self.line);
                line.extend_from_slice(&rest[..end]);
                self.on_line(&line);
            }
            rest = &rest[end + 1..];
        }
        if self.line.len() + rest.len() <= MAX_LINE {
            self.line.extend_from_slice(rest);
        }
    }

    fn on_line(&mut self, line: &[u8]) {
        let Some(data) = line.strip_prefix(b"data:") else {
            return;
        };
        let data = data.trim_ascii();
        let has = |needle: &[u8]| data.windows(needle.len()).any(|w| w == needle);
        match self.api {
            Api::Messages => {
                if !has(b"\"message_") {
                    if has(b"\"content_block_delta\"") {
                        self.chunks += 1;
                    }
                    return;
                }
                let Ok(event) = serde_json::from_slice::<Value>(data) else {
                    return;
                };
                let usage = match event["type"].as_str() {
                    Some("message_start") => &event["message"]["usage"],
                    Some("message_delta") => &event["usage"],
                    Some("message_stop") => {
                        self.done = true;
                        return;
                    }
                    _ => return,
                };
                for (slot, name) in self.usage.iter_mut().zip(ANTHROPIC_USAGE) {
                    if let Some(n) = reported_count(&usage[name]) {
                        *slot = Some(n);
                    }
                }
            }
            Api::Chat | Api::Embeddings => {
                if data == b"[DONE]" {
                    self.done = true;
                    return;
                }
                // Every chunk of a stream that asked for usage says `"usage":null` but the last:
                // only a chunk whose usage is something else is parsed.
                let usage = (has(b"\"usage\"") && !has(b"\"usage\":null"))
                    .then(|| serde_json::from_slice::<Value>(data).ok())
                    .flatten()
                    .filter(|chunk| chunk["usage"].is_object());
                match usage {
                    Some(chunk) => self.reported = Some(from_openai(&chunk["usage"])),
                    None if has(b"\"content\"") => self.chunks += 1,
                    None => {}
                }
            }
        }
    }

    /// The stream's tokens: as reported; when it was cut, what was reported so far, the content
    /// chunks seen as output and `prompt_estimate` as input if no input count had come.
    pub fn finish(mut self, prompt_estimate: i64) -> Metered {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.on_line(&line);
        }
        let reported = match (self.api, self.usage) {
            (Api::Messages, [None, None, None, None]) => None,
            (Api::Messages, [input, read, write, output]) => Some(Tokens {
                input: input.unwrap_or(0),
                cache_read: read.unwrap_or(0),
                cache_write: write.unwrap_or(0),
                output: output.unwrap_or(self.chunks),
                reasoning: 0,
            }),
            _ => self.reported,
        };
        Metered {
            complete: self.done && reported.is_some(),
            tokens: reported.unwrap_or(Tokens {
                input: prompt_estimate,
                output: self.chunks,
                ..Tokens::default()
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn a_request_gives_its_model_stream_and_output_cap() {
        let b =
            body(r#"{"model":"gpt-4o","stream":true,"max_completion_tokens":50,"max_tokens":9}"#);
        assert_eq!(
            read(Api::Chat, &b),
            Ok(Call {
                model: "gpt-4o".into(),
                stream: true,
                max_output: Some(50)
            })
        );
        assert_eq!(read(Api::Chat, &body("[]")).unwrap_err().0, "body");
        assert_eq!(
            read(Api::Chat, &body(r#"{"model":""}"#)).unwrap_err().0,
            "model"
        );
        assert_eq!(
            read(Api::Chat, &body(r#"{"model":"m","stream":"yes"}"#))
                .unwrap_err()
                .0,
            "stream"
        );
        assert_eq!(
            read(Api::Messages, &body(r#"{"model":"m","max_tokens":-1}"#))
                .unwrap_err()
                .0,
            "max_tokens"
        );
        let e = read(Api::Embeddings, &body(r#"{"model":"e","stream":true}"#)).unwrap();
        assert!(!e.stream, "embeddings never stream");
    }

    #[test]
    fn the_worst_case_is_the_cap_else_the_models_limit() {
        let call = |m: &str, max| Call {
            model: m.into(),
            stream: false,
            max_output: max,
        };
        assert_eq!(worst_output(Api::Chat, &call("gpt-4o-mini", Some(10))), 10);
        assert_eq!(worst_output(Api::Chat, &call("gpt-4o-mini", None)), 16_384);
        assert_eq!(worst_output(Api::Chat, &call("gpt-4.1-nano", None)), 32_768);
        assert_eq!(
            worst_output(Api::Messages, &call("claude-sonnet-4-5", None)),
            64_000
        );
        assert_eq!(worst_output(Api::Chat, &call("mystery", None)), 128_000);
        assert_eq!(
            worst_output(Api::Embeddings, &call("text-embedding-3-small", None)),
            0
        );
    }

    #[test]
    fn only_an_openai_stream_is_changed_and_only_to_ask_for_its_usage() {
        let raw = br#"{"model":"m", "stream":true}"#;
        let b = body(std::str::from_utf8(raw).unwrap());
        let call = read(Api::Chat, &b).unwrap();
        let out = outgoing(Api::Chat, &call, &b, raw).unwrap();
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            r#"{"model":"m", "stream":true,"stream_options":{"include_usage":true}}"#
        );
        let asked = br#"{"model":"m","stream":true,"stream_options":{"include_usage":true}}"#;
        let b2 = body(std::str::from_utf8(asked).unwrap());
        assert_eq!(outgoing(Api::Chat, &call, &b2, asked), None);
        let off =
            body(r#"{"model":"m","stream":true,"stream_options":{"include_usage":false,"x":1}}"#);
        let out =
            body(std::str::from_utf8(&outgoing(Api::Chat, &call, &off, b"").unwrap()).unwrap());
        assert_eq!(
            out["stream_options"],
            json!({"include_usage": true, "x": 1})
        );
        let still = Call {
            stream: false,
            ..call.clone()
        };
        assert_eq!(outgoing(Api::Chat, &still, &b, raw), None);
        assert_eq!(outgoing(Api::Messages, &call, &b, raw), None);
    }

    #[test]
    fn the_cache_key_ignores_layout_but_not_content_team_or_service() {
        let a =
            body(r#"{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":0}"#);
        let b = body("{ \"temperature\": 0,\n \"messages\": [ {\"content\":\"hi\",\"role\":\"user\"} ], \"model\":\"m\" }");
        let c =
            body(r#"{"model":"m","messages":[{"role":"user","content":"hi!"}],"temperature":0}"#);
        let key = |team, api, service, body: &Value| cache_material(team, api, service, "m", body);
        assert_eq!(
            key("t", Api::Chat, Service::OpenAi, &a),
            key("t", Api::Chat, Service::OpenAi, &b)
        );
        assert_ne!(
            key("t", Api::Chat, Service::OpenAi, &a),
            key("t", Api::Chat, Service::OpenAi, &c)
        );
        assert_ne!(
            key("t", Api::Chat, Service::OpenAi, &a),
            key("u", Api::Chat, Service::OpenAi, &a)
        );
        assert_ne!(
            key("t", Api::Chat, Service::OpenAi, &a),
            key("t", Api::Chat, Service::OpenAiCompatible, &a)
        );
        assert_ne!(
            key("t", Api::Chat, Service::OpenAi, &a),
            key("t", Api::Embeddings, Service::OpenAi, &a)
        );
    }

    #[test]
    fn cache_ttls_and_entries() {
        assert_eq!(cache_ttl(None), Ok(None));
        assert_eq!(cache_ttl(Some("60")), Ok(Some(60)));
        assert_eq!(cache_ttl(Some("604800")), Ok(Some(604_800)));
        for bad in ["0", "604801", "-1", "1.5", "soon", ""] {
            assert!(cache_ttl(Some(bad)).is_err(), "{bad}");
        }
        let entry = cache_entry(1000, "{\"a\":\n1}");
        assert_eq!(cache_hit(&entry, 999), Some("{\"a\":\n1}"));
        assert_eq!(cache_hit(&entry, 1000), None);
        assert_eq!(cache_hit("junk", 0), None);
    }

    #[test]
    fn traceparent_is_read_strictly() {
        let t = "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01";
        assert_eq!(
            traceparent(t),
            Some((
                "4bf92f3577b34da6a3ce929d0e0e4736".into(),
                "00f067aa0ba902b7".into()
            ))
        );
        assert_eq!(
            traceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
            None
        );
        assert_eq!(
            traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"),
            None
        );
        assert_eq!(
            traceparent("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            None
        );
        assert_eq!(traceparent("garbage"), None);
    }

    #[test]
    fn a_quoted_key_is_redacted() {
        let out = redact(b"bad key sk-secret-123 (sk-secret-123)", "sk-secret-123").unwrap();
        assert_eq!(out, b"bad key <redacted> (<redacted>)");
        assert_eq!(redact(b"nothing here", "sk-secret-123"), None);
    }

    /// `text` fed in pieces of `size` bytes.
    fn meter(api: Api, text: &str, size: usize) -> Metered {
        let mut m = Meter::new(api);
        for piece in text.as_bytes().chunks(size) {
            m.feed(piece);
        }
        m.finish(7)
    }

    const OPENAI: &str = concat!(
        "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}],\"usage\":null}\n\n",
        "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}],\"usage\":null}\n\n",
        "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"}}],\"usage\":null}\n\n",
        "data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":1000,\"completion_tokens\":300,",
        "\"prompt_tokens_details\":{\"cached_tokens\":800},\"completion_tokens_details\":{\"reasoning_tokens\":120}}}\n\n",
        "data: [DONE]\n\n"
    );

    #[test]
    fn openai_streams_report_usage_in_their_final_chunk_split_anywhere() {
        for size in [1, 7, 64, 10_000] {
            let m = meter(Api::Chat, OPENAI, size);
            assert!(m.complete, "{size}");
            assert_eq!(
                m.tokens,
                Tokens {
                    input: 200,
                    cache_read: 800,
                    cache_write: 0,
                    output: 180,
                    reasoning: 120
                }
            );
        }
    }

    #[test]
    fn a_cut_openai_stream_counts_its_content_chunks_and_is_incomplete() {
        let cut = &OPENAI[..OPENAI.find("data: {\"id\":\"c\",\"choices\":[],").unwrap() - 5];
        let m = meter(Api::Chat, cut, 13);
        assert!(!m.complete);
        assert_eq!(m.tokens.output, 3);
        assert_eq!(m.tokens.input, 7, "the prompt's estimate");
    }

    const ANTHROPIC: &str = concat!(
        "event: message_start\r\n",
        "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg\",\"usage\":{\"input_tokens\":50,\"cache_creation_input_tokens\":100,\"cache_read_input_tokens\":900,\"output_tokens\":1}}}\r\n\r\n",
        "event: content_block_start\r\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\r\n\r\n",
        "event: content_block_delta\r\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\r\n\r\n",
        "event: content_block_stop\r\ndata: {\"type\":\"content_block_stop\",\"index\":0}\r\n\r\n",
        "event: message_delta\r\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":70}}\r\n\r\n",
        "event: message_stop\r\ndata: {\"type\":\"message_stop\"}\r\n\r\n"
    );

    #[test]
    fn anthropic_streams_report_input_at_the_start_and_output_in_the_delta() {
        for size in [1, 5, 100, 10_000] {
            let m = meter(Api::Messages, ANTHROPIC, size);
            assert!(m.complete);
            assert_eq!(
                m.tokens,
                Tokens {
                    input: 50,
                    cache_read: 900,
                    cache_write: 100,
                    output: 70,
                    reasoning: 0
                }
            );
        }
        let cut = &ANTHROPIC[..ANTHROPIC.find("event: message_delta").unwrap()];
        let m = meter(Api::Messages, cut, 9);
        assert!(!m.complete);
        assert_eq!(
            (m.tokens.input, m.tokens.cache_read, m.tokens.output),
            (50, 900, 1)
        );
    }
}
