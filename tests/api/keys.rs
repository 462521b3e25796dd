//! The provider-key vault: secrets go in once and never come out, tests ask the (stand-in)
//! provider, ciphertexts are bound to their row, and roles and tenancy hold on every route.

use crate::helpers::*;
use serde_json::{json, Value};

fn add_key(app: &TestApp, auth: &Auth, service: &str, key: &str) -> Value {
    let body = json!({"name": unique("key"), "service": service, "key": key, "base_url": stand_in().base_url});
    let resp = app.post_json("/api/keys", &body, auth);
    assert_no_secret(&resp);
    resp.expect(201)
}

/// No stand-in key may appear in any answer.
fn assert_no_secret(resp: &TestResponse) {
    for key in [OPENAI_KEY, ANTHROPIC_KEY, BAD_KEY] {
        assert!(
            !resp.body.contains(key),
            "a provider key leaked into a response: {resp}"
        );
    }
}

fn sealed_secret(app: &TestApp, key_id: &str) -> String {
    let out = app.sql(&format!(
        "SELECT secret FROM provider_keys WHERE id = '{key_id}'"
    ));
    string(&out[0]["results"][0]["secret"])
}

#[test]
fn an_admin_adds_a_key_and_everyone_sees_its_last4_but_never_the_secret() {
    let app = app();
    let team = app.signup_team();
    let viewer = team.member(app, "viewer");
    let key = add_key(app, &team.owner.auth, "openai_compatible", OPENAI_KEY);
    assert_eq!(key["last4"], "3a9c");
    assert_eq!(key["status"], "untested");
    assert_eq!(key["usage_count"], 0);
    assert_eq!(key["service"], "openai_compatible");
    assert_eq!(key["base_url"], stand_in().base_url);
    for field in ["id", "name", "created_at"] {
        assert!(!key[field].is_null(), "missing {field}: {key}");
    }
    let id = string(&key["id"]);

    let list = app.get("/api/keys", &viewer.auth);
    assert_no_secret(&list);
    assert_eq!(
        ids(list.expect(200)["data"].as_array().unwrap()),
        vec![id.clone()]
    );
    let one = app.get(&format!("/api/keys/{id}"), &viewer.auth);
    assert_no_secret(&one);
    assert_eq!(one.expect(200)["last4"], "3a9c");

    let stored = sealed_secret(app, &id);
    assert!(
        stored.starts_with("v1:") && !stored.contains(OPENAI_KEY),
        "stored form: {stored}"
    );
}

#[test]
fn openai_and_anthropic_defaults_need_no_base_url_but_compatible_does() {
    let app = app();
    let team = app.signup_team();
    for (service, default) in [
        ("openai", "https://api.openai.com"),
        ("anthropic", "https://api.anthropic.com"),
    ] {
        let body =
            json!({"name": "default", "service": service, "key": "sk-some-real-looking-key"});
        let key = app
            .post_json("/api/keys", &body, &team.owner.auth)
            .expect(201);
        assert_eq!(key["base_url"], default);
    }
    let body = json!({"name": "compat", "service": "openai_compatible", "key": "sk-some-real-looking-key"});
    let resp = app.post_json("/api/keys", &body, &team.owner.auth);
    resp.assert_error(422, "validation_failed");
    assert_eq!(resp.invalid_fields(), ["base_url"]);
}

#[test]
fn testing_a_key_asks_the_provider_and_records_what_it_said() {
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let openai = string(&add_key(app, auth, "openai_compatible", OPENAI_KEY)["id"]);
    let anthropic = string(&add_key(app, auth, "anthropic", ANTHROPIC_KEY)["id"]);
    for id in [&openai, &anthropic] {
        let resp = app.post(&format!("/api/keys/{id}/test"), auth);
        assert_no_secret(&resp);
        let result = resp.expect(200);
        assert_eq!(
            (
                result["valid"].clone(),
                result["status"].clone(),
                result["http_status"].clone()
            ),
            (json!(true), json!("valid"), json!(200))
        );
        assert!(result["latency_ms"].as_i64().is_some(), "{result}");
        assert_eq!(
            app.get(&format!("/api/keys/{id}"), auth).expect(200)["status"],
            "valid"
        );
    }

    // Rotating to a key the provider refuses: same id, status starts over, then `invalid`.
    let rotated = app.post_json(
        &format!("/api/keys/{openai}/rotate"),
        &json!({"key": BAD_KEY}),
        auth,
    );
    assert_no_secret(&rotated);
    let rotated = rotated.expect(200);
    assert_eq!(
        (rotated["id"].clone(), rotated["status"].clone()),
        (json!(openai), json!("untested"))
    );
    assert!(rotated["rotated_at"].as_i64().is_some());
    let resp = app.post(&format!("/api/keys/{openai}/test"), auth);
    assert_no_secret(&resp);
    let result = resp.expect(200);
    assert_eq!(
        (
            result["valid"].clone(),
            result["status"].clone(),
            result["http_status"].clone()
        ),
        (json!(false), json!("invalid"), json!(401))
    );
}

