//! Traces and their spans: what the OTLP receiver and the engine write, and the two reads of the
//! traces routes. See `migrations/0015_traces.sql` for why the tables look as they do.
//!
//! Writing a request's spans takes two round trips: [`look_up`] reads which of its spans are
//! stored already (an exporter's retry), the stored parents' agents and, when some span is an LLM
//! call, the team's prices; then one batch (one transaction) inserts the new spans
//! ([`insert_spans`]), folds them into their traces ([`upsert_traces`]), records the LLM calls
//! ([`insert_calls`]) and whatever else the caller adds (budget spending, error occurrences). A
//! concurrent request storing the same span makes the plain `INSERT` fail the whole batch, and
//! the caller looks up again: no span is ever counted twice.

use serde_json::{json, Value};
use worker::{D1PreparedStatement, Result};

use super::{json_rows, row, Team, Text};
use crate::args;
use crate::domain::otlp::{Span, TraceSummary};
use crate::domain::pricing::Price;

/// Bytes of JSON bound to one statement (D1 refuses a value over 2 MB; a statement's rows are
/// also one transaction's worth of work, so smaller chunks keep each statement short).
const CHUNK_BYTES: usize = 900 * 1024;
/// Span keys looked up per statement.
const KEYS_PER_LOOKUP: usize = 4000;
/// Spans returned with a trace.
pub const MAX_DETAIL_SPANS: u32 = 2000;
/// Traces a filtered list walks (newest first) looking for matches, per page: a page that finds
/// fewer matches in its walk ends there and hands back a cursor to walk on from.
pub const WALK: u32 = 5000;
/// The same for `q`, which reads the spans of each trace walked.
pub const WALK_SEARCH: u32 = 1000;

/// What is already stored of a request's spans.
#[derive(Default)]
pub struct Known {
    /// The stored spans among the request's and their parents.
    pub spans: Vec<KnownSpan>,
    /// Stored spans, of the traces whose new spans carry an agent, that have no agent yet: an
    /// exporter sends a child before its parent (the agent span ends last), so a span stored
    /// earlier may learn its agent from an ancestor that arrives now.
    pub orphans: Vec<Orphan>,
    pub prices: Vec<Price>,
}

row! {
    /// A stored span, with its agent.
    pub struct KnownSpan {
        pub trace_id: String,
        pub span_id: String,
        pub agent: Option<String>,
    }
}

row! {
    /// A stored span without an agent.
    pub struct Orphan {
        pub trace_id: String,
        pub span_id: String,
        pub parent: Option<String>,
        pub start_ms: f64,
    }
}

impl crate::domain::otlp::Stored for Orphan {
    fn key(&self) -> (&str, &str) {
        (&self.trace_id, &self.span_id)
    }
    fn parent(&self) -> Option<&str> {
        self.parent.as_deref()
    }
    fn start_ms(&self) -> f64 {
        self.start_ms
    }
}

/// Orphans looked at per request.
const MAX_ORPHANS: u32 = 5000;

