//! `make bench`: the Worker's speed against a real `wrangler dev`, printed as one table.
//!
//! Starts its own server (the integration tests' harness, with wrangler's DevTools inspector
//! detached through `VSCODE_INSPECTOR_OPTIONS`; `BENCH_INSPECTOR=attached` keeps it, and
//! `DEBUG_HEADERS=true` so every answer says how many D1 round trips it made), signs up a team,
//! seeds 200,000 events spread over the last 30 days through the batch API and 10,000 executions
//! with their steps and usage rows by SQL (copies of two real runs, one succeeded and one failed,
//! so every column is what the engine writes), then measures events/s for 100-event batches and
//! the p50/p99 latency of the analytics and executions reads. It adds the wasm size, raw and
//! gzipped, and the Worker's startup time as `wrangler deploy --dry-run` reports it. Not part
//! of `make test`: it takes a few minutes and its numbers depend on the machine.
//!
//! `BENCH_SCALE=10 make bench` seeds ten times the events and executions (2,000,000 and 100,000;
//! the same 2,000 users and 12 components, so every read's answer is the same size): the reads
//! should cost about what they cost at the usual size.

#[allow(dead_code, unused_imports)]
#[path = "../tests/api/helpers.rs"]
mod helpers;

use helpers::{stand_in, string, Auth, TestApp};
use serde_json::{json, Value};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const DAY_MS: u64 = 86_400_000;
/// Seeded events and executions at `BENCH_SCALE=1`.
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
/// Live events sent per ingest row.
const INGEST_EVENTS: usize = 60_000;
const READS: usize = 200;
const SEED_EXECUTIONS: u64 = 10_000;
const REPO: &str = env!("CARGO_MANIFEST_DIR");

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

/// What one ingest run measured.
struct Ingest {
    events_per_s: f64,
    /// The user workerd's CPU time (Worker and local D1) per batch, from /proc.
    cpu_ms_per_batch: Option<f64>,
    /// `x-d1-rows-written` summed over the run, per event sent.
    rows_per_event: f64,
    /// `x-d1-calls` of the last answer.
    d1_calls: String,
}

impl Ingest {
    fn figures(&self) -> String {
        let cpu = self
            .cpu_ms_per_batch
            .map_or("?".into(), |ms| format!("{ms:.2}"));
        format!(
            "{:.0} events/s; workerd CPU {cpu} ms/batch; {:.2} D1 rows written/event",
            self.events_per_s, self.rows_per_event
        )
    }
}

/// Sends batches from `clients` threads, each with its bodies serialized before the clock starts.
fn send_batches(app: &TestApp, auth: &Auth, batches: Vec<Vec<Value>>, clients: usize) -> Ingest {
    use std::sync::atomic::{AtomicU64, Ordering};
    let events: usize = batches.iter().map(Vec::len).sum();
    let count = batches.len();
    let mut shares: Vec<Vec<Vec<u8>>> = (0..clients).map(|_| Vec::new()).collect();
    for (i, batch) in batches.into_iter().enumerate() {
        shares[i % clients].push(json!({ "events": batch }).to_string().into_bytes());
    }
    let written = AtomicU64::new(0);
    let d1_calls = std::sync::Mutex::new(String::new());
    let cpu_before = app.workerd_cpu_seconds();
    let started = Instant::now();
    std::thread::scope(|scope| {
        for share in &shares {
            let (written, d1_calls) = (&written, &d1_calls);
            scope.spawn(move || {
                for body in share {
                    let answer =
                        app.post_raw("/api/telemetry/batch", body, Some("application/json"), auth);
                    assert_eq!(answer.status, 200, "{answer}");
                    let json = answer.json();
                    let sent = json["accepted"].as_u64().unwrap_or(0)
                        + json["duplicates"].as_u64().unwrap_or(0);
                    assert!(
                        json["rejected"].as_array().is_some_and(Vec::is_empty) && sent > 0,
                        "{answer}"
                    );
                    let rows: u64 = answer
                        .header("x-d1-rows-written")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    written.fetch_add(rows, Ordering::Relaxed);
                    *d1_calls.lock().unwrap() = d1_calls_of(&answer);
                }
            });
        }
    });
    let elapsed = started.elapsed().as_secs_f64();
    let cpu_ms_per_batch = match (cpu_before, app.workerd_cpu_seconds()) {
        (Some(a), Some(b)) => Some((b - a) * 1e3 / count as f64),
        _ => None,
    };
    Ingest {
        events_per_s: events as f64 / elapsed,
        cpu_ms_per_batch,
        rows_per_event: written.into_inner() as f64 / events as f64,
        d1_calls: d1_calls.into_inner().unwrap(),
    }
}

/// Requests per second and p50 of `path` from `conns` threads for `seconds`, each thread sending
/// its next request when the last is answered (wrk's closed loop).
fn throughput(app: &TestApp, auth: &Auth, path: &str, conns: usize, seconds: f64) -> (f64, f64) {
    throughput_at(app, None, auth, path, conns, seconds)
}

