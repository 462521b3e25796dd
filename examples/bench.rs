//! `make bench`: telemetry ingest and analytics read speed against a real `wrangler dev`.
//!
//! Starts its own server (the integration tests' harness, with wrangler's DevTools inspector
//! detached through `VSCODE_INSPECTOR_OPTIONS`; `BENCH_INSPECTOR=attached` keeps it), signs up
//! a team, seeds 200,000 events spread over the last 30 days through the batch API, then
//! measures events/s for 100-event batches and the p50/p99 latency of summary and trends, and
//! prints one table. Not part of `make test`: it takes minutes and its numbers depend on the
//! machine.

#[allow(dead_code, unused_imports)]
#[path = "../tests/api/helpers.rs"]
mod helpers;

use helpers::{app, Auth, TestApp};
use serde_json::{json, Value};
use std::net::TcpStream;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const DAY_MS: u64 = 86_400_000;
const SEED_EVENTS: usize = 200_000;
const SEED_BATCH: usize = 500;
const CLIENTS: usize = 4;
const USERS: u64 = 2_000;
/// Events per session: sessions are bursts of one user's events a few seconds apart.
const SESSION_EVENTS: usize = 20;
const COMPONENTS: [&str; 12] = [
    "checkout",
    "cart",
    "search",
    "nav",
    "settings",
    "profile",
    "feed",
    "editor",
    "billing",
    "onboarding",
    "help",
    "notifications",
];
const ACTIONS: [&str; 5] = ["view", "click", "submit", "scroll", "open"];
const INGEST_BATCH: usize = 100;
const INGEST_BATCHES: usize = 300;
const READS: usize = 200;

