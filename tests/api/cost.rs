//! Cost: usage priced from the seeded table to the nano-dollar, team overrides, unknown models,
//! re-pricing after a correction, and the usage, breakdown, export and key-usage routes.

use crate::helpers::*;
use serde_json::{json, Value};

/// The seeded default row for `gpt-4o-mini%` (migrations/0006_cost_errors.sql).
const GPT_4O_MINI_PRICE: &str = "01940000-0000-7000-8000-000000000009";
/// The stand-in's OpenAI usage (200 uncached input, 800 cached, 180 output, 120 reasoning) at
/// gpt-4o-mini's $0.15 / $0.075 cached / $0.60 output per million, reasoning at the output rate:
/// 200×0.15 + 800×0.075 + 180×0.60 + 120×0.60 = 30 + 60 + 108 + 72 µ$.
const GPT_4O_MINI_CALL: i64 = 270_000;
/// The stand-in's Anthropic usage (50 input, 900 cache read, 100 cache write, 70 output) at
/// claude-sonnet-4's $3 / $0.30 read / $3.75 write / $15 output per million:
/// 50×3 + 900×0.30 + 100×3.75 + 70×15 = 150 + 270 + 375 + 1050 µ$.
const SONNET_CALL: i64 = 1_845_000;

pub fn llm(id: &str, key_id: &str, model: &str, agent: &str) -> Value {
    json!({"id": id, "kind": "llm", "agent": agent, "key_id": key_id, "model": model, "prompt": format!("Say {}", unique("p"))})
}

/// Runs a new workflow of `steps` once, asserting it succeeds; answers (workflow id, execution).
pub fn run(app: &TestApp, auth: &Auth, steps: Value) -> (String, Value) {
    let wf = string(&app.create_workflow(auth, steps)["id"]);
    let id = app.execute(auth, &wf, json!({}));
    let detail = app.wait_finished(auth, &id);
    assert_eq!(detail["status"], "succeeded", "{detail}");
    (wf, detail)
}

fn step_cost(detail: &Value, id: &str) -> Value {
    let steps = detail["steps"].as_array().expect("steps");
    let step = steps.iter().find(|s| s["id"] == id).expect("the step");
    step["cost_nusd"].clone()
}

/// The usage row's cost and price id, as stored.
fn stored(app: &TestApp, execution_id: &str) -> Value {
    let out = app.sql(&format!(
        "SELECT cost_nusd, price_id FROM llm_usage WHERE execution_id = '{execution_id}'"
    ));
    out[0]["results"][0].clone()
}

fn tick(app: &TestApp) {
    app.get("/__scheduled?cron=*+*+*+*+*", &Auth::None);
}

#[test]
fn cached_and_reasoning_tokens_cost_the_seeded_price_to_the_nano_dollar() {
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let openai = app.openai_key(auth);
    let anthropic = app.add_key(auth, "anthropic", ANTHROPIC_KEY);
    let steps = json!([
        llm("a", &openai, "gpt-4o-mini", "writer"),
        llm("b", &anthropic, "claude-sonnet-4-5", "critic")
    ]);
    let (_, detail) = run(app, auth, steps);
    assert_eq!(step_cost(&detail, "a"), json!(GPT_4O_MINI_CALL));
    assert_eq!(step_cost(&detail, "b"), json!(SONNET_CALL));
    let a = &detail["steps"][0];
    assert!(
        (a["cost_usd"].as_f64().unwrap() - 0.00027).abs() < 1e-12,
        "{a}"
    );
    let id = string(&detail["id"]);
    let row = app.sql(&format!(
        "SELECT price_id FROM llm_usage WHERE execution_id = '{id}' AND step_id = 'a'"
    ));
    assert_eq!(row[0]["results"][0]["price_id"], GPT_4O_MINI_PRICE);

    let usage = app.get("/api/tokens/usage?range=24h", auth).expect(200);
    assert_eq!(usage["calls"], 2);
    assert_eq!(usage["cost_nusd"], GPT_4O_MINI_CALL + SONNET_CALL);
    assert_eq!(usage["cost_known"], true);
    assert_eq!(
        usage["tokens"],
        json!({"input": 250, "cache_read": 1700, "cache_write": 100, "output": 250, "reasoning": 120, "total": 2420})
    );
}

