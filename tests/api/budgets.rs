//! Budgets: setting one, the 50/80/100 % thresholds recorded once each per month, and enforcement
//! that cannot be raced past by concurrent executions.

use crate::cost::{llm, run};
use crate::helpers::*;
use serde_json::json;

/// What one gpt-4o-mini call of the stand-in costs (see `cost.rs`).
const CALL: i64 = 270_000;

fn thresholds(app: &TestApp, auth: &Auth) -> Vec<i64> {
    let budget = app.get("/api/budgets", auth).expect(200);
    budget["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["threshold"].as_i64().unwrap())
        .collect()
}

#[test]
fn a_budget_is_set_read_and_removed() {
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let none = app.get("/api/budgets", auth).expect(200);
    assert_eq!(
        (none["monthly_usd"].clone(), none["enforce"].clone()),
        (json!(null), json!(false))
    );
    assert_eq!(none["spent_nusd"], 0);
    let set = app
        .put_json(
            "/api/budgets",
            &json!({"monthly_usd": 12.5, "enforce": true}),
            auth,
        )
        .expect(200);
    assert_eq!(set["monthly_nusd"], 12_500_000_000_i64);
    assert_eq!(set["monthly_usd"], 12.5);
    assert_eq!(set["enforce"], true);
    assert_eq!(
        app.get("/api/budgets", &team.member(app, "viewer").auth)
            .expect(200)["monthly_usd"],
        12.5
    );
    let removed = app
        .put_json(
            "/api/budgets",
            &json!({"monthly_usd": null, "enforce": false}),
            auth,
        )
        .expect(200);
    assert_eq!(removed["monthly_usd"], json!(null));
    let largest = json!({"monthly_usd": 9_000_000, "enforce": true});
    app.put_json("/api/budgets", &largest, auth).expect(200);
    assert_eq!(
        app.get("/api/budgets", auth).expect(200)["monthly_usd"],
        9_000_000.0
    );
    for (body, field) in [
        (json!({"monthly_usd": 0, "enforce": false}), "monthly_usd"),
        (json!({"monthly_usd": -3, "enforce": false}), "monthly_usd"),
        (
            json!({"monthly_usd": "10", "enforce": false}),
            "monthly_usd",
        ),
        (json!({"monthly_usd": 10, "enforce": "yes"}), "enforce"),
        // Past $9M a month the nano-dollars pass 2^53, which D1 cannot hand back exactly.
        (
            json!({"monthly_usd": 9_000_001, "enforce": false}),
            "monthly_usd",
        ),
        (
            json!({"monthly_usd": 1e18, "enforce": false}),
            "monthly_usd",
        ),
    ] {
        let resp = app.put_json("/api/budgets", &body, auth);
        assert_eq!(resp.invalid_fields(), [field], "{body}");
    }
    for role in ["viewer", "member"] {
        let who = team.member(app, role);
        app.put_json(
            "/api/budgets",
            &json!({"monthly_usd": 1, "enforce": false}),
            &who.auth,
        )
        .assert_error(403, "forbidden");
    }
}

#[test]
fn each_threshold_is_crossed_once_a_month() {
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    // $0.001: the calls take spending to 27, 54, 81, 108 and 135 %.
    app.put_json(
        "/api/budgets",
        &json!({"monthly_usd": 0.001, "enforce": false}),
        auth,
    )
    .expect(200);
    let key = app.openai_key(auth);
    let (wf, _) = run(app, auth, json!([llm("a", &key, "gpt-4o-mini", "w")]));
    let mut seen = vec![thresholds(app, auth)];
    for _ in 0..4 {
        let id = app.execute(auth, &wf, json!({}));
        app.wait_finished(auth, &id);
        seen.push(thresholds(app, auth));
    }
    assert_eq!(
        seen,
        vec![
            vec![],
            vec![50],
            vec![50, 80],
            vec![50, 80, 100],
            vec![50, 80, 100]
        ]
    );
    let budget = app.get("/api/budgets", auth).expect(200);
    assert_eq!(budget["spent_nusd"], 5 * CALL);
    let first = &budget["alerts"][0];
    assert_eq!(
        first["spent_nusd"],
        2 * CALL,
        "recorded when crossed: {first}"
    );
    assert_eq!(first["budget_nusd"], 1_000_000);
    // Each crossing told the team once, as a billing notification.
    let notes = app
        .get("/api/notifications?category=billing&limit=200", auth)
        .expect(200);
    let titles: Vec<&str> = notes["data"]
        .as_array()
        .unwrap()
        .iter()
        .inspect(|n| assert_eq!(n["type"], "budget.threshold", "{n}"))
        .map(|n| n["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        [100, 80, 50].map(|t| format!("Spending reached {t}% of the monthly budget")),
        "newest first"
    );
}

#[test]
fn with_enforcement_two_concurrent_runs_that_together_overshoot_cannot_both_spend() {
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    // The stand-in's slow model (8 s) at gpt-4o-mini's prices, so both runs are in flight at
    // once. Each reserves 500 output tokens × $0.60/M plus its prompt ≈ $0.000302, and really
    // costs $0.00027: two would spend $0.00054 of a $0.0005 budget.
    let prices = json!({"overrides": [{"model_pattern": "standin-slow", "input_usd": 0.15, "cache_read_usd": 0.075, "output_usd": 0.6}]});
    app.put_json("/api/pricing", &prices, auth).expect(200);
    app.put_json(
        "/api/budgets",
        &json!({"monthly_usd": 0.0005, "enforce": true}),
        auth,
    )
    .expect(200);
    let key = app.openai_key(auth);
    let mut step = llm("a", &key, "standin-slow", "w");
    step["max_tokens"] = json!(500);
    let marker = unique("budget");
    step["prompt"] = json!(format!("Say {marker} {{{{input.n}}}}"));
    let wf = string(&app.create_workflow(auth, json!([step]))["id"]);
    let runs: Vec<String> = (0..2)
        .map(|n| app.execute(auth, &wf, json!({"n": n})))
        .collect();
    let outcomes: Vec<_> = runs.iter().map(|id| app.wait_finished(auth, id)).collect();
    let mut statuses: Vec<&str> = outcomes
        .iter()
        .map(|d| d["status"].as_str().unwrap())
        .collect();
    statuses.sort();
    assert_eq!(statuses, ["failed", "succeeded"], "{outcomes:?}");
    let refused = outcomes.iter().find(|d| d["status"] == "failed").unwrap();
    assert_eq!(refused["error"]["type"], "budget_exceeded", "{refused}");
    assert_eq!(
        stand_in().requests_with(&marker).len(),
        1,
        "the refused run never called the provider"
    );
    let budget = app.get("/api/budgets", auth).expect(200);
    assert_eq!(
        (
            budget["spent_nusd"].as_i64(),
            budget["reserved_nusd"].as_i64()
        ),
        (Some(CALL), Some(0))
    );
}

#[test]
fn with_enforcement_a_model_without_a_price_is_refused() {
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    app.put_json(
        "/api/budgets",
        &json!({"monthly_usd": 100, "enforce": true}),
        auth,
    )
    .expect(200);
    let key = app.openai_key(auth);
    let wf =
        string(&app.create_workflow(auth, json!([llm("a", &key, &unique("unpriced"), "w")]))["id"]);
    let id = app.execute(auth, &wf, json!({}));
    let detail = app.wait_finished(auth, &id);
    assert_eq!(detail["status"], "failed");
    assert_eq!(detail["error"]["type"], "budget_exceeded");
}
