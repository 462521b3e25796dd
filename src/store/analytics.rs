//! Analytics over telemetry, answered from the rollups (`migrations/0003_telemetry.sql`) and
//! never from raw events, which only exports read: a window of whole hours is split by [`plan`]
//! into whole days and the hours of partial days, and each piece is read from the bitmap table
//! that answers it.
//!
//! The window's numbers are written into the SQL text rather than bound: they are integers this
//! code computed. Only the team id and caller-supplied text are bound.

use wasm_bindgen::JsCast;
use worker::Result;

use super::{row, Team};
use crate::args;
use crate::domain::range::{TimeRange, DAY_MS};
use crate::domain::rollup::{
    last_block, plan, single_row, single_row_in, Bits, Interval, Plan, RowPlan, TrendMetric,
    BLOCK_DAYS, HOUR_MS,
};

/// Whose subjects: the whole team, each component of the `page` CTE, or the one component
/// `page.name` of the outer query's row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Team,
    PageComponents,
    PageRow,
}

/// Bits `lo..hi` as SQL: the mask itself (up to 2^60) would not survive D1's f64 binds.
fn mask(b: &Bits) -> String {
    format!("((1 << {}) - (1 << {}))", b.hi, b.lo)
}

/// The rows of `active_days d` that hold the users of one block. (The bitmaps hold users only
/// since sessions are counted where they begin, `migrations/0011_session_starts.sql`.)
fn rows_of(scope: Scope, block: i64) -> String {
    let scope_filter = match scope {
        Scope::Team => "d.scope = ''",
        Scope::PageComponents => "d.scope IN (SELECT name FROM page)",
        Scope::PageRow => "d.scope = page.name",
    };
    format!("d.team_id = ?1 AND d.kind = 'user' AND {scope_filter} AND d.block = {block}")
}

/// Whether the row `d` was active in the window: any whole day's bit, or a partial day's bit and
/// a matching hour of that day.
fn active_in(row: &RowPlan) -> String {
    let mut any: Vec<String> = row
        .whole
        .iter()
        .map(|(column, lo, hi)| format!("d.{} & ((1 << {hi}) - (1 << {lo})) != 0", column.as_str()))
        .collect();
    any.extend(row.edges.iter().map(|e| {
        format!(
            "(d.{col} & (1 << {bit}) != 0 AND EXISTS (SELECT 1 FROM active_hours h \
             WHERE h.team_id = ?1 AND h.kind = d.kind AND h.scope = d.scope AND h.day = {day} \
             AND h.subject = d.subject AND h.hours & ((1 << {hi}) - (1 << {lo})) != 0))",
            col = e.column.as_str(),
            bit = e.bit,
            day = e.day,
            hi = e.hi,
            lo = e.lo,
        )
    }));
    if any.is_empty() {
        any.push("0".into());
    }
    format!("({})", any.join(" OR "))
}

fn row_filter(scope: Scope, row: &RowPlan) -> String {
    format!("{} AND {}", rows_of(scope, row.block), active_in(row))
}

/// How many users were active in the window, as a scalar subquery.
fn distinct_count(plan: &Plan) -> String {
    match single_row(plan) {
        Some(row) => format!(
            "(SELECT COUNT(*) FROM active_days d WHERE {})",
            row_filter(Scope::Team, &row)
        ),
        None => format!("(SELECT COUNT(*) FROM ({}))", active(Scope::Team, plan)),
    }
}

/// How many users were active in the window in each component of `page`: a `users` CTE to add
/// (`scope, n`, for a window longer than one bitmap row) and the expression for the outer
/// query's row. For a window one row per subject answers, a correlated count over the row's
/// component: one range of `active_days`' key each, counted in order, with no grouping.
fn distinct_per_component(plan: &Plan) -> (Option<String>, String) {
    match single_row(plan) {
        Some(row) => (
            None,
            format!(
                "(SELECT COUNT(*) FROM active_days d WHERE {})",
                row_filter(Scope::PageRow, &row)
            ),
        ),
        None => (
            Some(format!(
                "users AS (SELECT scope, COUNT(*) AS n FROM ({}) GROUP BY scope)",
                active(Scope::PageComponents, plan)
            )),
            "IFNULL((SELECT n FROM users WHERE users.scope = page.name), 0)".into(),
        ),
    }
}

