//! The LLM gateway against the stand-in provider: bodies passed through byte for byte both ways,
//! streams relayed with their usage read (and cut ones recorded as incomplete), the cache, the
//! fallback key, budgets held under 20 concurrent calls, roles, tenancy, bad requests, no key in
//! any answer or log line, spans in the caller's trace, and the providers' own Python client
//! libraries as real clients. The per-token rate limit is in `quotas.rs` (a server with small
//! limits).

use std::io::Read;
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::helpers::*;
use serde_json::{json, Value};

pub const CHAT: &str = "/api/gateway/openai/v1/chat/completions";
const EMBEDDINGS: &str = "/api/gateway/openai/v1/embeddings";
const MESSAGES: &str = "/api/gateway/anthropic/v1/messages";
/// What one gpt-4o-mini call of the stand-in costs (see `cost.rs`), and one claude-sonnet-4-5.
const GPT_4O_MINI_CALL: i64 = 270_000;
const SONNET_CALL: i64 = 1_845_000;

/// A team with an OpenAI-compatible key at the stand-in and a member's access token.
pub struct Gateway {
    pub team: TeamCtx,
    pub key: String,
    pub token: String,
}

impl Gateway {
    pub fn new(app: &TestApp) -> Gateway {
        let team = app.signup_team();
        let key = app.openai_key(&team.owner.auth);
        let token = app.create_token(&team.owner.auth, "member").token;
        Gateway { team, key, token }
    }
}

/// A POST to the gateway with `Authorization: Bearer <token>`, a JSON body as given and `extra`
/// headers.
pub fn call(
    app: &TestApp,
    path: &str,
    token: &str,
    body: &str,
    extra: &[(&str, &str)],
) -> TestResponse {
    let bearer = format!("Bearer {token}");
    let mut headers = vec![("Authorization", bearer.as_str()), ("Content-Type", JSON)];
    headers.extend_from_slice(extra);
    app.request("POST", path, &headers, Some(body.as_bytes()))
}

pub fn chat(model: &str, marker: &str) -> String {
    json!({"model": model, "messages": [{"role": "user", "content": format!("Say {marker}")}]})
        .to_string()
}

/// The body and whether it read to its end, for answers that may be cut.
fn call_raw(app: &TestApp, path: &str, token: &str, body: &str) -> (u16, String, bool) {
    let resp = app
        .agent
        .post(&format!("{}{path}", app.address))
        .set("Authorization", &format!("Bearer {token}"))
        .set("Content-Type", JSON)
        .send_bytes(body.as_bytes());
    let resp = match resp {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{path}: no answer: {e}"),
    };
    let status = resp.status();
    let mut bytes = Vec::new();
    let whole = resp.into_reader().read_to_end(&mut bytes).is_ok();
    (status, String::from_utf8_lossy(&bytes).into_owned(), whole)
}

/// Polls `read` until `done` says so (20 s at most); answers the last value read.
fn eventually(what: &str, read: impl Fn() -> Value, done: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let v = read();
        if done(&v) {
            return v;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{what}: {v}");
        sleep(Duration::from_millis(100));
    }
}

fn usage_after(app: &TestApp, auth: &Auth, calls: i64) -> Value {
    eventually(
        "the calls' usage",
        || app.get("/api/tokens/usage?range=24h", auth).expect(200),
        |u| u["calls"] == calls,
    )
}

/// The team's gateway usage rows, as stored.
fn stored_rows(app: &TestApp, team_id: &str) -> Vec<Value> {
    let out = app.sql(&format!(
        "SELECT key_id, model, agent, source, cache_hit, saved_nusd, incomplete, cost_nusd, input_tokens, \
                cache_read_tokens, output_tokens, trace_id, span_id \
         FROM llm_usage WHERE team_id = '{team_id}' ORDER BY created_at"
    ));
    out[0]["results"].as_array().cloned().unwrap_or_default()
}

