//! One D1 round trip per read: a caller this Worker has seen is looked up in the same D1 batch as
//! the handler's first read — and a revocation, removal or demotion still takes effect on the
//! very next request, because that lookup is checked before anything read is answered.

use crate::helpers::*;
use serde_json::json;

/// The D1 round trips an answer says it made.
fn calls(resp: &TestResponse) -> u32 {
    resp.header("x-d1-calls")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no x-d1-calls: {resp:?}"))
}

/// Reads `path` twice as `auth` (the first read lets the Worker meet the caller); answers the
/// second read's round trips.
fn second_read(app: &TestApp, path: &str, auth: &Auth) -> u32 {
    app.get(path, auth).expect(200);
    let again = app.get(path, auth);
    assert_eq!(again.status, 200, "{again}");
    calls(&again)
}

#[test]
fn a_read_by_a_caller_already_seen_is_one_d1_round_trip() {
    let app = app();
    let team = app.signup_team();
    let owner = &team.owner.auth;
    let token = app.create_token(owner, "viewer").auth();
    for path in [
        "/api/executions",
        "/api/workflows",
        "/api/analytics/summary?range=7d",
        "/api/analytics/components",
        "/api/team/members",
        "/api/keys",
        "/api/notifications/unread-count",
        "/api/auth/me",
    ] {
        assert_eq!(second_read(app, path, owner), 1, "{path} with a session");
        assert_eq!(second_read(app, path, &token), 1, "{path} with a token");
    }
    let missing = format!("/api/executions/{}", uuid_v4_like());
    app.get(&missing, owner).assert_error(404, "not_found");
    assert_eq!(
        calls(&app.get(&missing, owner)),
        1,
        "a miss is one read too"
    );
}

#[test]
fn a_caller_revoked_between_two_reads_is_refused_on_the_very_next_one() {
    let app = app();
    let team = app.signup_team();
    let owner = &team.owner.auth;

    // Logged out: the old cookie's next read is 401, not the data.
    let member = team.member(app, "member");
    app.get("/api/executions", &member.auth).expect(200);
    app.post("/api/auth/logout", &member.auth).expect(204);
    app.get("/api/executions", &member.auth)
        .assert_error(401, "unauthorized");

    // A revoked token.
    let token = app.create_token(owner, "viewer");
    app.get("/api/workflows", &token.auth()).expect(200);
    app.delete(&format!("/api/access-tokens/{}", token.id), owner)
        .expect(204);
    app.get("/api/workflows", &token.auth())
        .assert_error(401, "unauthorized");

    // Demoted from admin: a read that needs admin is 403 at once.
    let admin = team.member(app, "admin");
    app.get("/api/team/invites", &admin.auth).expect(200);
    app.get("/api/team/invites", &admin.auth).expect(200);
    let demote = json!({"role": "member"});
    app.patch_json(
        &format!("/api/team/members/{}", admin.user_id),
        &demote,
        owner,
    )
    .expect(200);
    app.get("/api/team/invites", &admin.auth)
        .assert_error(403, "forbidden");
    // ...and may still read what a member may.
    app.get("/api/executions", &admin.auth).expect(200);

    // Removed from the team: every read is 401.
    let viewer = team.member(app, "viewer");
    app.get("/api/executions", &viewer.auth).expect(200);
    app.delete(&format!("/api/team/members/{}", viewer.user_id), owner)
        .expect(204);
    app.get("/api/executions", &viewer.auth)
        .assert_error(401, "unauthorized");
    app.get("/api/auth/me", &viewer.auth)
        .assert_error(401, "unauthorized");
}

/// A UUID no object has.
fn uuid_v4_like() -> String {
    "00000000-0000-4000-8000-000000000000".to_string()
}
