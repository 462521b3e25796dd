//! Data lifecycle (`/api/team/retention`, `/api/team/erase`, `/api/team/storage`, the retention
//! tick, the database size in health). Retention runs on a server of its own with a small chunk
//! (so a backlog takes several ticks) and a tiny size limit (so health degrades), with time moved
//! back in its real local D1; erasure runs on the shared server, checked through the analytics
//! the app shows.

use std::sync::OnceLock;

use crate::helpers::*;
use crate::telemetry::{now_ms, send_batch};
use serde_json::{json, Value};

const DAY: i64 = 86_400_000;

/// The retention server: ticks delete at most 50 events (5 traces, 5 executions) each.
fn life() -> &'static TestApp {
    static APP: OnceLock<TestApp> = OnceLock::new();
    APP.get_or_init(|| {
        TestApp::start_with(
            &[("RETENTION_CHUNK", "50"), ("D1_SIZE_LIMIT_BYTES", "1000")],
            None,
        )
    })
}

fn tick(app: &TestApp) {
    app.get("/__scheduled?cron=*+*+*+*+*", &Auth::None);
}

fn ev(component: &str, user: Option<&str>, session: Option<&str>, ts: i64) -> Value {
    json!({"id": unique("ev"), "component": component, "action": "click",
           "user_id": user, "session_id": session, "timestamp": ts})
}

fn count(app: &TestApp, sql: &str) -> i64 {
    app.sql(sql)[0]["results"][0]["n"]
        .as_i64()
        .expect("a count")
}

/// The week's figures without the window's edges: the window follows the clock's hour, and a
/// test that crosses one must still compare the figures.
fn figures(app: &TestApp, auth: &Auth) -> (Value, Value) {
    let summary = app.get("/api/analytics/summary?range=7d", auth).expect(200);
    let components = app
        .get("/api/analytics/components?range=7d", auth)
        .expect(200);
    let mut current = summary["current"].clone();
    if let Some(fields) = current.as_object_mut() {
        fields.remove("from");
        fields.remove("to");
    }
    (current, components["data"].clone())
}

/// The week's non-empty days of actions, as the dashboard's trend chart reads them (the
/// zero-filled buckets at the edges move with the clock).
fn daily_actions(app: &TestApp, auth: &Auth) -> Vec<Value> {
    let trends = app
        .get(
            "/api/analytics/trends?metric=actions&range=7d&interval=day",
            auth,
        )
        .expect(200);
    trends["buckets"]
        .as_array()
        .expect("buckets")
        .iter()
        .filter(|bucket| bucket["value"] != 0)
        .cloned()
        .collect()
}

#[test]
fn retention_has_the_specs_defaults_and_only_the_owner_changes_it() {
    let app = app();
    let (team, viewer) = app.as_role("viewer");
    let owner = &team.owner.auth;
    let defaults = json!({"events_days": 90, "traces_days": 30, "executions_days": 90});
    assert_eq!(
        app.get("/api/team/retention", &viewer.auth).expect(200),
        defaults
    );
    let wanted = json!({"events_days": 30, "traces_days": 7, "executions_days": 400});
    assert_eq!(
        app.put_json("/api/team/retention", &wanted, owner)
            .expect(200),
        wanted
    );
    assert_eq!(
        app.get("/api/team/retention", &viewer.auth).expect(200),
        wanted
    );
    let admin = team.member(app, "admin");
    app.put_json("/api/team/retention", &defaults, &admin.auth)
        .assert_error(403, "forbidden");
    let bad = json!({"events_days": 0, "traces_days": 401, "executions_days": 1.5});
    let resp = app.put_json("/api/team/retention", &bad, owner);
    assert_eq!(
        resp.invalid_fields(),
        ["events_days", "traces_days", "executions_days"],
        "{resp}"
    );
    let missing = json!({"events_days": 30});
    let resp = app.put_json("/api/team/retention", &missing, owner);
    assert_eq!(
        resp.invalid_fields(),
        ["traces_days", "executions_days"],
        "{resp}"
    );
    // Nothing half-written, and the change is in the activity log.
    assert_eq!(app.get("/api/team/retention", owner).expect(200), wanted);
    let log = app.get("/api/team/activity", owner).expect(200);
    let changed: Vec<&Value> = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "team.retention_changed")
        .collect();
    assert_eq!(changed.len(), 1, "{log}");
    assert_eq!(changed[0]["detail"], wanted, "{log}");
    // Another team still has the defaults.
    let other = app.signup_team();
    assert_eq!(
        app.get("/api/team/retention", &other.owner.auth)
            .expect(200),
        defaults
    );
}

