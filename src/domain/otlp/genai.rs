//! The GenAI semantic conventions read off a span: what kind of call it is, who made it, its
//! token usage in five disjoint buckets, and its conversation.
//!
//! Token arithmetic: the conventions count cached input inside `gen_ai.usage.input_tokens` and
//! reasoning inside `gen_ai.usage.output_tokens`, while Beacon's buckets do not overlap
//! ([`Tokens`]), so the cached and reasoning parts are subtracted (saturating at 0: a client that
//! reports more cached tokens than input tokens does not make a bucket negative). Older names are
//! accepted: `gen_ai.system` for the provider, `prompt_tokens` / `completion_tokens` for input and
//! output, `cache_creation` for cache writes, and the flattened `cache_read_input_tokens` style.
//!
//! Messages come from `gen_ai.system_instructions`, `gen_ai.input.messages` and
//! `gen_ai.output.messages` (structured values or JSON strings), or, for older instrumentations,
//! from `gen_ai.prompt` / `gen_ai.completion` (JSON strings or flattened as
//! `gen_ai.prompt.<i>.<field>`) and from span events (`gen_ai.user.message`, `gen_ai.choice`, ...).
//! Each message is made to carry `role` and `parts` (`content` becomes a text part).

use serde_json::{Map, Value};

use super::proto::{AnyValue, Event, KeyValue, Value as Any};
use super::values::{bound, cost, count, text, to_json, MAX_MESSAGE_BYTES};
use crate::domain::usage::{Tokens, MAX_TOKENS};

/// What kind of GenAI call a span is and who made it; each from its attribute, `None` if absent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GenAi {
    /// `gen_ai.operation.name`: `chat`, `invoke_agent`, `execute_tool`, `embeddings`, ...
    pub operation: Option<String>,
    /// `gen_ai.provider.name`, or the older `gen_ai.system`.
    pub provider: Option<String>,
    pub request_model: Option<String>,
    pub response_model: Option<String>,
    /// `gen_ai.agent.name` on this span itself (see [`super::Span::agent`] for the inherited one).
    pub agent: Option<String>,
    pub tool: Option<String>,
    pub conversation_id: Option<String>,
}

impl GenAi {
    /// The model a call is priced by: the one that answered, else the one asked for.
    pub fn model(&self) -> Option<&str> {
        self.response_model
            .as_deref()
            .or(self.request_model.as_deref())
    }
}

/// The usage attributes as reported, before they are split into buckets.
#[derive(Debug, Default)]
struct Usage {
    input: Option<i64>,
    prompt: Option<i64>,
    output: Option<i64>,
    completion: Option<i64>,
    cache_read: Option<i64>,
    cache_write: Option<i64>,
    reasoning: Option<i64>,
}

impl Usage {
    /// Every count as reported.
    fn reported(&self) -> [Option<i64>; 7] {
        [
            self.input,
            self.prompt,
            self.output,
            self.completion,
            self.cache_read,
            self.cache_write,
            self.reasoning,
        ]
    }

    /// Whether a reported count is past what one call can use ([`MAX_TOKENS`]).
    fn implausible(&self) -> bool {
        self.reported().iter().flatten().any(|&n| n > MAX_TOKENS)
    }

    /// The five buckets, or `None` when the span reports no usage at all (not an LLM call).
    fn tokens(&self) -> Option<Tokens> {
        if self.reported().iter().all(Option::is_none) {
            return None;
        }
        let input = self.input.or(self.prompt).unwrap_or(0);
        let output = self.output.or(self.completion).unwrap_or(0);
        let cache_read = self.cache_read.unwrap_or(0);
        let cache_write = self.cache_write.unwrap_or(0);
        let reasoning = self.reasoning.unwrap_or(0);
        Some(Tokens {
            input: input
                .saturating_sub(cache_read.saturating_add(cache_write))
                .max(0),
            cache_read,
            cache_write,
            output: output.saturating_sub(reasoning).max(0),
            reasoning,
        })
    }
}

