//! Notifications: who receives each event, per-member read state, hiding, preferences, tenancy,
//! and the live stream with resume.

use crate::helpers::*;
use serde_json::{json, Value};

fn feed(app: &TestApp, who: &Member) -> Vec<Value> {
    app.get("/api/notifications?limit=200", &who.auth)
        .expect(200)["data"]
        .as_array()
        .unwrap()
        .clone()
}

fn count_of(app: &TestApp, who: &Member, kind: &str) -> usize {
    feed(app, who).iter().filter(|n| n["type"] == kind).count()
}

fn unread(app: &TestApp, who: &Member) -> i64 {
    app.get("/api/notifications/unread-count", &who.auth)
        .expect(200)["count"]
        .as_i64()
        .unwrap()
}

#[test]
fn each_event_reaches_every_member_but_the_one_who_caused_it() {
    let app = app();
    let team = app.signup_team();
    let owner = &team.owner;
    let admin = team.member(app, "admin");
    let viewer = team.member(app, "viewer");
    // Joining: everyone already there hears of the viewer, the viewer does not.
    assert_eq!(count_of(app, owner, "member.joined"), 2);
    assert_eq!(count_of(app, &admin, "member.joined"), 1);
    assert_eq!(count_of(app, &viewer, "member.joined"), 0);

    let key = app.add_key(&owner.auth, "openai_compatible", BAD_KEY);
    app.post_json(
        &format!("/api/keys/{key}/rotate"),
        &json!({"key": BAD_KEY}),
        &owner.auth,
    )
    .expect(200);
    app.post(&format!("/api/keys/{key}/test"), &owner.auth)
        .expect(200);
    app.delete(&format!("/api/keys/{key}"), &owner.auth)
        .expect(204);
    for kind in ["key.added", "key.rotated", "key.test_failed", "key.deleted"] {
        assert_eq!(
            (
                count_of(app, &admin, kind),
                count_of(app, &viewer, kind),
                count_of(app, owner, kind)
            ),
            (1, 1, 0),
            "{kind}"
        );
    }

    app.patch_json(
        &format!("/api/team/members/{}", viewer.user_id),
        &json!({"role": "member"}),
        &owner.auth,
    )
    .expect(200);
    assert_eq!(
        (
            count_of(app, &admin, "member.role_changed"),
            count_of(app, &viewer, "member.role_changed")
        ),
        (1, 1)
    );
    let leaving = team.member(app, "viewer");
    app.delete(
        &format!("/api/team/members/{}", leaving.user_id),
        &admin.auth,
    )
    .expect(204);
    assert_eq!(
        (
            count_of(app, owner, "member.removed"),
            count_of(app, &admin, "member.removed")
        ),
        (1, 0)
    );

    // A failed run is the system's doing: the member who started it is told too.
    let failing = app.hook_workflow(&owner.auth, "/hook/fail");
    let id = app.execute(&owner.auth, &failing, json!({}));
    app.wait_finished(&owner.auth, &id);
    for who in [owner, &admin, &viewer] {
        let failed: Vec<Value> = feed(app, who)
            .into_iter()
            .filter(|n| n["type"] == "execution.failed")
            .collect();
        assert_eq!(failed.len(), 1);
        assert_eq!(
            (failed[0]["category"].clone(), failed[0]["link"].clone()),
            (json!("workflow"), json!(format!("/executions/{id}")))
        );
    }

    // Successes only for who asked, and only those from then on.
    let ok = app.hook_workflow(&owner.auth, "/hook");
    let before = app.execute(&owner.auth, &ok, json!({}));
    app.wait_finished(&owner.auth, &before);
    app.put_json(
        "/api/notifications/preferences",
        &json!({"categories": ["workflow", "system", "team", "billing"], "notify_success": true}),
        &viewer.auth,
    )
    .expect(200);
    let run = app.execute(&owner.auth, &ok, json!({}));
    app.wait_finished(&owner.auth, &run);
    assert_eq!(
        (
            count_of(app, &viewer, "execution.succeeded"),
            count_of(app, owner, "execution.succeeded")
        ),
        (1, 0)
    );
}

