//! Paging for every list route: `?limit=` and an opaque `?cursor=`.
//!
//! Lists are ordered newest first by a UUIDv7 id, which sorts by creation time, so a cursor only
//! needs the last id a page returned. It is wrapped (versioned, base64url) so clients treat it as
//! opaque and a hand-made one is refused rather than misread.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

/// A validated page request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub limit: u32,
    /// Return only rows whose sort key is strictly below this one.
    pub before: Option<String>,
}

/// Parses `limit` (default 50, capped at 200, 0 or negative or not a number refused) and `cursor`.
pub fn parse_page(
    limit: Option<&str>,
    cursor: Option<&str>,
) -> Result<Page, (&'static str, &'static str)> {
    let limit = match limit {
        None | Some("") => DEFAULT_LIMIT,
        Some(raw) => match raw.parse::<i64>() {
            Ok(n) if n >= 1 => n.min(MAX_LIMIT as i64) as u32,
            Ok(_) => return Err(("limit", "must be at least 1")),
            Err(_) => return Err(("limit", "must be a whole number")),
        },
    };
    let before = match cursor {
        None | Some("") => None,
        Some(raw) => Some(decode_cursor(raw).ok_or(("cursor", "is not a cursor this API issued"))?),
    };
    Ok(Page { limit, before })
}

pub fn encode_cursor(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("v1:{key}"))
}

fn decode_cursor(raw: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let key = text.strip_prefix("v1:")?;
    // Keys are ids (or `ts:id` pairs): plain ASCII without quotes keeps them inert in SQL binds.
    let plausible = !key.is_empty()
        && key.len() <= 128
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b':' || b == b'_');
    plausible.then(|| key.to_string())
}

/// Splits a fetched `limit + 1` rows into the page and the cursor for the next one.
pub fn paginate<T>(
    mut rows: Vec<T>,
    page: &Page,
    key: impl Fn(&T) -> String,
) -> (Vec<T>, Option<String>) {
    if rows.len() > page.limit as usize {
        rows.truncate(page.limit as usize);
        let next = rows.last().map(|r| encode_cursor(&key(r)));
        (rows, next)
    } else {
        (rows, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_defaults_caps_and_refuses() {
        assert_eq!(parse_page(None, None).unwrap().limit, 50);
        assert_eq!(parse_page(Some("500"), None).unwrap().limit, 200);
        assert_eq!(parse_page(Some("7"), None).unwrap().limit, 7);
        assert!(parse_page(Some("0"), None).is_err());
        assert!(parse_page(Some("-3"), None).is_err());
        assert!(parse_page(Some("ten"), None).is_err());
    }

    #[test]
    fn cursors_round_trip_and_forgeries_are_refused() {
        let c = encode_cursor("0190a1b2-0000-7000-8000-000000000000");
        assert_eq!(
            parse_page(None, Some(&c)).unwrap().before.as_deref(),
            Some("0190a1b2-0000-7000-8000-000000000000")
        );
        assert!(parse_page(None, Some("garbage!")).is_err());
        assert!(parse_page(None, Some(&URL_SAFE_NO_PAD.encode("v1:' or 1=1"))).is_err());
        assert!(parse_page(None, Some(&URL_SAFE_NO_PAD.encode("v2:abc"))).is_err());
    }

    #[test]
    fn paginate_returns_a_cursor_only_when_more_rows_exist() {
        let page = Page {
            limit: 2,
            before: None,
        };
        let (rows, next) = paginate(vec!["c", "b", "a"], &page, |s| s.to_string());
        assert_eq!(rows, ["c", "b"]);
        assert_eq!(next, Some(encode_cursor("b")));
        let (rows, next) = paginate(vec!["b"], &page, |s| s.to_string());
        assert_eq!((rows.len(), next), (1, None));
    }
}