/// Which conversation a message source belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Input,
    Output,
}

/// Reads a span's attributes and events, keeping the GenAI fields and the message sources.
#[derive(Debug, Default)]
pub struct Reader {
    pub gen_ai: GenAi,
    pub session_id: Option<String>,
    pub user_id: Option<String>,
    /// `error.type`, which names an error span's error class.
    pub error_type: Option<String>,
    /// `http.response.status_code` (or the older `http.status_code`): the provider's answer.
    pub http_status: Option<u16>,
    /// Whether a short text field was cut.
    pub truncated: bool,
    usage: Usage,
    system: Option<Value>,
    input: Option<Value>,
    output: Option<Value>,
    /// `gen_ai.prompt.<i>.<field>` / `gen_ai.completion.<i>.<field>`, sorted by index.
    flat_input: Vec<(usize, Map<String, Value>)>,
    flat_output: Vec<(usize, Map<String, Value>)>,
    /// Messages carried by events, used when no attribute carries them.
    event_input: Vec<Value>,
    event_output: Vec<Value>,
}

impl Reader {
    /// Reads one span attribute. Message attributes are kept for [`Reader::messages`] and not
    /// given back; every other attribute is given back for the span's attribute map.
    pub fn attribute(&mut self, kv: KeyValue) -> Option<KeyValue> {
        let slot = match kv.key.as_str() {
            "gen_ai.system_instructions" => &mut self.system,
            "gen_ai.input.messages" => &mut self.input,
            "gen_ai.output.messages" => &mut self.output,
            // The older names yield to the current ones, whichever comes first.
            "gen_ai.prompt" if self.input.is_none() => &mut self.input,
            "gen_ai.completion" if self.output.is_none() => &mut self.output,
            "gen_ai.prompt" | "gen_ai.completion" => return None,
            _ => {
                self.scalar(&kv);
                return self.flattened(kv);
            }
        };
        *slot = Some(parse(kv.value));
        None
    }

    /// Records the GenAI field or usage count an attribute carries, if any.
    fn scalar(&mut self, kv: &KeyValue) {
        let value = &kv.value;
        let cut = &mut self.truncated;
        let g = &mut self.gen_ai;
        let u = &mut self.usage;
        match kv.key.as_str() {
            "gen_ai.operation.name" => g.operation = text(value, cut),
            "gen_ai.provider.name" => g.provider = text(value, cut),
            "gen_ai.system" if g.provider.is_none() => g.provider = text(value, cut),
            "gen_ai.request.model" => g.request_model = text(value, cut),
            "gen_ai.response.model" => g.response_model = text(value, cut),
            "gen_ai.agent.name" => g.agent = text(value, cut),
            "gen_ai.tool.name" => g.tool = text(value, cut),
            "gen_ai.conversation.id" => g.conversation_id = text(value, cut),
            "session.id" => self.session_id = text(value, cut),
            "user.id" => self.user_id = text(value, cut),
            "error.type" => self.error_type = text(value, cut),
            "http.response.status_code" | "http.status_code" => {
                self.http_status = count(value).and_then(|n| u16::try_from(n).ok())
            }
            "gen_ai.usage.input_tokens" => u.input = count(value),
            "gen_ai.usage.prompt_tokens" => u.prompt = count(value),
            "gen_ai.usage.output_tokens" => u.output = count(value),
            "gen_ai.usage.completion_tokens" => u.completion = count(value),
            "gen_ai.usage.cache_read.input_tokens" | "gen_ai.usage.cache_read_input_tokens" => {
                u.cache_read = count(value)
            }
            "gen_ai.usage.cache_write.input_tokens" => u.cache_write = count(value),
            "gen_ai.usage.cache_creation.input_tokens"
            | "gen_ai.usage.cache_creation_input_tokens" => {
                u.cache_write = u.cache_write.or(count(value))
            }
            "gen_ai.usage.reasoning.output_tokens" | "gen_ai.usage.reasoning_tokens" => {
                u.reasoning = count(value)
            }
            _ => {}
        }
    }

