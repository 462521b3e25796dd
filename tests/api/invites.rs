//! Invites: creating, listing, revoking and accepting them (`/api/team/invites`,
//! `/api/auth/accept-invite`).

use crate::helpers::{
    app, invite_token, string, unique_email, unique_password, Auth, Invite, Member, TestApp,
};
use serde_json::{json, Value};
use std::time::{SystemTime, UNIX_EPOCH};

const WEEK_MS: i64 = 7 * 24 * 60 * 60 * 1000;

fn now_ms() -> i64 {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH);
    since_epoch.map(|d| d.as_millis() as i64).unwrap_or(0)
}

fn pending(app: &TestApp, auth: &Auth) -> Vec<Value> {
    let page = app.get("/api/team/invites", auth).expect(200);
    page["data"].as_array().expect("data is a list").clone()
}

fn is_pending(app: &TestApp, auth: &Auth, invite: &Invite) -> bool {
    pending(app, auth)
        .iter()
        .any(|i| i["id"] == invite.id.as_str())
}

#[test]
fn an_admin_creates_an_invite_whose_token_only_the_create_answer_shows() {
    let app = app();
    let (_team, admin) = app.as_role("admin");
    let email = unique_email("invitee");
    let body = json!({"email": email, "role": "member"});
    let created = app
        .post_json("/api/team/invites", &body, &admin.auth)
        .expect(201);
    assert_eq!(created["email"], email.as_str());
    assert_eq!(created["role"], "member");
    let expires_at = created["expires_at"].as_i64().expect("expires_at");
    assert!(
        (expires_at - now_ms() - WEEK_MS).abs() < 5 * 60 * 1000,
        "{created}"
    );
    let url = string(&created["invite_url"]);
    let prefix = format!("{}/accept-invite?token=", app.address);
    assert!(
        url.starts_with(&prefix),
        "{url} does not start with {prefix}"
    );
    let token = invite_token(&url);
    assert!(token.len() >= 20, "a short token: {token}");

    let listed = app.get("/api/team/invites", &admin.auth);
    assert!(!listed.body.contains(&token), "token in the list: {listed}");
    let entry = listed.json()["data"]
        .as_array()
        .and_then(|data| data.iter().find(|i| i["id"] == created["id"]).cloned())
        .unwrap_or_else(|| panic!("not listed: {listed}"));
    for field in ["email", "role", "created_at", "expires_at"] {
        assert!(!entry[field].is_null(), "{field}: {entry}");
    }
    assert!(entry.get("invite_url").is_none() && entry.get("token").is_none());
}

#[test]
fn accepting_an_invite_joins_the_team_with_the_invited_role() {
    let app = app();
    let team = app.signup_team();
    let invite = app.invite(&team.owner.auth, &unique_email("joiner"), "admin");
    let password = unique_password();
    let resp = app.accept_invite(&invite.token, &password);
    let body = resp.expect(200);
    assert_eq!(body["role"], "admin");
    assert_eq!(body["user"]["email"], invite.email.as_str());
    assert_eq!(body["team"]["id"], team.team_id.as_str());

    let joiner = Member::from_sign_in(&resp, &password);
    let me = app.get("/api/auth/me", &joiner.auth).expect(200);
    assert_eq!(me["role"], "admin");
    assert_eq!(me["team"]["id"], team.team_id.as_str());
    assert!(!is_pending(app, &team.owner.auth, &invite));
    app.login(&invite.email, &password).expect(200);
}

#[test]
fn an_invite_is_single_use() {
    let app = app();
    let team = app.signup_team();
    let invite = app.invite(&team.owner.auth, &unique_email("once"), "viewer");
    app.accept_invite(&invite.token, &unique_password())
        .expect(200);
    app.accept_invite(&invite.token, &unique_password())
        .assert_error(410, "invite_gone");
}

#[test]
fn a_revoked_invite_is_gone() {
    let app = app();
    let (team, admin) = app.as_role("admin");
    let invite = app.invite(&team.owner.auth, &unique_email("revoked"), "viewer");
    let path = format!("/api/team/invites/{}", invite.id);
    app.delete(&path, &admin.auth).expect(204);
    app.delete(&path, &admin.auth)
        .assert_error(404, "not_found");
    assert!(!is_pending(app, &admin.auth, &invite));
    app.accept_invite(&invite.token, &unique_password())
        .assert_error(410, "invite_gone");
}

#[test]
fn an_expired_invite_is_gone() {
    let app = app();
    let team = app.signup_team();
    let invite = app.invite(&team.owner.auth, &unique_email("expired"), "viewer");
    app.sql(&format!(
        "UPDATE invites SET expires_at = 1 WHERE id = '{}'",
        invite.id
    ));
    app.accept_invite(&invite.token, &unique_password())
        .assert_error(410, "invite_gone");
}

#[test]
fn an_unknown_invite_token_gets_404() {
    let app = app();
    app.accept_invite("no-such-invite-token-at-all", &unique_password())
        .assert_error(404, "not_found");
}

#[test]
fn only_an_owner_invites_an_owner() {
    let app = app();
    let (team, admin) = app.as_role("admin");
    let body = json!({"email": unique_email("boss"), "role": "owner"});
    app.post_json("/api/team/invites", &body, &admin.auth)
        .assert_error(403, "forbidden");
    let invite = app.invite(&team.owner.auth, &unique_email("boss"), "owner");
    let joined = app.accept_invite(&invite.token, &unique_password());
    assert_eq!(joined.expect(200)["role"], "owner");
}

#[test]
fn inviting_a_registered_email_gets_409() {
    let app = app();
    let team = app.signup_team();
    let elsewhere = app.signup_team();
    for email in [&team.owner.email, &elsewhere.owner.email] {
        let body = json!({"email": email.to_uppercase(), "role": "viewer"});
        app.post_json("/api/team/invites", &body, &team.owner.auth)
            .assert_error(409, "email_taken");
    }
}

#[test]
fn accepting_an_invite_for_an_email_registered_since_gets_409() {
    let app = app();
    let team = app.signup_team();
    let email = unique_email("raced");
    let invite = app.invite(&team.owner.auth, &email, "viewer");
    app.signup(&email, &unique_password()).expect(201);
    app.accept_invite(&invite.token, &unique_password())
        .assert_error(409, "email_taken");
}

#[test]
fn an_invalid_invite_role_or_email_gets_422() {
    let app = app();
    let team = app.signup_team();
    let cases = [
        (json!({"email": unique_email("x"), "role": "king"}), "role"),
        (json!({"email": "not an email", "role": "viewer"}), "email"),
    ];
    for (body, field) in cases {
        let resp = app.post_json("/api/team/invites", &body, &team.owner.auth);
        assert_eq!(resp.invalid_fields(), [field], "{resp}");
    }
}

#[test]
fn the_log_mailer_keeps_no_usable_link_in_the_outbox() {
    let app = app();
    let team = app.signup_team();
    let email = unique_email("logged");
    let invite = app.invite(&team.owner.auth, &email, "viewer");
    let out = app.sql(&format!(
        "SELECT body, sent_at FROM outbox WHERE to_email = '{email}'"
    ));
    let row = &out[0]["results"][0];
    let body = row["body"].as_str().unwrap_or_default();
    assert!(row["sent_at"].is_i64(), "{row}");
    assert!(body.contains("invited you"), "{row}");
    assert!(
        !body.contains(&invite.token),
        "the stored body holds the link: {body}"
    );
    assert!(!body.contains("token="), "{body}");
    // The invite itself still works.
    app.accept_invite(&invite.token, &unique_password())
        .expect(200);
}
