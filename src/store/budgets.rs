//! Monthly budgets: the setting, each month's spending (settled cost and reservations held by
//! calls in flight), and the thresholds crossed. Reserving is one guarded upsert, so two calls
//! racing for the last of a budget cannot both get it.

use worker::{D1PreparedStatement, Result};

use super::{row, Db, Team};
use crate::args;

/// Percentages of the budget that raise a notification, once each per month.
pub const THRESHOLDS: &str = "[50, 80, 100]";

row! {
    #[derive(Debug, Clone)]
    pub struct Budget {
        pub monthly_nusd: i64,
        pub enforce: i64,
    }
}

pub async fn get(team: &Team<'_>) -> Result<Option<Budget>> {
    team.db.first_of(get_stmt(team)?).await
}

/// [`get`] as a statement, to read in a batch with others.
pub fn get_stmt(team: &Team) -> Result<D1PreparedStatement> {
    team.db.stmt(
        "SELECT monthly_nusd, enforce FROM budgets WHERE team_id = ?",
        args![team.id],
    )
}

/// The budget as the API shows it, with `month`'s known spending, what calls in flight hold of
/// it, and the thresholds crossed (`monthly_usd` null when there is no budget).
pub async fn document_json(team: &Team<'_>, month: &str) -> Result<String> {
    let row = team
        .db
        .text(
            "SELECT json_object('monthly_usd', b.monthly_nusd / 1e9, 'monthly_nusd', b.monthly_nusd, \
                    'enforce', json(IIF(b.enforce = 1, 'true', 'false')), 'thresholds', json(?3), 'month', ?2, \
                    'spent_nusd', COALESCE(m.spent_nusd, 0), 'spent_usd', COALESCE(m.spent_nusd, 0) / 1e9, \
                    'reserved_nusd', COALESCE(m.reserved_nusd, 0), 'reserved_usd', COALESCE(m.reserved_nusd, 0) / 1e9, \
                    'alerts', json((SELECT json_group_array(json_object('threshold', threshold, 'spent_nusd', spent_nusd, \
                                     'budget_nusd', budget_nusd, 'crossed_at', created_at)) \
                              FROM (SELECT * FROM budget_alerts WHERE team_id = ?1 AND month = ?2 ORDER BY threshold))), \
                    'updated_at', b.updated_at) AS body \
             FROM (SELECT 1) LEFT JOIN budgets b ON b.team_id = ?1 \
                  LEFT JOIN budget_months m ON m.team_id = ?1 AND m.month = ?2",
            args![team.id, month, THRESHOLDS],
        )
        .await?;
    Ok(row.and_then(|r| r.body).unwrap_or_default())
}

/// Sets the budget, or removes it (`None`).
pub fn put(
    team: &Team,
    monthly_nusd: Option<i64>,
    enforce: bool,
    now: i64,
) -> Result<D1PreparedStatement> {
    match monthly_nusd {
        Some(nusd) => team.db.stmt(
            "INSERT INTO budgets (team_id, monthly_nusd, enforce, updated_at) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (team_id) DO UPDATE SET monthly_nusd = ?2, enforce = ?3, updated_at = ?4",
            args![team.id, nusd, i64::from(enforce), now],
        ),
        None => team
            .db
            .stmt("DELETE FROM budgets WHERE team_id = ?", args![team.id]),
    }
}

/// Holds `amount` of the month's budget for one LLM call, if that leaves the month within the
/// budget (one guarded upsert, so concurrent calls cannot overshoot together), and records who
/// holds it with `holder` (a statement guarded by `changes() > 0`) in the same batch; answers
/// whether it was granted.
async fn reserve(
    team: &Team<'_>,
    month: &str,
    amount: i64,
    holder: D1PreparedStatement,
) -> Result<bool> {
    let results = team
        .db
        .batch(vec![
            team.db.stmt(
                "INSERT INTO budget_months (team_id, month, spent_nusd, reserved_nusd) \
                 SELECT ?1, ?2, 0, ?3 FROM budgets WHERE team_id = ?1 AND ?3 <= monthly_nusd \
                 ON CONFLICT (team_id, month) DO UPDATE SET reserved_nusd = reserved_nusd + excluded.reserved_nusd \
                 WHERE spent_nusd + reserved_nusd + excluded.reserved_nusd \
                       <= (SELECT monthly_nusd FROM budgets WHERE team_id = ?1)",
                args![team.id, month, amount],
            )?,
            holder,
        ])
        .await?;
    Ok(results.first().is_some_and(|r| super::changes(r) > 0))
}

/// [`reserve`] for a workflow's LLM step: the hold is recorded on the step.
pub async fn reserve_for_step(
    team: &Team<'_>,
    month: &str,
    amount: i64,
    execution_id: &str,
    step_id: &str,
) -> Result<bool> {
    let holder = team.db.stmt(
        "UPDATE execution_steps SET reserved_month = ?1, reserved_nusd = ?2 \
         WHERE execution_id = ?3 AND step_id = ?4 AND changes() > 0",
        args![month, amount, execution_id, step_id],
    )?;
    reserve(team, month, amount, holder).await
}