/// A `SELECT [scope,] subject` (UNION, so distinct) of everyone active in a long window: one term
/// per bitmap table (D1 allows five terms in a compound SELECT), the rows of every piece by IN
/// and each row's own mask by CASE.
fn active(scope: Scope, plan: &Plan) -> String {
    let (cols, scope_filter) = match scope {
        Scope::Team => ("subject", "scope = ''"),
        Scope::PageComponents | Scope::PageRow => {
            ("scope, subject", "scope IN (SELECT name FROM page)")
        }
    };
    let term = |table: &str, row_col: &str, bits_col: &str, pieces: &[Bits]| {
        let rows: Vec<String> = pieces.iter().map(|b| b.row.to_string()).collect();
        let masks: Vec<String> = pieces
            .iter()
            .map(|b| format!("WHEN {} THEN {}", b.row, mask(b)))
            .collect();
        format!(
            "SELECT {cols} FROM {table} WHERE team_id = ?1 AND kind = 'user' AND {scope_filter} \
             AND {row_col} IN ({}) AND {bits_col} & CASE {row_col} {} END != 0",
            rows.join(", "),
            masks.join(" ")
        )
    };
    let mut terms: Vec<String> = Vec::new();
    if !plan.block_days.is_empty() {
        terms.push(term("active_days", "block", "days", &plan.block_days));
    }
    if !plan.day_hours.is_empty() {
        terms.push(term("active_hours", "day", "hours", &plan.day_hours));
    }
    if terms.is_empty() {
        terms.push(format!("SELECT {cols} FROM active_days WHERE 0"));
    }
    terms.join(" UNION ")
}

/// One period's telemetry figures.
#[derive(Debug)]
pub struct Figures {
    pub actions: i64,
    pub unique_users: i64,
    pub sessions: i64,
    /// Executions created in the period, those that succeeded, and those that finished
    /// (succeeded, failed or timed out) — the success rate's denominator.
    pub executions: i64,
    pub succeeded: i64,
    pub finished: i64,
    /// LLM tokens used, all five buckets.
    pub tokens: i64,
    /// The known cost of the period's LLM calls, nano-USD.
    pub cost_nusd: i64,
    /// Error occurrences recorded in the period.
    pub errors: i64,
}

/// The rollup columns summed over a window's whole hours: telemetry's actions and sessions begun,
/// the engine's executions created (succeeded, finished), tokens used, their known cost and the
/// error occurrences recorded.
const HOUR_SUMS: [&str; 8] = [
    "actions",
    "sessions",
    "executions",
    "succeeded",
    "finished",
    "tokens",
    "cost_nusd",
    "errors",
];

/// One row of [`HOUR_SUMS`] for the window, as a subquery to select from.
fn hour_sums(plan: &Plan) -> String {
    let (h0, h1) = plan.hours;
    let columns: Vec<String> = HOUR_SUMS
        .iter()
        .map(|c| format!("COALESCE(SUM({c}), 0) AS {c}"))
        .collect();
    format!(
        "(SELECT {} FROM team_hours WHERE team_id = ?1 AND hour >= {h0} AND hour < {h1})",
        columns.join(", ")
    )
}

