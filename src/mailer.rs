//! Outgoing mail. The `log` mailer (the default, and what local development uses) keeps each
//! message in the `outbox` table and writes a line to the log that names the recipient and
//! subject but withholds the body, because bodies carry single-use links.

use worker::{D1PreparedStatement, Result};

use crate::args;
use crate::store::Team;

pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// The statement that stores `mail`, to run in the same batch as what caused it.
pub fn outbox(team: &Team, id: &str, mail: &Mail, now: i64) -> Result<D1PreparedStatement> {
    team.db.stmt(
        "INSERT INTO outbox (id, team_id, to_email, subject, body, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        args![id, team.id, &mail.to, &mail.subject, &mail.body, now],
    )
}

/// Announces a stored message in the log, without its body.
pub fn log_sent(request_id: &str, outbox_id: &str, mail: &Mail) {
    worker::console_log!(
        "{request_id} mail to={} subject={:?} outbox={outbox_id} (body withheld: it holds a single-use link)",
        mail.to,
        mail.subject
    );
}

pub fn invite(to: &str, team_name: &str, inviter: &str, role: &str, link: &str) -> Mail {
    Mail {
        to: to.to_string(),
        subject: format!("You're invited to {team_name} on Beacon"),
        body: format!(
            "{inviter} invited you to join {team_name} on Beacon as {role}.\n\nAccept within 7 days: {link}\n\nIf you did not expect this, ignore this message."
        ),
    }
}
