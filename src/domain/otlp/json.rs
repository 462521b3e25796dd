//! OTLP/JSON, read into the same messages as protobuf ([`super::proto`]): field names in
//! lowerCamelCase as the OTLP/JSON encoding says (snake_case is accepted too), trace and span ids
//! as hex (base64, as some old exporters sent them, is accepted when it cannot be hex), enums as
//! integers (or their names), 64-bit integers as numbers or strings, `bytesValue` as base64.
//! Unknown fields are ignored. A value of the wrong shape is a decoding error, except an id that
//! does not decode: that span alone is refused later, as the spec wants.

use base64::Engine;
use serde_json::{Map, Value};

use super::proto::{
    AnyValue, ArrayValue, Event, ExportTraceServiceRequest, InstrumentationScope, KeyValue,
    KeyValueList, Resource, ResourceSpans, ScopeSpans, Span, Status, Value as Any,
};
use super::DecodeError;

type Object = Map<String, Value>;

/// Reads an OTLP/JSON `ExportTraceServiceRequest`.
pub fn decode(body: &[u8]) -> Result<ExportTraceServiceRequest, DecodeError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| DecodeError(format!("the body is not valid JSON: {e}")))?;
    let mut root = object(value, "the request")?;
    Ok(ExportTraceServiceRequest {
        resource_spans: list(&mut root, "resourceSpans", "resource_spans", resource_spans)?,
    })
}

fn resource_spans(value: Value) -> Result<ResourceSpans, DecodeError> {
    let mut obj = object(value, "resourceSpans[]")?;
    let resource = match take(&mut obj, "resource", "resource") {
        Some(v) => {
            let mut r = object(v, "resource")?;
            Some(Resource {
                attributes: list(&mut r, "attributes", "attributes", key_value)?,
            })
        }
        None => None,
    };
    Ok(ResourceSpans {
        resource,
        scope_spans: list(&mut obj, "scopeSpans", "scope_spans", scope_spans)?,
    })
}

fn scope_spans(value: Value) -> Result<ScopeSpans, DecodeError> {
    let mut obj = object(value, "scopeSpans[]")?;
    let scope = match take(&mut obj, "scope", "scope") {
        Some(v) => {
            let mut s = object(v, "scope")?;
            Some(InstrumentationScope {
                name: string(&mut s, "name", "name", "scope.name")?,
            })
        }
        None => None,
    };
    Ok(ScopeSpans {
        scope,
        spans: list(&mut obj, "spans", "spans", span)?,
    })
}

fn span(value: Value) -> Result<Span, DecodeError> {
    let mut obj = object(value, "spans[]")?;
    let status = match take(&mut obj, "status", "status") {
        Some(v) => {
            let mut s = object(v, "status")?;
            Some(Status {
                message: string(&mut s, "message", "message", "status.message")?,
                code: enumeration(&mut s, "code", "code", "status.code", status_code)?,
            })
        }
        None => None,
    };
    Ok(Span {
        trace_id: id(&mut obj, "traceId", "trace_id", 16)?,
        span_id: id(&mut obj, "spanId", "span_id", 8)?,
        parent_span_id: id(&mut obj, "parentSpanId", "parent_span_id", 8)?,
        name: string(&mut obj, "name", "name", "span name")?,
        kind: enumeration(&mut obj, "kind", "kind", "span kind", span_kind)?,
        start_time_unix_nano: nanos(&mut obj, "startTimeUnixNano", "start_time_unix_nano")?,
        end_time_unix_nano: nanos(&mut obj, "endTimeUnixNano", "end_time_unix_nano")?,
        attributes: list(&mut obj, "attributes", "attributes", key_value)?,
        events: list(&mut obj, "events", "events", event)?,
        status,
    })
}

fn event(value: Value) -> Result<Event, DecodeError> {
    let mut obj = object(value, "events[]")?;
    Ok(Event {
        time_unix_nano: nanos(&mut obj, "timeUnixNano", "time_unix_nano")?,
        name: string(&mut obj, "name", "name", "event name")?,
        attributes: list(&mut obj, "attributes", "attributes", key_value)?,
    })
}

fn key_value(value: Value) -> Result<KeyValue, DecodeError> {
    let mut obj = object(value, "attributes[]")?;
    let key = string(&mut obj, "key", "key", "attribute key")?;
    let value = take(&mut obj, "value", "value")
        .map(any_value)
        .transpose()?;
    Ok(KeyValue { key, value })
}

/// An `AnyValue`: an object with at most one of the value fields; `{}` is an empty value.
fn any_value(value: Value) -> Result<AnyValue, DecodeError> {
    let mut obj = object(value, "an attribute value")?;
    let bad = |kind: &str| DecodeError(format!("{kind} has the wrong type"));
    let value = if let Some(v) = take(&mut obj, "stringValue", "string_value") {
        match v {
            Value::String(s) => Some(Any::String(s)),
            _ => return Err(bad("stringValue")),
        }
    } else if let Some(v) = take(&mut obj, "boolValue", "bool_value") {
        Some(Any::Bool(v.as_bool().ok_or_else(|| bad("boolValue"))?))
    } else if let Some(v) = take(&mut obj, "intValue", "int_value") {
        Some(Any::Int(int64(&v).ok_or_else(|| bad("intValue"))?))
    } else if let Some(v) = take(&mut obj, "doubleValue", "double_value") {
        Some(Any::Double(double(&v).ok_or_else(|| bad("doubleValue"))?))
    } else if let Some(v) = take(&mut obj, "arrayValue", "array_value") {
        let mut a = object(v, "arrayValue")?;
        Some(Any::Array(ArrayValue {
            values: list(&mut a, "values", "values", any_value)?,
        }))
    } else if let Some(v) = take(&mut obj, "kvlistValue", "kvlist_value") {
        let mut l = object(v, "kvlistValue")?;
        Some(Any::Kvlist(KeyValueList {
            values: list(&mut l, "values", "values", key_value)?,
        }))
    } else if let Some(v) = take(&mut obj, "bytesValue", "bytes_value") {
        let bytes = v
            .as_str()
            .and_then(base64)
            .ok_or_else(|| bad("bytesValue"))?;
        Some(Any::Bytes(bytes))
    } else {
        None
    };
    Ok(AnyValue { value })
}

