//! Team roles. Each role includes every role below it, so authorisation is a comparison.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A member's (or access token's) role, ordered from least to most powerful.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Member,
    Admin,
    Owner,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Member, Role::Admin, Role::Owner];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Member => "member",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// A role named in a request body, or the message a person reads when it is not one.
    pub fn parse_field(s: &str) -> Result<Role, &'static str> {
        Role::parse(s).ok_or("must be one of viewer, member, admin, owner")
    }

    /// Whether a caller holding `self` may do something that needs `needed`.
    pub fn allows(self, needed: Role) -> bool {
        self >= needed
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_and_include_the_ones_below() {
        assert!(Role::Owner.allows(Role::Admin));
        assert!(Role::Admin.allows(Role::Admin));
        assert!(!Role::Member.allows(Role::Admin));
        assert!(Role::Viewer < Role::Member && Role::Member < Role::Admin);
    }

    #[test]
    fn parse_round_trips_and_refuses_unknown_names() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("Owner"), None);
        assert_eq!(Role::parse("superuser"), None);
    }
}