/// [`throughput`] at `base` (the Worker's own socket) instead of wrangler dev's address.
fn throughput_at(
    app: &TestApp,
    base: Option<&str>,
    auth: &Auth,
    path: &str,
    conns: usize,
    seconds: f64,
) -> (f64, f64) {
    let until = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let mut times: Vec<Duration> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..conns)
            .map(|_| {
                scope.spawn(move || {
                    let mut times = Vec::new();
                    while Instant::now() < until {
                        let sent = Instant::now();
                        let resp = match base {
                            Some(base) => app.get_at(base, path, auth),
                            None => app.get(path, auth),
                        };
                        assert_eq!(resp.status, 200, "{resp}");
                        times.push(sent.elapsed());
                    }
                    times
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a load thread"))
            .collect()
    });
    let elapsed = started.elapsed().as_secs_f64();
    times.sort();
    let p50 = times
        .get(times.len() / 2)
        .map_or(0.0, |d| d.as_secs_f64() * 1e3);
    (times.len() as f64 / elapsed, p50)
}

/// p50 and p99 in ms of `READS` GETs of each path, after a warm-up, and the D1 round trips
/// the last answer reported. The paths take turns, so a change in the machine's load (other
/// processes share the cores) weighs on all alike.
fn latencies(app: &TestApp, auth: &Auth, paths: &[&str]) -> Vec<(f64, f64, String)> {
    latencies_at(app, None, auth, paths)
}

/// [`latencies`] at `base` (the Worker's own socket) instead of wrangler dev's address.
fn latencies_at(
    app: &TestApp,
    base: Option<&str>,
    auth: &Auth,
    paths: &[&str],
) -> Vec<(f64, f64, String)> {
    let mut times: Vec<Vec<Duration>> = vec![Vec::with_capacity(READS); paths.len()];
    let mut d1_calls = vec![String::new(); paths.len()];
    for round in 0..READS + 10 {
        for (i, path) in paths.iter().enumerate() {
            let started = Instant::now();
            let resp = match base {
                Some(base) => app.get_at(base, path, auth),
                None => app.get(path, auth),
            };
            let took = started.elapsed();
            assert_eq!(resp.status, 200, "{resp}");
            if round >= 10 {
                times[i].push(took);
            }
            d1_calls[i] = d1_calls_of(&resp);
        }
    }
    times
        .into_iter()
        .zip(d1_calls)
        .map(|(mut t, calls)| {
            t.sort();
            let ms =
                |q: f64| t[((t.len() as f64 * q) as usize).min(t.len() - 1)].as_secs_f64() * 1e3;
            (ms(0.50), ms(0.99), calls)
        })
        .collect()
}

/// The `x-d1-calls` header the Worker sends when `DEBUG_HEADERS` is `true`.
fn d1_calls_of(resp: &helpers::TestResponse) -> String {
    resp.header("x-d1-calls").unwrap_or("?").to_string()
}

/// A side-by-side cell: a p50 and the D1 round trips the answer reported.
fn latency_cell(ms: f64, d1_calls: &str) -> String {
    format!("{ms:.1} ms ({d1_calls} D1 round trips)")
}

/// The token of the access token the bench calls the gateway with.
fn gateway_token(sdk: &Auth) -> &str {
    let Auth::Bearer(token) = sdk else {
        panic!("the bench calls the gateway with an access token");
    };
    token
}

/// A workflow of an LLM step (`model` at the stand-in) and an HTTP step; one run of it, finished.
fn template_run(app: &TestApp, auth: &Auth, key: &str, model: &str) -> (String, String) {
    let hook = format!("{}/hook", stand_in().base_url);
    let steps = json!([
        {"id": "draft", "kind": "llm", "agent": "writer", "key_id": key, "model": model,
         "prompt": "Summarise ticket {{input.ticket}} for the on-call engineer."},
        {"id": "notify", "kind": "http", "method": "POST", "url": hook, "body": "{{steps.draft.output}}"},
    ]);
    let workflow = string(&app.create_workflow(auth, steps)["id"]);
    let run = app.execute(auth, &workflow, json!({"ticket": "OPS-1234"}));
    app.wait_finished(auth, &run);
    (workflow, run)
}

/// A UUIDv7 in SQL from a time in ms and a sequence number (`variant` keeps two id families
/// apart): time-ordered like the engine's, unique by `n`.
fn sql_uuid(ts: &str, n: &str, variant: char) -> String {
    format!(
        "(substr(printf('%012x', {ts}), 1, 8) || '-' || substr(printf('%012x', {ts}), 9, 4) || '-7' || \
         printf('%03x', {n} % 4096) || '-{variant}' || printf('%03x', ({n} / 4096) % 4096) || '-' || printf('%012x', {n}))"
    )
}

/// `count` executions over the last 30 days, with their steps, usage rows and status events:
/// copies of the two template runs (every tenth the failed one) at new ids and times, so each
/// row is exactly what the engine writes. Answers how long it took.
fn seed_executions(app: &TestApp, ok_run: &str, failed_run: &str, now: u64, count: u64) -> f64 {
    let started = Instant::now();
    let spacing = 30 * DAY_MS / count;
    let seq = format!(
        "WITH RECURSIVE seq(n, ts, tpl) AS (SELECT 1, {now} - {spacing}, '{ok_run}' UNION ALL \
         SELECT n + 1, {now} - (n + 1) * {spacing}, CASE WHEN (n + 1) % 10 = 0 THEN '{failed_run}' ELSE '{ok_run}' END \
         FROM seq WHERE n < {count})"
    );
    let id = sql_uuid("seq.ts", "seq.n", '8');
    let usage_id = sql_uuid("seq.ts", "seq.n", '9');
    app.sql(&format!(
        "{seq} INSERT INTO executions (id, team_id, workflow_id, workflow_version, workflow_name, status, input, error, \
           retry_of, schedule_id, idempotency_key, triggered_by, created_at, started_at, completed_at, deadline_at) \
         SELECT {id}, e.team_id, e.workflow_id, e.workflow_version, e.workflow_name, e.status, \
           json_object('ticket', 'OPS-' || seq.n), e.error, NULL, NULL, NULL, e.triggered_by, seq.ts, \
           seq.ts + (e.started_at - e.created_at), seq.ts + (e.completed_at - e.created_at), seq.ts + (e.deadline_at - e.created_at) \
         FROM seq JOIN executions e ON e.id = seq.tpl"
    ));
    app.sql(&format!(
        "{seq} INSERT INTO execution_steps (execution_id, step_id, position, kind, agent, status, attempts, lease_until, \
           started_at, completed_at, output, error, tokens, cost_nusd) \
         SELECT {id}, s.step_id, s.position, s.kind, s.agent, s.status, s.attempts, s.lease_until, \
           seq.ts + (s.started_at - e.created_at), seq.ts + (s.completed_at - e.created_at), \
           replace(s.output, 'OPS-1234', 'OPS-' || seq.n), s.error, s.tokens, s.cost_nusd \
         FROM seq JOIN executions e ON e.id = seq.tpl JOIN execution_steps s ON s.execution_id = e.id"
    ));
    app.sql(&format!(
        "{seq} INSERT INTO llm_usage (id, team_id, execution_id, workflow_id, step_id, agent, key_id, provider, model, \
           input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_nusd, price_id, \
           priced_at, created_at) \
         SELECT {usage_id}, u.team_id, {id}, u.workflow_id, u.step_id, u.agent, u.key_id, u.provider, u.model, \
           u.input_tokens, u.cache_read_tokens, u.cache_write_tokens, u.output_tokens, u.reasoning_tokens, u.cost_nusd, \
           u.price_id, u.priced_at, seq.ts + (u.created_at - e.created_at) \
         FROM seq JOIN executions e ON e.id = seq.tpl JOIN llm_usage u ON u.execution_id = e.id"
    ));
    app.sql(&format!(
        "{seq} INSERT INTO execution_events (team_id, execution_id, status, created_at) \
         SELECT v.team_id, {id}, v.status, seq.ts + (v.created_at - e.created_at) \
         FROM seq JOIN executions e ON e.id = seq.tpl JOIN execution_events v ON v.execution_id = e.id ORDER BY seq.n DESC, v.seq"
    ));
    started.elapsed().as_secs_f64()
}

/// The median time the Worker itself logged for `GET <path>` (its log line ends
/// `<status> <ms>ms d1=<n>`). The log has no query string, so the variants of one route share a
/// figure. In workerd `Date.now()` moves only across I/O, so this is the time spent waiting on
/// D1 (and whatever ran between), not CPU: the rest of the client's figure is wrangler's proxy,
/// the CPU and the contended cores.
fn worker_p50(log: &str, path: &str) -> String {
    let route = path.split('?').next().unwrap_or(path);
    let marker = format!(" GET {route} 200 ");
    let mut times: Vec<u64> = log
        .lines()
        .filter_map(|l| l.split_once(&marker))
        .filter_map(|(_, rest)| rest.split_once("ms")?.0.parse().ok())
        .collect();
    if times.is_empty() {
        return "?".into();
    }
    times.sort();
    format!("{} ms", times[times.len() / 2])
}

/// `build/index_bg.wasm`'s size in bytes, raw and gzipped (`gzip -9`).
fn wasm_size() -> (u64, u64) {
    let path = format!("{REPO}/build/index_bg.wasm");
    let raw = std::fs::metadata(&path).map_or(0, |m| m.len());
    let gzipped = Command::new("gzip")
        .args(["-9", "-c", &path])
        .output()
        .map_or(0, |o| o.stdout.len() as u64);
    (raw, gzipped)
}

/// The Worker's startup time, as wrangler measures it offline. `wrangler deploy --dry-run`
/// (4.86) prints no "Worker Startup Time": that figure comes from Cloudflare's API after an
/// upload. `wrangler check startup` builds the same bundle, starts it in a local workerd and
/// writes a CPU profile of the startup phase (evaluating the script, compiling and instantiating
/// the wasm); its span, median of five runs, is what this reports.
fn startup_time() -> String {
    let dir = format!("{REPO}/target/bench");
    if std::fs::create_dir_all(&dir).is_err() {
        return format!("? ({dir} could not be created)");
    }
    let profile = format!("{dir}/startup.cpuprofile");
    let mut spans: Vec<f64> = (0..5)
        .filter_map(|_| {
            let status = Command::new(format!("{REPO}/node_modules/.bin/wrangler"))
                .current_dir(REPO)
                .args(["--config", "wrangler.test.toml", "check", "startup"])
                .args(["--outfile", &profile])
                .env("WRANGLER_SEND_METRICS", "false")
                .env("CI", "true")
                .output()
                .ok()?;
            if !status.status.success() {
                return None;
            }
            let text = std::fs::read_to_string(&profile).ok()?;
            let json: Value = serde_json::from_str(&text).ok()?;
            let micros = json["endTime"].as_f64()? - json["startTime"].as_f64()?;
            Some(micros / 1e3)
        })
        .collect();
    if spans.is_empty() {
        return "? (wrangler check startup failed)".into();
    }
    spans.sort_by(f64::total_cmp);
    let all: Vec<String> = spans.iter().map(|ms| format!("{ms:.0}")).collect();
    format!(
        "{:.0} ms (median; runs: {} ms)",
        spans[spans.len() / 2],
        all.join(", ")
    )
}

fn main() {
    let attached = std::env::var("BENCH_INSPECTOR").as_deref() == Ok("attached");
    if !attached {
        // wrangler 4.86 skips its inspector proxy in a VS Code debug terminal; see TOOLCHAIN.md.
        std::env::set_var("VSCODE_INSPECTOR_OPTIONS", "1");
    }
    let load_before = load_average();
    println!("starting wrangler dev (a fresh build, local D1) ...");
    // The gateway's per-token rate limit off, as `make dev` has it: the bench measures Beacon.
    let app = TestApp::start_with(
        &[
            ("DEBUG_HEADERS", "true"),
            ("QUOTA_GATEWAY_CALLS_PER_MINUTE", "0"),
        ],
        None,
    );
    let app = &app;
    let inspector_open = TcpStream::connect(("127.0.0.1", app.inspector_port)).is_ok();
    let team = app.signup_team();
    let reader = team.owner.auth.clone();
    let sdk = app.create_token(&reader, "member").auth();
    let mut rng = Rng(now_ms());
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    if only == "storage" {
        // `BENCH_ONLY=storage make bench`: bytes the database grows by per stored event and span.
        for (what, value, d1) in storage_rows(app, &reader, &sdk, &mut rng) {
            println!("| {what} | {value} | {d1} |");
        }
        return;
    }
    if only == "traces" || only == "gateway" {
        // `BENCH_ONLY=traces make bench` (or `gateway`): those rows alone, without the seeding.
        let rows = if only == "traces" {
            traces_rows(app, &reader, &sdk, now_ms())
        } else {
            gateway_rows(app, &reader, &sdk)
        };
        for (what, value, d1) in rows {
            println!("| {what} | {value} | {d1} |");
        }
        if only == "gateway" && peer_wanted() {
            let key = app.openai_key(&reader);
            let peer = start_peer(app);
            let (ours, theirs) = gateway_side_by_side(app, &peer, &key, &sdk);
            peer.stop();
            println!(
                "| the same, added over the stand-in, alternating with the peer (examples/peer): Beacon / the peer | +{ours:.1} ms / +{theirs:.1} ms |  |"
            );
        }
        return;
    }

    let scale: usize = match std::env::var("BENCH_SCALE") {
        Err(_) => 1,
        Ok(v) => match v.parse() {
            Ok(n @ 1..=20) => n,
            _ => panic!("BENCH_SCALE={v}: a whole number from 1 to 20"),
        },
    };
    let (seed_total, executions_total) = (SEED_EVENTS * scale, SEED_EXECUTIONS * scale as u64);
    let now = now_ms();
    println!("seeding {seed_total} events over 30 days ...");
    let seed_started = Instant::now();
    // In parts of SEED_EVENTS, so the client never holds more than that; the row shows the first.
    let mut first: Option<Ingest> = None;
    for _ in 0..scale {
        let mut seed_events: Vec<Value> = Vec::with_capacity(SEED_EVENTS);
        while seed_events.len() < SEED_EVENTS {
            seed_events.extend(session(&mut rng, now));
        }
        seed_events.truncate(SEED_EVENTS);
        let seed_batches: Vec<Vec<Value>> = seed_events
            .chunks(SEED_BATCH)
            .map(<[Value]>::to_vec)
            .collect();
        let part = send_batches(app, &sdk, seed_batches, CLIENTS);
        first.get_or_insert(part);
    }
    let seed = first.expect("at least one part");
    let seed_secs = seed_started.elapsed().as_secs_f64();

    let mut rows: Vec<(String, String, String)> = vec![(
        format!("POST /api/telemetry/batch, seeding: {SEED_BATCH}-event batches over 30 days, {CLIENTS} clients"),
        seed.figures(),
        seed.d1_calls.clone(),
    )];
    let mut beacon_ingest: Vec<(usize, usize, f64)> = Vec::new();
    for (size, clients) in [(INGEST_BATCH, 1), (INGEST_BATCH, 16), (SEED_BATCH, 4)] {
        let batches = (0..INGEST_EVENTS / size)
            .map(|_| (0..size).map(|_| live_event(&mut rng)).collect())
            .collect();
        let ingest = send_batches(app, &sdk, batches, clients);
        beacon_ingest.push((size, clients, ingest.events_per_s));
        rows.push((
            format!("POST /api/telemetry/batch, live {size}-event batches, {clients} client(s)"),
            ingest.figures(),
            ingest.d1_calls,
        ));
    }

    if std::env::var("BENCH_ONLY").as_deref() == Ok("ingest") {
        // `BENCH_ONLY=ingest make bench`: the seeding and ingest rows alone.
        println!(
            "load average (1 min) before / after: {load_before} / {}",
            load_average()
        );
        for (what, value, d1) in rows {
            println!("| {what} | {value} | {d1} |");
        }
        return;
    }

    println!("seeding {executions_total} executions over 30 days ...");
    let key = app.openai_key(&reader);
    let (ok_workflow, ok_run) = template_run(app, &reader, &key, "gpt-4o-mini");
    let (_, failed_run) = template_run(app, &reader, &key, "standin-500");
    let executions_secs = seed_executions(app, &ok_run, &failed_run, now_ms(), executions_total);
    let middle = app.sql(&format!(
        "SELECT id FROM executions WHERE team_id = '{}' ORDER BY id DESC LIMIT 1 OFFSET {}",
        team.team_id,
        executions_total / 2
    ));
    let detail_id = string(&middle[0]["results"][0]["id"]);

    let detail_path = format!("/api/executions/{detail_id}");
    let reads = [
        "/api/auth/me",
        "/api/analytics/summary?range=30d",
        "/api/analytics/summary?range=7d",
        "/api/analytics/trends?metric=actions&range=30d&interval=day",
        "/api/analytics/trends?metric=users&range=30d&interval=day",
        "/api/analytics/trends?metric=actions&range=7d&interval=hour",
        "/api/analytics/components?range=30d",
        "/api/executions",
        "/api/executions?status=failed",
        &detail_path,
    ];
    if let Some(secs) = std::env::var("BENCH_HOLD")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        // `BENCH_HOLD=<seconds>`: the seeded server stays up that long before the reads, for a
        // profiler or a load tool of one's own (its address and the reader's credentials).
        println!(
            "holding {secs} s: {} (own socket {:?}), reader {:?}",
            app.address,
            app.worker_address(),
            reader
        );
        std::thread::sleep(Duration::from_secs(secs));
    }
    let measured = latencies(app, &reader, &reads);
    let own = app.worker_address();
    let direct = own
        .as_deref()
        .map(|base| latencies_at(app, Some(base), &reader, &reads));
    // The Worker's own figures from the one-connection reads only: read before the 16-connection
    // runs add their (queued) requests to the same log lines.
    let log = std::fs::read_to_string(&app.log_path).unwrap_or_default();
    let mut beacon_rates: Vec<(&str, f64)> = Vec::new();
    for path in [
        "/api/executions",
        "/api/analytics/summary?range=7d",
        "/api/analytics/trends?metric=actions&range=30d&interval=day",
        "/api/analytics/components?range=30d",
    ] {
        let (rate, p50) = throughput(app, &reader, path, 16, 8.0);
        let on_own = match own.as_deref() {
            Some(base) => {
                let (rate, p50) = throughput_at(app, Some(base), &reader, path, 16, 8.0);
                beacon_rates.push((path, rate));
                format!("; on the Worker's own socket {rate:.0} req/s, p50 {p50:.1} ms")
            }
            None => String::new(),
        };
        rows.push((
            format!("GET {path}, 16 connections"),
            format!("{rate:.0} req/s, p50 {p50:.1} ms{on_own}"),
            String::new(),
        ));
    }
    for (i, (path, (p50, p99, d1))) in reads.iter().zip(measured).enumerate() {
        let shown = path.replace(&detail_id, &format!(":id (one of {executions_total})"));
        let own = direct.as_ref().map_or("not found".into(), |d| {
            format!("p50 {:.1} ms, p99 {:.1} ms", d[i].0, d[i].1)
        });
        rows.push((
            format!("GET {shown}"),
            format!(
                "p50 {p50:.1} ms, p99 {p99:.1} ms; on the Worker's own socket {own}; in the Worker p50 {}",
                worker_p50(&log, path)
            ),
            d1,
        ));
    }
    let execute = app.post_json(
        &format!("/api/workflows/{ok_workflow}/execute"),
        &json!({"input": {"ticket": "OPS-1"}}),
        &sdk,
    );
    assert_eq!(execute.status, 202, "{execute}");
    rows.push((
        "POST /api/workflows/:id/execute (answer only; the run is the queue's)".into(),
        "not timed".into(),
        d1_calls_of(&execute),
    ));

    if scale == 1 {
        // Neither reads the seeded events or executions: measured at the usual size only.
        rows.extend(traces_rows(app, &reader, &sdk, now_ms()));
        rows.extend(gateway_rows(app, &reader, &sdk));
    }

    let side_by_side = if scale == 1 && peer_wanted() {
        let beacon_p50 = |path: &str| {
            let i = reads.iter().position(|r| *r == path)?;
            direct.as_ref().map(|d| (d[i].0, d[i].2.clone()))
        };
        let beacon_rate = |path: &str| {
            beacon_rates
                .iter()
                .find(|(p, _)| *p == path)
                .map(|(_, rate)| *rate)
        };
        peer_rows(
            app,
            &reader,
            &sdk,
            &mut rng,
            &detail_path,
            &beacon_ingest,
            &beacon_p50,
            &beacon_rate,
        )
    } else {
        Vec::new()
    };

    // A wrangler run in the project directory can make a running `wrangler dev` reload
    // (their bundles share .wrangler/tmp): the server goes before the startup is measured.
    app.stop();
    let (raw, gzipped) = wasm_size();
    rows.push((
        "build/index_bg.wasm".into(),
        format!(
            "{:.0} KB raw, {:.0} KB gzipped",
            raw as f64 / 1e3,
            gzipped as f64 / 1e3
        ),
        String::new(),
    ));
    rows.push((
        "Worker startup (wrangler check startup, local CPU profile)".into(),
        startup_time(),
        String::new(),
    ));

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
        "seed: {seed_total} events over 30 days in {seed_secs:.1} s ({:.0} events/s, {SEED_BATCH}-event batches, {CLIENTS} clients); \
         {executions_total} executions (2 steps, 1 usage row, 3 status events each) by SQL in {executions_secs:.1} s",
        seed_total as f64 / seed_secs
    );
    println!("reads: {READS} requests each, one at a time, the paths taking turns, after 10 warm-up rounds");
    println!(
        "load average (1 min) before / after: {load_before} / {} — other processes share the cores",
        load_average()
    );
    println!();
    let width = rows.iter().map(|(k, _, _)| k.len()).max().unwrap_or(0);
    let result_width = rows.iter().map(|(_, v, _)| v.len()).max().unwrap_or(0);
    println!(
        "| {:width$} | {:result_width$} | D1 round trips |",
        "measurement", "result"
    );
    println!(
        "|{}|{}|----------------|",
        "-".repeat(width + 2),
        "-".repeat(result_width + 2)
    );
    for (what, value, d1) in rows {
        println!("| {what:width$} | {value:result_width$} | {d1:14} |");
    }
    if !side_by_side.is_empty() {
        println!();
        println!(
            "Side by side with the peer (examples/peer: a plain JavaScript Worker on the same \
             database, two D1 round trips per authenticated request, no rollups), both on their \
             Worker's own socket (ingest through wrangler dev's proxy, as above):"
        );
        println!();
        println!("| route | Beacon | peer | Beacon / peer |");
        println!("|---|---|---|---|");
        for (what, beacon, peer, ratio) in side_by_side {
            println!("| {what} | {beacon} | {peer} | {ratio} |");
        }
    }
}

