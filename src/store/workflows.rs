//! Workflows and their versions. Editing bumps the version and stores the new definition beside
//! the old ones, in one transaction.

use serde::Serialize;
use serde_json::Value;
use worker::{D1PreparedStatement, Result};

use super::{row, Team};
use crate::args;
use crate::domain::ids::UserId;
use crate::domain::paging::Page;

row! {
    #[derive(Debug, Serialize)]
    pub struct WorkflowSummary {
        pub id: String,
        pub name: String,
        pub description: Option<String>,
        pub version: i64,
        pub created_at: i64,
        pub updated_at: i64,
    }
}

row! {
    #[derive(Debug)]
    pub struct WorkflowRow {
        pub id: String,
        pub name: String,
        pub description: Option<String>,
        pub version: i64,
        pub steps: String,
        pub created_at: i64,
        pub updated_at: i64,
    }
}

impl WorkflowRow {
    /// The API shape: the stored steps as JSON, every http-step header value `"<redacted>"`.
    pub fn to_json(&self) -> Value {
        let mut steps = serde_json::from_str::<Value>(&self.steps).unwrap_or(Value::Null);
        crate::domain::workflow::redact_headers(&mut steps);
        serde_json::json!({
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "version": self.version,
            "steps": steps,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        })
    }
}

pub struct NewWorkflow<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub steps: &'a str,
    pub created_by: &'a UserId,
}

pub fn insert(team: &Team, wf: &NewWorkflow, now: i64) -> Result<Vec<D1PreparedStatement>> {
    Ok(vec![
        team.db.stmt(
            "INSERT INTO workflows (id, team_id, name, description, version, created_by, created_at, updated_at)
             VALUES (?, ?, ?, ?, 1, ?, ?, ?)",
            args![wf.id, team.id, wf.name, wf.description, wf.created_by, now, now],
        )?,
        team.db.stmt(
            "INSERT INTO workflow_versions (workflow_id, version, team_id, name, steps, created_at) VALUES (?, 1, ?, ?, ?, ?)",
            args![wf.id, team.id, wf.name, wf.steps, now],
        )?,
    ])
}

pub async fn list(team: &Team<'_>, page: &Page) -> Result<Vec<WorkflowSummary>> {
    team.db
        .all(
            "SELECT id, name, description, version, created_at, updated_at FROM workflows
             WHERE team_id = ?1 AND deleted_at IS NULL AND (?2 IS NULL OR id < ?2) ORDER BY id DESC LIMIT ?3",
            args![team.id, page.before.as_deref(), page.limit + 1],
        )
        .await
}

pub async fn get(team: &Team<'_>, id: &str) -> Result<Option<WorkflowRow>> {
    team.db
        .first(
            "SELECT w.id, w.name, w.description, w.version, v.steps, w.created_at, w.updated_at
             FROM workflows w JOIN workflow_versions v ON v.workflow_id = w.id AND v.version = w.version
             WHERE w.team_id = ? AND w.id = ? AND w.deleted_at IS NULL",
            args![team.id, id],
        )
        .await
}

/// A new version: the workflow row moves to it and the definition is kept beside the others.
pub fn update(
    team: &Team,
    id: &str,
    name: &str,
    description: Option<&str>,
    steps: &str,
    now: i64,
) -> Result<Vec<D1PreparedStatement>> {
    Ok(vec![
        team.db.stmt(
            "UPDATE workflows SET name = ?, description = ?, version = version + 1, updated_at = ?
             WHERE team_id = ? AND id = ? AND deleted_at IS NULL",
            args![name, description, now, team.id, id],
        )?,
        team.db.stmt(
            "INSERT INTO workflow_versions (workflow_id, version, team_id, name, steps, created_at)
             SELECT id, version, team_id, ?, ?, ? FROM workflows WHERE team_id = ? AND id = ? AND changes() > 0",
            args![name, steps, now, team.id, id],
        )?,
    ])
}

pub fn delete(team: &Team, id: &str, now: i64) -> Result<D1PreparedStatement> {
    team.db.stmt(
        "UPDATE workflows SET deleted_at = ? WHERE team_id = ? AND id = ? AND deleted_at IS NULL",
        args![now, team.id, id],
    )
}

row! {
    /// The definition an execution runs.
    #[derive(Debug)]
    pub struct Version {
        pub name: String,
        pub steps: String,
    }
}

pub async fn version(team: &Team<'_>, id: &str, version: i64) -> Result<Option<Version>> {
    team.db
        .first(
            "SELECT name, steps FROM workflow_versions WHERE team_id = ? AND workflow_id = ? AND version = ?",
            args![team.id, id, version],
        )
        .await
}

/// Which of `ids` the team has as live provider keys.
pub async fn known_keys(team: &Team<'_>, ids: &[&str]) -> Result<Vec<String>> {
    row! {
        struct Id {
            id: String,
        }
    }
    let json = serde_json::to_string(ids).unwrap_or_else(|_| "[]".into());
    let rows: Vec<Id> = team
        .db
        .all(
            "SELECT id FROM provider_keys WHERE team_id = ? AND deleted_at IS NULL AND id IN (SELECT value FROM json_each(?))",
            args![team.id, json],
        )
        .await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}
