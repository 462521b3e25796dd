//! The vault's rules, free of WebCrypto: the master-key configuration, the versioned ciphertext
//! envelope, the additional data that binds a ciphertext to its row, and what may be shown of a
//! key (its last four characters).
//!
//! Envelope: `v1:<master key id>:<iv, base64>:<ciphertext+tag, base64>`. The master key id says
//! which key made it, so new master keys can be added while old ciphertexts still decrypt, and a
//! re-wrap task can move them to the active key a batch at a time.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

pub const IV_LEN: usize = 12;

/// The master keys a deployment holds, and the one that encrypts new secrets.
#[derive(Clone)]
pub struct MasterKeys {
    keys: Vec<(String, [u8; 32])>,
    active: String,
}

impl std::fmt::Debug for MasterKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<_> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        write!(
            f,
            "MasterKeys {{ ids: {ids:?}, active: {:?} }}",
            self.active
        )
    }
}

impl MasterKeys {
    /// Parses `id:base64key,id:base64key` (each key 32 bytes) and the active id.
    pub fn parse(list: &str, active: &str) -> Result<MasterKeys, String> {
        let mut keys = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (id, b64) = entry
                .split_once(':')
                .ok_or("each master key must be written id:base64")?;
            if !is_key_id(id) {
                return Err(format!(
                    "master key id {id:?} must be 1-32 letters, digits, '-' or '_'"
                ));
            }
            let bytes = STANDARD
                .decode(b64.trim())
                .map_err(|_| format!("master key {id} is not valid base64"))?;
            let key: [u8; 32] = bytes
                .try_into()
                .map_err(|_| format!("master key {id} must be 32 bytes"))?;
            if keys.iter().any(|(k, _)| k == id) {
                return Err(format!("master key id {id} appears twice"));
            }
            keys.push((id.to_string(), key));
        }
        if !keys.iter().any(|(id, _)| id == active) {
            return Err(format!(
                "the active master key {active:?} is not among the configured keys"
            ));
        }
        Ok(MasterKeys {
            keys,
            active: active.to_string(),
        })
    }

    pub fn active_id(&self) -> &str {
        &self.active
    }

    pub fn active_key(&self) -> &[u8; 32] {
        // `parse` guarantees the active id is present.
        self.get(&self.active).unwrap_or(&self.keys[0].1)
    }

    pub fn get(&self, id: &str) -> Option<&[u8; 32]> {
        self.keys.iter().find(|(k, _)| k == id).map(|(_, key)| key)
    }
}

fn is_key_id(id: &str) -> bool {
    (1..=32).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A sealed secret as stored in D1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub master_key_id: String,
    pub iv: [u8; IV_LEN],
    pub sealed: Vec<u8>,
}

impl Envelope {
    pub fn encode(&self) -> String {
        format!(
            "v1:{}:{}:{}",
            self.master_key_id,
            STANDARD.encode(self.iv),
            STANDARD.encode(&self.sealed)
        )
    }

    pub fn decode(stored: &str) -> Option<Envelope> {
        let mut parts = stored.split(':');
        if parts.next()? != "v1" {
            return None;
        }
        let master_key_id = parts.next().filter(|id| is_key_id(id))?.to_string();
        let iv: [u8; IV_LEN] = STANDARD.decode(parts.next()?).ok()?.try_into().ok()?;
        let sealed = STANDARD.decode(parts.next()?).ok()?;
        // AES-GCM output is at least its 16-byte tag.
        (parts.next().is_none() && sealed.len() >= 16).then_some(Envelope {
            master_key_id,
            iv,
            sealed,
        })
    }
}

/// Additional authenticated data: a ciphertext only opens for the team and key row it was made
/// for, so copying it to another row or team makes decryption fail.
pub fn additional_data(team_id: &str, key_id: &str) -> Vec<u8> {
    format!("beacon/provider-key/v1/{team_id}/{key_id}").into_bytes()
}

/// The only part of a key ever shown.
pub fn last4(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    chars[chars.len().saturating_sub(4)..].iter().collect()
}

/// A provider secret as given by a person: trimmed, 8..=512 printable ASCII characters.
pub fn parse_secret(raw: &str) -> Result<String, &'static str> {
    let s = raw.trim();
    if s.is_empty() {
        return Err("must not be empty");
    }
    if s.len() < 8 {
        return Err("is too short to be a provider key");
    }
    if s.len() > 512 {
        return Err("must be at most 512 characters");
    }
    if !s.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("must be printable ASCII without spaces");
    }
    Ok(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(byte: u8) -> String {
        STANDARD.encode([byte; 32])
    }

    #[test]
    fn master_keys_parse_and_name_the_active_one() {
        let keys = MasterKeys::parse(&format!("old:{}, new:{}", b64(1), b64(2)), "new").unwrap();
        assert_eq!(keys.active_id(), "new");
        assert_eq!(keys.active_key(), &[2; 32]);
        assert_eq!(keys.get("old"), Some(&[1; 32]));
        assert!(format!("{keys:?}").contains("old") && !format!("{keys:?}").contains(&b64(1)));
    }

    #[test]
    fn master_key_mistakes_are_explained() {
        assert!(MasterKeys::parse(&format!("a:{}", b64(1)), "b")
            .unwrap_err()
            .contains("active"));
        assert!(MasterKeys::parse("a:c2hvcnQ=", "a")
            .unwrap_err()
            .contains("32 bytes"));
        assert!(MasterKeys::parse(&format!("a:{0},a:{0}", b64(1)), "a")
            .unwrap_err()
            .contains("twice"));
        assert!(MasterKeys::parse("nocolon", "a").is_err());
        assert!(MasterKeys::parse(&format!("bad id:{}", b64(1)), "bad id").is_err());
    }

    #[test]
    fn envelopes_round_trip_and_refuse_tampering_with_the_format() {
        let e = Envelope {
            master_key_id: "k1".into(),
            iv: [9; 12],
            sealed: vec![7; 40],
        };
        assert_eq!(Envelope::decode(&e.encode()), Some(e.clone()));
        assert_eq!(Envelope::decode(&e.encode().replacen("v1", "v2", 1)), None);
        assert_eq!(Envelope::decode("v1:k1:AAAA:AAAA"), None);
        assert_eq!(Envelope::decode(&format!("{}:extra", e.encode())), None);
    }

    #[test]
    fn additional_data_differs_per_team_and_row() {
        assert_ne!(additional_data("t1", "k1"), additional_data("t2", "k1"));
        assert_ne!(additional_data("t1", "k1"), additional_data("t1", "k2"));
    }

    #[test]
    fn secrets_show_only_their_last_four() {
        assert_eq!(last4("sk-abcdefgh1234"), "1234");
        assert_eq!(last4("abc"), "abc");
        assert_eq!(
            parse_secret("  sk-live-123456  ").unwrap(),
            "sk-live-123456"
        );
        assert!(parse_secret("").is_err());
        assert!(parse_secret("short").is_err());
        assert!(parse_secret("has a space inside").is_err());
    }
}
