//! Requests to the server: credentials, raw and JSON bodies, and whole responses with the
//! assertions most tests need (status, error envelope, 422 details, session cookie).

use super::server::request_gate;
use super::TestApp;
use serde_json::Value;

/// How a request proves who sends it.
#[derive(Clone, Debug)]
pub enum Auth {
    None,
    /// The session token, sent as `Cookie: beacon_session=<token>`.
    Cookie(String),
    /// An access token, sent as `Authorization: Bearer <token>`.
    Bearer(String),
}

impl Auth {
    fn header(&self) -> Option<(&'static str, String)> {
        match self {
            Auth::None => None,
            Auth::Cookie(token) => Some(("Cookie", format!("beacon_session={token}"))),
            Auth::Bearer(token) => Some(("Authorization", format!("Bearer {token}"))),
        }
    }
}

pub const JSON: &str = "application/json";

impl TestApp {
    pub fn get(&self, path: &str, auth: &Auth) -> TestResponse {
        self.send("GET", path, None, None, auth)
    }

    pub fn delete(&self, path: &str, auth: &Auth) -> TestResponse {
        self.send("DELETE", path, None, None, auth)
    }

    /// A POST without a body (logout).
    pub fn post(&self, path: &str, auth: &Auth) -> TestResponse {
        self.send("POST", path, Some(b""), None, auth)
    }

    pub fn post_json(&self, path: &str, body: &Value, auth: &Auth) -> TestResponse {
        self.send_json("POST", path, body, auth)
    }

    pub fn patch_json(&self, path: &str, body: &Value, auth: &Auth) -> TestResponse {
        self.send_json("PATCH", path, body, auth)
    }

    pub fn put_json(&self, path: &str, body: &Value, auth: &Auth) -> TestResponse {
        self.send_json("PUT", path, body, auth)
    }

    pub fn post_raw(
        &self,
        path: &str,
        body: &[u8],
        content_type: Option<&str>,
        auth: &Auth,
    ) -> TestResponse {
        self.send("POST", path, Some(body), content_type, auth)
    }

    pub fn send_json(&self, method: &str, path: &str, body: &Value, auth: &Auth) -> TestResponse {
        let bytes = body.to_string().into_bytes();
        self.send(method, path, Some(&bytes), Some(JSON), auth)
    }

