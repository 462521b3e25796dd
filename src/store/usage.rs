//! LLM usage rows, one per call, written by the engine with their cost; the aggregates behind the
//! tokens routes (summed in SQL); and the re-pricing task's reads and writes.

use worker::{D1PreparedStatement, Result};

use super::{row, Db, Team, Text};
use crate::args;
use crate::domain::pricing::Price;
use crate::domain::range::TimeRange;
use crate::domain::usage::Tokens;

/// One call's usage row.
pub struct NewUsage<'a> {
    pub id: &'a str,
    pub execution_id: &'a str,
    pub workflow_id: &'a str,
    pub step_id: &'a str,
    pub agent: Option<&'a str>,
    pub key_id: &'a str,
    pub provider: &'a str,
    pub model: &'a str,
    pub tokens: &'a Tokens,
    /// `None`: no price row matched, the cost is unknown.
    pub cost_nusd: Option<i64>,
    pub price_id: Option<&'a str>,
    /// When the price was looked up.
    pub priced_at: i64,
    /// What only a gateway call has.
    pub gateway: Option<GatewayMarks<'a>>,
}

/// A gateway call's usage row: its span, and whether it came from the cache or was cut.
pub struct GatewayMarks<'a> {
    pub trace_id: &'a str,
    pub span_id: &'a str,
    pub cache_hit: bool,
    /// A cache hit's: what the call it repeats would cost now.
    pub saved_nusd: Option<i64>,
    pub incomplete: bool,
}

pub fn insert(team: &Team, u: &NewUsage, now: i64) -> Result<D1PreparedStatement> {
    let t = u.tokens;
    let g = u.gateway.as_ref();
    team.db.stmt(
        "INSERT INTO llm_usage (id, team_id, execution_id, workflow_id, step_id, agent, key_id, provider, model, \
                                input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens, \
                                cost_nusd, price_id, priced_at, created_at, source, trace_id, span_id, cache_hit, \
                                saved_nusd, incomplete) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        args![
            u.id,
            team.id,
            u.execution_id,
            u.workflow_id,
            u.step_id,
            u.agent,
            u.key_id,
            u.provider,
            u.model,
            t.input,
            t.cache_read,
            t.cache_write,
            t.output,
            t.reasoning,
            u.cost_nusd,
            u.price_id,
            u.priced_at,
            now,
            g.map(|_| "gateway"),
            g.map(|g| g.trace_id),
            g.map(|g| g.span_id),
            i64::from(g.is_some_and(|g| g.cache_hit)),
            g.and_then(|g| g.saved_nusd),
            i64::from(g.is_some_and(|g| g.incomplete))
        ],
    )
}

/// The sums over a set of usage rows, as columns.
const SUMS: &str = "COUNT(*) AS calls, COALESCE(SUM(input_tokens), 0) AS input, \
    COALESCE(SUM(cache_read_tokens), 0) AS cache_read, COALESCE(SUM(cache_write_tokens), 0) AS cache_write, \
    COALESCE(SUM(output_tokens), 0) AS output, COALESCE(SUM(reasoning_tokens), 0) AS reasoning, \
    COALESCE(SUM(cost_nusd), 0) AS cost_nusd, COUNT(*) - COUNT(cost_nusd) AS unpriced";

/// [`SUMS`] (possibly NULL, from a LEFT JOIN) as the API's totals: `calls, tokens {input,
/// cache_read, cache_write, output, reasoning, total}, cost_nusd, cost_usd, unpriced_calls,
/// cost_known` — the cost covers priced calls only; `cost_known` is false while any is unpriced.
const TOTALS: &str = "'calls', COALESCE(calls, 0), \
    'tokens', json_object('input', COALESCE(input, 0), 'cache_read', COALESCE(cache_read, 0), \
        'cache_write', COALESCE(cache_write, 0), 'output', COALESCE(output, 0), 'reasoning', COALESCE(reasoning, 0), \
        'total', COALESCE(input + cache_read + cache_write + output + reasoning, 0)), \
    'cost_nusd', COALESCE(cost_nusd, 0), 'cost_usd', COALESCE(cost_nusd, 0) / 1e9, \
    'unpriced_calls', COALESCE(unpriced, 0), 'cost_known', json(IIF(COALESCE(unpriced, 0) = 0, 'true', 'false'))";

