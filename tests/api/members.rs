//! The team's members: listing, role changes and removal (`/api/team/members`).

use crate::helpers::{app, ids, Auth, Member, TestApp, TestResponse};
use serde_json::{json, Value};

fn set_role(app: &TestApp, by: &Auth, member: &Member, role: &str) -> TestResponse {
    let path = format!("/api/team/members/{}", member.user_id);
    app.patch_json(&path, &json!({ "role": role }), by)
}

fn remove(app: &TestApp, by: &Auth, member: &Member) -> TestResponse {
    app.delete(&format!("/api/team/members/{}", member.user_id), by)
}

fn members(app: &TestApp, auth: &Auth) -> Vec<Value> {
    let page = app.get("/api/team/members", auth).expect(200);
    page["data"].as_array().expect("data is a list").clone()
}

fn role_of(app: &TestApp, member: &Member) -> String {
    let me = app.get("/api/auth/me", &member.auth).expect(200);
    me["role"].as_str().unwrap_or("").to_string()
}

#[test]
fn a_viewer_lists_every_member_with_their_role() {
    let app = app();
    let (team, viewer) = app.as_role("viewer");
    let admin = team.member(app, "admin");
    let listed = members(app, &viewer.auth);
    assert_eq!(listed.len(), 3, "{listed:?}");
    for (who, role) in [
        (&team.owner, "owner"),
        (&admin, "admin"),
        (&viewer, "viewer"),
    ] {
        let entry = listed
            .iter()
            .find(|m| m["id"] == who.user_id.as_str())
            .unwrap_or_else(|| panic!("{} not listed: {listed:?}", who.email));
        assert_eq!(entry["email"], who.email.as_str());
        assert_eq!(entry["role"], role);
        assert!(
            entry["name"].is_string() && entry["joined_at"].is_i64(),
            "{entry}"
        );
        assert!(entry.get("last_active_at").is_some(), "{entry}");
    }
}

#[test]
fn paging_members_with_limit_1_walks_every_member() {
    let app = app();
    let team = app.signup_team();
    for role in ["viewer", "member", "admin"] {
        team.member(app, role);
    }
    let mut walked = ids(&app.walk("/api/team/members", &team.owner.auth));
    let mut listed = ids(&members(app, &team.owner.auth));
    assert_eq!(walked.len(), 4, "{walked:?}");
    walked.sort();
    walked.dedup();
    listed.sort();
    assert_eq!(walked, listed);
}

#[test]
fn an_admin_changes_a_members_role() {
    let app = app();
    let (team, admin) = app.as_role("admin");
    let member = team.member(app, "member");
    let body = set_role(app, &admin.auth, &member, "viewer").expect(200);
    assert_eq!(body["id"], member.user_id.as_str());
    assert_eq!(body["email"], member.email.as_str());
    assert_eq!(body["role"], "viewer");
    assert_eq!(role_of(app, &member), "viewer");
}

#[test]
fn a_role_change_takes_effect_on_the_next_request() {
    let app = app();
    let (team, admin) = app.as_role("admin");
    app.get("/api/team/invites", &admin.auth).expect(200);
    set_role(app, &team.owner.auth, &admin, "viewer").expect(200);
    app.get("/api/team/invites", &admin.auth)
        .assert_error(403, "forbidden");
    set_role(app, &team.owner.auth, &admin, "admin").expect(200);
    app.get("/api/team/invites", &admin.auth).expect(200);
}

#[test]
fn an_invalid_role_gets_422_naming_role() {
    let app = app();
    let (team, viewer) = app.as_role("viewer");
    for role in ["superuser", "", "admins"] {
        let resp = set_role(app, &team.owner.auth, &viewer, role);
        assert_eq!(resp.invalid_fields(), ["role"], "{resp}");
    }
    assert_eq!(role_of(app, &viewer), "viewer");
}

#[test]
fn only_an_owner_grants_or_takes_away_the_owner_role() {
    let app = app();
    let (team, admin) = app.as_role("admin");
    let member = team.member(app, "member");
    set_role(app, &admin.auth, &member, "owner").assert_error(403, "forbidden");
    set_role(app, &admin.auth, &team.owner, "admin").assert_error(403, "forbidden");
    remove(app, &admin.auth, &team.owner).assert_error(403, "forbidden");

    set_role(app, &team.owner.auth, &member, "owner").expect(200);
    assert_eq!(role_of(app, &member), "owner");
    // With two owners, one may step the other down.
    set_role(app, &member.auth, &team.owner, "admin").expect(200);
    assert_eq!(role_of(app, &team.owner), "admin");
}

#[test]
fn the_last_owner_cannot_be_demoted() {
    let app = app();
    let team = app.signup_team();
    team.member(app, "admin");
    set_role(app, &team.owner.auth, &team.owner, "admin").assert_error(409, "last_owner");
    assert_eq!(role_of(app, &team.owner), "owner");
}

#[test]
fn the_last_owner_cannot_be_removed() {
    let app = app();
    let team = app.signup_team();
    remove(app, &team.owner.auth, &team.owner).assert_error(409, "last_owner");
    assert_eq!(role_of(app, &team.owner), "owner");
}

#[test]
fn a_removed_members_session_and_tokens_stop_working_at_once() {
    let app = app();
    let (team, admin) = app.as_role("admin");
    let member = team.member(app, "member");
    let token = app.create_token(&member.auth, "member");
    app.get("/api/team", &token.auth()).expect(200);

    remove(app, &admin.auth, &member).expect(204);
    app.get("/api/auth/me", &member.auth)
        .assert_error(401, "unauthorized");
    app.get("/api/team", &token.auth())
        .assert_error(401, "unauthorized");
    remove(app, &admin.auth, &member).assert_error(404, "not_found");
    let listed = ids(&members(app, &admin.auth));
    assert!(!listed.contains(&member.user_id), "{listed:?}");
    app.login(&member.email, &member.password)
        .assert_error(401, "invalid_credentials");
}