    /// `gen_ai.prompt.0.content` and the like (OpenLLMetry): kept as messages, not attributes.
    fn flattened(&mut self, kv: KeyValue) -> Option<KeyValue> {
        let (side, rest) = if let Some(rest) = kv.key.strip_prefix("gen_ai.prompt.") {
            (Side::Input, rest)
        } else if let Some(rest) = kv.key.strip_prefix("gen_ai.completion.") {
            (Side::Output, rest)
        } else {
            return Some(kv);
        };
        let Some((index, field)) = rest
            .split_once('.')
            .and_then(|(i, f)| Some((i.parse::<usize>().ok()?, f)))
        else {
            return Some(kv);
        };
        // Bounded: a hostile index cannot make the map large, only the attribute count can.
        let field = field.to_string();
        let value = kv.value.map_or(Value::Null, to_json);
        let messages = match side {
            Side::Input => &mut self.flat_input,
            Side::Output => &mut self.flat_output,
        };
        let at = match messages.binary_search_by_key(&index, |(i, _)| *i) {
            Ok(at) => at,
            Err(at) => {
                messages.insert(at, (index, Map::new()));
                at
            }
        };
        messages[at].1.insert(field, value);
        None
    }

    /// Reads one span event: a GenAI message event is kept as a message and not given back.
    pub fn event(&mut self, event: Event) -> Option<Event> {
        let role = match event.name.as_str() {
            "gen_ai.system.message" => "system",
            "gen_ai.user.message" => "user",
            "gen_ai.assistant.message" => "assistant",
            "gen_ai.tool.message" => "tool",
            "gen_ai.choice" => "assistant",
            "gen_ai.content.prompt" | "gen_ai.content.completion" => {
                let (key, side) = if event.name == "gen_ai.content.prompt" {
                    ("gen_ai.prompt", Side::Input)
                } else {
                    ("gen_ai.completion", Side::Output)
                };
                let found = event.attributes.into_iter().find(|kv| kv.key == key);
                if let Some(kv) = found {
                    let messages = to_messages(parse(kv.value), side);
                    match side {
                        Side::Input => self.event_input.extend(messages),
                        Side::Output => self.event_output.extend(messages),
                    }
                }
                return None;
            }
            _ => return Some(event),
        };
        let mut message = Map::new();
        for kv in event.attributes {
            let key = kv
                .key
                .strip_prefix("message.")
                .unwrap_or(&kv.key)
                .to_string();
            let value = match kv.value {
                // Tool calls and the like often arrive as JSON text; content stays text.
                Some(AnyValue {
                    value: Some(Any::String(s)),
                }) if key != "content" && s.starts_with(['[', '{']) => {
                    serde_json::from_str(&s).unwrap_or(Value::String(s))
                }
                other => other.map_or(Value::Null, to_json),
            };
            message.insert(key, value);
        }
        message
            .entry("role")
            .or_insert_with(|| Value::String(role.to_string()));
        let message = normalize_message(Value::Object(message), role);
        if event.name == "gen_ai.choice" {
            self.event_output.push(message);
        } else {
            self.event_input.push(message);
        }
        None
    }

    /// The token buckets, if the span reported usage.
    pub fn usage_tokens(&self) -> Option<Tokens> {
        self.usage.tokens()
    }

    /// Whether the span reports a token count no call can have (more than [`MAX_TOKENS`]).
    pub fn usage_implausible(&self) -> bool {
        self.usage.implausible()
    }