#[test]
fn an_openai_call_is_passed_through_byte_for_byte_and_priced_like_a_step() {
    let app = app();
    let gw = Gateway::new(app);
    let marker = unique("bytes");
    // Odd spacing and key order, which a re-serialised body would lose.
    let body = format!(
        "{{ \"messages\" : [{{\"role\":\"user\",\"content\":\"Say {marker}\"}}],\n  \"model\":\"gpt-4o-mini\" ,\"temperature\": 0.50 }}"
    );
    let resp = call(app, CHAT, &gw.token, &body, &[("x-beacon-agent", "writer")]);
    assert_eq!(resp.status, 200, "{resp}");
    let sent = stand_in().requests_with(&marker);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].body, body, "the provider got the caller's bytes");
    assert_eq!(
        sent[0].header("authorization"),
        Some(format!("Bearer {OPENAI_KEY}").as_str()),
        "with the vault's key, never the caller's token"
    );
    // The provider's own bytes, as it answers the same request directly.
    let direct = ureq::post(&format!("{}/v1/chat/completions", stand_in().base_url))
        .set("Authorization", &format!("Bearer {OPENAI_KEY}"))
        .set("Content-Type", JSON)
        .send_string(&body)
        .unwrap()
        .into_string()
        .unwrap();
    assert_eq!(resp.body, direct);
    assert_eq!(resp.header("x-beacon-cache"), Some("bypass"));
    assert!(resp
        .header("x-beacon-request-id")
        .is_some_and(|id| !id.is_empty()));
    assert!(resp
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));

    let auth = &gw.team.owner.auth;
    let usage = usage_after(app, auth, 1);
    assert_eq!(
        usage["tokens"],
        json!({"input": 200, "cache_read": 800, "cache_write": 0, "output": 180, "reasoning": 120, "total": 1300})
    );
    assert_eq!(usage["cost_nusd"], GPT_4O_MINI_CALL);
    let agents = app
        .get("/api/tokens/breakdown?by=agent&range=24h", auth)
        .expect(200);
    assert_eq!(agents["data"][0]["key"], "writer");
    let key = eventually(
        "the key's use",
        || app.get(&format!("/api/keys/{}", gw.key), auth).expect(200),
        |k| k["usage_count"] == 1,
    );
    assert!(key["last_used_at"].is_i64());
    let budget = app.get("/api/budgets", auth).expect(200);
    assert_eq!(budget["spent_nusd"], GPT_4O_MINI_CALL);
}

#[test]
fn an_anthropic_call_takes_the_token_in_x_api_key_and_embeddings_pass_too() {
    let app = app();
    let gw = Gateway::new(app);
    let auth = &gw.team.owner.auth;
    app.add_key(auth, "anthropic", ANTHROPIC_KEY);
    let marker = unique("anthropic");
    let body = json!({"model": "claude-sonnet-4-5", "max_tokens": 100,
                      "messages": [{"role": "user", "content": format!("Say {marker}")}]})
    .to_string();
    let headers = [
        ("x-api-key", gw.token.as_str()),
        ("anthropic-version", "2023-06-01"),
        ("Content-Type", JSON),
    ];
    let resp = app.request("POST", MESSAGES, &headers, Some(body.as_bytes()));
    assert_eq!(resp.status, 200, "{resp}");
    assert_eq!(
        resp.json()["content"][0]["text"],
        format!("echo: Say {marker}")
    );
    let sent = &stand_in().requests_with(&marker)[0];
    assert_eq!(sent.header("x-api-key"), Some(ANTHROPIC_KEY));
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));

    let embed = json!({"model": "text-embedding-3-small", "input": unique("embed")}).to_string();
    let resp = call(app, EMBEDDINGS, &gw.token, &embed, &[]);
    assert_eq!(resp.status, 200, "{resp}");
    assert_eq!(resp.json()["data"][0]["embedding"][0], 0.0023);
    let usage = usage_after(app, auth, 2);
    assert_eq!(usage["tokens"]["cache_write"], 100);
    let models = app
        .get("/api/tokens/breakdown?by=model&range=24h", auth)
        .expect(200);
    let sonnet = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["key"] == "claude-sonnet-4-5")
        .cloned()
        .unwrap();
    assert_eq!(sonnet["cost_nusd"], SONNET_CALL);
}

