//! Schedules: validation a person can act on, DST-correct previews, and the tick that claims each
//! due slot exactly once, honours `overlap = skip`, catches up once and disables a schedule that
//! keeps failing.

use crate::helpers::*;
use chrono::{Datelike, TimeZone, Timelike};
use serde_json::{json, Value};
use std::thread;

/// Tests that fire the (global) tick use a schedule that never comes due by itself while the
/// suite runs, and make it due by hand; an every-minute one would also fire whenever another
/// test's tick lands after a real minute boundary.
const YEARLY: &str = "0 0 1 1 *";

fn create(app: &TestApp, auth: &Auth, body: Value) -> Value {
    app.post_json("/api/schedules", &body, auth).expect(201)
}

/// Tests that write the local D1 from outside the Worker (`app.sql`, another process holding the
/// SQLite file's write lock) run one at a time: in parallel, one test's edit refused another
/// test's run or finish hook a write (`SQLITE_BUSY`: workerd's SQLite does not wait for a lock),
/// which lost a schedule's failure streak in CI.
fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Makes a schedule due now, as if its minute had come (a real edit of the local D1).
fn make_due(app: &TestApp, id: &str, ago_ms: i64) {
    app.sql(&format!("UPDATE schedules SET next_run_at = CAST(unixepoch('subsec') * 1000 AS INTEGER) - {ago_ms} WHERE id = '{id}'"));
}

fn tick(app: &TestApp) {
    let resp = app.get("/__scheduled?cron=*+*+*+*+*", &Auth::None);
    assert_eq!(resp.status, 200, "{resp}");
}

