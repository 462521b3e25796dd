//! Workflows and the execution engine, end to end: definitions and versions, runs against the
//! stand-in provider and endpoint, token buckets, failures, retries, cancel, redelivery and
//! idempotency.

use crate::helpers::*;
use serde_json::{json, Value};

fn llm(id: &str, key_id: &str, model: &str, prompt: &str) -> Value {
    json!({"id": id, "kind": "llm", "agent": "writer", "key_id": key_id, "model": model, "prompt": prompt})
}

fn hook(id: &str, body: &str) -> Value {
    json!({"id": id, "kind": "http", "method": "POST", "url": format!("{}/hook", stand_in().base_url), "body": {"text": body}})
}

fn step<'a>(detail: &'a Value, id: &str) -> &'a Value {
    detail["steps"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["id"] == id))
        .unwrap_or_else(|| panic!("no step {id}: {detail}"))
}

fn calls_to(path: &str, marker: &str) -> usize {
    stand_in()
        .requests_with(marker)
        .iter()
        .filter(|r| r.path == path)
        .count()
}

#[test]
fn a_two_step_workflow_runs_to_succeeded_and_records_disjoint_token_buckets() {
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let key = app.openai_key(auth);
    let marker = unique("topic");
    let steps = json!([
        llm("draft", &key, "gpt-4o-mini", "Summarise {{input.topic}}"),
        hook("post", "{{steps.draft.output}}")
    ]);
    let wf = app.create_workflow(auth, steps);
    let id = app.execute(auth, &string(&wf["id"]), json!({"topic": marker}));
    let detail = app.wait_finished(auth, &id);

    assert_eq!(detail["status"], "succeeded", "{detail}");
    assert_eq!(detail["workflow_version"], 1);
    let draft = step(&detail, "draft");
    assert_eq!(draft["output"], format!("echo: Summarise {marker}"));
    assert_eq!(
        draft["tokens"],
        json!({"input": 200, "cache_read": 800, "cache_write": 0, "output": 180, "reasoning": 120, "total": 1300})
    );
    assert!(step(&detail, "post")["output"]
        .as_str()
        .unwrap()
        .contains(&format!("echo: Summarise {marker}")));

    // The provider saw the decrypted key; the endpoint got the first step's output.
    let calls = stand_in().requests_with(&marker);
    let chat = calls
        .iter()
        .find(|r| r.path == "/v1/chat/completions")
        .expect("the provider was called");
    assert_eq!(
        chat.header("authorization"),
        Some(format!("Bearer {OPENAI_KEY}").as_str())
    );
    assert_eq!(calls_to("/hook", &marker), 1);

    let usage = app.sql(&format!(
        "SELECT input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens, provider, model, agent, key_id, step_id
         FROM llm_usage WHERE execution_id = '{id}'"
    ));
    let rows = usage[0]["results"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0],
        json!({"input_tokens": 200, "cache_read_tokens": 800, "cache_write_tokens": 0, "output_tokens": 180, "reasoning_tokens": 120,
               "provider": "openai_compatible", "model": "gpt-4o-mini", "agent": "writer", "key_id": key, "step_id": "draft"})
    );
    let key_view = app.get(&format!("/api/keys/{key}"), auth).expect(200);
    assert_eq!(key_view["usage_count"], 1);
    assert!(key_view["last_used_at"].as_i64().is_some());
}

#[test]
fn anthropic_usage_keeps_its_cache_buckets_apart() {
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let key = app.add_key(auth, "anthropic", ANTHROPIC_KEY);
    let marker = unique("anthropic");
    let wf = app.create_workflow(
        auth,
        json!([llm("ask", &key, "claude-sonnet-4-5", "{{input.q}}")]),
    );
    let detail = app.wait_finished(
        auth,
        &app.execute(auth, &string(&wf["id"]), json!({"q": marker})),
    );
    assert_eq!(detail["status"], "succeeded", "{detail}");
    assert_eq!(
        step(&detail, "ask")["tokens"],
        json!({"input": 50, "cache_read": 900, "cache_write": 100, "output": 70, "reasoning": 0, "total": 1120})
    );
    let call = stand_in()
        .requests_with(&marker)
        .into_iter()
        .find(|r| r.path == "/v1/messages")
        .expect("called");
    assert_eq!(call.header("x-api-key"), Some(ANTHROPIC_KEY));
    assert!(call.header("anthropic-version").is_some());
}