#[test]
fn openai_streams_are_relayed_with_usage_forced_on_and_counted() {
    let app = app();
    let gw = Gateway::new(app);
    let marker = unique("stream");
    let body = json!({"model": "gpt-4o-mini", "stream": true,
                      "messages": [{"role": "user", "content": format!("Say {marker}")}]})
    .to_string();
    let resp = call(app, CHAT, &gw.token, &body, &[]);
    assert_eq!(resp.status, 200, "{resp}");
    assert!(resp
        .header("content-type")
        .unwrap()
        .starts_with("text/event-stream"));
    let sent: Value = serde_json::from_str(&stand_in().requests_with(&marker)[0].body).unwrap();
    assert_eq!(sent["stream_options"], json!({"include_usage": true}));
    let data: Vec<&str> = resp
        .body
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .collect();
    assert_eq!(data.last(), Some(&"[DONE]"));
    let text: String = data
        .iter()
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|c| {
            c["choices"][0]["delta"]["content"]
                .as_str()
                .map(String::from)
        })
        .collect();
    assert_eq!(text, format!("echo: Say {marker}"));
    let usage = usage_after(app, &gw.team.owner.auth, 1);
    assert_eq!(usage["tokens"]["cache_read"], 800);
    assert_eq!(usage["cost_nusd"], GPT_4O_MINI_CALL);
    let rows = stored_rows(app, &gw.team.team_id);
    assert_eq!(
        (rows[0]["source"].as_str(), rows[0]["incomplete"].as_i64()),
        (Some("gateway"), Some(0))
    );
}

#[test]
fn anthropic_streams_count_the_start_and_delta_usage() {
    let app = app();
    let gw = Gateway::new(app);
    let auth = &gw.team.owner.auth;
    app.add_key(auth, "anthropic", ANTHROPIC_KEY);
    let body = json!({"model": "claude-sonnet-4-5", "max_tokens": 100, "stream": true,
                      "messages": [{"role": "user", "content": unique("Say")}]})
    .to_string();
    let resp = call(app, MESSAGES, &gw.token, &body, &[]);
    assert_eq!(resp.status, 200, "{resp}");
    assert!(resp.body.contains("event: message_stop"));
    let usage = usage_after(app, auth, 1);
    assert_eq!(
        usage["tokens"],
        json!({"input": 50, "cache_read": 900, "cache_write": 100, "output": 70, "reasoning": 0, "total": 1120})
    );
    assert_eq!(usage["cost_nusd"], SONNET_CALL);
}

#[test]
fn a_stream_cut_mid_answer_is_recorded_incomplete_with_what_was_counted() {
    let app = app();
    let gw = Gateway::new(app);
    let auth = &gw.team.owner.auth;
    app.add_key(auth, "anthropic", ANTHROPIC_KEY);
    let body = json!({"model": "standin-cut", "max_tokens": 100, "stream": true,
                      "messages": [{"role": "user", "content": unique("Say a long thing")}]})
    .to_string();
    let (status, text, _) = call_raw(app, MESSAGES, &gw.token, &body);
    assert_eq!(status, 200);
    assert!(
        text.contains("message_start") && !text.contains("message_stop"),
        "{text}"
    );
    let openai = json!({"model": "standin-cut", "stream": true,
                        "messages": [{"role": "user", "content": unique("Say a long thing")}]})
    .to_string();
    let (status, text, _) = call_raw(app, CHAT, &gw.token, &openai);
    assert_eq!(status, 200);
    assert!(!text.contains("[DONE]"), "{text}");
    usage_after(app, auth, 2);
    let rows = stored_rows(app, &gw.team.team_id);
    assert!(rows.iter().all(|r| r["incomplete"] == 1), "{rows:?}");
    let anthropic = rows.iter().find(|r| r["input_tokens"] == 50).unwrap();
    assert_eq!(
        anthropic["cache_read_tokens"], 900,
        "message_start's usage was counted"
    );
    let cut = rows.iter().find(|r| r["input_tokens"] != 50).unwrap();
    assert!(
        cut["output_tokens"].as_i64().unwrap() > 0,
        "content chunks counted: {cut}"
    );
    let budget = app.get("/api/budgets", auth).expect(200);
    assert_eq!(budget["reserved_nusd"], 0);
}

