//! Error tracking: grouping by fingerprint, capture from failed runs, resolve and regress (but not
//! from an older workflow version), filters, statistics, roles and tenancy.

use crate::helpers::*;
use serde_json::{json, Value};

fn report(app: &TestApp, auth: &Auth, body: Value) -> Value {
    app.post_json("/api/errors", &body, auth).expect(201)
}

fn issues(app: &TestApp, auth: &Auth, query: &str) -> Vec<Value> {
    app.get(&format!("/api/errors{query}"), auth).expect(200)["data"]
        .as_array()
        .unwrap()
        .clone()
}

fn issue(app: &TestApp, auth: &Auth, id: &str) -> Value {
    app.get(&format!("/api/errors/{id}"), auth).expect(200)
}

#[test]
fn ten_reports_differing_only_in_ids_group_into_one_issue_with_count_10() {
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let mut issue_ids = Vec::new();
    for n in 0..10 {
        let message = format!(
            "Order {} for user 0190a5b0-0000-7000-8000-0000000000{n:02} failed at 2026-01-{:02}T10:00:0{n}Z (trace {:x}ab12cd34)",
            1000 + n * 37,
            n + 1,
            n * 7919
        );
        let created = report(
            app,
            auth,
            json!({"type": "OrderError", "message": message, "stack": format!("at checkout.js:{n}")}),
        );
        issue_ids.push(string(&created["issue_id"]));
    }
    issue_ids.dedup();
    assert_eq!(issue_ids.len(), 1);
    let other = report(
        app,
        auth,
        json!({"type": "OrderError", "message": "Payment declined"}),
    );
    let list = issues(app, auth, "");
    assert_eq!(list.len(), 2);
    let grouped = list
        .iter()
        .find(|i| i["id"] == issue_ids[0].as_str())
        .unwrap();
    assert_eq!(grouped["count"], 10);
    assert_eq!(grouped["status"], "unresolved");
    assert_eq!(grouped["severity"], "medium");
    assert_eq!(list[0]["id"], other["issue_id"], "newest seen first");
    let detail = issue(app, auth, &issue_ids[0]);
    let occurrences = detail["occurrences"].as_array().unwrap();
    assert_eq!(occurrences.len(), 10);
    assert_eq!(
        occurrences[0]["stack"], "at checkout.js:9",
        "newest first, with its stack"
    );
    assert_eq!(occurrences[0]["source"], "client");
}

