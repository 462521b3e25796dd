//! Signing up, logging in and out, and asking who the caller is (`/api/auth/*`).

use crate::helpers::{app, unique, unique_email, unique_password, Auth, Member, TestResponse};
use serde_json::json;

/// The cookie's attributes after the `name=value` pair, lower-cased.
fn cookie_attributes(resp: &TestResponse) -> Vec<String> {
    let cookie = resp
        .session_cookie()
        .unwrap_or_else(|| panic!("no session cookie: {resp:?}"));
    cookie
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_ascii_lowercase())
        .collect()
}

fn max_age(attributes: &[String]) -> i64 {
    attributes
        .iter()
        .find_map(|a| a.strip_prefix("max-age="))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no Max-Age in {attributes:?}"))
}

#[test]
fn signup_creates_a_team_and_its_owner_and_signs_in() {
    let app = app();
    let (email, password) = (unique_email("signup"), unique_password());
    let resp = app.signup(&email, &password);
    let body = resp.expect(201);
    assert_eq!(body["user"]["email"], email.as_str());
    assert_eq!(body["user"]["name"], "Owner of a test team");
    assert_eq!(body["role"], "owner");
    assert!(body["user"]["id"].is_string() && body["team"]["id"].is_string());
    assert!(body["team"]["name"].is_string());

    let attributes = cookie_attributes(&resp);
    for wanted in ["path=/", "httponly", "samesite=lax"] {
        assert!(
            attributes.iter().any(|a| a == wanted),
            "{wanted}: {attributes:?}"
        );
    }
    assert!(max_age(&attributes) > 0);
    assert!(
        !attributes.iter().any(|a| a == "secure"),
        "Secure in development"
    );

    let owner = Member::from_sign_in(&resp, &password);
    let me = app.get("/api/auth/me", &owner.auth).expect(200);
    assert_eq!(me["user"], body["user"]);
    assert_eq!(me["team"], body["team"]);
    assert_eq!(me["role"], "owner");
}

#[test]
fn signup_lowercases_and_trims_the_email() {
    let app = app();
    let (email, password) = (unique_email("mixed"), unique_password());
    let shouted = format!("  {}  ", email.to_uppercase());
    let body = app.signup(&shouted, &password).expect(201);
    assert_eq!(body["user"]["email"], email.as_str());
    app.login(&email, &password).expect(200);
}

#[test]
fn signup_with_an_email_already_registered_gets_409_in_any_case() {
    let app = app();
    let team = app.signup_team();
    for email in [team.owner.email.clone(), team.owner.email.to_uppercase()] {
        app.signup(&email, &unique_password())
            .assert_error(409, "email_taken");
    }
}

#[test]
fn signup_accepts_passwords_of_8_to_1024_characters_only() {
    let app = app();
    for (length, status) in [(7, 422), (8, 201), (1024, 201), (1025, 422)] {
        let password: String = "p".repeat(length);
        let resp = app.signup(&unique_email("pwlen"), &password);
        assert_eq!(resp.status, status, "password of {length}: {resp}");
        if status == 422 {
            assert_eq!(resp.invalid_fields(), ["password"], "{resp}");
        }
    }
}

#[test]
fn signup_with_a_name_or_team_name_over_100_characters_gets_422() {
    let app = app();
    for field in ["name", "team_name"] {
        let mut body = json!({
            "email": unique_email("long"),
            "password": unique_password(),
            "name": "A person",
            "team_name": unique("team"),
        });
        body[field] = json!("n".repeat(101));
        let resp = app.post_json("/api/auth/signup", &body, &Auth::None);
        assert_eq!(resp.invalid_fields(), [field], "{resp}");
    }
}

#[test]
fn login_with_the_right_password_signs_in_with_a_new_session() {
    let app = app();
    let team = app.signup_team();
    let resp = app.login(&team.owner.email, &team.owner.password);
    let body = resp.expect(200);
    assert_eq!(body["user"]["id"], team.owner.user_id.as_str());
    assert_eq!(body["team"]["id"], team.team_id.as_str());
    assert_eq!(body["role"], "owner");
    let again = Member::from_sign_in(&resp, &team.owner.password);
    assert_ne!(
        format!("{:?}", again.auth),
        format!("{:?}", team.owner.auth)
    );
    app.get("/api/auth/me", &again.auth).expect(200);
}

#[test]
fn login_with_wrong_password_and_unknown_email_give_the_same_401() {
    let app = app();
    let team = app.signup_team();
    let wrong_password = app.login(&team.owner.email, "not the password at all");
    let unknown_email = app.login(&unique_email("nobody"), "not the password at all");
    let a = wrong_password.assert_error(401, "invalid_credentials");
    let b = unknown_email.assert_error(401, "invalid_credentials");
    assert_eq!(a["message"], b["message"]);
    assert!(wrong_password.session_cookie().is_none());
}

#[test]
fn logout_revokes_the_session_and_clears_the_cookie() {
    let app = app();
    let team = app.signup_team();
    let resp = app.post("/api/auth/logout", &team.owner.auth);
    resp.expect(204);
    let attributes = cookie_attributes(&resp);
    assert!(
        max_age(&attributes) <= 0,
        "cookie not cleared: {attributes:?}"
    );
    app.get("/api/auth/me", &team.owner.auth)
        .assert_error(401, "unauthorized");
}

#[test]
fn login_is_rate_limited_after_10_failures_for_one_email() {
    let app = app();
    let team = app.signup_team();
    let bystander = app.signup_team();
    for _ in 0..10 {
        app.login(&team.owner.email, "wrong password, again")
            .assert_error(401, "invalid_credentials");
    }
    let limited = app.login(&team.owner.email, &team.owner.password);
    limited.assert_error(429, "rate_limited");
    let retry_after: u64 = limited
        .header("retry-after")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no numeric Retry-After: {limited:?}"));
    assert!(retry_after > 0 && retry_after <= 15 * 60, "{retry_after}");
    // The limit is per email.
    app.login(&bystander.owner.email, &bystander.owner.password)
        .expect(200);
}

#[test]
fn login_lockout_holds_under_concurrency_at_most_10_wrong_passwords_get_401() {
    let app = app();
    let team = app.signup_team();
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let guesses: Vec<_> = (0..30)
            .map(|_| {
                s.spawn(|| {
                    app.login(&team.owner.email, "a wrong guess, in parallel")
                        .status
                })
            })
            .collect();
        guesses.into_iter().map(|g| g.join().unwrap_or(0)).collect()
    });
    let unauthorized = statuses.iter().filter(|&&s| s == 401).count();
    let limited = statuses.iter().filter(|&&s| s == 429).count();
    assert!(
        unauthorized <= 10,
        "{unauthorized} answered 401: {statuses:?}"
    );
    assert_eq!(unauthorized + limited, 30, "{statuses:?}");
    app.login(&team.owner.email, &team.owner.password)
        .assert_error(429, "rate_limited");
}