/// `?1` team, `?2`..`?3` the window (`?4`, a key, is NULL).
const WINDOW: &str = "team_id = ?1 AND created_at >= ?2 AND created_at < ?3";
/// The same for one key's calls, `?4`: along `llm_usage_key`, which holds only rows with a key.
const KEY_WINDOW: &str = "team_id = ?1 AND key_id = ?4 AND created_at >= ?2 AND created_at < ?3";

/// Every UTC day the window `?2`..`?3` touches, as day numbers.
const DAYS: &str = "days(day) AS (SELECT CAST(?2 AS INTEGER) / 86400000 UNION ALL SELECT day + 1 FROM days WHERE day < CAST(?3 - 1 AS INTEGER) / 86400000)";

/// The month-end projection's inputs: the month's start, its length, and how much of it has
/// gone (at least a day, so the first hours of a month do not multiply a few calls by hundreds).
pub struct Projection {
    pub month: String,
    pub start: i64,
    pub length: i64,
    pub elapsed: i64,
}

/// Usage over the window as the API's JSON: totals, the zero-filled `daily` series, and with
/// `projection` the month-end projection, or for one key its `key_id` and `name`. `None` when
/// the key is not the team's (deleted keys keep their history).
pub async fn summary_json(
    team: &Team<'_>,
    range: &TimeRange,
    label: &str,
    key_id: Option<&str>,
    projection: Option<&Projection>,
) -> Result<Option<String>> {
    let extra = match (key_id, projection) {
        (Some(_), _) => "'key_id', ?4, 'name', (SELECT name FROM provider_keys WHERE team_id = ?1 AND id = ?4),",
        (None, Some(_)) => "'cache', json((SELECT json_object('hits', COALESCE(SUM(cache_hit), 0), \
              'saved_nusd', COALESCE(SUM(saved_nusd), 0), 'saved_usd', COALESCE(SUM(saved_nusd), 0) / 1e9) FROM u)), \
            'projection', json((SELECT json_object('month', ?6, 'month_to_date_cost_nusd', spent, \
              'month_to_date_cost_usd', spent / 1e9, 'month_end_cost_nusd', projected, 'month_end_cost_usd', projected / 1e9) \
            FROM (SELECT spent, MAX(spent, CAST(round(spent * ?8 * 1.0 / ?9) AS INTEGER)) AS projected \
                  FROM (SELECT COALESCE(SUM(cost_nusd), 0) AS spent FROM llm_usage WHERE team_id = ?1 AND created_at >= ?7)))),",
        (None, None) => "",
    };
    let window = if key_id.is_some() { KEY_WINDOW } else { WINDOW };
    let sql = format!(
        "WITH u AS (SELECT * FROM llm_usage WHERE {window}), {DAYS}, \
              d AS (SELECT created_at / 86400000 AS day, {SUMS} FROM u GROUP BY 1) \
         SELECT json_object('range', ?5, 'from', CAST(?2 AS INTEGER), 'to', CAST(?3 AS INTEGER), {extra} {TOTALS}, \
           'daily', json((SELECT json_group_array(json_object('date', date(day * 86400, 'unixepoch'), {TOTALS})) \
                          FROM (SELECT * FROM days LEFT JOIN d USING (day) ORDER BY day)))) AS body \
         FROM (SELECT {SUMS} FROM u) \
         WHERE ?4 IS NULL OR EXISTS (SELECT 1 FROM provider_keys WHERE team_id = ?1 AND id = ?4)"
    );
    // D1 wants exactly as many bindings as the statement has parameters.
    let mut binds = args![team.id, range.from, range.to, key_id, label].to_vec();
    if let Some(p) = projection {
        binds.extend_from_slice(args![p.month.as_str(), p.start, p.length, p.elapsed]);
    }
    let row = team.db.text(&sql, &binds).await?;
    Ok(row.and_then(|r| r.body))
}

/// Where a usage row came from: the gateway marks its own; a row with an execution is a
/// workflow step's, one without a trace's span.
const SOURCE: &str = "COALESCE(source, IIF(execution_id = '', 'trace', 'workflow'))";