/// Looks up, in one round trip, which of `spans` are stored already, the stored parents of those
/// whose agent is not known yet, the stored spans without an agent of the traces whose new spans
/// have one, and (when `models` names any) the price rows that can price the team's calls of them.
///
/// `CROSS JOIN` keeps the keys the outer loop: one primary-key probe per key, where the planner
/// would otherwise walk all of the team's spans.
pub async fn look_up(team: &Team<'_>, spans: &[Span], models: &[&str]) -> Result<Known> {
    let mut with_agents: Vec<&str> = Vec::new();
    for s in spans.iter().filter(|s| s.agent.is_some()) {
        if !with_agents.contains(&s.trace_id.as_str()) {
            with_agents.push(&s.trace_id);
        }
    }
    let mut keys: Vec<Value> = Vec::with_capacity(spans.len());
    for s in spans {
        keys.push(json!([s.trace_id, s.span_id]));
        if s.agent.is_none() {
            if let Some(parent) = &s.parent_span_id {
                keys.push(json!([s.trace_id, parent]));
            }
        }
    }
    let mut statements = Vec::new();
    for chunk in keys.chunks(KEYS_PER_LOOKUP) {
        statements.push(team.db.stmt(
            "SELECT s.trace_id, s.span_id, s.agent \
             FROM (SELECT value ->> 0 AS trace_id, value ->> 1 AS span_id FROM json_each(?2) LIMIT -1) k \
             CROSS JOIN spans s ON s.team_id = ?1 AND s.trace_id = k.trace_id AND s.span_id = k.span_id",
            args![team.id, Value::Array(chunk.to_vec()).to_string()],
        )?);
    }
    let lookups = statements.len();
    let orphans = !with_agents.is_empty();
    if orphans {
        statements.push(team.db.stmt(
            "SELECT trace_id, span_id, parent_span_id AS parent, started_at AS start_ms FROM spans \
             WHERE team_id = ?1 AND trace_id IN (SELECT value FROM json_each(?2)) AND agent IS NULL LIMIT ?3",
            args![team.id, json!(with_agents).to_string(), MAX_ORPHANS],
        )?);
    }
    let prices = !models.is_empty();
    if prices {
        statements.push(super::pricing::for_models_stmt(team, models)?);
    }
    let results = team.db.read_batch(statements).await?;
    let mut known = Known::default();
    for result in &results[..lookups] {
        known.spans.extend(super::rows::<KnownSpan>(result)?);
    }
    let mut rest = results[lookups..].iter();
    if orphans {
        if let Some(result) = rest.next() {
            known.orphans = super::rows(result)?;
        }
    }
    if prices {
        if let Some(result) = rest.next() {
            known.prices = super::rows(result)?;
        }
    }
    Ok(known)
}

/// One new span with what the store worked out for it: its cost and the price row.
pub struct Priced<'a> {
    pub span: &'a Span,
    pub cost_nusd: Option<i64>,
    pub price_id: Option<&'a str>,
}

/// `INSERT`s of the spans, in chunks of at most [`CHUNK_BYTES`] of JSON.
pub fn insert_spans(team: &Team, spans: &[Priced], now: i64) -> Result<Vec<D1PreparedStatement>> {
    insert_spans_with(team, spans, now, "")
}

/// [`insert_spans`] with `tail` after the statement (`ON CONFLICT DO NOTHING` for the engine's).
fn insert_spans_with(
    team: &Team,
    spans: &[Priced],
    now: i64,
    tail: &str,
) -> Result<Vec<D1PreparedStatement>> {
    let mut statements = Vec::new();
    let mut rows = String::from("[");
    for p in spans {
        let s = p.span;
        let g = &s.gen_ai;
        let t = s.tokens.as_ref();
        let mut row = Row::new();
        let texts = [&s.trace_id, &s.span_id];
        for text in texts {
            row.text(Some(text));
        }
        row.text(s.parent_span_id.as_deref())
            .text(Some(&s.name))
            .text(Some(s.kind.as_str()))
            .num(s.start_ms)
            .num(s.duration_ms)
            .text(Some(s.status.as_str()));
        let texts = [
            &s.status_message,
            &s.service,
            &s.scope,
            &s.session_id,
            &s.user_id,
            &g.operation,
            &g.provider,
            &g.request_model,
            &g.response_model,
            &s.agent,
            &g.tool,
            &g.conversation_id,
        ];
        for text in texts {
            row.text(text.as_deref());
        }
        let counts = [
            t.map(|t| t.input),
            t.map(|t| t.cache_read),
            t.map(|t| t.cache_write),
            t.map(|t| t.output),
            t.map(|t| t.reasoning),
            p.cost_nusd,
        ];
        for count in counts {
            row.int(count);
        }
        row.text(p.price_id)
            .text(Some(&s.attributes))
            .text(Some(&s.events))
            .text(s.input_messages.as_deref())
            .text(s.output_messages.as_deref())
            .int(Some(i64::from(s.truncated)));
        let row = row.finish();
        if rows.len() > 1 && rows.len() + row.len() > CHUNK_BYTES {
            rows.push(']');
            statements.push(insert_chunk(team, &rows, now, tail)?);
            rows = String::from("[");
        }
        if rows.len() > 1 {
            rows.push(',');
        }
        rows.push_str(&row);
    }
    if rows.len() > 1 {
        rows.push(']');
        statements.push(insert_chunk(team, &rows, now, tail)?);
    }
    Ok(statements)
}