/// The columns of [`hour_sums`] for both periods, the previous one's prefixed `prev_`.
fn both_sums() -> String {
    HOUR_SUMS
        .iter()
        .map(|c| format!("c.{c} AS {c}, p.{c} AS prev_{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

row! {
    /// Both periods' figures as the columns of one row.
    #[derive(Debug)]
    struct Periods {
        actions: i64,
        unique_users: i64,
        sessions: i64,
        executions: i64,
        succeeded: i64,
        finished: i64,
        tokens: i64,
        cost_nusd: i64,
        errors: i64,
        prev_actions: i64,
        prev_unique_users: i64,
        prev_sessions: i64,
        prev_executions: i64,
        prev_succeeded: i64,
        prev_finished: i64,
        prev_tokens: i64,
        prev_cost_nusd: i64,
        prev_errors: i64,
    }
}

/// The figures of two periods in one statement (one round trip): sums over `team_hours` (actions,
/// sessions begun, executions, tokens) and the distinct users. When both fit the rows of one
/// block (windows up to 30 days and the one before), users are counted for both in a single pass
/// over those rows. The tests sit in CASE WHEN, where SQLite stops at the first
/// true term; a bare `a OR b` as a value evaluates both sides, EXISTS probes included.
pub async fn summary(
    team: &Team<'_>,
    current: TimeRange,
    previous: TimeRange,
) -> Result<(Figures, Figures)> {
    let (cur, prev) = (plan(current), plan(previous));
    let shared = last_block(&cur)
        .and_then(|block| Some((single_row_in(&cur, block)?, single_row_in(&prev, block)?)));
    let sums = format!("{} c, {} p", hour_sums(&cur), hour_sums(&prev));
    let sql = match shared {
        Some((c, p)) => {
            let users = format!(
                "(SELECT COALESCE(SUM(CASE WHEN {} THEN 1 ELSE 0 END), 0) AS cur, \
                 COALESCE(SUM(CASE WHEN {} THEN 1 ELSE 0 END), 0) AS prev \
                 FROM active_days d WHERE {})",
                active_in(&c),
                active_in(&p),
                rows_of(Scope::Team, c.block)
            );
            format!(
                "SELECT {}, u.cur AS unique_users, u.prev AS prev_unique_users FROM {sums}, {users} u",
                both_sums()
            )
        }
        None => format!(
            "SELECT {}, {} AS unique_users, {} AS prev_unique_users FROM {sums}",
            both_sums(),
            distinct_count(&cur),
            distinct_count(&prev),
        ),
    };
    let row: Periods = team
        .db
        .first(&sql, args![team.id])
        .await?
        .ok_or_else(|| worker::Error::RustError("summary: no row".into()))?;
    Ok((
        Figures {
            actions: row.actions,
            unique_users: row.unique_users,
            sessions: row.sessions,
            executions: row.executions,
            succeeded: row.succeeded,
            finished: row.finished,
            tokens: row.tokens,
            cost_nusd: row.cost_nusd,
            errors: row.errors,
        },
        Figures {
            actions: row.prev_actions,
            unique_users: row.prev_unique_users,
            sessions: row.prev_sessions,
            executions: row.prev_executions,
            succeeded: row.prev_succeeded,
            finished: row.prev_finished,
            tokens: row.prev_tokens,
            cost_nusd: row.prev_cost_nusd,
            errors: row.prev_errors,
        },
    ))
}

row! {
    /// One component's figures in a window.
    #[derive(Debug)]
    pub struct ComponentRow {
        pub component: String,
        pub actions: i64,
        pub users: i64,
    }
}

row! {
    /// A metric's average over a window.
    #[derive(Debug)]
    pub struct MetricAverage {
        pub component: String,
        pub name: String,
        /// `None` when the sum overflows a double (samples near `f64::MAX`): SQLite's infinity
        /// reaches us as null.
        pub average: Option<f64>,
    }
}

/// The page of registered components (by name, after `after`), each with its figures in `range`,
/// and the averages of their metrics. One round trip.
pub async fn components(
    team: &Team<'_>,
    range: TimeRange,
    after: Option<&str>,
    limit: u32,
) -> Result<(Vec<ComponentRow>, Vec<MetricAverage>)> {
    let p = plan(range);
    let (h0, h1) = p.hours;
    let page = "WITH page AS (SELECT name FROM components WHERE team_id = ?1 \
                AND (?2 IS NULL OR name > ?2) ORDER BY name LIMIT ?3)";
    // Each component's actions are one range of `event_hours`' key (team, component, hour).
    let (users_cte, users) = distinct_per_component(&p);
    let figures = format!(
        "{page}{} SELECT page.name AS component, \
         (SELECT IFNULL(SUM(actions), 0) FROM event_hours WHERE team_id = ?1 \
          AND component = page.name AND hour >= {h0} AND hour < {h1}) AS actions, \
         {users} AS users FROM page ORDER BY page.name",
        users_cte.map(|c| format!(", {c}")).unwrap_or_default(),
    );
    // Metric samples: the window's whole days from `metric_days`, its partial days' hours from
    // `metric_hours`.
    let mut parts: Vec<String> = Vec::new();
    if let Some((d0, d1)) = p.whole_days() {
        parts.push(format!(
            "SELECT component, name, count, total FROM metric_days WHERE team_id = ?1 \
             AND component IN (SELECT name FROM page) AND day >= {d0} AND day < {d1}"
        ));
    }
    for (a, b) in p.partial_hours() {
        parts.push(format!(
            "SELECT component, name, count, total FROM metric_hours WHERE team_id = ?1 \
             AND component IN (SELECT name FROM page) AND hour >= {a} AND hour < {b}"
        ));
    }
    if parts.is_empty() {
        parts.push("SELECT component, name, count, total FROM metric_days WHERE 0".into());
    }
    let averages = format!(
        "{page} SELECT component, name, SUM(total) / SUM(count) AS average FROM ({}) \
         GROUP BY component, name ORDER BY component, name",
        parts.join(" UNION ALL ")
    );
    let binds = args![team.id, after, limit];
    let results = team
        .db
        .read_batch(vec![
            team.db.stmt(&figures, binds)?,
            team.db.stmt(&averages, binds)?,
        ])
        .await?;
    match results.as_slice() {
        [figures, averages] => Ok((super::rows(figures)?, super::rows(averages)?)),
        _ => Err(worker::Error::RustError(
            "components: expected two results".into(),
        )),
    }
}

row! {
    /// A trend value at the start of its bucket.
    #[derive(Debug)]
    pub struct Point {
        pub ts: i64,
        pub value: i64,
    }
}

/// A `team_hours` figure per bucket over whole buckets `span`: the rollup answers every trend
/// but distinct users, so a trend costs the same however many events, runs and calls there were.
pub async fn hour_trend(
    team: &Team<'_>,
    span: TimeRange,
    interval: Interval,
    metric: TrendMetric,
) -> Result<Vec<Point>> {
    let column = match metric {
        TrendMetric::Actions => "actions",
        TrendMetric::Executions => "executions",
        TrendMetric::Tokens => "tokens",
        TrendMetric::Cost => "cost_nusd",
        TrendMetric::Errors => "errors",
        TrendMetric::Users => return user_trend(team, span, interval).await,
    };
    let unit = interval.ms();
    let sql = format!(
        "SELECT hour / {unit} * {unit} AS ts, SUM({column}) AS value FROM team_hours \
         WHERE team_id = ?1 AND hour >= ?2 AND hour < ?3 GROUP BY 1"
    );
    team.db.all(&sql, args![team.id, span.from, span.to]).await
}

/// Distinct users per bucket over whole buckets `span`: one pass over the bitmaps, summing each
/// bucket's bit into its own column.
pub async fn user_trend(
    team: &Team<'_>,
    span: TimeRange,
    interval: Interval,
) -> Result<Vec<Point>> {
    let sum_bits = |col: &str, bits: std::ops::Range<i64>| {
        bits.map(|k| format!("SUM(({col} >> {k}) & 1) AS b{k}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let statements = match interval {
        Interval::Day => plan(span)
            .block_days
            .iter()
            .map(|b| {
                let sql = format!(
                    "SELECT {row} AS row, {} FROM active_days WHERE team_id = ?1 AND kind = 'user' \
                     AND scope = '' AND block = {row} AND days & {} != 0",
                    sum_bits("days", b.lo..b.hi),
                    mask(b),
                    row = b.row,
                );
                team.db.stmt(&sql, args![team.id])
            })
            .collect::<Result<Vec<_>>>()?,
        Interval::Hour => {
            let sql = format!(
                "SELECT day AS row, {} FROM active_hours WHERE team_id = ?1 AND kind = 'user' \
                 AND scope = '' AND day >= ?2 AND day < ?3 GROUP BY day",
                sum_bits("hours", 0..24)
            );
            let days = (
                span.from.div_euclid(DAY_MS),
                (span.to + DAY_MS - 1).div_euclid(DAY_MS),
            );
            vec![team.db.stmt(&sql, args![team.id, days.0, days.1])?]
        }
    };
    if statements.is_empty() {
        return Ok(Vec::new());
    }
    let (row_ms, bit_ms) = match interval {
        Interval::Day => (BLOCK_DAYS * DAY_MS, DAY_MS),
        Interval::Hour => (DAY_MS, HOUR_MS),
    };
    let mut points = Vec::new();
    for result in team.db.read_batch(statements).await? {
        for row in super::raw_rows(&result)? {
            let Ok(base) = super::column::<i64>(&row, "row") else {
                continue;
            };
            // In name order, as the points were always made.
            let mut names: Vec<String> =
                js_sys::Object::keys(row.unchecked_ref::<js_sys::Object>())
                    .iter()
                    .filter_map(|k| k.as_string())
                    .collect();
            names.sort();
            for name in &names {
                let bit = name.strip_prefix('b').and_then(|k| k.parse::<i64>().ok());
                let value = super::column::<i64>(&row, name).ok();
                if let (Some(bit), Some(value)) = (bit, value) {
                    points.push(Point {
                        ts: base * row_ms + bit * bit_ms,
                        value,
                    });
                }
            }
        }
    }
    Ok(points)
}

row! {
    /// An event as exported.
    #[derive(Debug)]
    pub struct ExportRow {
        pub ts: i64,
        pub id: String,
        pub component: String,
        pub action: String,
        pub user_id: Option<String>,
        pub session_id: Option<String>,
        pub properties: Option<String>,
    }
}

/// Up to `limit` events of `range` after position `after` (`(ts, id)`), oldest first: the
/// `(team_id, ts)` index holds the id, so the walk is in index order.
pub async fn export_page(
    team: &Team<'_>,
    range: TimeRange,
    after: (i64, &str),
    limit: u32,
) -> Result<Vec<ExportRow>> {
    team.db
        .all(
            "SELECT ts, id, component, action, user_id, session_id, properties FROM events
             WHERE team_id = ?1 AND ts >= ?2 AND ts < ?3 AND (ts, id) > (?4, ?5)
             ORDER BY ts, id LIMIT ?6",
            args![team.id, range.from, range.to, after.0, after.1, limit],
        )
        .await
}
