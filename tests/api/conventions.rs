//! The rules every route follows (spec, "Conventions"), checked from tables of routes: bad bodies,
//! missing or bad credentials, roles too low, unknown and foreign ids, list parameters, the
//! request id.

use crate::helpers::{app, unique, unique_email, Auth, TeamCtx, TestApp, TestResponse, JSON};
use serde_json::{json, Value};

const ROLES: [&str; 4] = ["viewer", "member", "admin", "owner"];
const UNKNOWN_UUID: &str = "0190a5b0-0000-7000-8000-000000000000";
const LIST_PATHS: [&str; 13] = [
    "/api/keys",
    "/api/notifications",
    "/api/schedules",
    "/api/workflows",
    "/api/executions",
    "/api/team/members",
    "/api/team/invites",
    "/api/team/activity",
    "/api/access-tokens",
    "/api/telemetry/metrics/checkout",
    "/api/analytics/components",
    "/api/errors",
    "/api/traces",
];
/// Every route but one takes bodies up to 256 KiB; telemetry batches up to 1 MiB.
const BODY_LIMIT: usize = 256 * 1024;
const BATCH_BODY_LIMIT: usize = 1024 * 1024;

/// One request to make: a method, a path and, for JSON routes, a body.
struct Call {
    method: &'static str,
    path: String,
    body: Option<Value>,
}

fn call(method: &'static str, path: &str, body: Option<Value>) -> Call {
    let path = path.to_string();
    Call { method, path, body }
}

