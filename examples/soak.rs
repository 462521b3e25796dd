//! `make soak`: bounded mixed traffic against a fresh local Worker, on 127.0.0.1 only.
//!
//! Starts its own `wrangler dev` through the integration tests' harness (inspector detached, as
//! in the bench) and the stand-in LLM provider, signs up a team with a member access token, a
//! provider key at the stand-in and a one-step LLM workflow, then lets `wrk` drive the mix in
//! `examples/soak.lua` for `SOAK_SECONDS` (default 90) over `SOAK_CONNECTIONS` connections
//! (default 8): 40% telemetry batches of 20 events, 25% analytics reads (summary, trends), 32%
//! executions reads (list, detail), 3% workflow runs. Afterwards it waits for every run to
//! finish and reports requests/s, latency percentiles, every status that was not 2xx, socket
//! errors, how the runs ended, and workerd's resident memory at the start, during and at the
//! end, with a verdict. Exits non-zero when anything failed.

#[allow(dead_code, unused_imports)]
#[path = "../tests/api/helpers.rs"]
mod helpers;

use helpers::{string, Auth, TestApp};
use serde_json::json;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::thread::{self, sleep};
use std::time::{Duration, Instant};

const REPO: &str = env!("CARGO_MANIFEST_DIR");
/// How long the warm-up runs before the starting memory is read.
const WARM_UP_SECONDS: u64 = 10;
/// Memory growth from start to end (after the runs drained) still called flat.
const FLAT_GROWTH: f64 = 0.10;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What wrk reported, from the `SOAK` lines `done()` prints and its own summary.
#[derive(Default, Debug)]
struct WrkReport {
    requests_per_second: f64,
    requests: u64,
    statuses: Vec<(u16, u64)>,
    socket_errors: String,
    latencies: Vec<String>,
}

fn run_wrk(app: &TestApp, seconds: u64, connections: u64, vars: &[(&str, &str)]) -> WrkReport {
    let out = Command::new("wrk")
        .args(["-t", "2", "-c", &connections.to_string()])
        .args([
            "-d",
            &format!("{seconds}s"),
            "--timeout",
            "10s",
            "--latency",
        ])
        .args(["-s", &format!("{REPO}/examples/soak.lua"), &app.address])
        .envs(vars.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("running wrk (make soak installs it): {e}"));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "wrk failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut report = WrkReport::default();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["Requests/sec:", rate] => report.requests_per_second = rate.parse().unwrap_or(0.0),
            ["SOAK", "status", code, count] => report
                .statuses
                .push((code.parse().unwrap_or(0), count.parse().unwrap_or(0))),
            ["SOAK", "socket_errors", rest @ ..] => report.socket_errors = rest.join(" "),
            ["SOAK", "requests", n, ..] => report.requests = n.parse().unwrap_or(0),
            ["SOAK", "latency", rest @ ..] => report.latencies.push(rest.join(" ")),
            _ => {}
        }
    }
    report.statuses.sort();
    report
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("?".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
}

/// The Worker's wasm linear memory in KiB, from the `x-wasm-memory` header (`DEBUG_HEADERS`).
fn wasm_memory_kib(app: &TestApp) -> Option<u64> {
    let resp = app
        .try_send_json("GET", "/api/health", &json!(null), &Auth::None)
        .ok()?;
    let bytes: u64 = resp.header("x-wasm-memory")?.parse().ok()?;
    Some(bytes / 1024)
}

