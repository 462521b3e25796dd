//! Starting the shared `wrangler dev` (fresh local D1 and KV, migrations applied) and stopping it
//! when the test process exits, however it exits.

use serde_json::Value;
use std::fs::{self, OpenOptions};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, Once, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard, TryLockError};
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const REPO: &str = env!("CARGO_MANIFEST_DIR");
const WRANGLER: &str = "node_modules/.bin/wrangler";
const STARTUP_LIMIT: Duration = Duration::from_secs(180);

/// The running Worker and where its state and log live.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`, no trailing slash.
    pub address: String,
    pub persist_dir: PathBuf,
    pub log_path: PathBuf,
    /// The port wrangler is told to put its DevTools inspector on (the bench checks it stays
    /// closed when the inspector is detached).
    #[allow(dead_code)] // read by examples/bench.rs only
    pub inspector_port: u16,
    pub(crate) agent: ureq::Agent,
    /// The process group of this server's wrangler, node and workerd.
    pgid: u32,
}

/// The vault's master keys in tests: fixed, test-only values (32 bytes each, base64).
pub const TEST_MASTER_KEY_1: &str = "t1:dGVzdC1tYXN0ZXIta2V5LW9uZS0zMi1ieXRlcy0hISE=";
pub const TEST_MASTER_KEY_2: &str = "t2:dGVzdC1tYXN0ZXIta2V5LXR3by0zMi1ieXRlcy0hISE=";

