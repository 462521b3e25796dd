//! Liveness for anyone, component checks for the signed in (`/api/health`).

use crate::helpers::{app, Auth};
use serde_json::Value;

fn assert_status_and_version(body: &Value) {
    let status = body["status"].as_str().unwrap_or("");
    assert!(matches!(status, "ok" | "degraded"), "{body}");
    assert!(
        body["version"].as_str().is_some_and(|v| !v.is_empty()),
        "{body}"
    );
}

#[test]
fn health_without_auth_answers_status_and_version_only() {
    let app = app();
    let body = app.get("/api/health", &Auth::None).expect(200);
    assert_status_and_version(&body);
    assert!(
        body.get("checks").is_none(),
        "checks shown to anyone: {body}"
    );
}

#[test]
fn health_signed_in_adds_a_check_per_component() {
    let app = app();
    let (team, viewer) = app.as_role("viewer");
    let token = app.create_token(&team.owner.auth, "viewer");
    for auth in [viewer.auth, token.auth()] {
        let body = app.get("/api/health", &auth).expect(200);
        assert_status_and_version(&body);
        for component in ["d1", "kv", "queue", "cron"] {
            let state = &body["checks"][component]["state"];
            assert!(
                state.as_str().is_some_and(|s| !s.is_empty()),
                "{component}: {body}"
            );
        }
    }
}

#[test]
fn the_queue_check_reports_the_teams_backlog_and_a_slow_one_degrades_health() {
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let wf = app.hook_workflow(auth, "/hook");
    let id = app.execute(auth, &wf, serde_json::json!({}));
    app.wait_finished(auth, &id);
    let queue = &app.get("/api/health", auth).expect(200)["checks"]["queue"];
    assert_eq!(
        (queue["state"].as_str(), queue["backlog"].as_i64()),
        (Some("ok"), Some(0)),
        "{queue}"
    );
    // The run, as if it had waited ten minutes for a delivery that never came.
    app.sql(&format!(
        "UPDATE executions SET status = 'pending', created_at = created_at - 600000 WHERE id = '{id}'"
    ));
    let body = app.get("/api/health", auth).expect(200);
    app.sql(&format!(
        "UPDATE executions SET status = 'succeeded' WHERE id = '{id}'"
    ));
    let queue = &body["checks"]["queue"];
    assert_eq!(
        (queue["state"].as_str(), queue["backlog"].as_i64()),
        (Some("slow"), Some(1)),
        "{queue}"
    );
    assert!(queue["oldest_pending_at"].is_i64(), "{queue}");
    assert_eq!(body["status"], "degraded");
}
