//! The executions API: filters and paging, roles, tenancy, and the live stream.

use crate::helpers::*;
use serde_json::{json, Value};

fn list(app: &TestApp, auth: &Auth, query: &str) -> Vec<Value> {
    app.get(&format!("/api/executions{query}"), auth)
        .expect(200)["data"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn the_list_filters_by_status_workflow_name_and_time_newest_first() {
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let good = app.hook_workflow(auth, "/hook");
    let bad = app.hook_workflow(auth, "/hook/fail");
    let ok_ids: Vec<String> = (0..2)
        .map(|_| app.execute(auth, &good, json!({})))
        .collect();
    let failed = app.execute(auth, &bad, json!({}));
    for id in ok_ids.iter().chain([&failed]) {
        app.wait_finished(auth, id);
    }
    let all = list(app, auth, "");
    assert_eq!(
        ids(&all),
        vec![failed.clone(), ok_ids[1].clone(), ok_ids[0].clone()]
    );
    assert_eq!(
        ids(&list(app, auth, "?status=failed")),
        vec![failed.clone()]
    );
    assert_eq!(ids(&list(app, auth, "?status=failed,succeeded")).len(), 3);
    assert_eq!(
        ids(&list(app, auth, &format!("?workflow={good}"))),
        vec![ok_ids[1].clone(), ok_ids[0].clone()]
    );
    let name = string(&app.get(&format!("/api/workflows/{bad}"), auth).expect(200)["name"]);
    assert_eq!(
        ids(&list(app, auth, &format!("?q={}", query_escape(&name)))),
        vec![failed.clone()]
    );
    assert!(
        list(app, auth, "?q=%25").is_empty(),
        "a % in q is a literal"
    );
    assert_eq!(
        ids(&list(
            app,
            auth,
            &format!("?q={}", query_escape(&name.to_uppercase()))
        )),
        vec![failed.clone()],
        "q ignores ASCII case"
    );
    // Found by schemathesis: q went into a LIKE pattern, and D1 refuses patterns over 50 bytes.
    let long = format!("{name}{}", "x".repeat(200 - name.chars().count()));
    assert!(list(app, auth, &format!("?q={}", query_escape(&long))).is_empty());
    let created = all[2]["created_at"].as_i64().unwrap();
    assert_eq!(list(app, auth, &format!("?to={created}")).len(), 0);
    assert_eq!(list(app, auth, &format!("?from={created}")).len(), 3);
    assert_eq!(ids(&app.walk("/api/executions", auth)), ids(&all));
    assert!(all
        .iter()
        .all(|e| e["workflow_name"].is_string() && e.get("input").is_none()));
    // The list's items are written by SQL and the detail by the Worker: the same members, the
    // same values (the detail adds the input and the steps), the failed run's error included.
    for item in &all {
        let mut detail = app
            .get(&format!("/api/executions/{}", string(&item["id"])), auth)
            .expect(200);
        let fields = detail.as_object_mut().unwrap();
        fields.remove("input");
        fields.remove("steps");
        assert_eq!(&detail, item);
    }
}

#[test]
fn bad_filters_are_422_naming_the_parameter() {
    let app = app();
    let team = app.signup_team();
    for (query, field) in [
        ("?status=done", "status"),
        ("?workflow=abc", "workflow"),
        ("?from=yesterday", "from"),
        ("?limit=0", "limit"),
    ] {
        let resp = app.get(&format!("/api/executions{query}"), &team.owner.auth);
        resp.assert_error(422, "validation_failed");
        assert_eq!(resp.invalid_fields(), [field]);
    }
}

#[test]
fn viewers_read_runs_but_only_members_start_cancel_or_retry_them() {
    let app = app();
    let team = app.signup_team();
    let owner = &team.owner.auth;
    let wf = app.hook_workflow(owner, "/hook/fail");
    let id = app.execute(owner, &wf, json!({}));
    app.wait_finished(owner, &id);
    let viewer = team.member(app, "viewer");
    let v = &viewer.auth;
    app.get("/api/workflows", v).expect(200);
    app.get(&format!("/api/workflows/{wf}"), v).expect(200);
    app.get("/api/executions", v).expect(200);
    app.get(&format!("/api/executions/{id}"), v).expect(200);
    app.post_json("/api/workflows", &json!({"name": "w", "steps": []}), v)
        .assert_error(403, "forbidden");
    app.patch_json(&format!("/api/workflows/{wf}"), &json!({"name": "x"}), v)
        .assert_error(403, "forbidden");
    app.delete(&format!("/api/workflows/{wf}"), v)
        .assert_error(403, "forbidden");
    app.post_json(&format!("/api/workflows/{wf}/execute"), &json!({}), v)
        .assert_error(403, "forbidden");
    app.post(&format!("/api/executions/{id}/cancel"), v)
        .assert_error(403, "forbidden");
    app.post(&format!("/api/executions/{id}/retry"), v)
        .assert_error(403, "forbidden");
    let member = team.member(app, "member");
    app.post(&format!("/api/executions/{id}/retry"), &member.auth)
        .expect(201);
}

#[test]
fn another_teams_workflows_and_executions_are_404() {
    let app = app();
    let theirs = app.signup_team();
    let wf = app.hook_workflow(&theirs.owner.auth, "/hook");
    let id = app.execute(&theirs.owner.auth, &wf, json!({}));
    app.wait_finished(&theirs.owner.auth, &id);
    let ours = app.signup_team();
    let auth = &ours.owner.auth;
    for bad_wf in [wf.as_str(), "nope"] {
        app.get(&format!("/api/workflows/{bad_wf}"), auth)
            .assert_error(404, "not_found");
        app.patch_json(
            &format!("/api/workflows/{bad_wf}"),
            &json!({"name": "x"}),
            auth,
        )
        .assert_error(404, "not_found");
        app.delete(&format!("/api/workflows/{bad_wf}"), auth)
            .assert_error(404, "not_found");
        app.post_json(
            &format!("/api/workflows/{bad_wf}/execute"),
            &json!({}),
            auth,
        )
        .assert_error(404, "not_found");
    }
    for bad_id in [id.as_str(), "nope"] {
        app.get(&format!("/api/executions/{bad_id}"), auth)
            .assert_error(404, "not_found");
        app.post(&format!("/api/executions/{bad_id}/cancel"), auth)
            .assert_error(404, "not_found");
        app.post(&format!("/api/executions/{bad_id}/retry"), auth)
            .assert_error(404, "not_found");
    }
    assert!(list(app, auth, "").is_empty());
    assert!(app.get("/api/workflows", auth).expect(200)["data"]
        .as_array()
        .unwrap()
        .is_empty());
    assert!(list(app, auth, &format!("?workflow={wf}")).is_empty());
}

#[test]
fn the_stream_sends_status_changes_and_resumes_after_last_event_id() {
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let wf = app.hook_workflow(auth, "/hook");
    let mut stream = app.open_stream("/api/executions/stream", auth, None);
    let id = app.execute(auth, &wf, json!({}));
    let pending = stream.until(|e| e.data["execution_id"] == id.as_str());
    assert_eq!(pending.event.as_deref(), Some("execution"));
    assert_eq!(pending.data["status"], "pending");
    assert_eq!(pending.data["workflow_id"], wf.as_str());
    assert!(
        pending.data["workflow_name"].is_string(),
        "{}",
        pending.data
    );
    let done =
        stream.until(|e| e.data["execution_id"] == id.as_str() && e.data["status"] == "succeeded");
    drop(stream);

    // Reconnecting after the first event replays what came after it.
    let mut resumed = app.open_stream("/api/executions/stream", auth, pending.id.as_deref());
    let next = resumed.next_event();
    assert_eq!(
        (
            next.data["execution_id"].clone(),
            next.data["status"].clone()
        ),
        (json!(id), json!("running"))
    );
    let again = resumed.until(|e| e.data["status"] == "succeeded");
    assert_eq!(again.id, done.id);

    // Another team's stream never shows this team's runs.
    let other = app.signup_team();
    let mut theirs = app.open_stream("/api/executions/stream", &other.owner.auth, Some("0"));
    let their_wf = app.hook_workflow(&other.owner.auth, "/hook");
    let their_id = app.execute(&other.owner.auth, &their_wf, json!({}));
    let first = theirs.next_event();
    assert_eq!(first.data["execution_id"], their_id.as_str());
}
