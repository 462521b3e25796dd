//! Outgoing mail, through the `outbox` table either way.
//!
//! - `log` (the default, and what local development uses) keeps each message in the outbox,
//!   counted as sent, with its single-use link withheld, and writes a line to the log that names
//!   the recipient and subject but not the body: nothing kept holds a usable link.
//! - `resend` sends through Resend's HTTP API (`POST /emails`, bearer key; `MAIL_API_URL` points
//!   it at another endpoint with the same wire format). The message is stored in the same batch
//!   as what caused it, sent after the response ([`deliver`]), and retried by the cron tick
//!   ([`retry_due`]) with backoff. Once sent or given up, its body is erased.

use serde::Deserialize;
use serde_json::json;
use worker::{D1PreparedStatement, Env, Headers, Method, Result};

use crate::domain::upstream::check_url;
use crate::outbound::{self, Call, Failure};
use crate::platform::{allow_private_upstreams, setting};
use crate::store::{outbox, Db, Team};

const RESEND_URL: &str = "https://api.resend.com/emails";
const SEND_TIMEOUT_MS: u32 = 10_000;
/// The email API's answer (a message id) is read up to this much.
const REPLY_LIMIT: usize = 64 * 1024;
/// Attempts before a message is given up, and the wait after each failed one.
const BACKOFF_MS: [i64; 4] = [60_000, 5 * 60_000, 30 * 60_000, 2 * 3_600_000];

pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
    /// The single-use link in `body`, withheld from whatever is kept once the message is handled.
    pub link: String,
}

impl Mail {
    /// The body as it may be kept after handling: the link replaced by a note.
    fn kept_body(&self) -> String {
        self.body.replace(
            &self.link,
            "[link withheld: a single-use link is never stored]",
        )
    }
}

/// How this deployment sends mail (`MAILER`).
pub enum Mailer {
    Log,
    Http(HttpMailer),
}

pub struct HttpMailer {
    url: String,
    key: String,
    from: String,
    allow_private: bool,
}

impl Mailer {
    /// The configured mailer; `Err` names what is missing (never a secret's value).
    pub fn from_env(env: &Env) -> std::result::Result<Mailer, String> {
        match setting(env, "MAILER").as_deref() {
            None | Some("log") => Ok(Mailer::Log),
            Some("resend") => {
                let url = setting(env, "MAIL_API_URL").unwrap_or_else(|| RESEND_URL.into());
                let allow_private = allow_private_upstreams(env);
                check_url(&url, allow_private).map_err(|why| format!("MAIL_API_URL: {why}"))?;
                let key = setting(env, "RESEND_API_KEY")
                    .ok_or("RESEND_API_KEY is not set (wrangler secret put RESEND_API_KEY)")?;
                let from = setting(env, "MAIL_FROM").ok_or("MAIL_FROM is not set")?;
                Ok(Mailer::Http(HttpMailer {
                    url,
                    key,
                    from,
                    allow_private,
                }))
            }
            Some(other) => Err(format!("MAILER={other} is not a mailer; use log or resend")),
        }
    }

    fn sends_later(env: &Env) -> bool {
        !matches!(Mailer::from_env(env), Ok(Mailer::Log))
    }
}

/// The statement that stores `mail`, to run in the same batch as what caused it: sent at once for
/// the `log` mailer, due now for an HTTP one (or a misconfigured one, so a fixed configuration
/// still sends it).
pub fn outbox(
    env: &Env,
    team: &Team,
    id: &str,
    mail: &Mail,
    now: i64,
) -> Result<D1PreparedStatement> {
    // The `log` mailer handles the message as it is stored, so it keeps no usable link.
    let (sent_at, due_at, body) = if Mailer::sends_later(env) {
        (None, Some(now), mail.body.clone())
    } else {
        (Some(now), None, mail.kept_body())
    };
    let message = outbox::NewMessage {
        id,
        to: &mail.to,
        subject: &mail.subject,
        body: &body,
        sent_at,
        due_at,
    };
    outbox::insert(team, &message, now)
}

