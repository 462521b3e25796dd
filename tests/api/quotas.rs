//! Per-team quotas and the fair scheduler tick, on a server of their own with small limits
//! (the shared server has the per-minute quotas off, as `make dev` does). Like `master_keys`,
//! `make test` runs these after the rest, one at a time.

use crate::helpers::*;
use serde_json::{json, Value};
use std::sync::OnceLock;

/// A server whose quotas are small enough to reach in a test.
fn quota_app() -> &'static TestApp {
    static APP: OnceLock<TestApp> = OnceLock::new();
    APP.get_or_init(|| {
        TestApp::start_with(
            &[
                ("QUOTA_EXECUTIONS_PER_MINUTE", "3"),
                ("QUOTA_TELEMETRY_EVENTS_PER_MINUTE", "10"),
                ("QUOTA_SPANS_PER_MINUTE", "5"),
                ("QUOTA_INVITES_PER_DAY", "2"),
                ("QUOTA_SCHEDULES", "4"),
                ("QUOTA_GATEWAY_CALLS_PER_MINUTE", "3"),
                ("SCHEDULES_PER_TICK", "3"),
            ],
            None,
        )
    })
}

/// Waits out the end of a minute, so a test's requests fall in one quota window.
fn fresh_minute() {
    let into_minute = now_millis() % 60_000;
    if into_minute > 40_000 {
        std::thread::sleep(std::time::Duration::from_millis(
            (60_000 - into_minute + 500) as u64,
        ));
    }
}

fn assert_rate_limited(resp: &TestResponse) {
    resp.assert_error(429, "rate_limited");
    let retry_after: i64 = resp
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no Retry-After: {resp:?}"));
    assert!((1..=60).contains(&retry_after), "{retry_after}");
}

#[test]
fn executions_past_the_per_minute_quota_get_429_with_retry_after() {
    let app = quota_app();
    let team = app.signup_team();
    let other = app.signup_team();
    let auth = &team.owner.auth;
    let wf = app.hook_workflow(auth, "/hook");
    fresh_minute();
    let execute = |auth: &Auth, wf: &str| {
        app.post_json(
            &format!("/api/workflows/{wf}/execute"),
            &json!({"input": {}}),
            auth,
        )
    };
    for _ in 0..3 {
        execute(auth, &wf).expect(202);
    }
    assert_rate_limited(&execute(auth, &wf));
    // Another team's quota is its own.
    let theirs = app.hook_workflow(&other.owner.auth, "/hook");
    execute(&other.owner.auth, &theirs).expect(202);
}

#[test]
fn telemetry_past_the_per_minute_quota_gets_429() {
    let app = quota_app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let event = |i: usize| json!({"component": "checkout", "action": format!("step-{i}")});
    fresh_minute();
    let eight: Vec<Value> = (0..8).map(event).collect();
    app.post_json("/api/telemetry/batch", &json!({"events": eight}), auth)
        .expect(200);
    let five: Vec<Value> = (0..5).map(event).collect();
    assert_rate_limited(&app.post_json("/api/telemetry/batch", &json!({"events": five}), auth));
    // What is left of the window can still be used.
    app.post_json("/api/telemetry/track", &event(9), auth)
        .expect(202);
    app.post_json(
        "/api/telemetry/metrics",
        &json!({"component": "checkout", "metric_name": "latency_ms", "value": 12.5}),
        auth,
    )
    .expect(202);
    assert_rate_limited(&app.post_json("/api/telemetry/track", &event(11), auth));
    // A refused write stores nothing (the quota is checked at the head of its D1 batch).
    let stored = app.sql(&format!(
        "SELECT COUNT(*) AS n FROM events WHERE team_id = '{}'",
        team.team_id
    ));
    assert_eq!(stored[0]["results"][0]["n"], 9, "{stored:?}");
}

#[test]
fn invites_past_the_daily_quota_get_429() {
    let app = quota_app();
    let team = app.signup_team();
    for _ in 0..2 {
        app.invite(&team.owner.auth, &unique_email("quota"), "viewer");
    }
    let body = json!({"email": unique_email("quota"), "role": "viewer"});
    let refused = app.post_json("/api/team/invites", &body, &team.owner.auth);
    refused.assert_error(429, "rate_limited");
    assert!(refused.header("retry-after").is_some());
}

#[test]
fn a_team_holds_at_most_its_quota_of_schedules_then_422() {
    let app = quota_app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let wf = app.hook_workflow(auth, "/hook");
    let body = json!({"workflow_id": wf, "cron": "0 0 1 1 *"});
    for _ in 0..4 {
        app.post_json("/api/schedules", &body, auth).expect(201);
    }
    let refused = app.post_json("/api/schedules", &body, auth);
    refused.assert_error(422, "validation_failed");
    assert_eq!(
        app.get("/api/schedules", auth).expect(200)["data"]
            .as_array()
            .map(Vec::len),
        Some(4)
    );
}