/// The peer's figures beside Beacon's (`route, Beacon, peer, ratio`): the same ingest runs and
/// reads against `examples/peer` served on Beacon's database. Run last: the peer's events are
/// stored without Beacon's rollups, so nothing of Beacon's reads them afterwards.
#[allow(clippy::too_many_arguments)]
fn peer_rows(
    app: &TestApp,
    reader: &Auth,
    sdk: &Auth,
    rng: &mut Rng,
    detail_path: &str,
    beacon_ingest: &[(usize, usize, f64)],
    beacon_p50: &dyn Fn(&str) -> Option<(f64, String)>,
    beacon_rate: &dyn Fn(&str) -> Option<f64>,
) -> Vec<(String, String, String, String)> {
    // Beacon's gateway key is made before the peer opens the same database file: two workerd
    // processes writing it at once get SQLITE_BUSY.
    let key = app.openai_key(reader);
    let peer = start_peer(app);
    let mut out = Vec::new();
    let ratio = |ours: f64, theirs: f64, higher_is_better: bool| {
        let r = if higher_is_better {
            ours / theirs
        } else {
            theirs / ours
        };
        format!("{r:.2}x {}", if r >= 1.0 { "ahead" } else { "behind" })
    };
    for &(size, clients, ours) in beacon_ingest {
        if clients == 1 {
            continue;
        }
        let batches = (0..INGEST_EVENTS / size)
            .map(|_| (0..size).map(|_| live_event(rng)).collect())
            .collect();
        let theirs = send_batches(&peer, sdk, batches, clients);
        out.push((
            format!("POST /api/telemetry/batch, {size}-event batches, {clients} clients"),
            format!("{ours:.0} events/s"),
            theirs.figures(),
            ratio(ours, theirs.events_per_s, true),
        ));
    }
    // The reads, Beacon's and the peer's in alternating rounds (this VM's speed drifts within
    // minutes): the median of three p50s each, each on its Worker's own socket.
    let own = peer.worker_address();
    let beacon_own = app.worker_address();
    let paths = [
        "/api/auth/me",
        "/api/executions",
        "/api/executions?status=failed",
        detail_path,
    ];
    // Per side and path: the p50 of each round, and the D1 round trips the answers reported.
    let side = || {
        (
            vec![Vec::new(); paths.len()],
            vec![String::new(); paths.len()],
        )
    };
    let (mut ours, mut theirs) = (side(), side());
    let round = |t: &TestApp, base: Option<&str>, into: &mut (Vec<Vec<f64>>, Vec<String>)| {
        for (i, (p50, _, d1)) in latencies_at(t, base, reader, &paths)
            .into_iter()
            .enumerate()
        {
            into.0[i].push(p50);
            into.1[i] = d1;
        }
    };
    for _ in 0..3 {
        round(app, beacon_own.as_deref(), &mut ours);
        round(&peer, own.as_deref(), &mut theirs);
    }
    let rows = ours
        .0
        .into_iter()
        .zip(ours.1)
        .zip(theirs.0.into_iter().zip(theirs.1));
    for (path, ((our_p50s, our_calls), (their_p50s, their_calls))) in paths.iter().zip(rows) {
        let shown = if *path == detail_path {
            "/api/executions/:id"
        } else {
            path
        };
        let (ms, p50) = (median(our_p50s), median(their_p50s));
        out.push((
            format!("GET {shown}, p50 at 1 connection"),
            latency_cell(ms, &our_calls),
            latency_cell(p50, &their_calls),
            ratio(ms, p50, false),
        ));
    }
    // The summary: Beacon's from the table above; the peer's counts the events each time
    // (seconds a request), so five requests.
    let summary = "/api/analytics/summary?range=7d";
    let base = own.clone().unwrap_or(peer.address.clone());
    let mut their_calls = String::new();
    let p50 = median(
        (0..5)
            .map(|_| {
                let started = Instant::now();
                let resp = peer.get_at(&base, summary, reader);
                let ms = started.elapsed().as_secs_f64() * 1e3;
                assert_eq!(resp.status, 200, "{resp}");
                their_calls = d1_calls_of(&resp);
                ms
            })
            .collect(),
    );
    let ours = beacon_p50(summary);
    out.push((
        format!("GET {summary}, p50 at 1 connection"),
        ours.as_ref()
            .map_or("?".into(), |(ms, calls)| latency_cell(*ms, calls)),
        format!("{}; 5 requests", latency_cell(p50, &their_calls)),
        ours.map_or("?".into(), |(ms, _)| ratio(ms, p50, false)),
    ));
    let executions = "/api/executions";
    let (mut our_rates, mut their_rates) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        our_rates.push(throughput_at(app, beacon_own.as_deref(), reader, executions, 16, 8.0).0);
        their_rates.push(throughput_at(&peer, own.as_deref(), reader, executions, 16, 8.0).0);
    }
    let (rate, theirs_rate) = (median(our_rates), median(their_rates));
    out.push((
        format!("GET {executions}, 16 connections (alternating, median of 3)"),
        format!("{rate:.0} req/s"),
        format!("{theirs_rate:.0} req/s"),
        ratio(rate, theirs_rate, true),
    ));
    let (rate, _) = throughput_at(&peer, own.as_deref(), reader, summary, 16, 8.0);
    let ours = beacon_rate(summary);
    out.push((
        format!("GET {summary}, 16 connections"),
        ours.map_or("?".into(), |r| format!("{r:.0} req/s")),
        format!("{rate:.1} req/s"),
        ours.map_or("?".into(), |r| ratio(r, rate, true)),
    ));
    let (ours, theirs) = gateway_side_by_side(app, &peer, &key, sdk);
    out.push((
        "POST /api/gateway/openai/v1/chat/completions, not streamed: added over the stand-in, p50"
            .into(),
        format!("+{ours:.1} ms (vault key, budget, price, span, usage row)"),
        format!("+{theirs:.1} ms (key in its vars, usage row)"),
        ratio(ours, theirs, false),
    ));
    peer.stop();
    out
}

