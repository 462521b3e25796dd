//! Secrets are shown at most once: no password, session token, invite token or access token comes
//! back in a later answer, and none reaches the Worker's log.

use crate::helpers::{
    app, invite_token, string, unique, unique_email, unique_password, Auth, TestResponse,
};
use serde_json::json;
use std::fs;
use std::thread::sleep;
use std::time::Duration;

/// Every answer seen, and every secret with the number of answers seen when it was issued: it
/// may appear in those (the one that issued it), never in any later one.
#[derive(Default)]
struct Ledger {
    answers: Vec<TestResponse>,
    secrets: Vec<(&'static str, String, usize)>,
}

impl Ledger {
    fn record(&mut self, resp: TestResponse) -> &TestResponse {
        self.answers.push(resp);
        self.answers.last().expect("just pushed")
    }

    /// A secret the caller chose (a password): no answer may ever show it.
    fn chosen(&mut self, label: &'static str, value: &str) {
        self.secrets.push((label, value.to_string(), 0));
    }

    /// A secret the last recorded answer handed out.
    fn issued(&mut self, label: &'static str, value: &str) {
        let seen = self.answers.len();
        self.secrets.push((label, value.to_string(), seen));
    }

    fn assert_no_answer_repeats_a_secret(&self) {
        for (label, value, issued_at) in &self.secrets {
            for later in &self.answers[*issued_at..] {
                assert!(
                    !later.body.contains(value),
                    "{label} in a later answer: {later}"
                );
            }
        }
    }

    fn assert_the_log_holds_no_secret(&self, log: &str) {
        for (label, value, _) in &self.secrets {
            assert!(!log.contains(value), "{label} found in the wrangler log");
        }
    }
}

fn session(resp: &TestResponse) -> String {
    resp.session_token()
        .unwrap_or_else(|| panic!("no session cookie: {resp}"))
}

#[test]
fn no_secret_appears_in_a_later_answer_or_in_the_log() {
    let app = app();
    let mut ledger = Ledger::default();
    let (email, password) = (unique_email("secretive"), unique_password());
    ledger.chosen("the owner's password", &password);

    let signed_up = ledger.record(app.signup(&email, &password));
    let signup_session = session(signed_up);
    ledger.issued("the signup session", &signup_session);
    let logged_in = ledger.record(app.login(&email, &password));
    let login_session = session(logged_in);
    ledger.issued("the login session", &login_session);
    let owner = Auth::Cookie(login_session);

    let invite_body = json!({"email": unique_email("invitee"), "role": "member"});
    let invited = ledger.record(app.post_json("/api/team/invites", &invite_body, &owner));
    let invite = invite_token(&string(&invited.json()["invite_url"]));
    ledger.issued("the invite token", &invite);

    let invitee_password = unique_password();
    ledger.chosen("the invitee's password", &invitee_password);
    let joined = ledger.record(app.accept_invite(&invite, &invitee_password));
    let invitee_session = session(joined);
    ledger.issued("the invitee's session", &invitee_session);
    let invitee = Auth::Cookie(invitee_session);

    let token_body = json!({"name": unique("secret-token"), "role": "member"});
    let created = ledger.record(app.post_json("/api/access-tokens", &token_body, &owner));
    let token = string(&created.json()["token"]);
    ledger.issued("the access token", &token);
    let bearer = Auth::Bearer(token);

    for auth in [&owner, &invitee, &bearer, &Auth::Cookie(signup_session)] {
        for path in [
            "/api/auth/me",
            "/api/team",
            "/api/team/members",
            "/api/team/invites",
            "/api/team/activity",
            "/api/access-tokens",
            "/api/health",
        ] {
            ledger.record(app.get(path, auth));
        }
    }
    ledger.record(app.accept_invite(&invite, &unique_password()));
    ledger.record(app.login(&email, "a wrong password for the log"));
    ledger.record(app.post("/api/auth/logout", &invitee));
    ledger.assert_no_answer_repeats_a_secret();

    sleep(Duration::from_secs(2)); // let wrangler flush its log
    let log = fs::read_to_string(&app.log_path).expect("the wrangler log");
    assert!(!log.is_empty(), "the wrangler log is empty");
    ledger.assert_the_log_holds_no_secret(&log);
}
