//! Password rules and the stored hash format. The hashing itself (PBKDF2 through WebCrypto) lives
//! in the Worker layer; this module only knows the format and compares digests.

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;

/// Failed logins counted per email over this window...
pub const FAILURE_WINDOW_MS: i64 = 15 * 60_000;
/// ...and this many of them lock that email out until the oldest leaves the window.
pub const MAX_FAILURES: i64 = 10;

/// PBKDF2-SHA256 iterations: the most Cloudflare's production runtime accepts.
pub const ITERATIONS: u32 = 100_000;
pub const MIN_LEN: usize = 8;
pub const MAX_LEN: usize = 1024;

/// A password that meets the length rules. Never logged or serialised.
pub struct Password(String);

impl Password {
    pub fn parse(raw: &str) -> Result<Password, &'static str> {
        let n = raw.chars().count();
        if n < MIN_LEN {
            Err("must be at least 8 characters")
        } else if n > MAX_LEN {
            Err("must be at most 1024 characters")
        } else {
            Ok(Password(raw.to_string()))
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// `pbkdf2-sha256$<iterations>$<salt>$<digest>`, base64 without padding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordHash {
    pub iterations: u32,
    pub salt: Vec<u8>,
    pub digest: Vec<u8>,
}

impl PasswordHash {
    pub fn encode(&self) -> String {
        format!(
            "pbkdf2-sha256${}${}${}",
            self.iterations,
            STANDARD_NO_PAD.encode(&self.salt),
            STANDARD_NO_PAD.encode(&self.digest)
        )
    }

    pub fn decode(stored: &str) -> Option<PasswordHash> {
        let mut parts = stored.split('$');
        if parts.next()? != "pbkdf2-sha256" {
            return None;
        }
        let iterations = parts.next()?.parse().ok()?;
        let salt = STANDARD_NO_PAD.decode(parts.next()?).ok()?;
        let digest = STANDARD_NO_PAD.decode(parts.next()?).ok()?;
        parts.next().is_none().then_some(PasswordHash {
            iterations,
            salt,
            digest,
        })
    }
}

/// Compares two digests in time that depends only on their length.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_rules() {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse("long enough").is_ok());
        assert!(Password::parse(&"x".repeat(1025)).is_err());
        assert_eq!(
            format!("{:?}", Password::parse("long enough").unwrap()),
            "Password(<redacted>)"
        );
    }

    #[test]
    fn hash_format_round_trips_and_refuses_others() {
        let h = PasswordHash {
            iterations: ITERATIONS,
            salt: vec![1; 16],
            digest: vec![2; 32],
        };
        assert_eq!(PasswordHash::decode(&h.encode()), Some(h));
        assert_eq!(PasswordHash::decode("bcrypt$12$abc"), None);
        assert_eq!(PasswordHash::decode("pbkdf2-sha256$1$AQ$Ag$extra"), None);
    }

    #[test]
    fn constant_time_eq_compares_contents_and_length() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