#[test]
fn a_provider_500_fails_the_execution_after_retries_and_skips_later_steps() {
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let key = app.openai_key(auth);
    let marker = unique("boom");
    let wf = app.create_workflow(
        auth,
        json!([
            llm("a", &key, "standin-500", "{{input.m}}"),
            hook("b", "{{steps.a.output}}")
        ]),
    );
    let detail = app.wait_finished(
        auth,
        &app.execute(auth, &string(&wf["id"]), json!({"m": marker})),
    );
    assert_eq!(detail["status"], "failed");
    assert_eq!(
        (
            detail["error"]["type"].clone(),
            detail["error"]["provider_status"].clone()
        ),
        (json!("provider_error"), json!(500))
    );
    assert_eq!(detail["error"]["step_id"], "a");
    assert_eq!(step(&detail, "a")["status"], "failed");
    assert_eq!(step(&detail, "a")["error"]["type"], "provider_error");
    assert_eq!(step(&detail, "b")["status"], "skipped");
    assert_eq!(
        calls_to("/v1/chat/completions", &marker),
        4,
        "one call and three retries"
    );
    assert!(completed_at(&detail) >= detail["started_at"].as_i64().unwrap());
}

fn completed_at(detail: &Value) -> i64 {
    detail["completed_at"]
        .as_i64()
        .unwrap_or_else(|| panic!("no completed_at: {detail}"))
}

#[test]
fn rate_limits_are_retried_and_persistent_ones_fail_as_rate_limit() {
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let key = app.openai_key(auth);

    let once = unique("once");
    let wf = app.create_workflow(
        auth,
        json!([llm("a", &key, "standin-429-once", "{{input.m}}")]),
    );
    let detail = app.wait_finished(
        auth,
        &app.execute(auth, &string(&wf["id"]), json!({"m": once})),
    );
    assert_eq!(detail["status"], "succeeded", "{detail}");
    assert_eq!(calls_to("/v1/chat/completions", &once), 2);

    let always = unique("always");
    let wf = app.create_workflow(auth, json!([llm("a", &key, "standin-429", "{{input.m}}")]));
    let detail = app.wait_finished(
        auth,
        &app.execute(auth, &string(&wf["id"]), json!({"m": always})),
    );
    assert_eq!(detail["status"], "failed");
    assert_eq!(detail["error"]["type"], "rate_limit");
    assert_eq!(detail["error"]["provider_status"], 429);
    assert_eq!(calls_to("/v1/chat/completions", &always), 4);
}

#[test]
fn cancelling_a_running_execution_lets_the_step_finish_and_starts_no_other() {
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let key = app.openai_key(auth);
    let marker = unique("slow");
    let wf = app.create_workflow(
        auth,
        json!([
            llm("slow", &key, "standin-hold", "{{input.m}}"),
            hook("after", "{{steps.slow.output}}")
        ]),
    );
    let id = app.execute(auth, &string(&wf["id"]), json!({"m": marker}));
    app.wait_until(auth, &id, |d| step(d, "slow")["status"] == "running");
    let cancelled = app
        .post(&format!("/api/executions/{id}/cancel"), auth)
        .expect(200);
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(step(&cancelled, "after")["status"], "cancelled");

    stand_in().release(&marker);
    let detail = app.wait_until(auth, &id, |d| step(d, "slow")["status"] != "running");
    assert_eq!(detail["status"], "cancelled");
    assert_eq!(step(&detail, "slow")["status"], "succeeded");
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(
        calls_to("/hook", &marker),
        0,
        "no step may start after a cancel"
    );
    app.post(&format!("/api/executions/{id}/cancel"), auth)
        .assert_error(409, "invalid_state");
}