#[test]
fn the_cache_answers_the_same_body_within_its_ttl_for_free() {
    let app = app();
    let gw = Gateway::new(app);
    let auth = &gw.team.owner.auth;
    let marker = unique("cache");
    let body = chat("gpt-4o-mini", &marker);
    let ttl = [("x-beacon-cache-ttl", "60")];
    let miss = call(app, CHAT, &gw.token, &body, &ttl);
    assert_eq!(
        (miss.status, miss.header("x-beacon-cache")),
        (200, Some("miss"))
    );
    // The same request laid out differently is the same entry (the miss's write may take a moment).
    let same: Value = serde_json::from_str(&body).unwrap();
    let relaid = serde_json::to_string_pretty(&same).unwrap();
    let hit = eventually(
        "a cache hit",
        || {
            let r = call(app, CHAT, &gw.token, &relaid, &ttl);
            json!({"cache": r.header("x-beacon-cache"), "status": r.status, "body": r.body})
        },
        |r| r["cache"] == "hit",
    );
    assert_eq!(hit["status"], 200);
    assert_eq!(hit["body"], miss.body, "the cached bytes");
    let bypass = call(app, CHAT, &gw.token, &body, &[]);
    assert_eq!(bypass.header("x-beacon-cache"), Some("bypass"));
    // Another team's identical call is not answered from this team's entry.
    let other = Gateway::new(app);
    let theirs = call(app, CHAT, &other.token, &body, &ttl);
    assert_eq!(theirs.header("x-beacon-cache"), Some("miss"));
    assert_eq!(
        stand_in().requests_with(&marker).len(),
        3,
        "miss, bypass, other team"
    );

    usage_after(app, auth, 3);
    let rows = stored_rows(app, &gw.team.team_id);
    let hits: Vec<&Value> = rows.iter().filter(|r| r["cache_hit"] == 1).collect();
    assert_eq!(hits.len(), 1, "{rows:?}");
    assert_eq!(hits[0]["cost_nusd"], 0);
    assert_eq!(hits[0]["saved_nusd"], GPT_4O_MINI_CALL);
    let usage = app.get("/api/tokens/usage?range=24h", auth).expect(200);
    assert_eq!(
        usage["cost_nusd"],
        2 * GPT_4O_MINI_CALL,
        "a hit costs nothing"
    );
    for bad in ["0", "604801", "soon"] {
        let resp = call(app, CHAT, &gw.token, &body, &[("x-beacon-cache-ttl", bad)]);
        assert_eq!(resp.invalid_fields(), ["x-beacon-cache-ttl"], "{bad}");
    }
}

#[test]
fn a_fallback_key_answers_when_the_first_fails_before_its_first_byte() {
    let app = app();
    let gw = Gateway::new(app);
    let auth = &gw.team.owner.auth;
    let down = json!({"name": unique("down"), "service": "openai_compatible", "key": OPENAI_KEY,
                      "base_url": format!("{}/down", stand_in().base_url)});
    let down = string(&app.post_json("/api/keys", &down, auth).expect(201)["id"]);
    let marker = unique("fallback");
    let body = chat("gpt-4o-mini", &marker);
    let alone = call(app, CHAT, &gw.token, &body, &[("x-beacon-key", &down)]);
    assert_eq!(alone.status, 503, "the provider's status as it is: {alone}");
    assert_eq!(alone.json()["error"]["type"], "server_error");
    let saved = call(
        app,
        CHAT,
        &gw.token,
        &body,
        &[("x-beacon-key", &down), ("x-beacon-fallback-key", &gw.key)],
    );
    assert_eq!(saved.status, 200, "{saved}");
    let stream = json!({"model": "gpt-4o-mini", "stream": true,
                        "messages": [{"role": "user", "content": format!("Say {marker}")}]})
    .to_string();
    let streamed = call(
        app,
        CHAT,
        &gw.token,
        &stream,
        &[("x-beacon-key", &down), ("x-beacon-fallback-key", &gw.key)],
    );
    assert_eq!(streamed.status, 200);
    assert!(streamed.body.ends_with("data: [DONE]\n\n"));
    usage_after(app, auth, 2);
    let rows = stored_rows(app, &gw.team.team_id);
    assert!(
        rows.iter().all(|r| r["key_id"] == gw.key.as_str()),
        "{rows:?}"
    );
}

