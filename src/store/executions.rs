//! Executions, their steps and the status-change feed. Every state change is a guarded UPDATE
//! (`WHERE status IN (...)`), so concurrent consumers, cancels and redeliveries cannot move an
//! execution or step backwards or run a step twice.

use worker::{D1PreparedStatement, Result};

use super::{row, Team};
use crate::args;
use crate::domain::execution::{ExecutionStatus, StepStatus};
use crate::domain::ids::UserId;
use crate::domain::paging::Page;

pub struct NewExecution<'a> {
    pub id: &'a str,
    pub workflow_id: &'a str,
    pub workflow_version: i64,
    pub workflow_name: &'a str,
    pub input: &'a str,
    pub retry_of: Option<&'a str>,
    pub schedule_id: Option<&'a str>,
    pub idempotency_key: Option<&'a str>,
    pub triggered_by: Option<&'a UserId>,
    /// `[{"id", "kind", "agent"}]` in order.
    pub steps: &'a str,
}

/// The execution, its pending steps and its first event. With an idempotency key already used,
/// nothing is written (the first statement's change count says so).
pub fn create(team: &Team, e: &NewExecution, now: i64) -> Result<Vec<D1PreparedStatement>> {
    Ok(vec![
        team.db.stmt(
            "INSERT INTO executions (id, team_id, workflow_id, workflow_version, workflow_name, status, input, retry_of,
                                     schedule_id, idempotency_key, triggered_by, created_at, trace_id)
             VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?7, ?8, ?9, ?10, ?11, lower(replace(?1, '-', '')))
             ON CONFLICT DO NOTHING",
            args![
                e.id,
                team.id,
                e.workflow_id,
                e.workflow_version,
                e.workflow_name,
                e.input,
                e.retry_of,
                e.schedule_id,
                e.idempotency_key,
                e.triggered_by,
                now
            ],
        )?,
        team.db.stmt(
            "INSERT INTO execution_steps (execution_id, step_id, position, kind, agent, status)
             SELECT ?1, json_extract(j.value, '$.id'), j.key, json_extract(j.value, '$.kind'), json_extract(j.value, '$.agent'), 'pending'
             FROM json_each(?2) j WHERE EXISTS (SELECT 1 FROM executions WHERE id = ?1 AND team_id = ?3)",
            args![e.id, e.steps, team.id],
        )?,
        event(team, e.id, ExecutionStatus::Pending, now, Recorded::IfNowIn)?,
    ])
}

/// When a status change is put in the feed: if the execution now has that status, or if the
/// statement just before in the batch changed a row (a guarded transition that happened).
pub(super) enum Recorded {
    IfNowIn,
    IfChanged,
}

/// The feed entry for a status change, to run in the same batch as the change.
pub(super) fn event(
    team: &Team,
    execution_id: &str,
    status: ExecutionStatus,
    now: i64,
    when: Recorded,
) -> Result<D1PreparedStatement> {
    let guard = match when {
        Recorded::IfNowIn => {
            "EXISTS (SELECT 1 FROM executions WHERE id = ?2 AND team_id = ?1 AND status = ?3)"
        }
        Recorded::IfChanged => "changes() > 0",
    };
    team.db.stmt(
        &format!(
            "INSERT INTO execution_events (team_id, execution_id, status, created_at) SELECT ?1, ?2, ?3, ?4 WHERE {guard}"
        ),
        args![team.id, execution_id, status, now],
    )
}

pub async fn by_idempotency_key(team: &Team<'_>, key: &str) -> Result<Option<String>> {
    row! {
        struct Id {
            id: String,
        }
    }
    let row: Option<Id> = team
        .db
        .first(
            "SELECT id FROM executions WHERE team_id = ? AND idempotency_key = ?",
            args![team.id, key],
        )
        .await?;
    Ok(row.map(|r| r.id))
}

row! {
    #[derive(Debug)]
    pub struct ExecutionRow {
        pub id: String,
        pub workflow_id: String,
        pub workflow_name: String,
        pub workflow_version: i64,
        pub status: ExecutionStatus,
        pub input: String,
        pub error: Option<String>,
        pub retry_of: Option<String>,
        pub schedule_id: Option<String>,
        pub created_at: i64,
        pub started_at: Option<i64>,
        pub completed_at: Option<i64>,
        pub deadline_at: Option<i64>,
    }
}