#[test]
fn a_team_override_changes_the_cost_for_that_team_only() {
    let app = app();
    let ours = app.signup_team();
    let auth = &ours.owner.auth;
    // $1 input, $0.50 cached, $2 output: 200×1 + 800×0.5 + 300×2 = 1200 µ$.
    let body = json!({"overrides": [{"model_pattern": "gpt-4o-mini%", "input_usd": 1, "cache_read_usd": 0.5, "output_usd": 2, "source": "our contract"}]});
    let pricing = app.put_json("/api/pricing", &body, auth).expect(200);
    assert_eq!(pricing["overrides"].as_array().unwrap().len(), 1);
    assert_eq!(pricing["overrides"][0]["output_nusd"], 2_000_000_000_i64);
    assert!(pricing["defaults"].as_array().unwrap().len() >= 20);
    let key = app.openai_key(auth);
    let (_, detail) = run(app, auth, json!([llm("a", &key, "gpt-4o-mini", "w")]));
    assert_eq!(step_cost(&detail, "a"), json!(1_200_000));

    let theirs = app.signup_team();
    let their_key = app.openai_key(&theirs.owner.auth);
    let (_, detail) = run(
        app,
        &theirs.owner.auth,
        json!([llm("a", &their_key, "gpt-4o-mini", "w")]),
    );
    assert_eq!(step_cost(&detail, "a"), json!(GPT_4O_MINI_CALL));
    let theirs_pricing = app.get("/api/pricing", &theirs.owner.auth).expect(200);
    assert_eq!(theirs_pricing["overrides"], json!([]));
}

#[test]
fn a_newer_model_gets_its_own_row_not_its_family_prefix() {
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let key = app.openai_key(auth);
    let (_, detail) = run(
        app,
        auth,
        json!([llm("a", &key, "gpt-5.5-2026-04-23", "w")]),
    );
    // gpt-5.5's $5 / $0.50 cached / $30 output, not gpt-5's $1.25 / $0.125 / $10:
    // 200×5 + 800×0.5 + 300×30 = 1000 + 400 + 9000 µ$.
    assert_eq!(step_cost(&detail, "a"), json!(10_400_000));
}

#[test]
fn an_unknown_model_is_flagged_unknown_never_zero() {
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let key = app.openai_key(auth);
    let (_, detail) = run(
        app,
        auth,
        json!([llm("a", &key, &unique("mystery-model"), "w")]),
    );
    assert_eq!(step_cost(&detail, "a"), Value::Null);
    assert_eq!(detail["steps"][0]["cost_usd"], Value::Null);
    let usage = app.get("/api/tokens/usage", auth).expect(200);
    assert_eq!(usage["calls"], 1);
    assert_eq!(usage["unpriced_calls"], 1);
    assert_eq!(usage["cost_known"], false);
    let csv = app.get("/api/tokens/export.csv", auth);
    let line = csv.body.lines().nth(1).expect("one call");
    assert!(line.ends_with(",120,"), "an empty cost field: {line}");
}

/// Fires cron ticks until the step costs `expected` (other tests' ticks may get there first).
/// Reads through the API: `app.sql` holds every other test's requests while it runs.
fn reprice_until(app: &TestApp, auth: &Auth, execution_id: &str, expected: Value) {
    let cost = || {
        step_cost(
            &app.get(&format!("/api/executions/{execution_id}"), auth)
                .expect(200),
            "a",
        )
    };
    for _ in 0..10 {
        tick(app);
        if cost() == expected {
            return;
        }
    }
    panic!("not re-priced to {expected}: {}", cost());
}

