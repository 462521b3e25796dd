//! OTLP/JSON, read by serde straight into the protobuf messages ([`super::proto`]), so a large
//! body never becomes a `serde_json::Value` tree (a small JSON object costs ~600 bytes as one).
//!
//! As the OTLP/JSON encoding says: field names in lowerCamelCase (snake_case accepted too), trace
//! and span ids as hex (base64 of an id's length, as some old exporters sent, accepted too),
//! enums as integers (their names accepted too), 64-bit integers as numbers or strings,
//! `bytesValue` as base64, `null` as the default, unknown fields ignored. A value of the wrong
//! type is a decoding error, except an id that does not decode: that span alone is refused later.
//!
//! Each message has one hand-written `visit_map` ([`message!`]): serde's derive would also
//! generate sequence visitors, field-identifier enums and a wrapper per custom field, about twice
//! the code in the Worker.

use std::borrow::Cow;
use std::fmt;

use base64::Engine;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;

use super::proto::{
    AnyValue, ArrayValue, Event, ExportTraceServiceRequest, InstrumentationScope, KeyValue,
    KeyValueList, Resource, ResourceSpans, ScopeSpans, Span, Status, Value,
};
use super::DecodeError;

/// Reads an OTLP/JSON `ExportTraceServiceRequest`.
pub fn decode(body: &[u8]) -> Result<ExportTraceServiceRequest, DecodeError> {
    // From text, as every other JSON the Worker reads: one instance of the JSON reader in the wasm.
    let text = std::str::from_utf8(body)
        .map_err(|_| DecodeError("the body is not UTF-8 text, so not OTLP/JSON".into()))?;
    serde_json::from_str(text)
        .map_err(|e| DecodeError(format!("the body is not an OTLP/JSON request: {e}")))
}

/// `impl Deserialize` for a message: a JSON object whose members are read by name (either
/// spelling) with the reader given; unknown members are skipped.
macro_rules! message {
    ($ty:ident { $($camel:literal $(| $snake:literal)? => $field:ident: $read:ident),* $(,)? }) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<$ty, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str(concat!("an OTLP ", stringify!($ty), " object"))
                    }
                    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<$ty, A::Error> {
                        let mut out = $ty::default();
                        while let Some(Key(key)) = map.next_key()? {
                            match &*key {
                                $($camel $(| $snake)? => out.$field = $read(&mut map)?,)*
                                _ => {
                                    map.next_value::<IgnoredAny>()?;
                                }
                            }
                        }
                        Ok(out)
                    }
                }
                d.deserialize_map(V)
            }
        }
    };
}

message!(ExportTraceServiceRequest { "resourceSpans" | "resource_spans" => resource_spans: value });
message!(ResourceSpans {
    "resource" => resource: value,
    "scopeSpans" | "scope_spans" => scope_spans: value,
});
message!(Resource { "attributes" => attributes: value });
message!(ScopeSpans { "scope" => scope: value, "spans" => spans: value });
message!(InstrumentationScope { "name" => name: value });
message!(Span {
    "traceId" | "trace_id" => trace_id: id,
    "spanId" | "span_id" => span_id: id,
    "parentSpanId" | "parent_span_id" => parent_span_id: id,
    "name" => name: value,
    "kind" => kind: enumeration,
    "startTimeUnixNano" | "start_time_unix_nano" => start_time_unix_nano: nanos,
    "endTimeUnixNano" | "end_time_unix_nano" => end_time_unix_nano: nanos,
    "attributes" => attributes: value,
    "events" => events: value,
    "status" => status: value,
});
message!(Event {
    "timeUnixNano" | "time_unix_nano" => time_unix_nano: nanos,
    "name" => name: value,
    "attributes" => attributes: value,
});
message!(Status { "message" => message: value, "code" => code: enumeration });
message!(KeyValue { "key" => key: value, "value" => value: value });
message!(ArrayValue { "values" => values: value });
message!(KeyValueList { "values" => values: value });

/// `AnyValue`: the member naming its kind (`{"stringValue": ...}`); `{}` is an empty value.
impl<'de> Deserialize<'de> for AnyValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<AnyValue, D::Error> {
        d.deserialize_map(AnyValueVisitor)
    }
}

struct AnyValueVisitor;

impl<'de> Visitor<'de> for AnyValueVisitor {
    type Value = AnyValue;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an OTLP AnyValue object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AnyValue, A::Error> {
        let mut value = None;
        while let Some(Key(key)) = map.next_key()? {
            let read = match &*key {
                "stringValue" | "string_value" => map.next_value::<Option<_>>()?.map(Value::String),
                "boolValue" | "bool_value" => map.next_value::<Option<_>>()?.map(Value::Bool),
                "intValue" | "int_value" => map
                    .next_value::<Option<Scalar>>()?
                    .map(|n| {
                        int64(n)
                            .map(Value::Int)
                            .ok_or("intValue must be an integer")
                    })
                    .transpose()
                    .map_err(de::Error::custom)?,
                "doubleValue" | "double_value" => map
                    .next_value::<Option<Scalar>>()?
                    .map(|n| {
                        double(n)
                            .map(Value::Double)
                            .ok_or("doubleValue must be a number")
                    })
                    .transpose()
                    .map_err(de::Error::custom)?,
                "arrayValue" | "array_value" => map.next_value::<Option<_>>()?.map(Value::Array),
                "kvlistValue" | "kvlist_value" => map.next_value::<Option<_>>()?.map(Value::Kvlist),
                "bytesValue" | "bytes_value" => map
                    .next_value::<Option<String>>()?
                    .map(|s| {
                        base64(&s)
                            .map(Value::Bytes)
                            .ok_or("bytesValue must be base64")
                    })
                    .transpose()
                    .map_err(de::Error::custom)?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    None
                }
            };
            value = read.or(value);
        }
        Ok(AnyValue { value })
    }
}

