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

#[test]
fn access_tokens_are_created_and_revoked_only_from_a_session() {
    let app = app();
    let team = app.signup_team();
    let owner_token = app.create_token(&team.owner.auth, "owner");
    create(app, &owner_token.auth(), "viewer").assert_error(403, "forbidden");
    let other = app.create_token(&team.owner.auth, "viewer");
    delete(app, &owner_token.auth(), &other).assert_error(403, "forbidden");
    delete(app, &owner_token.auth(), &owner_token).assert_error(403, "forbidden");
    // The session still does both.
    delete(app, &team.owner.auth, &other).expect(204);
    app.get("/api/auth/me", &other.auth())
        .assert_error(401, "unauthorized");
}

#[test]
fn a_token_with_expires_in_days_stops_working_when_it_expires() {
    let app = app();
    let team = app.signup_team();
    let body = json!({"name": unique("expiring"), "role": "viewer", "expires_in_days": 30});
    let created = app
        .post_json("/api/access-tokens", &body, &team.owner.auth)
        .expect(201);
    let expires_at = created["expires_at"].as_i64().unwrap_or(0);
    let created_at = created["created_at"].as_i64().unwrap_or(0);
    assert_eq!(expires_at - created_at, 30 * 86_400_000, "{created}");
    let bearer = Auth::Bearer(string(&created["token"]));
    app.get("/api/workflows", &bearer).expect(200);
    app.sql(&format!(
        "UPDATE access_tokens SET expires_at = {} WHERE id = '{}'",
        created_at,
        string(&created["id"])
    ));
    app.get("/api/workflows", &bearer)
        .assert_error(401, "unauthorized");
    app.get("/api/auth/me", &bearer)
        .assert_error(401, "unauthorized");
    // A token made without it never expires.
    let forever = create(app, &team.owner.auth, "viewer").expect(201);
    assert!(forever["expires_at"].is_null(), "{forever}");
}

#[test]
fn expires_in_days_outside_1_to_365_gets_422() {
    let app = app();
    let team = app.signup_team();
    for days in [json!(0), json!(366), json!(1.5), json!("7")] {
        let body = json!({"name": unique("t"), "role": "viewer", "expires_in_days": days});
        let resp = app.post_json("/api/access-tokens", &body, &team.owner.auth);
        assert_eq!(resp.invalid_fields(), ["expires_in_days"], "{days}: {resp}");
    }
}

#[test]
fn the_list_shows_when_a_token_was_last_used() {
    let app = app();
    let team = app.signup_team();
    let token = app.create_token(&team.owner.auth, "viewer");
    app.get("/api/workflows", &token.auth()).expect(200);
    let started = std::time::Instant::now();
    loop {
        let listed = app.get("/api/access-tokens", &team.owner.auth).expect(200);
        let entry = listed["data"]
            .as_array()
            .and_then(|d| d.iter().find(|t| t["id"] == token.id.as_str()).cloned())
            .unwrap_or_default();
        if entry["last_used_at"].is_i64() {
            assert!(entry.get("expires_at").is_some(), "{entry}");
            break;
        }
        assert!(
            started.elapsed().as_secs() < 10,
            "never marked used: {entry}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}