/// Traces seeded by SQL for the list's figures.
const SEED_TRACES: u64 = 100_000;

/// A 3-level agent trace of `spans` spans as OTLP/JSON (agent → chat with usage → tool, the
/// chat and tool pairs repeated under one agent), with ids drawn from `rng`.
fn agent_trace_json(rng: &mut Rng, spans: usize, now: u64) -> (String, Value) {
    let hex = |rng: &mut Rng, n: usize| -> String {
        (0..n).map(|_| format!("{:x}", rng.next() % 16)).collect()
    };
    let trace = hex(rng, 32);
    let root = hex(rng, 16);
    let base = now * 1_000_000;
    let kv = |k: &str, v: Value| match v {
        Value::String(s) => json!({"key": k, "value": {"stringValue": s}}),
        v => json!({"key": k, "value": {"intValue": v.to_string()}}),
    };
    let span = |id: &str, parent: Option<&str>, name: &str, at: u64, attrs: Vec<Value>| {
        json!({"traceId": trace, "spanId": id, "parentSpanId": parent.unwrap_or(""), "name": name, "kind": 1,
               "startTimeUnixNano": (base + at * 1_000_000).to_string(),
               "endTimeUnixNano": (base + at * 1_000_000 + 800_000).to_string(), "attributes": attrs})
    };
    let mut out = vec![span(
        &root,
        None,
        "invoke_agent planner",
        0,
        vec![kv("gen_ai.agent.name", json!("planner"))],
    )];
    let mut at = 1;
    while out.len() < spans {
        let chat = hex(rng, 16);
        out.push(span(
            &chat,
            Some(&root),
            "chat gpt-4o-mini",
            at,
            vec![
                kv("gen_ai.operation.name", json!("chat")),
                kv("gen_ai.provider.name", json!("openai")),
                kv("gen_ai.request.model", json!("gpt-4o-mini")),
                kv("gen_ai.usage.input_tokens", json!(1200)),
                kv("gen_ai.usage.cache_read.input_tokens", json!(200)),
                kv("gen_ai.usage.output_tokens", json!(300)),
            ],
        ));
        if out.len() < spans {
            let tool = hex(rng, 16);
            out.push(span(
                &tool,
                Some(&chat),
                "execute_tool search",
                at,
                vec![kv("gen_ai.tool.name", json!("search"))],
            ));
        }
        at += 1;
    }
    let body = json!({"resourceSpans": [{"resource": {"attributes": [kv("service.name", json!("bench-agent"))]},
                                         "scopeSpans": [{"spans": out}]}]});
    (trace, body)
}