/// What a breakdown groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    Model,
    Agent,
    Workflow,
    Key,
    /// Where the call came from: a workflow step, the gateway, or a reported trace.
    Source,
}

impl By {
    pub fn parse(raw: &str) -> Option<By> {
        match raw {
            "model" => Some(By::Model),
            "agent" => Some(By::Agent),
            "workflow" => Some(By::Workflow),
            "key" => Some(By::Key),
            "source" => Some(By::Source),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            By::Model => "model",
            By::Agent => "agent",
            By::Workflow => "workflow",
            By::Key => "key",
            By::Source => "source",
        }
    }
}

/// Totals per model, agent, workflow or key, dearest first, as the API's JSON `{by, range,
/// from, to, data: [{key, name, ...totals}]}`; `name` is what a person reads (the workflow's or
/// key's name; model and agent names are their own).
pub async fn breakdown_json(
    team: &Team<'_>,
    range: &TimeRange,
    label: &str,
    by: By,
) -> Result<String> {
    let (column, name) = match by {
        By::Source => (SOURCE, "g.key"),
        By::Model => ("model", "g.key"),
        By::Agent => ("COALESCE(agent, '')", "g.key"),
        By::Workflow => (
            "workflow_id",
            "COALESCE((SELECT name FROM workflows WHERE id = g.key AND team_id = ?1), g.key)",
        ),
        By::Key => (
            "key_id",
            "COALESCE((SELECT name FROM provider_keys WHERE id = g.key AND team_id = ?1), g.key)",
        ),
    };
    let sql = format!(
        "SELECT json_object('by', ?6, 'range', ?5, 'from', CAST(?2 AS INTEGER), 'to', CAST(?3 AS INTEGER), 'data', json_group_array( \
                  json_object('key', key, 'name', name, {TOTALS}))) AS body \
         FROM (SELECT g.*, {name} AS name FROM ( \
                 SELECT {column} AS key, {SUMS} FROM llm_usage WHERE {WINDOW} GROUP BY 1) g \
               ORDER BY g.cost_nusd DESC, g.calls DESC, g.key LIMIT 1000)"
    );
    let none: Option<&str> = None;
    let row = team
        .db
        .text(
            &sql,
            args![team.id, range.from, range.to, none, label, by.as_str()],
        )
        .await?;
    Ok(row.and_then(|r| r.body).unwrap_or_default())
}

/// A text field as CSV: a cell that would start a spreadsheet formula (`=`, `+`, `-`, `@`, tab,
/// CR) is prefixed with `'` (as `domain::csv` does), then quoted when it holds a comma, quote or
/// line break (RFC 4180).
fn csv_text(column: &str) -> String {
    let neutral = format!(
        "(CASE WHEN substr({column}, 1, 1) IN ('=', '+', '-', '@', char(9), char(13)) \
               THEN '''' || {column} ELSE COALESCE({column}, '') END)"
    );
    format!(
        "CASE WHEN {neutral} GLOB '*[,\"'||char(10)||char(13)||']*' THEN '\"' || replace({neutral}, '\"', '\"\"') || '\"' \
              ELSE {neutral} END"
    )
}

/// The window's calls as CSV lines (no header), oldest first, at most `limit`; `n` is how many.
/// Costs are exact decimal dollars; an unknown cost is an empty field.
pub async fn export_csv(team: &Team<'_>, range: &TimeRange, limit: u32) -> Result<Text> {
    let sql = format!(
        "SELECT group_concat(line, char(10)) AS body, COUNT(*) AS n FROM ( \
           SELECT created_at || ',' || execution_id || ',' || workflow_id || ',' || {step} || ',' || {agent} || ',' \
                  || COALESCE(key_id, '') || ',' || provider || ',' || {model} || ',' || input_tokens || ',' \
                  || cache_read_tokens || ',' || cache_write_tokens || ',' || output_tokens || ',' || reasoning_tokens || ',' \
                  || CASE WHEN cost_nusd IS NULL THEN '' \
                          WHEN cost_nusd % 1000000000 = 0 THEN cost_nusd / 1000000000 \
                          ELSE (cost_nusd / 1000000000) || '.' || rtrim(printf('%09d', cost_nusd % 1000000000), '0') END \
                  AS line \
           FROM llm_usage WHERE team_id = ?1 AND created_at >= ?2 AND created_at < ?3 \
           ORDER BY created_at, id LIMIT ?4)",
        step = csv_text("step_id"),
        agent = csv_text("agent"),
        model = csv_text("model"),
    );
    let row = team
        .db
        .text(&sql, args![team.id, range.from, range.to, limit])
        .await?;
    Ok(row.unwrap_or_default())
}