/// One row of a statement's JSON rows, written directly rather than through a
/// `serde_json::Value` per cell (which costs the wasm a conversion per call site).
struct Row(String);

impl Row {
    fn new() -> Row {
        Row(String::from("["))
    }

    fn cell(&mut self) -> &mut String {
        if self.0.len() > 1 {
            self.0.push(',');
        }
        &mut self.0
    }

    fn text(&mut self, value: Option<&str>) -> &mut Row {
        let json = value.map_or_else(|| "null".into(), |v| Value::from(v).to_string());
        self.cell().push_str(&json);
        self
    }

    fn int(&mut self, value: Option<i64>) -> &mut Row {
        let json = value.map_or_else(|| "null".into(), |v| v.to_string());
        self.cell().push_str(&json);
        self
    }

    fn num(&mut self, value: f64) -> &mut Row {
        let json = Value::from(value).to_string();
        self.cell().push_str(&json);
        self
    }

    fn finish(mut self) -> String {
        self.0.push(']');
        self.0
    }
}

/// The columns of a span row as [`insert_spans`] lays them out.
const SPAN_COLUMNS: &str = "trace_id, span_id, parent_span_id, name, kind, started_at, duration_ms, status, \
    status_message, service, scope, session_id, user_id, operation, provider, request_model, response_model, \
    agent, tool, conversation_id, input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, \
    reasoning_tokens, cost_nusd, price_id, attributes, events, input_messages, output_messages, truncated";

fn insert_chunk(team: &Team, rows: &str, now: i64, tail: &str) -> Result<D1PreparedStatement> {
    let values: Vec<String> = (0..32).map(|i| format!("value ->> {i}")).collect();
    let sql = format!(
        "INSERT INTO spans (team_id, {SPAN_COLUMNS}, received_at) SELECT ?1, {}, ?3 FROM {} WHERE true {tail}",
        values.join(", "),
        json_rows!("?2")
    );
    team.db.stmt(&sql, args![team.id, rows, now])
}

/// Whether a failed write batch failed on a span stored meanwhile by a concurrent request.
pub fn is_duplicate(e: &worker::Error) -> bool {
    super::is_unique_violation(e, "spans.")
}

/// The columns of a `traces` row as [`upsert_traces`] and [`record_run`] write them.
const TRACE_COLUMNS: &str = "team_id, trace_id, name, service, root_seen, status, started_at, ended_at, span_count, \
    llm_calls, input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_nusd, \
    agents, models, execution_id, created_at, updated_at";

/// Folds each trace's share of the new spans into its row, in one statement (the engine's own
/// traces go through [`record_run`], which names their execution).
pub fn upsert_traces(
    team: &Team,
    traces: &[TraceSummary],
    now: i64,
) -> Result<D1PreparedStatement> {
    let rows: Vec<Value> = traces
        .iter()
        .map(|t| {
            let (name, service) = t.root.as_ref().unwrap_or(&t.first);
            json!([
                t.trace_id,
                name,
                service,
                i64::from(t.root.is_some()),
                if t.error { "error" } else { "ok" },
                t.start_ms,
                t.end_ms,
                t.span_count,
                t.llm_calls,
                t.tokens.input,
                t.tokens.cache_read,
                t.tokens.cache_write,
                t.tokens.output,
                t.tokens.reasoning,
                t.cost_nusd,
                json!(t.agents).to_string(),
                json!(t.models).to_string(),
            ])
        })
        .collect();
    // What a later span may change: the name and service are the root's once it arrives, else the
    // earliest span's; agents and models are merged (32 at most).
    let pick = |column: &str| {
        format!(
            "{column} = CASE WHEN excluded.root_seen = 1 THEN excluded.{column} WHEN traces.root_seen = 1 THEN traces.{column} \
             WHEN excluded.started_at < traces.started_at THEN excluded.{column} ELSE traces.{column} END"
        )
    };
    let merge = |column: &str| {
        format!(
            "{column} = CASE WHEN excluded.{column} = '[]' THEN traces.{column} ELSE (SELECT json_group_array(value) FROM \
             (SELECT value FROM json_each(traces.{column}) UNION SELECT value FROM json_each(excluded.{column}) LIMIT 32)) END"
        )
    };
    let sums: Vec<String> = [
        "span_count",
        "llm_calls",
        "input_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
        "output_tokens",
        "reasoning_tokens",
        "cost_nusd",
    ]
    .iter()
    .map(|c| format!("{c} = traces.{c} + excluded.{c}"))
    .collect();
    let values: Vec<String> = (0..17).map(|i| format!("value ->> {i}")).collect();
    let sql = format!(
        "INSERT INTO traces ({TRACE_COLUMNS}) \
         SELECT ?1, {}, NULL, ?3, ?3 FROM {} WHERE true \
         ON CONFLICT (team_id, trace_id) DO UPDATE SET {}, {}, root_seen = MAX(traces.root_seen, excluded.root_seen), \
           status = IIF(excluded.status = 'error', 'error', traces.status), \
           started_at = MIN(traces.started_at, excluded.started_at), ended_at = MAX(traces.ended_at, excluded.ended_at), \
           {}, {}, {}, updated_at = excluded.updated_at",
        values.join(", "),
        json_rows!("?2"),
        pick("name"),
        pick("service"),
        sums.join(", "),
        merge("agents"),
        merge("models"),
    );
    team.db
        .stmt(&sql, args![team.id, Value::Array(rows).to_string(), now])
}