#[test]
fn twenty_concurrent_calls_never_overshoot_an_enforced_budget() {
    let app = app();
    let gw = Gateway::new(app);
    let auth = &gw.team.owner.auth;
    // The held model at gpt-4o-mini's prices. Each call reserves 1000 output tokens × $0.60/M
    // plus its prompt (≈ $0.000630) and really costs $0.00027: five fit in $0.0035, six do not.
    let prices = json!({"overrides": [{"model_pattern": "standin-hold", "input_usd": 0.15, "cache_read_usd": 0.075, "output_usd": 0.6}]});
    app.put_json("/api/pricing", &prices, auth).expect(200);
    app.put_json(
        "/api/budgets",
        &json!({"monthly_usd": 0.0035, "enforce": true}),
        auth,
    )
    .expect(200);
    let marker = unique("budget");
    let body = json!({"model": "standin-hold", "max_tokens": 1000,
                      "messages": [{"role": "user", "content": format!("Say {marker}")}]})
    .to_string();
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let calls: Vec<_> = (0..20)
            .map(|_| s.spawn(|| call(app, CHAT, &gw.token, &body, &[])))
            .collect();
        // Every call is in flight or refused before any is answered.
        eventually(
            "five calls held by the provider",
            || json!(stand_in().requests_with(&marker).len()),
            |n| n == 5,
        );
        sleep(Duration::from_millis(500));
        let budget = app.get("/api/budgets", auth).expect(200);
        assert!(
            budget["reserved_nusd"].as_i64().unwrap() <= 3_500_000,
            "{budget}"
        );
        stand_in().release(&marker);
        calls
            .into_iter()
            .map(|c| {
                let resp = c.join().unwrap();
                if resp.status == 402 {
                    assert_eq!(resp.code(), "budget_exceeded");
                }
                resp.status
            })
            .collect()
    });
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 402).count(),
        15,
        "{statuses:?}"
    );
    assert_eq!(
        stand_in().requests_with(&marker).len(),
        5,
        "refused calls never reach the provider"
    );
    let budget = eventually(
        "every reservation given back",
        || app.get("/api/budgets", auth).expect(200),
        |b| b["reserved_nusd"] == 0 && b["spent_nusd"] == 5 * GPT_4O_MINI_CALL,
    );
    assert!(budget["spent_nusd"].as_i64().unwrap() <= budget["monthly_nusd"].as_i64().unwrap());
    // A model with no price cannot be reserved for: refused while the budget is enforced.
    let unpriced = call(
        app,
        CHAT,
        &gw.token,
        &chat(&unique("unpriced"), &marker),
        &[],
    );
    unpriced.assert_error(402, "budget_exceeded");
}

#[test]
fn only_member_tokens_may_call_and_a_session_is_not_enough() {
    let app = app();
    let gw = Gateway::new(app);
    let auth = &gw.team.owner.auth;
    let body = chat("gpt-4o-mini", &unique("roles"));
    let viewer = app.create_token(auth, "viewer").token;
    call(app, CHAT, &viewer, &body, &[]).assert_error(403, "forbidden");
    call(app, CHAT, "bk_not_a_token", &body, &[]).assert_error(401, "unauthorized");
    let cookie = app.post_raw(CHAT, body.as_bytes(), Some(JSON), auth);
    cookie.assert_error(401, "unauthorized");
    for role in ["member", "admin"] {
        let token = app.create_token(auth, role).token;
        assert_eq!(call(app, CHAT, &token, &body, &[]).status, 200, "{role}");
    }
}

