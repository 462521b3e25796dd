//! Invitations: created by admins, delivered through the mailer, accepted once within 7 days.
//! The token lives only in the link; D1 keeps its SHA-256.

use serde_json::json;
use worker::Response;

use super::audit::{self, Logged};
use super::error::{ApiError, ApiResult};
use super::extract::{path_id, Ctx, BODY_LIMIT};
use super::quota::{self, Kind};
use super::respond;
use super::session::{self, email_taken, new_session, with_cookie, Profile};
use crate::domain::email::Email;
use crate::domain::fields::Fields;
use crate::domain::ids::UserId;
use crate::domain::paging::paginate;
use crate::domain::password::Password;
use crate::domain::role::Role;
use crate::domain::rules;
use crate::mailer;
use crate::platform::{self, new_id, new_secret, sha256_hex};
use crate::store::activity::{self, Actor, Event};
use crate::store::invites::{self, NewInvite};
use crate::store::members::NewUser;
use crate::store::{changes, identity, is_unique_violation, Team};

/// POST /api/team/invites {email, role}
pub async fn create(cx: &mut Ctx) -> ApiResult<Response> {
    let caller = cx.require(Role::Admin).await?;
    let body = cx.json(BODY_LIMIT).await?;
    let mut f = Fields::new(&body)?;
    let email = f.parsed("email", Email::parse);
    let role = f.parsed("role", Role::parse_field);
    let (email, role) = f.finish((email, role))?;
    if !rules::may_invite(caller.role, role) {
        return Err(ApiError::Forbidden(
            "Only an owner can invite an owner.".into(),
        ));
    }
    if identity::email_registered(&cx.db, email.as_str()).await? {
        return Err(email_taken());
    }

    let (id, outbox_id) = (new_id()?, new_id()?);
    let token = new_secret("bi")?;
    let token_hash = sha256_hex(&token).await?;
    let invite_url = format!("{}/accept-invite?token={token}", cx.origin());
    let mail = mailer::invite(
        email.as_str(),
        &caller.team_name,
        &caller.name,
        role.as_str(),
        &invite_url,
    );
    let team = caller.team(&cx.db);
    quota::take(&cx.env, &team, Kind::Invites, 1).await?;
    let new = NewInvite {
        id: &id,
        email: email.as_str(),
        role,
        token_hash: &token_hash,
        invited_by: &caller.user_id,
    };
    let event = Event {
        action: "invite.created",
        target_type: "invite",
        target_id: Some(&id),
        detail: json!({"email": email.as_str(), "role": role.as_str()}),
    };
    let mut statements = invites::insert(&team, &new, cx.now)?;
    statements.push(mailer::outbox(&cx.env, &team, &outbox_id, &mail, cx.now)?);
    audit::commit(cx, &caller, statements, event, Logged::Always).await?;
    let (env, request_id) = (cx.env.clone(), cx.request_id.clone());
    cx.ctx.wait_until(async move {
        mailer::dispatch(&env, &request_id, &outbox_id, &mail).await;
    });

    Ok(respond::created(&json!({
        "id": id,
        "email": email.as_str(),
        "role": role.as_str(),
        "expires_at": cx.now + invites::INVITE_TTL_MS,
        "invite_url": invite_url,
    })))
}

/// GET /api/team/invites — pending ones only.
pub async fn list(cx: &mut Ctx) -> ApiResult<Response> {
    let caller = cx.require(Role::Admin).await?;
    let page = cx.page()?;
    let rows = invites::list_pending(&caller.team(&cx.db), &page, cx.now).await?;
    let (rows, next) = paginate(rows, &page, |i| i.id.clone());
    Ok(respond::page(&rows, next))
}

/// DELETE /api/team/invites/:id — revokes a pending invite.
pub async fn revoke(cx: &mut Ctx, raw_id: &str) -> ApiResult<Response> {
    let caller = cx.require(Role::Admin).await?;
    let id = path_id(raw_id)?;
    let team = caller.team(&cx.db);
    let event = Event {
        action: "invite.revoked",
        target_type: "invite",
        target_id: Some(&id),
        detail: json!({}),
    };
    let results = audit::commit(
        cx,
        &caller,
        vec![invites::revoke(&team, &id, cx.now)?],
        event,
        Logged::IfChanged,
    )
    .await?;
    if changes(&results[0]) == 0 {
        return Err(ApiError::NotFound);
    }
    Ok(respond::no_content())
}

fn gone() -> ApiError {
    ApiError::Gone(
        "This invite has already been used, was revoked, or has expired; ask for a new one.".into(),
    )
}

/// POST /api/auth/accept-invite {token, name, password} — joins the team and signs in.
pub async fn accept(cx: &mut Ctx) -> ApiResult<Response> {
    let body = cx.json(BODY_LIMIT).await?;
    let mut f = Fields::new(&body)?;
    let token = f.raw_string("token", 256);
    let name = f.text("name", 100);
    let password = f.parsed("password", Password::parse);
    let (token, name, password) = f.finish((token, name, password))?;

    let token_hash = sha256_hex(&token).await?;
    let invite = invites::find_by_token(&cx.db, &token_hash)
        .await?
        .ok_or(ApiError::NotFound)?;
    if invite.accepted_at.is_some() || invite.revoked_at.is_some() || invite.expires_at <= cx.now {
        return Err(gone());
    }
    if identity::email_registered(&cx.db, &invite.email).await? {
        return Err(email_taken());
    }
    let password_hash = platform::hash_password(&password).await?;
    let user_id = UserId::new(new_id()?);
    let session = new_session().await?;
    let team = Team::joining(&cx.db, &invite.team_id);
    let role = invite.role;
    let user = NewUser {
        id: &user_id,
        email: &invite.email,
        name: &name,
        role,
        password_hash: &password_hash,
    };
    let event = Event {
        action: "member.joined",
        target_type: "member",
        target_id: Some(user_id.as_str()),
        detail: json!({"email": invite.email, "role": invite.role, "invite_id": invite.id}),
    };
    // Each statement runs only if the one before it changed a row: invite claimed -> user
    // created -> session -> log entry. A lost race changes nothing.
    let mut statements = invites::accept(&team, &invite, &user, cx.now)?;
    statements.push(identity::insert_session_if_changed(
        &team,
        &user_id,
        &session.hash,
        cx.now,
    )?);
    let joined = Actor {
        id: &user_id,
        email: &invite.email,
    };
    statements.push(activity::record_if_changed(
        &team,
        &new_id()?,
        Some(joined),
        event,
        cx.now,
    )?);
    let results = match cx.db.batch(statements).await {
        Err(e) if is_unique_violation(&e, "users.email") => return Err(email_taken()),
        other => other?,
    };
    if changes(&results[1]) == 0 {
        return Err(gone());
    }
    let note = crate::notify::Note {
        category: "team",
        kind: "member.joined",
        title: format!("{name} joined the team"),
        message: format!(
            "{name} ({}) accepted an invite as {}.",
            invite.email, invite.role
        ),
        link: Some("/team".into()),
    };
    crate::notify::raise(&team, Some(&user_id), note).await;
    let team_name = crate::store::teams::get(&team)
        .await?
        .map(|t| t.name)
        .unwrap_or_default();
    let profile = Profile::new(
        &user_id,
        &invite.email,
        &name,
        &invite.team_id,
        &team_name,
        invite.role,
    );
    Ok(with_cookie(
        respond::ok(&profile),
        cx,
        &session.token,
        session::max_age_s(),
    ))
}
