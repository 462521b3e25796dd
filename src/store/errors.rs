//! Error issues and their occurrences. Recording an occurrence is one transaction: a resolved
//! issue is marked regressed (unless the occurrence comes from an older workflow version than
//! the fix), the issue is created or counted, and the occurrence is stored.

use worker::{D1PreparedStatement, Result};

use super::{Team, Text};
use crate::args;
use crate::domain::errors::Severity;
use crate::domain::ids::UserId;
use crate::domain::paging::Page;
use crate::domain::range::TimeRange;

/// One error, from the engine or a client.
pub struct Occurrence<'a> {
    pub id: &'a str,
    pub issue_id: &'a str,
    pub fingerprint: &'a str,
    pub source: &'static str,
    pub kind: &'a str,
    pub message: &'a str,
    pub severity: Severity,
    pub provider_status: Option<i64>,
    pub stack: Option<&'a str>,
    pub detail: Option<&'a str>,
    pub context: Option<&'a str>,
    pub execution_id: Option<&'a str>,
    pub workflow_id: Option<&'a str>,
    pub workflow_version: Option<i64>,
    pub step_id: Option<&'a str>,
    pub agent: Option<&'a str>,
    /// The trace and span it happened in, for errors that spans report.
    pub trace_id: Option<&'a str>,
    pub span_id: Option<&'a str>,
}

/// What recording did to the issue.
#[derive(Debug)]
pub struct Outcome {
    pub id: String,
    pub count: i64,
    pub regressed: bool,
}

const RANK: &str =
    "CASE ? WHEN 'critical' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 ELSE 1 END";

/// The three statements; run them in one batch and read it with [`outcome`].
pub fn record(team: &Team, o: &Occurrence, now: i64) -> Result<Vec<D1PreparedStatement>> {
    let severity_max = format!(
        "CASE WHEN {} > {} THEN excluded.severity ELSE severity END",
        RANK.replace('?', "excluded.severity"),
        RANK.replace('?', "severity")
    );
    let upsert = format!(
        "INSERT INTO error_issues (id, team_id, fingerprint, type, message, severity, status, count, workflow_id, step_id, \
                                   first_seen_at, last_seen_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'unresolved', 1, ?7, ?8, ?9, ?9) \
         ON CONFLICT (team_id, fingerprint) DO UPDATE SET count = count + 1, message = excluded.message, \
           last_seen_at = MAX(last_seen_at, excluded.last_seen_at), severity = {severity_max} \
         RETURNING id AS body, count AS n"
    );
    Ok(vec![
        team.db.stmt(
            "UPDATE error_issues SET status = 'regressed', regressed_at = ?4 \
             WHERE team_id = ?1 AND fingerprint = ?2 AND status = 'resolved' \
               AND NOT (?3 IS NOT NULL AND resolved_in_version IS NOT NULL AND ?3 < resolved_in_version)",
            args![team.id, o.fingerprint, o.workflow_version, now],
        )?,
        team.db.stmt(
            &upsert,
            args![
                o.issue_id,
                team.id,
                o.fingerprint,
                o.kind,
                o.message,
                o.severity.as_str(),
                o.workflow_id,
                o.step_id,
                now
            ],
        )?,
        team.db.stmt(
            "INSERT INTO error_occurrences (id, team_id, issue_id, source, type, message, severity, provider_status, stack, \
                                            detail, context, execution_id, workflow_id, workflow_version, step_id, agent, created_at, \
                                            trace_id, span_id) \
             SELECT ?1, ?2, id, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, \
                    COALESCE(?16, (SELECT agent FROM execution_steps WHERE execution_id = ?12 AND step_id = ?15)), ?17, \
                    ?18, ?19 \
             FROM error_issues WHERE team_id = ?2 AND fingerprint = ?3",
            args![
                o.id,
                team.id,
                o.fingerprint,
                o.source,
                o.kind,
                o.message,
                o.severity.as_str(),
                o.provider_status,
                o.stack,
                o.detail,
                o.context,
                o.execution_id,
                o.workflow_id,
                o.workflow_version,
                o.step_id,
                o.agent,
                now,
                o.trace_id,
                o.span_id
            ],
        )?,
    ])
}

/// Records an occurrence; answers what it did to its issue.
pub async fn capture(team: &Team<'_>, o: &Occurrence<'_>, now: i64) -> Result<Option<Outcome>> {
    let results = team.db.batch(record(team, o, now)?).await?;
    outcome(&results)
}

