//! Workflow definitions: a list of `llm` and `http` steps, validated when saved so every mistake
//! comes back as a 422 naming the step and field (`steps[1].model`), and stored in a normalised
//! JSON form that the engine reads back.

use serde_json::{json, Map, Value};

use super::fields::FieldError;
use super::ids::parse_uuid;
use super::template::{Ref, Template};
use super::upstream::check_url;

pub const MAX_STEPS: usize = 50;
const MAX_PROMPT: usize = 100_000;
const HTTP_METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub id: String,
    pub kind: StepKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StepKind {
    Llm(LlmStep),
    Http(HttpStep),
}

#[derive(Debug, Clone, PartialEq)]
pub struct LlmStep {
    pub agent: String,
    pub key_id: String,
    pub model: String,
    pub prompt: Template,
    pub system: Option<Template>,
    pub max_tokens: Option<u32>,
    source: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HttpStep {
    pub method: String,
    pub url: Template,
    pub headers: Vec<(String, Template)>,
    pub body: Option<Template>,
    source: Value,
}

impl Step {
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            StepKind::Llm(_) => "llm",
            StepKind::Http(_) => "http",
        }
    }

    pub fn agent(&self) -> Option<&str> {
        match &self.kind {
            StepKind::Llm(s) => Some(&s.agent),
            StepKind::Http(_) => None,
        }
    }

    /// The normalised definition, as stored and returned.
    pub fn to_json(&self) -> Value {
        let mut obj = match &self.kind {
            StepKind::Llm(s) => s.source.clone(),
            StepKind::Http(s) => s.source.clone(),
        };
        if let Value::Object(map) = &mut obj {
            map.insert("id".into(), json!(self.id));
            map.insert("kind".into(), json!(self.kind_name()));
        }
        obj
    }
}

/// Reads one step's fields, recording errors under `steps[i].<field>`.
struct StepReader<'a> {
    obj: &'a Map<String, Value>,
    prefix: String,
    errors: &'a mut Vec<FieldError>,
}

impl StepReader<'_> {
    fn error(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(
            &format!("{}.{field}", self.prefix),
            message,
        ));
    }

    fn string(&mut self, field: &str, max: usize, required: bool) -> Option<String> {
        match self.obj.get(field) {
            None | Some(Value::Null) => {
                if required {
                    self.error(field, "is required");
                }
                None
            }
            Some(Value::String(s)) if s.trim().is_empty() => {
                self.error(field, "must not be empty");
                None
            }
            Some(Value::String(s)) if s.chars().count() > max => {
                self.error(field, format!("must be at most {max} characters"));
                None
            }
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                self.error(field, "must be a string");
                None
            }
        }
    }

    fn template(&mut self, field: &str, max: usize, required: bool) -> Option<Template> {
        let raw = self.string(field, max, required)?;
        Template::parse(&raw).map_err(|m| self.error(field, m)).ok()
    }
}

