//! Mail through an HTTP email API (`MAILER=resend`, pointed at the stand-in's Resend-format
//! `POST /emails`), on a server of its own because it changes the deployment's configuration:
//! `make test` runs it after the rest, with the master-key tests, one at a time.

use crate::helpers::*;
use serde_json::Value;
use std::fs;
use std::thread::sleep;
use std::time::{Duration, Instant};

fn sent_to(email: &str) -> Vec<Recorded> {
    stand_in()
        .requests_with(email)
        .into_iter()
        .filter(|r| r.path == "/emails")
        .collect()
}

fn outbox_row(app: &TestApp, email: &str) -> Value {
    let out = app.sql(&format!(
        "SELECT body, sent_at, attempts, next_attempt_at, last_error, provider_id FROM outbox WHERE to_email = '{email}'"
    ));
    out[0]["results"][0].clone()
}

/// Polls the outbox (the send happens after the response) until `done` holds, for 30 s.
fn wait_for_row(app: &TestApp, email: &str, done: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let row = outbox_row(app, email);
        if done(&row) {
            return row;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "outbox row for {email} never got there: {row}"
        );
        sleep(Duration::from_millis(200));
    }
}

#[test]
fn invites_go_out_through_the_email_api_and_a_failed_send_is_retried_by_the_tick() {
    let url = format!("{}/emails", stand_in().base_url);
    let app = TestApp::start_with(
        &[
            ("MAILER", "resend"),
            ("RESEND_API_KEY", RESEND_KEY),
            ("MAIL_FROM", "Beacon <beacon@example.test>"),
            ("MAIL_API_URL", &url),
        ],
        None,
    );
    let team = app.signup_team();
    let auth = &team.owner.auth;

    // Sent after the response, in Resend's format, with the link that works.
    let email = unique_email("mailed");
    let invite = app.invite(auth, &email, "member");
    let row = wait_for_row(&app, &email, |r| r["sent_at"].is_i64());
    let sent = sent_to(&email);
    assert_eq!(sent.len(), 1, "{sent:?}");
    let request = &sent[0];
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {RESEND_KEY}").as_str())
    );
    let body: Value = serde_json::from_str(&request.body).unwrap();
    assert_eq!(body["from"], "Beacon <beacon@example.test>");
    assert_eq!(body["to"], serde_json::json!([email]));
    assert!(body["subject"].as_str().unwrap().contains("invited"));
    assert!(body["text"].as_str().unwrap().contains(&invite.token));
    // Sent: the single-use link is no longer kept.
    assert_eq!(row["body"], "", "{row}");
    assert_eq!(row["attempts"], 1);
    assert!(row["provider_id"].is_string(), "{row}");
    app.accept_invite(&invite.token, &unique_password())
        .expect(200);

    // The API fails the first time: the message waits with its error, and the tick sends it.
    let flaky = unique_email("fail-once");
    app.invite(auth, &flaky, "viewer");
    let row = wait_for_row(&app, &flaky, |r| r["attempts"] == 1);
    assert_eq!(row["sent_at"], Value::Null, "{row}");
    assert!(row["next_attempt_at"].is_i64(), "{row}");
    assert_eq!(row["last_error"], "the email API answered HTTP 500");
    assert_ne!(row["body"], "", "kept until sent: {row}");
    app.sql(&format!(
        "UPDATE outbox SET next_attempt_at = 0 WHERE to_email = '{flaky}'"
    ));
    let tick = app.get("/__scheduled?cron=*+*+*+*+*", &Auth::None);
    assert_eq!(tick.status, 200);
    let row = wait_for_row(&app, &flaky, |r| r["sent_at"].is_i64());
    assert_eq!(
        (row["attempts"].as_i64(), row["body"].as_str()),
        (Some(2), Some(""))
    );
    assert_eq!(sent_to(&flaky).len(), 2);

    // Neither the API key nor an invite token is in the log.
    sleep(Duration::from_secs(2));
    let log = fs::read_to_string(&app.log_path).expect("the wrangler log");
    assert!(log.contains("mail outbox="), "the sends are logged");
    assert!(!log.contains(RESEND_KEY), "the email API key is in the log");
    assert!(
        !log.contains(&invite.token),
        "an invite token is in the log"
    );
    app.stop();
}