#[test]
fn another_teams_key_is_never_used_and_bad_requests_get_the_envelope() {
    let app = app();
    let gw = Gateway::new(app);
    let other = Gateway::new(app);
    let marker = unique("tenancy");
    let body = chat("gpt-4o-mini", &marker);
    for header in ["x-beacon-key", "x-beacon-fallback-key"] {
        let resp = call(app, CHAT, &gw.token, &body, &[(header, &other.key)]);
        assert_eq!(resp.invalid_fields(), [header]);
    }
    let unknown = "01940000-0000-7000-8000-0000000000ff";
    let resp = call(app, CHAT, &gw.token, &body, &[("x-beacon-key", unknown)]);
    assert_eq!(resp.invalid_fields(), ["x-beacon-key"]);
    let resp = call(app, CHAT, &gw.token, &body, &[("x-beacon-key", "nope")]);
    assert_eq!(resp.invalid_fields(), ["x-beacon-key"]);
    // An OpenAI key for the Anthropic route, and a team with no key of the service at all.
    let resp = call(
        app,
        MESSAGES,
        &gw.token,
        &body,
        &[("x-beacon-key", &gw.key)],
    );
    assert_eq!(resp.invalid_fields(), ["x-beacon-key"]);
    let resp = call(app, MESSAGES, &gw.token, &body, &[]);
    assert_eq!(resp.invalid_fields(), ["x-beacon-key"]);
    assert!(stand_in().requests_with(&marker).is_empty());

    call(app, CHAT, &gw.token, "{\"model\": ", &[]).assert_error(400, "bad_request");
    call(app, CHAT, &gw.token, "", &[]).assert_error(400, "bad_request");
    assert_eq!(
        call(app, CHAT, &gw.token, "[1]", &[]).invalid_fields(),
        ["body"]
    );
    assert_eq!(
        call(app, CHAT, &gw.token, "{\"messages\": []}", &[]).invalid_fields(),
        ["model"]
    );
    let capped = json!({"model": "m", "max_tokens": -5}).to_string();
    assert_eq!(
        call(app, CHAT, &gw.token, &capped, &[]).invalid_fields(),
        ["max_tokens"]
    );
    let bearer = format!("Bearer {}", gw.token);
    let text = app.request(
        "POST",
        CHAT,
        &[("Authorization", &bearer), ("Content-Type", "text/plain")],
        Some(body.as_bytes()),
    );
    text.assert_error(415, "unsupported_media_type");
    let huge = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x".repeat(300 * 1024)}]})
    .to_string();
    call(app, CHAT, &gw.token, &huge, &[]).assert_error(413, "payload_too_large");
    let get = app.get(CHAT, &Auth::Bearer(gw.token.clone()));
    assert_eq!(get.status, 405);
}

#[test]
fn a_refused_key_is_never_in_an_answer_or_the_log() {
    let app = app();
    let gw = Gateway::new(app);
    let auth = &gw.team.owner.auth;
    let bad = app.add_key(auth, "openai_compatible", BAD_KEY);
    let resp = call(
        app,
        CHAT,
        &gw.token,
        &chat("gpt-4o-mini", &unique("bad")),
        &[("x-beacon-key", &bad)],
    );
    assert_eq!(resp.status, 401, "the provider's status: {resp}");
    assert_eq!(resp.json()["error"]["code"], "invalid_api_key");
    assert!(!resp.body.contains(BAD_KEY), "{}", resp.body);
    assert!(resp.body.contains("<redacted>"), "{}", resp.body);
    // Everything the server logged, not only its tail.
    sleep(Duration::from_millis(300));
    let log = std::fs::read_to_string(&app.log_path).unwrap_or_default();
    for secret in [BAD_KEY, OPENAI_KEY, gw.token.as_str()] {
        assert!(!log.contains(secret), "a secret in the log");
    }
}

#[test]
fn a_call_is_a_span_in_the_callers_trace_or_a_trace_of_its_own() {
    let app = app();
    let gw = Gateway::new(app);
    let auth = &gw.team.owner.auth;
    let trace = format!("{:032x}", now_millis() * 7919);
    let parent = "00f067aa0ba902b7";
    let traceparent = format!("00-{trace}-{parent}-01");
    let body = chat("gpt-4o-mini", &unique("trace"));
    let resp = call(
        app,
        CHAT,
        &gw.token,
        &body,
        &[("traceparent", &traceparent), ("x-beacon-agent", "tracer")],
    );
    assert_eq!(resp.status, 200);
    let detail = eventually(
        "the call's span",
        || app.get(&format!("/api/traces/{trace}"), auth).json(),
        |t| t["spans"].is_array(),
    );
    let span = &detail["spans"][0];
    assert_eq!(span["parent_span_id"], parent);
    assert_eq!(span["name"], "chat gpt-4o-mini");
    assert_eq!(span["agent"], "tracer");
    assert_eq!(span["cost_nusd"], GPT_4O_MINI_CALL);
    assert_eq!(detail["llm_calls"], 1);
    let alone = call(app, CHAT, &gw.token, &body, &[]);
    assert_eq!(alone.status, 200);
    usage_after(app, auth, 2);
    let rows = stored_rows(app, &gw.team.team_id);
    let own = rows
        .iter()
        .find(|r| r["trace_id"] != trace.as_str())
        .unwrap();
    let own_trace = app
        .get(&format!("/api/traces/{}", string(&own["trace_id"])), auth)
        .expect(200);
    assert_eq!(own_trace["spans"][0]["parent_span_id"], Value::Null);
}