/// Parses and checks `steps`. `key_id`s are only checked to be UUIDs here; whether the team has
/// them is the caller's question.
pub fn parse_steps(
    value: Option<&Value>,
    allow_private: bool,
) -> Result<Vec<Step>, Vec<FieldError>> {
    let mut errors = Vec::new();
    let items = match value {
        Some(Value::Array(items)) if items.is_empty() => {
            return Err(vec![FieldError::new(
                "steps",
                "must have at least one step",
            )])
        }
        Some(Value::Array(items)) if items.len() > MAX_STEPS => {
            return Err(vec![FieldError::new(
                "steps",
                format!("may have at most {MAX_STEPS} steps"),
            )])
        }
        Some(Value::Array(items)) => items,
        None | Some(Value::Null) => return Err(vec![FieldError::new("steps", "is required")]),
        Some(_) => return Err(vec![FieldError::new("steps", "must be a list of steps")]),
    };
    let mut steps: Vec<Step> = Vec::new();
    // Ids of every earlier step, valid or not, so one mistake is not reported twice.
    let mut seen: Vec<String> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let prefix = format!("steps[{i}]");
        let Value::Object(obj) = item else {
            errors.push(FieldError::new(&prefix, "must be an object"));
            continue;
        };
        let mut r = StepReader {
            obj,
            prefix,
            errors: &mut errors,
        };
        let id = r.string("id", 64, true);
        if let Some(id) = &id {
            if !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                r.error("id", "may use only letters, digits, '_' and '-'");
            } else if seen.contains(id) {
                r.error("id", format!("'{id}' is already the id of an earlier step"));
            }
        }
        let kind = match r.string("kind", 16, true).as_deref() {
            Some("llm") => parse_llm(&mut r),
            Some("http") => parse_http(&mut r, allow_private),
            Some(_) => {
                r.error("kind", "must be llm or http");
                None
            }
            None => None,
        };
        if let Some(kind) = &kind {
            check_refs(&mut r, kind, &seen);
        }
        seen.extend(id.clone());
        if let (Some(id), Some(kind)) = (id, kind) {
            steps.push(Step { id, kind });
        }
    }
    if errors.is_empty() {
        Ok(steps)
    } else {
        Err(errors)
    }
}

fn parse_llm(r: &mut StepReader) -> Option<StepKind> {
    let agent = r.string("agent", 100, true);
    let key_id = r.string("key_id", 64, true);
    let key_id = key_id.and_then(|k| {
        parse_uuid(&k).or_else(|| {
            r.error(
                "key_id",
                "must be the id of one of the team's provider keys",
            );
            None
        })
    });
    let model = r.string("model", 200, true);
    let prompt = r.template("prompt", MAX_PROMPT, true);
    let system = r.template("system", MAX_PROMPT, false);
    let max_tokens = match r.obj.get("max_tokens") {
        None | Some(Value::Null) => Some(None),
        Some(v) => match v.as_u64() {
            Some(n) if (1..=1_000_000).contains(&n) => Some(Some(n as u32)),
            _ => {
                r.error("max_tokens", "must be a whole number from 1 to 1000000");
                None
            }
        },
    };
    let (agent, key_id, model, prompt, max_tokens) =
        (agent?, key_id?, model?, prompt?, max_tokens?);
    let mut source =
        json!({"agent": agent, "key_id": key_id, "model": model, "prompt": r.obj.get("prompt")});
    if let Some(s) = r.obj.get("system").filter(|v| !v.is_null()) {
        source["system"] = s.clone();
    }
    if let Some(n) = max_tokens {
        source["max_tokens"] = json!(n);
    }
    Some(StepKind::Llm(LlmStep {
        agent,
        key_id,
        model,
        prompt,
        system,
        max_tokens,
        source,
    }))
}

fn parse_http(r: &mut StepReader, allow_private: bool) -> Option<StepKind> {
    let method = r.string("method", 10, true).map(|m| m.to_ascii_uppercase());
    let method = method.filter(|m| {
        let ok = HTTP_METHODS.contains(&m.as_str());
        if !ok {
            r.error("method", "must be one of GET, POST, PUT, PATCH, DELETE");
        }
        ok
    });
    let url = r.template("url", 4096, true);
    if let Some(url) = &url {
        // A URL with no references can be checked now; templated ones are checked when rendered.
        if !url.has_refs() {
            let raw = r.obj.get("url").and_then(Value::as_str).unwrap_or_default();
            if let Err(m) = check_url(raw, allow_private) {
                r.error("url", m);
            }
        }
    }
    let headers = match r.obj.get("headers") {
        None | Some(Value::Null) => Some(Vec::new()),
        Some(Value::Object(map)) => {
            let mut headers = Vec::new();
            for (name, value) in map {
                match value.as_str().map(Template::parse) {
                    Some(Ok(t)) => headers.push((name.clone(), t)),
                    Some(Err(m)) => r.error(&format!("headers.{name}"), m),
                    None => r.error(&format!("headers.{name}"), "must be a string"),
                }
            }
            Some(headers)
        }
        Some(_) => {
            r.error("headers", "must be an object of strings");
            None
        }
    };
    let body = match r.obj.get("body") {
        None | Some(Value::Null) => Some(None),
        Some(Value::String(_)) => r.template("body", 1_000_000, false).map(Some),
        // A JSON body is sent as JSON text; references inside its strings still apply.
        Some(other) => Template::parse(&other.to_string())
            .map(Some)
            .map_err(|m| r.error("body", m))
            .ok(),
    };
    let (method, url, headers, body) = (method?, url?, headers?, body?);
    let mut source = json!({"method": method, "url": r.obj.get("url")});
    for field in ["headers", "body"] {
        if let Some(v) = r.obj.get(field).filter(|v| !v.is_null()) {
            source[field] = v.clone();
        }
    }
    Some(StepKind::Http(HttpStep {
        method,
        url,
        headers,
        body,
        source,
    }))
}