#[test]
fn a_tick_deletes_raw_rows_past_retention_in_chunks_and_analytics_still_answer() {
    let app = life();
    let team = app.signup_team();
    let owner = &team.owner.auth;
    let tid = &team.team_id;
    let now = now_ms();
    let events: Vec<Value> = (0..120)
        .map(|i| {
            let user = format!("u{}", i % 6);
            let session = format!("s{}", i % 9);
            let component = ["nav", "checkout"][i % 2];
            ev(
                component,
                Some(&user),
                Some(&session),
                now - 3_600_000 - i as i64 * 1000,
            )
        })
        .collect();
    send_batch(app, owner, &events);

    // A finished execution with its step, and a trace.
    let workflow = app.hook_workflow(owner, "/hook");
    let execution = app.execute(owner, &workflow, json!({}));
    app.wait_finished(owner, &execution);
    let trace = format!("{:032x}", now as u128 * 7919);
    let otlp = json!({"resourceSpans": [{"scopeSpans": [{"spans": [{
        "traceId": trace, "spanId": "00000000000000aa", "name": "old work", "kind": 1,
        "startTimeUnixNano": (now as u64 * 1_000_000).to_string(),
        "endTimeUnixNano": (now as u64 * 1_000_000 + 5_000_000).to_string()}]}]}]});
    let resp = app.post_raw(
        "/api/otlp/v1/traces",
        otlp.to_string().as_bytes(),
        Some(JSON),
        owner,
    );
    assert_eq!(resp.status, 200, "{resp}");

    let before = figures(app, owner);
    assert_eq!(before.0["actions"], 120, "{}", before.0);
    let trends = daily_actions(app, owner);
    assert!(!trends.is_empty(), "the batch's day has its actions");

    // Everything kept one day, and moved two days back.
    let one_day = json!({"events_days": 1, "traces_days": 1, "executions_days": 1});
    app.put_json("/api/team/retention", &one_day, owner)
        .expect(200);
    app.sql(&format!(
        "UPDATE events SET ts = ts - 2 * {DAY} WHERE team_id = '{tid}'"
    ));
    app.sql(&format!(
        "UPDATE traces SET started_at = started_at - 2 * {DAY} WHERE team_id = '{tid}'"
    ));
    // An execution's age is its UUIDv7 id: its steps follow it to a time two days back.
    let old_id = {
        let ms = now - 2 * DAY;
        format!("{:08x}-{:04x}{}", ms >> 16, ms & 0xffff, &execution[13..])
    };
    app.sql(&format!(
        "PRAGMA defer_foreign_keys = ON; \
         UPDATE execution_steps SET execution_id = '{old_id}' WHERE execution_id = '{execution}'; \
         UPDATE executions SET id = '{old_id}' WHERE id = '{execution}'"
    ));

    let events_left = || {
        count(
            app,
            &format!("SELECT COUNT(*) AS n FROM events WHERE team_id = '{tid}'"),
        )
    };
    tick(app);
    assert_eq!(events_left(), 70, "one tick deletes one chunk");
    tick(app);
    tick(app);
    assert_eq!(events_left(), 0, "the backlog is gone after three ticks");
    for (table, column) in [
        ("spans", "team_id"),
        ("traces", "team_id"),
        ("executions", "team_id"),
    ] {
        let n = count(
            app,
            &format!("SELECT COUNT(*) AS n FROM {table} WHERE {column} = '{tid}'"),
        );
        assert_eq!(n, 0, "{table} past retention");
    }
    let steps = count(
        app,
        &format!("SELECT COUNT(*) AS n FROM execution_steps WHERE execution_id = '{old_id}'"),
    );
    assert_eq!(steps, 0, "steps go with their execution");
    app.get(&format!("/api/traces/{trace}"), owner)
        .assert_error(404, "not_found");

    // The rollups stayed: analytics over the range answer exactly as before.
    assert_eq!(figures(app, owner), before);
    assert_eq!(daily_actions(app, owner), trends);
}