    /// Any method, with an optional raw body, content type and credentials.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        content_type: Option<&str>,
        auth: &Auth,
    ) -> TestResponse {
        with_headers(auth, content_type, |headers| {
            self.request(method, path, headers, body)
        })
    }

    /// The bottom of every helper: 4xx and 5xx are answers like any other, redirects are not
    /// followed, only a failure to talk to the server panics.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> TestResponse {
        let _gate = request_gate();
        let first = self.send_once(method, path, headers, body);
        // wrangler dev's local proxy (not the Worker) answers this when workerd drops a
        // connection under heavy load; the request never reached a handler, so it is sent again
        // once rather than failing an unrelated assertion. Our Worker never produces this body.
        if first.status == 503 && first.body.contains("Your worker restarted mid-request") {
            eprintln!(
                "{method} {path}: wrangler's proxy reported a runtime restart; sending once more"
            );
            std::thread::sleep(std::time::Duration::from_millis(500));
            return self.send_once(method, path, headers, body);
        }
        first
    }

    fn send_once(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> TestResponse {
        self.try_send_once(method, path, headers, body)
            .unwrap_or_else(|e| panic!("{e}\n{}", self.log_tail()))
    }

    /// A JSON request that reports a server that does not answer (killed, restarting) as `Err`
    /// instead of panicking, for the fault tests and the load drivers. Sent once, never retried.
    pub fn try_send_json(
        &self,
        method: &str,
        path: &str,
        body: &Value,
        auth: &Auth,
    ) -> Result<TestResponse, String> {
        let bytes = body.to_string().into_bytes();
        let _gate = request_gate();
        with_headers(auth, Some(JSON), |headers| {
            self.try_send_once(method, path, headers, Some(&bytes))
        })
    }

    /// A GET sent to `base` (another address of this server: `TestApp::worker_address`) instead
    /// of `address`.
    #[allow(dead_code)] // read by examples/bench.rs only
    pub fn get_at(&self, base: &str, path: &str, auth: &Auth) -> TestResponse {
        let _gate = request_gate();
        with_headers(auth, None, |headers| {
            self.try_send_at(base, "GET", path, headers, None)
        })
        .unwrap_or_else(|e| panic!("{e}\n{}", self.log_tail()))
    }

    fn try_send_once(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<TestResponse, String> {
        self.try_send_at(&self.address, method, path, headers, body)
    }

    fn try_send_at(
        &self,
        base: &str,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<TestResponse, String> {
        let url = format!("{base}{path}");
        let mut req = self.agent.request(method, &url);
        for (name, value) in headers {
            req = req.set(name, value);
        }
        let result = match body {
            Some(bytes) => req.send_bytes(bytes),
            None => req.call(),
        };
        match result {
            Ok(resp) | Err(ureq::Error::Status(_, resp)) => {
                TestResponse::try_read(format!("{method} {path}"), resp)
            }
            Err(e) => Err(format!("{method} {path}: no answer: {e}")),
        }
    }
}

/// Calls `send` with the credentials' header and the content type, when there are any.
fn with_headers<T>(
    auth: &Auth,
    content_type: Option<&str>,
    send: impl FnOnce(&[(&str, &str)]) -> T,
) -> T {
    let credentials = auth.header();
    let mut headers: Vec<(&str, &str)> = Vec::new();
    if let Some((name, value)) = &credentials {
        headers.push((name, value));
    }
    if let Some(content_type) = content_type {
        headers.push(("Content-Type", content_type));
    }
    send(&headers)
}

/// A response, read whole.
#[derive(Debug)]
pub struct TestResponse {
    /// `METHOD /path`, for failure messages.
    pub request: String,
    pub status: u16,
    /// Lower-cased names.
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// The body as sent (protobuf answers are not UTF-8).
    pub bytes: Vec<u8>,
}

impl TestResponse {
    fn try_read(request: String, resp: ureq::Response) -> Result<TestResponse, String> {
        let status = resp.status();
        let mut names = resp.headers_names();
        names.sort();
        names.dedup();
        let headers = names
            .iter()
            .flat_map(|name| {
                resp.all(name)
                    .into_iter()
                    .map(|v| (name.clone(), v.to_string()))
            })
            .collect();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut resp.into_reader(), &mut bytes)
            .map_err(|e| format!("{request}: reading the body: {e}"))?;
        let body = String::from_utf8_lossy(&bytes).into_owned();
        Ok(TestResponse {
            request,
            status,
            headers,
            body,
            bytes,
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers_named(name).into_iter().next()
    }

    pub fn headers_named(&self, name: &str) -> Vec<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| {
            panic!(
                "{} ({}): body is not JSON ({e}): {:?}",
                self.request, self.status, self.body
            )
        })
    }

    /// Asserts the status and returns the JSON body (`Null` when the body is empty).
    pub fn expect(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "{self}");
        if self.body.is_empty() {
            Value::Null
        } else {
            self.json()
        }
    }

    /// Asserts the status and the error envelope `{"error": {"code", "message", ...}}`; returns
    /// the `error` object.
    pub fn assert_error(&self, status: u16, code: &str) -> Value {
        assert_eq!(
            (self.status, self.code()),
            (status, code.to_string()),
            "{self}"
        );
        let error = self.json()["error"].clone();
        let message = error["message"].as_str().unwrap_or("");
        assert!(!message.trim().is_empty(), "no message: {self}");
        let content_type = self.header("content-type").unwrap_or("");
        assert!(content_type.starts_with(JSON), "content type: {self}");
        error
    }

    /// The error code, or `""` when the body is not an error envelope.
    pub fn code(&self) -> String {
        let body: Value = serde_json::from_str(&self.body).unwrap_or(Value::Null);
        body["error"]["code"].as_str().unwrap_or("").to_string()
    }

    /// The fields a 422 names in `details`.
    pub fn invalid_fields(&self) -> Vec<String> {
        let error = self.assert_error(422, "validation_failed");
        let details = error["details"]
            .as_array()
            .unwrap_or_else(|| panic!("422 without a details list: {self}"));
        details
            .iter()
            .map(|d| d["field"].as_str().unwrap_or("").to_string())
            .collect()
    }

    /// The token from `Set-Cookie: beacon_session=<token>; ...`.
    pub fn session_token(&self) -> Option<String> {
        self.session_cookie().map(|c| {
            let pair = c.split(';').next().unwrap_or("");
            pair.trim_start_matches("beacon_session=").to_string()
        })
    }

    /// The whole `Set-Cookie` value for the session.
    pub fn session_cookie(&self) -> Option<&str> {
        self.headers_named("set-cookie")
            .into_iter()
            .find(|c| c.starts_with("beacon_session="))
    }
}

impl std::fmt::Display for TestResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let body: String = self.body.chars().take(2000).collect();
        write!(f, "{} -> {}: {body}", self.request, self.status)
    }
}
