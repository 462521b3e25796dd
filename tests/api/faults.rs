//! Crashes: the Worker's whole process tree (wrangler, node, workerd) is killed with SIGKILL in
//! the middle of work, then a new server starts on the same persisted state. What was
//! acknowledged before the kill must be there, once; what was running must end cleanly. And a
//! second process writing the same local database: the Worker's writes wait for its lock.
//!
//! Each test runs servers of its own; `make test` runs this file on its own, one test at a time,
//! with `master_keys` (a second `wrangler dev` starting in the project directory makes a running
//! one reload).

use crate::helpers::*;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::{self, sleep};
use std::time::Duration;

const BATCH: usize = 100;
/// Batches acknowledged before the kill (the kill lands during a later one).
const ACKED_BEFORE_KILL: usize = 25;

/// Batch `i`: 100 events with ids that say which batch they came from.
fn batch(run: &str, i: usize) -> Value {
    let events: Vec<Value> = (0..BATCH)
        .map(|j| json!({"id": format!("{run}-b{i:05}-e{j:03}"), "component": "fault", "action": "tick", "user_id": format!("u{}", j % 7)}))
        .collect();
    json!({ "events": events })
}

/// One number out of `app.sql`'s answer: the first row's `n`.
fn count(app: &TestApp, statement: &str) -> u64 {
    let out = app.sql(statement);
    out[0]["results"][0]["n"]
        .as_u64()
        .unwrap_or_else(|| panic!("no count in {out}"))
}

/// How the sender thread stopped: batches acknowledged (all of `0..acked`), and what happened to
/// batch `acked`, the one in flight.
struct Sent {
    acked: usize,
    last: String,
    failed_before_kill: bool,
}

#[test]
fn telemetry_acknowledged_before_a_kill_is_stored_once_after_restart() {
    let app = TestApp::start_with(&[], None);
    let team = app.signup_team();
    let sdk = app.create_token(&team.owner.auth, "member").auth();
    let run = unique("kill");

    // One client sends batches back to back; the server is killed once 25 were acknowledged.
    let acked = AtomicUsize::new(0);
    let killed = AtomicBool::new(false);
    let sent = thread::scope(|scope| {
        let sender = scope.spawn(|| {
            let mut i = 0;
            loop {
                let outcome =
                    app.try_send_json("POST", "/api/telemetry/batch", &batch(&run, i), &sdk);
                match outcome {
                    Ok(r) if r.status == 200 => {
                        let answer = r.json();
                        assert_eq!(
                            (answer["accepted"].as_u64(), answer["duplicates"].as_u64()),
                            (Some(100), Some(0)),
                            "{r}"
                        );
                        i += 1;
                        acked.store(i, Ordering::SeqCst);
                    }
                    other => {
                        let last = match other {
                            Ok(r) => r.to_string(),
                            Err(e) => e,
                        };
                        let failed_before_kill = !killed.load(Ordering::SeqCst);
                        return Sent {
                            acked: i,
                            last,
                            failed_before_kill,
                        };
                    }
                }
            }
        });
        while acked.load(Ordering::SeqCst) < ACKED_BEFORE_KILL && !sender.is_finished() {
            sleep(Duration::from_millis(5));
        }
        killed.store(true, Ordering::SeqCst);
        app.kill_hard();
        sender.join().expect("the sender thread")
    });
    assert!(
        !sent.failed_before_kill,
        "a batch failed before the kill: {}\n{}",
        sent.last,
        app.log_tail()
    );
    assert!(sent.acked >= ACKED_BEFORE_KILL, "{}", sent.last);
    eprintln!(
        "killed after {} acknowledged batches; batch {} in flight got: {}",
        sent.acked, sent.acked, sent.last
    );

    let app = TestApp::start_with(&[], Some(&app.persist_dir));
    let team_id = &team.team_id;
    let stored = count(
        &app,
        &format!("SELECT COUNT(*) AS n FROM events WHERE team_id = '{team_id}'"),
    );
    let acked_events = (sent.acked * BATCH) as u64;
    // Every acknowledged event is there; the batch in flight is all there or not at all (one
    // INSERT statement); nothing beyond it.
    assert!(
        stored == acked_events || stored == acked_events + BATCH as u64,
        "{stored} events stored after {} acknowledged batches",
        sent.acked
    );
    let acked_stored = count(
        &app,
        &format!(
            "SELECT COUNT(*) AS n FROM events WHERE team_id = '{team_id}' AND id < '{run}-b{:05}'",
            sent.acked
        ),
    );
    assert_eq!(acked_stored, acked_events);

    // The client retries the batch it got no answer for: stored once, whatever happened to it.
    let retry = app
        .post_json("/api/telemetry/batch", &batch(&run, sent.acked), &sdk)
        .expect(200);
    let (accepted, duplicates) = (
        retry["accepted"].as_u64().unwrap_or(0),
        retry["duplicates"].as_u64().unwrap_or(0),
    );
    assert_eq!(accepted + duplicates, BATCH as u64, "{retry}");
    assert_eq!(duplicates > 0, stored > acked_events, "{retry}");

    let total = acked_events + BATCH as u64;
    let distinct = count(
        &app,
        &format!("SELECT COUNT(DISTINCT id) AS n FROM events WHERE team_id = '{team_id}'"),
    );
    let rows = count(
        &app,
        &format!("SELECT COUNT(*) AS n FROM events WHERE team_id = '{team_id}'"),
    );
    assert_eq!((rows, distinct), (total, total));
    // The rollups were written in the same transactions as the events: they agree exactly.
    let rolled_up = count(
        &app,
        &format!(
            "SELECT COALESCE(SUM(actions), 0) AS n FROM team_hours WHERE team_id = '{team_id}'"
        ),
    );
    assert_eq!(rolled_up, total);
    // And the API says so.
    let summary = app
        .get("/api/analytics/summary?range=24h", &team.owner.auth)
        .expect(200);
    assert_eq!(
        summary["current"]["actions"].as_u64(),
        Some(total),
        "{summary}"
    );
    app.stop();
}