#[test]
fn health_reports_the_database_size_and_degrades_past_its_share_of_the_limit() {
    let shared = app();
    let team = shared.signup_team();
    let health = shared.get("/api/health", &team.owner.auth).expect(200);
    let d1 = &health["checks"]["d1"];
    assert_eq!(d1["state"], "ok", "{health}");
    assert!(
        d1["size_bytes"].is_u64() || d1["size_bytes"].is_null(),
        "{health}"
    );
    assert_eq!(d1["limit_bytes"], 10_000_000_000u64, "{health}");

    let small = life();
    let team = small.signup_team();
    let health = small.get("/api/health", &team.owner.auth).expect(200);
    let d1 = &health["checks"]["d1"];
    if d1["size_bytes"].is_u64() {
        assert_eq!(
            (&health["status"], &d1["state"]),
            (&json!("degraded"), &json!("nearly_full")),
            "{health}"
        );
    }
    // Liveness without a caller says nothing of it.
    let open = small.get("/api/health", &Auth::None).expect(200);
    assert!(open.get("checks").is_none(), "{open}");
}

/// A team with two end users' events, spans and errors (and anonymous events).
struct Subjects {
    team: TeamCtx,
}

fn seed(app: &TestApp) -> Subjects {
    let team = app.signup_team();
    let owner = &team.owner.auth;
    // Ten minutes into an hour two hours ago: every event below is in that hour.
    let t = (now_ms() / 3_600_000 - 2) * 3_600_000 + 600_000;
    send_batch(
        app,
        owner,
        &[
            ev("nav", Some("u1"), Some("sA"), t),
            ev("nav", Some("u1"), Some("sA"), t + 1000),
            ev("nav", Some("u1"), Some("sA"), t + 2000),
            ev("checkout", Some("u1"), Some("sB"), t + 3000),
            ev("checkout", Some("u1"), Some("sB"), t + 4000),
            ev("nav", Some("u2"), Some("sC"), t + 5000),
            ev("nav", Some("u2"), Some("sC"), t + 6000),
            ev("nav", Some("u2"), Some("sD"), t + 7000),
            ev("nav", None, Some("sA"), t + 8000),
            ev("nav", None, None, t + 9000),
        ],
    );
    let trace = format!("{:032x}", (t as u128) * 104_729);
    let span = |id: &str, user: &str, code: i64| {
        json!({"traceId": trace, "spanId": id, "name": "chat", "kind": 3,
               "startTimeUnixNano": (t as u64 * 1_000_000).to_string(),
               "endTimeUnixNano": (t as u64 * 1_000_000 + 1_000_000).to_string(),
               "status": {"code": code, "message": "upstream said no"},
               "attributes": [{"key": "user.id", "value": {"stringValue": user}}]})
    };
    let otlp = json!({"resourceSpans": [{"scopeSpans": [{"spans": [
        span("00000000000000a1", "u1", 1),
        span("00000000000000a2", "u1", 2),
        span("00000000000000a3", "u2", 1),
    ]}]}]});
    let resp = app.post_raw(
        "/api/otlp/v1/traces",
        otlp.to_string().as_bytes(),
        Some(JSON),
        owner,
    );
    assert_eq!(resp.status, 200, "{resp}");
    app.post_json(
        "/api/errors",
        &json!({"type": "ClientError", "message": "card declined", "context": {"user_id": "u1"}}),
        owner,
    )
    .expect(201);
    Subjects { team }
}

/// A summary's actions, distinct users and sessions.
fn headline(summary: &Value) -> (i64, i64, i64) {
    let n = |k: &str| summary[k].as_i64().unwrap_or(-1);
    (n("actions"), n("unique_users"), n("sessions"))
}

fn erase(app: &TestApp, auth: &Auth, body: Value) -> Value {
    app.post_json("/api/team/erase", &body, auth).expect(200)
}

fn component<'a>(list: &'a Value, name: &str) -> Option<&'a Value> {
    list.as_array()?.iter().find(|c| c["component"] == name)
}