/// One LLM call of a trace for `llm_usage`, with its usage row's id.
pub struct Call<'a> {
    pub id: String,
    pub priced: &'a Priced<'a>,
}

/// The usage rows of the request's LLM calls (`source` 'trace': no workflow, execution or step,
/// `''` in those columns, which the breakdowns by workflow leave out; the trace and span named;
/// priced `now`), and their tokens and cost added to `team_hours` once per hour touched, two
/// statements whatever the number of calls (the rollup's trigger skips these rows:
/// `migrations/0022_trace_writes.sql`).
pub fn insert_calls(team: &Team, calls: &[Call], now: i64) -> Result<Vec<D1PreparedStatement>> {
    let rows: Vec<Value> = calls
        .iter()
        .map(|c| {
            let s = c.priced.span;
            let t = s.tokens.unwrap_or_default();
            json!([
                c.id,
                s.agent,
                s.gen_ai.provider.as_deref().unwrap_or("unknown"),
                s.gen_ai.model().unwrap_or("unknown"),
                t.input,
                t.cache_read,
                t.cache_write,
                t.output,
                t.reasoning,
                c.priced.cost_nusd,
                c.priced.price_id,
                now,
                s.called_at(now),
                s.trace_id,
                s.span_id,
            ])
        })
        .collect();
    let rows = Value::Array(rows).to_string();
    let values: Vec<String> = (0..15).map(|i| format!("value ->> {i}")).collect();
    let [id, agent, provider, model, rest @ ..] = values.as_slice() else {
        return Err(worker::Error::RustError("usage columns".into()));
    };
    let sql = format!(
        "INSERT INTO llm_usage (id, team_id, execution_id, workflow_id, step_id, agent, key_id, provider, model, \
                                input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens, \
                                cost_nusd, price_id, priced_at, created_at, trace_id, span_id, source) \
         SELECT {id}, ?1, '', '', '', {agent}, NULL, {provider}, {model}, {}, 'trace' FROM {}",
        rest.join(", "),
        json_rows!("?2")
    );
    Ok(vec![
        team.db.stmt(&sql, args![team.id, rows.as_str()])?,
        team.db.stmt(
            concat!(
                "INSERT INTO team_hours (team_id, hour, actions, tokens, cost_nusd) \
                 SELECT ?1, (value ->> 12) / 3600000 * 3600000, 0, \
                        SUM((value ->> 4) + (value ->> 5) + (value ->> 6) + (value ->> 7) + (value ->> 8)), \
                        COALESCE(SUM(value ->> 9), 0) \
                 FROM ",
                json_rows!("?2"),
                " WHERE true GROUP BY 2 \
                 ON CONFLICT DO UPDATE SET tokens = tokens + excluded.tokens, cost_nusd = cost_nusd + excluded.cost_nusd"
            ),
            args![team.id, rows],
        )?,
    ])
}

