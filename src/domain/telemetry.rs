//! Telemetry input, checked before it reaches storage: events (`track`, `batch`) and metrics.
//!
//! Each event is validated on its own so a batch can accept the good ones and report the bad ones
//! by index. Unknown fields are refused (a typo such as `timestmap` would otherwise silently drop
//! data), and timestamps must look like epoch milliseconds or RFC 3339, not too far in the future.

use serde_json::{Map, Value};

use super::fields::{FieldError, Fields};
use super::range::parse_instant;

/// Events per batch.
pub const MAX_BATCH: usize = 500;
/// Characters in a component, action or metric name.
pub const MAX_NAME: usize = 100;
/// Characters in an event id, user id or session id.
pub const MAX_ID: usize = 128;
/// Bytes of `properties` or `metadata`, as compact JSON.
pub const MAX_OBJECT_BYTES: usize = 8 * 1024;
/// How far ahead of the server's clock an event may be (client clock skew).
pub const MAX_FUTURE_MS: i64 = 10 * 60_000;
/// 2000-01-01T00:00:00Z: anything earlier is a unit mistake (seconds sent as milliseconds).
pub const MIN_TIMESTAMP_MS: i64 = 946_684_800_000;

const EVENT_FIELDS: [&str; 7] = [
    "id",
    "component",
    "action",
    "properties",
    "timestamp",
    "session_id",
    "user_id",
];
const METRIC_FIELDS: [&str; 4] = ["component", "metric_name", "value", "metadata"];

/// A valid event. `properties` is compact JSON text; `timestamp` is absent when the client gave
/// none (the server's receive time is used).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: Option<String>,
    pub component: String,
    pub action: String,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub properties: Option<String>,
    pub timestamp: Option<i64>,
}

/// A valid metric sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub component: String,
    pub name: String,
    pub value: f64,
    pub metadata: Option<String>,
}

/// A component, action or metric name: trimmed, 1 to 100 characters, no control characters.
pub fn parse_name(raw: &str) -> Result<String, &'static str> {
    let name = raw.trim();
    if name.is_empty() {
        Err("must not be empty")
    } else if name.chars().count() > MAX_NAME {
        Err("must be at most 100 characters")
    } else if name.chars().any(char::is_control) {
        Err("must not contain control characters")
    } else {
        Ok(name.to_string())
    }
}

/// Reads one event. `now_ms` bounds the timestamp.
pub fn parse_event(value: &Value, now_ms: i64) -> Result<Event, Vec<FieldError>> {
    let Some(obj) = value.as_object() else {
        return Err(vec![FieldError::new("event", "must be a JSON object")]);
    };
    let mut f = Fields::new(value)?;
    unknown_fields(obj, &EVENT_FIELDS, &mut f);
    let id = optional_id(&mut f, "id");
    let component = name(&mut f, "component");
    let action = name(&mut f, "action");
    let user_id = optional_id(&mut f, "user_id");
    let session_id = optional_id(&mut f, "session_id");
    let properties = optional_object(&mut f, obj, "properties");
    let timestamp = timestamp(&mut f, obj, now_ms);
    let (component, action, id, user_id, session_id, properties) =
        f.finish((component, action, id, user_id, session_id, properties))?;
    Ok(Event {
        id,
        component,
        action,
        user_id,
        session_id,
        properties,
        timestamp: timestamp.flatten(),
    })
}

/// Reads one metric sample.
pub fn parse_metric(value: &Value) -> Result<Metric, Vec<FieldError>> {
    let Some(obj) = value.as_object() else {
        return Err(vec![FieldError::new("body", "must be a JSON object")]);
    };
    let mut f = Fields::new(value)?;
    unknown_fields(obj, &METRIC_FIELDS, &mut f);
    let component = name(&mut f, "component");
    let metric_name = name(&mut f, "metric_name");
    let number = match obj.get("value") {
        None | Some(Value::Null) => {
            f.error("value", "is required");
            None
        }
        Some(v) => match v.as_f64().filter(|n| n.is_finite()) {
            Some(n) => Some(n),
            None => {
                f.error("value", "must be a number");
                None
            }
        },
    };
    let metadata = optional_object(&mut f, obj, "metadata");
    let (component, name, value, metadata) =
        f.finish((component, metric_name, number, metadata))?;
    Ok(Metric {
        component,
        name,
        value,
        metadata,
    })
}