/// The variables every test server gets unless a test overrides them.
fn default_vars() -> Vec<(String, String)> {
    [
        ("ENVIRONMENT", "development"),
        ("ALLOW_PRIVATE_UPSTREAMS", "true"),
        ("SIGNUP", "open"),
        ("MAILER", "log"),
        ("VAULT_MASTER_KEYS", TEST_MASTER_KEY_1),
        ("VAULT_ACTIVE_KEY", "t1"),
        // Provider retries back off from 20 ms instead of a second, to keep the suite fast.
        ("RETRY_BASE_MS", "20"),
        // Every answer says how many D1 round trips it made (x-d1-calls).
        ("DEBUG_HEADERS", "true"),
        // The per-minute quotas off, as `make dev` has them: load drivers measure Beacon, not its
        // quotas. tests/api/quotas.rs turns them on, on a server of its own.
        ("QUOTA_EXECUTIONS_PER_MINUTE", "0"),
        ("QUOTA_TELEMETRY_EVENTS_PER_MINUTE", "0"),
        ("QUOTA_SPANS_PER_MINUTE", "0"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

static APP: OnceLock<Result<TestApp, String>> = OnceLock::new();

/// The shared server, started by the first test that asks. A failed start is remembered, so the
/// other tests fail at once instead of each starting a server of its own.
pub fn app() -> &'static TestApp {
    match APP.get_or_init(|| TestApp::start(&[], None)) {
        Ok(app) => app,
        Err(why) => panic!("the test server did not start: {why}"),
    }
}

impl TestApp {
    /// A server of a test's own, with some variables overridden and, to restart on the state of
    /// an earlier server, its persist directory. Stop it with [`TestApp::stop`].
    pub fn start_with(overrides: &[(&str, &str)], persist_dir: Option<&Path>) -> TestApp {
        TestApp::start(overrides, persist_dir)
            .unwrap_or_else(|why| panic!("a test server did not start: {why}"))
    }

    fn start(overrides: &[(&str, &str)], persist_dir: Option<&Path>) -> Result<TestApp, String> {
        let persist_dir = match persist_dir {
            Some(dir) => dir.to_path_buf(),
            None => {
                let dir = Path::new(REPO).join("target/itest").join(format!(
                    "{}-{}-{}",
                    std::process::id(),
                    now_millis(),
                    SERVERS.fetch_add(1, Ordering::SeqCst)
                ));
                fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
                dir
            }
        };
        apply_migrations(&persist_dir)?;
        let mut vars = default_vars();
        for (name, value) in overrides {
            vars.retain(|(k, _)| k != name);
            vars.push((name.to_string(), value.to_string()));
        }
        let log_path = persist_dir.join("wrangler.log");
        TestApp::launch(wrangler(), persist_dir, log_path, &vars)
    }

    /// Runs `wrangler dev` (`wrangler`: the command to run it with) on `persist_dir` and waits
    /// until it answers `GET /api/health`.
    fn launch(
        wrangler: Command,
        persist_dir: PathBuf,
        log_path: PathBuf,
        vars: &[(String, String)],
    ) -> Result<TestApp, String> {
        let (port, inspector_port) = two_free_ports()?;
        let child = spawn_wrangler(
            wrangler,
            &persist_dir,
            &log_path,
            port,
            inspector_port,
            vars,
        )?;
        let app = TestApp {
            pgid: child.id(),
            address: format!("http://127.0.0.1:{port}"),
            persist_dir,
            log_path,
            inspector_port,
            agent: ureq::AgentBuilder::new()
                .redirects(0)
                .timeout(Duration::from_secs(60))
                .build(),
        };
        app.wait_until_healthy(child)?;
        Ok(app)
    }

    /// `make bench`'s peer (`examples/peer`: a plain JavaScript Worker) served by its own
    /// `wrangler dev` on this server's database (the same `--persist-to`), started as this server
    /// is, with `vars` (`--var`); stopped with it at exit.
    #[allow(dead_code)] // read by examples/bench.rs only
    pub fn start_peer(&self, vars: &[(&str, &str)]) -> TestApp {
        let peer = wrangler_in(&Path::new(REPO).join("examples/peer"), "wrangler.toml");
        let log_path = self.persist_dir.join("peer.log");
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        TestApp::launch(peer, self.persist_dir.clone(), log_path, &vars)
            .unwrap_or_else(|why| panic!("the peer did not start: {why}"))
    }

    fn wait_until_healthy(&self, mut child: Child) -> Result<(), String> {
        let started = Instant::now();
        let probe = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(5))
            .build();
        let url = format!("{}/api/health", self.address);
        while started.elapsed() < STARTUP_LIMIT {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("wrangler exited ({status}):\n{}", self.log_tail()));
            }
            if matches!(probe.get(&url).call(), Ok(r) if r.status() == 200) {
                return Ok(());
            }
            sleep(Duration::from_millis(500));
        }
        Err(format!(
            "GET /api/health did not answer 200 within {STARTUP_LIMIT:?}:\n{}",
            self.log_tail()
        ))
    }

    /// The last lines of wrangler's log, for failure messages.
    pub fn log_tail(&self) -> String {
        let log = fs::read_to_string(&self.log_path).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(60)..].join("\n")
    }

    /// Runs one SQL statement on the server's local D1 (a real edit, used to move time on) and
    /// returns wrangler's JSON answer. The running Worker holds the same SQLite file, so a busy
    /// database is waited for.
    pub fn sql(&self, statement: &str) -> Value {
        let _no_request_in_flight = exclusive_gate();
        let mut attempts = 0;
        let out = loop {
            match self.sql_beside_requests(statement) {
                Ok(out) => break out,
                Err(why) if why.contains("SQLITE_BUSY") && attempts < 20 => attempts += 1,
                Err(why) => panic!("{why}"),
            }
            sleep(Duration::from_millis(250 * attempts));
        };
        serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("d1 execute gave no JSON ({e}): {out}"))
    }

    /// Runs SQL on the server's local D1 as a developer beside `wrangler dev` would, with
    /// requests in flight (no gate, no retry): wrangler's JSON answer, or its error.
    pub fn sql_beside_requests(&self, statements: &str) -> Result<String, String> {
        let dir = self.persist_dir.to_string_lossy().into_owned();
        let args = ["d1", "execute", "DB", "--local", "--persist-to", &dir];
        run_wrangler(&[&args[..], &["--command", statements, "--json"]].concat())
    }
}

/// An outside writer (`wrangler d1 execute`) locks the SQLite file the running Worker uses, and the
/// Worker's queries then fail with SQLITE_BUSY (a 500). So every request holds this gate shared
/// and [`TestApp::sql`] holds it alone: requests wait while the SQL runs.
static SQL_GATE: RwLock<()> = RwLock::new(());

pub(super) fn request_gate() -> RwLockReadGuard<'static, ()> {
    // Give way to a waiting `sql` for a moment, never for long: see `exclusive_gate`.
    let since = Instant::now();
    while SQL_WAITING.load(Ordering::Acquire) > 0 && since.elapsed() < Duration::from_millis(250) {
        sleep(Duration::from_millis(5));
    }
    SQL_GATE.read().unwrap_or_else(|e| e.into_inner())
}

/// Requests wait a little while `sql` waits for the gate, so it is not starved.
static SQL_WAITING: AtomicU32 = AtomicU32::new(0);