const COLUMNS: &str =
    "id, workflow_id, workflow_name, workflow_version, status, input, error, retry_of, schedule_id,
                       created_at, started_at, completed_at, deadline_at";

/// The list's filters, already validated.
#[derive(Debug, Default)]
pub struct Filter {
    /// JSON array of statuses.
    pub statuses: Option<String>,
    pub workflow_id: Option<String>,
    /// Text the workflow's name contains, ASCII case aside. Matched with `instr`, not LIKE: D1
    /// refuses LIKE patterns over 50 bytes (a 500 that schemathesis found).
    pub name_contains: Option<String>,
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub schedule_id: Option<String>,
}

/// An execution as the list shows it (`api::executions::summary_json`'s members), made in SQL:
/// the page leaves the database as one JSON text, not as rows D1 makes into JS objects and the
/// Worker reads field by field and writes out again.
const SUMMARY_JSON: &str = "json_object('id', id, 'trace_id', lower(replace(id, '-', '')), \
    'workflow_id', workflow_id, 'workflow_name', workflow_name, 'workflow_version', workflow_version, \
    'status', status, 'error', CASE WHEN json_valid(error) THEN json(error) END, 'retry_of', retry_of, \
    'schedule_id', schedule_id, 'created_at', created_at, 'started_at', started_at, \
    'completed_at', completed_at)";

/// The columns [`SUMMARY_JSON`] reads (not `input`, which may be large).
const SHOWN: &str =
    "id, workflow_id, workflow_name, workflow_version, status, error, retry_of, schedule_id, \
    created_at, started_at, completed_at";

/// A page of the list, newest first: `body` is the JSON array of its executions, `more` whether
/// a next page has any, and `last` the id of the page's last execution (the next page's cursor
/// when `more`).
pub struct ListPage {
    pub body: String,
    pub more: bool,
    pub last: Option<String>,
}

pub async fn list_json(team: &Team<'_>, filter: &Filter, page: &Page) -> Result<ListPage> {
    // The page's rows, then the row after it and its last one, each its own walk of the team's
    // index in id order (the second and third read ids only): three short walks cost less than
    // materialising the page once to count it.
    let matching = "FROM executions WHERE team_id = ?1
           AND (?2 IS NULL OR id < ?2)
           AND (?3 IS NULL OR status IN (SELECT value FROM json_each(?3)))
           AND (?4 IS NULL OR workflow_id = ?4)
           AND (?5 IS NULL OR instr(lower(workflow_name), lower(?5)) > 0)
           AND (?6 IS NULL OR created_at >= ?6)
           AND (?7 IS NULL OR created_at < ?7)
           AND (?8 IS NULL OR schedule_id = ?8)
         ORDER BY id DESC";
    let sql = format!(
        "SELECT (SELECT json_group_array({SUMMARY_JSON}) FROM (SELECT {SHOWN} {matching} LIMIT ?9)) AS body,
                (SELECT id {matching} LIMIT 1 OFFSET ?9) IS NOT NULL AS more,
                (SELECT id {matching} LIMIT 1 OFFSET ?9 - 1) AS last"
    );
    row! {
        struct Found {
            body: Option<String>,
            more: i64,
            last: Option<String>,
        }
    }
    let f = filter;
    let found: Option<Found> = team
        .db
        .first(
            &sql,
            args![
                team.id,
                page.before.as_deref(),
                f.statuses.as_deref(),
                f.workflow_id.as_deref(),
                f.name_contains.as_deref(),
                f.from,
                f.to,
                f.schedule_id.as_deref(),
                page.limit
            ],
        )
        .await?;
    let (body, more, last) = found.map_or((None, 0, None), |f| (f.body, f.more, f.last));
    let body = body.unwrap_or_else(|| "[]".into());
    let more = more == 1;
    Ok(ListPage { body, more, last })
}

