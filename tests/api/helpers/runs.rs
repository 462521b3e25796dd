//! Fixtures for workflows and their runs: a provider key at the stand-in, workflows, executing
//! them, waiting for a terminal status, and reading the live stream.

use super::{stand_in, string, unique, Auth, TestApp, OPENAI_KEY};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read};
use std::thread::sleep;
use std::time::{Duration, Instant};

pub const TERMINAL: [&str; 4] = ["succeeded", "failed", "cancelled", "timed_out"];

impl TestApp {
    /// A provider key of `service` at the stand-in provider; answers its id.
    pub fn add_key(&self, auth: &Auth, service: &str, key: &str) -> String {
        let body = json!({"name": unique("key"), "service": service, "key": key, "base_url": stand_in().base_url});
        string(&self.post_json("/api/keys", &body, auth).expect(201)["id"])
    }

    /// An OpenAI-compatible key the stand-in accepts.
    pub fn openai_key(&self, auth: &Auth) -> String {
        self.add_key(auth, "openai_compatible", OPENAI_KEY)
    }

    /// Creates a workflow from its steps; answers the created object.
    pub fn create_workflow(&self, auth: &Auth, steps: Value) -> Value {
        let body = json!({"name": unique("workflow"), "steps": steps});
        self.post_json("/api/workflows", &body, auth).expect(201)
    }

    /// A one-step workflow that GETs `path` on the stand-in endpoint (`/hook` answers 200,
    /// `/hook/fail` 503); answers its id.
    pub fn hook_workflow(&self, auth: &Auth, path: &str) -> String {
        let steps = json!([{"id": "a", "kind": "http", "method": "GET", "url": format!("{}{path}", stand_in().base_url)}]);
        string(&self.create_workflow(auth, steps)["id"])
    }

    /// Executes a workflow; answers the execution id.
    pub fn execute(&self, auth: &Auth, workflow_id: &str, input: Value) -> String {
        let resp = self.post_json(
            &format!("/api/workflows/{workflow_id}/execute"),
            &json!({"input": input}),
            auth,
        );
        string(&resp.expect(202)["execution_id"])
    }

    /// Polls an execution until `done` says so (60 s at most); answers its last detail.
    pub fn wait_until(
        &self,
        auth: &Auth,
        execution_id: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let started = Instant::now();
        loop {
            let detail = self
                .get(&format!("/api/executions/{execution_id}"), auth)
                .expect(200);
            if done(&detail) {
                return detail;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "execution did not get there: {detail}\n{}",
                self.log_tail()
            );
            sleep(Duration::from_millis(150));
        }
    }

    /// Polls until the execution is finished, whatever the outcome.
    pub fn wait_finished(&self, auth: &Auth, execution_id: &str) -> Value {
        self.wait_until(auth, execution_id, |d| {
            TERMINAL.contains(&d["status"].as_str().unwrap_or(""))
        })
    }

    /// Opens a Server-Sent Events stream (outside the SQL gate: it stays open).
    pub fn open_stream(&self, path: &str, auth: &Auth, last_event_id: Option<&str>) -> EventStream {
        let mut req = self
            .agent
            .get(&format!("{}{path}", self.address))
            .timeout(Duration::from_secs(30));
        match auth {
            Auth::Cookie(token) => req = req.set("Cookie", &format!("beacon_session={token}")),
            Auth::Bearer(token) => req = req.set("Authorization", &format!("Bearer {token}")),
            Auth::None => {}
        }
        if let Some(id) = last_event_id {
            req = req.set("Last-Event-ID", id);
        }
        let resp = req.call().unwrap_or_else(|e| panic!("GET {path}: {e}"));
        assert_eq!(resp.content_type(), "text/event-stream");
        EventStream {
            reader: BufReader::new(Box::new(resp.into_reader())),
        }
    }
}

/// One Server-Sent Event.
#[derive(Debug, Clone)]
pub struct Sse {
    pub id: Option<String>,
    pub event: Option<String>,
    pub data: Value,
}

pub struct EventStream {
    reader: BufReader<Box<dyn Read + Send + Sync>>,
}

impl EventStream {
    /// The next event (comments and `retry:` lines skipped).
    pub fn next_event(&mut self) -> Sse {
        let (mut id, mut event, mut data) = (None, None, String::new());
        loop {
            let mut line = String::new();
            let n = self
                .reader
                .read_line(&mut line)
                .expect("reading the stream");
            assert!(n > 0, "the stream ended");
            let line = line.trim_end_matches(['\r', '\n']);
            if line.is_empty() {
                if !data.is_empty() {
                    return Sse {
                        id,
                        event,
                        data: serde_json::from_str(&data).expect("event data is JSON"),
                    };
                }
                continue;
            }
            if let Some(v) = line.strip_prefix("id: ") {
                id = Some(v.to_string());
            } else if let Some(v) = line.strip_prefix("event: ") {
                event = Some(v.to_string());
            } else if let Some(v) = line.strip_prefix("data: ") {
                data.push_str(v);
            }
        }
    }

    /// Reads on until the server ends the stream: `true` if it did (before the request's 30 s
    /// timeout), `false` if reading failed first.
    pub fn ends(&mut self) -> bool {
        let mut rest = Vec::new();
        self.reader.read_to_end(&mut rest).is_ok()
    }

    /// Reads events until one satisfies `wanted` (at most 200 events).
    pub fn until(&mut self, wanted: impl Fn(&Sse) -> bool) -> Sse {
        for _ in 0..200 {
            let e = self.next_event();
            if wanted(&e) {
                return e;
            }
        }
        panic!("no wanted event in 200");
    }
}