#[test]
fn correcting_a_price_row_reprices_the_rows_it_priced_on_the_next_ticks() {
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let model = unique("repriced-model");
    let price = |usd: f64| {
        let body =
            json!({"overrides": [{"model_pattern": model, "input_usd": usd, "output_usd": usd}]});
        let pricing = app.put_json("/api/pricing", &body, auth).expect(200);
        string(&pricing["overrides"][0]["id"])
    };
    price(1.0);
    let key = app.openai_key(auth);
    let (_, detail) = run(app, auth, json!([llm("a", &key, &model, "w")]));
    let id = string(&detail["id"]);
    assert_eq!(
        step_cost(&detail, "a"),
        json!(1_300_000),
        "1300 tokens at $1/M"
    );

    // The correction replaces the row (the old one is marked deleted): the next ticks re-price
    // what it priced, the step and the month's spending with it.
    let corrected = price(2.0);
    reprice_until(app, auth, &id, json!(2_600_000));
    assert_eq!(
        stored(app, &id),
        json!({"cost_nusd": 2_600_000, "price_id": corrected})
    );
    let budget = app.get("/api/budgets", auth).expect(200);
    assert_eq!(
        budget["spent_nusd"], 2_600_000,
        "the month's spending follows"
    );
    let summary = app
        .get("/api/analytics/summary?range=24h", auth)
        .expect(200);
    assert_eq!(
        summary["current"]["cost_nusd"], 2_600_000,
        "the hourly rollup follows too: {summary}"
    );

    // Removing the override (no default row prices this model): what it priced is re-priced
    // away from it, to an unknown cost, never left at the deleted row's.
    app.put_json("/api/pricing", &json!({"overrides": []}), auth)
        .expect(200);
    reprice_until(app, auth, &id, Value::Null);
    assert_eq!(
        stored(app, &id),
        json!({"cost_nusd": null, "price_id": null}),
        "not re-priced away from a deleted row"
    );
    let budget = app.get("/api/budgets", auth).expect(200);
    assert_eq!(budget["spent_nusd"], 0, "{budget}");
}

#[test]
fn analytics_count_cost_and_errors_in_the_summary_and_the_trends() {
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let key = app.openai_key(auth);
    let unpriced = unique("no-such-model");
    run(app, auth, json!([llm("a", &key, "gpt-4o-mini", "writer")]));
    run(app, auth, json!([llm("b", &key, &unpriced, "writer")]));
    for i in 0..2 {
        let body = json!({"type": "ClientError", "message": format!("boom {i}")});
        app.post_json("/api/errors", &body, auth).expect(201);
    }

    let summary = app
        .get("/api/analytics/summary?range=24h", auth)
        .expect(200);
    let current = &summary["current"];
    // The unpriced call adds nothing: cost is what is known, never a guess.
    assert_eq!(current["cost_nusd"], GPT_4O_MINI_CALL, "{summary}");
    assert!(
        (current["cost_usd"].as_f64().unwrap() - 0.00027).abs() < 1e-12,
        "{summary}"
    );
    assert_eq!(current["errors"], 2, "{summary}");
    assert_eq!(summary["previous"]["cost_nusd"], 0);
    assert_eq!(summary["previous"]["errors"], 0);

    let trend = |metric: &str| {
        let t = app
            .get(
                &format!("/api/analytics/trends?metric={metric}&range=24h"),
                auth,
            )
            .expect(200);
        assert_eq!(t["metric"], metric);
        let buckets = t["buckets"].as_array().expect("buckets").clone();
        assert_eq!(buckets.len(), 24, "{t}");
        buckets
            .iter()
            .map(|b| b["value"].as_f64().unwrap())
            .sum::<f64>()
    };
    assert!(
        (trend("cost") - 0.00027).abs() < 1e-12,
        "cost is in dollars"
    );
    assert_eq!(trend("errors"), 2.0);
    assert_eq!(trend("executions"), 2.0);
    let usage = app.get("/api/tokens/usage?range=24h", auth).expect(200);
    assert_eq!(trend("tokens"), usage["tokens"]["total"].as_f64().unwrap());

    // Another team's figures are its own.
    let other = app.signup_team();
    let theirs = app
        .get("/api/analytics/summary?range=24h", &other.owner.auth)
        .expect(200);
    assert_eq!(theirs["current"]["cost_nusd"], 0);
    assert_eq!(theirs["current"]["errors"], 0);
}

/// The sum of one field over a breakdown's rows.
fn sum(rows: &[Value], field: &str) -> i64 {
    rows.iter()
        .map(|r| r.pointer(field).and_then(Value::as_i64).unwrap_or(0))
        .sum()
}

/// Dollars as written in the CSV, back to nano-USD exactly.
fn nusd(field: &str) -> i64 {
    let (whole, frac) = field.split_once('.').unwrap_or((field, ""));
    let frac = format!("{frac:0<9}");
    whole.parse::<i64>().unwrap() * 1_000_000_000 + frac.parse::<i64>().unwrap()
}

