//! Attribute values as JSON, and the per-span limits that keep what is stored bounded.
//!
//! Values are converted by move (strings are not copied) and then cut in place: [`bound`] walks
//! a JSON value with a byte budget, shortening strings on a character boundary and dropping the
//! array items and object members that no longer fit. Every scalar costs at least a few bytes of
//! the budget, so an attribute holding a million small integers is cut too.

use base64::Engine;
use serde_json::{Map, Number, Value};

use super::proto::{AnyValue, KeyValue, Value as Any};

/// Attributes kept per span (and per event); the rest are dropped.
pub const MAX_ATTRIBUTES: usize = 256;
/// Bytes per attribute value, strings inside arrays and maps included.
pub const MAX_VALUE_BYTES: usize = 16 * 1024;
/// Bytes of message content per span (input, output and system instructions together).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// Events kept per span.
pub const MAX_EVENTS: usize = 128;
/// Bytes of a name, key or short text field (span name, model, agent, service...).
pub const MAX_NAME_BYTES: usize = 1024;

/// What a number, boolean or null costs of a budget.
const SCALAR_COST: usize = 8;

/// An `AnyValue` as JSON: bytes become base64, a non-finite double `null`, an empty value `null`.
pub fn to_json(value: AnyValue) -> Value {
    match value.value {
        None => Value::Null,
        Some(Any::String(s)) => Value::String(s),
        Some(Any::Bool(b)) => Value::Bool(b),
        Some(Any::Int(n)) => Value::Number(n.into()),
        Some(Any::Double(f)) => Number::from_f64(f).map_or(Value::Null, Value::Number),
        Some(Any::Array(a)) => Value::Array(a.values.into_iter().map(to_json).collect()),
        Some(Any::Kvlist(l)) => {
            // Inserted one by one: collecting would sort first, and link a sort for nothing.
            let mut members = Map::new();
            for kv in l.values {
                members.insert(kv.key, kv.value.map_or(Value::Null, to_json));
            }
            Value::Object(members)
        }
        Some(Any::Bytes(b)) => Value::String(base64::engine::general_purpose::STANDARD.encode(b)),
    }
}

/// Cuts `value` in place to fit `budget` bytes of strings (keys included); answers whether
/// anything was cut. The budget left is written back.
pub fn bound(value: &mut Value, budget: &mut usize) -> bool {
    match value {
        Value::String(s) => {
            let cut = cut(s, *budget);
            *budget -= s.len();
            cut
        }
        Value::Array(items) => {
            let mut cut = false;
            let mut keep = items.len();
            for (i, item) in items.iter_mut().enumerate() {
                if *budget == 0 {
                    keep = i;
                    cut = true;
                    break;
                }
                cut |= bound(item, budget);
            }
            items.truncate(keep);
            cut
        }
        Value::Object(members) => {
            // Small members first (a message's `role`, a part's `type`), so a long text cannot
            // crowd out the fields that give it meaning; then the rest, in key order.
            let mut cut = false;
            for small_pass in [true, false] {
                members.retain(|key, member| {
                    if is_small(member) != small_pass {
                        return true;
                    }
                    if *budget < key.len() {
                        cut = true;
                        *budget = 0;
                        return false;
                    }
                    *budget -= key.len();
                    cut |= bound(member, budget);
                    true
                });
            }
            cut
        }
        _ => {
            *budget = budget.saturating_sub(SCALAR_COST);
            false
        }
    }
}

/// What [`bound`] counts of a value whole: its strings and keys, and [`SCALAR_COST`] a scalar.
pub fn cost(value: &Value) -> usize {
    match value {
        Value::String(s) => s.len(),
        Value::Array(items) => items.iter().map(cost).sum(),
        Value::Object(m) => m.iter().map(|(k, v)| k.len() + cost(v)).sum(),
        _ => SCALAR_COST,
    }
}

fn is_small(value: &Value) -> bool {
    match value {
        Value::String(s) => s.len() <= 256,
        Value::Array(_) | Value::Object(_) => false,
        _ => true,
    }
}

/// Shortens `s` to at most `max` bytes on a character boundary; answers whether it did.
pub fn cut(s: &mut String, max: usize) -> bool {
    if s.len() <= max {
        return false;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    true
}

/// A short text field: the string value, cut to [`MAX_NAME_BYTES`]; empty is absent.
pub fn text(value: &Option<AnyValue>, cut_any: &mut bool) -> Option<String> {
    match value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(Any::String(s)) if !s.trim().is_empty() => {
            let mut s = s.trim().to_string();
            *cut_any |= cut(&mut s, MAX_NAME_BYTES);
            Some(s)
        }
        _ => None,
    }
}

/// A token count: an integer, an integral double or a decimal string; negative counts are 0.
pub fn count(value: &Option<AnyValue>) -> Option<i64> {
    let n = match value.as_ref().and_then(|v| v.value.as_ref())? {
        Any::Int(n) => *n,
        Any::Double(f) if f.is_finite() => *f as i64,
        Any::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    Some(n.max(0))
}

/// Collects attributes into a JSON object: at most [`MAX_ATTRIBUTES`] members, each value cut to
/// [`MAX_VALUE_BYTES`] and each key to [`MAX_NAME_BYTES`].
#[derive(Debug, Default)]
pub struct Attributes {
    pub members: Map<String, Value>,
    pub truncated: bool,
}

impl Attributes {
    pub fn push(&mut self, kv: KeyValue) {
        if self.members.len() >= MAX_ATTRIBUTES {
            self.truncated = true;
            return;
        }
        let KeyValue { mut key, value } = kv;
        self.truncated |= cut(&mut key, MAX_NAME_BYTES);
        let mut value = value.map_or(Value::Null, to_json);
        let mut budget = MAX_VALUE_BYTES;
        self.truncated |= bound(&mut value, &mut budget);
        self.members.insert(key, value);
    }

    pub fn collect(attributes: Vec<KeyValue>) -> Attributes {
        let mut out = Attributes::default();
        for kv in attributes {
            out.push(kv);
        }
        out
    }
}