/// OTLP ingest (the shared load generator, `../shared/bench/otlp_load.py`: 100-span protobuf
/// requests of 3-level agent traces with usage, 16 connections), D1 rows written per span, then
/// the traces list over 100,000 seeded traces and a 500-span trace's detail.
fn traces_rows(
    app: &TestApp,
    reader: &Auth,
    sdk: &Auth,
    now: u64,
) -> Vec<(String, String, String)> {
    let mut rows = Vec::new();
    let mut rng = Rng(now ^ 0x7ace);
    let (_, one) = agent_trace_json(&mut rng, 100, now);
    let answer = app.post_json("/api/otlp/v1/traces", &one, sdk);
    assert_eq!(answer.status, 200, "{answer}");
    let written: f64 = answer
        .header("x-d1-rows-written")
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN);
    rows.push((
        "POST /api/otlp/v1/traces, one 100-span request (JSON): D1 rows written per span".into(),
        format!(
            "{:.2} rows/span (spans, trace, usage rows and their rollup)",
            written / 100.0
        ),
        d1_calls_of(&answer),
    ));

    let script = std::env::var("OTLP_LOAD")
        .unwrap_or_else(|_| format!("{REPO}/../shared/bench/otlp_load.py"));
    let python = std::env::var("BENCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let Auth::Bearer(token) = sdk else {
        panic!("the bench sends with an access token");
    };
    if std::path::Path::new(&script).exists() {
        // Through wrangler dev's proxy (plain and gzip), then on the Worker's own socket.
        let own = app.worker_address();
        let mut runs = vec![(16, None, None), (16, Some("--gzip"), None)];
        match own.as_deref() {
            Some(own) => runs.push((16, None, Some(own))),
            None => eprintln!("the Worker's own socket was not found: that run is skipped"),
        }
        for (conns, extra, direct) in runs {
            let cpu_before = app.workerd_cpu_seconds();
            let worker_before = app.worker_cpu_seconds();
            let mut command = Command::new(&python);
            command.args([
                script.as_str(),
                "--url",
                &format!("{}/api/otlp/v1/traces", direct.unwrap_or(&app.address)),
                "--header",
                &format!("Authorization=Bearer {token}"),
                "--conns",
                &conns.to_string(),
                "--seconds",
                "15",
            ]);
            if let Some(flag) = extra {
                command.arg(flag);
            }
            let output = command.output().expect("running otlp_load.py");
            let cpu = match (cpu_before, app.workerd_cpu_seconds()) {
                (Some(a), Some(b)) => Some(b - a),
                _ => None,
            };
            let worker_cpu = match (worker_before, app.worker_cpu_seconds()) {
                (Some(a), Some(b)) => Some(b - a),
                _ => None,
            };
            let text = String::from_utf8_lossy(&output.stdout);
            let line = text
                .lines()
                .find(|l| l.starts_with("OTLP_RESULT"))
                .unwrap_or("OTLP_RESULT missing")
                .to_string();
            let field = |name: &str| -> String {
                line.split_whitespace()
                    .find_map(|f| f.strip_prefix(&format!("{name}=")))
                    .unwrap_or("?")
                    .to_string()
            };
            let requests: f64 = field("requests").parse().unwrap_or(f64::NAN);
            let detail = String::from_utf8_lossy(&output.stderr);
            let total_requests: f64 = detail
                .split_whitespace()
                .find_map(|f| f.strip_prefix("total_requests="))
                .and_then(|v| v.parse().ok())
                .unwrap_or(requests);
            let cpu_per_request =
                cpu.map_or("?".into(), |c| format!("{:.2}", c * 1e3 / total_requests));
            let worker_per_request =
                worker_cpu.map_or("?".into(), |c| format!("{:.2}", c * 1e3 / total_requests));
            rows.push((
                format!(
                    "POST /api/otlp/v1/traces, 100-span protobuf requests{}, {conns} connections{}",
                    if extra.is_some() { " (gzip)" } else { "" },
                    if direct.is_some() { ", on the Worker's own socket" } else { "" }
                ),
                format!(
                    "{} spans/s, p50 {} ms, p99 {} ms, non-2xx {}; workerd CPU {cpu_per_request} ms/request \
                     ({worker_per_request} of them the Worker's, the rest wrangler dev's proxy)",
                    field("spans_per_s"),
                    field("p50_ms"),
                    field("p99_ms"),
                    field("non2xx")
                ),
                "2".into(),
            ));
        }
    } else {
        rows.push((
            "POST /api/otlp/v1/traces under load".into(),
            format!("not run: {script} not found (OTLP_LOAD=)"),
            String::new(),
        ));
    }

    // 100,000 traces over 30 days by SQL, then a 500-span trace through the receiver.
    let team = app.sql("SELECT team_id FROM access_tokens ORDER BY created_at DESC LIMIT 1");
    let team_id = string(&team[0]["results"][0]["team_id"]);
    let spacing = 30 * DAY_MS / SEED_TRACES;
    app.sql(&format!(
        "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {SEED_TRACES}) \
         INSERT INTO traces (team_id, trace_id, name, service, root_seen, status, started_at, ended_at, span_count, \
           llm_calls, input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_nusd, \
           agents, models, created_at, updated_at) \
         SELECT '{team_id}', printf('%016x%016x', n, n * 7919), 'invoke_agent planner', \
           CASE n % 3 WHEN 0 THEN 'support-desk' WHEN 1 THEN 'research' ELSE 'billing-bot' END, 1, \
           CASE WHEN n % 20 = 0 THEN 'error' ELSE 'ok' END, {now} - n * {spacing} + 0.5, {now} - n * {spacing} + 1500.25, \
           12, 4, 4000, 800, 0, 1200, 0, 1500000, '[\"planner\"]', '[\"gpt-4o-mini\"]', {now}, {now} FROM seq"
    ));
    let mut rng = Rng(now ^ 0x500);
    let (big, body) = agent_trace_json(&mut rng, 500, now);
    app.post_json("/api/otlp/v1/traces", &body, sdk).expect(200);
    let detail = format!("/api/traces/{big}");
    let reads = [
        "/api/auth/me",
        "/api/traces",
        "/api/traces?range=7d",
        "/api/traces?service=billing-bot",
        "/api/traces?status=error",
        &detail,
    ];
    let proxied = latencies(app, reader, &reads);
    let direct = app
        .worker_address()
        .map(|base| latencies_at(app, Some(&base), reader, &reads));
    for (i, (path, (p50, p99, d1))) in reads.iter().zip(proxied).enumerate() {
        let shown = path.replace(&big, ":id (500 spans)");
        let own = direct.as_ref().map_or("not found".into(), |d| {
            format!("p50 {:.1} ms, p99 {:.1} ms", d[i].0, d[i].1)
        });
        rows.push((
            format!("GET {shown} (100,000+ traces stored)"),
            format!("p50 {p50:.1} ms, p99 {p99:.1} ms; on the Worker's own socket {own}"),
            d1,
        ));
    }
    rows
}

