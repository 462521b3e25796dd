//! The notification service other modules call when something happens. Raising is best effort:
//! a notification that cannot be stored is logged, and never fails the action that caused it.

use crate::domain::ids::UserId;
use crate::platform::{new_id, now_ms};
use crate::store::notifications::{self, NewNote};
use crate::store::Team;

/// Categories, as the API names them.
pub const CATEGORIES: [&str; 4] = ["workflow", "system", "team", "billing"];

/// What happened, for the team.
pub struct Note {
    pub category: &'static str,
    /// e.g. `execution.failed`, `key.rotated`, `member.joined`.
    pub kind: &'static str,
    pub title: String,
    pub message: String,
    pub link: Option<String>,
}

/// Stores `note` for every member of the team but `actor` (who caused it; `None` when the
/// system did, so everyone, the member who started a failed run included, is told).
pub async fn raise(team: &Team<'_>, actor: Option<&UserId>, note: Note) {
    let result = async {
        let id = new_id()?;
        let new = NewNote {
            id: &id,
            category: note.category,
            kind: note.kind,
            title: &note.title,
            message: &note.message,
            link: note.link.as_deref(),
            actor_id: actor,
        };
        notifications::insert(team, &new, now_ms()).await
    }
    .await;
    if let Err(e) = result {
        worker::console_error!("notify: {} for team {}: {e}", note.kind, team.id());
    }
}