/// The statements that write an execution's spans (the engine's, as its steps end): each span
/// at most once (a step run again after a crash writes the same ids), and the trace worked out
/// again from all of its spans, so whatever was stored before is counted once.
pub fn record_run(
    team: &Team,
    spans: &[Priced],
    execution_id: &str,
    now: i64,
) -> Result<Vec<D1PreparedStatement>> {
    let Some(first) = spans.first() else {
        return Ok(Vec::new());
    };
    let mut statements = insert_spans_with(team, spans, now, "ON CONFLICT DO NOTHING")?;
    let first_span = |column: &str, root: bool| {
        format!(
            "(SELECT {column} FROM spans WHERE team_id = ?1 AND trace_id = ?2 {} ORDER BY started_at LIMIT 1)",
            if root { "AND parent_span_id IS NULL" } else { "" }
        )
    };
    let names = |column: &str| {
        format!(
            "(SELECT json_group_array(v) FROM (SELECT DISTINCT {column} AS v FROM spans \
               WHERE team_id = ?1 AND trace_id = ?2 AND {column} IS NOT NULL LIMIT 32))"
        )
    };
    let sql = format!(
        "INSERT INTO traces ({TRACE_COLUMNS}) \
         SELECT ?1, ?2, COALESCE({}, {}), COALESCE({}, {}), \
                EXISTS (SELECT 1 FROM spans WHERE team_id = ?1 AND trace_id = ?2 AND parent_span_id IS NULL), \
                IIF(SUM(status = 'error') > 0, 'error', 'ok'), MIN(started_at), MAX(started_at + duration_ms), COUNT(*), \
                COUNT(input_tokens), TOTAL(input_tokens), TOTAL(cache_read_tokens), TOTAL(cache_write_tokens), \
                TOTAL(output_tokens), TOTAL(reasoning_tokens), TOTAL(cost_nusd), {}, {}, ?3, ?4, ?4 \
         FROM spans WHERE team_id = ?1 AND trace_id = ?2 \
         ON CONFLICT (team_id, trace_id) DO UPDATE SET name = excluded.name, service = excluded.service, \
           root_seen = excluded.root_seen, status = excluded.status, started_at = excluded.started_at, \
           ended_at = excluded.ended_at, span_count = excluded.span_count, llm_calls = excluded.llm_calls, \
           input_tokens = excluded.input_tokens, cache_read_tokens = excluded.cache_read_tokens, \
           cache_write_tokens = excluded.cache_write_tokens, output_tokens = excluded.output_tokens, \
           reasoning_tokens = excluded.reasoning_tokens, cost_nusd = excluded.cost_nusd, agents = excluded.agents, \
           models = excluded.models, execution_id = excluded.execution_id, updated_at = excluded.updated_at",
        first_span("name", true),
        first_span("name", false),
        first_span("service", true),
        first_span("service", false),
        names("agent"),
        names("COALESCE(response_model, request_model)"),
    );
    statements.push(
        team.db
            .stmt(&sql, args![team.id, first.span.trace_id, execution_id, now])?,
    );
    Ok(statements)
}

/// Gives stored spans the agent they learnt from an ancestor that arrived later (each statement
/// probes by key, the usage rows along their time index): `(trace id,
/// span id, agent)` each, on the span and on its usage row (made at or after `since`, when the
/// call started; the usage index bounds the search).
pub fn adopt(
    team: &Team,
    adopted: &[(&str, &str, &str)],
    since: i64,
) -> Result<Vec<D1PreparedStatement>> {
    let rows = json!(adopted).to_string();
    Ok(vec![
        team.db.stmt(
            "UPDATE spans SET agent = (SELECT j.value ->> 2 FROM json_each(?2) j \
                                       WHERE j.value ->> 0 = spans.trace_id AND j.value ->> 1 = spans.span_id) \
             WHERE team_id = ?1 AND (trace_id, span_id) IN (SELECT value ->> 0, value ->> 1 FROM json_each(?2)) \
               AND agent IS NULL",
            args![team.id, rows],
        )?,
        team.db.stmt(
            "UPDATE llm_usage SET agent = (SELECT j.value ->> 2 FROM json_each(?2) j \
                                           WHERE j.value ->> 0 = llm_usage.trace_id AND j.value ->> 1 = llm_usage.span_id) \
             WHERE team_id = ?1 AND created_at >= ?3 \
               AND (trace_id, span_id) IN (SELECT value ->> 0, value ->> 1 FROM json_each(?2)) AND agent IS NULL",
            args![team.id, rows, since],
        )?,
    ])
}