/// After the batch that stored it: logs the `log` mailer's message, or sends it.
pub async fn dispatch(env: &Env, request_id: &str, outbox_id: &str, mail: &Mail) {
    match Mailer::from_env(env) {
        Ok(Mailer::Log) => worker::console_log!(
            "{request_id} mail to={} subject={:?} outbox={outbox_id} (body withheld: it holds a single-use link)",
            mail.to,
            mail.subject
        ),
        Ok(Mailer::Http(http)) => {
            let sent = match Db::new(env) {
                Ok(db) => deliver(&db, &http, outbox_id, crate::platform::now_ms()).await,
                Err(e) => Err(e),
            };
            if let Err(e) = sent {
                worker::console_error!("{request_id} mail outbox={outbox_id}: {e}");
            }
        }
        Err(why) => worker::console_error!(
            "{request_id} mail outbox={outbox_id} not sent, the mailer is misconfigured: {why}"
        ),
    }
}

/// Sends up to `limit` messages that are due (a first attempt that failed, or a retry).
pub async fn retry_due(env: &Env, db: &Db, now: i64, limit: u32) -> Result<usize> {
    let due = outbox::due(db, now, limit).await?;
    if due.is_empty() {
        return Ok(0);
    }
    let http = match Mailer::from_env(env) {
        Ok(Mailer::Http(http)) => http,
        Ok(Mailer::Log) => return Ok(0),
        Err(why) => {
            worker::console_error!("cron: {} messages wait for a mailer: {why}", due.len());
            return Ok(0);
        }
    };
    let mut sent = 0;
    for id in &due {
        match deliver(db, &http, id, now).await {
            Ok(true) => sent += 1,
            Ok(false) => {}
            Err(e) => worker::console_error!("cron: mail outbox={id}: {e}"),
        }
    }
    Ok(sent)
}

/// One attempt at an unsent message; answers whether it went out. A failure is recorded on the
/// row (status only: an API's error body may echo what it was sent) with the next attempt's time.
async fn deliver(db: &Db, http: &HttpMailer, id: &str, now: i64) -> Result<bool> {
    let Some(row) = outbox::unsent(db, id).await? else {
        return Ok(false);
    };
    match send(http, &row.to_email, &row.subject, &row.body).await {
        Ok(provider_id) => {
            outbox::sent(db, id, provider_id.as_deref(), now).await?;
            worker::console_log!("mail outbox={id} sent");
            Ok(true)
        }
        Err(why) => {
            let wait = usize::try_from(row.attempts)
                .ok()
                .and_then(|n| BACKOFF_MS.get(n).copied());
            let next = wait.map(|w| now + w);
            // Given up: the body (a single-use link) is erased; the invite itself still works.
            outbox::failed(db, id, &why, next).await?;
            match next {
                Some(_) => worker::console_error!("mail outbox={id}: {why}; will retry"),
                None => worker::console_error!("mail outbox={id}: {why}; given up"),
            }
            Ok(false)
        }
    }
}

/// POSTs one message in Resend's format; answers the provider's message id.
async fn send(
    http: &HttpMailer,
    to: &str,
    subject: &str,
    text: &str,
) -> std::result::Result<Option<String>, String> {
    #[derive(Deserialize)]
    struct Sent {
        id: Option<String>,
    }
    let failed = |_| "the email API could not be reached (network error or timeout)".to_string();
    let headers = Headers::new();
    headers
        .set("authorization", &format!("Bearer {}", http.key))
        .map_err(|_| "the API key cannot be sent as a header".to_string())?;
    headers
        .set("content-type", "application/json")
        .map_err(failed)?;
    let body = json!({"from": http.from, "to": [to], "subject": subject, "text": text});
    let call = Call {
        method: Method::Post,
        url: http.url.clone(),
        headers,
        body: Some(body.to_string()),
        timeout_ms: SEND_TIMEOUT_MS,
        allow_private: http.allow_private,
    };
    let reply = outbound::send(call).await.map_err(|f| match f {
        Failure::Blocked(why) => format!("the email API redirected to a URL that {why}"),
        _ => "the email API could not be reached (network error or timeout)".to_string(),
    })?;
    match reply.status() {
        200..=299 => {
            let bytes = reply.body(REPLY_LIMIT).await.unwrap_or_default();
            Ok(serde_json::from_slice::<Sent>(&bytes)
                .ok()
                .and_then(|s| s.id))
        }
        status => Err(format!("the email API answered HTTP {status}")),
    }
}

pub fn invite(to: &str, team_name: &str, inviter: &str, role: &str, link: &str) -> Mail {
    Mail {
        to: to.to_string(),
        subject: format!("You're invited to {team_name} on Beacon"),
        body: format!(
            "{inviter} invited you to join {team_name} on Beacon as {role}.\n\nAccept within 7 days: {link}\n\nIf you did not expect this, ignore this message."
        ),
        link: link.to_string(),
    }
}