#[test]
fn a_redelivered_message_never_runs_a_completed_step_again() {
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let key = app.openai_key(auth);
    let marker = unique("redeliver");
    let wf = app.create_workflow(
        auth,
        json!([
            llm("a", &key, "gpt-4o-mini", "{{input.m}}"),
            hook("b", "{{steps.a.output}}")
        ]),
    );
    let id = app.execute(auth, &string(&wf["id"]), json!({"m": marker}));
    assert_eq!(app.wait_finished(auth, &id)["status"], "succeeded");

    // As if the consumer died after step a: the execution is running again with b pending, and
    // the cron sweep re-sends its message.
    app.sql(&format!(
        "UPDATE executions SET status = 'running', completed_at = NULL, created_at = 0 WHERE id = '{id}';
         UPDATE execution_steps SET status = 'pending', output = NULL, completed_at = NULL WHERE execution_id = '{id}' AND step_id = 'b'"
    ));
    let tick = app.get("/__scheduled?cron=*+*+*+*+*", &Auth::None);
    assert_eq!(tick.status, 200, "{tick}");
    let detail = app.wait_finished(auth, &id);
    assert_eq!(detail["status"], "succeeded", "{detail}");
    assert_eq!(
        calls_to("/v1/chat/completions", &marker),
        1,
        "the completed step ran again"
    );
    assert_eq!(calls_to("/hook", &marker), 2);

    // A second delivery of a finished execution's message does nothing at all.
    app.sql(&format!(
        "UPDATE executions SET status = 'running', completed_at = NULL WHERE id = '{id}'"
    ));
    assert_eq!(
        app.get("/__scheduled?cron=*+*+*+*+*", &Auth::None).status,
        200
    );
    assert_eq!(app.wait_finished(auth, &id)["status"], "succeeded");
    assert_eq!(
        (
            calls_to("/v1/chat/completions", &marker),
            calls_to("/hook", &marker)
        ),
        (1, 2)
    );
    let usage = app.sql(&format!(
        "SELECT COUNT(*) AS n FROM llm_usage WHERE execution_id = '{id}'"
    ));
    assert_eq!(usage[0]["results"][0]["n"], 1);
}

#[test]
fn an_idempotency_key_answers_the_same_execution() {
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let wf = app.create_workflow(auth, json!([hook("a", "x")]));
    let path = format!("/api/workflows/{}/execute", string(&wf["id"]));
    let body = json!({"input": {}}).to_string();
    let key = unique("idem");
    let send = |path: &str, k: &str| {
        let (name, value) = match auth {
            Auth::Cookie(t) => ("Cookie", format!("beacon_session={t}")),
            _ => unreachable!(),
        };
        let resp = app.request(
            "POST",
            path,
            &[
                (name, &value),
                ("Content-Type", JSON),
                ("Idempotency-Key", k),
            ],
            Some(body.as_bytes()),
        );
        string(&resp.expect(202)["execution_id"])
    };
    let first = send(&path, &key);
    assert_eq!(send(&path, &key), first);
    assert_ne!(send(&path, &unique("idem")), first);
}

#[test]
fn an_idempotency_key_is_tied_to_its_workflow() {
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let first_wf = string(&app.create_workflow(auth, json!([hook("a", "x")]))["id"]);
    let second_wf = string(&app.create_workflow(auth, json!([hook("a", "y")]))["id"]);
    let key = unique("idem");
    let send = |wf: &str| {
        let Auth::Cookie(t) = auth else {
            unreachable!()
        };
        let cookie = format!("beacon_session={t}");
        let resp = app.request(
            "POST",
            &format!("/api/workflows/{wf}/execute"),
            &[
                ("Cookie", &cookie),
                ("Content-Type", JSON),
                ("Idempotency-Key", &key),
            ],
            Some(json!({"input": {}}).to_string().as_bytes()),
        );
        string(&resp.expect(202)["execution_id"])
    };
    let first = send(&first_wf);
    let second = send(&second_wf);
    assert_ne!(
        first, second,
        "the key answered another workflow's execution"
    );
    let detail = app
        .get(&format!("/api/executions/{second}"), auth)
        .expect(200);
    assert_eq!(detail["workflow_id"], second_wf.as_str());
    assert_eq!(send(&second_wf), second);
}