/// splitmix64: enough randomness for test data, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }

    fn id(&mut self) -> String {
        format!("{:016x}{:016x}", self.next(), self.next())
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// One session's events: a user, a start in the last 30 days, events seconds apart.
fn session(rng: &mut Rng, now: u64) -> Vec<Value> {
    let user = format!("user-{}", rng.below(USERS));
    let session = format!("session-{}", rng.id());
    let start = now - 10 * 60_000 - rng.below(30 * DAY_MS - 20 * 60_000);
    (0..SESSION_EVENTS)
        .map(|i| {
            json!({
                "id": rng.id(),
                "component": rng.pick(&COMPONENTS),
                "action": rng.pick(&ACTIONS),
                "user_id": user,
                "session_id": session,
                "timestamp": start + i as u64 * 5_000,
                "properties": {"path": format!("/p/{}", rng.below(50)), "ms": rng.below(900)},
            })
        })
        .collect()
}

/// A live event (the server stamps it), as an SDK would send it.
fn live_event(rng: &mut Rng) -> Value {
    json!({
        "id": rng.id(),
        "component": rng.pick(&COMPONENTS),
        "action": rng.pick(&ACTIONS),
        "user_id": format!("user-{}", rng.below(USERS)),
        "session_id": format!("live-{}", rng.below(200)),
        "properties": {"path": format!("/p/{}", rng.below(50))},
    })
}

/// Sends batches from `clients` threads; answers events/s over the whole run.
fn send_batches(app: &TestApp, auth: &Auth, batches: Vec<Vec<Value>>, clients: usize) -> f64 {
    let events: usize = batches.iter().map(Vec::len).sum();
    let mut shares: Vec<Vec<Vec<Value>>> = (0..clients).map(|_| Vec::new()).collect();
    for (i, batch) in batches.into_iter().enumerate() {
        shares[i % clients].push(batch);
    }
    let bodies: Vec<Vec<Value>> = shares
        .into_iter()
        .map(|share| share.into_iter().map(|b| json!({ "events": b })).collect())
        .collect();
    let started = Instant::now();
    std::thread::scope(|scope| {
        for share in &bodies {
            scope.spawn(move || {
                for body in share {
                    let answer = app
                        .post_json("/api/telemetry/batch", body, auth)
                        .expect(200);
                    let sent = body["events"].as_array().map_or(0, Vec::len);
                    assert_eq!(answer["accepted"], sent, "{answer}");
                }
            });
        }
    });
    events as f64 / started.elapsed().as_secs_f64()
}

/// p50 and p99 in ms of `READS` GETs of each path, after a warm-up. The paths take turns, so
/// a change in the machine's load (other processes share the cores) weighs on all alike.
fn latencies(app: &TestApp, auth: &Auth, paths: &[&str]) -> Vec<(f64, f64)> {
    let mut times: Vec<Vec<Duration>> = vec![Vec::with_capacity(READS); paths.len()];
    for round in 0..READS + 10 {
        for (i, path) in paths.iter().enumerate() {
            let started = Instant::now();
            let resp = app.get(path, auth);
            let took = started.elapsed();
            assert_eq!(resp.status, 200, "{resp}");
            if round >= 10 {
                times[i].push(took);
            }
        }
    }
    times
        .into_iter()
        .map(|mut t| {
            t.sort();
            let ms =
                |q: f64| t[((t.len() as f64 * q) as usize).min(t.len() - 1)].as_secs_f64() * 1e3;
            (ms(0.50), ms(0.99))
        })
        .collect()
}

fn main() {
    let attached = std::env::var("BENCH_INSPECTOR").as_deref() == Ok("attached");
    if !attached {
        // wrangler 4.86 skips its inspector proxy in a VS Code debug terminal; see TOOLCHAIN.md.
        std::env::set_var("VSCODE_INSPECTOR_OPTIONS", "1");
    }
    let load_before = load_average();
    println!("starting wrangler dev (a fresh build, local D1) ...");
    let app = app();
    let inspector_open = TcpStream::connect(("127.0.0.1", app.inspector_port)).is_ok();
    let team = app.signup_team();
    let reader = team.owner.auth.clone();
    let sdk = app.create_token(&reader, "member").auth();
    let mut rng = Rng(now_ms());

    let now = now_ms();
    let mut seed_events: Vec<Value> = Vec::with_capacity(SEED_EVENTS);
    while seed_events.len() < SEED_EVENTS {
        seed_events.extend(session(&mut rng, now));
    }
    seed_events.truncate(SEED_EVENTS);
    let seed_batches: Vec<Vec<Value>> = seed_events
        .chunks(SEED_BATCH)
        .map(<[Value]>::to_vec)
        .collect();
    println!("seeding {SEED_EVENTS} events over 30 days ...");
    let seed_started = Instant::now();
    let seed_rate = send_batches(app, &sdk, seed_batches, CLIENTS);
    let seed_secs = seed_started.elapsed().as_secs_f64();

    let mut rows: Vec<(String, String)> = Vec::new();
    for clients in [1, CLIENTS] {
        let batches = (0..INGEST_BATCHES)
            .map(|_| (0..INGEST_BATCH).map(|_| live_event(&mut rng)).collect())
            .collect();
        let rate = send_batches(app, &sdk, batches, clients);
        rows.push((
            format!("POST /api/telemetry/batch, 100-event batches, {clients} client(s)"),
            format!("{rate:.0} events/s"),
        ));
    }
    let reads = [
        "/api/auth/me",
        "/api/analytics/summary?range=30d",
        "/api/analytics/summary?range=7d",
        "/api/analytics/trends?metric=actions&range=30d&interval=day",
        "/api/analytics/trends?metric=users&range=30d&interval=day",
        "/api/analytics/trends?metric=actions&range=7d&interval=hour",
        "/api/analytics/trends?metric=users&range=7d&interval=hour",
        "/api/analytics/components?range=30d",
    ];
    for (path, (p50, p99)) in reads.iter().zip(latencies(app, &reader, &reads)) {
        rows.push((
            format!("GET {path}"),
            format!("p50 {p50:.1} ms, p99 {p99:.1} ms"),
        ));
    }

    let inspector = match (attached, inspector_open) {
        (false, false) => "detached (VSCODE_INSPECTOR_OPTIONS=1; inspector port closed)",
        (false, true) => {
            "NOT detached: the inspector port answers despite VSCODE_INSPECTOR_OPTIONS"
        }
        (true, _) => "attached (BENCH_INSPECTOR=attached)",
    };
    println!();
    println!(
        "wrangler dev, local D1; inspector {inspector}; {} cores",
        cores()
    );
    println!(
        "seed: {SEED_EVENTS} events over 30 days in {seed_secs:.1} s ({seed_rate:.0} events/s, {SEED_BATCH}-event batches, {CLIENTS} clients)"
    );
    println!("reads: {READS} requests each, one at a time, the paths taking turns, after 10 warm-up rounds");
    println!(
        "load average (1 min) before / after: {load_before} / {} — other processes share the cores",
        load_average()
    );
    println!();
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    println!("| {:width$} | result |", "measurement");
    println!("|{}|{}|", "-".repeat(width + 2), "-".repeat(28));
    for (what, value) in rows {
        println!("| {what:width$} | {value} |");
    }
    app.stop();
}

/// The 1-minute load average, to read the figures against.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