fn object(value: Value, what: &str) -> Result<Object, DecodeError> {
    match value {
        Value::Object(obj) => Ok(obj),
        _ => Err(DecodeError(format!("{what} must be a JSON object"))),
    }
}

/// Removes a field by either of its names; `null` counts as absent.
fn take(obj: &mut Object, camel: &str, snake: &str) -> Option<Value> {
    let found = match obj.remove(camel) {
        Some(v) => Some(v),
        None if camel != snake => obj.remove(snake),
        None => None,
    };
    found.filter(|v| !v.is_null())
}

fn list<T>(
    obj: &mut Object,
    camel: &str,
    snake: &str,
    read: fn(Value) -> Result<T, DecodeError>,
) -> Result<Vec<T>, DecodeError> {
    match take(obj, camel, snake) {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items.into_iter().map(read).collect(),
        Some(_) => Err(DecodeError(format!("{camel} must be an array"))),
    }
}

fn string(obj: &mut Object, camel: &str, snake: &str, what: &str) -> Result<String, DecodeError> {
    match take(obj, camel, snake) {
        None => Ok(String::new()),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(DecodeError(format!("{what} must be a string"))),
    }
}

/// An enum as its number or, leniently, its name (`SPAN_KIND_SERVER`).
fn enumeration(
    obj: &mut Object,
    camel: &str,
    snake: &str,
    what: &str,
    by_name: fn(&str) -> Option<i32>,
) -> Result<i32, DecodeError> {
    let Some(v) = take(obj, camel, snake) else {
        return Ok(0);
    };
    let number = match &v {
        Value::String(s) => by_name(s),
        _ => int64(&v).and_then(|n| i32::try_from(n).ok()),
    };
    number.ok_or_else(|| DecodeError(format!("{what} must be an integer enum value")))
}

fn span_kind(name: &str) -> Option<i32> {
    let names = [
        "UNSPECIFIED",
        "INTERNAL",
        "SERVER",
        "CLIENT",
        "PRODUCER",
        "CONSUMER",
    ];
    let short = name.strip_prefix("SPAN_KIND_")?;
    names.iter().position(|n| *n == short).map(|i| i as i32)
}

fn status_code(name: &str) -> Option<i32> {
    match name {
        "STATUS_CODE_UNSET" => Some(0),
        "STATUS_CODE_OK" => Some(1),
        "STATUS_CODE_ERROR" => Some(2),
        _ => None,
    }
}

/// A fixed64 time in unix nanoseconds, as a number or a decimal string.
fn nanos(obj: &mut Object, camel: &str, snake: &str) -> Result<u64, DecodeError> {
    let Some(v) = take(obj, camel, snake) else {
        return Ok(0);
    };
    let n = match &v {
        Value::String(s) => s.parse::<u64>().ok(),
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                .map(|f| f as u64)
        }),
        _ => None,
    };
    n.ok_or_else(|| DecodeError(format!("{camel} must be an unsigned integer")))
}

/// An int64 as a number (integral) or a decimal string.
fn int64(v: &Value) -> Option<i64> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.2e18)
                .map(|f| f as i64)
        }),
        _ => None,
    }
}

/// A double as a number or one of the proto3 JSON strings (`"NaN"`, `"Infinity"`, a number).
fn double(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.as_str() {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            _ => s.parse().ok(),
        },
        _ => None,
    }
}

/// A trace or span id of `len` bytes. A string that decodes neither as hex nor as base64 of the
/// right length becomes one byte, a length no id has, so the span is refused on its own.
fn id(obj: &mut Object, camel: &str, snake: &str, len: usize) -> Result<Vec<u8>, DecodeError> {
    match take(obj, camel, snake) {
        None => Ok(Vec::new()),
        Some(Value::String(s)) if s.is_empty() => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(hex(&s)
            .or_else(|| base64(&s).filter(|b| b.len() == len))
            .unwrap_or_else(|| vec![0xff])),
        Some(_) => Err(DecodeError(format!("{camel} must be a hex string"))),
    }
}

fn hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    s.as_bytes()
        .chunks_exact(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

/// Standard or URL-safe base64, padded or not (proto3 JSON accepts all of them).
fn base64(s: &str) -> Option<Vec<u8>> {
    use base64::alphabet::{STANDARD, URL_SAFE};
    use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
    use base64::engine::DecodePaddingMode;
    let config =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    let alphabet = if s.contains(['-', '_']) {
        &URL_SAFE
    } else {
        &STANDARD
    };
    GeneralPurpose::new(alphabet, config).decode(s).ok()
}