/// The gate alone, waited for by polling rather than by queueing as a writer: a queued writer
/// stops every new reader, so a test holding requests at the stand-in (the gateway's budget
/// test) and sending one more to release them would wait forever behind it.
fn exclusive_gate() -> RwLockWriteGuard<'static, ()> {
    SQL_WAITING.fetch_add(1, Ordering::AcqRel);
    let guard = loop {
        match SQL_GATE.try_write() {
            Ok(guard) => break guard,
            Err(TryLockError::Poisoned(e)) => break e.into_inner(),
            Err(TryLockError::WouldBlock) => sleep(Duration::from_millis(2)),
        }
    };
    SQL_WAITING.fetch_sub(1, Ordering::AcqRel);
    guard
}

pub fn now_millis() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

fn two_free_ports() -> Result<(u16, u16), String> {
    // Both listeners are held until both ports are read, so the two cannot coincide.
    let bind = || TcpListener::bind("127.0.0.1:0").map_err(|e| format!("binding a port: {e}"));
    let (a, b) = (bind()?, bind()?);
    let port = |l: &TcpListener| l.local_addr().map(|a| a.port()).map_err(|e| e.to_string());
    Ok((port(&a)?, port(&b)?))
}

/// wrangler.toml without its `[build]` table: the tests run the Worker `make test` built, and
/// wrangler's source watcher (which fires once on start and reloads the Worker mid-request)
/// stays off. Written beside wrangler.toml so every relative path in it still holds.
fn test_config() -> &'static str {
    static WRITTEN: OnceLock<()> = OnceLock::new();
    const NAME: &str = "wrangler.test.toml";
    WRITTEN.get_or_init(|| {
        let source =
            fs::read_to_string(Path::new(REPO).join("wrangler.toml")).expect("wrangler.toml");
        let mut skipping = false;
        let mut out = String::from(
            "# Generated by tests/api/helpers/server.rs from wrangler.toml, without [build].\n",
        );
        for line in source.lines() {
            if line.starts_with('[') {
                skipping = line.trim() == "[build]";
            }
            if !skipping {
                out.push_str(line);
                out.push('\n');
            }
        }
        fs::write(Path::new(REPO).join(NAME), out).expect("writing the test wrangler config");
    });
    NAME
}

fn wrangler() -> Command {
    wrangler_in(Path::new(REPO), test_config())
}

/// The project's wrangler run in `dir` with the config `config` (relative to `dir`).
fn wrangler_in(dir: &Path, config: &str) -> Command {
    let mut cmd = Command::new(Path::new(REPO).join(WRANGLER));
    cmd.current_dir(dir)
        .env("WRANGLER_SEND_METRICS", "false")
        .args(["--config", config]);
    cmd
}

/// Runs a one-shot wrangler command (non-interactive) and returns its stdout.
fn run_wrangler(args: &[&str]) -> Result<String, String> {
    let out = wrangler()
        .args(args)
        .env("CI", "true")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running wrangler {args:?}: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "wrangler {args:?} failed ({}):\n{stdout}\n{stderr}",
            out.status
        ));
    }
    Ok(stdout)
}

fn apply_migrations(persist_dir: &Path) -> Result<(), String> {
    let dir = persist_dir.to_string_lossy();
    let args = [
        "d1",
        "migrations",
        "apply",
        "DB",
        "--local",
        "--persist-to",
        &dir,
    ];
    run_wrangler(&args).map(|_| ())
}

fn spawn_wrangler(
    mut wrangler: Command,
    dir: &Path,
    log_path: &Path,
    port: u16,
    inspector: u16,
    vars: &[(String, String)],
) -> Result<Child, String> {
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path)
        .map_err(|e| format!("opening {}: {e}", log_path.display()))?;
    let log_too = log.try_clone().map_err(|e| e.to_string())?;
    let (port, inspector) = (port.to_string(), inspector.to_string());
    let dir = dir.to_string_lossy();
    let child = wrangler
        .args(["dev", "--local", "--ip", "127.0.0.1", "--port", &port])
        .args(["--inspector-port", &inspector, "--persist-to", &dir])
        .args(["--show-interactive-dev-session=false", "--test-scheduled"])
        .args(
            vars.iter()
                .flat_map(|(k, v)| ["--var".to_string(), format!("{k}:{v}")]),
        )
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_too)
        .process_group(0)
        .spawn()
        .map_err(|e| format!("spawning wrangler dev: {e}"))?;
    stop_at_exit(child.id());
    Ok(child)
}