#[test]
fn read_state_is_per_member_and_mark_all_read_is_for_the_caller_only() {
    let app = app();
    let team = app.signup_team();
    let a = team.member(app, "admin");
    let b = team.member(app, "viewer");
    for _ in 0..3 {
        app.add_key(&team.owner.auth, "openai_compatible", OPENAI_KEY);
    }
    let (a_before, b_before) = (unread(app, &a), unread(app, &b));
    let first = string(&feed(app, &a)[0]["id"]);
    let read = app
        .post(&format!("/api/notifications/{first}/read"), &a.auth)
        .expect(200);
    assert_eq!(read["read"], true);
    assert_eq!((unread(app, &a), unread(app, &b)), (a_before - 1, b_before));
    assert_eq!(
        app.get("/api/notifications?unread=true", &a.auth)
            .expect(200)["data"]
            .as_array()
            .unwrap()
            .len() as i64,
        a_before - 1
    );
    assert_eq!(
        app.get("/api/notifications?unread=false", &a.auth)
            .expect(200)["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        app.post(&format!("/api/notifications/{first}/unread"), &a.auth)
            .expect(200)["read"],
        false
    );
    assert_eq!(unread(app, &a), a_before);

    let marked = app
        .post("/api/notifications/mark-all-read", &a.auth)
        .expect(200);
    assert_eq!(marked["count"], a_before);
    assert_eq!((unread(app, &a), unread(app, &b)), (0, b_before));
    assert_eq!(
        app.post("/api/notifications/mark-all-read", &a.auth)
            .expect(200)["count"],
        0
    );

    // Hiding is for the caller only.
    app.delete(&format!("/api/notifications/{first}"), &b.auth)
        .expect(204);
    app.delete(&format!("/api/notifications/{first}"), &b.auth)
        .assert_error(404, "not_found");
    assert!(feed(app, &a).iter().any(|n| n["id"] == first.as_str()));
    assert!(!feed(app, &b).iter().any(|n| n["id"] == first.as_str()));
    assert_eq!(unread(app, &b), b_before - 1);

    let systems = app
        .get("/api/notifications?category=system", &a.auth)
        .expect(200);
    assert!(systems["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|n| n["category"] == "system"));
}

#[test]
fn muted_categories_disappear_and_come_back() {
    let app = app();
    let team = app.signup_team();
    let a = team.member(app, "admin");
    app.add_key(&team.owner.auth, "openai_compatible", OPENAI_KEY);
    let prefs = app
        .put_json(
            "/api/notifications/preferences",
            &json!({"categories": ["workflow"], "notify_success": false}),
            &a.auth,
        )
        .expect(200);
    assert_eq!(
        prefs,
        json!({"categories": ["workflow"], "notify_success": false})
    );
    assert!(feed(app, &a).is_empty());
    assert_eq!(
        app.get("/api/notifications/preferences", &a.auth)
            .expect(200),
        prefs
    );
    app.put_json(
        "/api/notifications/preferences",
        &json!({"categories": ["workflow", "system"], "notify_success": false}),
        &a.auth,
    )
    .expect(200);
    assert_eq!(count_of(app, &a, "key.added"), 1);
}

#[test]
fn another_teams_notifications_are_invisible_and_bad_input_is_422() {
    let app = app();
    let theirs = app.signup_team();
    let their_admin = theirs.member(app, "admin");
    app.add_key(&theirs.owner.auth, "openai_compatible", OPENAI_KEY);
    let id = string(&feed(app, &their_admin)[0]["id"]);
    let ours = app.signup_team();
    let me = &ours.owner;
    for path in [
        format!("/api/notifications/{id}/read"),
        format!("/api/notifications/{id}/unread"),
        "/api/notifications/nope/read".into(),
    ] {
        app.post(&path, &me.auth).assert_error(404, "not_found");
    }
    app.delete(&format!("/api/notifications/{id}"), &me.auth)
        .assert_error(404, "not_found");
    assert!(feed(app, me).is_empty());
    assert_eq!(unread(app, me), 0);
    assert_eq!(
        app.post("/api/notifications/mark-all-read", &me.auth)
            .expect(200)["count"],
        0
    );

    for (query, field) in [
        ("?unread=maybe", "unread"),
        ("?category=alerts", "category"),
        ("?limit=0", "limit"),
    ] {
        let resp = app.get(&format!("/api/notifications{query}"), &me.auth);
        resp.assert_error(422, "validation_failed");
        assert_eq!(resp.invalid_fields(), [field]);
    }
    for (body, field) in [
        (
            json!({"categories": ["alerts"], "notify_success": true}),
            "categories",
        ),
        (
            json!({"categories": "workflow", "notify_success": true}),
            "categories",
        ),
        (
            json!({"categories": [], "notify_success": "yes"}),
            "notify_success",
        ),
    ] {
        let resp = app.put_json("/api/notifications/preferences", &body, &me.auth);
        resp.assert_error(422, "validation_failed");
        assert_eq!(resp.invalid_fields(), [field]);
    }
}

#[test]
fn the_stream_delivers_new_notifications_and_resumes_after_last_event_id() {
    let app = app();
    let team = app.signup_team();
    let watcher = team.member(app, "viewer");
    let mut stream = app.open_stream("/api/notifications/stream", &watcher.auth, None);
    let greeting = stream.next_event();
    assert_eq!(greeting.event.as_deref(), Some("unread_count"));
    let key = app.add_key(&team.owner.auth, "openai_compatible", OPENAI_KEY);
    let added = stream.until(|e| e.event.as_deref() == Some("notification"));
    assert_eq!(added.data["type"], "key.added");
    assert_eq!(added.id.as_deref(), added.data["id"].as_str());
    let count = stream.next_event();
    assert_eq!(
        (count.event.as_deref(), count.data["count"].clone()),
        (
            Some("unread_count"),
            json!(greeting.data["count"].as_i64().unwrap() + 1)
        )
    );
    drop(stream);

    // Missed while away: delivered on reconnect.
    app.delete(&format!("/api/keys/{key}"), &team.owner.auth)
        .expect(204);
    let mut resumed = app.open_stream(
        "/api/notifications/stream",
        &watcher.auth,
        added.id.as_deref(),
    );
    let missed = resumed.until(|e| e.event.as_deref() == Some("notification"));
    assert_eq!(missed.data["type"], "key.deleted");
}

#[test]
fn a_stream_ends_when_its_token_is_revoked() {
    let app = app();
    let team = app.signup_team();
    let token = app.create_token(&team.owner.auth, "viewer");
    let opened = std::time::Instant::now();
    let mut stream = app.open_stream("/api/notifications/stream", &token.auth(), None);
    stream.next_event();
    app.delete(
        &format!("/api/access-tokens/{}", token.id),
        &team.owner.auth,
    )
    .expect(204);
    assert!(stream.ends(), "the stream outlived its token");
    assert!(opened.elapsed().as_secs() <= 30, "{:?}", opened.elapsed());
}

#[test]
fn a_stream_ends_when_its_member_is_removed() {
    let app = app();
    let team = app.signup_team();
    let member = team.member(app, "viewer");
    let mut stream = app.open_stream("/api/executions/stream", &member.auth, None);
    app.delete(
        &format!("/api/team/members/{}", member.user_id),
        &team.owner.auth,
    )
    .expect(204);
    assert!(stream.ends(), "the stream outlived the membership");
}

#[test]
fn a_user_holds_at_most_10_open_streams() {
    let app = app();
    let team = app.signup_team();
    let watcher = team.member(app, "viewer");
    let open: Vec<_> = (0..10)
        .map(|i| {
            let path = if i % 2 == 0 {
                "/api/notifications/stream"
            } else {
                "/api/executions/stream"
            };
            app.open_stream(path, &watcher.auth, None)
        })
        .collect();
    let refused = app.get("/api/notifications/stream", &watcher.auth);
    refused.assert_error(429, "rate_limited");
    assert!(refused.header("retry-after").is_some(), "{refused:?}");
    // Another user of the same team is not affected.
    let mut theirs = app.open_stream("/api/notifications/stream", &team.owner.auth, None);
    theirs.next_event();
    drop(open);
}
