//! Access tokens for programs: shown once, never more powerful than their creator, revoked at
//! once (`/api/access-tokens`).

use crate::helpers::{app, string, unique, Auth, TestApp, TestResponse, Token};
use serde_json::json;

fn create(app: &TestApp, by: &Auth, role: &str) -> TestResponse {
    let body = json!({"name": unique("token"), "role": role});
    app.post_json("/api/access-tokens", &body, by)
}

fn delete(app: &TestApp, by: &Auth, token: &Token) -> TestResponse {
    app.delete(&format!("/api/access-tokens/{}", token.id), by)
}

#[test]
fn a_member_creates_a_token_that_is_shown_only_once() {
    let app = app();
    let (_team, member) = app.as_role("member");
    let name = unique("ci");
    let created = app
        .post_json(
            "/api/access-tokens",
            &json!({"name": name, "role": "viewer"}),
            &member.auth,
        )
        .expect(201);
    assert_eq!(created["name"], name.as_str());
    assert_eq!(created["role"], "viewer");
    assert!(created["id"].is_string() && created["created_at"].is_i64());
    let token = string(&created["token"]);
    assert!(token.len() >= 20, "a short token: {token}");

    let listed = app.get("/api/access-tokens", &member.auth);
    assert!(!listed.body.contains(&token), "token in the list: {listed}");
    let entry = listed.json()["data"]
        .as_array()
        .and_then(|d| d.iter().find(|t| t["id"] == created["id"]).cloned())
        .unwrap_or_else(|| panic!("not listed: {listed}"));
    assert_eq!(entry["user_id"], member.user_id.as_str());
    assert_eq!(entry["name"], name.as_str());
    assert!(entry.get("token").is_none(), "{entry}");
    assert!(entry.get("last_used_at").is_some() && entry["created_at"].is_i64());

    let used = app.get("/api/access-tokens", &Auth::Bearer(token.clone()));
    assert!(
        !used.body.contains(&token),
        "token in a later answer: {used}"
    );
}

#[test]
fn a_token_works_as_a_bearer_with_its_own_role() {
    let app = app();
    let team = app.signup_team();
    let token = app.create_token(&team.owner.auth, "viewer");
    let me = app.get("/api/auth/me", &token.auth()).expect(200);
    assert_eq!(me["user"]["id"], team.owner.user_id.as_str());
    assert_eq!(me["team"]["id"], team.team_id.as_str());
    assert_eq!(me["role"], "viewer");
    app.get("/api/team/members", &token.auth()).expect(200);
    create(app, &token.auth(), "viewer").assert_error(403, "forbidden");
    app.get("/api/team/invites", &token.auth())
        .assert_error(403, "forbidden");
}

#[test]
fn a_token_above_its_creators_role_gets_403() {
    let app = app();
    let (_team, member) = app.as_role("member");
    for role in ["admin", "owner"] {
        create(app, &member.auth, role).assert_error(403, "forbidden");
    }
    for role in ["viewer", "member"] {
        create(app, &member.auth, role).expect(201);
    }
}

#[test]
fn a_tokens_role_is_capped_by_its_creators_current_role() {
    let app = app();
    let (team, admin) = app.as_role("admin");
    let token = app.create_token(&admin.auth, "admin");
    app.get("/api/team/invites", &token.auth()).expect(200);
    let path = format!("/api/team/members/{}", admin.user_id);
    app.patch_json(&path, &json!({"role": "viewer"}), &team.owner.auth)
        .expect(200);
    let me = app.get("/api/auth/me", &token.auth()).expect(200);
    assert_eq!(me["role"], "viewer");
    app.get("/api/team/invites", &token.auth())
        .assert_error(403, "forbidden");
}

#[test]
fn deleting_a_token_revokes_it_at_once() {
    let app = app();
    let (_team, member) = app.as_role("member");
    let token = app.create_token(&member.auth, "member");
    app.get("/api/auth/me", &token.auth()).expect(200);
    delete(app, &member.auth, &token).expect(204);
    app.get("/api/auth/me", &token.auth())
        .assert_error(401, "unauthorized");
    delete(app, &member.auth, &token).assert_error(404, "not_found");
    let listed = app.get("/api/access-tokens", &member.auth);
    assert!(!listed.body.contains(&token.id), "still listed: {listed}");
}

#[test]
fn only_the_creator_or_an_admin_deletes_a_token() {
    let app = app();
    let (team, member) = app.as_role("member");
    let colleague = team.member(app, "member");
    let admin = team.member(app, "admin");
    let token = app.create_token(&member.auth, "viewer");
    delete(app, &colleague.auth, &token).assert_error(403, "forbidden");
    app.get("/api/team", &token.auth()).expect(200);
    delete(app, &admin.auth, &token).expect(204);
    app.get("/api/team", &token.auth())
        .assert_error(401, "unauthorized");
}

#[test]
fn an_unknown_token_role_or_empty_name_gets_422() {
    let app = app();
    let team = app.signup_team();
    let cases = [
        (json!({"name": "ci", "role": "emperor"}), "role"),
        (json!({"name": "", "role": "viewer"}), "name"),
    ];
    for (body, field) in cases {
        let resp = app.post_json("/api/access-tokens", &body, &team.owner.auth);
        assert_eq!(resp.invalid_fields(), [field], "{resp}");
    }
}
