//! The team, its members and its activity log.

use serde_json::json;
use worker::Response;

use super::audit::{self, Logged};
use super::error::{ApiError, ApiResult};
use super::extract::{path_id, Caller, Ctx, BODY_LIMIT};
use super::respond;
use crate::domain::fields::Fields;
use crate::domain::paging::paginate;
use crate::domain::role::Role;
use crate::domain::rules::{self, RoleChangeDenied};
use crate::store::activity::{self, Event};
use crate::store::members::Decided;
use crate::store::{changes, members, teams, Team};

fn denied(reason: RoleChangeDenied) -> ApiError {
    match reason {
        RoleChangeDenied::OwnerOnly => {
            ApiError::Forbidden("Only an owner can grant, change or remove the owner role.".into())
        }
        RoleChangeDenied::LastOwner => last_owner(),
    }
}

fn last_owner() -> ApiError {
    ApiError::conflict("last_owner", "A team must keep at least one owner.")
}

/// The role an actor needs to change a member from `current` (to `new`): only owners touch owners.
fn needed(current: Role, new: Option<Role>) -> Role {
    if current == Role::Owner || new == Some(Role::Owner) {
        Role::Owner
    } else {
        Role::Admin
    }
}

/// Why a guarded role change or removal changed nothing: the member changed or went meanwhile,
/// the actor lost the role it needed, or (all else holding) the last-owner guard refused it.
async fn why_unchanged(team: &Team<'_>, id: &str, d: &Decided<'_>) -> ApiError {
    let (member, actor) = match (
        members::get(team, id).await,
        members::get(team, d.actor.as_str()).await,
    ) {
        (Ok(member), Ok(actor)) => (member, actor),
        (Err(e), _) | (_, Err(e)) => return e.into(),
    };
    match (member, actor) {
        (None, _) => ApiError::NotFound,
        (_, None) => ApiError::Unauthorized,
        (_, Some(a)) if !a.role.allows(d.actor_needs) => ApiError::forbidden_role(d.actor_needs),
        (Some(m), _) if m.role != d.current => ApiError::conflict(
            "role_changed",
            "The member's role changed meanwhile; reload and try again.",
        ),
        _ => last_owner(),
    }
}

/// GET /api/team
pub async fn get(cx: &mut Ctx) -> ApiResult<Response> {
    let caller = cx.require(Role::Viewer).await?;
    let team = teams::get(&caller.team(&cx.db))
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(respond::ok(&team))
}

/// PATCH /api/team {name}
pub async fn update(cx: &mut Ctx) -> ApiResult<Response> {
    let caller = cx.require(Role::Admin).await?;
    let body = cx.json(BODY_LIMIT).await?;
    let mut f = Fields::new(&body)?;
    let name = f.text("name", 100);
    let (name,) = f.finish((name,))?;
    let team = caller.team(&cx.db);
    let event = Event {
        action: "team.updated",
        target_type: "team",
        target_id: Some(team.id().as_str()),
        detail: json!({"name": name}),
    };
    audit::commit(
        cx,
        &caller,
        vec![teams::rename(&team, &name)?],
        event,
        Logged::Always,
    )
    .await?;
    let updated = teams::get(&team).await?.ok_or(ApiError::NotFound)?;
    Ok(respond::ok(&updated))
}

/// GET /api/team/members
pub async fn list_members(cx: &mut Ctx) -> ApiResult<Response> {
    let caller = cx.require(Role::Viewer).await?;
    let page = cx.page()?;
    let rows = members::list(&caller.team(&cx.db), &page).await?;
    let (rows, next) = paginate(rows, &page, |m| m.id.to_string());
    Ok(respond::page(&rows, next))
}

async fn member_and_owners(
    cx: &Ctx,
    caller: &Caller,
    id: &str,
) -> ApiResult<(members::Member, Role, u32)> {
    let team = caller.team(&cx.db);
    let member = members::get(&team, id).await?.ok_or(ApiError::NotFound)?;
    let current = member.role;
    Ok((member, current, members::owner_count(&team).await?))
}

/// PATCH /api/team/members/:id {role}
pub async fn change_role(cx: &mut Ctx, raw_id: &str) -> ApiResult<Response> {
    let caller = cx.require(Role::Admin).await?;
    let id = path_id(raw_id)?;
    let body = cx.json(BODY_LIMIT).await?;
    let mut f = Fields::new(&body)?;
    let role = f.parsed("role", Role::parse_field);
    let (role,) = f.finish((role,))?;

    let (member, current, owners) = member_and_owners(cx, &caller, &id).await?;
    rules::may_change_role(caller.role, current, role, owners).map_err(denied)?;
    let team = caller.team(&cx.db);
    let event = Event {
        action: "member.role_changed",
        target_type: "member",
        target_id: Some(&id),
        detail: json!({"email": member.email, "from": current.as_str(), "to": role.as_str()}),
    };
    let decided = Decided {
        current,
        actor: &caller.user_id,
        actor_needs: needed(current, Some(role)),
    };
    let results = audit::commit(
        cx,
        &caller,
        vec![members::set_role(&team, &id, role, &decided)?],
        event,
        Logged::IfChanged,
    )
    .await?;
    if changes(&results[0]) == 0 {
        return Err(why_unchanged(&team, &id, &decided).await);
    }
    let title = format!("{} is now {}", member.name, role.as_str());
    audit::tell_team(cx, &caller, "member.role_changed", title).await;
    Ok(respond::ok(&members::Member { role, ..member }))
}

/// DELETE /api/team/members/:id — their sessions and access tokens go with them.
pub async fn remove_member(cx: &mut Ctx, raw_id: &str) -> ApiResult<Response> {
    let caller = cx.require(Role::Admin).await?;
    let id = path_id(raw_id)?;
    let (member, current, owners) = member_and_owners(cx, &caller, &id).await?;
    rules::may_remove(caller.role, current, owners).map_err(denied)?;
    let team = caller.team(&cx.db);
    let event = Event {
        action: "member.removed",
        target_type: "member",
        target_id: Some(&id),
        detail: json!({"email": member.email, "role": current.as_str()}),
    };
    let decided = Decided {
        current,
        actor: &caller.user_id,
        actor_needs: needed(current, None),
    };
    let results = audit::commit(
        cx,
        &caller,
        vec![members::remove(&team, &id, &decided)?],
        event,
        Logged::IfChanged,
    )
    .await?;
    if changes(&results[0]) == 0 {
        return Err(why_unchanged(&team, &id, &decided).await);
    }
    audit::tell_team(
        cx,
        &caller,
        "member.removed",
        format!("{} was removed from the team", member.name),
    )
    .await;
    Ok(respond::no_content())
}

/// GET /api/team/activity
pub async fn activity(cx: &mut Ctx) -> ApiResult<Response> {
    let caller = cx.require(Role::Viewer).await?;
    let page = cx.page()?;
    let rows = activity::list(&caller.team(&cx.db), &page).await?;
    let (rows, next) = paginate(rows, &page, |e| e.id.clone());
    Ok(respond::page(&rows, next))
}