/// The list's filters, already validated.
#[derive(Debug, Default)]
pub struct Filter {
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub service: Option<String>,
    pub agent: Option<String>,
    pub model: Option<String>,
    pub status: Option<&'static str>,
    pub q: Option<String>,
}

impl Filter {
    fn narrows(&self) -> bool {
        self.service.is_some()
            || self.agent.is_some()
            || self.model.is_some()
            || self.status.is_some()
            || self.q.is_some()
    }
}

/// A trace as the API shows it (`t` is `traces`).
const TRACE_JSON: &str = "json_object('id', t.trace_id, 'name', t.name, 'service', t.service, \
    'started_at', CAST(t.started_at AS INTEGER), 'duration_ms', t.ended_at - t.started_at, \
    'span_count', t.span_count, 'llm_calls', t.llm_calls, \
    'tokens', json_object('input', t.input_tokens, 'cache_read', t.cache_read_tokens, \
        'cache_write', t.cache_write_tokens, 'output', t.output_tokens, 'reasoning', t.reasoning_tokens, \
        'total', t.input_tokens + t.cache_read_tokens + t.cache_write_tokens + t.output_tokens + t.reasoning_tokens), \
    'cost_nusd', t.cost_nusd, 'cost_usd', t.cost_nusd / 1e9, 'status', t.status, \
    'agents', json(t.agents), 'models', json(t.models), 'execution_id', t.execution_id)";

/// A span as the API shows it (`s` is `spans`, `t` its trace); `offset_ms` is its start from the
/// trace's, with the sub-millisecond precision `started_at` (integer ms) does not have.
const SPAN_JSON: &str = "json_object('span_id', s.span_id, 'parent_span_id', s.parent_span_id, 'name', s.name, \
    'kind', s.kind, 'started_at', CAST(s.started_at AS INTEGER), 'offset_ms', s.started_at - t.started_at, \
    'duration_ms', s.duration_ms, 'status', s.status, 'status_message', s.status_message, 'service', s.service, \
    'operation', s.operation, 'provider', s.provider, 'model', COALESCE(s.response_model, s.request_model), \
    'agent', s.agent, 'tool', s.tool, \
    'tokens', IIF(s.input_tokens IS NULL, NULL, json_object('input', s.input_tokens, 'cache_read', s.cache_read_tokens, \
        'cache_write', s.cache_write_tokens, 'output', s.output_tokens, 'reasoning', s.reasoning_tokens, \
        'total', s.input_tokens + s.cache_read_tokens + s.cache_write_tokens + s.output_tokens + s.reasoning_tokens)), \
    'cost_nusd', s.cost_nusd, 'cost_usd', s.cost_nusd / 1e9, \
    'attributes', json(s.attributes), 'events', json(s.events), \
    'input_messages', json(s.input_messages), 'output_messages', json(s.output_messages), \
    'truncated', json(IIF(s.truncated, 'true', 'false')))";

/// A page of the list: the traces (at most `limit + 1`, to tell whether there is more) and, when
/// the walk ended before finding them all, the trace to walk on from.
#[derive(Default)]
pub struct ListPage {
    pub data: Vec<Value>,
    pub last: Option<String>,
}