/// Calls the stand-in provider received whose prompt is exactly `prompt`.
fn calls(prompt: &str) -> usize {
    stand_in()
        .requests_with(prompt)
        .iter()
        .filter(|r| {
            let body: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
            body["messages"]
                .as_array()
                .is_some_and(|m| m.iter().any(|m| m["content"] == prompt))
        })
        .count()
}

/// The stand-in's calls for each step (`first`, `held`, `last`) of the run with `marker`.
fn calls_per_step(marker: &str) -> (usize, usize, usize) {
    let of = |step: &str| calls(&format!("{marker}/{step}"));
    (of("first"), of("held"), of("last"))
}

fn step<'a>(detail: &'a Value, id: &str) -> &'a Value {
    detail["steps"]
        .as_array()
        .and_then(|steps| steps.iter().find(|s| s["id"] == id))
        .unwrap_or_else(|| panic!("no step {id} in {detail}"))
}

#[test]
fn an_execution_running_when_the_worker_is_killed_finishes_cleanly_after_restart() {
    let app = TestApp::start_with(&[], None);
    let team = app.signup_team();
    let auth = team.owner.auth.clone();
    let key = app.openai_key(&auth);
    // An enforced budget: each LLM step holds its worst case against the month while it calls.
    // A hold whose consumer died must be given back when its step is taken over or failed.
    let hold_price =
        json!({"overrides": [{"model_pattern": "standin-hold", "input_usd": 1, "output_usd": 2}]});
    app.put_json("/api/pricing", &hold_price, &auth).expect(200);
    let budget = json!({"monthly_usd": 100, "enforce": true});
    app.put_json("/api/budgets", &budget, &auth).expect(200);
    let llm = |id: &str, model: &str| json!({"id": id, "kind": "llm", "agent": "fault", "key_id": key, "model": model, "prompt": format!("{{{{input.m}}}}/{id}")});
    // `first` answers at once, `held` waits for the test, `last` answers at once.
    let workflow = app.create_workflow(
        &auth,
        json!([
            llm("first", "gpt-4o-mini"),
            llm("held", "standin-hold"),
            llm("last", "gpt-4o-mini")
        ]),
    );
    let workflow_id = string(&workflow["id"]);
    // Two runs: `resumed` is taken over after the restart; `exhausted` has (as the test makes
    // it look) already lost its consumer as often as a step may, so it fails instead.
    let resumed_marker = unique("resumed");
    let exhausted_marker = unique("exhausted");
    let resumed = app.execute(&auth, &workflow_id, json!({"m": resumed_marker}));
    let exhausted = app.execute(&auth, &workflow_id, json!({"m": exhausted_marker}));
    for (id, marker) in [(&resumed, &resumed_marker), (&exhausted, &exhausted_marker)] {
        app.wait_until(&auth, id, |d| step(d, "held")["status"] == "running");
        // The provider call is under way (held by the stand-in) when the kill lands.
        // (A guard against hanging, like the harness's waits: the call follows the claim at once.)
        for waited in 0.. {
            if calls(&format!("{marker}/held")) > 0 {
                break;
            }
            assert!(
                waited < 1200,
                "the held step never called the stand-in\n{}",
                app.log_tail()
            );
            sleep(Duration::from_millis(50));
        }
    }
    app.kill_hard();

    let app = TestApp::start_with(&[], Some(&app.persist_dir));
    for id in [&resumed, &exhausted] {
        let detail = app.get(&format!("/api/executions/{id}"), &auth).expect(200);
        assert_eq!(detail["status"], "running", "{detail}");
        assert_eq!(step(&detail, "first")["status"], "succeeded", "{detail}");
        assert_eq!(step(&detail, "held")["status"], "running", "{detail}");
    }
    let held = app.get("/api/budgets", &auth).expect(200)["reserved_nusd"].clone();
    assert!(
        held.as_i64().unwrap_or(0) > 0,
        "the dead calls' holds: {held}"
    );
    stand_in().release(&format!("{resumed_marker}/held"));
    stand_in().release(&format!("{exhausted_marker}/held"));

    // Nobody holds the steps any more, but their leases say otherwise for six minutes: move the
    // clock past them (and past the sweep's one-minute grace), as if that time had gone by.
    let now = now_millis() as i64;
    app.sql(&format!(
        "UPDATE execution_steps SET lease_until = {} WHERE execution_id IN ('{resumed}', '{exhausted}') AND status = 'running'",
        now - 1_000
    ));
    app.sql(&format!(
        "UPDATE executions SET created_at = created_at - 120000, started_at = started_at - 120000 WHERE id IN ('{resumed}', '{exhausted}')"
    ));
    app.sql(&format!("UPDATE execution_steps SET attempts = 3 WHERE execution_id = '{exhausted}' AND step_id = 'held'"));
    // The cron tick's sweep finds both stalled and sends them to the queue again.
    let tick = app.get("/__scheduled?cron=*+*+*+*+*", &Auth::None);
    assert_eq!(tick.status, 200, "{tick}");

    let done = app.wait_finished(&auth, &resumed);
    assert_eq!(done["status"], "succeeded", "{done}");
    for id in ["first", "held", "last"] {
        assert_eq!(step(&done, id)["status"], "succeeded", "{done}");
    }
    // The step that finished before the kill never ran again; the interrupted call was made
    // once more (its answer never reached Beacon); the rest ran once.
    let m = &resumed_marker;
    assert_eq!(calls_per_step(m), (1, 2, 1));
    let usage = app.sql(&format!("SELECT step_id, COUNT(*) AS n FROM llm_usage WHERE execution_id = '{resumed}' GROUP BY step_id ORDER BY step_id"));
    assert_eq!(
        usage[0]["results"],
        json!([{"step_id": "first", "n": 1}, {"step_id": "held", "n": 1}, {"step_id": "last", "n": 1}])
    );
    let attempts = app.sql(&format!("SELECT step_id, attempts FROM execution_steps WHERE execution_id = '{resumed}' ORDER BY position"));
    assert_eq!(
        attempts[0]["results"],
        json!([{"step_id": "first", "attempts": 1}, {"step_id": "held", "attempts": 2}, {"step_id": "last", "attempts": 1}])
    );

    let failed = app.wait_finished(&auth, &exhausted);
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(failed["error"]["type"], "interrupted", "{failed}");
    assert_eq!(step(&failed, "first")["status"], "succeeded", "{failed}");
    assert_eq!(step(&failed, "held")["status"], "failed", "{failed}");
    assert_eq!(step(&failed, "last")["status"], "skipped", "{failed}");
    let m = &exhausted_marker;
    assert_eq!(calls_per_step(m), (1, 1, 0));

    // Each run reported each status once, in order.
    for (id, last) in [(&resumed, "succeeded"), (&exhausted, "failed")] {
        let events = app.sql(&format!(
            "SELECT status FROM execution_events WHERE execution_id = '{id}' ORDER BY seq"
        ));
        assert_eq!(
            events[0]["results"],
            json!([{"status": "pending"}, {"status": "running"}, {"status": last}]),
            "{id}"
        );
    }
    let stuck = count(&app, &format!("SELECT COUNT(*) AS n FROM execution_steps WHERE execution_id IN ('{resumed}', '{exhausted}') AND status IN ('pending', 'running')"));
    assert_eq!(stuck, 0);
    // Every hold was given back: the dead consumers' on takeover and on failing, the rest as
    // their calls settled. What was spent is what the calls cost.
    let budget = app.get("/api/budgets", &auth).expect(200);
    assert_eq!(budget["reserved_nusd"], 0, "{budget}");
    let spent = count(&app, &format!("SELECT COALESCE(SUM(cost_nusd), 0) AS n FROM llm_usage WHERE execution_id IN ('{resumed}', '{exhausted}')"));
    assert_eq!(budget["spent_nusd"].as_u64(), Some(spent), "{budget}");
    app.stop();
}

