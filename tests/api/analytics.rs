//! Analytics out (`/api/analytics/*`): each test sends a fresh team events at known past times
//! and checks the figures are exactly what it sent — the previous period, zero-filled buckets,
//! and nothing of another team's.

use crate::helpers::{app, string, Auth, TestApp};
use crate::telemetry::{now_ms, send_batch};
use serde_json::{json, Value};
use std::collections::HashSet;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 86_400_000;

fn ev(component: &str, user: Option<&str>, session: Option<&str>, ts: i64) -> Value {
    json!({"id": crate::helpers::unique("ev"), "component": component, "action": "click",
           "user_id": user, "session_id": session, "timestamp": ts})
}

fn get(app: &TestApp, path: &str, auth: &Auth) -> Value {
    app.get(path, auth).expect(200)
}

fn figures(period: &Value) -> (i64, i64, i64) {
    let n = |k: &str| period[k].as_i64().unwrap_or(-1);
    (n("actions"), n("unique_users"), n("sessions"))
}

#[test]
fn the_summary_counts_exactly_what_was_sent_in_each_period_and_nothing_of_other_teams() {
    let app = app();
    let team = app.signup_team();
    let now = now_ms();
    let events = vec![
        ev("nav", Some("u1"), Some("s1"), now - HOUR),
        ev("nav", Some("u2"), Some("s2"), now - 2 * DAY),
        ev("checkout", Some("u2"), Some("s2"), now - 2 * DAY + 60_000),
        ev("checkout", Some("u1"), Some("s3"), now - 3 * DAY),
        ev("checkout", None, None, now - 5 * DAY),
        ev("nav", Some("u3"), Some("s4"), now - 8 * DAY),
        ev("nav", Some("u3"), Some("s4"), now - 10 * DAY),
        ev("nav", Some("u9"), Some("s9"), now - 20 * DAY),
    ];
    let answer = send_batch(app, &team.owner.auth, &events);
    assert_eq!(answer["accepted"], 8, "{answer}");
    // Repeats and rejects count for nothing.
    send_batch(
        app,
        &team.owner.auth,
        &[events[0].clone(), json!({"component": 1})],
    );
    // Another team, the same user and session names.
    let them = app.signup_team();
    send_batch(
        app,
        &them.owner.auth,
        &[
            ev("nav", Some("u1"), Some("s1"), now - HOUR),
            ev("x", Some("u7"), Some("s7"), now - 9 * DAY),
        ],
    );

    let week = get(app, "/api/analytics/summary?range=7d", &team.owner.auth);
    assert_eq!(week["range"], "7d");
    assert_eq!(figures(&week["current"]), (5, 2, 3), "{week}");
    assert_eq!(figures(&week["previous"]), (2, 1, 1), "{week}");
    let (cur, prev) = (&week["current"], &week["previous"]);
    assert_eq!(
        cur["to"].as_i64().unwrap() - cur["from"].as_i64().unwrap(),
        7 * DAY
    );
    assert_eq!(prev["to"], cur["from"]);
    assert!(
        cur["to"].as_i64().unwrap() >= now && cur["to"].as_i64().unwrap() % HOUR == 0,
        "{week}"
    );
    // Every figure the spec lists, and nothing else.
    let keys: HashSet<&str> = cur
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        HashSet::from([
            "from",
            "to",
            "actions",
            "unique_users",
            "sessions",
            "executions",
            "success_rate",
            "tokens",
            "cost_nusd",
            "cost_usd",
            "errors"
        ])
    );

    let month = get(app, "/api/analytics/summary?range=30d", &team.owner.auth);
    assert_eq!(figures(&month["current"]), (8, 4, 5), "{month}");
    assert_eq!(figures(&month["previous"]), (0, 0, 0), "{month}");
    let custom = get(
        app,
        &format!(
            "/api/analytics/summary?from={}&to={}",
            now - 11 * DAY,
            now - 7 * DAY
        ),
        &team.owner.auth,
    );
    assert_eq!(custom["range"], "custom");
    assert_eq!(figures(&custom["current"]), (2, 1, 1), "{custom}");
    // Over 61 days the per-subject bitmaps of several blocks are merged: the same answer.
    let long = get(
        app,
        &format!("/api/analytics/summary?from={}", now - 200 * DAY),
        &team.owner.auth,
    );
    assert_eq!(figures(&long["current"]), (8, 4, 5), "{long}");
    let theirs = get(app, "/api/analytics/summary?range=30d", &them.owner.auth);
    assert_eq!(figures(&theirs["current"]), (2, 2, 2), "{theirs}");
}