    /// The conversation as two JSON arrays (input with any system instructions first, output),
    /// cut to [`MAX_MESSAGE_BYTES`] together; and whether anything was cut.
    pub fn messages(&mut self) -> (Option<String>, Option<String>, bool) {
        let mut input = match self.input.take() {
            Some(v) => to_messages(v, Side::Input),
            None if !self.flat_input.is_empty() => flat(&mut self.flat_input, "user"),
            None => std::mem::take(&mut self.event_input),
        };
        if let Some(system) = self.system.take() {
            let parts = match system {
                Value::Array(parts) => Value::Array(parts),
                Value::Null => Value::Array(Vec::new()),
                other => parts(other),
            };
            input.insert(0, role_message("system", parts));
        }
        let mut output = match self.output.take() {
            Some(v) => to_messages(v, Side::Output),
            None if !self.flat_output.is_empty() => flat(&mut self.flat_output, "assistant"),
            None => std::mem::take(&mut self.event_output),
        };
        // Share the budget so neither side starves the other: each gets at least half, and
        // whatever one side does not use goes to the other.
        let size = |messages: &[Value]| messages.iter().map(cost).sum::<usize>();
        let (in_size, out_size) = (size(&input), size(&output));
        let half = MAX_MESSAGE_BYTES / 2;
        let mut in_budget = in_size.min(half.max(MAX_MESSAGE_BYTES.saturating_sub(out_size)));
        let mut out_budget = MAX_MESSAGE_BYTES - in_budget;
        let mut cut = false;
        let mut finish = |messages: &mut Vec<Value>, budget: &mut usize| {
            if messages.is_empty() {
                return None;
            }
            let mut value = Value::Array(std::mem::take(messages));
            cut |= bound(&mut value, budget);
            Some(value.to_string())
        };
        let input = finish(&mut input, &mut in_budget);
        let output = finish(&mut output, &mut out_budget);
        (input, output, cut)
    }
}

/// A message attribute's value: a JSON string is parsed (plain text stays text); a structured
/// value is converted.
fn parse(value: Option<AnyValue>) -> Value {
    match value {
        Some(AnyValue {
            value: Some(Any::String(s)),
        }) => serde_json::from_str(&s).unwrap_or(Value::String(s)),
        other => other.map_or(Value::Null, to_json),
    }
}

fn to_messages(value: Value, side: Side) -> Vec<Value> {
    let role = match side {
        Side::Input => "user",
        Side::Output => "assistant",
    };
    match value {
        Value::Null => Vec::new(),
        Value::Array(items) => items
            .into_iter()
            .map(|m| normalize_message(m, role))
            .collect(),
        other => vec![normalize_message(other, role)],
    }
}

/// A message with a `role` and `parts`; the older `content` field becomes the parts.
fn normalize_message(message: Value, role: &str) -> Value {
    match message {
        Value::Object(mut m) => {
            if !m.contains_key("role") {
                m.insert("role".into(), Value::String(role.into()));
            }
            if !m.contains_key("parts") {
                if let Some(content) = m.remove("content") {
                    m.insert("parts".into(), parts(content));
                }
            }
            Value::Object(m)
        }
        other => role_message(role, parts(other)),
    }
}

/// Message content as parts: text becomes one text part, a list is taken as parts already.
fn parts(content: Value) -> Value {
    let text = match content {
        Value::Array(items) => return Value::Array(items),
        Value::Null => return Value::Array(Vec::new()),
        Value::String(s) => s,
        other => other.to_string(),
    };
    let mut part = Map::new();
    part.insert("type".into(), Value::String("text".into()));
    part.insert("content".into(), Value::String(text));
    Value::Array(vec![Value::Object(part)])
}

/// `{"role": role, "parts": parts}`.
fn role_message(role: &str, parts: Value) -> Value {
    let mut m = Map::new();
    m.insert("role".into(), Value::String(role.into()));
    m.insert("parts".into(), parts);
    Value::Object(m)
}

fn flat(messages: &mut Vec<(usize, Map<String, Value>)>, role: &str) -> Vec<Value> {
    std::mem::take(messages)
        .into_iter()
        .map(|(_, m)| normalize_message(Value::Object(m), role))
        .collect()
}