/// Gateway calls timed per figure.
const GATEWAY_CALLS: usize = 200;

/// ms from sending `body` to `url` to the answer's end (`whole`) or its first body byte.
fn timed_post(url: &str, headers: &[(&str, &str)], body: &str, whole: bool) -> (f64, u16) {
    use std::io::Read;
    let mut req = ureq::post(url);
    for (name, value) in headers {
        req = req.set(name, value);
    }
    let started = Instant::now();
    let resp = match req.send_string(body) {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{url}: {e}"),
    };
    let status = resp.status();
    let mut reader = resp.into_reader();
    let mut first = [0u8; 1];
    let _ = reader.read(&mut first);
    let at_first = started.elapsed().as_secs_f64() * 1e3;
    let mut rest = Vec::new();
    let _ = reader.read_to_end(&mut rest);
    let at_end = started.elapsed().as_secs_f64() * 1e3;
    (if whole { at_end } else { at_first }, status)
}

/// p50 of `n` timings of `f` (after 10 warm-up calls).
fn p50_of(n: usize, mut f: impl FnMut() -> f64) -> f64 {
    for _ in 0..10 {
        f();
    }
    median((0..n).map(|_| f()).collect())
}

/// A row of the table: what was measured, the figure, its D1 round trips.
type Row = (String, String, String);