#[test]
fn a_resolved_issue_regresses_on_a_new_failure_but_not_on_one_from_an_older_version() {
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let wf = app.hook_workflow(auth, "/hook/fail");
    let old_run = app.execute(auth, &wf, json!({}));
    app.wait_finished(auth, &old_run);
    let list = issues(app, auth, &format!("?workflow={wf}"));
    assert_eq!(list.len(), 1, "{list:?}");
    let id = string(&list[0]["id"]);
    assert_eq!(
        (
            list[0]["type"].as_str(),
            list[0]["severity"].as_str(),
            list[0]["step_id"].as_str()
        ),
        (Some("http_error"), Some("high"), Some("a"))
    );
    let occurrence = &issue(app, auth, &id)["occurrences"][0];
    assert_eq!(occurrence["provider_status"], 503);
    assert_eq!(occurrence["execution_id"], old_run.as_str());
    assert_eq!(occurrence["workflow_version"], 1);
    assert_eq!(occurrence["source"], "engine");

    // The fix ships as version 2; the issue is resolved in it.
    let patch = json!({"description": "retries the endpoint later"});
    app.patch_json(&format!("/api/workflows/{wf}"), &patch, auth)
        .expect(200);
    let resolved = app
        .post_json(
            &format!("/api/errors/{id}/resolve"),
            &json!({"notes": "fixed in v2"}),
            auth,
        )
        .expect(200);
    assert_eq!(resolved["status"], "resolved");
    assert_eq!(resolved["resolved_in_version"], 2);
    assert_eq!(resolved["resolution_notes"], "fixed in v2");

    // A retry of the old run runs version 1: it counts, but the issue stays resolved.
    let retry = app
        .post(&format!("/api/executions/{old_run}/retry"), auth)
        .expect(201);
    app.wait_finished(auth, &string(&retry["id"]));
    let after_old = issue(app, auth, &id);
    assert_eq!(
        (after_old["status"].as_str(), after_old["count"].as_i64()),
        (Some("resolved"), Some(2))
    );

    // Version 2 fails the same way: regressed.
    let new_run = app.execute(auth, &wf, json!({}));
    app.wait_finished(auth, &new_run);
    let after_new = issue(app, auth, &id);
    assert_eq!(
        (after_new["status"].as_str(), after_new["count"].as_i64()),
        (Some("regressed"), Some(3))
    );
    assert!(after_new["regressed_at"].is_i64());
    assert_eq!(issues(app, auth, "?resolved=false").len(), 1);
    assert_eq!(issues(app, auth, "?resolved=true").len(), 0);
    // The team heard of it when it was new and when it regressed; not of the old version's run.
    let notes = app
        .get("/api/notifications?category=system&limit=200", auth)
        .expect(200);
    let link = format!("/errors/{id}");
    let kinds: Vec<&str> = notes["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["link"] == link.as_str())
        .map(|n| n["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["error.regressed", "error.new"], "newest first");
}

#[test]
fn resolve_and_reopen_move_between_states_and_refuse_the_wrong_one() {
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let id = string(&report(app, auth, json!({"type": "E", "message": "boom"}))["issue_id"]);
    app.post(&format!("/api/errors/{id}/reopen"), auth)
        .assert_error(409, "invalid_state");
    let resolved = app
        .post(&format!("/api/errors/{id}/resolve"), auth)
        .expect(200);
    assert_eq!(resolved["status"], "resolved");
    assert!(resolved["resolved_at"].is_i64());
    app.post(&format!("/api/errors/{id}/resolve"), auth)
        .assert_error(409, "invalid_state");
    // A client error has no workflow version: it regresses a resolved issue.
    report(app, auth, json!({"type": "E", "message": "boom"}));
    assert_eq!(issue(app, auth, &id)["status"], "regressed");
    let reopened = app
        .post(&format!("/api/errors/{id}/reopen"), auth)
        .expect(200);
    assert_eq!(reopened["status"], "unresolved");
    assert_eq!(reopened["resolved_at"], Value::Null);

    // Bad bodies on resolve (its body may be left out).
    let path = format!("/api/errors/{id}/resolve");
    app.post_raw(&path, b"{", Some(JSON), auth)
        .assert_error(400, "bad_request");
    app.post_raw(&path, b"{}", Some("text/plain"), auth)
        .assert_error(415, "unsupported_media_type");
    app.post_raw(&path, b"[1]", Some(JSON), auth)
        .assert_error(422, "validation_failed");
    let resp = app.post_json(&path, &json!({"notes": 5}), auth);
    assert_eq!(resp.invalid_fields(), ["notes"]);
}

#[test]
fn reports_are_validated_and_severity_is_derived_unless_given() {
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let given = report(
        app,
        auth,
        json!({"type": "timeout", "message": "slow", "severity": "low"}),
    );
    assert_eq!(given["severity"], "low");
    let derived = report(app, auth, json!({"type": "timeout", "message": "slower"}));
    assert_eq!(derived["severity"], "high");
    assert_eq!(derived["issue"]["count"], 1);
    let theirs = app.signup_team();
    let their_wf = app.hook_workflow(&theirs.owner.auth, "/hook");
    for (body, field) in [
        (
            json!({"type": "E", "message": "m", "severity": "urgent"}),
            "severity",
        ),
        (
            json!({"type": "E", "message": "m", "workflow_id": their_wf}),
            "workflow_id",
        ),
        (
            json!({"type": "E", "message": "m", "workflow_id": "nope"}),
            "workflow_id",
        ),
        (
            json!({"type": "E", "message": "m", "context": [1]}),
            "context",
        ),
        (json!({"type": "E", "message": "m", "stack": 5}), "stack"),
        (json!({"type": "", "message": "m"}), "type"),
    ] {
        let resp = app.post_json("/api/errors", &body, auth);
        assert_eq!(resp.invalid_fields(), [field], "{body}");
    }
    for (query, field) in [
        ("?severity=urgent", "severity"),
        ("?resolved=maybe", "resolved"),
        ("?workflow=abc", "workflow"),
        ("?from=yesterday", "from"),
        ("?status=open", "status"),
    ] {
        let resp = app.get(&format!("/api/errors{query}"), auth);
        assert_eq!(resp.invalid_fields(), [field], "{query}");
    }
    assert_eq!(issues(app, auth, "?severity=high").len(), 1);
    assert_eq!(issues(app, auth, "?severity=low,high").len(), 2);
}

#[test]
fn members_report_errors_signed_in_or_with_a_token_viewers_and_viewer_tokens_do_not() {
    let app = app();
    let team = app.signup_team();
    let body = json!({"type": "E", "message": "from an SDK"});
    let viewer = team.member(app, "viewer");
    app.post_json("/api/errors", &body, &viewer.auth)
        .assert_error(403, "forbidden");
    let read_only = app.create_token(&team.owner.auth, "viewer");
    app.post_json("/api/errors", &body, &read_only.auth())
        .assert_error(403, "forbidden");
    let token = app.create_token(&team.owner.auth, "member");
    report(app, &token.auth(), body.clone());
    let member = team.member(app, "member");
    let id = string(&report(app, &member.auth, body)["issue_id"]);
    app.post(&format!("/api/errors/{id}/resolve"), &viewer.auth)
        .assert_error(403, "forbidden");
    assert_eq!(issue(app, &viewer.auth, &id)["count"], 2);
}

#[test]
fn another_teams_issues_are_404_and_stay_untouched() {
    let app = app();
    let theirs = app.signup_team();
    let id = string(
        &report(
            app,
            &theirs.owner.auth,
            json!({"type": "E", "message": "theirs"}),
        )["issue_id"],
    );
    let ours = app.signup_team();
    let auth = &ours.owner.auth;
    app.get(&format!("/api/errors/{id}"), auth)
        .assert_error(404, "not_found");
    app.post(&format!("/api/errors/{id}/resolve"), auth)
        .assert_error(404, "not_found");
    app.post(&format!("/api/errors/{id}/reopen"), auth)
        .assert_error(404, "not_found");
    assert!(issues(app, auth, "").is_empty());
    assert_eq!(issue(app, &theirs.owner.auth, &id)["status"], "unresolved");
}

#[test]
fn stats_count_by_severity_type_and_day_with_the_error_rate() {
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let ok = app.hook_workflow(auth, "/hook");
    let failing = app.hook_workflow(auth, "/hook/fail");
    let bad_key = app.add_key(auth, "openai_compatible", BAD_KEY);
    let refused = string(&app.create_workflow(auth, json!([{"id": "a", "kind": "llm", "agent": "w", "key_id": bad_key, "model": "gpt-4o-mini", "prompt": "hi"}]))["id"]);
    for wf in [&ok, &ok, &failing, &refused] {
        let id = app.execute(auth, wf, json!({}));
        app.wait_finished(auth, &id);
    }
    report(
        app,
        auth,
        json!({"type": "ValidationError", "message": "bad email"}),
    );
    let stats = app.get("/api/errors/stats?range=7d", auth).expect(200);
    assert_eq!(stats["total"], 3);
    assert_eq!(
        stats["by_severity"],
        json!({"low": 1, "medium": 0, "high": 1, "critical": 1})
    );
    let types: Vec<&str> = stats["by_type"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["type"].as_str().unwrap())
        .collect();
    assert!(
        types.contains(&"provider_auth") && types.contains(&"http_error"),
        "{stats}"
    );
    assert_eq!(stats["executions"], json!({"total": 4, "failed": 2}));
    assert_eq!(stats["error_rate"], 0.5);
    let daily = stats["daily"].as_array().unwrap();
    assert!(daily.len() >= 7);
    assert_eq!(
        daily
            .iter()
            .map(|d| d["count"].as_i64().unwrap())
            .sum::<i64>(),
        3
    );
}
