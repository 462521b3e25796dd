//! Sign-up, login, logout and "who am I". Sessions are random tokens in an `HttpOnly` cookie,
//! stored only as their SHA-256; passwords are PBKDF2-SHA256 through WebCrypto.

use serde_json::json;
use worker::Response;

use super::error::{ApiError, ApiResult};
use super::extract::{Ctx, Via, BODY_LIMIT};
use super::respond;
use super::session::{self, email_taken, new_session, with_cookie, Profile};
use crate::domain::email::Email;
use crate::domain::fields::Fields;
use crate::domain::ids::{TeamId, UserId};
use crate::domain::password::{Password, FAILURE_WINDOW_MS, MAX_FAILURES};
use crate::domain::role::Role;
use crate::platform::{self, new_id};
use crate::store::activity::{self, Actor, Event};
use crate::store::members::{self, NewUser};
use crate::store::{identity, is_unique_violation, teams, Team};

/// POST /api/auth/signup — creates a team and its owner, and signs the owner in.
pub async fn signup(cx: &mut Ctx) -> ApiResult<Response> {
    if cx.var("SIGNUP").as_deref() == Some("closed") {
        return Err(ApiError::SignupClosed);
    }
    let body = cx.json(BODY_LIMIT).await?;
    let mut f = Fields::new(&body)?;
    let email = f.parsed("email", Email::parse);
    let password = f.parsed("password", Password::parse);
    let name = f.text("name", 100);
    let team_name = f.text("team_name", 100);
    let (email, password, name, team_name) = f.finish((email, password, name, team_name))?;

    // Checked first only to skip the costly hash; the unique index decides races.
    if identity::email_registered(&cx.db, email.as_str()).await? {
        return Err(email_taken());
    }
    let password_hash = platform::hash_password(&password).await?;
    let (team_id, user_id) = (TeamId::new(new_id()?), UserId::new(new_id()?));
    let session = new_session().await?;
    let team = Team::joining(&cx.db, &team_id);
    let user = NewUser {
        id: &user_id,
        email: email.as_str(),
        name: &name,
        role: Role::Owner,
        password_hash: &password_hash,
    };
    let actor = Actor {
        id: &user_id,
        email: email.as_str(),
    };
    let created = Event {
        action: "team.created",
        target_type: "team",
        target_id: Some(team_id.as_str()),
        detail: json!({"name": team_name}),
    };
    let statements = vec![
        teams::insert(&team, &team_name, cx.now)?,
        members::insert(&team, &user, cx.now)?,
        identity::insert_session(&team, &user_id, &session.hash, cx.now)?,
        activity::record(&team, &new_id()?, Some(actor), created, cx.now)?,
    ];
    match cx.db.batch(statements).await {
        Err(e) if is_unique_violation(&e, "users.email") => return Err(email_taken()),
        other => other?,
    };
    let profile = Profile::new(
        &user_id,
        email.as_str(),
        &name,
        &team_id,
        &team_name,
        Role::Owner,
    );
    Ok(with_cookie(
        respond::created(&profile),
        cx,
        &session.token,
        session::max_age_s(),
    ))
}

/// POST /api/auth/login — a wrong password and an unknown email get the same answer.
pub async fn login(cx: &mut Ctx) -> ApiResult<Response> {
    let body = cx.json(BODY_LIMIT).await?;
    let mut f = Fields::new(&body)?;
    let email = f.parsed("email", Email::parse);
    let password = f.raw_string("password", 1024);
    let (email, password) = f.finish((email, password))?;

    // The attempt is recorded (and the lockout decided) before the password is checked, in one
    // atomic statement: however many guesses arrive at once, at most MAX_FAILURES get a 401.
    let since = cx.now - FAILURE_WINDOW_MS;
    if !identity::claim_attempt(&cx.db, email.as_str(), cx.now, since, MAX_FAILURES).await? {
        let oldest = identity::oldest_failure(&cx.db, email.as_str(), since).await?;
        let frees_at = oldest.unwrap_or(cx.now) + FAILURE_WINDOW_MS;
        return Err(ApiError::RateLimited {
            retry_after_s: (frees_at - cx.now + 999).max(1000) / 1000,
        });
    }
    let row = identity::login_row(&cx.db, email.as_str()).await?;
    let valid =
        platform::verify_password(&password, row.as_ref().map(|r| r.password_hash.as_str()))
            .await?;
    let Some(row) = row.filter(|_| valid) else {
        return Err(ApiError::InvalidCredentials);
    };
    let session = new_session().await?;
    cx.db
        .batch(vec![
            identity::insert_session(
                &Team::joining(&cx.db, &row.team_id),
                &row.id,
                &session.hash,
                cx.now,
            )?,
            identity::clear_failures(&cx.db, email.as_str())?,
        ])
        .await?;
    let profile = Profile::new(
        &row.id,
        &row.email,
        &row.name,
        &row.team_id,
        &row.team_name,
        row.role,
    );
    Ok(with_cookie(
        respond::ok(&profile),
        cx,
        &session.token,
        session::max_age_s(),
    ))
}

/// POST /api/auth/logout — revokes the session server-side and clears the cookie.
pub async fn logout(cx: &mut Ctx) -> ApiResult<Response> {
    let caller = cx.require(Role::Viewer).await?;
    if let Via::Session { token_hash } = &caller.via {
        identity::delete_session(&cx.db, token_hash).await?;
    }
    Ok(with_cookie(respond::no_content(), cx, "", 0))
}

/// GET /api/auth/me
pub async fn me(cx: &mut Ctx) -> ApiResult<Response> {
    // The answer is the caller itself, so it is read fresh (one round trip either way), never
    // from what this isolate remembers of them.
    let caller = cx.caller().await?.ok_or(ApiError::Unauthorized)?;
    Ok(respond::ok(&Profile::of(&caller)))
}