/// Reads what [`record`]'s batch did (its three results).
pub fn outcome(results: &[super::D1Result]) -> Result<Option<Outcome>> {
    let regressed = results.first().is_some_and(|r| super::changes(r) > 0);
    let Some(upsert) = results.get(1) else {
        return Ok(None);
    };
    let row: Option<Text> = super::first_row(upsert)?;
    Ok(row.and_then(|r| {
        Some(Outcome {
            id: r.body?,
            count: r.n,
            regressed,
        })
    }))
}

/// An issue as the API shows it (`i` is `error_issues`).
const ISSUE_JSON: &str = "json_object('id', i.id, 'fingerprint', i.fingerprint, 'type', i.type, 'message', i.message, \
    'severity', i.severity, 'status', i.status, 'count', i.count, 'workflow_id', i.workflow_id, 'step_id', i.step_id, \
    'first_seen_at', i.first_seen_at, 'last_seen_at', i.last_seen_at, 'resolved_at', i.resolved_at, \
    'resolved_by', i.resolved_by, 'resolution_notes', i.resolution_notes, \
    'resolved_in_version', i.resolved_in_version, 'regressed_at', i.regressed_at)";

/// The list's filters, already validated.
#[derive(Debug, Default)]
pub struct Filter {
    /// JSON arrays.
    pub severities: Option<String>,
    pub statuses: Option<String>,
    pub workflow_id: Option<String>,
    pub from: Option<i64>,
    pub to: Option<i64>,
}

/// Issues by last seen, newest first, as a JSON array of at most `page.limit + 1`; the cursor
/// is `last_seen_at:id`.
pub async fn list_json(team: &Team<'_>, f: &Filter, page: &Page) -> Result<String> {
    let (before_ts, before_id) = match page.before.as_deref().and_then(|c| c.split_once(':')) {
        Some((ts, id)) => (ts.parse::<i64>().ok(), Some(id)),
        None => (None, None),
    };
    let sql = format!(
        "SELECT json_group_array(json(issue)) AS body FROM ( \
           SELECT {ISSUE_JSON} AS issue FROM error_issues i WHERE i.team_id = ?1 \
             AND (?2 IS NULL OR i.last_seen_at < ?2 OR (i.last_seen_at = ?2 AND i.id < ?3)) \
             AND (?4 IS NULL OR i.severity IN (SELECT value FROM json_each(?4))) \
             AND (?5 IS NULL OR i.status IN (SELECT value FROM json_each(?5))) \
             AND (?6 IS NULL OR i.workflow_id = ?6) \
             AND (?7 IS NULL OR i.last_seen_at >= ?7) \
             AND (?8 IS NULL OR i.last_seen_at < ?8) \
           ORDER BY i.last_seen_at DESC, i.id DESC LIMIT ?9)"
    );
    let row = team
        .db
        .text(
            &sql,
            args![
                team.id,
                before_ts,
                before_id,
                f.severities.as_deref(),
                f.statuses.as_deref(),
                f.workflow_id.as_deref(),
                f.from,
                f.to,
                page.limit + 1
            ],
        )
        .await?;
    Ok(row.and_then(|r| r.body).unwrap_or_else(|| "[]".into()))
}

/// The issue with its latest occurrences (stack, detail and context included), newest first.
pub async fn detail_json(team: &Team<'_>, id: &str, occurrences: u32) -> Result<Option<String>> {
    let sql = format!(
        "SELECT json_set({ISSUE_JSON}, '$.occurrences', json(( \
                  SELECT json_group_array(json_object('id', o.id, 'source', o.source, 'type', o.type, 'message', o.message, \
                           'severity', o.severity, 'provider_status', o.provider_status, 'stack', o.stack, \
                           'detail', o.detail, 'context', json(o.context), 'execution_id', o.execution_id, \
                           'workflow_id', o.workflow_id, 'workflow_version', o.workflow_version, 'step_id', o.step_id, \
                           'agent', o.agent, 'trace_id', o.trace_id, 'span_id', o.span_id, 'created_at', o.created_at)) \
                  FROM (SELECT * FROM error_occurrences WHERE team_id = ?1 AND issue_id = ?2 ORDER BY id DESC LIMIT ?3) o))) \
                AS body \
         FROM error_issues i WHERE i.team_id = ?1 AND i.id = ?2"
    );
    let row = team.db.text(&sql, args![team.id, id, occurrences]).await?;
    Ok(row.and_then(|r| r.body))
}