/// Found by schemathesis: samples near `f64::MAX` overflowed the average to infinity, which D1
/// hands back as null, and the components route answered 500.
#[test]
fn components_answer_a_null_average_when_the_samples_overflow_a_double() {
    let app = app();
    let team = app.signup_team();
    let owner = &team.owner.auth;
    for name in ["huge", "huge", "fine"] {
        let body = json!({"component": "gauges", "metric_name": name, "value": 1.7e308});
        app.post_json("/api/telemetry/metrics", &body, owner)
            .expect(202);
    }
    let listed = get(app, "/api/analytics/components?range=24h", owner);
    assert_eq!(
        listed["data"][0]["metrics"],
        json!({"fine": 1.7e308, "huge": null}),
        "{listed}"
    );
}

#[test]
fn components_list_each_with_its_actions_users_and_metric_averages() {
    let app = app();
    let team = app.signup_team();
    let owner = &team.owner.auth;
    let now = now_ms();
    send_batch(
        app,
        owner,
        &[
            ev("alpha", Some("u1"), None, now - HOUR),
            ev("alpha", Some("u1"), None, now - HOUR),
            ev("alpha", Some("u2"), None, now - 2 * HOUR),
            ev("beta", Some("u1"), None, now - 3 * HOUR),
            ev("delta", Some("u5"), None, now - 3 * DAY),
            ev("alpha", Some("u9"), None, now - 80 * DAY),
        ],
    );
    for (component, name, value) in [
        ("alpha", "load_ms", 100.0),
        ("alpha", "load_ms", 200.0),
        ("gamma", "fps", 30.0),
    ] {
        let body = json!({"component": component, "metric_name": name, "value": value});
        app.post_json("/api/telemetry/metrics", &body, owner)
            .expect(202);
    }
    let them = app.signup_team();
    send_batch(
        app,
        &them.owner.auth,
        &[
            ev("alpha", Some("u3"), None, now - HOUR),
            ev("zeta", None, None, now - HOUR),
        ],
    );

    let listed = get(app, "/api/analytics/components?range=24h", owner);
    assert_eq!(listed["next_cursor"], Value::Null);
    assert_eq!(
        listed["data"],
        json!([
            {"component": "alpha", "actions": 3, "users": 2, "metrics": {"load_ms": 150.0}},
            {"component": "beta", "actions": 1, "users": 1, "metrics": {}},
            {"component": "delta", "actions": 0, "users": 0, "metrics": {}},
            {"component": "gamma", "actions": 0, "users": 0, "metrics": {"fps": 30.0}},
        ])
    );
    let week = get(app, "/api/analytics/components?range=7d", owner);
    assert_eq!(
        week["data"][2],
        json!({"component": "delta", "actions": 1, "users": 1, "metrics": {}})
    );
    // Longer than one bitmap row per user (61 days): counted from every block the window
    // touches; a page of two, then the rest.
    let quarter = get(app, "/api/analytics/components?range=90d&limit=2", owner);
    assert_eq!(
        quarter["data"],
        json!([
            {"component": "alpha", "actions": 4, "users": 3, "metrics": {"load_ms": 150.0}},
            {"component": "beta", "actions": 1, "users": 1, "metrics": {}},
        ])
    );
    let cursor = string(&quarter["next_cursor"]);
    let rest = get(
        app,
        &format!("/api/analytics/components?range=90d&limit=2&cursor={cursor}"),
        owner,
    );
    assert_eq!(
        rest["data"],
        json!([
            {"component": "delta", "actions": 1, "users": 1, "metrics": {}},
            {"component": "gamma", "actions": 0, "users": 0, "metrics": {"fps": 30.0}},
        ])
    );
    let walked: Vec<String> = app
        .walk("/api/analytics/components", owner)
        .iter()
        .map(|c| string(&c["component"]))
        .collect();
    assert_eq!(walked, ["alpha", "beta", "delta", "gamma"]);
}

