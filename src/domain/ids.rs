//! Identifiers: UUID strings, v7 (time-ordered) for everything Beacon creates.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Declares an id newtype: a team's id is never confused with a user's. Ids come from storage
/// (deserialised from rows and queue messages) or from [`uuid_v7`] when Beacon creates the object.
macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// An id created by Beacon or read back from storage.
            pub fn new(id: String) -> $name {
                $name(id)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }
    };
}

id_type!(
    /// A team's id: the tenancy boundary every team-owned row and query carries.
    TeamId
);
id_type!(
    /// A user's (member's) id.
    UserId
);

/// Parses a path id. Anything that is not a UUID is treated as "no such object" by callers.
pub fn parse_uuid(raw: &str) -> Option<String> {
    Uuid::try_parse(raw)
        .ok()
        .map(|u| u.hyphenated().to_string())
}

/// Builds a UUIDv7 from a millisecond timestamp and 10 random bytes, so ids sort by creation time
/// as strings and the randomness comes from the caller (WebCrypto in the Worker).
pub fn uuid_v7(unix_ms: u64, random: &[u8; 10]) -> String {
    uuid::Builder::from_unix_timestamp_millis(unix_ms, random)
        .into_uuid()
        .hyphenated()
        .to_string()
}

/// The smallest UUIDv7 string of millisecond `unix_ms`: ids created at or after that instant
/// sort at or above it, so a time window is a range over an id index.
pub fn v7_floor(unix_ms: i64) -> String {
    let ms = unix_ms.clamp(0, 0xffff_ffff_ffff) as u64;
    format!(
        "{:08x}-{:04x}-0000-0000-000000000000",
        ms >> 16,
        ms & 0xffff
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v7_ids_sort_by_time() {
        let a = uuid_v7(1_700_000_000_000, &[255; 10]);
        let b = uuid_v7(1_700_000_000_001, &[0; 10]);
        assert!(a < b);
        assert_eq!(Uuid::try_parse(&a).unwrap().get_version_num(), 7);
    }

    #[test]
    fn v7_floor_bounds_the_ids_of_its_millisecond() {
        let at = 1_800_000_000_123;
        assert!(v7_floor(at) <= uuid_v7(at as u64, &[0; 10]));
        assert!(uuid_v7(at as u64, &[255; 10]) < v7_floor(at + 1));
        assert!(uuid_v7(at as u64 - 1, &[255; 10]) < v7_floor(at));
    }

    #[test]
    fn parse_accepts_uuids_only_and_normalises_case() {
        let id = uuid_v7(1, &[7; 10]);
        assert_eq!(parse_uuid(&id.to_uppercase()), Some(id));
        assert_eq!(parse_uuid("not-a-uuid"), None);
        assert_eq!(parse_uuid("123"), None);
    }
}
