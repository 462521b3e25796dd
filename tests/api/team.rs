//! The team itself and its audit log (`/api/team`, `/api/team/activity`).

use crate::helpers::{app, string, unique, unique_email, Auth, TestApp};
use serde_json::{json, Value};

#[test]
fn every_role_reads_the_team() {
    let app = app();
    let team = app.signup_team();
    for role in ["viewer", "member", "admin", "owner"] {
        let caller = match role {
            "owner" => team.owner.clone(),
            _ => team.member(app, role),
        };
        let body = app.get("/api/team", &caller.auth).expect(200);
        assert_eq!(body["id"], team.team_id.as_str(), "as {role}");
        assert!(
            body["name"].is_string() && body["created_at"].is_i64(),
            "{body}"
        );
    }
}

#[test]
fn an_admin_renames_the_team() {
    let app = app();
    let (team, admin) = app.as_role("admin");
    let name = unique("renamed");
    let body = app
        .patch_json("/api/team", &json!({ "name": name }), &admin.auth)
        .expect(200);
    assert_eq!(body["id"], team.team_id.as_str());
    assert_eq!(body["name"], name.as_str());
    assert!(body["created_at"].is_i64(), "{body}");
    let read = app.get("/api/team", &team.owner.auth).expect(200);
    assert_eq!(read, body);
    let me = app.get("/api/auth/me", &admin.auth).expect(200);
    assert_eq!(me["team"]["name"], name.as_str());
}

#[test]
fn a_team_name_that_is_empty_or_over_100_characters_gets_422() {
    let app = app();
    let team = app.signup_team();
    for name in [String::new(), "   ".to_string(), "t".repeat(101)] {
        let resp = app.patch_json("/api/team", &json!({ "name": name }), &team.owner.auth);
        assert_eq!(resp.invalid_fields(), ["name"], "{resp}");
    }
}

fn activity(app: &TestApp, auth: &Auth) -> Vec<Value> {
    let page = app.get("/api/team/activity?limit=200", auth).expect(200);
    page["data"].as_array().expect("data is a list").clone()
}

#[test]
fn the_activity_log_records_who_did_what_newest_first() {
    let app = app();
    let team = app.signup_team();
    let owner = &team.owner.auth;
    app.patch_json("/api/team", &json!({"name": unique("renamed")}), owner)
        .expect(200);
    let invite = app.invite(owner, &unique_email("revoked"), "viewer");
    app.delete(&format!("/api/team/invites/{}", invite.id), owner)
        .expect(204);
    let member = team.member(app, "member");
    let member_path = format!("/api/team/members/{}", member.user_id);
    app.patch_json(&member_path, &json!({"role": "admin"}), owner)
        .expect(200);
    let token = app.create_token(owner, "viewer");
    app.delete(&format!("/api/access-tokens/{}", token.id), owner)
        .expect(204);
    app.delete(&member_path, owner).expect(204);

    let viewer = team.member(app, "viewer");
    let entries = activity(app, &viewer.auth);
    let actions: Vec<String> = entries.iter().map(|e| string(&e["action"])).collect();
    for wanted in [
        "team.created",
        "team.updated",
        "invite.created",
        "invite.revoked",
        "member.joined",
        "member.role_changed",
        "access_token.created",
        "access_token.deleted",
        "member.removed",
    ] {
        assert!(
            actions.iter().any(|a| a == wanted),
            "no {wanted} in {actions:?}"
        );
    }
    // Newest first: the latest occurrence of each, in the reverse of the order done above.
    let newest = |action: &str| actions.iter().position(|a| a == action);
    let order: Vec<_> = [
        "member.joined",
        "member.removed",
        "access_token.deleted",
        "access_token.created",
        "member.role_changed",
        "invite.revoked",
        "team.updated",
        "team.created",
    ]
    .map(newest)
    .to_vec();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "order {order:?} in {actions:?}"
    );
    assert_eq!(actions.last().map(String::as_str), Some("team.created"));

    let times: Vec<i64> = entries
        .iter()
        .map(|e| e["created_at"].as_i64().unwrap_or(0))
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "not newest first: {times:?}"
    );

    let removal = &entries[newest("member.removed").unwrap_or(0)];
    assert_eq!(
        removal["actor"]["id"],
        team.owner.user_id.as_str(),
        "{removal}"
    );
    assert_eq!(removal["actor"]["email"], team.owner.email.as_str());
    assert_eq!(removal["target_id"], member.user_id.as_str(), "{removal}");
    for field in ["id", "target_type"] {
        assert!(removal[field].is_string(), "{field}: {removal}");
    }
}

#[test]
fn the_activity_log_pages_with_a_cursor() {
    let app = app();
    let team = app.signup_team();
    team.member(app, "viewer");
    let all = activity(app, &team.owner.auth);
    let walked = app.walk("/api/team/activity", &team.owner.auth);
    assert_eq!(walked, all);
}