#[test]
fn a_write_waits_while_another_wrangler_holds_the_databases_write_lock() {
    // `wrangler d1 execute --local` beside `wrangler dev` is another workerd on the same SQLite
    // file: while its write holds the lock, the Worker's writes are refused at once (SQLITE_BUSY).
    // The Worker sends them again after a moment, so requests succeed instead of answering 500,
    // and a run's finish hooks no longer lose what they write.
    let app = TestApp::start_with(&[], None);
    let team = app.signup_team();
    let done = AtomicBool::new(false);
    thread::scope(|scope| {
        let outside = scope.spawn(|| {
            let write = "CREATE TABLE lock_probe AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL \
                         SELECT x + 1 FROM c WHERE x < 400000) SELECT x FROM c; \
                         DROP TABLE lock_probe;";
            // The outside writer meets the Worker's lock too and is refused then (wrangler does
            // not wait either): it tries again until three of its writes went through.
            let (mut wrote, mut refused) = (0, 0);
            let outcome = loop {
                match app.sql_beside_requests(write) {
                    Ok(_) if wrote == 2 => break Ok(()),
                    Ok(_) => wrote += 1,
                    Err(why) if why.contains("SQLITE_BUSY") && refused < 20 => refused += 1,
                    Err(why) => break Err(why),
                }
            };
            // Set whatever happened, so the writes below stop.
            done.store(true, Ordering::Release);
            outcome
        });
        let mut sent = 0;
        while !done.load(Ordering::Acquire) {
            let body = json!({"name": unique("locked"), "steps": [
                {"id": "a", "kind": "http", "method": "POST", "url": format!("{}/hook", stand_in().base_url)}
            ]});
            let resp = app.post_json("/api/workflows", &body, &team.owner.auth);
            assert_eq!(resp.status, 201, "write {sent} while locked: {resp}");
            sent += 1;
        }
        if let Err(why) = outside.join().unwrap() {
            panic!("the outside writer: {why}");
        }
        eprintln!("{sent} writes beside the outside writer");
    });
}