/// The LLM gateway against calling the stand-in provider directly: a non-streamed call, the
/// first byte of a streamed one, and a cache hit.
fn gateway_rows(app: &TestApp, reader: &Auth, sdk: &Auth) -> Vec<Row> {
    let key = app.openai_key(reader);
    let bearer = format!("Bearer {}", gateway_token(sdk));
    let provider = format!("Bearer {}", helpers::OPENAI_KEY);
    let direct_url = format!("{}/v1/chat/completions", stand_in().base_url);
    let direct_headers = [
        ("Authorization", provider.as_str()),
        ("Content-Type", "application/json"),
    ];
    let through = [
        ("Authorization", bearer.as_str()),
        ("Content-Type", "application/json"),
        ("x-beacon-key", key.as_str()),
    ];
    let mut n = 0;
    let mut body = |stream: bool| {
        n += 1;
        json!({"model": "gpt-4o-mini", "stream": stream, "stream_options": {"include_usage": true},
               "messages": [{"role": "user", "content": format!("bench call {n}")}]})
        .to_string()
    };
    let mut call = |url: &str, headers: &[(&str, &str)], stream: bool, whole: bool| {
        let (ms, status) = timed_post(url, headers, &body(stream), whole);
        assert_eq!(status, 200, "{url}");
        ms
    };
    let direct = p50_of(GATEWAY_CALLS, || {
        call(&direct_url, &direct_headers, false, true)
    });
    let direct_first = p50_of(GATEWAY_CALLS, || {
        call(&direct_url, &direct_headers, true, false)
    });
    let cached =
        json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "bench cached"}]})
            .to_string();
    let mut with_ttl = through.to_vec();
    with_ttl.push(("x-beacon-cache-ttl", "3600"));
    // Through wrangler dev's proxy, then on the Worker's own socket (no proxy: as deployed).
    let mut bases = vec![(app.address.clone(), "")];
    if let Some(own) = app.worker_address() {
        bases.push((own, ", on the Worker's own socket"));
    }
    let mut rows = Vec::new();
    for (base, where_) in bases {
        let gateway_url = format!("{base}/api/gateway/openai/v1/chat/completions");
        let gateway = p50_of(GATEWAY_CALLS, || call(&gateway_url, &through, false, true));
        let gateway_first = p50_of(GATEWAY_CALLS, || call(&gateway_url, &through, true, false));
        let (_, status) = timed_post(&gateway_url, &with_ttl, &cached, true);
        assert_eq!(status, 200);
        std::thread::sleep(Duration::from_millis(500));
        let hit = p50_of(GATEWAY_CALLS, || {
            timed_post(&gateway_url, &with_ttl, &cached, true).0
        });
        let one = app.post_raw(
            "/api/gateway/openai/v1/chat/completions",
            json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "bench one"}]})
                .to_string()
                .as_bytes(),
            Some("application/json"),
            sdk,
        );
        rows.extend([
            (
                format!("POST /api/gateway/openai/v1/chat/completions, not streamed ({GATEWAY_CALLS} calls){where_}"),
                format!("p50 {gateway:.1} ms; the stand-in directly {direct:.1} ms: +{:.1} ms", gateway - direct),
                d1_calls_of(&one),
            ),
            (
                format!("the same, streamed: first byte{where_}"),
                format!("p50 {gateway_first:.1} ms; the stand-in directly {direct_first:.1} ms: +{:.1} ms", gateway_first - direct_first),
                String::new(),
            ),
            (
                format!("the same with x-beacon-cache-ttl, a cache hit (end to end){where_}"),
                format!("p50 {hit:.1} ms"),
                String::new(),
            ),
        ]);
    }
    rows
}

