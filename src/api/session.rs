//! Signing a person in, shared by sign-up, login and accepting an invite: a new session token
//! (stored only as its SHA-256), the cookie that carries it, and the profile they answer.

use serde::Serialize;
use serde_json::json;
use worker::Response;

use super::error::{ApiError, ApiResult};
use super::extract::{Caller, Ctx, SESSION_COOKIE};
use crate::domain::ids::{TeamId, UserId};
use crate::domain::role::Role;
use crate::platform::{new_secret, sha256_hex};
use crate::store::identity;

/// What sign-up, login, accept-invite and `me` answer.
#[derive(Serialize)]
pub struct Profile {
    user: serde_json::Value,
    team: serde_json::Value,
    role: Role,
}

impl Profile {
    pub fn new(
        user_id: &UserId,
        email: &str,
        name: &str,
        team_id: &TeamId,
        team_name: &str,
        role: Role,
    ) -> Profile {
        Profile {
            user: json!({"id": user_id, "email": email, "name": name}),
            team: json!({"id": team_id, "name": team_name}),
            role,
        }
    }

    pub fn of(caller: &Caller) -> Profile {
        Profile::new(
            &caller.user_id,
            &caller.email,
            &caller.name,
            &caller.team_id,
            &caller.team_name,
            caller.role,
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

/// The cookie's lifetime: the session's.
pub fn max_age_s() -> i64 {
    identity::SESSION_TTL_MS / 1000
}
