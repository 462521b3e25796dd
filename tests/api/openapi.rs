//! The OpenAPI document (`docs/openapi.json`) against the running Worker. The route table and
//! the document are held to each other in both directions by `cargo test --lib` (`src/routes.rs`);
//! these tests show that the Worker serves that document, and that every operation it lists
//! reaches a handler of the built Worker: no 405, and no 404 on a path without an id.

use crate::helpers::{app, Auth};
use serde_json::Value;

fn document() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/openapi.json");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn the_document_is_served_without_auth_as_it_is_in_the_repository() {
    let app = app();
    let resp = app.get("/api/openapi.json", &Auth::None);
    let served = resp.expect(200);
    let content_type = resp.header("content-type").unwrap_or("");
    assert!(content_type.starts_with("application/json"), "{resp}");
    assert_eq!(
        served,
        document(),
        "the served document is not docs/openapi.json"
    );
    assert_eq!(served["openapi"], "3.1.0");
}

#[test]
fn every_documented_operation_reaches_a_handler() {
    let app = app();
    let team = app.signup_team();
    let doc = document();
    let paths = doc["paths"].as_object().expect("paths");
    let missing_id = "00000000-0000-7000-8000-000000000000";
    let mut wrong = Vec::new();
    for (template, item) in paths {
        let has_param = template.contains('{');
        let path = template
            .replace("{id}", missing_id)
            .replace("{component}", "probe");
        for method in item.as_object().expect("a path item").keys() {
            let method = method.to_uppercase();
            if path.ends_with("/stream") {
                // Streams stay open: reaching one is answering 200 with an event stream.
                app.open_stream(&path, &team.owner.auth, None);
                continue;
            }
            if path == "/api/auth/logout" {
                continue; // it would end the session the other probes use; auth tests cover it
            }
            let body = (method != "GET" && method != "DELETE").then_some(&b"{}"[..]);
            let content_type = body.map(|_| "application/json");
            let resp = app.send(&method, &path, body, content_type, &team.owner.auth);
            let unrouted = resp.status == 405 || (resp.status == 404 && !has_param);
            if unrouted || resp.status >= 500 {
                wrong.push(format!(
                    "{method} {template} -> {}: {}",
                    resp.status, resp.body
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "documented but not served: {wrong:#?}");
}
