//! Telemetry in (`/api/telemetry/*`): per-event validation in batches, ids stored once (also
//! under concurrency), the batch limits, metrics, and who may send.

use crate::helpers::{app, now_millis, string, unique, Auth, TestApp, JSON};
use serde_json::{json, Value};

pub fn now_ms() -> i64 {
    now_millis() as i64
}

/// An event with a fresh id in `component`, at `ts` when given.
pub fn event(component: &str, ts: Option<i64>) -> Value {
    let mut e = json!({"id": unique("ev"), "component": component, "action": "click"});
    if let Some(ts) = ts {
        e["timestamp"] = json!(ts);
    }
    e
}

pub fn send_batch(app: &TestApp, auth: &Auth, events: &[Value]) -> Value {
    app.post_json("/api/telemetry/batch", &json!({ "events": events }), auth)
        .expect(200)
}

/// How many rows the team's `events` table holds per id, from the database itself.
fn stored_ids(app: &TestApp, team_id: &str) -> Vec<(String, i64)> {
    let out = app.sql(&format!(
        "SELECT id, COUNT(*) AS n FROM events WHERE team_id = '{team_id}' GROUP BY id ORDER BY id"
    ));
    out[0]["results"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| (string(&r["id"]), r["n"].as_i64().unwrap_or(-1)))
        .collect()
}

fn rejected_indexes(answer: &Value) -> Vec<i64> {
    answer["rejected"]
        .as_array()
        .expect("rejected is a list")
        .iter()
        .map(|r| r["index"].as_i64().expect("an index"))
        .collect()
}

