//! Who may hand out, change or take away which role. The rules the spec names, in one place.

use super::role::Role;

/// Why a role change is refused; the API layer maps these to 403 and 409.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleChangeDenied {
    /// Only an owner may grant the owner role or change or remove an owner.
    OwnerOnly,
    /// A team always keeps at least one owner.
    LastOwner,
}

/// May `actor` move a member from `current` to `new`? `owners` is how many owners the team has.
/// The caller has already been checked to be at least an admin.
pub fn may_change_role(
    actor: Role,
    current: Role,
    new: Role,
    owners: u32,
) -> Result<(), RoleChangeDenied> {
    if (current == Role::Owner || new == Role::Owner) && actor != Role::Owner {
        return Err(RoleChangeDenied::OwnerOnly);
    }
    if current == Role::Owner && new != Role::Owner && owners <= 1 {
        return Err(RoleChangeDenied::LastOwner);
    }
    Ok(())
}

/// May `actor` remove a member who holds `current`?
pub fn may_remove(actor: Role, current: Role, owners: u32) -> Result<(), RoleChangeDenied> {
    if current == Role::Owner && actor != Role::Owner {
        return Err(RoleChangeDenied::OwnerOnly);
    }
    if current == Role::Owner && owners <= 1 {
        return Err(RoleChangeDenied::LastOwner);
    }
    Ok(())
}

/// May `actor` invite someone as `role`? Only owners invite owners.
pub fn may_invite(actor: Role, role: Role) -> bool {
    role != Role::Owner || actor == Role::Owner
}

/// An access token never carries more power than the member who creates it.
pub fn may_issue_token(actor: Role, role: Role) -> bool {
    role <= actor
}

#[cfg(test)]
mod tests {
    use super::*;
    use Role::*;

    #[test]
    fn only_owners_touch_the_owner_role() {
        assert_eq!(
            may_change_role(Admin, Member, Owner, 1),
            Err(RoleChangeDenied::OwnerOnly)
        );
        assert_eq!(
            may_change_role(Admin, Owner, Member, 2),
            Err(RoleChangeDenied::OwnerOnly)
        );
        assert_eq!(may_change_role(Owner, Member, Owner, 1), Ok(()));
        assert_eq!(may_change_role(Admin, Viewer, Admin, 1), Ok(()));
        assert_eq!(
            may_remove(Admin, Owner, 3),
            Err(RoleChangeDenied::OwnerOnly)
        );
    }

    #[test]
    fn the_last_owner_stays() {
        assert_eq!(
            may_change_role(Owner, Owner, Admin, 1),
            Err(RoleChangeDenied::LastOwner)
        );
        assert_eq!(may_change_role(Owner, Owner, Admin, 2), Ok(()));
        assert_eq!(
            may_remove(Owner, Owner, 1),
            Err(RoleChangeDenied::LastOwner)
        );
        assert_eq!(may_remove(Owner, Owner, 2), Ok(()));
    }

    #[test]
    fn invites_and_tokens_never_exceed_the_actor() {
        assert!(!may_invite(Admin, Owner));
        assert!(may_invite(Owner, Owner));
        assert!(may_invite(Admin, Admin));
        assert!(may_issue_token(Member, Viewer));
        assert!(!may_issue_token(Member, Admin));
    }
}