fn runs(app: &TestApp, auth: &Auth, id: &str) -> Vec<Value> {
    app.get(&format!("/api/schedules/{id}/runs"), auth)
        .expect(200)["data"]
        .as_array()
        .unwrap()
        .clone()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[test]
fn a_schedule_is_created_read_paused_resumed_and_deleted() {
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let wf = app.hook_workflow(auth, "/hook");
    let s = create(
        app,
        auth,
        json!({"workflow_id": wf, "cron": "*/5 * * * *", "timezone": "europe/paris", "input": {"a": 1}}),
    );
    let id = string(&s["id"]);
    assert_eq!(
        (
            s["timezone"].clone(),
            s["enabled"].clone(),
            s["overlap"].clone()
        ),
        (json!("Europe/Paris"), json!(true), json!("skip"))
    );
    assert_eq!(s["input"], json!({"a": 1}));
    let next = s["next_run_at"].as_i64().unwrap();
    assert!(next > now_ms() && next % 300_000 == 0, "{s}");
    assert_eq!(
        app.get(&format!("/api/schedules/{id}"), auth).expect(200)["cron"],
        "*/5 * * * *"
    );
    assert_eq!(
        ids(app.get("/api/schedules", auth).expect(200)["data"]
            .as_array()
            .unwrap()),
        vec![id.clone()]
    );

    let paused = app
        .patch_json(
            &format!("/api/schedules/{id}"),
            &json!({"enabled": false}),
            auth,
        )
        .expect(200);
    assert_eq!(
        (paused["enabled"].clone(), paused["next_run_at"].clone()),
        (json!(false), Value::Null)
    );
    let resumed = app
        .patch_json(
            &format!("/api/schedules/{id}"),
            &json!({"enabled": true, "cron": "0 9 * * 1-5"}),
            auth,
        )
        .expect(200);
    let next = resumed["next_run_at"].as_i64().unwrap();
    let local = chrono_tz::Europe::Paris.timestamp_millis_opt(next).unwrap();
    assert_eq!((local.hour(), local.minute()), (9, 0));
    assert!(
        local.weekday().number_from_monday() <= 5,
        "Mon-Fri, not Sun-Thu: {local}"
    );

    app.delete(&format!("/api/schedules/{id}"), auth)
        .expect(204);
    app.delete(&format!("/api/schedules/{id}"), auth)
        .assert_error(404, "not_found");
}

#[test]
fn invalid_schedules_get_422_with_a_message_a_person_can_act_on() {
    let app = app();
    let team = app.signup_team();
    let other = app.signup_team();
    let auth = &team.owner.auth;
    let wf = app.hook_workflow(auth, "/hook");
    let theirs = app.hook_workflow(&other.owner.auth, "/hook");
    let cases = [
        (
            json!({"workflow_id": wf, "cron": "61 * * * *"}),
            "cron",
            "out of range",
        ),
        (
            json!({"workflow_id": wf, "cron": "* * * *"}),
            "cron",
            "5 fields",
        ),
        (
            json!({"workflow_id": wf, "cron": "0 0 30 2 *"}),
            "cron",
            "never",
        ),
        (
            json!({"workflow_id": wf, "cron": "* * * * *", "timezone": "Mars/Olympus"}),
            "timezone",
            "IANA",
        ),
        (
            json!({"workflow_id": wf, "cron": "* * * * *", "timezone": "+01:00"}),
            "timezone",
            "IANA",
        ),
        (
            json!({"workflow_id": theirs, "cron": "* * * * *"}),
            "workflow_id",
            "team's workflows",
        ),
        (
            json!({"workflow_id": "nope", "cron": "* * * * *"}),
            "workflow_id",
            "workflow",
        ),
        (
            json!({"workflow_id": wf, "cron": "* * * * *", "enabled": "yes"}),
            "enabled",
            "true or false",
        ),
        (
            json!({"workflow_id": wf, "cron": YEARLY, "overlap": "maybe"}),
            "overlap",
            "skip or allow",
        ),
        (
            json!({"workflow_id": wf, "cron": "* * * * *", "input": [1]}),
            "input",
            "object",
        ),
    ];
    for (body, field, words) in cases {
        let resp = app.post_json("/api/schedules", &body, auth);
        let err = resp.assert_error(422, "validation_failed");
        let detail = err["details"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["field"] == field)
            .unwrap_or_else(|| panic!("{field}: {resp}"))
            .clone();
        assert!(
            detail["message"].as_str().unwrap().contains(words),
            "{field}: {detail}"
        );
    }
}

#[test]
fn preview_lists_wall_clock_times_right_across_a_dst_change() {
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    // Sundays at 02:30 in New York for 50 weeks: crosses the March change, when 02:30 does not
    // exist and the run happens at the first instant after the gap (03:00 EDT).
    let resp = app
        .get(
            "/api/schedules/preview?cron=30+2+*+*+0&timezone=America/New_York&count=50",
            auth,
        )
        .expect(200);
    let times: Vec<i64> = resp["times"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_i64().unwrap())
        .collect();
    assert_eq!(times.len(), 50);
    assert!(times.windows(2).all(|w| w[0] < w[1]));
    let mut gap_days = 0;
    for t in &times {
        let local = chrono_tz::America::New_York
            .timestamp_millis_opt(*t)
            .unwrap();
        assert_eq!(local.weekday(), chrono::Weekday::Sun, "{local}");
        match (local.hour(), local.minute()) {
            (2, 30) => {}
            (3, 0) => gap_days += 1,
            other => panic!("unexpected wall time {other:?} at {local}"),
        }
    }
    assert_eq!(gap_days, 1, "exactly one spring-forward Sunday in 50 weeks");

    let capped = app
        .get("/api/schedules/preview?cron=*+*+*+*+*&count=500", auth)
        .expect(200);
    assert_eq!(capped["times"].as_array().unwrap().len(), 50);
    assert_eq!(
        app.get("/api/schedules/preview?cron=0+*+*+*+*", auth)
            .expect(200)["times"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    for (query, field) in [
        ("cron=*+*+*+*+*&count=0", "count"),
        ("count=3", "cron"),
        ("cron=nope", "cron"),
        ("cron=*+*+*+*+*&timezone=Nowhere", "timezone"),
    ] {
        let resp = app.get(&format!("/api/schedules/preview?{query}"), auth);
        resp.assert_error(422, "validation_failed");
        assert_eq!(resp.invalid_fields(), [field], "{query}");
    }
}

#[test]
fn two_ticks_for_the_same_minute_start_the_run_once() {
    let _one_at_a_time = one_at_a_time();
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let wf = app.hook_workflow(auth, "/hook");
    let s = create(
        app,
        auth,
        json!({"workflow_id": wf, "cron": YEARLY, "overlap": "allow"}),
    );
    let id = string(&s["id"]);
    make_due(app, &id, 1_000);
    thread::scope(|scope| {
        scope.spawn(|| tick(app));
        scope.spawn(|| tick(app));
    });
    tick(app);
    let started = runs(app, auth, &id);
    assert_eq!(started.len(), 1, "{started:?}");
    assert_eq!(started[0]["schedule_id"], id.as_str());
    assert_eq!(
        app.wait_finished(auth, &string(&started[0]["id"]))["status"],
        "succeeded"
    );
    let after = app.get(&format!("/api/schedules/{id}"), auth).expect(200);
    assert!(
        after["next_run_at"].as_i64().unwrap() > now_ms() - 1_000,
        "{after}"
    );
    assert!(after["last_run_at"].as_i64().is_some());
}

#[test]
fn after_downtime_a_schedule_catches_up_once() {
    let _one_at_a_time = one_at_a_time();
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let wf = app.hook_workflow(auth, "/hook");
    let id = string(
        &create(
            app,
            auth,
            json!({"workflow_id": wf, "cron": YEARLY, "overlap": "allow"}),
        )["id"],
    );
    make_due(app, &id, 3 * 3_600_000);
    tick(app);
    tick(app);
    assert_eq!(runs(app, auth, &id).len(), 1);
    let next = app.get(&format!("/api/schedules/{id}"), auth).expect(200)["next_run_at"]
        .as_i64()
        .unwrap();
    assert!(
        next > now_ms() - 60_000,
        "the next run is after now, not the next missed slot"
    );
}

#[test]
fn overlap_skip_starts_nothing_while_the_last_run_is_going() {
    let _one_at_a_time = one_at_a_time();
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let key = app.openai_key(auth);
    // The first run of each holds (the stand-in answers when released) until the second tick is
    // done, and is released before the next schedule starts: the local queue delivers one batch
    // at a time, so a held run would stall every other test's runs until the stand-in gives up.
    let mut ids = Vec::new();
    for (overlap, expected) in [("skip", 1), ("allow", 2)] {
        let marker = unique("overlap");
        let steps = json!([{"id": "slow", "kind": "llm", "agent": "a", "key_id": key, "model": "standin-hold", "prompt": marker}]);
        let wf = string(&app.create_workflow(auth, steps)["id"]);
        let id = string(
            &create(
                app,
                auth,
                json!({"workflow_id": wf, "cron": YEARLY, "overlap": overlap}),
            )["id"],
        );
        make_due(app, &id, 120_000);
        tick(app);
        let first = string(&runs(app, auth, &id)[0]["id"]);
        app.wait_until(auth, &first, |d| d["status"] == "running");
        make_due(app, &id, 60_000);
        tick(app);
        let listed = runs(app, auth, &id).len();
        stand_in().release(&marker);
        assert_eq!(listed, expected, "overlap {overlap}");
        ids.push(id);
    }
    let skip = &ids[0];
    let outcome = app.sql(&format!(
        "SELECT outcome FROM schedule_runs WHERE schedule_id = '{skip}' ORDER BY scheduled_for"
    ));
    let outcomes: Vec<Value> = outcome[0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].clone())
        .collect();
    assert_eq!(outcomes, [json!("started"), json!("skipped_overlap")]);
}

#[test]
fn five_failed_runs_in_a_row_disable_the_schedule() {
    let _one_at_a_time = one_at_a_time();
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let wf = app.hook_workflow(auth, "/hook/fail");
    let id = string(
        &create(
            app,
            auth,
            json!({"workflow_id": wf, "cron": YEARLY, "overlap": "allow"}),
        )["id"],
    );
    for round in 1..=5 {
        make_due(app, &id, 1_000);
        tick(app);
        let latest = string(&runs(app, auth, &id)[0]["id"]);
        assert_eq!(app.wait_finished(auth, &latest)["status"], "failed");
        // The streak is counted by the run's finish hooks, just after its status is written:
        // read it once they have had their turn (a CI run read 3 where 4 was due).
        let started = std::time::Instant::now();
        let s = loop {
            let s = app.get(&format!("/api/schedules/{id}"), auth).expect(200);
            let counted = s["consecutive_failures"].as_i64().unwrap_or(0) >= round;
            if counted || started.elapsed() > std::time::Duration::from_secs(10) {
                break s;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        };
        assert_eq!(s["consecutive_failures"], round, "{s}");
    }
    let s = app.get(&format!("/api/schedules/{id}"), auth).expect(200);
    assert_eq!(s["enabled"], false, "{s}");
    assert!(s["disabled_reason"].as_str().unwrap().contains("5"));
    let activity = app.get("/api/team/activity", auth).expect(200);
    assert!(activity["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["action"] == "schedule.disabled" && e["target_id"] == id.as_str()));
    // The team is told, with a link to the schedule's page in the app.
    let notes = app
        .get("/api/notifications?category=workflow&limit=200", auth)
        .expect(200);
    let disabled: Vec<&Value> = notes["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["type"] == "schedule.disabled")
        .collect();
    assert_eq!(disabled.len(), 1, "{notes}");
    assert_eq!(disabled[0]["link"], format!("/schedules/{id}"));
    // Turning it back on clears the streak.
    let on = app
        .patch_json(
            &format!("/api/schedules/{id}"),
            &json!({"enabled": true}),
            auth,
        )
        .expect(200);
    assert_eq!(
        (
            on["consecutive_failures"].clone(),
            on["disabled_reason"].clone()
        ),
        (json!(0), Value::Null)
    );
}

#[test]
fn viewers_read_schedules_members_change_them_other_teams_see_404() {
    let app = app();
    let team = app.signup_team();
    let owner = &team.owner.auth;
    let wf = app.hook_workflow(owner, "/hook");
    let id = string(&create(app, owner, json!({"workflow_id": wf, "cron": "0 * * * *"}))["id"]);
    let viewer = team.member(app, "viewer");
    let v = &viewer.auth;
    app.get("/api/schedules", v).expect(200);
    app.get(&format!("/api/schedules/{id}"), v).expect(200);
    app.get(&format!("/api/schedules/{id}/runs"), v).expect(200);
    app.get("/api/schedules/preview?cron=0+*+*+*+*", v)
        .expect(200);
    app.post_json(
        "/api/schedules",
        &json!({"workflow_id": wf, "cron": "0 * * * *"}),
        v,
    )
    .assert_error(403, "forbidden");
    app.patch_json(
        &format!("/api/schedules/{id}"),
        &json!({"enabled": false}),
        v,
    )
    .assert_error(403, "forbidden");
    app.delete(&format!("/api/schedules/{id}"), v)
        .assert_error(403, "forbidden");
    let member = team.member(app, "member");
    app.patch_json(
        &format!("/api/schedules/{id}"),
        &json!({"overlap": "allow"}),
        &member.auth,
    )
    .expect(200);

    let other = app.signup_team();
    let o = &other.owner.auth;
    for bad in [id.as_str(), "nope"] {
        app.get(&format!("/api/schedules/{bad}"), o)
            .assert_error(404, "not_found");
        app.get(&format!("/api/schedules/{bad}/runs"), o)
            .assert_error(404, "not_found");
        app.patch_json(
            &format!("/api/schedules/{bad}"),
            &json!({"enabled": false}),
            o,
        )
        .assert_error(404, "not_found");
        app.delete(&format!("/api/schedules/{bad}"), o)
            .assert_error(404, "not_found");
    }
    assert!(app.get("/api/schedules", o).expect(200)["data"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn a_run_that_fails_to_start_is_recorded_and_counts_toward_disabling() {
    let _one_at_a_time = one_at_a_time();
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let wf = app.hook_workflow(auth, "/hook");
    let id = string(
        &create(
            app,
            auth,
            json!({"workflow_id": wf, "cron": YEARLY, "overlap": "allow"}),
        )["id"],
    );
    // The workflow goes from under the schedule (a real edit): its runs cannot start.
    app.sql(&format!("DELETE FROM workflows WHERE id = '{wf}'"));
    for round in 1..=5 {
        make_due(app, &id, 1_000);
        tick(app);
        let s = app.get(&format!("/api/schedules/{id}"), auth).expect(200);
        assert_eq!(s["consecutive_failures"], round, "{s}");
    }
    let s = app.get(&format!("/api/schedules/{id}"), auth).expect(200);
    assert_eq!(s["enabled"], false, "{s}");
    let outcomes = app.sql(&format!(
        "SELECT outcome FROM schedule_runs WHERE schedule_id = '{id}'"
    ));
    let outcomes = outcomes[0]["results"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(outcomes.len(), 5, "every slot is recorded: {outcomes:?}");
    assert!(
        outcomes.iter().all(|o| o["outcome"] == "failed_to_start"),
        "{outcomes:?}"
    );
}

#[test]
fn a_paused_schedule_made_due_starts_nothing() {
    let _one_at_a_time = one_at_a_time();
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let wf = app.hook_workflow(auth, "/hook");
    let id = string(
        &create(
            app,
            auth,
            json!({"workflow_id": wf, "cron": YEARLY, "overlap": "allow"}),
        )["id"],
    );
    app.patch_json(
        &format!("/api/schedules/{id}"),
        &json!({"enabled": false}),
        auth,
    )
    .expect(200);
    make_due(app, &id, 1_000);
    tick(app);
    assert_eq!(runs(app, auth, &id).len(), 0);
}
