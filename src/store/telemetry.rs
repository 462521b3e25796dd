//! Telemetry as stored: raw events and metric samples. A batch of events is one D1 round trip
//! and one transaction: grouped upserts fold the batch's new events into the rollups analytics
//! reads (`migrations/0017_ingest_rollups.sql`), then the events are inserted. Metric samples
//! keep their per-row trigger (`migrations/0003_telemetry.sql`): they come one per request.

use serde_json::{json, Value};
use worker::Result;

use super::{json_rows, row, Team};
use crate::args;
use crate::domain::paging::Page;
use crate::domain::telemetry::{Event, Metric};

/// A valid event with its final id and time.
pub struct NewEvent<'a> {
    pub id: &'a str,
    pub event: &'a Event,
    pub ts: i64,
}

/// The batch's events the team does not have yet, from the slim rows
/// `[id, component, user_id, session_id, ts]` bound as `?2`. Each rollup statement below reads
/// it before the events are inserted, in the same transaction, so a repeat (an id the team has)
/// is never counted, and no concurrent request can slip in between.
const NEW_EVENTS: &str = concat!(
    "WITH new AS (
    SELECT j.value->>0 AS id, j.value->>1 AS component, j.value->>2 AS user_id,
           j.value->>3 AS session_id, j.value->>4 AS ts
    FROM ",
    json_rows!("?2"),
    " j
    WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.team_id = ?1 AND e.id = j.value->>0))"
);

/// Actions per hour. First, so the session triggers always find their hour's row.
const TEAM_HOURS: &str = "INSERT INTO team_hours (team_id, hour, actions)
    SELECT ?1, ts / 3600000 * 3600000, COUNT(*) FROM new WHERE true GROUP BY 2
    ON CONFLICT DO UPDATE SET actions = actions + excluded.actions";

/// Actions per hour and component (a new component-hour registers the component by trigger).
const EVENT_HOURS: &str = "INSERT INTO event_hours (team_id, hour, component, actions)
    SELECT ?1, ts / 3600000 * 3600000, component, COUNT(*) FROM new WHERE true GROUP BY 2, 3
    ON CONFLICT DO UPDATE SET actions = actions + excluded.actions";

/// Each user's hour bits per day, for the team and per component: the distinct powers of two of
/// a group sum to their OR. An upsert that sets no new bit writes nothing.
const ACTIVE_HOURS: &str = ", scoped AS (
      SELECT '' AS scope, ts, user_id FROM new WHERE user_id IS NOT NULL
      UNION ALL SELECT component, ts, user_id FROM new WHERE user_id IS NOT NULL)
    INSERT INTO active_hours (team_id, kind, scope, day, subject, hours)
    SELECT ?1, 'user', scope, ts / 86400000, user_id, SUM(DISTINCT 1 << (ts / 3600000 % 24))
    FROM scoped WHERE true GROUP BY 3, 4, 5
    ON CONFLICT DO UPDATE SET hours = hours | excluded.hours WHERE hours | excluded.hours != hours";

/// Each session's first hour (its hour's count moves by trigger when it is new or earlier).
const SESSIONS: &str = "INSERT INTO telemetry_sessions (team_id, session_id, first_hour)
    SELECT ?1, session_id, MIN(ts / 3600000 * 3600000) FROM new WHERE session_id IS NOT NULL
    GROUP BY 2
    ON CONFLICT DO UPDATE SET first_hour = excluded.first_hour WHERE excluded.first_hour < first_hour";

/// Inserts events, skipping any whose id the team already has, and folds the new ones into the
/// rollups; answers how many were stored. `events` must not repeat an id (the caller drops
/// repeats within a batch).
///
/// D1 binds at most 100 parameters, so the events travel as JSON text unpacked by `json_each`:
/// the rollups get slim rows without the properties. `RETURNING` lists only rows actually
/// inserted.
pub async fn insert_events(team: &Team<'_>, events: &[NewEvent<'_>], now: i64) -> Result<usize> {
    let (mut full, mut slim) = (
        Vec::with_capacity(events.len()),
        Vec::with_capacity(events.len()),
    );
    for e in events {
        let ev = e.event;
        full.push(json!([
            e.id,
            ev.component,
            ev.action,
            ev.user_id,
            ev.session_id,
            ev.properties,
            e.ts
        ]));
        slim.push(json!([e.id, ev.component, ev.user_id, ev.session_id, e.ts]));
    }
    let slim = Value::Array(slim).to_string();
    let db = team.db;
    let mut statements = Vec::with_capacity(5);
    for rollup in [TEAM_HOURS, EVENT_HOURS, SESSIONS] {
        statements.push(db.stmt(&format!("{NEW_EVENTS} {rollup}"), args![team.id, slim])?);
    }
    statements.insert(
        2,
        db.stmt(&format!("{NEW_EVENTS}{ACTIVE_HOURS}"), args![team.id, slim])?,
    );
    statements.push(db.stmt(
        concat!(
            "INSERT INTO events (team_id, id, component, action, user_id, session_id, properties, ts, received_at)
         SELECT ?1, value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, ?2
         FROM ",
            json_rows!("?3"),
            " WHERE true
         ON CONFLICT (team_id, id) DO NOTHING
         RETURNING 1 AS inserted"
        ),
        args![team.id, now, Value::Array(full).to_string()],
    )?);
    let results = db.batch(statements).await?;
    let inserted = results.last().map_or(Ok(Vec::new()), super::raw_rows)?;
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