#[test]
fn editing_makes_a_new_version_and_runs_record_theirs() {
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let wf = app.create_workflow(auth, json!([hook("a", "v1")]));
    let wf_id = string(&wf["id"]);
    assert_eq!(wf["version"], 1);
    let first = app.execute(auth, &wf_id, json!({}));
    let edited = app
        .patch_json(
            &format!("/api/workflows/{wf_id}"),
            &json!({"steps": [hook("a", "v2"), hook("b", "v2")]}),
            auth,
        )
        .expect(200);
    assert_eq!(edited["version"], 2);
    assert_eq!(edited["steps"].as_array().unwrap().len(), 2);
    let renamed = app
        .patch_json(
            &format!("/api/workflows/{wf_id}"),
            &json!({"name": "Renamed"}),
            auth,
        )
        .expect(200);
    assert_eq!(
        (renamed["version"].clone(), renamed["name"].clone()),
        (json!(3), json!("Renamed"))
    );
    let second = app.execute(auth, &wf_id, json!({}));
    assert_eq!(app.wait_finished(auth, &first)["workflow_version"], 1);
    let second = app.wait_finished(auth, &second);
    assert_eq!(
        (
            second["workflow_version"].clone(),
            second["steps"].as_array().unwrap().len()
        ),
        (json!(3), 2)
    );
}

#[test]
fn invalid_definitions_are_422_naming_the_step_and_field() {
    let app = app();
    let team = app.signup_team();
    let other = app.signup_team();
    let auth = &team.owner.auth;
    let theirs = app.openai_key(&other.owner.auth);
    let cases = [
        (
            json!([{"id": "a", "kind": "llm", "agent": "w", "key_id": theirs, "model": "m", "prompt": "p"}]),
            "steps[0].key_id",
        ),
        (
            json!([hook("a", "x"), {"id": "b", "kind": "llm"}]),
            "steps[1].agent",
        ),
        (
            json!([hook("a", "{{steps.later.output}}"), hook("later", "x")]),
            "steps[0].body",
        ),
        (
            json!([{"id": "a", "kind": "http", "method": "GET", "url": "ftp://example.com"}]),
            "steps[0].url",
        ),
        (json!([]), "steps"),
        (json!("nope"), "steps"),
    ];
    for (steps, field) in cases {
        let resp = app.post_json(
            "/api/workflows",
            &json!({"name": "w", "steps": steps}),
            auth,
        );
        resp.assert_error(422, "validation_failed");
        assert!(
            resp.invalid_fields().iter().any(|f| f == field),
            "{field} not in {resp}"
        );
    }
    let wf = app.create_workflow(auth, json!([hook("a", "x")]));
    let resp = app.post_json(
        &format!("/api/workflows/{}/execute", string(&wf["id"])),
        &json!({"input": [1]}),
        auth,
    );
    resp.assert_error(422, "validation_failed");
    assert_eq!(resp.invalid_fields(), ["input"]);
}

#[test]
fn retrying_a_failed_execution_starts_a_new_one_that_points_back() {
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let wf = app.create_workflow(auth, json!([{"id": "a", "kind": "http", "method": "GET", "url": format!("{}/hook/fail", stand_in().base_url)}]));
    let failed = app.execute(auth, &string(&wf["id"]), json!({"n": 1}));
    let detail = app.wait_finished(auth, &failed);
    assert_eq!(
        (detail["status"].clone(), detail["error"]["type"].clone()),
        (json!("failed"), json!("http_error"))
    );
    let retried = app
        .post(&format!("/api/executions/{failed}/retry"), auth)
        .expect(201);
    assert_eq!(retried["retry_of"], failed.as_str());
    assert_eq!(retried["input"], json!({"n": 1}));
    let again = app.wait_finished(auth, &string(&retried["id"]));
    assert_eq!(again["status"], "failed");

    let ok = app.create_workflow(auth, json!([hook("a", "x")]));
    let done = app.execute(auth, &string(&ok["id"]), json!({}));
    app.wait_finished(auth, &done);
    app.post(&format!("/api/executions/{done}/retry"), auth)
        .assert_error(409, "invalid_state");
}