/// Metric averages read a window's whole days from the per-day rollup and only its partial
/// days' hours from the hourly one: samples just inside either edge count, samples just outside
/// do not. (Samples carry no client time, so the older ones are written as SQL, as a sample
/// received then would have been; the rollups follow by trigger.)
#[test]
fn metric_averages_count_whole_days_and_the_partial_days_hours_of_the_window() {
    const MINUTE: i64 = 60_000;
    let app = app();
    let team = app.signup_team();
    let owner = &team.owner.auth;
    let now = now_ms();
    // The 7-day window ends with the current hour; 90 minutes of margin either side of its start
    // keep the test right if the hour turns while it runs.
    let from = (now / HOUR + 1) * HOUR - 7 * DAY;
    let samples = [
        (from - 3 * DAY, 5000.0),
        (from - 90 * MINUTE, 1000.0),
        (from + 90 * MINUTE, 10.0),
        (now - 3 * DAY, 20.0),
        (now - 10 * MINUTE, 30.0),
    ];
    for (i, (at, value)) in samples.iter().enumerate() {
        app.sql(&format!(
            "INSERT INTO metrics (id, team_id, component, name, value, created_at) \
             VALUES ('m-{i}-{now}', '{}', 'alpha', 'load_ms', {value}, {at})",
            team.team_id
        ));
    }
    let load_ms = |range: &str| {
        let listed = get(
            app,
            &format!("/api/analytics/components?range={range}"),
            owner,
        );
        listed["data"][0]["metrics"]["load_ms"].clone()
    };
    assert_eq!(load_ms("7d"), json!(20.0));
    assert_eq!(load_ms("30d"), json!(1212.0));
    assert_eq!(load_ms("24h"), json!(30.0));
}