#[test]
fn erasing_an_end_user_deletes_their_data_and_corrects_the_figures() {
    let app = app();
    let Subjects { team } = seed(app);
    let owner = &team.owner.auth;
    // Another team's user of the same id is not touched.
    let other = seed(app);
    let (summary, components) = figures(app, owner);
    assert_eq!(headline(&summary), (10, 2, 4), "{summary}");
    assert_eq!(component(&components, "checkout").unwrap()["users"], 1);
    let errors_before = summary["errors"].as_i64().unwrap_or(0);

    let erased = erase(app, owner, json!({"user_id": "u1"}));
    assert_eq!(erased, json!({"events": 5, "spans": 2, "occurrences": 2}));

    let (summary, components) = figures(app, owner);
    // sA keeps its anonymous event; sB is gone.
    assert_eq!(headline(&summary), (5, 1, 3), "{summary}");
    assert_eq!(
        summary["errors"].as_i64().unwrap_or(0),
        errors_before - 2,
        "{summary}"
    );
    let nav = component(&components, "nav").expect("nav stays");
    assert_eq!(
        (&nav["actions"], &nav["users"]),
        (&json!(5), &json!(1)),
        "{nav}"
    );
    if let Some(checkout) = component(&components, "checkout") {
        assert_eq!(
            (&checkout["actions"], &checkout["users"]),
            (&json!(0), &json!(0))
        );
    }
    let csv = app.get("/api/analytics/export.csv?range=7d", owner);
    assert_eq!(csv.status, 200, "{csv}");
    assert!(!csv.body.contains("u1"), "{}", csv.body);
    // The issue of the client's error went with its only occurrence; the span's trace stays
    // with its other span.
    let issues = app.get("/api/errors", owner).expect(200);
    assert!(!issues.to_string().contains("card declined"), "{issues}");
    let traces = app.get("/api/traces", owner).expect(200);
    assert_eq!(traces["data"][0]["span_count"], 1, "{traces}");

    // Erasing again finds nothing; the log says a user was erased, not which.
    assert_eq!(
        erase(app, owner, json!({"user_id": "u1"})),
        json!({"events": 0, "spans": 0, "occurrences": 0})
    );
    let log = app.get("/api/team/activity", owner).expect(200);
    assert_eq!(log["data"][0]["action"], "team.data_erased", "{log}");
    assert!(!log.to_string().contains("u1"), "{log}");

    let (theirs, _) = figures(app, &other.team.owner.auth);
    assert_eq!(headline(&theirs), (10, 2, 4), "{theirs}");
}

#[test]
fn erasing_a_session_keeps_its_users_other_activity() {
    let app = app();
    let Subjects { team } = seed(app);
    let owner = &team.owner.auth;
    let erased = erase(app, owner, json!({"session_id": "sC"}));
    assert_eq!(erased, json!({"events": 2, "spans": 0, "occurrences": 0}));
    let (summary, components) = figures(app, owner);
    // u2 still has sD in the same hour: still a user; sC is no longer a session.
    assert_eq!(headline(&summary), (8, 2, 3), "{summary}");
    let nav = component(&components, "nav").expect("nav");
    assert_eq!(
        (&nav["actions"], &nav["users"]),
        (&json!(6), &json!(2)),
        "{nav}"
    );

    // The last session of u2 goes too: u2 is no longer counted.
    erase(app, owner, json!({"session_id": "sD"}));
    let (summary, components) = figures(app, owner);
    assert_eq!(headline(&summary), (7, 1, 2), "{summary}");
    let nav = component(&components, "nav").expect("nav");
    assert_eq!(nav["users"], 1, "{nav}");
}

#[test]
fn erasure_is_the_owners_and_needs_a_subject() {
    let app = app();
    let (team, admin) = app.as_role("admin");
    app.post_json("/api/team/erase", &json!({"user_id": "u1"}), &admin.auth)
        .assert_error(403, "forbidden");
    let owner = &team.owner.auth;
    for body in [
        json!({}),
        json!({"user_id": null}),
        json!({"user_id": ""}),
        json!({"session_id": 7}),
    ] {
        let resp = app.post_json("/api/team/erase", &body, owner);
        assert_eq!(resp.status, 422, "{body}: {resp}");
    }
    let resp = app.post_json(
        "/api/team/erase",
        &json!({"user_id": "u".repeat(300)}),
        owner,
    );
    assert_eq!(resp.invalid_fields(), ["user_id"], "{resp}");
}

#[test]
fn storage_counts_the_teams_rows() {
    let app = app();
    let Subjects { team } = seed(app);
    let viewer = team.member(app, "viewer");
    let body = app.get("/api/team/storage", &viewer.auth).expect(200);
    assert_eq!(body["rows"]["events"], 10, "{body}");
    assert_eq!(body["rows"]["spans"], 3, "{body}");
    assert_eq!(body["rows"]["traces"], 1, "{body}");
    assert_eq!(body["rows"]["error_occurrences"], 2, "{body}");
    assert_eq!(body["capped_at"], 1_000_000, "{body}");
    assert!(
        body["database_bytes"].is_u64() || body["database_bytes"].is_null(),
        "{body}"
    );
}