#[test]
fn a_batch_counts_good_bad_and_duplicate_events_and_stores_each_id_once() {
    let app = app();
    let team = app.signup_team();
    let sdk = app.create_token(&team.owner.auth, "member").auth();
    let mut a = event("checkout", None);
    a["id"] = json!(unique("a"));
    let mut b = event("checkout", None);
    b["id"] = json!(unique("b"));
    let future = event("checkout", Some(now_ms() + 3_600_000));
    let answer = send_batch(
        app,
        &sdk,
        &[
            a.clone(),
            json!({"component": 42, "action": "click"}),
            b.clone(),
            a.clone(),
            future,
            json!({"component": "nav", "action": "open"}),
        ],
    );
    assert_eq!(
        (answer["accepted"].as_i64(), answer["duplicates"].as_i64()),
        (Some(3), Some(1)),
        "{answer}"
    );
    assert_eq!(rejected_indexes(&answer), [1, 4], "{answer}");
    let reasons: Vec<&str> = answer["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["error"].as_str().unwrap_or(""))
        .collect();
    assert!(reasons[0].contains("component"), "{answer}");
    assert!(
        reasons[1].contains("timestamp") && reasons[1].contains("future"),
        "{answer}"
    );
    assert_eq!(answer["rejected"][0]["details"][0]["field"], "component");

    // An earlier batch's ids are duplicates too.
    let c = event("checkout", None);
    let again = send_batch(app, &sdk, &[a.clone(), b.clone(), c.clone()]);
    assert_eq!(
        (again["accepted"].as_i64(), again["duplicates"].as_i64()),
        (Some(1), Some(2)),
        "{again}"
    );
    assert_eq!(rejected_indexes(&again), Vec::<i64>::new());

    let stored = stored_ids(app, &team.team_id);
    assert_eq!(stored.len(), 4, "{stored:?}");
    assert!(stored.iter().all(|(_, n)| *n == 1), "{stored:?}");
    for id in [&a["id"], &b["id"], &c["id"]] {
        assert!(
            stored.iter().any(|(s, _)| s == id.as_str().unwrap()),
            "{id} not stored"
        );
    }
}

#[test]
fn the_same_batch_sent_twice_at_once_is_stored_once() {
    let app = app();
    let team = app.signup_team();
    let sdk = app.create_token(&team.owner.auth, "member").auth();
    let events: Vec<Value> = (0..50).map(|_| event("race", None)).collect();
    let answers: Vec<Value> = std::thread::scope(|scope| {
        let sends: Vec<_> = (0..2)
            .map(|_| scope.spawn(|| send_batch(app, &sdk, &events)))
            .collect();
        sends
            .into_iter()
            .map(|s| s.join().expect("a sender"))
            .collect()
    });
    let total = |key: &str| {
        answers
            .iter()
            .map(|a| a[key].as_i64().unwrap_or(-1))
            .sum::<i64>()
    };
    assert_eq!(
        (total("accepted"), total("duplicates")),
        (50, 50),
        "{answers:?}"
    );
    let stored = stored_ids(app, &team.team_id);
    assert_eq!(stored.len(), 50);
    assert!(stored.iter().all(|(_, n)| *n == 1));
    // The rollups counted each event once too.
    let summary = app
        .get("/api/analytics/summary?range=24h", &team.owner.auth)
        .expect(200);
    assert_eq!(summary["current"]["actions"], 50, "{summary}");
}

#[test]
fn track_answers_202_and_a_repeated_id_is_a_duplicate() {
    let app = app();
    let (_team, member) = app.as_role("member");
    // An RFC 3339 time, recent enough that no retention tick (another test's) deletes it.
    let at = chrono::DateTime::from_timestamp_millis(now_ms() - 3_600_000)
        .expect("a time")
        .to_rfc3339();
    let body = json!({"id": unique("t"), "component": "nav", "action": "open", "user_id": "u1",
                      "session_id": "s1", "properties": {"path": "/"}, "timestamp": at});
    let first = app
        .post_json("/api/telemetry/track", &body, &member.auth)
        .expect(202);
    assert_eq!(
        (&first["id"], &first["duplicate"]),
        (&body["id"], &json!(false))
    );
    let second = app
        .post_json("/api/telemetry/track", &body, &member.auth)
        .expect(202);
    assert_eq!(second["duplicate"], true);
    let generated = app
        .post_json(
            "/api/telemetry/track",
            &json!({"component": "nav", "action": "open"}),
            &member.auth,
        )
        .expect(202);
    assert_eq!(string(&generated["id"]).len(), 36, "{generated}");
    let bad = app.post_json(
        "/api/telemetry/track",
        &json!({"component": "nav", "action": 3, "timestamp": 1_700_000_000}),
        &member.auth,
    );
    let mut fields = bad.invalid_fields();
    fields.sort();
    assert_eq!(fields, ["action", "timestamp"]);
}

#[test]
fn wrong_types_are_rejected_with_their_index_and_field() {
    let app = app();
    let (_team, member) = app.as_role("member");
    let ok = || json!({"component": "c", "action": "a"});
    let with = |field: &str, value: Value| {
        let mut e = ok();
        e[field] = value;
        e
    };
    let cases = [
        ("component", json!(1)),
        ("action", json!(["x"])),
        ("properties", json!("not an object")),
        ("timestamp", json!(true)),
        ("user_id", json!(7)),
        ("session_id", json!({"a": 1})),
        ("id", json!(12)),
        ("colour", json!("red")),
    ];
    let mut events = vec![ok()];
    events.extend(
        cases
            .iter()
            .map(|(field, value)| with(field, value.clone())),
    );
    events.push(json!("not an event"));
    let answer = send_batch(app, &member.auth, &events);
    assert_eq!(answer["accepted"], 1, "{answer}");
    let rejected = answer["rejected"].as_array().expect("rejected");
    assert_eq!(rejected.len(), cases.len() + 1, "{answer}");
    for (i, (field, _)) in cases.iter().enumerate() {
        assert_eq!(rejected[i]["index"], i + 1, "{answer}");
        assert_eq!(rejected[i]["details"][0]["field"], *field, "{answer}");
        assert!(
            rejected[i]["error"]
                .as_str()
                .unwrap_or("")
                .starts_with(field),
            "{answer}"
        );
    }
    assert_eq!(rejected[cases.len()]["index"], cases.len() + 1);
}

#[test]
fn more_than_500_events_get_422_and_a_body_over_1_mib_gets_413() {
    let app = app();
    let (_team, member) = app.as_role("member");
    let events: Vec<Value> = (0..501).map(|_| event("bulk", None)).collect();
    let resp = app.post_json(
        "/api/telemetry/batch",
        &json!({ "events": events }),
        &member.auth,
    );
    assert_eq!(resp.invalid_fields(), ["events"]);

    // 500 events of about 1.5 KiB: over the 256 KiB of other routes, under the 1 MiB of this one.
    let padded: Vec<Value> = (0..500)
        .map(|_| {
            let mut e = event("bulk", None);
            e["properties"] = json!({"pad": "x".repeat(1500)});
            e
        })
        .collect();
    let body = json!({ "events": padded }).to_string();
    assert!(body.len() > 700 * 1024 && body.len() < 1024 * 1024);
    let answer = app
        .post_raw(
            "/api/telemetry/batch",
            body.as_bytes(),
            Some(JSON),
            &member.auth,
        )
        .expect(200);
    assert_eq!(answer["accepted"], 500);

    let huge = json!({"events": [{"component": "c", "action": "a", "properties": {"pad": "x".repeat(1024 * 1024)}}]});
    app.post_json("/api/telemetry/batch", &huge, &member.auth)
        .assert_error(413, "payload_too_large");
    let oversize_track =
        json!({"component": "c", "action": "a", "properties": {"pad": "x".repeat(300 * 1024)}});
    app.post_json("/api/telemetry/track", &oversize_track, &member.auth)
        .assert_error(413, "payload_too_large");
}

#[test]
fn members_and_member_tokens_send_viewers_and_viewer_tokens_may_not() {
    let app = app();
    let team = app.signup_team();
    let viewer = team.member(app, "viewer");
    let viewer_token = app.create_token(&team.owner.auth, "viewer").auth();
    let member_token = app.create_token(&team.owner.auth, "member").auth();
    let metric = json!({"component": "app", "metric_name": "load_ms", "value": 10});
    for auth in [&viewer.auth, &viewer_token] {
        app.post_json("/api/telemetry/track", &event("c", None), auth)
            .assert_error(403, "forbidden");
        app.post_json(
            "/api/telemetry/batch",
            &json!({"events": [event("c", None)]}),
            auth,
        )
        .assert_error(403, "forbidden");
        app.post_json("/api/telemetry/metrics", &metric, auth)
            .assert_error(403, "forbidden");
    }
    app.post_json("/api/telemetry/track", &event("c", None), &member_token)
        .expect(202);
    app.post_json("/api/telemetry/metrics", &metric, &member_token)
        .expect(202);
    // Reading is for viewers, by session or token.
    for auth in [&viewer.auth, &viewer_token] {
        let listed = app.get("/api/telemetry/metrics/app", auth).expect(200);
        assert_eq!(listed["data"].as_array().map(Vec::len), Some(1), "{listed}");
    }
}

#[test]
fn metrics_are_listed_per_component_newest_first_since_a_time() {
    let app = app();
    let team = app.signup_team();
    let owner = &team.owner.auth;
    let send = |component: &str, value: Value, metadata: Value| {
        let body = json!({"component": component, "metric_name": "load_ms", "value": value, "metadata": metadata});
        string(
            &app.post_json("/api/telemetry/metrics", &body, owner)
                .expect(202)["id"],
        )
    };
    let first = send("page home", json!(120), json!({"route": "/"}));
    let before_second = now_ms();
    std::thread::sleep(std::time::Duration::from_millis(5));
    let second = send("page home", json!(80.5), Value::Null);
    send("other", json!(1), Value::Null);

    let all = app
        .get("/api/telemetry/metrics/page%20home", owner)
        .expect(200);
    let data = all["data"].as_array().expect("data");
    assert_eq!(crate::helpers::ids(data), [second.clone(), first]);
    assert_eq!(data[1]["metadata"], json!({"route": "/"}));
    assert_eq!(
        (
            &data[0]["metric_name"],
            &data[0]["value"],
            &data[0]["component"]
        ),
        (&json!("load_ms"), &json!(80.5), &json!("page home"))
    );
    assert!(data[0]["created_at"].as_i64().unwrap_or(0) >= before_second);

    let since = app
        .get(
            &format!("/api/telemetry/metrics/page%20home?since={before_second}"),
            owner,
        )
        .expect(200);
    assert_eq!(
        crate::helpers::ids(since["data"].as_array().expect("data")),
        [second]
    );
    let paged = app.walk("/api/telemetry/metrics/page%20home", owner);
    assert_eq!(paged.len(), 2);
    app.get("/api/telemetry/metrics/page%20home?since=soon", owner)
        .invalid_fields();
    let never = app
        .get("/api/telemetry/metrics/never-seen", owner)
        .expect(200);
    assert_eq!(never["data"], json!([]));
    // Another team's component of the same name is theirs alone.
    let them = app.signup_team();
    let theirs = app
        .get("/api/telemetry/metrics/page%20home", &them.owner.auth)
        .expect(200);
    assert_eq!(theirs["data"], json!([]));
    let bad =
        json!({"component": "app", "metric_name": "load_ms", "value": "fast", "metadata": [1]});
    let mut fields = app
        .post_json("/api/telemetry/metrics", &bad, owner)
        .invalid_fields();
    fields.sort();
    assert_eq!(fields, ["metadata", "value"]);
}