// Stopping the server: wrangler leads its own process group (node, workerd, esbuild); the group
// is killed when this process exits normally (atexit), and by a watchdog if it dies otherwise.

/// Every server started by this process, killed at exit if still running.
static RUNNING: Mutex<Vec<u32>> = Mutex::new(Vec::new());
static SERVERS: AtomicU32 = AtomicU32::new(0);
static AT_EXIT: Once = Once::new();

extern "C" {
    // In the C library std already links; there is no libc crate here.
    fn atexit(callback: extern "C" fn()) -> i32;
}

extern "C" fn stop_all() {
    let groups = std::mem::take(&mut *RUNNING.lock().unwrap_or_else(|e| e.into_inner()));
    for pgid in groups {
        kill_group(pgid);
    }
}

/// TERM the group, wait up to 3 s for it to go, then KILL.
fn kill_group(pgid: u32) {
    let group = format!("-{pgid}");
    // `--` matters: procps kill reads a bare `-<pgid>` as an option and silently does nothing.
    let signal = |sig: &str| {
        Command::new("kill")
            .args([sig, "--", &group])
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    signal("-TERM");
    for _ in 0..30 {
        if !signal("-0") {
            return;
        }
        sleep(Duration::from_millis(100));
    }
    signal("-KILL");
}

/// Takes a server off the list of those to kill at exit.
fn forget(pgid: u32) {
    RUNNING
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|&p| p != pgid);
}

impl TestApp {
    /// Stops this server (its state stays in `persist_dir` for a restart).
    pub fn stop(&self) {
        forget(self.pgid);
        kill_group(self.pgid);
    }

    /// Crashes this server: SIGKILL to its whole process group (wrangler, node, workerd) at once,
    /// as a power cut or an OOM kill would — nothing gets to shut down or flush. Waits until no
    /// live process of the group is left. Its state stays in `persist_dir` for a restart.
    pub fn kill_hard(&self) {
        forget(self.pgid);
        let group = format!("-{}", self.pgid);
        let killed = Command::new("kill")
            .args(["-KILL", "--", &group])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(killed, "kill -KILL -- {group} failed");
        // Zombies (wrangler is this process's unreaped child) hold no state or port.
        for _ in 0..200 {
            if group_processes(self.pgid).iter().all(|p| p.state == 'Z') {
                return;
            }
            sleep(Duration::from_millis(50));
        }
        panic!("processes of group {} outlived SIGKILL", self.pgid);
    }

    /// The resident memory, in KiB, of this server's workerd (the process that runs the Worker),
    /// read from `/proc`; `None` when it cannot be found.
    #[allow(dead_code)] // read by examples/soak.rs only
    pub fn workerd_rss_kib(&self) -> Option<u64> {
        group_processes(self.pgid)
            .iter()
            .filter(|p| p.name == "workerd" && p.state != 'Z')
            .filter_map(|p| {
                let status = fs::read_to_string(format!("/proc/{}/status", p.pid)).ok()?;
                let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
                line.split_whitespace().nth(1)?.parse::<u64>().ok()
            })
            .max()
    }
}

/// The CPU time, in seconds, this server's workerd has used so far (user + system, from
/// `/proc/<pid>/stat`); `None` when it cannot be found.
#[allow(dead_code)] // read by examples/bench.rs only
impl TestApp {
    pub fn workerd_cpu_seconds(&self) -> Option<f64> {
        self.cpu_seconds(false)
    }

    /// [`TestApp::workerd_cpu_seconds`] of the Worker's own workerd alone, without wrangler dev's
    /// proxy (the workerd serving `address`, which forwards every request to it).
    #[allow(dead_code)] // read by examples/bench.rs only
    pub fn worker_cpu_seconds(&self) -> Option<f64> {
        self.cpu_seconds(true)
    }

    fn cpu_seconds(&self, worker_only: bool) -> Option<f64> {
        let proxy = format!("entry=127.0.0.1:{}", self.address.rsplit(':').next()?);
        let ticks: u64 = group_processes(self.pgid)
            .iter()
            .filter(|p| p.name == "workerd" && p.state != 'Z')
            .filter(|p| {
                !worker_only
                    || !fs::read_to_string(format!("/proc/{}/cmdline", p.pid))
                        .is_ok_and(|c| c.contains(&proxy))
            })
            .filter_map(|p| {
                let stat = fs::read_to_string(format!("/proc/{}/stat", p.pid)).ok()?;
                let rest = stat.rsplit_once(')')?.1;
                let fields: Vec<&str> = rest.split_whitespace().collect();
                // After the name: state is field 3, utime 14 and stime 15 (1-based).
                let utime: u64 = fields.get(11)?.parse().ok()?;
                let stime: u64 = fields.get(12)?.parse().ok()?;
                Some(utime + stime)
            })
            .sum();
        // Linux reports clock ticks of 1/100 s (USER_HZ) in /proc.
        (ticks > 0).then(|| ticks as f64 / 100.0)
    }