impl Call {
    fn send(&self, app: &TestApp, auth: &Auth) -> TestResponse {
        match (&self.body, self.method) {
            (Some(body), _) => app.send_json(self.method, &self.path, body, auth),
            (None, "POST") => app.post(&self.path, auth),
            (None, _) => app.send(self.method, &self.path, None, None, auth),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Bad bodies, on every route that takes a JSON object

/// A JSON route, credentials that may call it, the fields it requires and its body limit.
struct JsonRoute {
    method: &'static str,
    path: String,
    auth: Auth,
    fields: &'static [&'static str],
    limit: usize,
}

impl JsonRoute {
    fn send(&self, app: &TestApp, body: &[u8], content_type: &str) -> TestResponse {
        app.send(
            self.method,
            &self.path,
            Some(body),
            Some(content_type),
            &self.auth,
        )
    }
}

fn json_routes(app: &TestApp) -> Vec<JsonRoute> {
    let (team, viewer) = app.as_role("viewer");
    let owner = team.owner.auth;
    let route = |method, path: &str, auth: &Auth, fields| JsonRoute {
        method,
        path: path.to_string(),
        auth: auth.clone(),
        fields,
        limit: if path == "/api/telemetry/batch" {
            BATCH_BODY_LIMIT
        } else {
            BODY_LIMIT
        },
    };
    let member_path = format!("/api/team/members/{}", viewer.user_id);
    let signup_fields = &["email", "password", "name", "team_name"];
    vec![
        route("POST", "/api/auth/signup", &Auth::None, signup_fields),
        route(
            "POST",
            "/api/auth/login",
            &Auth::None,
            &["email", "password"],
        ),
        route(
            "POST",
            "/api/auth/accept-invite",
            &Auth::None,
            &["token", "name", "password"],
        ),
        route("PATCH", "/api/team", &owner, &["name"]),
        route(
            "PUT",
            "/api/team/retention",
            &owner,
            &["events_days", "traces_days", "executions_days"],
        ),
        route("POST", "/api/team/erase", &owner, &["user_id"]),
        route("PATCH", &member_path, &owner, &["role"]),
        route("POST", "/api/team/invites", &owner, &["email", "role"]),
        route("POST", "/api/access-tokens", &owner, &["name", "role"]),
        route("POST", "/api/workflows", &owner, &["name", "steps"]),
        route(
            "PATCH",
            &format!("/api/workflows/{}", workflow(app, &owner)),
            &owner,
            &[],
        ),
        route(
            "POST",
            &format!("/api/workflows/{}/execute", workflow(app, &owner)),
            &owner,
            &[],
        ),
        route("POST", "/api/schedules", &owner, &["workflow_id", "cron"]),
        route(
            "PATCH",
            &format!("/api/schedules/{}", schedule(app, &owner)),
            &owner,
            &[],
        ),
        route(
            "PUT",
            "/api/notifications/preferences",
            &owner,
            &["categories", "notify_success"],
        ),
        route("POST", "/api/keys", &owner, &["name", "service", "key"]),
        route("PUT", "/api/pricing", &owner, &["overrides"]),
        // `monthly_usd` is required too, but 12345 is a valid amount.
        route("PUT", "/api/budgets", &owner, &["enforce"]),
        route("POST", "/api/errors", &owner, &["type", "message"]),
        route(
            "POST",
            &format!("/api/keys/{}/rotate", provider_key(app, &owner)),
            &owner,
            &["key"],
        ),
        route(
            "POST",
            "/api/telemetry/track",
            &owner,
            &["component", "action"],
        ),
        route("POST", "/api/telemetry/batch", &owner, &["events"]),
        // `value` is left out: the wrong-type check sends numbers, which `value` wants.
        route(
            "POST",
            "/api/telemetry/metrics",
            &owner,
            &["component", "metric_name"],
        ),
    ]
}

/// A one-step workflow of the owner's team.
fn workflow(app: &TestApp, owner: &Auth) -> String {
    let steps =
        json!([{"id": "a", "kind": "http", "method": "GET", "url": "https://example.com/"}]);
    crate::helpers::string(&app.create_workflow(owner, steps)["id"])
}

/// An hourly schedule of a workflow of the owner's team.
fn schedule(app: &TestApp, owner: &Auth) -> String {
    let body = json!({"workflow_id": workflow(app, owner), "cron": "0 * * * *"});
    crate::helpers::string(&app.post_json("/api/schedules", &body, owner).expect(201)["id"])
}

/// A provider key of the owner's team, pointing at the stand-in provider.
fn provider_key(app: &TestApp, owner: &Auth) -> String {
    let body = json!({"name": "k", "service": "openai_compatible", "key": crate::helpers::OPENAI_KEY, "base_url": crate::helpers::stand_in().base_url});
    crate::helpers::string(&app.post_json("/api/keys", &body, owner).expect(201)["id"])
}

/// Sends `body` as `content_type` to every JSON route and hands each answer to `check`.
fn on_every_json_route(body: &[u8], content_type: &str, check: impl Fn(&JsonRoute, TestResponse)) {
    let app = app();
    for route in json_routes(app) {
        check(&route, route.send(app, body, content_type));
    }
}

#[test]
fn malformed_json_gets_400_on_every_json_route() {
    on_every_json_route(br#"{"name": "#, JSON, |_, resp| {
        resp.assert_error(400, "bad_request");
    });
}

#[test]
fn an_empty_body_gets_400_on_every_json_route() {
    on_every_json_route(b"", JSON, |_, resp| {
        resp.assert_error(400, "bad_request");
    });
}

#[test]
fn a_text_plain_body_gets_415_on_every_json_route() {
    on_every_json_route(b"{}", "text/plain", |_, resp| {
        resp.assert_error(415, "unsupported_media_type");
    });
}

#[test]
fn json_with_a_charset_is_accepted_on_every_json_route() {
    // `{}` gets past the media type and the parser, then fails validation.
    on_every_json_route(b"{}", "application/json; charset=utf-8", |_, resp| {
        resp.assert_error(422, "validation_failed");
    });
}

#[test]
fn a_body_that_is_not_an_object_gets_422_on_every_json_route() {
    on_every_json_route(b"[1]", JSON, |_, resp| {
        resp.assert_error(422, "validation_failed");
    });
}

#[test]
fn missing_fields_get_422_naming_each_field_on_every_json_route() {
    on_every_json_route(b"{}", JSON, |route, resp| {
        let named = resp.invalid_fields();
        for field in route.fields {
            assert!(
                named.iter().any(|n| n == field),
                "{field} not named: {resp}"
            );
        }
    });
}

#[test]
fn wrong_typed_fields_get_422_naming_each_field_on_every_json_route() {
    let app = app();
    for route in json_routes(app) {
        let numbers: serde_json::Map<String, Value> = route
            .fields
            .iter()
            .map(|f| (f.to_string(), json!(12345)))
            .collect();
        let resp = route.send(app, Value::Object(numbers).to_string().as_bytes(), JSON);
        let named = resp.invalid_fields();
        for field in route.fields {
            assert!(
                named.iter().any(|n| n == field),
                "{field} not named: {resp}"
            );
        }
    }
}

#[test]
fn an_oversize_body_gets_413_on_every_json_route() {
    let app = app();
    for route in json_routes(app) {
        let body = json!({ "name": "x".repeat(route.limit + 1024) }).to_string();
        route
            .send(app, body.as_bytes(), JSON)
            .assert_error(413, "payload_too_large");
    }
}

// ---------------------------------------------------------------------------------------------
// Credentials

/// Every route that needs a caller, each with a body it would accept.
fn protected_routes() -> Vec<Call> {
    let body = || Some(json!({"name": "x", "role": "viewer", "email": unique_email("nobody")}));
    let id_path = |base: &str| format!("{base}/{UNKNOWN_UUID}");
    vec![
        call("GET", "/api/auth/me", None),
        call("POST", "/api/auth/logout", None),
        call("GET", "/api/team", None),
        call("PATCH", "/api/team", body()),
        call("GET", "/api/team/members", None),
        call("PATCH", &id_path("/api/team/members"), body()),
        call("DELETE", &id_path("/api/team/members"), None),
        call("GET", "/api/team/invites", None),
        call("POST", "/api/team/invites", body()),
        call("DELETE", &id_path("/api/team/invites"), None),
        call("GET", "/api/team/activity", None),
        call("GET", "/api/team/retention", None),
        call("PUT", "/api/team/retention", Some(retention())),
        call("POST", "/api/team/erase", Some(json!({"user_id": "u"}))),
        call("GET", "/api/team/storage", None),
        call("GET", "/api/access-tokens", None),
        call("POST", "/api/access-tokens", body()),
        call("DELETE", &id_path("/api/access-tokens"), None),
        call("GET", "/api/workflows", None),
        call(
            "POST",
            "/api/workflows",
            Some(json!({"name": "w", "steps": []})),
        ),
        call("GET", &id_path("/api/workflows"), None),
        call(
            "PATCH",
            &id_path("/api/workflows"),
            Some(json!({"name": "w"})),
        ),
        call("DELETE", &id_path("/api/workflows"), None),
        call(
            "POST",
            &format!("{}/execute", id_path("/api/workflows")),
            Some(json!({})),
        ),
        call("GET", "/api/executions", None),
        call("GET", "/api/executions/stream", None),
        call("GET", &id_path("/api/executions"), None),
        call(
            "POST",
            &format!("{}/cancel", id_path("/api/executions")),
            None,
        ),
        call(
            "POST",
            &format!("{}/retry", id_path("/api/executions")),
            None,
        ),
        call("GET", "/api/schedules", None),
        call("POST", "/api/schedules", Some(json!({"cron": "* * * * *"}))),
        call("GET", "/api/schedules/preview?cron=*+*+*+*+*", None),
        call("GET", &id_path("/api/schedules"), None),
        call(
            "PATCH",
            &id_path("/api/schedules"),
            Some(json!({"enabled": false})),
        ),
        call("DELETE", &id_path("/api/schedules"), None),
        call("GET", &format!("{}/runs", id_path("/api/schedules")), None),
        call("GET", "/api/notifications", None),
        call("GET", "/api/notifications/unread-count", None),
        call("GET", "/api/notifications/stream", None),
        call("POST", "/api/notifications/mark-all-read", None),
        call("GET", "/api/notifications/preferences", None),
        call(
            "PUT",
            "/api/notifications/preferences",
            Some(json!({"categories": [], "notify_success": false})),
        ),
        call(
            "POST",
            &format!("{}/read", id_path("/api/notifications")),
            None,
        ),
        call(
            "POST",
            &format!("{}/unread", id_path("/api/notifications")),
            None,
        ),
        call("DELETE", &id_path("/api/notifications"), None),
        call("GET", "/api/keys", None),
        call(
            "POST",
            "/api/keys",
            Some(json!({"name": "k", "service": "openai", "key": "sk-some-real-looking-key"})),
        ),
        call("GET", &id_path("/api/keys"), None),
        call("DELETE", &id_path("/api/keys"), None),
        call(
            "POST",
            &format!("{}/rotate", id_path("/api/keys")),
            Some(json!({"key": "sk-some-real-looking-key"})),
        ),
        call("POST", &format!("{}/test", id_path("/api/keys")), None),
        call("POST", "/api/telemetry/track", Some(telemetry_event())),
        call(
            "POST",
            "/api/telemetry/batch",
            Some(json!({"events": [telemetry_event()]})),
        ),
        call("POST", "/api/telemetry/metrics", Some(telemetry_metric())),
        call("GET", "/api/telemetry/metrics/checkout", None),
        call("GET", "/api/analytics/summary", None),
        call("GET", "/api/analytics/components", None),
        call("GET", "/api/analytics/trends", None),
        call("GET", "/api/analytics/export.csv", None),
        call("GET", &format!("{}/usage", id_path("/api/keys")), None),
        call("GET", "/api/tokens/usage", None),
        call("GET", "/api/tokens/breakdown?by=model", None),
        call("GET", "/api/tokens/export.csv", None),
        call("GET", "/api/pricing", None),
        call("PUT", "/api/pricing", Some(json!({"overrides": []}))),
        call("GET", "/api/budgets", None),
        call(
            "PUT",
            "/api/budgets",
            Some(json!({"monthly_usd": 1, "enforce": false})),
        ),
        call("GET", "/api/errors", None),
        call(
            "POST",
            "/api/errors",
            Some(json!({"type": "E", "message": "m"})),
        ),
        call("GET", "/api/errors/stats", None),
        call("GET", &id_path("/api/errors"), None),
        call("POST", &format!("{}/resolve", id_path("/api/errors")), None),
        call("POST", &format!("{}/reopen", id_path("/api/errors")), None),
        call(
            "POST",
            "/api/otlp/v1/traces",
            Some(json!({"resourceSpans": []})),
        ),
        call("GET", "/api/traces", None),
        call("GET", &format!("/api/traces/{}", "ab".repeat(16)), None),
    ]
}

fn telemetry_event() -> Value {
    json!({"component": "checkout", "action": "click"})
}

fn telemetry_metric() -> Value {
    json!({"component": "checkout", "metric_name": "load_ms", "value": 1})
}

fn assert_every_protected_route_answers_401(auth: Auth) {
    let app = app();
    for route in protected_routes() {
        route.send(app, &auth).assert_error(401, "unauthorized");
    }
}

#[test]
fn protected_routes_without_credentials_get_401() {
    assert_every_protected_route_answers_401(Auth::None);
}

#[test]
fn protected_routes_with_a_garbage_cookie_get_401() {
    assert_every_protected_route_answers_401(Auth::Cookie(unique("garbage")));
}

#[test]
fn protected_routes_with_a_garbage_bearer_token_get_401() {
    assert_every_protected_route_answers_401(Auth::Bearer(unique("garbage")));
}

// ---------------------------------------------------------------------------------------------
// Roles

/// Calls that need more than a viewer, with the least role allowed to make them.
fn restricted_calls(app: &TestApp, team: &TeamCtx, target: &str) -> Vec<(&'static str, Call)> {
    let owner_id = &team.owner.user_id;
    let invite = app.invite(&team.owner.auth, &unique_email("pending"), "viewer");
    let token = app.create_token(&team.owner.auth, "viewer");
    let member = |id: &str| format!("/api/team/members/{id}");
    let invite_as = |role| Some(json!({"email": unique_email("invitee"), "role": role}));
    let role = |role| Some(json!({ "role": role }));
    let report = json!({"type": "E", "message": unique("m")});
    let issue = app
        .post_json("/api/errors", &report, &team.owner.auth)
        .expect(201);
    let issue = |action: &str| {
        format!(
            "/api/errors/{}/{action}",
            issue["issue_id"].as_str().unwrap_or("")
        )
    };
    vec![
        (
            "admin",
            call("PUT", "/api/pricing", Some(json!({"overrides": []}))),
        ),
        (
            "admin",
            call(
                "PUT",
                "/api/budgets",
                Some(json!({"monthly_usd": 5, "enforce": false})),
            ),
        ),
        ("member", call("POST", "/api/errors", Some(report.clone()))),
        (
            "member",
            call(
                "POST",
                "/api/otlp/v1/traces",
                Some(json!({"resourceSpans": []})),
            ),
        ),
        ("member", call("POST", &issue("resolve"), None)),
        ("member", call("POST", &issue("reopen"), None)),
        (
            "admin",
            call("PATCH", "/api/team", Some(json!({"name": "Renamed"}))),
        ),
        ("admin", call("PATCH", &member(target), role("member"))),
        ("admin", call("DELETE", &member(target), None)),
        ("admin", call("GET", "/api/team/invites", None)),
        (
            "admin",
            call("POST", "/api/team/invites", invite_as("viewer")),
        ),
        (
            "admin",
            call("DELETE", &format!("/api/team/invites/{}", invite.id), None),
        ),
        ("member", call("GET", "/api/access-tokens", None)),
        (
            "member",
            call(
                "POST",
                "/api/access-tokens",
                Some(json!({"name": "t", "role": "viewer"})),
            ),
        ),
        (
            "member",
            call("DELETE", &format!("/api/access-tokens/{}", token.id), None),
        ),
        (
            "member",
            call("POST", "/api/telemetry/track", Some(telemetry_event())),
        ),
        (
            "member",
            call(
                "POST",
                "/api/telemetry/batch",
                Some(json!({"events": [telemetry_event()]})),
            ),
        ),
        (
            "member",
            call("POST", "/api/telemetry/metrics", Some(telemetry_metric())),
        ),
        (
            "owner",
            call("POST", "/api/team/invites", invite_as("owner")),
        ),
        ("owner", call("PATCH", &member(target), role("owner"))),
        ("owner", call("PATCH", &member(owner_id), role("admin"))),
        ("owner", call("DELETE", &member(owner_id), None)),
        (
            "owner",
            call("PUT", "/api/team/retention", Some(retention())),
        ),
        (
            "owner",
            call("POST", "/api/team/erase", Some(json!({"user_id": "u"}))),
        ),
    ]
}

fn retention() -> Value {
    json!({"events_days": 90, "traces_days": 30, "executions_days": 90})
}

fn rank(role: &str) -> usize {
    ROLES.iter().position(|r| *r == role).expect("a known role")
}

#[test]
fn roles_below_the_required_one_get_403_on_every_route() {
    let app = app();
    let team = app.signup_team();
    let target = team.member(app, "viewer");
    let callers: Vec<_> = ["viewer", "member", "admin"]
        .iter()
        .map(|role| (*role, team.member(app, role)))
        .collect();
    for (least, route) in restricted_calls(app, &team, &target.user_id) {
        for (role, caller) in callers.iter().filter(|(role, _)| rank(role) < rank(least)) {
            let resp = route.send(app, &caller.auth);
            assert_eq!(resp.status, 403, "as {role}: {resp}");
            resp.assert_error(403, "forbidden");
        }
    }
    // Nothing was changed by the refused calls.
    let members = app.get("/api/team/members", &team.owner.auth).expect(200);
    let roles: Vec<(&str, &str)> = members["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|m| {
            (
                m["id"].as_str().unwrap_or(""),
                m["role"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert!(
        roles.contains(&(target.user_id.as_str(), "viewer")),
        "{members}"
    );
    assert!(
        roles.contains(&(team.owner.user_id.as_str(), "owner")),
        "{members}"
    );
}

// ---------------------------------------------------------------------------------------------
// Ids

/// The ids of one team's objects, as named in paths.
struct Ids<'a> {
    member: &'a str,
    invite: &'a str,
    token: &'a str,
    key: &'a str,
    issue: &'a str,
}

/// The calls that name an object by id in their path.
fn calls_by_id(ids: &Ids) -> Vec<Call> {
    let (member_id, invite_id, token_id) = (ids.member, ids.invite, ids.token);
    let issue = |tail: &str| format!("/api/errors/{}{tail}", ids.issue);
    vec![
        call("GET", &format!("/api/keys/{}/usage", ids.key), None),
        call("GET", &issue(""), None),
        call("POST", &issue("/resolve"), None),
        call("POST", &issue("/reopen"), None),
        call(
            "PATCH",
            &format!("/api/team/members/{member_id}"),
            Some(json!({"role": "viewer"})),
        ),
        call("DELETE", &format!("/api/team/members/{member_id}"), None),
        call("DELETE", &format!("/api/team/invites/{invite_id}"), None),
        call("DELETE", &format!("/api/access-tokens/{token_id}"), None),
    ]
}

#[test]
fn ids_that_are_not_uuids_or_unknown_get_404() {
    let app = app();
    let team = app.signup_team();
    for id in ["not-a-uuid", "1", "%20", UNKNOWN_UUID] {
        let ids = Ids {
            member: id,
            invite: id,
            token: id,
            key: id,
            issue: id,
        };
        for route in calls_by_id(&ids) {
            route
                .send(app, &team.owner.auth)
                .assert_error(404, "not_found");
        }
    }
}

#[test]
fn another_teams_ids_get_404_and_stay_untouched() {
    let app = app();
    let us = app.signup_team();
    let (them, their_member) = app.as_role("member");
    let their_invite = app.invite(&them.owner.auth, &unique_email("theirs"), "viewer");
    let their_token = app.create_token(&them.owner.auth, "viewer");
    let their_key = crate::helpers::string(
        &app.post_json(
            "/api/keys",
            &json!({"name": "k", "service": "openai", "key": "sk-some-real-looking-key"}),
            &them.owner.auth,
        )
        .expect(201)["id"],
    );
    let report = json!({"type": "E", "message": "theirs"});
    let their_issue = app
        .post_json("/api/errors", &report, &them.owner.auth)
        .expect(201);
    let their_issue = crate::helpers::string(&their_issue["issue_id"]);
    let ids = Ids {
        member: &their_member.user_id,
        invite: &their_invite.id,
        token: &their_token.id,
        key: &their_key,
        issue: &their_issue,
    };
    for route in calls_by_id(&ids) {
        route
            .send(app, &us.owner.auth)
            .assert_error(404, "not_found");
    }
    let me = app.get("/api/auth/me", &their_member.auth).expect(200);
    assert_eq!(me["role"], "member");
    app.get("/api/team", &their_token.auth()).expect(200);
    let invites = app.get("/api/team/invites", &them.owner.auth).expect(200);
    assert!(invites.to_string().contains(&their_invite.id), "{invites}");
    let issue = app
        .get(&format!("/api/errors/{their_issue}"), &them.owner.auth)
        .expect(200);
    assert_eq!(issue["status"], "unresolved");
}

// ---------------------------------------------------------------------------------------------
// Lists, routing, request ids

#[test]
fn invalid_list_parameters_get_422_on_every_list() {
    let app = app();
    let team = app.signup_team();
    let bad = [
        ("limit=0", "limit"),
        ("limit=-1", "limit"),
        ("limit=abc", "limit"),
        ("cursor=garbage", "cursor"),
    ];
    for path in LIST_PATHS {
        for (query, field) in bad {
            let resp = app.get(&format!("{path}?{query}"), &team.owner.auth);
            let named = resp.invalid_fields();
            assert!(
                named.iter().any(|n| n == field),
                "{field} not named: {resp}"
            );
        }
    }
}

#[test]
fn a_limit_above_200_is_capped_on_every_list() {
    let app = app();
    let team = app.signup_team();
    for path in LIST_PATHS {
        let page = app
            .get(&format!("{path}?limit=500"), &team.owner.auth)
            .expect(200);
        let data = page["data"].as_array().expect("data is a list");
        assert!(data.len() <= 200);
        assert!(page.get("next_cursor").is_some(), "no next_cursor: {page}");
    }
}

#[test]
fn an_unknown_api_route_gets_404() {
    let app = app();
    let team = app.signup_team();
    for path in ["/api/nope", "/api/team/nope", "/api/auth/me/extra"] {
        app.get(path, &team.owner.auth)
            .assert_error(404, "not_found");
    }
}

#[test]
fn a_known_route_with_the_wrong_method_gets_405() {
    let app = app();
    let team = app.signup_team();
    app.delete("/api/team", &team.owner.auth)
        .assert_error(405, "method_not_allowed");
    app.get("/api/auth/signup", &Auth::None)
        .assert_error(405, "method_not_allowed");
    app.put_json("/api/auth/login", &json!({}), &Auth::None)
        .assert_error(405, "method_not_allowed");
}

#[test]
fn every_response_carries_a_request_id() {
    let app = app();
    let team = app.signup_team();
    let owner = &team.owner.auth;
    let answers = [
        app.get("/api/health", &Auth::None),
        app.get("/api/team", owner),
        app.get("/api/auth/me", &Auth::None),
        app.get("/api/nope", owner),
        app.delete("/api/team", owner),
        app.post_raw("/api/team/invites", b"{", Some(JSON), owner),
        app.post_raw("/api/team/invites", b"{}", Some(JSON), owner),
        app.post("/api/auth/logout", owner),
    ];
    let mut seen = Vec::new();
    for resp in &answers {
        let id = resp.header("x-request-id").unwrap_or("");
        assert!(!id.trim().is_empty(), "no x-request-id: {resp}");
        assert!(!seen.contains(&id), "x-request-id {id} repeated");
        seen.push(id);
    }
}

#[test]
fn every_response_carries_nosniff_and_a_referrer_policy_and_the_app_a_csp() {
    let app = app();
    let team = app.signup_team();
    let answers = [
        app.get("/api/health", &Auth::None),
        app.get("/api/team", &team.owner.auth),
        app.get("/api/nope", &Auth::None),
        app.get("/", &Auth::None),
        app.get("/workflows/some-page-of-the-app", &Auth::None),
    ];
    for resp in &answers {
        assert_eq!(
            resp.header("x-content-type-options"),
            Some("nosniff"),
            "{resp:?}"
        );
        assert!(resp.header("referrer-policy").is_some(), "{resp:?}");
    }
    for page in &answers[3..] {
        assert!(
            page.body.contains("<div id=\"app\">"),
            "not the app: {page:?}"
        );
        let csp = page.header("content-security-policy").unwrap_or("");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        let script_src = csp
            .split(';')
            .map(str::trim)
            .find(|d| d.starts_with("script-src"))
            .unwrap_or_else(|| panic!("no script-src: {csp}"));
        assert!(!script_src.contains("unsafe"), "{csp}");
        assert!(
            !page.body.contains("<script>"),
            "an inline script in the app"
        );
    }
}

/// A cookie-authenticated state change, with extra headers a browser would add.
fn cookie_post(app: &TestApp, auth: &Auth, extra: &[(&str, &str)]) -> TestResponse {
    let Auth::Cookie(token) = auth else {
        panic!("a session is needed")
    };
    let cookie = format!("beacon_session={token}");
    let mut headers = vec![("Cookie", cookie.as_str()), ("Content-Type", JSON)];
    headers.extend_from_slice(extra);
    let body = json!({"email": unique_email("csrf"), "role": "viewer"}).to_string();
    app.request("POST", "/api/team/invites", &headers, Some(body.as_bytes()))
}

#[test]
fn a_cookie_authenticated_state_change_from_another_origin_gets_403() {
    let app = app();
    let team = app.signup_team();
    let owner = &team.owner.auth;
    for extra in [
        vec![("Sec-Fetch-Site", "cross-site")],
        vec![("Sec-Fetch-Site", "same-site")],
        vec![("Origin", "https://evil.example")],
        vec![("Sec-Fetch-Site", "same-origin"), ("Origin", "null")],
    ] {
        cookie_post(app, owner, &extra).assert_error(403, "forbidden");
    }
    // A body-less one too (logout).
    let Auth::Cookie(token) = owner else {
        unreachable!()
    };
    let cookie = format!("beacon_session={token}");
    let logout = app.request(
        "POST",
        "/api/auth/logout",
        &[("Cookie", &cookie), ("Sec-Fetch-Site", "cross-site")],
        Some(b""),
    );
    logout.assert_error(403, "forbidden");
    app.get("/api/auth/me", owner).expect(200);
    // From the app itself, or from a client that says nothing (curl), it goes through.
    let origin = app.address.clone();
    cookie_post(
        app,
        owner,
        &[("Sec-Fetch-Site", "same-origin"), ("Origin", &origin)],
    )
    .expect(201);
    cookie_post(app, owner, &[]).expect(201);
    // Reads are not state changes.
    let read = app.request(
        "GET",
        "/api/team",
        &[("Cookie", &cookie), ("Sec-Fetch-Site", "cross-site")],
        None,
    );
    read.expect(200);
    // A bearer token is not sent by browsers on their own: no origin rule for it.
    let token = app.create_token(owner, "admin");
    let bearer = format!("Bearer {}", token.token);
    let body = json!({"email": unique_email("csrf"), "role": "viewer"}).to_string();
    app.request(
        "POST",
        "/api/team/invites",
        &[
            ("Authorization", &bearer),
            ("Content-Type", JSON),
            ("Sec-Fetch-Site", "cross-site"),
        ],
        Some(body.as_bytes()),
    )
    .expect(201);
}