/// The rollups are applied per batch from the batch's new events: an id the team already has —
/// from an earlier batch or earlier in the same one — adds nothing to any figure, even when the
/// repeat names another time, component, user or session.
#[test]
fn repeated_ids_add_nothing_to_any_rollup_whatever_they_carry() {
    let app = app();
    let team = app.signup_team();
    let owner = &team.owner.auth;
    let now = now_ms();
    let first = ev("alpha", Some("u1"), Some("s1"), now - 2 * HOUR);
    let answer = send_batch(app, owner, &[first.clone(), first.clone()]);
    assert_eq!(
        (answer["accepted"].clone(), answer["duplicates"].clone()),
        (json!(1), json!(1))
    );
    let mut changed = first.clone();
    changed["component"] = json!("beta");
    changed["user_id"] = json!("u2");
    changed["session_id"] = json!("s2");
    changed["timestamp"] = json!(now - 3 * DAY);
    let fresh = ev("alpha", Some("u3"), Some("s3"), now - HOUR);
    let answer = send_batch(app, owner, &[changed, fresh.clone(), fresh]);
    assert_eq!(
        (answer["accepted"].clone(), answer["duplicates"].clone()),
        (json!(1), json!(2))
    );

    let summary = get(app, "/api/analytics/summary?range=7d", owner);
    assert_eq!(figures(&summary["current"]), (2, 2, 2), "{summary}");
    let components = get(app, "/api/analytics/components?range=7d", owner);
    assert_eq!(
        components["data"],
        json!([{"component": "alpha", "actions": 2, "users": 2, "metrics": {}}])
    );
    let days = get(
        app,
        "/api/analytics/trends?metric=users&range=7d&interval=day",
        owner,
    );
    let total: i64 = days["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["value"].as_i64().unwrap())
        .sum();
    assert!(total <= 2, "{days}");
}

/// What each bucket should hold: actions or distinct users among `sent` in `[ts, ts + unit)`.
fn expected(sent: &[(i64, &str)], ts: i64, unit: i64, users: bool) -> i64 {
    let inside = sent.iter().filter(|(t, _)| *t >= ts && *t < ts + unit);
    if users {
        inside.map(|(_, u)| *u).collect::<HashSet<_>>().len() as i64
    } else {
        inside.count() as i64
    }
}

fn check_buckets(trend: &Value, sent: &[(i64, &str)], unit: i64, users: bool) {
    let buckets = trend["buckets"].as_array().expect("buckets");
    let (from, to) = (
        trend["from"].as_i64().unwrap(),
        trend["to"].as_i64().unwrap(),
    );
    let first = buckets[0]["ts"].as_i64().unwrap();
    let last = buckets[buckets.len() - 1]["ts"].as_i64().unwrap();
    assert!(
        first <= from && first + unit > from && last < to && last + unit >= to,
        "{trend}"
    );
    for (i, bucket) in buckets.iter().enumerate() {
        let ts = bucket["ts"].as_i64().unwrap();
        assert_eq!(
            ts,
            first + i as i64 * unit,
            "buckets are consecutive: {trend}"
        );
        assert_eq!(
            bucket["value"].as_i64(),
            Some(expected(sent, ts, unit, users)),
            "at {ts}: {trend}"
        );
    }
}

#[test]
fn trends_have_zero_filled_day_and_hour_buckets() {
    let app = app();
    let team = app.signup_team();
    let owner = &team.owner.auth;
    let now = now_ms();
    let sent = [
        (now - HOUR, "u1"),
        (now - HOUR, "u1"),
        (now - HOUR + 1, "u2"),
        (now - 26 * HOUR, "u1"),
        (now - 3 * DAY, "u3"),
        (now - 8 * DAY, "u4"),
    ];
    let events: Vec<Value> = sent
        .iter()
        .map(|(ts, u)| ev("c", Some(u), None, *ts))
        .collect();
    send_batch(app, owner, &events);

    let days = get(
        app,
        "/api/analytics/trends?metric=actions&range=7d&interval=day",
        owner,
    );
    assert_eq!(
        (&days["metric"], &days["interval"]),
        (&json!("actions"), &json!("day"))
    );
    // 7 × 24 whole hours touch 8 days, or 7 when they end at midnight.
    let (from, to) = (days["from"].as_i64().unwrap(), days["to"].as_i64().unwrap());
    let touched = (to + DAY - 1).div_euclid(DAY) - from.div_euclid(DAY);
    assert_eq!(
        days["buckets"].as_array().map(|b| b.len() as i64),
        Some(touched),
        "{days}"
    );
    check_buckets(&days, &sent, DAY, false);
    let total: i64 = days["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["value"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 5);
    check_buckets(
        &get(
            app,
            "/api/analytics/trends?metric=users&range=7d&interval=day",
            owner,
        ),
        &sent,
        DAY,
        true,
    );
    check_buckets(
        &get(app, "/api/analytics/trends?metric=users&range=30d", owner),
        &sent,
        DAY,
        true,
    );

    let hours = get(app, "/api/analytics/trends?metric=actions&range=24h", owner);
    assert_eq!(hours["interval"], "hour");
    assert_eq!(
        hours["buckets"].as_array().map(Vec::len),
        Some(24),
        "{hours}"
    );
    check_buckets(&hours, &sent, HOUR, false);
    check_buckets(
        &get(
            app,
            "/api/analytics/trends?metric=users&range=7d&interval=hour",
            owner,
        ),
        &sent,
        HOUR,
        true,
    );
}

#[test]
fn trends_refuse_unknown_metrics_and_bad_parameters() {
    let app = app();
    let team = app.signup_team();
    let owner = &team.owner.auth;
    let resp = app.get(
        "/api/analytics/trends?metric=nope&interval=week&range=1y",
        owner,
    );
    let mut fields = resp.invalid_fields();
    fields.sort();
    assert_eq!(fields, ["interval", "metric", "range"]);
    assert_eq!(
        app.get("/api/analytics/trends?interval=hour&range=90d", owner)
            .status,
        200
    );
    let long = format!(
        "/api/analytics/trends?interval=hour&from={}",
        now_ms() - 100 * DAY
    );
    assert_eq!(app.get(&long, owner).invalid_fields(), ["interval"]);
}

#[test]
fn bad_windows_get_422_on_every_analytics_route() {
    let app = app();
    let team = app.signup_team();
    let bad = [
        ("range=1y", "range"),
        ("from=yesterday", "from"),
        ("range=7d&from=1", "range"),
        ("from=2000&to=1000", "to"),
    ];
    for route in ["summary", "components", "trends", "export.csv"] {
        for (query, field) in bad {
            let resp = app.get(&format!("/api/analytics/{route}?{query}"), &team.owner.auth);
            assert_eq!(resp.invalid_fields(), [field], "{resp}");
        }
    }
}

#[test]
fn the_csv_export_lists_the_windows_events_oldest_first_and_defuses_formulas() {
    let app = app();
    let (team, viewer) = app.as_role("viewer");
    let now = now_ms();
    let events = vec![
        ev("nav", Some("u1"), Some("s1"), now - 2 * HOUR),
        json!({"id": "e-formula", "component": "nav", "action": "=HYPERLINK(\"x\")", "properties": {"a": 1, "b": "c,d"}, "timestamp": now - 3 * HOUR}),
        ev("checkout", None, None, now - DAY),
        ev("old", None, None, now - 10 * DAY),
    ];
    send_batch(app, &team.owner.auth, &events);
    let resp = app.get("/api/analytics/export.csv?range=7d", &viewer.auth);
    assert_eq!(resp.status, 200, "{resp}");
    assert!(
        resp.header("content-type")
            .unwrap_or("")
            .starts_with("text/csv"),
        "{resp:?}"
    );
    assert!(
        resp.header("content-disposition")
            .unwrap_or("")
            .starts_with("attachment"),
        "{resp:?}"
    );
    let lines: Vec<&str> = resp.body.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(
        lines[0],
        "timestamp,id,component,action,user_id,session_id,properties"
    );
    assert_eq!(lines.len(), 4, "{}", resp.body);
    assert!(
        lines[1].starts_with(&format!("{},", now - DAY)),
        "{}",
        resp.body
    );
    assert_eq!(lines[2], format!("{},e-formula,nav,\"'=HYPERLINK(\"\"x\"\")\",,,\"{{\"\"a\"\":1,\"\"b\"\":\"\"c,d\"\"}}\"", now - 3 * HOUR));
    assert!(lines[3].contains(",u1,s1,"), "{}", resp.body);
    let theirs = app.signup_team();
    let empty = app.get("/api/analytics/export.csv?range=7d", &theirs.owner.auth);
    assert_eq!(empty.body.trim_end(), lines[0]);
}

#[test]
fn viewers_and_viewer_tokens_read_analytics() {
    let app = app();
    let team = app.signup_team();
    let viewer_token = app.create_token(&team.owner.auth, "viewer").auth();
    for path in ["summary", "components", "trends", "export.csv"] {
        assert_eq!(
            app.get(&format!("/api/analytics/{path}"), &viewer_token)
                .status,
            200,
            "{path}"
        );
    }
}

#[test]
fn the_summary_and_trends_count_the_teams_executions_and_tokens() {
    let app = app();
    let team = app.signup_team();
    let owner = &team.owner.auth;
    let ok = app.hook_workflow(owner, "/hook");
    let failing = app.hook_workflow(owner, "/hook/fail");
    let key = app.openai_key(owner);
    let llm = string(
        &app.create_workflow(
            owner,
            json!([{"id": "a", "kind": "llm", "agent": "w", "key_id": key, "model": "gpt-4o-mini", "prompt": "hi"}]),
        )["id"],
    );
    for wf in [&ok, &ok, &failing, &llm] {
        let id = app.execute(owner, wf, json!({}));
        app.wait_finished(owner, &id);
    }
    let summary = get(app, "/api/analytics/summary?range=24h", owner);
    let current = &summary["current"];
    assert_eq!(
        (
            current["executions"].clone(),
            current["success_rate"].clone(),
            current["tokens"].clone()
        ),
        (json!(4), json!(0.75), json!(1300))
    );
    let previous = &summary["previous"];
    assert_eq!(
        (
            previous["executions"].clone(),
            previous["success_rate"].clone(),
            previous["tokens"].clone()
        ),
        (json!(0), Value::Null, json!(0))
    );
    for (metric, total) in [("executions", 4), ("tokens", 1300)] {
        let trend = get(
            app,
            &format!("/api/analytics/trends?metric={metric}&range=24h&interval=hour"),
            owner,
        );
        let buckets = trend["buckets"].as_array().unwrap();
        assert_eq!(
            buckets
                .iter()
                .map(|b| b["value"].as_i64().unwrap())
                .sum::<i64>(),
            total,
            "{metric}"
        );
        assert!(buckets.len() >= 24);
    }
    // Another team sees none of it.
    let other = app.signup_team();
    let theirs = get(app, "/api/analytics/summary?range=24h", &other.owner.auth);
    assert_eq!(
        (
            theirs["current"]["executions"].clone(),
            theirs["current"]["tokens"].clone()
        ),
        (json!(0), json!(0))
    );
}