    /// `http://127.0.0.1:<port>` of the Worker's own workerd, behind wrangler dev's proxy (a
    /// second workerd that forwards every request): what the bench measures reads on besides
    /// `address`, as a client of the deployed Worker meets no such hop. Found as the listening
    /// socket of the workerd not serving `address` that answers `GET /api/health` as Beacon does.
    #[allow(dead_code)] // read by examples/bench.rs only
    pub fn worker_address(&self) -> Option<String> {
        let own_port = self.address.rsplit(':').next()?.to_string();
        let listening = listening_inodes();
        for p in group_processes(self.pgid) {
            if p.name != "workerd" || p.state == 'Z' {
                continue;
            }
            let Ok(cmdline) = fs::read_to_string(format!("/proc/{}/cmdline", p.pid)) else {
                continue;
            };
            if cmdline.contains(&format!("entry=127.0.0.1:{own_port}")) {
                continue;
            }
            let Ok(fds) = fs::read_dir(format!("/proc/{}/fd", p.pid)) else {
                continue;
            };
            for fd in fds.flatten() {
                let Ok(target) = fs::read_link(fd.path()) else {
                    continue;
                };
                let target = target.to_string_lossy().to_string();
                let Some(inode) = target
                    .strip_prefix("socket:[")
                    .and_then(|t| t.strip_suffix(']'))
                else {
                    continue;
                };
                let Some(port) = listening.get(inode) else {
                    continue;
                };
                let base = format!("http://127.0.0.1:{port}");
                let health = self.agent.get(&format!("{base}/api/health")).call();
                if let Ok(resp) = health {
                    let body: Value = resp.into_json().unwrap_or(Value::Null);
                    if body.get("status").is_some() {
                        return Some(base);
                    }
                }
            }
        }
        None
    }
}

/// Listening TCP sockets on 127.0.0.1 (`/proc/net/tcp`), by inode: their ports.
fn listening_inodes() -> std::collections::HashMap<String, u16> {
    let table = fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            // local_address is `HEXIP:HEXPORT`; state 0A is LISTEN; the inode is field 10.
            let (ip, port) = f.get(1)?.split_once(':')?;
            (f.get(3) == Some(&"0A") && ip == "0100007F")
                .then(|| Some((f.get(9)?.to_string(), u16::from_str_radix(port, 16).ok()?)))?
        })
        .collect()
}

/// A process as `/proc/<pid>/stat` describes it.
struct Process {
    pid: u32,
    name: String,
    state: char,
}

/// Every process whose process group is `pgid`.
fn group_processes(pgid: u32) -> Vec<Process> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = fs::read_to_string(entry.path().join("stat")).ok()?;
            // `pid (name) state ppid pgrp ...`; the name may hold spaces and parentheses.
            let (head, rest) = stat.rsplit_once(')')?;
            let name = head.split_once('(')?.1.to_string();
            let mut fields = rest.split_whitespace();
            let state = fields.next()?.chars().next()?;
            let group: u32 = fields.nth(1)?.parse().ok()?;
            (group == pgid).then_some(Process { pid, name, state })
        })
        .collect()
}

fn stop_at_exit(pgid: u32) {
    RUNNING.lock().unwrap_or_else(|e| e.into_inner()).push(pgid);
    AT_EXIT.call_once(|| {
        // SAFETY: registers a plain function with no captured state; it runs once at exit.
        let registered = unsafe { atexit(stop_all) };
        assert_eq!(registered, 0, "atexit refused the cleanup handler");
    });
    // dash's builtin kill takes `-<pgid>` (it has no `--`).
    let watchdog = format!(
        "while kill -0 {me} 2>/dev/null; do sleep 1; done; kill -TERM -{pgid} 2>/dev/null",
        me = std::process::id()
    );
    let spawned = Command::new("sh")
        .args(["-c", &watchdog])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn();
    if let Err(e) = spawned {
        eprintln!("warning: no watchdog for wrangler (pgid {pgid}): {e}");
    }
}