pub async fn get(team: &Team<'_>, id: &str) -> Result<Option<ExecutionRow>> {
    let sql = format!("SELECT {COLUMNS} FROM executions WHERE team_id = ? AND id = ?");
    team.db.first(&sql, args![team.id, id]).await
}

row! {
    #[derive(Debug, Clone)]
    pub struct StepRow {
        pub step_id: String,
        pub kind: String,
        pub agent: Option<String>,
        pub status: StepStatus,
        pub attempts: i64,
        pub started_at: Option<i64>,
        pub completed_at: Option<i64>,
        pub output: Option<String>,
        pub error: Option<String>,
        pub tokens: Option<String>,
        pub cost_nusd: Option<i64>,
    }
}

const STEPS: &str = "SELECT s.step_id, s.kind, s.agent, s.status, s.attempts, s.started_at,
                    s.completed_at, s.output, s.error, s.tokens, s.cost_nusd
             FROM execution_steps s JOIN executions e ON e.id = s.execution_id
             WHERE e.team_id = ? AND s.execution_id = ? ORDER BY s.position";

pub async fn steps(team: &Team<'_>, execution_id: &str) -> Result<Vec<StepRow>> {
    team.db.all(STEPS, args![team.id, execution_id]).await
}

/// One execution and its steps in one round trip (and one snapshot).
pub async fn get_with_steps(
    team: &Team<'_>,
    id: &str,
) -> Result<Option<(ExecutionRow, Vec<StepRow>)>> {
    let execution = format!("SELECT {COLUMNS} FROM executions WHERE team_id = ? AND id = ?");
    let results = team
        .db
        .read_batch(vec![
            team.db.stmt(&execution, args![team.id, id])?,
            team.db.stmt(STEPS, args![team.id, id])?,
        ])
        .await?;
    let (Some(execution), Some(steps)) = (results.first(), results.get(1)) else {
        return Ok(None);
    };
    let execution: Option<ExecutionRow> = super::first_row(execution)?;
    Ok(match execution {
        Some(e) => Some((e, super::rows(steps)?)),
        None => None,
    })
}

/// pending/running → cancelled; steps not yet started are cancelled with it (a running step
/// finishes, and no further step starts).
pub fn cancel(team: &Team, id: &str, now: i64) -> Result<Vec<D1PreparedStatement>> {
    Ok(vec![
        team.db.stmt(
            "UPDATE executions SET status = 'cancelled', completed_at = ?
             WHERE team_id = ? AND id = ? AND status IN ('pending', 'running')",
            args![now, team.id, id],
        )?,
        team.db.stmt(
            "UPDATE execution_steps SET status = 'cancelled', completed_at = ?
             WHERE execution_id = ? AND status = 'pending' AND changes() > 0",
            args![now, id],
        )?,
        event(team, id, ExecutionStatus::Cancelled, now, Recorded::IfNowIn)?,
    ])
}

row! {
    #[derive(Debug)]
    pub struct Event {
        pub seq: i64,
        pub execution_id: String,
        pub status: ExecutionStatus,
        pub created_at: i64,
        pub workflow_id: String,
        pub workflow_name: String,
    }
}

/// Status changes after `after_seq`, oldest first, each with its run's workflow (so a client
/// can place a run it has not listed yet).
pub async fn events_since(team: &Team<'_>, after_seq: i64, limit: u32) -> Result<Vec<Event>> {
    team.db
        .all(
            "SELECT ev.seq, ev.execution_id, ev.status, ev.created_at, e.workflow_id, e.workflow_name
             FROM execution_events ev JOIN executions e ON e.id = ev.execution_id
             WHERE ev.team_id = ?1 AND e.team_id = ?1 AND ev.seq > ?2 ORDER BY ev.seq LIMIT ?3",
            args![team.id, after_seq, limit],
        )
        .await
}

pub async fn last_seq(team: &Team<'_>) -> Result<i64> {
    row! {
        struct Seq {
            seq: Option<i64>,
        }
    }
    let row: Option<Seq> = team
        .db
        .first(
            "SELECT MAX(seq) AS seq FROM execution_events WHERE team_id = ?",
            args![team.id],
        )
        .await?;
    Ok(row.and_then(|r| r.seq).unwrap_or(0))
}
