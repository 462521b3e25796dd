//! Error tracking rules: how occurrences group into issues, and how severe they are.
//!
//! An issue's fingerprint is a hash of the error type, the message with its variable parts
//! replaced ([`normalize`]), the workflow and the step, so "order 1234 failed" and "order 5678
//! failed" from the same step are one issue. Severity is given by the reporter or derived from
//! the type and provider status ([`derive_severity`]).

/// How bad an issue is, in rising order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

pub const SEVERITIES: &str = "low, medium, high, critical";

impl Severity {
    pub fn parse(raw: &str) -> Option<Severity> {
        match raw {
            "low" => Some(Severity::Low),
            "medium" => Some(Severity::Medium),
            "high" => Some(Severity::High),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// The spec's rule: provider auth failure critical; timeout or 5xx high; rate limit medium;
/// validation (and templates, bad definitions, refused URLs) low; anything else medium.
pub fn derive_severity(kind: &str, provider_status: Option<u16>) -> Severity {
    let kind = kind.to_ascii_lowercase();
    match kind.as_str() {
        "provider_auth" | "auth" | "authentication" => Severity::Critical,
        "timeout" | "timed_out" | "provider_error" | "network" | "key_unavailable" => {
            Severity::High
        }
        "rate_limit" | "rate_limited" => Severity::Medium,
        "validation" | "template" | "invalid_workflow" | "invalid_header" | "blocked_url" => {
            Severity::Low
        }
        _ if provider_status.is_some_and(|s| (500..600).contains(&s)) => Severity::High,
        _ if provider_status.is_some_and(|s| s == 401 || s == 403) => Severity::Critical,
        _ if provider_status == Some(429) => Severity::Medium,
        _ if kind.contains("timeout") => Severity::High,
        _ if kind.contains("validation") => Severity::Low,
        _ => Severity::Medium,
    }
}

/// Longest normalised message kept (bytes); longer ones are cut on a character boundary.
const NORMALIZED_MAX: usize = 512;

/// The message with its variable parts replaced: quoted strings by `<str>`, UUIDs by `<uuid>`,
/// ISO dates and times by `<time>`, numbers by `<n>`, hex ids (eight or more hex digits with a
/// digit among them, or `0x…`) by `<hex>`, and long mixed letter-and-digit tokens by `<id>`.
/// Runs of whitespace become one space.
pub fn normalize(message: &str) -> String {
    let b = message.as_bytes();
    let mut out = String::with_capacity(b.len().min(NORMALIZED_MAX));
    let mut i = 0;
    while i < b.len() && out.len() < NORMALIZED_MAX {
        let c = b[i];
        let starts_word = i == 0 || !b[i - 1].is_ascii_alphanumeric();
        if matches!(c, b'"' | b'\'' | b'`') && starts_word {
            if let Some(end) = closing_quote(b, i) {
                out.push_str("<str>");
                i = end + 1;
                continue;
            }
        }
        if c.is_ascii_whitespace() {
            if !out.ends_with(' ') {
                out.push(' ');
            }
            i += 1;
            continue;
        }
        if !c.is_ascii_alphanumeric() {
            // Copy one character whole (it may be multi-byte).
            let len = message[i..].chars().next().map_or(1, char::len_utf8);
            out.push_str(&message[i..i + len]);
            i += len;
            continue;
        }
        if is_uuid(&b[i..]) {
            out.push_str("<uuid>");
            i += 36;
            continue;
        }
        if let Some(len) = timestamp_len(&b[i..]) {
            out.push_str("<time>");
            i += len;
            continue;
        }
        let end = i + b[i..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric())
            .count();
        out.push_str(classify(&message[i..end]));
        i = end;
    }
    while out.len() > NORMALIZED_MAX {
        out.pop();
    }
    out.trim().to_string()
}

/// The index of the quote closing the one at `open`, if it closes before the end of a word.
fn closing_quote(b: &[u8], open: usize) -> Option<usize> {
    let q = b[open];
    (open + 1..b.len())
        .find(|&j| b[j] == q && b.get(j + 1).is_none_or(|n| !n.is_ascii_alphanumeric()))
}

/// A word's placeholder, or the word itself.
fn classify(word: &str) -> &str {
    let bytes = word.as_bytes();
    let digits = bytes.iter().filter(|b| b.is_ascii_digit()).count();
    if digits == bytes.len() {
        "<n>"
    } else if (bytes.len() > 2
        && word.starts_with("0x")
        && bytes[2..].iter().all(u8::is_ascii_hexdigit))
        || (bytes.len() >= 8 && digits > 0 && bytes.iter().all(u8::is_ascii_hexdigit))
    {
        "<hex>"
    } else if bytes.len() >= 10 && digits > 0 {
        "<id>"
    } else {
        word
    }
}

fn is_uuid(b: &[u8]) -> bool {
    b.len() >= 36
        && b[..36].iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
        && b.get(36).is_none_or(|c| !c.is_ascii_alphanumeric())
}

/// The length of an ISO 8601 date (`2026-01-31`), with an optional time (`T`/space `12:30:05`,
/// fraction, `Z` or offset), at the start of `b`.
fn timestamp_len(b: &[u8]) -> Option<usize> {
    let digits_at =
        |at: usize, n: usize| b.len() >= at + n && b[at..at + n].iter().all(u8::is_ascii_digit);
    let is = |at: usize, c: u8| b.get(at) == Some(&c);
    if !(digits_at(0, 4) && is(4, b'-') && digits_at(5, 2) && is(7, b'-') && digits_at(8, 2)) {
        return None;
    }
    let mut len = 10;
    if (is(10, b'T') || is(10, b' ')) && digits_at(11, 2) && is(13, b':') && digits_at(14, 2) {
        len = 16;
        if is(16, b':') && digits_at(17, 2) {
            len = 19;
            if is(19, b'.') {
                len = 20 + b[20..].iter().take_while(|c| c.is_ascii_digit()).count();
            }
        }
        if is(len, b'Z') {
            len += 1;
        } else if (is(len, b'+') || is(len, b'-')) && digits_at(len + 1, 2) {
            len += 3;
            if is(len, b':') && digits_at(len + 1, 2) {
                len += 3;
            }
        }
    }
    Some(len)
}

/// The issue key: a 64-bit FNV-1a hash, as 16 hex digits, of the type, the normalised message,
/// the workflow and the step.
pub fn fingerprint(
    kind: &str,
    message: &str,
    workflow_id: Option<&str>,
    step_id: Option<&str>,
) -> String {
    let normalized = normalize(message);
    let parts = [
        kind,
        &normalized,
        workflow_id.unwrap_or(""),
        step_id.unwrap_or(""),
    ];
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &byte in part.as_bytes().iter().chain(&[0xff]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_differing_only_in_ids_normalise_alike() {
        let a = normalize("Order 1234 for user 0190a5b0-0000-7000-8000-000000000000 failed at 2026-01-31T12:30:05.123Z (req 9f86d081884c7d65)");
        let b = normalize("Order 77 for user 9F8E7D6C-AB12-4CDE-8F00-123456789ABC failed at 2025-12-01 08:00:00+01:00 (req 00000000deadbeef)");
        assert_eq!(a, b);
        assert_eq!(a, "Order <n> for user <uuid> failed at <time> (req <hex>)");
    }

    #[test]
    fn quoted_strings_hex_and_long_tokens_become_placeholders() {
        assert_eq!(
            normalize(r#"can't find key "users/42" in 'cache'"#),
            "can't find key <str> in <str>"
        );
        assert_eq!(
            normalize("at 0x7ffe12 and   \n x9k2m4p7q1z"),
            "at <hex> and <id>"
        );
        assert_eq!(
            normalize("The endpoint answered 503."),
            "The endpoint answered <n>."
        );
        assert_eq!(normalize("gpt-4o-mini refused"), "gpt-4o-mini refused");
        assert_eq!(normalize("version 1.2.3"), "version <n>.<n>.<n>");
        assert_eq!(normalize("naïve “quotes” 5 €"), "naïve “quotes” <n> €");
        assert_eq!(normalize("unclosed 'quote 12"), "unclosed 'quote <n>");
    }

    #[test]
    fn long_messages_are_cut_on_a_character_boundary() {
        let long = "é".repeat(600);
        let n = normalize(&long);
        assert!(n.len() <= NORMALIZED_MAX);
        assert!(n.chars().all(|c| c == 'é'));
    }

    #[test]
    fn fingerprints_separate_type_workflow_and_step() {
        let f = |kind, msg, wf, step| fingerprint(kind, msg, wf, step);
        let base = f("http_error", "answered 503", Some("w1"), Some("a"));
        assert_eq!(base, f("http_error", "answered 404", Some("w1"), Some("a")));
        assert_eq!(base.len(), 16);
        assert_ne!(base, f("timeout", "answered 503", Some("w1"), Some("a")));
        assert_ne!(base, f("http_error", "answered 503", Some("w2"), Some("a")));
        assert_ne!(base, f("http_error", "answered 503", Some("w1"), Some("b")));
        assert_ne!(base, f("http_error", "answered 503", Some("w1"), None));
        assert_ne!(f("ab", "c", None, None), f("a", "bc", None, None));
    }

    #[test]
    fn severity_follows_the_spec_unless_given() {
        assert_eq!(
            derive_severity("provider_auth", Some(401)),
            Severity::Critical
        );
        assert_eq!(derive_severity("timeout", None), Severity::High);
        assert_eq!(derive_severity("http_error", Some(503)), Severity::High);
        assert_eq!(derive_severity("provider_error", Some(500)), Severity::High);
        assert_eq!(derive_severity("rate_limit", Some(429)), Severity::Medium);
        assert_eq!(derive_severity("template", None), Severity::Low);
        assert_eq!(derive_severity("ValidationError", None), Severity::Low);
        assert_eq!(derive_severity("TypeError", None), Severity::Medium);
        assert_eq!(derive_severity("http_error", Some(404)), Severity::Medium);
        assert!(Severity::Critical > Severity::High);
        assert_eq!(Severity::parse("high").map(Severity::as_str), Some("high"));
        assert_eq!(Severity::parse("urgent"), None);
    }
}