#[test]
fn two_encryptions_of_the_same_key_differ() {
    let app = app();
    let team = app.signup_team();
    let a = string(&add_key(app, &team.owner.auth, "openai_compatible", OPENAI_KEY)["id"]);
    let b = string(&add_key(app, &team.owner.auth, "openai_compatible", OPENAI_KEY)["id"]);
    assert_ne!(sealed_secret(app, &a), sealed_secret(app, &b));
}

#[test]
fn a_ciphertext_moved_to_another_row_or_team_fails_cleanly() {
    let app = app();
    let team = app.signup_team();
    let other = app.signup_team();
    let source = string(&add_key(app, &team.owner.auth, "openai_compatible", OPENAI_KEY)["id"]);
    let same_team = string(&add_key(app, &team.owner.auth, "openai_compatible", BAD_KEY)["id"]);
    let other_team = string(&add_key(app, &other.owner.auth, "openai_compatible", BAD_KEY)["id"]);
    for target in [&same_team, &other_team] {
        app.sql(&format!(
            "UPDATE provider_keys SET secret = (SELECT secret FROM provider_keys WHERE id = '{source}') WHERE id = '{target}'"
        ));
    }
    for (owner, id) in [(&team.owner, &same_team), (&other.owner, &other_team)] {
        let resp = app.post(&format!("/api/keys/{id}/test"), &owner.auth);
        assert_no_secret(&resp);
        resp.assert_error(409, "key_unreadable");
    }
    // The original still opens.
    assert_eq!(
        app.post(&format!("/api/keys/{source}/test"), &team.owner.auth)
            .expect(200)["valid"],
        true
    );
}