/// Traces newest first, after the trace `after` (a cursor) when given. The walk along the list's
/// index is bounded ([`WALK`]): with narrowing filters a page may come back short, with `last`
/// naming where to walk on.
pub async fn list(
    team: &Team<'_>,
    f: &Filter,
    after: Option<&str>,
    limit: u32,
) -> Result<ListPage> {
    let walk = match (f.q.is_some(), f.narrows()) {
        (true, _) => WALK_SEARCH,
        (false, true) => WALK,
        (false, false) => limit + 1,
    };
    // Matched with `instr`, not LIKE: D1 refuses LIKE patterns over 50 bytes (a 500 that
    // schemathesis found), and `q` takes up to 1 KiB.
    let q = f.q.as_deref();
    // `w` walks the list's index alone (no row read) and is run twice: once as the outer loop of
    // `hits`, which reads each walked trace by key and stops at the page's end, once for the
    // walk's last entry (NULL when the walk ended before its bound: nothing was left behind).
    let sql = format!(
        "WITH w AS NOT MATERIALIZED ( \
           SELECT t.started_at, t.trace_id FROM traces t WHERE t.team_id = ?1 \
             AND (?2 IS NULL OR t.started_at >= ?2) AND (?3 IS NULL OR t.started_at < ?3) \
             AND (?4 IS NULL OR (t.started_at, t.trace_id) < \
                  (SELECT c.started_at, c.trace_id FROM traces c WHERE c.team_id = ?1 AND c.trace_id = ?4)) \
           ORDER BY t.started_at DESC, t.trace_id DESC LIMIT ?5), \
         hits AS ( \
           SELECT t.* FROM w CROSS JOIN traces t ON t.team_id = ?1 AND t.trace_id = w.trace_id \
           WHERE (?6 IS NULL OR t.service = ?6) \
             AND (?7 IS NULL OR EXISTS (SELECT 1 FROM json_each(t.agents) WHERE value = ?7)) \
             AND (?8 IS NULL OR EXISTS (SELECT 1 FROM json_each(t.models) WHERE value = ?8)) \
             AND (?9 IS NULL OR t.status = ?9) \
             AND (?10 IS NULL OR EXISTS (SELECT 1 FROM spans s WHERE s.team_id = ?1 AND s.trace_id = t.trace_id \
                                         AND instr(lower(s.name), lower(?10)) > 0)) \
           ORDER BY w.started_at DESC, w.trace_id DESC LIMIT ?11) \
         SELECT json_array((SELECT json_group_array(json({TRACE_JSON})) FROM hits t), \
                           (SELECT trace_id FROM w LIMIT 1 OFFSET ?5 - 1)) AS body"
    );
    let page = team
        .db
        .text(
            &sql,
            args![
                team.id,
                f.from,
                f.to,
                after,
                walk,
                f.service.as_deref(),
                f.agent.as_deref(),
                f.model.as_deref(),
                f.status,
                q,
                limit + 1
            ],
        )
        .await?;
    let Some(Text {
        body: Some(body), ..
    }) = page
    else {
        return Ok(ListPage::default());
    };
    let (data, last) = match serde_json::from_str(&body) {
        Ok(Value::Array(mut parts)) if parts.len() == 2 => {
            let last = parts.pop().and_then(|l| l.as_str().map(str::to_string));
            let data = match parts.pop() {
                Some(Value::Array(data)) => data,
                _ => Vec::new(),
            };
            (data, last)
        }
        _ => (Vec::new(), None),
    };
    Ok(ListPage { data, last })
}

/// The trace with its first [`MAX_DETAIL_SPANS`] spans by start, or `None` when the team has no
/// such trace.
pub async fn detail_json(team: &Team<'_>, trace_id: &str) -> Result<Option<String>> {
    // TRACE_JSON with two more members.
    let trace = TRACE_JSON.strip_suffix(')').unwrap_or(TRACE_JSON);
    let sql = format!(
        "SELECT {trace}, \
           'spans', (SELECT json_group_array(json(x)) FROM (SELECT {SPAN_JSON} AS x FROM spans s \
                     WHERE s.team_id = ?1 AND s.trace_id = ?2 ORDER BY s.started_at, s.span_id LIMIT ?3)), \
           'spans_truncated', json(IIF(t.span_count > ?3, 'true', 'false'))) AS body \
         FROM traces t WHERE t.team_id = ?1 AND t.trace_id = ?2"
    );
    let row: Option<Text> = team
        .db
        .first(&sql, args![team.id, trace_id, MAX_DETAIL_SPANS])
        .await?;
    Ok(row.and_then(|r| r.body))
}
