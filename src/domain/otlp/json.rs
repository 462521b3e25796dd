//! OTLP/JSON, read by serde straight into the protobuf messages ([`super::proto`]), so a large
//! body never becomes a `serde_json::Value` tree (a small JSON object costs ~600 bytes as one).
//!
//! As the OTLP/JSON encoding says: field names in lowerCamelCase (snake_case accepted too), trace
//! and span ids as hex (base64 of the right length, as some old exporters sent, accepted too),
//! enums as integers (their names accepted too), 64-bit integers as numbers or strings,
//! `bytesValue` as base64, `null` as the default, unknown fields ignored. A value of the wrong
//! type is a decoding error, except an id that does not decode: that span alone is refused later.
//! The field readers here are named by `deserialize_with` attributes in `proto`.

use std::borrow::Cow;
use std::fmt;

use base64::Engine;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;

use super::proto::{AnyValue, ArrayValue, ExportTraceServiceRequest, KeyValueList, Value};
use super::DecodeError;

/// Reads an OTLP/JSON `ExportTraceServiceRequest`.
pub fn decode(body: &[u8]) -> Result<ExportTraceServiceRequest, DecodeError> {
    // A derived struct would also take a JSON array (as positional fields): refuse it here.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(DecodeError("the body must be a JSON object".into()));
    }
    serde_json::from_slice(body)
        .map_err(|e| DecodeError(format!("the body is not an OTLP/JSON request: {e}")))
}

/// `null` or absent is the default.
pub fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Option::<T>::deserialize(d).map(Option::unwrap_or_default)
}

/// A JSON scalar read as a number or as a string, for the lenient readers below (a visitor of
/// its own: serde's untagged enums buffer through a much larger generic path).
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
pub fn id<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    let Some(s) = Option::<Cow<'de, str>>::deserialize(d)? else {
        return Ok(Vec::new());
    };
    if s.is_empty() {
        return Ok(Vec::new());
    }
    Ok(hex(&s)
        .or_else(|| base64(&s).filter(|b| b.len() == 8 || b.len() == 16))
        .unwrap_or_else(|| vec![0xff]))
}

/// A fixed64 time in unix nanoseconds, as a number or a decimal string.
pub fn nanos<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let n = match Option::<Scalar>::deserialize(d)? {
        None => Some(0),
        Some(Scalar::Uint(n)) => Some(n),
        Some(Scalar::Int(n)) => u64::try_from(n).ok(),
        Some(Scalar::Float(f)) => (f >= 0.0 && f.fract() == 0.0).then_some(f as u64),
        Some(Scalar::Str(s)) => s.parse().ok(),
    };
    n.ok_or_else(|| de::Error::custom("a time must be unsigned integer nanoseconds"))
}

/// An enum as its number or, leniently, its name (`SPAN_KIND_SERVER`, `STATUS_CODE_ERROR`).
pub fn enumeration<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    let n = match Option::<Scalar>::deserialize(d)? {
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

fn int64(value: Scalar) -> Option<i64> {
    match value {
        Scalar::Int(n) => Some(n),
        Scalar::Uint(n) => i64::try_from(n).ok(),
        Scalar::Float(f) => (f.fract() == 0.0 && f.abs() < 9.2e18).then_some(f as i64),
        Scalar::Str(s) => s.parse().ok(),
    }
}

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

/// `AnyValue`: an object with one of the value fields; `{}` (or only `null`s) is an empty value.
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
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            let read = match &*key {
                "stringValue" | "string_value" => {
                    map.next_value::<Option<String>>()?.map(Value::String)
                }
                "boolValue" | "bool_value" => map.next_value::<Option<bool>>()?.map(Value::Bool),
                "intValue" | "int_value" => match map.next_value::<Option<Scalar>>()? {
                    None => None,
                    Some(n) => {
                        Some(Value::Int(int64(n).ok_or_else(|| {
                            de::Error::custom("intValue must be an integer")
                        })?))
                    }
                },
                "doubleValue" | "double_value" => match map.next_value::<Option<Scalar>>()? {
                    None => None,
                    Some(n) => {
                        Some(Value::Double(double(n).ok_or_else(|| {
                            de::Error::custom("doubleValue must be a number")
                        })?))
                    }
                },
                "arrayValue" | "array_value" => {
                    map.next_value::<Option<ArrayValue>>()?.map(Value::Array)
                }
                "kvlistValue" | "kvlist_value" => {
                    map.next_value::<Option<KeyValueList>>()?.map(Value::Kvlist)
                }
                "bytesValue" | "bytes_value" => match map.next_value::<Option<String>>()? {
                    None => None,
                    Some(s) => {
                        Some(Value::Bytes(base64(&s).ok_or_else(|| {
                            de::Error::custom("bytesValue must be base64")
                        })?))
                    }
                },
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
