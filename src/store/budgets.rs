//! Monthly budgets: the setting, each month's spending (settled cost and reservations held by
//! calls in flight), and the thresholds crossed. Reserving is one guarded upsert, so two calls
//! racing for the last of a budget cannot both get it.

use worker::{D1PreparedStatement, Result};

use super::{row, Team};
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
    team.db
        .first(
            "SELECT monthly_nusd, enforce FROM budgets WHERE team_id = ?",
            args![team.id],
        )
        .await
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

/// Holds `amount` of the month's budget for one LLM step, if that leaves the month within the
/// budget (one guarded upsert, so concurrent steps cannot overshoot together), and records the
/// hold on the step in the same batch; answers whether it was granted.
pub async fn reserve_for_step(
    team: &Team<'_>,
    month: &str,
    amount: i64,
    execution_id: &str,
    step_id: &str,
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
            team.db.stmt(
                "UPDATE execution_steps SET reserved_month = ?1, reserved_nusd = ?2 \
                 WHERE execution_id = ?3 AND step_id = ?4 AND changes() > 0",
                args![month, amount, execution_id, step_id],
            )?,
        ])
        .await?;
    Ok(results.first().is_some_and(|r| super::changes(r) > 0))
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