#[test]
fn the_tick_shares_its_work_between_teams_round_robin() {
    let app = quota_app();
    let (busy, quiet) = (app.signup_team(), app.signup_team());
    let schedule = |team: &TeamCtx| {
        let wf = app.hook_workflow(&team.owner.auth, "/hook");
        let body = json!({"workflow_id": wf, "cron": "0 0 1 1 *", "overlap": "allow"});
        string(
            &app.post_json("/api/schedules", &body, &team.owner.auth)
                .expect(201)["id"],
        )
    };
    let busy_ids: Vec<String> = (0..4).map(|_| schedule(&busy)).collect();
    let quiet_id = schedule(&quiet);
    // The busy team's four are long overdue; the quiet team's one only just due. The tick takes
    // three (SCHEDULES_PER_TICK).
    let ids = busy_ids
        .iter()
        .map(|id| format!("'{id}'"))
        .collect::<Vec<_>>()
        .join(",");
    app.sql(&format!(
        "UPDATE schedules SET next_run_at = CAST(unixepoch('subsec') * 1000 AS INTEGER) - 3600000 WHERE id IN ({ids})"
    ));
    app.sql(&format!(
        "UPDATE schedules SET next_run_at = CAST(unixepoch('subsec') * 1000 AS INTEGER) - 1000 WHERE id = '{quiet_id}'"
    ));
    let tick = app.get("/__scheduled?cron=*+*+*+*+*", &Auth::None);
    assert_eq!(tick.status, 200, "{tick}");
    let runs = app
        .get(
            &format!("/api/schedules/{quiet_id}/runs"),
            &quiet.owner.auth,
        )
        .expect(200);
    assert_eq!(
        runs["data"].as_array().map(Vec::len),
        Some(1),
        "the quiet team waited behind the busy one: {runs}"
    );
}

/// An OTLP/JSON request of `n` root spans of fresh traces.
fn spans_request(n: usize) -> Value {
    let base = now_millis() as u64 * 1_000_000;
    let spans: Vec<Value> = (0..n)
        .map(|i| {
            json!({"traceId": format!("{:016x}{:016x}", base, i + 1), "spanId": format!("{:016x}", i + 1),
                   "name": "work", "startTimeUnixNano": base.to_string(),
                   "endTimeUnixNano": (base + 1_000_000).to_string()})
        })
        .collect();
    json!({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]})
}

#[test]
fn spans_past_the_per_minute_quota_get_429_with_retry_after_and_are_not_stored() {
    let app = quota_app();
    let team = app.signup_team();
    let other = app.signup_team();
    let auth = &team.owner.auth;
    fresh_minute();
    app.post_json("/api/otlp/v1/traces", &spans_request(4), auth)
        .expect(200);
    let refused = app.post_json("/api/otlp/v1/traces", &spans_request(2), auth);
    assert_rate_limited(&refused);
    let listed = app.get("/api/traces", auth).expect(200);
    assert_eq!(
        listed["data"].as_array().unwrap().len(),
        4,
        "the refused spans were not stored"
    );
    // Another team's quota is its own.
    app.post_json("/api/otlp/v1/traces", &spans_request(5), &other.owner.auth)
        .expect(200);
}

#[test]
fn gateway_calls_past_the_per_token_rate_limit_get_429_with_ratelimit_headers() {
    use crate::gateway::{call, chat, Gateway, CHAT};
    let app = quota_app();
    let gw = Gateway::new(app);
    let body = chat("gpt-4o-mini", &unique("rate"));
    fresh_minute();
    for remaining in ["2", "1", "0"] {
        let resp = call(app, CHAT, &gw.token, &body, &[]);
        assert_eq!(resp.status, 200, "{resp}");
        assert_eq!(resp.header("x-ratelimit-limit"), Some("3"));
        assert_eq!(resp.header("x-ratelimit-remaining"), Some(remaining));
        let reset: i64 = resp.header("x-ratelimit-reset").unwrap().parse().unwrap();
        assert!((1..=60).contains(&reset), "{reset}");
    }
    let over = call(app, CHAT, &gw.token, &body, &[]);
    assert_rate_limited(&over);
    assert_eq!(over.header("x-ratelimit-remaining"), Some("0"));
    // The limit is the token's: another token of the same team still has its own.
    let other = app.create_token(&gw.team.owner.auth, "member").token;
    assert_eq!(call(app, CHAT, &other, &body, &[]).status, 200);
}
