//! What a change made through the API leaves behind besides itself: the activity-log entry that
//! records who did it (written in the same batch as the change, so there is never one without
//! the other) and the notification that tells the rest of the team.

use worker::D1PreparedStatement;

use super::error::ApiResult;
use super::extract::{Caller, Ctx};
use crate::notify::Note;
use crate::platform::new_id;
use crate::store::activity::{self, Actor, Event};
use crate::store::D1Result;

/// The caller as the activity log names them.
pub fn actor(caller: &Caller) -> Actor<'_> {
    Actor {
        id: &caller.user_id,
        email: &caller.email,
    }
}

/// When the entry is written: always, or only if the change's last statement changed a row (a
/// guarded write that found nothing to do leaves no entry).
#[derive(Clone, Copy)]
pub enum Logged {
    Always,
    IfChanged,
}

/// Runs `change` and the caller's activity entry describing it as one batch (one transaction:
/// both or neither). Answers the change's own results.
pub async fn commit(
    cx: &Ctx,
    caller: &Caller,
    mut change: Vec<D1PreparedStatement>,
    event: Event<'_>,
    when: Logged,
) -> ApiResult<Vec<D1Result>> {
    let team = caller.team(&cx.db);
    let (id, who) = (new_id()?, Some(actor(caller)));
    change.push(match when {
        Logged::Always => activity::record(&team, &id, who, event, cx.now)?,
        Logged::IfChanged => activity::record_if_changed(&team, &id, who, event, cx.now)?,
    });
    let mut results = cx.db.batch(change).await?;
    results.pop();
    Ok(results)
}

/// Tells the team about a change to its membership (everyone but the caller).
pub async fn tell_team(cx: &Ctx, caller: &Caller, kind: &'static str, title: String) {
    let note = Note {
        category: "team",
        kind,
        message: format!("{title}."),
        title,
        link: Some("/team".into()),
    };
    crate::notify::raise(&caller.team(&cx.db), Some(&caller.user_id), note).await;
}