/// The `events` array of a batch body: present, an array, 1 to 500 long.
pub fn batch_events(body: &Value) -> Result<&[Value], Vec<FieldError>> {
    let Some(obj) = body.as_object() else {
        return Err(vec![FieldError::new("body", "must be a JSON object")]);
    };
    let error = |m: &str| Err(vec![FieldError::new("events", m)]);
    match obj.get("events") {
        None | Some(Value::Null) => error("is required"),
        Some(Value::Array(events)) if events.is_empty() => error("must hold at least one event"),
        Some(Value::Array(events)) if events.len() > MAX_BATCH => {
            error("must hold at most 500 events; split the batch")
        }
        Some(Value::Array(events)) => Ok(events),
        Some(_) => error("must be an array of events"),
    }
}

/// One line for a rejected event: every field error, `field: message` joined by `; `.
pub fn summarize(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

fn unknown_fields(obj: &Map<String, Value>, known: &[&str], f: &mut Fields) {
    for key in obj.keys().filter(|k| !known.contains(&k.as_str())) {
        f.error(key, "is not a field of this object");
    }
}

fn name(f: &mut Fields, field: &str) -> Option<String> {
    let raw = f.text(field, MAX_NAME)?;
    parse_name(&raw).map_err(|m| f.error(field, m)).ok()
}

/// `Some(None)` when absent, so `finish` can tell "absent" from "invalid".
fn optional_id(f: &mut Fields, field: &str) -> Option<Option<String>> {
    let before = f.error_count();
    let value = f.optional_text(field, MAX_ID);
    if f.error_count() > before {
        return None;
    }
    match value {
        Some(v) if v.chars().any(char::is_control) => {
            f.error(field, "must not contain control characters");
            None
        }
        v => Some(v),
    }
}

fn optional_object(
    f: &mut Fields,
    obj: &Map<String, Value>,
    field: &str,
) -> Option<Option<String>> {
    match obj.get(field) {
        None | Some(Value::Null) => Some(None),
        Some(v @ Value::Object(_)) => {
            let text = v.to_string();
            if text.len() > MAX_OBJECT_BYTES {
                f.error(field, "must be at most 8192 bytes as JSON");
                None
            } else {
                Some(Some(text))
            }
        }
        Some(_) => {
            f.error(field, "must be an object");
            None
        }
    }
}

/// Epoch milliseconds (a JSON integer or a string of digits) or an RFC 3339 string.
fn timestamp(f: &mut Fields, obj: &Map<String, Value>, now_ms: i64) -> Option<Option<i64>> {
    let ms = match obj.get("timestamp") {
        None | Some(Value::Null) => return Some(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|x| x.fract() == 0.0).map(|x| x as i64)),
        Some(Value::String(s)) => parse_instant(s.trim()),
        Some(_) => None,
    };
    let Some(ms) = ms else {
        f.error(
            "timestamp",
            "must be epoch milliseconds or an RFC 3339 time",
        );
        return None;
    };
    if ms < MIN_TIMESTAMP_MS {
        f.error(
            "timestamp",
            "is before 2000-01-01; send epoch milliseconds, not seconds",
        );
        None
    } else if ms > now_ms + MAX_FUTURE_MS {
        f.error("timestamp", "is more than 10 minutes in the future");
        None
    } else {
        Some(Some(ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_800_000_000_000;

    fn fields_of(errors: Vec<FieldError>) -> Vec<String> {
        errors.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_full_event_is_read_and_trimmed() {
        let event = parse_event(
            &json!({"id": " e1 ", "component": " checkout ", "action": "click",
                    "properties": {"b": 1}, "timestamp": "2027-01-14T08:00:00Z",
                    "session_id": "s1", "user_id": "u1"}),
            NOW,
        )
        .unwrap();
        assert_eq!(event.id.as_deref(), Some("e1"));
        assert_eq!(event.component, "checkout");
        assert_eq!(event.properties.as_deref(), Some(r#"{"b":1}"#));
        assert_eq!(event.timestamp, Some(1_799_913_600_000));
        let bare = parse_event(&json!({"component": "c", "action": "a"}), NOW).unwrap();
        assert_eq!(
            (bare.id, bare.timestamp, bare.properties),
            (None, None, None)
        );
    }

    #[test]
    fn timestamps_accept_epoch_ms_and_refuse_seconds_and_the_far_future() {
        let at = |t: Value| {
            parse_event(
                &json!({"component": "c", "action": "a", "timestamp": t}),
                NOW,
            )
        };
        assert_eq!(at(json!(NOW)).unwrap().timestamp, Some(NOW));
        assert_eq!(at(json!(NOW as f64)).unwrap().timestamp, Some(NOW));
        assert_eq!(at(json!(NOW.to_string())).unwrap().timestamp, Some(NOW));
        assert_eq!(
            at(json!(NOW + MAX_FUTURE_MS)).unwrap().timestamp,
            Some(NOW + MAX_FUTURE_MS)
        );
        for bad in [
            json!(NOW / 1000),
            json!(NOW + MAX_FUTURE_MS + 1),
            json!(1.5),
            json!("yesterday"),
            json!(true),
            json!(-1),
        ] {
            assert_eq!(
                fields_of(at(bad.clone()).unwrap_err()),
                ["timestamp"],
                "{bad}"
            );
        }
    }

    #[test]
    fn every_bad_field_is_named() {
        let errors = parse_event(
            &json!({"component": 5, "action": "", "properties": [1], "user_id": 7,
                    "session_id": "x".repeat(129), "id": "a\u{7}b", "timestmap": 1}),
            NOW,
        )
        .unwrap_err();
        let mut named = fields_of(errors);
        named.sort();
        assert_eq!(
            named,
            [
                "action",
                "component",
                "id",
                "properties",
                "session_id",
                "timestmap",
                "user_id"
            ]
        );
        assert_eq!(
            fields_of(parse_event(&json!([1]), NOW).unwrap_err()),
            ["event"]
        );
        assert_eq!(
            fields_of(parse_event(&json!({}), NOW).unwrap_err()),
            ["component", "action"]
        );
    }

    #[test]
    fn properties_are_capped_in_bytes() {
        let big = json!({"component": "c", "action": "a", "properties": {"k": "x".repeat(MAX_OBJECT_BYTES)}});
        assert_eq!(
            fields_of(parse_event(&big, NOW).unwrap_err()),
            ["properties"]
        );
    }

    #[test]
    fn batches_hold_one_to_500_events() {
        assert!(batch_events(&json!({"events": [{}]})).is_ok());
        let too_many = json!({"events": vec![json!({}); 501]});
        for bad in [
            json!({}),
            json!({"events": []}),
            json!({"events": {}}),
            too_many,
            json!([]),
        ] {
            assert!(batch_events(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn metrics_need_a_finite_number() {
        let m = parse_metric(&json!({"component": "app", "metric_name": "load_ms", "value": 12.5, "metadata": {"p": 1}})).unwrap();
        assert_eq!((m.value, m.metadata.as_deref()), (12.5, Some(r#"{"p":1}"#)));
        let errors = parse_metric(&json!({"component": "app", "metric_name": 1, "value": "12"}))
            .unwrap_err();
        assert_eq!(fields_of(errors), ["metric_name", "value"]);
    }

    #[test]
    fn names_refuse_control_characters_and_length() {
        assert_eq!(parse_name(" nav bar "), Ok("nav bar".to_string()));
        assert!(parse_name("a\nb").is_err());
        assert!(parse_name(&"x".repeat(101)).is_err());
        assert!(parse_name("  ").is_err());
    }
}
