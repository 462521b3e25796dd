//! Deployment-level vault behaviour, each on servers of its own because it changes their
//! configuration: master-key rotation across restarts on the same state, and refusing private
//! upstreams when the deployment does not allow them.
//!
//! `make test` runs these on their own, one at a time (`--test-threads 1`), after the rest: a
//! second `wrangler dev` starting in the same project directory makes a running one reload
//! (their bundles share `.wrangler/tmp`), which fails the requests in flight.

use crate::helpers::*;
use serde_json::json;

fn add_key(app: &TestApp, auth: &Auth) -> String {
    let body = json!({"name": "rotating", "service": "openai_compatible", "key": OPENAI_KEY, "base_url": stand_in().base_url});
    string(&app.post_json("/api/keys", &body, auth).expect(201)["id"])
}

fn stored_master_key(app: &TestApp, id: &str) -> (String, String) {
    let out = app.sql(&format!(
        "SELECT master_key_id, secret FROM provider_keys WHERE id = '{id}'"
    ));
    let row = &out[0]["results"][0];
    (string(&row["master_key_id"]), string(&row["secret"]))
}

fn key_works(app: &TestApp, auth: &Auth, id: &str) {
    let result = app.post(&format!("/api/keys/{id}/test"), auth).expect(200);
    assert_eq!(result["valid"], true, "{result}");
}

#[test]
fn old_master_keys_keep_working_until_rewrapped_and_can_then_be_retired() {
    // t1 alone.
    let first = TestApp::start_with(&[], None);
    let team = first.signup_team();
    let auth = team.owner.auth.clone();
    let id = add_key(&first, &auth);
    key_works(&first, &auth, &id);
    assert_eq!(stored_master_key(&first, &id).0, "t1");
    let dir = first.persist_dir.clone();
    first.stop();

    // t2 added and made active: the old ciphertext still opens; new ones use t2.
    let both_keys = format!("{TEST_MASTER_KEY_1},{TEST_MASTER_KEY_2}");
    let both = TestApp::start_with(
        &[
            ("VAULT_MASTER_KEYS", &both_keys),
            ("VAULT_ACTIVE_KEY", "t2"),
        ],
        Some(&dir),
    );
    key_works(&both, &auth, &id);
    let fresh = add_key(&both, &auth);
    assert_eq!(stored_master_key(&both, &fresh).0, "t2");
    assert_eq!(stored_master_key(&both, &id).0, "t1");

    // The cron tick re-wraps the old one under t2.
    let tick = both.get("/__scheduled?cron=*+*+*+*+*", &Auth::None);
    assert_eq!(tick.status, 200, "{tick}");
    assert!(
        !tick.body.contains("<html"),
        "the tick reached the app, not the Worker: {tick}"
    );
    let (master, secret) = stored_master_key(&both, &id);
    assert_eq!(master, "t2");
    assert!(secret.starts_with("v1:t2:"), "{secret}");
    key_works(&both, &auth, &id);
    both.stop();

    // t1 retired: everything still opens.
    let retired = TestApp::start_with(
        &[
            ("VAULT_MASTER_KEYS", TEST_MASTER_KEY_2),
            ("VAULT_ACTIVE_KEY", "t2"),
        ],
        Some(&dir),
    );
    key_works(&retired, &auth, &id);
    key_works(&retired, &auth, &fresh);
    retired.stop();
}

#[test]
fn without_the_allow_flag_plain_http_and_private_base_urls_are_refused() {
    let strict = TestApp::start_with(&[("ALLOW_PRIVATE_UPSTREAMS", "false")], None);
    let team = strict.signup_team();
    for base_url in [
        stand_in().base_url.as_str(),
        "https://127.0.0.1:8443",
        "https://10.0.0.7",
        "https://169.254.169.254",
        "https://[::1]",
        "https://localhost",
        "http://api.example.com",
    ] {
        let body = json!({"name": "k", "service": "openai_compatible", "key": OPENAI_KEY, "base_url": base_url});
        let resp = strict.post_json("/api/keys", &body, &team.owner.auth);
        resp.assert_error(422, "validation_failed");
        assert_eq!(resp.invalid_fields(), ["base_url"], "{base_url}");
    }
    let body = json!({"name": "k", "service": "openai_compatible", "key": OPENAI_KEY, "base_url": "https://llm.example.com"});
    strict
        .post_json("/api/keys", &body, &team.owner.auth)
        .expect(201);
    strict.stop();
}