/// A reported occurrence with its issue, as `POST /api/errors` answers it.
pub async fn created_json(team: &Team<'_>, occurrence_id: &str) -> Result<Option<String>> {
    let sql = format!(
        "SELECT json_object('id', o.id, 'issue_id', o.issue_id, 'type', o.type, 'message', o.message, \
                  'severity', o.severity, 'created_at', o.created_at, 'issue', {ISSUE_JSON}) AS body \
         FROM error_occurrences o JOIN error_issues i ON i.id = o.issue_id AND i.team_id = o.team_id \
         WHERE o.team_id = ?1 AND o.id = ?2"
    );
    let row = team.db.text(&sql, args![team.id, occurrence_id]).await?;
    Ok(row.and_then(|r| r.body))
}

/// unresolved/regressed → resolved, remembering the workflow's version at the time.
pub fn resolve(
    team: &Team,
    id: &str,
    by: &UserId,
    notes: Option<&str>,
    now: i64,
) -> Result<D1PreparedStatement> {
    team.db.stmt(
        "UPDATE error_issues SET status = 'resolved', resolved_at = ?3, resolved_by = ?4, resolution_notes = ?5, \
                resolved_in_version = (SELECT version FROM workflows w WHERE w.id = error_issues.workflow_id AND w.team_id = ?1) \
         WHERE team_id = ?1 AND id = ?2 AND status IN ('unresolved', 'regressed')",
        args![team.id, id, now, by, notes],
    )
}

/// resolved/regressed → unresolved.
pub fn reopen(team: &Team, id: &str) -> Result<D1PreparedStatement> {
    team.db.stmt(
        "UPDATE error_issues SET status = 'unresolved', resolved_at = NULL, resolved_by = NULL, resolution_notes = NULL, \
                resolved_in_version = NULL \
         WHERE team_id = ? AND id = ? AND status IN ('resolved', 'regressed')",
        args![team.id, id],
    )
}

/// Occurrences in the window (`?2`..`?3`) by severity, by type (the 50 commonest) and by UTC day
/// (zero-filled), and the error rate: failed or timed-out executions over all those created in it.
pub async fn stats_json(team: &Team<'_>, range: &TimeRange, label: &str) -> Result<String> {
    let row = team
        .db
        .text(
            "WITH o AS (SELECT severity, type, created_at FROM error_occurrences \
                        WHERE team_id = ?1 AND created_at >= ?2 AND created_at < ?3), \
                  days(day) AS (SELECT CAST(?2 AS INTEGER) / 86400000 UNION ALL SELECT day + 1 FROM days WHERE day < CAST(?3 - 1 AS INTEGER) / 86400000) \
             SELECT json_object('range', ?4, 'from', CAST(?2 AS INTEGER), 'to', CAST(?3 AS INTEGER), 'total', (SELECT COUNT(*) FROM o), \
               'by_severity', json_object( \
                 'low', (SELECT COUNT(*) FROM o WHERE severity = 'low'), \
                 'medium', (SELECT COUNT(*) FROM o WHERE severity = 'medium'), \
                 'high', (SELECT COUNT(*) FROM o WHERE severity = 'high'), \
                 'critical', (SELECT COUNT(*) FROM o WHERE severity = 'critical')), \
               'by_type', json((SELECT json_group_array(json_object('type', type, 'count', n)) \
                                FROM (SELECT type, COUNT(*) AS n FROM o GROUP BY type ORDER BY n DESC, type LIMIT 50))), \
               'daily', json((SELECT json_group_array(json_object('date', date(day * 86400, 'unixepoch'), 'count', COALESCE(n, 0))) \
                              FROM (SELECT * FROM days LEFT JOIN (SELECT created_at / 86400000 AS day, COUNT(*) AS n \
                                                                  FROM o GROUP BY 1) USING (day) ORDER BY day))), \
               'executions', json_object('total', x.total, 'failed', x.failed), \
               'error_rate', IIF(x.total > 0, x.failed * 1.0 / x.total, 0)) AS body \
             FROM (SELECT COUNT(*) AS total, COALESCE(SUM(status IN ('failed', 'timed_out')), 0) AS failed \
                   FROM executions WHERE team_id = ?1 AND created_at >= ?2 AND created_at < ?3) x",
            args![team.id, range.from, range.to, label],
        )
        .await?;
    Ok(row.and_then(|r| r.body).unwrap_or_default())
}
