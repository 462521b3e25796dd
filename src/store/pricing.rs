//! The price table: the defaults every team sees, each team's overrides, and the rows the
//! re-pricing task has yet to follow. Rows are marked deleted, never removed.

use wasm_bindgen::JsValue;
use worker::{D1PreparedStatement, Result};

use super::{row, Db, FromRow, Reader, Team};
use crate::args;
use crate::domain::pricing::Price;

impl FromRow for Price {
    fn from_row(row: &JsValue) -> Result<Price> {
        let mut r = Reader::new(row);
        let price = Price {
            id: r.get("id"),
            team_id: r.get("team_id"),
            model_pattern: r.get("model_pattern"),
            input_nusd: r.get("input_nusd"),
            cache_read_nusd: r.get("cache_read_nusd"),
            cache_write_nusd: r.get("cache_write_nusd"),
            output_nusd: r.get("output_nusd"),
            reasoning_nusd: r.get("reasoning_nusd"),
            effective_from: r.get("effective_from"),
            updated_at: r.get("updated_at"),
            source: r.get("source"),
        };
        r.finish(price)
    }
}

const COLUMNS: &str = "id, team_id, model_pattern, input_nusd, cache_read_nusd, cache_write_nusd, \
                       output_nusd, reasoning_nusd, effective_from, updated_at, source";

/// Every live row that can price the team's calls of `models`: the defaults and the team's own
/// whose pattern names one of them exactly or is a prefix of one (`domain::pricing::choose`
/// picks among them). Only those: the whole table is some fifty rows, each made into a JS object
/// by D1 and read field by field, on every gateway call and OTLP request.
pub async fn for_models(team: &Team<'_>, models: &[&str]) -> Result<Vec<Price>> {
    let statement = for_models_stmt(team, models)?;
    let result = team.db.read_batch(vec![statement]).await?;
    match result.first() {
        Some(r) => super::rows(r),
        None => Ok(Vec::new()),
    }
}

/// [`for_models`] as a statement, to read in a batch with others.
pub fn for_models_stmt(team: &Team, models: &[&str]) -> Result<D1PreparedStatement> {
    let sql = format!(
        "SELECT {COLUMNS} FROM prices WHERE deleted_at IS NULL AND (team_id IS NULL OR team_id = ?1) \
           AND EXISTS (SELECT 1 FROM json_each(?2) m WHERE m.value = model_pattern \
                OR (substr(model_pattern, -1) = '%' \
                    AND substr(m.value, 1, length(model_pattern) - 1) = substr(model_pattern, 1, length(model_pattern) - 1)))"
    );
    let models = serde_json::Value::from(models.to_vec()).to_string();
    team.db.stmt(&sql, args![team.id, models])
}

/// A price row as the API shows it: rates in US dollars and nano-USD per million tokens.
const ROW_JSON: &str = "json_object('id', id, 'model_pattern', model_pattern, 'effective_from', effective_from, \
    'source', source, 'updated_at', updated_at, \
    'input_usd', input_nusd / 1e9, 'cache_read_usd', cache_read_nusd / 1e9, 'cache_write_usd', cache_write_nusd / 1e9, \
    'output_usd', output_nusd / 1e9, 'reasoning_usd', reasoning_nusd / 1e9, \
    'input_nusd', input_nusd, 'cache_read_nusd', cache_read_nusd, 'cache_write_nusd', cache_write_nusd, \
    'output_nusd', output_nusd, 'reasoning_nusd', reasoning_nusd)";

/// `{unit, defaults: [...], overrides: [...]}`: the live rows that price the team's calls.
pub async fn document_json(team: &Team<'_>) -> Result<String> {
    let rows = |scope: &str| {
        format!(
            "json((SELECT json_group_array(json(r)) FROM (SELECT {ROW_JSON} AS r FROM prices \
               WHERE {scope} AND deleted_at IS NULL ORDER BY model_pattern, effective_from DESC, id)))"
        )
    };
    let sql = format!(
        "SELECT json_object('unit', 'per million tokens', 'defaults', {}, 'overrides', {}) AS body",
        rows("team_id IS NULL"),
        rows("team_id = ?1")
    );
    let row = team.db.text(&sql, args![team.id]).await?;
    Ok(row.and_then(|r| r.body).unwrap_or_default())
}

/// A team override to insert.
pub struct NewPrice {
    pub id: String,
    pub model_pattern: String,
    /// input, cache read, cache write, output, reasoning (nano-USD per million tokens).
    pub input: i64,
    pub cache_read: Option<i64>,
    pub cache_write: Option<i64>,
    pub output: i64,
    pub reasoning: Option<i64>,
    pub effective_from: i64,
    pub source: Option<String>,
}

/// Replaces the team's overrides with `rows`, in one transaction: the old ones are marked
/// deleted (and so re-priced away from), the new ones inserted.
pub fn replace_overrides(
    team: &Team,
    rows: &[NewPrice],
    now: i64,
) -> Result<Vec<D1PreparedStatement>> {
    let mut statements = vec![team.db.stmt(
        "UPDATE prices SET deleted_at = ?1, updated_at = ?1 WHERE team_id = ?2 AND deleted_at IS NULL",
        args![now, team.id],
    )?];
    for r in rows {
        statements.push(team.db.stmt(
            "INSERT INTO prices (id, team_id, model_pattern, input_nusd, cache_read_nusd, cache_write_nusd, output_nusd, \
                                 reasoning_nusd, effective_from, source, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            args![
                &r.id,
                team.id,
                &r.model_pattern,
                r.input,
                r.cache_read,
                r.cache_write,
                r.output,
                r.reasoning,
                r.effective_from,
                r.source.as_deref(),
                now,
                now
            ],
        )?);
    }
    Ok(statements)
}

// --- re-pricing (cross-team housekeeping for the cron tick) -------------------------------------

/// Rows written after the `(updated_at, id)` watermark, oldest first, deleted ones included.
pub async fn changed_after(db: &Db, updated_at: i64, id: &str, limit: u32) -> Result<Vec<Price>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM prices WHERE updated_at > ?1 OR (updated_at = ?1 AND id > ?2) \
         ORDER BY updated_at, id LIMIT ?3"
    );
    db.all(&sql, args![updated_at, id, limit]).await
}

/// Every live row that can price calls of these teams.
pub async fn for_teams(db: &Db, team_ids_json: &str) -> Result<Vec<Price>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM prices WHERE deleted_at IS NULL \
           AND (team_id IS NULL OR team_id IN (SELECT value FROM json_each(?)))"
    );
    db.all(&sql, args![team_ids_json]).await
}

/// How far the re-pricing task has followed the table: the `(updated_at, id)` of the last row
/// whose usage rows are all re-priced.
pub async fn watermark(db: &Db) -> Result<(i64, String)> {
    row! {
        struct Value {
            value: String,
        }
    }
    let row: Option<Value> = db
        .first(
            "SELECT value FROM app_state WHERE key = 'repriced_through'",
            args![],
        )
        .await?;
    let mark = row.as_ref().and_then(|r| r.value.split_once(':'));
    Ok(mark
        .and_then(|(at, id)| Some((at.parse().ok()?, id.to_string())))
        .unwrap_or((0, String::new())))
}

pub async fn set_watermark(db: &Db, updated_at: i64, id: &str) -> Result<()> {
    db.run(
        "INSERT INTO app_state (key, value) VALUES ('repriced_through', ?) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        args![format!("{updated_at}:{id}")],
    )
    .await?;
    Ok(())
}