/// A member name, borrowed from the body when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Key<'de>, D::Error> {
        match Scalar::deserialize(d)? {
            Scalar::Str(s) => Ok(Key(s)),
            _ => Err(de::Error::custom("a member name must be a string")),
        }
    }
}

/// Any member whose `null` means the default (lists, strings, nested messages).
fn value<'de, A: MapAccess<'de>, T: Deserialize<'de> + Default>(
    map: &mut A,
) -> Result<T, A::Error> {
    Ok(map.next_value::<Option<T>>()?.unwrap_or_default())
}

/// A JSON scalar read as a number or as a string, for the lenient readers below.
enum Scalar<'a> {
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(Cow<'a, str>),
}

impl<'de> Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Scalar<'de>, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number or a string")
    }
    fn visit_i64<E>(self, n: i64) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Int(n))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Uint(n))
    }
    fn visit_f64<E>(self, f: f64) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Float(f))
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Str(Cow::Borrowed(s)))
    }
    fn visit_str<E>(self, s: &str) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Str(Cow::Owned(s.to_string())))
    }
}

/// A trace or span id. A string that decodes neither as hex nor as base64 of an id's length
/// becomes `[0xff]`, a length no id has, so its span is refused on its own.
fn id<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Vec<u8>, A::Error> {
    let s = match map.next_value::<Option<Scalar>>()? {
        None => return Ok(Vec::new()),
        Some(Scalar::Str(s)) => s,
        Some(_) => return Err(de::Error::custom("an id must be a hex string")),
    };
    if s.is_empty() {
        return Ok(Vec::new());
    }
    Ok(hex(&s)
        .or_else(|| base64(&s).filter(|b| b.len() == 8 || b.len() == 16))
        .unwrap_or_else(|| vec![0xff]))
}

/// A fixed64 time in unix nanoseconds, as a number or a decimal string.
fn nanos<'de, A: MapAccess<'de>>(map: &mut A) -> Result<u64, A::Error> {
    let n = match map.next_value::<Option<Scalar>>()? {
        None => Some(0),
        Some(Scalar::Str(s)) => s.parse().ok(),
        Some(other) => int64(other).and_then(|n| u64::try_from(n).ok()),
    };
    n.ok_or_else(|| de::Error::custom("a time must be unsigned integer nanoseconds"))
}

/// An enum as its number or, leniently, its name (`SPAN_KIND_SERVER`, `STATUS_CODE_ERROR`).
fn enumeration<'de, A: MapAccess<'de>>(map: &mut A) -> Result<i32, A::Error> {
    let n = match map.next_value::<Option<Scalar>>()? {
        None => Some(0),
        Some(Scalar::Str(s)) => enum_name(&s),
        Some(other) => int64(other).and_then(|n| i32::try_from(n).ok()),
    };
    n.ok_or_else(|| de::Error::custom("an enum must be an integer"))
}

fn enum_name(name: &str) -> Option<i32> {
    const KINDS: [&str; 6] = [
        "UNSPECIFIED",
        "INTERNAL",
        "SERVER",
        "CLIENT",
        "PRODUCER",
        "CONSUMER",
    ];
    const CODES: [&str; 3] = ["UNSET", "OK", "ERROR"];
    let (names, short) = match name.strip_prefix("SPAN_KIND_") {
        Some(short) => (&KINDS[..], short),
        None => (&CODES[..], name.strip_prefix("STATUS_CODE_")?),
    };
    names.iter().position(|n| *n == short).map(|i| i as i32)
}

/// An int64 from a number (integral) or a decimal string. A `u64` above `i64::MAX` is refused.
fn int64(value: Scalar) -> Option<i64> {
    match value {
        Scalar::Int(n) => Some(n),
        Scalar::Uint(n) => i64::try_from(n).ok(),
        Scalar::Float(f) => (f.fract() == 0.0 && f.abs() < 9.2e18).then_some(f as i64),
        Scalar::Str(s) => s.parse().ok(),
    }
}

/// A double from a number or one of proto3 JSON's special strings; a decimal in a string is
/// taken too.
fn double(value: Scalar) -> Option<f64> {
    match value {
        Scalar::Int(n) => Some(n as f64),
        Scalar::Uint(n) => Some(n as f64),
        Scalar::Float(f) => Some(f),
        Scalar::Str(s) => match &*s {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            s => s.parse().ok(),
        },
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
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let s = s.trim_end_matches('=');
    let engine = if s.contains(['-', '_']) {
        URL_SAFE_NO_PAD
    } else {
        STANDARD_NO_PAD
    };
    engine.decode(s).ok()
}
