//! Sign-up, login, logout and "who am I". Sessions are random tokens in an `HttpOnly` cookie,
//! stored only as their SHA-256; passwords are PBKDF2-SHA256 through WebCrypto.

use serde::Serialize;
use serde_json::json;
use worker::Response;

use super::error::{ApiError, ApiResult};
use super::extract::{Caller, Ctx, Via, BODY_LIMIT, SESSION_COOKIE};
use super::respond;
use crate::domain::email::Email;
use crate::domain::fields::Fields;
use crate::domain::password::Password;
use crate::domain::role::Role;
use crate::platform::{self, new_id, new_secret, sha256_hex};
use crate::store::activity::{self, Actor, Event};
use crate::store::members::{self, NewUser};
use crate::store::{identity, is_unique_violation, teams, Team};

/// Failed logins counted per email over this window...
pub const FAILURE_WINDOW_MS: i64 = 15 * 60_000;
/// ...and this many of them lock that email out until the oldest leaves the window.
const MAX_FAILURES: i64 = 10;

/// What sign-up, login, accept-invite and `me` answer.
#[derive(Serialize)]
pub struct Profile {
    user: serde_json::Value,
    team: serde_json::Value,
    role: String,
}

impl Profile {
    pub fn new(
        user_id: &str,
        email: &str,
        name: &str,
        team_id: &str,
        team_name: &str,
        role: &str,
    ) -> Profile {
        Profile {
            user: json!({"id": user_id, "email": email, "name": name}),
            team: json!({"id": team_id, "name": team_name}),
            role: role.to_string(),
        }
    }

    fn of(caller: &Caller) -> Profile {
        Profile::new(
            &caller.user_id,
            &caller.email,
            &caller.name,
            &caller.team_id,
            &caller.team_name,
            caller.role.as_str(),
        )
    }
}

pub fn email_taken() -> ApiError {
    ApiError::conflict("email_taken", "An account with this email already exists.")
}

/// A new session: the token for the cookie and its hash for D1.
pub struct NewSession {
    pub token: String,
    pub hash: String,
}

pub async fn new_session() -> ApiResult<NewSession> {
    let token = new_secret("bs")?;
    let hash = sha256_hex(&token).await?;
    Ok(NewSession { token, hash })
}

/// Attaches the session cookie (`Secure` everywhere but local development).
pub fn with_cookie(mut response: Response, cx: &Ctx, value: &str, max_age_s: i64) -> Response {
    let secure = if cx.is_development() { "" } else { "; Secure" };
    let cookie = format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_s}{secure}"
    );
    let _ = response.headers_mut().set("set-cookie", &cookie);
    response
}

fn session_max_age_s() -> i64 {
    identity::SESSION_TTL_MS / 1000
}

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
    let (team_id, user_id) = (new_id()?, new_id()?);
    let session = new_session().await?;
    let team = Team {
        db: &cx.db,
        id: &team_id,
    };
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
        target_id: Some(&team_id),
        detail: json!({"name": team_name}),
    };
    let statements = vec![
        teams::insert(&cx.db, &team_id, &team_name, cx.now)?,
        members::insert(&cx.db, &team_id, &user, cx.now)?,
        identity::insert_session(&cx.db, &session.hash, &user_id, &team_id, cx.now)?,
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
        Role::Owner.as_str(),
    );
    Ok(with_cookie(
        respond::created(&profile),
        cx,
        &session.token,
        session_max_age_s(),
    ))
}

/// POST /api/auth/login — a wrong password and an unknown email get the same answer.
pub async fn login(cx: &mut Ctx) -> ApiResult<Response> {
    let body = cx.json(BODY_LIMIT).await?;
    let mut f = Fields::new(&body)?;
    let email = f.parsed("email", Email::parse);
    let password = f.raw_string("password", 1024);
    let (email, password) = f.finish((email, password))?;

    let failures =
        identity::recent_failures(&cx.db, email.as_str(), cx.now - FAILURE_WINDOW_MS).await?;
    if failures.count >= MAX_FAILURES {
        let frees_at = failures.oldest.unwrap_or(cx.now) + FAILURE_WINDOW_MS;
        return Err(ApiError::RateLimited {
            retry_after_s: (frees_at - cx.now + 999) / 1000,
        });
    }
    let row = identity::login_row(&cx.db, email.as_str()).await?;
    let valid =
        platform::verify_password(&password, row.as_ref().map(|r| r.password_hash.as_str()))
            .await?;
    let Some(row) = row.filter(|_| valid) else {
        identity::record_failure(&cx.db, email.as_str(), cx.now).await?;
        return Err(ApiError::InvalidCredentials);
    };
    let session = new_session().await?;
    cx.db
        .batch(vec![
            identity::insert_session(&cx.db, &session.hash, &row.id, &row.team_id, cx.now)?,
            identity::clear_failures(&cx.db, email.as_str())?,
        ])
        .await?;
    let profile = Profile::new(
        &row.id,
        &row.email,
        &row.name,
        &row.team_id,
        &row.team_name,
        &row.role,
    );
    Ok(with_cookie(
        respond::ok(&profile),
        cx,
        &session.token,
        session_max_age_s(),
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
    let caller = cx.require(Role::Viewer).await?;
    Ok(respond::ok(&Profile::of(&caller)))
}