#[test]
fn the_openai_and_anthropic_python_clients_work_unchanged_against_the_gateway() {
    let Ok(python) = std::env::var("BEACON_OTEL_PYTHON") else {
        eprintln!("BEACON_OTEL_PYTHON is not set (make test sets it): skipped");
        return;
    };
    let app = app();
    let gw = Gateway::new(app);
    let auth = &gw.team.owner.auth;
    app.add_key(auth, "anthropic", ANTHROPIC_KEY);
    let marker = unique("client");
    let output = Command::new(python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/gateway/clients.py"
        ))
        .args([&app.address, &gw.token, &marker])
        .output()
        .expect("running the clients");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let got: Value = serde_json::from_str(stdout.trim().lines().last().unwrap()).unwrap();
    assert_eq!(got["whole"], format!("echo: whole {marker}"));
    assert_eq!(got["whole_usage"]["prompt_tokens"], 1000);
    assert_eq!(got["streamed"], format!("echo: streamed {marker}"));
    assert_eq!(got["streamed_usage"]["completion_tokens"], 300);
    assert_eq!(got["embedding"], json!([0.0023, -0.0094, 0.0157]));
    assert_eq!(got["anthropic"], format!("echo: anthropic {marker}"));
    assert_eq!(
        got["anthropic_streamed"],
        format!("echo: anthropic streamed {marker}")
    );
    assert_eq!(got["anthropic_streamed_output_tokens"], 70);
    let usage = usage_after(app, auth, 5);
    assert_eq!(
        usage["cost_nusd"].as_i64(),
        Some(2 * GPT_4O_MINI_CALL + 2 * SONNET_CALL),
        "the embedding model has no price here, so it is an unpriced call"
    );
    let agents = app
        .get("/api/tokens/breakdown?by=agent&range=24h", auth)
        .expect(200);
    assert_eq!(agents["data"][0]["key"], "python-client");
}

/// A token the Worker has seen is checked by a statement leading the gateway's one batch: once
/// revoked, or once its member is removed, the next call is refused and never reaches the
/// provider.
#[test]
fn a_revoked_token_or_a_removed_members_token_spends_nothing_on_its_next_call() {
    let app = app();
    let gw = Gateway::new(app);
    let owner = &gw.team.owner.auth;
    let reached = |marker: &str| {
        stand_in()
            .requests_with(marker)
            .iter()
            .filter(|r| r.path == "/v1/chat/completions")
            .count()
    };

    let token = app.create_token(owner, "member");
    let marker = unique("revoked");
    let body = chat("gpt-4o-mini", &marker);
    assert_eq!(call(app, CHAT, &token.token, &body, &[]).status, 200);
    app.delete(&format!("/api/access-tokens/{}", token.id), owner)
        .expect(204);
    call(app, CHAT, &token.token, &body, &[]).assert_error(401, "unauthorized");
    assert_eq!(reached(&marker), 1, "only the call before the revocation");

    let member = gw.team.member(app, "member");
    let theirs = app.create_token(&member.auth, "member");
    let marker = unique("removed");
    let body = chat("gpt-4o-mini", &marker);
    assert_eq!(call(app, CHAT, &theirs.token, &body, &[]).status, 200);
    app.delete(&format!("/api/team/members/{}", member.user_id), owner)
        .expect(204);
    call(app, CHAT, &theirs.token, &body, &[]).assert_error(401, "unauthorized");
    assert_eq!(reached(&marker), 1, "only the call before the removal");
}