#[test]
fn breakdowns_sum_to_the_usage_total_and_the_csv_has_one_row_per_call() {
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let openai = app.openai_key(auth);
    let anthropic = app.add_key(auth, "anthropic", ANTHROPIC_KEY);
    let (wf1, _) = run(
        app,
        auth,
        json!([
            llm("a", &openai, "gpt-4o-mini", "writer"),
            llm("b", &anthropic, "claude-sonnet-4-5", "critic")
        ]),
    );
    let wf2_steps = json!([llm("a", &openai, "gpt-4o-mini", "writer")]);
    let (wf2, first) = run(app, auth, wf2_steps);
    let again = app.execute(auth, &wf2, json!({}));
    app.wait_finished(auth, &again);
    let total_cost = 3 * GPT_4O_MINI_CALL + SONNET_CALL;

    let usage = app.get("/api/tokens/usage?range=7d", auth).expect(200);
    assert_eq!(
        (usage["calls"].as_i64(), usage["cost_nusd"].as_i64()),
        (Some(4), Some(total_cost))
    );
    let daily = usage["daily"].as_array().unwrap();
    assert!(
        daily.len() == 8 || daily.len() == 7,
        "zero-filled days: {}",
        daily.len()
    );
    assert_eq!(sum(daily, "/calls"), 4);
    assert_eq!(sum(daily, "/cost_nusd"), total_cost);
    assert!(daily.iter().filter(|d| d["calls"] == 0).count() >= 6);
    assert!(
        usage["projection"]["month_end_cost_usd"].as_f64().unwrap()
            >= usage["cost_usd"].as_f64().unwrap() - 1e-9
    );

    for by in ["model", "agent", "workflow", "key"] {
        let b = app
            .get(&format!("/api/tokens/breakdown?by={by}&range=7d"), auth)
            .expect(200);
        assert_eq!(b["by"], by);
        let rows = b["data"].as_array().unwrap();
        assert_eq!(sum(rows, "/calls"), 4, "{b}");
        assert_eq!(sum(rows, "/cost_nusd"), total_cost, "{b}");
        for bucket in [
            "input",
            "cache_read",
            "cache_write",
            "output",
            "reasoning",
            "total",
        ] {
            let path = format!("/tokens/{bucket}");
            assert_eq!(
                sum(rows, &path),
                usage["tokens"][bucket].as_i64().unwrap(),
                "{by} {bucket}"
            );
        }
    }
    let by_workflow = app
        .get("/api/tokens/breakdown?by=workflow", auth)
        .expect(200);
    let names = app.get(&format!("/api/workflows/{wf1}"), auth).expect(200)["name"].clone();
    let row = by_workflow["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == wf1.as_str())
        .cloned()
        .unwrap();
    assert_eq!(row["name"], names);
    let by_key = app.get("/api/tokens/breakdown?by=key", auth).expect(200);
    let key_row = &by_key["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == openai.as_str())
        .cloned()
        .unwrap();
    assert_eq!(key_row["calls"], 3);
    assert!(
        key_row["name"].as_str().unwrap().starts_with("key-"),
        "{key_row}"
    );

    let csv = app.get("/api/tokens/export.csv?range=7d", auth);
    assert_eq!(csv.status, 200);
    assert!(csv
        .header("content-type")
        .unwrap_or("")
        .starts_with("text/csv"));
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines[0], "created_at,execution_id,workflow_id,step_id,agent,key_id,provider,model,input,cache_read,cache_write,output,reasoning,cost_usd");
    assert_eq!(lines.len(), 5, "{}", csv.body);
    let rows: Vec<Vec<&str>> = lines[1..].iter().map(|l| l.split(',').collect()).collect();
    assert!(rows
        .iter()
        .all(|r| r.len() == 14 && r[0].parse::<i64>().is_ok()));
    assert_eq!(
        rows.iter().map(|r| nusd(r[13])).sum::<i64>(),
        total_cost,
        "{}",
        csv.body
    );
    assert!(rows.iter().any(|r| r[1] == first["id"]
        && r[2] == wf2
        && r[4] == "writer"
        && r[7] == "gpt-4o-mini"
        && r[8..13] == ["200", "800", "0", "180", "120"]));

    let key_usage = app
        .get(&format!("/api/keys/{openai}/usage?range=7d"), auth)
        .expect(200);
    assert_eq!(key_usage["calls"], 3);
    assert_eq!(key_usage["cost_nusd"], 3 * GPT_4O_MINI_CALL);
    assert_eq!(sum(key_usage["daily"].as_array().unwrap(), "/calls"), 3);
}

#[test]
fn viewers_read_cost_and_only_admins_set_prices() {
    let app = app();
    let team = app.signup_team();
    let viewer = team.member(app, "viewer");
    let key = app.openai_key(&team.owner.auth);
    for path in [
        "/api/tokens/usage".to_string(),
        "/api/tokens/breakdown?by=agent".into(),
        "/api/tokens/export.csv".into(),
        format!("/api/keys/{key}/usage"),
        "/api/pricing".into(),
        "/api/budgets".into(),
    ] {
        assert_eq!(app.get(&path, &viewer.auth).status, 200, "{path}");
    }
    let body = json!({"overrides": []});
    for role in ["viewer", "member"] {
        let who = team.member(app, role);
        app.put_json("/api/pricing", &body, &who.auth)
            .assert_error(403, "forbidden");
    }
    let admin = team.member(app, "admin");
    app.put_json("/api/pricing", &body, &admin.auth).expect(200);
}

#[test]
fn another_teams_key_usage_is_404() {
    let app = app();
    let theirs = app.signup_team();
    let their_key = app.openai_key(&theirs.owner.auth);
    let ours = app.signup_team();
    for id in [
        their_key.as_str(),
        "not-a-uuid",
        "0190a5b0-0000-7000-8000-000000000000",
    ] {
        app.get(&format!("/api/keys/{id}/usage"), &ours.owner.auth)
            .assert_error(404, "not_found");
    }
    app.get(&format!("/api/keys/{their_key}/usage"), &theirs.owner.auth)
        .expect(200);
}

#[test]
fn bad_query_parameters_and_price_rows_get_422_naming_them() {
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let key = app.openai_key(auth);
    for path in [
        "/api/tokens/usage".to_string(),
        "/api/tokens/breakdown".into(),
        "/api/tokens/export.csv".into(),
        format!("/api/keys/{key}/usage"),
        "/api/errors/stats".into(),
    ] {
        for (query, field) in [
            ("range=1y", "range"),
            ("from=yesterday", "from"),
            ("from=2000&to=1000", "to"),
        ] {
            let resp = app.get(&format!("{path}?{query}"), auth);
            resp.assert_error(422, "validation_failed");
            assert_eq!(resp.invalid_fields(), [field], "{path}?{query}");
        }
    }
    let resp = app.get("/api/tokens/breakdown?by=colour", auth);
    assert_eq!(resp.invalid_fields(), ["by"]);

    let bad = json!({"overrides": [
        {"model_pattern": "gpt%4%", "input_usd": 1, "output_usd": 1},
        {"model_pattern": "m", "input_usd": -1, "output_usd": "2"},
        {"model_pattern": "m2", "input_usd": 1},
        {"model_pattern": "m3", "input_usd": 1, "output_usd": 1, "effective_from": "soon"},
        {"model_pattern": "m4", "input_usd": 1, "output_usd": 1},
        {"model_pattern": "m4", "input_usd": 2, "output_usd": 2},
        7
    ]});
    let resp = app.put_json("/api/pricing", &bad, auth);
    resp.assert_error(422, "validation_failed");
    let fields = resp.invalid_fields();
    for field in [
        "overrides[0].model_pattern",
        "overrides[1].input_usd",
        "overrides[1].output_usd",
        "overrides[2].output_usd",
        "overrides[3].effective_from",
        "overrides[5].model_pattern",
        "overrides[6].item",
    ] {
        assert!(
            fields.iter().any(|f| f == field),
            "{field} not named: {resp}"
        );
    }
    assert_eq!(
        app.get("/api/pricing", auth).expect(200)["overrides"],
        json!([])
    );
}

#[test]
fn the_token_export_neutralises_cells_that_begin_with_a_formula_character() {
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let key = app.openai_key(auth);
    run(
        app,
        auth,
        json!([
            llm(
                "a",
                &key,
                "=HYPERLINK(\"http://evil.example\",\"x\")",
                "+agent"
            ),
            llm("b", &key, "@SUM(1)", "-2")
        ]),
    );
    let csv = app.get("/api/tokens/export.csv?range=7d", auth).body;
    for cell in [
        "\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\"",
        "'+agent",
        "'@SUM(1)",
        "'-2",
    ] {
        assert!(
            csv.contains(&format!(",{cell},")),
            "{cell} not neutralised: {csv}"
        );
    }
    for line in csv.lines() {
        for raw in line.split(',') {
            assert!(!raw.starts_with(['=', '+', '-', '@']), "{raw} in {line}");
        }
    }
}
