//! Abuse and hardening of what crosses the Worker's edge: bodies held to their limit while they
//! stream in (both ways), and redirects of outbound calls checked hop by hop.

use crate::helpers::{app, other_origin, stand_in, string, unique};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Sends `size` bytes of a chunked body to `path` and leaves the body unfinished; answers the
/// status line the server sent back (or what went wrong).
fn unfinished_chunked_post(path: &str, size: usize) -> String {
    let address = app().address.trim_start_matches("http://").to_string();
    let mut stream = TcpStream::connect(&address).expect("connect to the test server");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("read timeout");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    if stream.write_all(head.as_bytes()).is_err() {
        return "the server closed the connection early".into();
    }
    let chunk = format!("{:x}\r\n{}\r\n", 16 * 1024, " ".repeat(16 * 1024));
    for _ in 0..size / (16 * 1024) {
        if stream.write_all(chunk.as_bytes()).is_err() {
            break;
        }
    }
    // No terminating chunk: a server that reads the whole body first never answers.
    let mut answer = [0u8; 64];
    match stream.read(&mut answer) {
        Ok(n) => String::from_utf8_lossy(&answer[..n])
            .lines()
            .next()
            .unwrap_or("")
            .to_string(),
        Err(e) => format!("no answer: {e}"),
    }
}

#[test]
fn a_chunked_body_past_the_limit_gets_413_before_it_ends() {
    let status_line = unfinished_chunked_post("/api/auth/login", 512 * 1024);
    assert!(status_line.contains(" 413"), "{status_line}");
}

fn run_http_step(url: String, headers: Value) -> Value {
    let app = app();
    let team = app.signup_team();
    let steps =
        json!([{"id": "a", "kind": "http", "method": "GET", "url": url, "headers": headers}]);
    let workflow = app.create_workflow(&team.owner.auth, steps);
    let execution = app.execute(
        &team.owner.auth,
        &string(&workflow["id"]),
        json!({"marker": unique("m")}),
    );
    app.wait_finished(&team.owner.auth, &execution)
}

#[test]
fn a_response_without_content_length_is_cut_off_at_1_mib() {
    let detail = run_http_step(format!("{}/hook/endless", stand_in().base_url), json!({}));
    assert_eq!(detail["status"], "failed", "{detail}");
    assert_eq!(detail["error"]["type"], "response_too_large", "{detail}");
}

#[test]
fn every_redirect_hop_is_checked_like_the_first_url() {
    // The outbound check refuses URLs that carry credentials; a redirect to one is refused too.
    let base = stand_in()
        .base_url
        .trim_start_matches("http://")
        .to_string();
    let url = format!(
        "{}/hook/redirect-to/user:secret@{base}/hook",
        stand_in().base_url
    );
    let detail = run_http_step(url, json!({}));
    assert_eq!(detail["status"], "failed", "{detail}");
    assert_eq!(detail["error"]["type"], "blocked_url", "{detail}");
}

#[test]
fn a_redirect_to_another_origin_does_not_carry_the_steps_headers() {
    let url = format!(
        "{}/hook/redirect-to/{}/hook/headers",
        stand_in().base_url,
        other_origin()
    );
    let detail = run_http_step(
        url,
        json!({"x-service-token": "s3cret-for-the-first-origin"}),
    );
    assert_eq!(detail["status"], "succeeded", "{detail}");
    let output = detail["steps"][0]["output"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(output.contains("host"), "{detail}");
    assert!(!output.contains("s3cret-for-the-first-origin"), "{output}");
}

#[test]
fn a_redirect_within_the_origin_keeps_working() {
    let base = stand_in()
        .base_url
        .trim_start_matches("http://")
        .to_string();
    let url = format!(
        "{}/hook/redirect-to/{base}/hook/headers",
        stand_in().base_url
    );
    let detail = run_http_step(url, json!({"x-service-token": "kept-on-the-same-origin"}));
    assert_eq!(detail["status"], "succeeded", "{detail}");
    let output = detail["steps"][0]["output"].as_str().unwrap_or("");
    assert!(output.contains("kept-on-the-same-origin"), "{detail}");
}