/// `{{steps.X.output}}` must name an earlier step.
fn check_refs(r: &mut StepReader, kind: &StepKind, earlier: &[String]) {
    let templates: Vec<(&str, &Template)> = match kind {
        StepKind::Llm(s) => [("prompt", Some(&s.prompt)), ("system", s.system.as_ref())]
            .into_iter()
            .filter_map(|(f, t)| t.map(|t| (f, t)))
            .collect(),
        StepKind::Http(s) => {
            let mut all = vec![("url", &s.url)];
            all.extend(s.headers.iter().map(|(_, t)| ("headers", t)));
            all.extend(s.body.iter().map(|t| ("body", t)));
            all
        }
    };
    for (field, template) in templates {
        for reference in template.refs() {
            if let Ref::StepOutput(id) = reference {
                if !earlier.contains(id) {
                    r.error(
                        field,
                        format!("refers to step '{id}', which is not an earlier step"),
                    );
                }
            }
        }
    }
}

/// The key ids a workflow's steps use, for the caller to check against the team's keys.
pub fn key_ids(steps: &[Step]) -> Vec<(usize, &str)> {
    steps
        .iter()
        .enumerate()
        .filter_map(|(i, s)| match &s.kind {
            StepKind::Llm(l) => Some((i, l.key_id.as_str())),
            StepKind::Http(_) => None,
        })
        .collect()
}

/// What a stored http-step header value shows in place of itself: its value is a secret.
pub const REDACTED: &str = "<redacted>";
/// How a stored header value says it is sealed by the vault (the envelope follows).
pub const SEALED_PREFIX: &str = "sealed:";

/// Every http step's header values in a definition (a JSON array of steps), with the step's id
/// and the header's name, for sealing, opening or redacting in place.
pub fn header_values(steps: &mut Value) -> Vec<(String, String, &mut Value)> {
    let Some(steps) = steps.as_array_mut() else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for step in steps {
        let id = step["id"].as_str().unwrap_or_default().to_string();
        if let Some(Value::Object(headers)) = step.get_mut("headers") {
            for (name, value) in headers.iter_mut() {
                found.push((id.clone(), name.clone(), value));
            }
        }
    }
    found
}

/// A definition as readers see it: every header value `"<redacted>"`.
pub fn redact_headers(steps: &mut Value) {
    for (_, _, value) in header_values(steps) {
        *value = json!(REDACTED);
    }
}

