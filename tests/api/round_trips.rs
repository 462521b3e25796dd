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

/// A batch of events from a sender seen before is one round trip: the sender's check leads the
/// write batch. A token revoked, or its creator demoted, between two batches gets 401 / 403 on
/// the very next one, and nothing of that batch is stored.
#[test]
fn a_batch_from_a_sender_seen_before_is_one_round_trip_and_a_revoked_one_stores_nothing() {
    let app = app();
    let team = app.signup_team();
    let owner = &team.owner.auth;
    let stored = |id: &str| {
        let rows = app.sql(&format!(
            "SELECT COUNT(*) AS n FROM events WHERE id = '{id}'"
        ));
        rows[0]["results"][0]["n"].as_i64().unwrap_or(-1)
    };
    let batch = |auth: &Auth, id: &str| {
        let body = json!({"events": [{"id": id, "component": "nav", "action": "view"}]});
        app.post_json("/api/telemetry/batch", &body, auth)
    };

    let token = app.create_token(owner, "member");
    batch(&token.auth(), &unique("ev")).expect(200);
    let id = unique("ev");
    let again = batch(&token.auth(), &id);
    assert_eq!(again.status, 200, "{again}");
    assert_eq!(calls(&again), 1, "{again:?}");
    assert_eq!(stored(&id), 1);
    let track = json!({"component": "nav", "action": "view"});
    let one = app.post_json("/api/telemetry/track", &track, &token.auth());
    assert_eq!((one.status, calls(&one)), (202, 1), "{one:?}");

    app.delete(&format!("/api/access-tokens/{}", token.id), owner)
        .expect(204);
    let id = unique("ev");
    batch(&token.auth(), &id).assert_error(401, "unauthorized");
    assert_eq!(stored(&id), 0, "a revoked token's batch is not stored");

    // A member's own token, the member then demoted to viewer: 403, nothing stored.
    let member = team.member(app, "member");
    let theirs = app.create_token(&member.auth, "member");
    batch(&theirs.auth(), &unique("ev")).expect(200);
    let demote = json!({"role": "viewer"});
    app.patch_json(
        &format!("/api/team/members/{}", member.user_id),
        &demote,
        owner,
    )
    .expect(200);
    let id = unique("ev");
    batch(&theirs.auth(), &id).assert_error(403, "forbidden");
    assert_eq!(stored(&id), 0, "a demoted sender's batch is not stored");

    // A session (same origin) works the same way.
    batch(&member.auth, &unique("ev")).assert_error(403, "forbidden");
    batch(owner, &unique("ev")).expect(200);
    let id = unique("ev");
    let by_session = batch(owner, &id);
    assert_eq!(
        (by_session.status, calls(&by_session)),
        (200, 1),
        "{by_session:?}"
    );
    app.post("/api/auth/logout", owner).expect(204);
    let id = unique("ev");
    batch(owner, &id).assert_error(401, "unauthorized");
    assert_eq!(stored(&id), 0);
}

/// A UUID no object has.
fn uuid_v4_like() -> String {
    "00000000-0000-4000-8000-000000000000".to_string()
}