/// Whether to measure the peer too (`BENCH_PEER=off` skips it).
fn peer_wanted() -> bool {
    std::env::var("BENCH_PEER").as_deref() != Ok("off")
}

/// `examples/peer` on Beacon's database, its gateway route calling the stand-in provider.
fn start_peer(app: &TestApp) -> TestApp {
    println!("starting the peer on the same database ...");
    let provider = stand_in().base_url.clone();
    app.start_peer(&[
        ("PROVIDER_URL", provider.as_str()),
        ("PROVIDER_KEY", helpers::OPENAI_KEY),
    ])
}

/// The gateway's added latency (a non-streamed call's p50 less the stand-in's own, measured
/// just before) for Beacon and for the peer's gateway route (`examples/peer`: the caller looked
/// up, the stand-in called with the key in its vars, a usage row after the answer), each on its
/// Worker's own socket when found, in alternating rounds: the median of three each.
fn gateway_side_by_side(app: &TestApp, peer: &TestApp, key: &str, sdk: &Auth) -> (f64, f64) {
    let bearer = format!("Bearer {}", gateway_token(sdk));
    let json = ("Content-Type", "application/json");
    let path = "/api/gateway/openai/v1/chat/completions";
    let url = |t: &TestApp| format!("{}{path}", t.worker_address().unwrap_or(t.address.clone()));
    let (ours_url, theirs_url) = (url(app), url(peer));
    let ours = [
        ("Authorization", bearer.as_str()),
        json,
        ("x-beacon-key", key),
    ];
    let theirs = [("Authorization", bearer.as_str()), json];
    let (mut beacon, mut plain) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        beacon.push(gateway_added(&ours_url, &ours));
        plain.push(gateway_added(&theirs_url, &theirs));
    }
    (median(beacon), median(plain))
}

/// A non-streamed call's p50 through `url` less the stand-in's own p50 (`GATEWAY_CALLS / 2`
/// calls each, after warm-up).
fn gateway_added(url: &str, headers: &[(&str, &str)]) -> f64 {
    let provider = format!("Bearer {}", helpers::OPENAI_KEY);
    let direct_url = format!("{}/v1/chat/completions", stand_in().base_url);
    let direct_headers = [
        ("Authorization", provider.as_str()),
        ("Content-Type", "application/json"),
    ];
    let mut n = 0;
    let mut call = |url: &str, headers: &[(&str, &str)]| {
        n += 1;
        let body = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": format!("side by side {n}")}]})
            .to_string();
        let (ms, status) = timed_post(url, headers, &body, true);
        assert_eq!(status, 200, "{url}");
        ms
    };
    let direct = p50_of(GATEWAY_CALLS / 2, || call(&direct_url, &direct_headers));
    let through = p50_of(GATEWAY_CALLS / 2, || call(url, headers));
    through - direct
}

/// The middle value (the upper one of an even count).
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
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

/// The database's size as D1 reports it (`GET /api/team/storage`'s `database_bytes`).
fn database_bytes(app: &TestApp, auth: &Auth) -> Option<u64> {
    app.get("/api/team/storage", auth).expect(200)["database_bytes"].as_u64()
}

/// What the database grows by per stored event (the seeding's 20-event sessions with their
/// properties, 500-event batches) and per span (100-span OTLP/JSON agent traces with GenAI
/// usage): the size D1 reports before and after, over the count. Rollups, usage rows, indexes and
/// the traces' own rows are all included, as they are in the database a team fills.
fn storage_rows(
    app: &TestApp,
    reader: &Auth,
    sdk: &Auth,
    rng: &mut Rng,
) -> Vec<(String, String, String)> {
    const EVENTS: usize = 50_000;
    const SPANS: usize = 20_000;
    let mut rows = Vec::new();
    let Some(start) = database_bytes(app, reader) else {
        rows.push((
            "database size".into(),
            "not reported by this D1".into(),
            "".into(),
        ));
        return rows;
    };
    let now = now_ms();
    let mut events: Vec<Value> = Vec::with_capacity(EVENTS);
    while events.len() < EVENTS {
        events.extend(session(rng, now));
    }
    events.truncate(EVENTS);
    let batches = events.chunks(SEED_BATCH).map(<[Value]>::to_vec).collect();
    send_batches(app, sdk, batches, CLIENTS);
    let after_events = database_bytes(app, reader).unwrap_or(start);
    for _ in 0..SPANS / 100 {
        let (_, body) = agent_trace_json(rng, 100, now);
        let answer = app.post_json("/api/otlp/v1/traces", &body, sdk);
        assert_eq!(answer.status, 200, "{answer}");
    }
    let after_spans = database_bytes(app, reader).unwrap_or(after_events);
    let per = |grew: u64, n: usize| grew as f64 / n as f64;
    let event = per(after_events.saturating_sub(start), EVENTS);
    let span = per(after_spans.saturating_sub(after_events), SPANS);
    rows.push((
        format!("stored event ({EVENTS} events, 20-event sessions, 500-event batches)"),
        format!("{event:.0} bytes"),
        "".into(),
    ));
    rows.push((
        format!("stored span ({SPANS} spans, 100-span agent traces with usage)"),
        format!("{span:.0} bytes"),
        "".into(),
    ));
    // A year at the bench's own volume (the seeding's 200,000 events in 30 days), and what the
    // 10 GB database holds under the default retention (90 days of events, 30 of spans).
    let year = 200_000.0 * 365.0 / 30.0 * event;
    rows.push((
        "a year at the bench's volume (200,000 events a month), before retention".into(),
        format!("{:.2} GB of D1's 10 GB", year / 1e9),
        "".into(),
    ));
    rows.push((
        "what 10 GB holds under default retention (events 90 days, spans 30 days)".into(),
        format!(
            "{:.0}k events a day, or {:.0}k spans a day",
            1e10 / (90.0 * event) / 1e3,
            1e10 / (30.0 * span) / 1e3
        ),
        "".into(),
    ));
    rows
}