#[test]
fn deleting_a_workflow_keeps_its_executions() {
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let wf = app.create_workflow(auth, json!([hook("a", "x")]));
    let wf_id = string(&wf["id"]);
    let id = app.execute(auth, &wf_id, json!({}));
    app.wait_finished(auth, &id);
    app.delete(&format!("/api/workflows/{wf_id}"), auth)
        .expect(204);
    app.delete(&format!("/api/workflows/{wf_id}"), auth)
        .assert_error(404, "not_found");
    app.get(&format!("/api/workflows/{wf_id}"), auth)
        .assert_error(404, "not_found");
    app.post_json(&format!("/api/workflows/{wf_id}/execute"), &json!({}), auth)
        .assert_error(404, "not_found");
    assert_eq!(
        app.get(&format!("/api/executions/{id}"), auth).expect(200)["status"],
        "succeeded"
    );
}

/// An http step to the stand-in's header echo, with one secret header.
fn echo_headers(secret: &str) -> Value {
    json!([{"id": "call", "kind": "http", "method": "GET",
            "url": format!("{}/hook/headers", stand_in().base_url),
            "headers": {"x-service-token": secret, "x-plain": "{{input.n}}"}}])
}

#[test]
fn http_step_header_values_are_stored_sealed_and_read_back_redacted() {
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let secret = unique("s3cret");
    let wf = app.create_workflow(auth, echo_headers(&secret));
    let id = string(&wf["id"]);
    assert_eq!(
        wf["steps"][0]["headers"]["x-service-token"], "<redacted>",
        "{wf}"
    );
    let viewer = team.member(app, "viewer");
    let read = app.get(&format!("/api/workflows/{id}"), &viewer.auth);
    assert!(!read.body.contains(&secret), "{read}");
    assert_eq!(read.json()["steps"][0]["headers"]["x-plain"], "<redacted>");
    let stored = app.sql(&format!(
        "SELECT steps FROM workflow_versions WHERE workflow_id = '{id}'"
    ));
    assert!(
        !stored.to_string().contains(&secret),
        "stored in plaintext: {stored}"
    );
    // The step still sends the real value.
    let execution = app.execute(auth, &id, json!({"n": "7"}));
    let detail = app.wait_finished(auth, &execution);
    assert_eq!(detail["status"], "succeeded", "{detail}");
    let output = detail["steps"][0]["output"].as_str().unwrap_or_default();
    assert!(
        output.contains(&secret) && output.contains("\"x-plain\":\"7\""),
        "{output}"
    );
}

#[test]
fn an_update_that_sends_redacted_keeps_the_stored_header_value() {
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let secret = unique("kept");
    let wf = app.create_workflow(auth, echo_headers(&secret));
    let id = string(&wf["id"]);
    // The steps exactly as read, redacted values and all, with a new header beside them.
    let mut steps = wf["steps"].clone();
    steps[0]["headers"]["x-new"] = json!("fresh");
    let edited = app
        .patch_json(
            &format!("/api/workflows/{id}"),
            &json!({"steps": steps}),
            auth,
        )
        .expect(200);
    assert_eq!(edited["version"], 2);
    let execution = app.execute(auth, &id, json!({"n": "1"}));
    let detail = app.wait_finished(auth, &execution);
    let output = detail["steps"][0]["output"].as_str().unwrap_or_default();
    assert!(
        output.contains(&secret) && output.contains("fresh"),
        "{detail}"
    );
    // "<redacted>" with nothing stored to keep is refused.
    let mut unknown = wf["steps"].clone();
    unknown[0]["headers"]["x-other"] = json!("<redacted>");
    let resp = app.patch_json(
        &format!("/api/workflows/{id}"),
        &json!({"steps": unknown}),
        auth,
    );
    assert_eq!(
        resp.invalid_fields(),
        ["steps.call.headers.x-other"],
        "{resp}"
    );
}
