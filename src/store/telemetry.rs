//! Telemetry as stored: raw events and metric samples. The rollups analytics reads are kept by
//! triggers (`migrations/0003_telemetry.sql`) inside the same statement, so a write here is one
//! D1 round trip however many events it carries.

use serde_json::{json, Value};
use worker::Result;

use super::{row, Team};
use crate::args;
use crate::domain::paging::Page;
use crate::domain::telemetry::{Event, Metric};

/// A valid event with its final id and time.
pub struct NewEvent<'a> {
    pub id: &'a str,
    pub event: &'a Event,
    pub ts: i64,
}

/// Inserts events, skipping any whose id the team already has (or that repeats an id earlier in
/// `events`); answers how many were stored.
///
/// D1 binds at most 100 parameters, so the events travel as one JSON text and `json_each` unpacks
/// them. `RETURNING` lists only rows actually inserted: D1's `changes` would also count the
/// triggers' writes.
pub async fn insert_events(team: &Team<'_>, events: &[NewEvent<'_>], now: i64) -> Result<usize> {
    let rows: Vec<Value> = events
        .iter()
        .map(|e| {
            let ev = e.event;
            json!([
                e.id,
                ev.component,
                ev.action,
                ev.user_id,
                ev.session_id,
                ev.properties,
                e.ts
            ])
        })
        .collect();
    let inserted: Vec<()> = team
        .db
        .all(
            "INSERT INTO events (team_id, id, component, action, user_id, session_id, properties, ts, received_at)
             SELECT ?1, value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, ?2
             FROM json_each(?3) WHERE true
             ON CONFLICT (team_id, id) DO NOTHING
             RETURNING 1 AS inserted",
            args![team.id, now, Value::Array(rows).to_string()],
        )
        .await?;
    Ok(inserted.len())
}

pub async fn insert_metric(team: &Team<'_>, id: &str, metric: &Metric, now: i64) -> Result<()> {
    team.db
        .run(
            "INSERT INTO metrics (id, team_id, component, name, value, metadata, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
            args![
                id,
                team.id,
                metric.component,
                metric.name,
                metric.value,
                metric.metadata,
                now
            ],
        )
        .await?;
    Ok(())
}

row! {
    /// A metric sample as listed.
    #[derive(Debug)]
    pub struct MetricRow {
        pub id: String,
        pub component: String,
        pub metric_name: String,
        pub value: f64,
        pub metadata: Option<String>,
        pub created_at: i64,
    }
}

/// A component's samples since `since`, newest first.
pub async fn list_metrics(
    team: &Team<'_>,
    component: &str,
    since: Option<i64>,
    page: &Page,
) -> Result<Vec<MetricRow>> {
    team.db
        .all(
            "SELECT id, component, name AS metric_name, value, metadata, created_at FROM metrics
             WHERE team_id = ?1 AND component = ?2 AND (?3 IS NULL OR created_at >= ?3)
               AND (?4 IS NULL OR id < ?4)
             ORDER BY id DESC LIMIT ?5",
            args![
                team.id,
                component,
                since,
                page.before.as_deref(),
                page.limit + 1
            ],
        )
        .await
}