/// [`reserve`] for a gateway call: the hold is a `gateway_holds` row named `hold_id`.
pub async fn reserve_for_call(
    team: &Team<'_>,
    month: &str,
    amount: i64,
    hold_id: &str,
    now: i64,
) -> Result<bool> {
    let holder = team.db.stmt(
        "INSERT INTO gateway_holds (id, team_id, month, nusd, created_at) \
         SELECT ?1, ?2, ?3, ?4, ?5 WHERE changes() > 0",
        args![hold_id, team.id, month, amount, now],
    )?;
    reserve(team, month, amount, holder).await
}

/// Gives back what a gateway call holds (nothing if it holds nothing, so it is safe to run
/// twice), and drops the hold.
pub fn release_call(team: &Team, hold_id: &str) -> Result<Vec<D1PreparedStatement>> {
    Ok(vec![
        team.db.stmt(
            "UPDATE budget_months SET reserved_nusd = MAX(0, budget_months.reserved_nusd - h.nusd) \
             FROM (SELECT month, nusd FROM gateway_holds WHERE id = ?1 AND team_id = ?2) h \
             WHERE budget_months.team_id = ?2 AND budget_months.month = h.month",
            args![hold_id, team.id],
        )?,
        team.db.stmt(
            "DELETE FROM gateway_holds WHERE id = ?1 AND team_id = ?2",
            args![hold_id, team.id],
        )?,
    ])
}

/// Housekeeping for the cron tick: gives back the holds of gateway calls made before `before`,
/// which no live call can still hold (an isolate that died mid-call never settled them).
pub async fn release_stale_calls(db: &Db, before: i64) -> Result<usize> {
    let results = db
        .batch(vec![
            db.stmt(
                "UPDATE budget_months SET reserved_nusd = MAX(0, budget_months.reserved_nusd - h.nusd) \
                 FROM (SELECT team_id, month, SUM(nusd) AS nusd FROM gateway_holds WHERE created_at < ?1 \
                       GROUP BY 1, 2) h \
                 WHERE budget_months.team_id = h.team_id AND budget_months.month = h.month",
                args![before],
            )?,
            db.stmt(
                "DELETE FROM gateway_holds WHERE created_at < ?1",
                args![before],
            )?,
        ])
        .await?;
    Ok(results.get(1).map_or(0, super::changes))
}

/// Gives back what a step holds (nothing if it holds nothing, so it is safe to run twice), and
/// clears the hold. `running_before`: only if the step is `running` with its lease run out before
/// that time — a dead consumer's step being taken over or failed.
pub fn release_step(
    team: &Team,
    execution_id: &str,
    step_id: &str,
    running_before: Option<i64>,
) -> Result<Vec<D1PreparedStatement>> {
    let held = |t: &str| {
        format!(
            "{t}execution_id = ?1 AND {t}step_id = ?2 AND {t}reserved_nusd IS NOT NULL \
             AND (?3 IS NULL OR ({t}status = 'running' AND {t}lease_until < ?3)) \
             AND EXISTS (SELECT 1 FROM executions x WHERE x.id = ?1 AND x.team_id = ?4)"
        )
    };
    Ok(vec![
        team.db.stmt(
            &format!(
                "UPDATE budget_months SET reserved_nusd = MAX(0, budget_months.reserved_nusd - s.reserved_nusd) \
                 FROM (SELECT e.team_id, s.reserved_month, s.reserved_nusd FROM execution_steps s \
                       JOIN executions e ON e.id = s.execution_id WHERE {}) s \
                 WHERE budget_months.team_id = s.team_id AND budget_months.month = s.reserved_month",
                held("s.")
            ),
            args![execution_id, step_id, running_before, team.id],
        )?,
        team.db.stmt(
            &format!(
                "UPDATE execution_steps SET reserved_month = NULL, reserved_nusd = NULL WHERE {}",
                held("")
            ),
            args![execution_id, step_id, running_before, team.id],
        )?,
    ])
}

/// Adds a call's known cost to its month.
pub fn spend(team: &Team, month: &str, cost_nusd: i64) -> Result<D1PreparedStatement> {
    team.db.stmt(
        "INSERT INTO budget_months (team_id, month, spent_nusd) VALUES (?1, ?2, ?3) \
         ON CONFLICT (team_id, month) DO UPDATE SET spent_nusd = spent_nusd + excluded.spent_nusd",
        args![team.id, month, cost_nusd],
    )
}

/// Records every threshold the month's spending has reached and that was not recorded yet;
/// returns (`RETURNING`) the new ones as [`super::Text`]: `n` the threshold, `body` the JSON detail
/// `{threshold, spent_nusd, budget_nusd}`, so each is announced once.
pub fn crossings(team: &Team, month: &str, now: i64) -> Result<D1PreparedStatement> {
    team.db.stmt(
        "INSERT OR IGNORE INTO budget_alerts (team_id, month, threshold, spent_nusd, budget_nusd, created_at) \
         SELECT b.team_id, m.month, t.value, m.spent_nusd, b.monthly_nusd, ?3 \
         FROM budgets b JOIN budget_months m ON m.team_id = b.team_id AND m.month = ?2, json_each(?4) t \
         WHERE b.team_id = ?1 AND m.spent_nusd * 100 >= b.monthly_nusd * t.value \
         RETURNING threshold AS n, \
                   json_object('threshold', threshold, 'spent_nusd', spent_nusd, 'budget_nusd', budget_nusd) AS body",
        args![team.id, month, now, THRESHOLDS],
    )
}