fn main() {
    std::env::set_var("VSCODE_INSPECTOR_OPTIONS", "1");
    let seconds = env_number("SOAK_SECONDS", 90);
    let connections = env_number("SOAK_CONNECTIONS", 8);
    println!("starting wrangler dev (local D1, inspector detached) ...");
    let app = TestApp::start_with(&[("DEBUG_HEADERS", "true")], None);
    let team = app.signup_team();
    let owner = team.owner.auth.clone();
    let token = app.create_token(&owner, "member");
    let sdk = token.auth();
    let key = app.openai_key(&owner);
    let steps = json!([{"id": "answer", "kind": "llm", "agent": "soak", "key_id": key, "model": "gpt-4o-mini", "prompt": "soak {{input.n}}"}]);
    let workflow = string(&app.create_workflow(&owner, steps)["id"]);
    let first = app.execute(&sdk, &workflow, json!({"n": 0}));
    let done = app.wait_finished(&owner, &first);
    assert_eq!(done["status"], "succeeded", "{done}");
    let vars = [
        ("SOAK_TOKEN", token.token.as_str()),
        ("SOAK_WORKFLOW", workflow.as_str()),
        ("SOAK_EXECUTION", first.as_str()),
    ];

    println!("warming up for {WARM_UP_SECONDS} s ...");
    let warm = run_wrk(&app, WARM_UP_SECONDS, connections, &vars);
    let rss_start = app.workerd_rss_kib();
    let wasm_start = wasm_memory_kib(&app);
    println!(
        "soaking for {seconds} s over {connections} connections (workerd at {}) ...",
        mib(rss_start)
    );
    let sampling = AtomicBool::new(true);
    let samples: Mutex<Vec<(u64, u64, Option<u64>)>> = Mutex::new(Vec::new());
    let report = thread::scope(|scope| {
        scope.spawn(|| {
            let started = Instant::now();
            while sampling.load(Ordering::SeqCst) {
                if let Some(kib) = app.workerd_rss_kib() {
                    let wasm = wasm_memory_kib(&app);
                    let mut samples = samples.lock().unwrap_or_else(|e| e.into_inner());
                    samples.push((started.elapsed().as_secs(), kib, wasm));
                }
                sleep(Duration::from_secs(5));
            }
        });
        let report = run_wrk(&app, seconds, connections, &vars);
        sampling.store(false, Ordering::SeqCst);
        report
    });
    let rss_after_load = app.workerd_rss_kib();

    // Every run started must finish; the queue may still hold some when wrk stops.
    println!("waiting for the runs to finish ...");
    let drain_started = Instant::now();
    loop {
        let page = app
            .get("/api/executions?status=pending,running&limit=1", &owner)
            .expect(200);
        let left = page["data"].as_array().map_or(0, Vec::len);
        if left == 0 || drain_started.elapsed() > Duration::from_secs(300) {
            break;
        }
        sleep(Duration::from_secs(1));
    }
    let drain_secs = drain_started.elapsed().as_secs_f64();
    let outcomes = app.sql(&format!(
        "SELECT status, COUNT(*) AS n FROM executions WHERE team_id = '{}' GROUP BY status ORDER BY status",
        team.team_id
    ));
    let outcomes = outcomes[0]["results"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let runs: Vec<String> = outcomes
        .iter()
        .map(|r| format!("{} {}", r["status"].as_str().unwrap_or("?"), r["n"]))
        .collect();
    let unsuccessful: u64 = outcomes
        .iter()
        .filter(|r| r["status"] != "succeeded")
        .map(|r| r["n"].as_u64().unwrap_or(0))
        .sum();
    let rss_end = app.workerd_rss_kib();
    let wasm_end = wasm_memory_kib(&app);

    let non_2xx: u64 = report
        .statuses
        .iter()
        .filter(|(code, _)| !(200..300).contains(code))
        .map(|(_, n)| n)
        .sum();
    let socket_errors_none = report
        .socket_errors
        .split_whitespace()
        .all(|kv| kv.ends_with("=0"));
    let errors = non_2xx + u64::from(!socket_errors_none);
    let samples = samples.into_inner().unwrap_or_else(|e| e.into_inner());
    let peak = samples.iter().map(|(_, k, _)| *k).max();
    let verdict = |what: &str, start: Option<u64>, end: Option<u64>| match (start, end) {
        (Some(start), Some(end)) => {
            let growth = end as f64 / start as f64 - 1.0;
            let word = if growth <= FLAT_GROWTH {
                "flat"
            } else {
                "grew"
            };
            format!("{what} {word} ({:+.1}%)", growth * 100.0)
        }
        _ => format!("{what} unknown (could not be read)"),
    };
    let verdict = format!(
        "{}, {} (flat: within {:.0}% from start to end)",
        verdict("workerd RSS", rss_start, rss_end),
        verdict("Worker wasm memory", wasm_start, wasm_end),
        FLAT_GROWTH * 100.0
    );
    let statuses: Vec<String> = report
        .statuses
        .iter()
        .map(|(code, n)| format!("{code}: {n}"))
        .collect();
    let curve: Vec<String> = samples
        .iter()
        .map(|(t, k, w)| {
            let wasm = w.map_or("?".into(), |w| format!("{:.1}", w as f64 / 1024.0));
            format!("{t}s {:.0}/{wasm}", *k as f64 / 1024.0)
        })
        .collect();

    println!();
    println!(
        "soak: {seconds} s, {connections} connections, 2 wrk threads, 127.0.0.1; mix: 40% telemetry batches (20 events), 15% summary, 10% trends, 17% executions list, 15% execution detail, 3% workflow runs (LLM step at the stand-in)"
    );
    println!(
        "| requests | {} in {seconds} s ({:.1} requests/s); warm-up before it: {} requests |",
        report.requests, report.requests_per_second, warm.requests
    );
    println!("| latency | {} |", report.latencies.join(", "));
    println!("| statuses | {} |", statuses.join(", "));
    println!(
        "| errors | {non_2xx} non-2xx; socket errors: {} |",
        report.socket_errors
    );
    println!(
        "| workflow runs | {} (all finished {drain_secs:.0} s after the load stopped) |",
        runs.join(", ")
    );
    println!(
        "| workerd RSS | start {} (after a {WARM_UP_SECONDS} s warm-up), peak {}, end of load {}, end (runs drained) {} |",
        mib(rss_start),
        mib(peak),
        mib(rss_after_load),
        mib(rss_end)
    );
    println!(
        "| Worker wasm memory | start {}, end {} (linear memory never shrinks: growth here is the Worker's own heap) |",
        mib(wasm_start),
        mib(wasm_end)
    );
    println!(
        "| every 5 s: workerd RSS / wasm memory (MiB) | {} |",
        curve.join(", ")
    );
    println!("| verdict | {verdict}; {errors} errors; {unsuccessful} runs not succeeded |");
    app.stop();
    if errors > 0 || unsuccessful > 0 {
        std::process::exit(1);
    }
}