/// The stored value of step `step_id`'s header `name` in a stored definition, if it has one.
pub fn stored_header<'a>(steps: &'a Value, step_id: &str, name: &str) -> Option<&'a str> {
    steps
        .as_array()?
        .iter()
        .find(|s| s["id"] == step_id)?
        .get("headers")?
        .get(name)?
        .as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0190a5b0-0000-7000-8000-000000000001";

    fn two_steps() -> Value {
        json!([
            {"id": "draft", "kind": "llm", "agent": "writer", "key_id": KEY, "model": "gpt-4o-mini",
             "prompt": "Write about {{input.topic}}", "max_tokens": 200},
            {"id": "post", "kind": "http", "method": "post", "url": "https://hooks.example.com/in",
             "headers": {"x-token": "abc"}, "body": {"text": "{{steps.draft.output}}"}}
        ])
    }

    #[test]
    fn a_valid_two_step_workflow_parses_and_normalises() {
        let steps = parse_steps(Some(&two_steps()), false).unwrap();
        assert_eq!(steps.len(), 2);
        assert_eq!(steps[0].agent(), Some("writer"));
        let http = steps[1].to_json();
        assert_eq!(
            (http["kind"].as_str(), http["method"].as_str()),
            (Some("http"), Some("POST"))
        );
        assert_eq!(key_ids(&steps), [(0, KEY)]);
    }

    fn fields_of(errors: Vec<FieldError>) -> Vec<String> {
        errors.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn errors_name_the_step_and_field() {
        let steps = json!([
            {"id": "a", "kind": "llm", "agent": "w", "key_id": "nope", "prompt": "hi", "max_tokens": 0},
            {"id": "a", "kind": "ftp"},
            {"id": "c d", "kind": "http", "method": "TRACE", "url": "http://10.0.0.1/x"},
            {"id": "e", "kind": "llm", "agent": "w", "key_id": KEY, "model": "m", "prompt": "{{steps.zzz.output}}"},
            "not an object"
        ]);
        let fields = fields_of(parse_steps(Some(&steps), false).unwrap_err());
        for expected in [
            "steps[0].key_id",
            "steps[0].model",
            "steps[0].max_tokens",
            "steps[1].id",
            "steps[1].kind",
            "steps[2].id",
            "steps[2].method",
            "steps[2].url",
            "steps[3].prompt",
            "steps[4]",
        ] {
            assert!(
                fields.iter().any(|f| f == expected),
                "{expected} missing from {fields:?}"
            );
        }
    }

    #[test]
    fn steps_must_be_a_non_empty_bounded_list() {
        assert_eq!(fields_of(parse_steps(None, false).unwrap_err()), ["steps"]);
        assert_eq!(
            fields_of(parse_steps(Some(&json!([])), false).unwrap_err()),
            ["steps"]
        );
        assert_eq!(
            fields_of(parse_steps(Some(&json!("x")), false).unwrap_err()),
            ["steps"]
        );
        let many = Value::Array((0..51).map(|i| json!({"id": format!("s{i}")})).collect());
        assert_eq!(
            fields_of(parse_steps(Some(&many), false).unwrap_err()),
            ["steps"]
        );
    }

    #[test]
    fn templated_urls_are_checked_later_and_private_ones_pass_when_allowed() {
        let steps = json!([{"id": "a", "kind": "http", "method": "GET", "url": "{{input.url}}"}]);
        assert!(parse_steps(Some(&steps), false).is_ok());
        let steps =
            json!([{"id": "a", "kind": "http", "method": "GET", "url": "http://127.0.0.1:9/x"}]);
        assert!(parse_steps(Some(&steps), true).is_ok());
        assert!(parse_steps(Some(&steps), false).is_err());
    }

    #[test]
    fn header_values_are_found_redacted_and_looked_up_by_step_and_name() {
        let mut steps = json!([
            {"id": "a", "kind": "llm", "prompt": "x"},
            {"id": "b", "kind": "http", "url": "https://x.example", "headers": {"authorization": "Bearer s3cret", "x-n": "1"}}
        ]);
        assert_eq!(
            stored_header(&steps, "b", "authorization"),
            Some("Bearer s3cret")
        );
        assert_eq!(stored_header(&steps, "a", "authorization"), None);
        assert_eq!(header_values(&mut steps).len(), 2);
        redact_headers(&mut steps);
        assert_eq!(
            steps[1]["headers"],
            json!({"authorization": REDACTED, "x-n": REDACTED})
        );
        assert_eq!(steps[0], json!({"id": "a", "kind": "llm", "prompt": "x"}));
    }
}