// --- re-pricing (cross-team housekeeping for the cron tick) -------------------------------------

row! {
    /// A usage row as the re-pricing task sees it.
    #[derive(Debug)]
    pub struct Priced {
        pub id: String,
        pub team_id: String,
        pub execution_id: String,
        pub step_id: String,
        pub model: String,
        pub created_at: i64,
        pub input_tokens: i64,
        pub cache_read_tokens: i64,
        pub cache_write_tokens: i64,
        pub output_tokens: i64,
        pub reasoning_tokens: i64,
        pub cost_nusd: Option<i64>,
    }
}

impl Priced {
    pub fn tokens(&self) -> Tokens {
        Tokens {
            input: self.input_tokens,
            cache_read: self.cache_read_tokens,
            cache_write: self.cache_write_tokens,
            output: self.output_tokens,
            reasoning: self.reasoning_tokens,
        }
    }
}

/// Rows priced before `price` last changed (was written or deleted) that it may price or did
/// price: its pattern, its team, on or after its effective date. A price row's pattern, team and
/// date never change, and every call is priced as of its own time, so the rows it priced are
/// among these (`migrations/0026_usage_price_index.sql`).
pub async fn stale(db: &Db, price: &Price, limit: u32) -> Result<Vec<Priced>> {
    let (exact, range) = price.model_bounds();
    let (lo, hi) = range.unzip();
    db.all(
        "SELECT id, team_id, execution_id, step_id, model, created_at, input_tokens, cache_read_tokens, \
                cache_write_tokens, output_tokens, reasoning_tokens, cost_nusd \
         FROM llm_usage \
         WHERE (model = ?1 OR (model >= ?2 AND model < ?3)) AND created_at >= ?4 \
           AND (?5 IS NULL OR team_id = ?5) AND (priced_at IS NULL OR priced_at < ?6) \
         LIMIT ?7",
        args![
            exact,
            lo,
            hi,
            price.effective_from,
            price.team_id.as_deref(),
            price.updated_at,
            limit
        ],
    )
    .await
}

/// Writes new costs: `changes` is a JSON array of `{id, e (execution), s (step), c (cost or
/// null), p (price id or null), t (team), a (the row's created_at), m (month), d (change in
/// known cost)}`. The usage rows (found by their whole key: team, time, id), their steps and the
/// months' spending move together.
pub fn repriced(db: &Db, changes: &str, now: i64) -> Result<Vec<D1PreparedStatement>> {
    Ok(vec![
        db.stmt(
            "UPDATE llm_usage SET cost_nusd = j.value->>'c', price_id = j.value->>'p', \
                    priced_at = ?2 \
             FROM json_each(?1) j WHERE llm_usage.team_id = j.value->>'t' \
               AND llm_usage.created_at = j.value->>'a' AND llm_usage.id = j.value->>'id'",
            args![changes, now],
        )?,
        db.stmt(
            "UPDATE execution_steps SET cost_nusd = j.value->>'c' \
             FROM json_each(?1) j \
             WHERE execution_steps.execution_id = j.value->>'e' \
               AND execution_steps.step_id = j.value->>'s'",
            args![changes],
        )?,
        db.stmt(
            "INSERT INTO budget_months (team_id, month, spent_nusd) \
             SELECT value->>'t', value->>'m', SUM(value->>'d') \
             FROM json_each(?1) WHERE true GROUP BY 1, 2 \
             ON CONFLICT (team_id, month) DO UPDATE SET spent_nusd = spent_nusd + excluded.spent_nusd",
            args![changes],
        )?,
    ])
}
