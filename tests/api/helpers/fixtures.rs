//! Fixtures: unique names, fresh teams, members of any role, invites and access tokens, and
//! walking a list page by page.

use super::server::now_millis;
use super::{Auth, TestApp, TestResponse};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A string no other test (of this or an earlier run) uses.
pub fn unique(prefix: &str) -> String {
    static RUN: OnceLock<String> = OnceLock::new();
    let run = RUN.get_or_init(|| format!("{}-{}", std::process::id(), now_millis()));
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    format!("{prefix}-{run}-{n}")
}

pub fn unique_email(prefix: &str) -> String {
    format!("{}@example.test", unique(prefix))
}

pub fn unique_password() -> String {
    format!("correct horse battery staple {}", unique("pw"))
}

/// A signed-in person.
#[derive(Clone, Debug)]
pub struct Member {
    pub user_id: String,
    pub email: String,
    pub password: String,
    pub auth: Auth,
}

impl Member {
    /// From a signup, login or accept-invite answer (200 or 201) with its session cookie.
    pub fn from_sign_in(resp: &TestResponse, password: &str) -> Member {
        assert!(matches!(resp.status, 200 | 201), "{resp}");
        let body = resp.json();
        let token = resp
            .session_token()
            .unwrap_or_else(|| panic!("no session cookie: {resp:?}"));
        Member {
            user_id: string(&body["user"]["id"]),
            email: string(&body["user"]["email"]),
            password: password.to_string(),
            auth: Auth::Cookie(token),
        }
    }
}

/// A team signed up for one test, and its owner.
#[derive(Clone, Debug)]
pub struct TeamCtx {
    pub team_id: String,
    pub owner: Member,
}

impl TeamCtx {
    /// A new member with `role`, invited by the owner.
    pub fn member(&self, app: &TestApp, role: &str) -> Member {
        let invite = app.invite(&self.owner.auth, &unique_email(role), role);
        let password = unique_password();
        Member::from_sign_in(&app.accept_invite(&invite.token, &password), &password)
    }
}

/// An invite as its creator saw it.
#[derive(Clone, Debug)]
pub struct Invite {
    pub id: String,
    pub email: String,
    pub token: String,
}

/// A new access token.
#[derive(Clone, Debug)]
pub struct Token {
    pub id: String,
    pub token: String,
}

impl Token {
    pub fn auth(&self) -> Auth {
        Auth::Bearer(self.token.clone())
    }
}

impl TestApp {
    pub fn signup(&self, email: &str, password: &str) -> TestResponse {
        let body = json!({
            "email": email,
            "password": password,
            "name": "Owner of a test team",
            "team_name": unique("team"),
        });
        self.post_json("/api/auth/signup", &body, &Auth::None)
    }

    pub fn signup_team(&self) -> TeamCtx {
        let password = unique_password();
        let resp = self.signup(&unique_email("owner"), &password);
        resp.expect(201);
        TeamCtx {
            team_id: string(&resp.json()["team"]["id"]),
            owner: Member::from_sign_in(&resp, &password),
        }
    }

    /// A fresh team and a member of it with `role` (the owner when `role` is "owner").
    pub fn as_role(&self, role: &str) -> (TeamCtx, Member) {
        let team = self.signup_team();
        let member = match role {
            "owner" => team.owner.clone(),
            _ => team.member(self, role),
        };
        (team, member)
    }

    pub fn login(&self, email: &str, password: &str) -> TestResponse {
        let body = json!({"email": email, "password": password});
        self.post_json("/api/auth/login", &body, &Auth::None)
    }

    /// Creates an invite, asserting 201, and reads its token out of `invite_url`.
    pub fn invite(&self, by: &Auth, email: &str, role: &str) -> Invite {
        let body = json!({"email": email, "role": role});
        let invite = self.post_json("/api/team/invites", &body, by).expect(201);
        Invite {
            id: string(&invite["id"]),
            email: string(&invite["email"]),
            token: invite_token(&string(&invite["invite_url"])),
        }
    }

    pub fn accept_invite(&self, token: &str, password: &str) -> TestResponse {
        let body = json!({"token": token, "name": "Invited person", "password": password});
        self.post_json("/api/auth/accept-invite", &body, &Auth::None)
    }

    /// Creates an access token, asserting 201.
    pub fn create_token(&self, by: &Auth, role: &str) -> Token {
        let body = json!({"name": unique("token"), "role": role});
        let token = self.post_json("/api/access-tokens", &body, by).expect(201);
        Token {
            id: string(&token["id"]),
            token: string(&token["token"]),
        }
    }

    /// Walks a list route one item at a time by `next_cursor`; returns every item.
    pub fn walk(&self, path: &str, auth: &Auth) -> Vec<Value> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page_path = match &cursor {
                Some(c) => format!("{path}?limit=1&cursor={}", query_escape(c)),
                None => format!("{path}?limit=1"),
            };
            let page = self.get(&page_path, auth).expect(200);
            let data = page["data"].as_array().expect("data is a list").clone();
            assert!(data.len() <= 1, "limit=1 gave {} items", data.len());
            items.extend(data);
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_string()),
                None => {
                    assert!(page["next_cursor"].is_null(), "next_cursor: {page}");
                    return items;
                }
            }
            assert!(items.len() < 1000, "paging does not end");
        }
    }
}

/// The token query parameter of an `invite_url`.
pub fn invite_token(invite_url: &str) -> String {
    let (_, query) = invite_url
        .split_once("token=")
        .unwrap_or_else(|| panic!("no token in invite_url {invite_url:?}"));
    query.split('&').next().unwrap_or("").to_string()
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn query_escape(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A JSON string value, or a panic naming what was there instead.
pub fn string(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("expected a string, got {value}"))
        .to_string()
}

/// The `id`s of a list's items.
pub fn ids(items: &[Value]) -> Vec<String> {
    items.iter().map(|item| string(&item["id"])).collect()
}