#[test]
fn deleting_a_key_forgets_its_secret_and_a_second_delete_is_404() {
    let app = app();
    let team = app.signup_team();
    let id = string(&add_key(app, &team.owner.auth, "openai_compatible", OPENAI_KEY)["id"]);
    app.delete(&format!("/api/keys/{id}"), &team.owner.auth)
        .expect(204);
    app.delete(&format!("/api/keys/{id}"), &team.owner.auth)
        .assert_error(404, "not_found");
    app.get(&format!("/api/keys/{id}"), &team.owner.auth)
        .assert_error(404, "not_found");
    app.post(&format!("/api/keys/{id}/test"), &team.owner.auth)
        .assert_error(404, "not_found");
    assert!(app.get("/api/keys", &team.owner.auth).expect(200)["data"]
        .as_array()
        .unwrap()
        .is_empty());
    let out = app.sql(&format!(
        "SELECT secret FROM provider_keys WHERE id = '{id}'"
    ));
    assert!(
        out[0]["results"][0]["secret"].is_null(),
        "the secret must be gone: {out}"
    );

    let actions: Vec<String> = app.get("/api/team/activity", &team.owner.auth).expect(200)["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| string(&e["action"]))
        .collect();
    assert!(
        actions.contains(&"key.created".to_string())
            && actions.contains(&"key.deleted".to_string()),
        "{actions:?}"
    );
}

#[test]
fn members_and_viewers_may_read_keys_but_not_change_them() {
    let app = app();
    let team = app.signup_team();
    let id = string(&add_key(app, &team.owner.auth, "openai_compatible", OPENAI_KEY)["id"]);
    for role in ["viewer", "member"] {
        let who = team.member(app, role);
        app.get("/api/keys", &who.auth).expect(200);
        app.get(&format!("/api/keys/{id}"), &who.auth).expect(200);
        let body = json!({"name": "x", "service": "openai", "key": "sk-some-real-looking-key"});
        app.post_json("/api/keys", &body, &who.auth)
            .assert_error(403, "forbidden");
        app.post_json(
            &format!("/api/keys/{id}/rotate"),
            &json!({"key": "sk-another-key-123"}),
            &who.auth,
        )
        .assert_error(403, "forbidden");
        app.post(&format!("/api/keys/{id}/test"), &who.auth)
            .assert_error(403, "forbidden");
        app.delete(&format!("/api/keys/{id}"), &who.auth)
            .assert_error(403, "forbidden");
    }
    let admin = team.member(app, "admin");
    app.post(&format!("/api/keys/{id}/test"), &admin.auth)
        .expect(200);
}

#[test]
fn another_teams_key_is_404_on_every_route() {
    let app = app();
    let theirs = app.signup_team();
    let ours = app.signup_team();
    let id = string(&add_key(app, &theirs.owner.auth, "openai_compatible", OPENAI_KEY)["id"]);
    let auth = &ours.owner.auth;
    for bad in [id.as_str(), "not-a-uuid"] {
        app.get(&format!("/api/keys/{bad}"), auth)
            .assert_error(404, "not_found");
        app.delete(&format!("/api/keys/{bad}"), auth)
            .assert_error(404, "not_found");
        app.post(&format!("/api/keys/{bad}/test"), auth)
            .assert_error(404, "not_found");
        app.post_json(
            &format!("/api/keys/{bad}/rotate"),
            &json!({"key": "sk-another-key-123"}),
            auth,
        )
        .assert_error(404, "not_found");
    }
    assert!(app.get("/api/keys", auth).expect(200)["data"]
        .as_array()
        .unwrap()
        .is_empty());
    // And theirs is untouched.
    assert_eq!(
        app.get(&format!("/api/keys/{id}"), &theirs.owner.auth)
            .expect(200)["status"],
        "untested"
    );
}

#[test]
fn bad_key_fields_are_422_naming_each_field() {
    let app = app();
    let team = app.signup_team();
    let cases = [
        (
            json!({"name": "k", "service": "gemini", "key": "sk-some-real-looking-key"}),
            "service",
        ),
        (json!({"name": "k", "service": "openai", "key": ""}), "key"),
        (
            json!({"name": "k", "service": "openai", "key": "   "}),
            "key",
        ),
        (
            json!({"name": "k", "service": "openai", "key": 12345678}),
            "key",
        ),
        (
            json!({"name": "k", "service": "openai_compatible", "key": "sk-some-real-looking-key", "base_url": "ftp://x.example.com"}),
            "base_url",
        ),
        (
            json!({"name": "k", "service": "openai_compatible", "key": "sk-some-real-looking-key", "base_url": "not a url"}),
            "base_url",
        ),
        (
            json!({"service": "openai", "key": "sk-some-real-looking-key"}),
            "name",
        ),
    ];
    for (body, field) in cases {
        let resp = app.post_json("/api/keys", &body, &team.owner.auth);
        resp.assert_error(422, "validation_failed");
        assert_eq!(resp.invalid_fields(), [field], "{body}");
    }
    let id = string(&add_key(app, &team.owner.auth, "openai_compatible", OPENAI_KEY)["id"]);
    let resp = app.post_json(
        &format!("/api/keys/{id}/rotate"),
        &json!({"key": ""}),
        &team.owner.auth,
    );
    resp.assert_error(422, "validation_failed");
}

#[test]
fn no_provider_key_reaches_the_log() {
    let app = app();
    let team = app.signup_team();
    let id = string(&add_key(app, &team.owner.auth, "openai_compatible", BAD_KEY)["id"]);
    app.post(&format!("/api/keys/{id}/test"), &team.owner.auth)
        .expect(200);
    app.post_json(
        &format!("/api/keys/{id}/rotate"),
        &json!({"key": OPENAI_KEY}),
        &team.owner.auth,
    )
    .expect(200);
    app.post(&format!("/api/keys/{id}/test"), &team.owner.auth)
        .expect(200);
    let log = std::fs::read_to_string(&app.log_path).expect("the server log");
    for key in [OPENAI_KEY, ANTHROPIC_KEY, BAD_KEY] {
        assert!(!log.contains(key), "a provider key reached the log");
    }
}
