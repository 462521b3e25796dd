//! What a handler needs from a request, each read once and checked at the boundary: the caller
//! (session cookie or bearer token) and the one authorisation rule, JSON bodies within a size
//! limit, query parameters, paging and time ranges.

use serde_json::Value;
use worker::{ByteStream, Context, D1PreparedStatement, Env, Method, Response};

use super::error::{ApiError, ApiResult};
use crate::domain::ids::{TeamId, UserId};
use crate::domain::paging::{parse_page, Page};
use crate::domain::range::{parse_instant, parse_range, TimeRange};
use crate::domain::role::Role;
use crate::platform;
use crate::store::{identity, Db, Refusal, Team};

/// Bodies on every route but telemetry batches.
pub const BODY_LIMIT: usize = 256 * 1024;
/// Bodies of `POST /api/telemetry/batch`.
pub const BATCH_BODY_LIMIT: usize = 1024 * 1024;
pub const SESSION_COOKIE: &str = "beacon_session";

/// One request in flight.
pub struct Ctx {
    /// The runtime's request, not the worker crate's (see `entry::fetch` in lib.rs).
    pub req: web_sys::Request,
    /// The request's headers and method, read from the runtime once.
    headers: web_sys::Headers,
    method: Method,
    /// The request's URL as the runtime serializes it.
    url: String,
    pub env: Env,
    pub ctx: Context,
    pub db: Db,
    pub request_id: String,
    pub now: i64,
    query: Vec<(String, String)>,
}

/// Who is calling, with the role that decides what they may do on this request. On a GET by a
/// caller this isolate has seen ([`Ctx::require`]), the fields are as last seen and the lookup
/// that confirms the permission asked for runs with the first read: use them to authorise, not
/// as an answer (`GET /api/auth/me` reads the caller fresh).
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: UserId,
    pub email: String,
    pub name: String,
    pub team_id: TeamId,
    pub team_name: String,
    /// The member's role, or for an access token the lower of its role and its creator's.
    pub role: Role,
    pub via: Via,
}

#[derive(Debug, Clone)]
pub enum Via {
    Session { token_hash: String },
    Token { token_hash: String },
}

impl Caller {
    /// The database scoped to the caller's team.
    pub fn team<'a>(&'a self, db: &'a Db) -> Team<'a> {
        Team::of_caller(db, &self.team_id)
    }

    /// What work that outlives this request (a live stream) needs to check the caller again.
    pub fn recheck(&self) -> Recheck {
        let (hash, token) = match &self.via {
            Via::Session { token_hash } => (token_hash.clone(), false),
            Via::Token { token_hash } => (token_hash.clone(), true),
        };
        Recheck {
            hash,
            token,
            user_id: self.user_id.clone(),
            team_id: self.team_id.clone(),
        }
    }
}

/// A caller to look up again later, with a fresh [`Db`]: still signed in (session or token not
/// revoked or expired), still the same member of the same team.
#[derive(Clone)]
pub struct Recheck {
    hash: String,
    token: bool,
    pub user_id: UserId,
    team_id: TeamId,
}

impl Recheck {
    pub async fn still_signed_in(&self, db: &Db, now: i64) -> worker::Result<bool> {
        let lookup = if self.token {
            identity::token_lookup(db, &self.hash, now)?
        } else {
            identity::session_lookup(db, &self.hash, now)?
        };
        let row = identity::caller(db, lookup).await?;
        Ok(row.is_some_and(|r| r.user_id == self.user_id && r.team_id == self.team_id))
    }
}

/// The one authorisation rule: the caller's role must include `needed`.
pub fn authorize(caller: &Caller, needed: Role) -> ApiResult<()> {
    if caller.role.allows(needed) {
        Ok(())
    } else {
        Err(ApiError::forbidden_role(needed))
    }
}

impl Ctx {
    /// `url` is `req.url()`, already read by the caller.
    pub fn new(
        req: web_sys::Request,
        url: String,
        env: Env,
        ctx: Context,
        request_id: String,
    ) -> ApiResult<Ctx> {
        let db = Db::new(&env)?;
        // The raw URL string: parsing it whole would link a second URL parser into the wasm.
        let query = url
            .split_once('?')
            .map(|(_, q)| q.split('#').next().unwrap_or(""))
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        Ok(Ctx {
            headers: req.headers(),
            method: Method::from(req.method()),
            url,
            req,
            env,
            ctx,
            db,
            request_id,
            now: platform::now_ms(),
            query,
        })
    }

    pub fn method(&self) -> Method {
        self.method.clone()
    }

    /// A configuration variable, if set.
    pub fn var(&self, name: &str) -> Option<String> {
        self.env.var(name).ok().map(|v| v.to_string())
    }

    pub fn is_development(&self) -> bool {
        self.var("ENVIRONMENT").as_deref() == Some("development")
    }

    /// `scheme://host[:port]` of this request, for links sent to people.
    pub fn origin(&self) -> String {
        let url = &self.url;
        let after_scheme = url.find("://").map_or(0, |i| i + 3);
        let end = url[after_scheme..]
            .find(['/', '?', '#'])
            .map_or(url.len(), |i| after_scheme + i);
        url[..end].to_string()
    }

    /// The first value of a query parameter.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A query parameter that is an instant (epoch ms or RFC 3339), if given.
    pub fn instant(&self, name: &str) -> ApiResult<Option<i64>> {
        match self.query(name).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(raw) => parse_instant(raw).map(Some).ok_or_else(|| {
                ApiError::field(name, "must be epoch milliseconds or an RFC 3339 time")
            }),
        }
    }

    /// A query parameter that names an object by id (`?workflow=<uuid>`), if given.
    pub fn query_id(&self, name: &str) -> ApiResult<Option<String>> {
        match self.query(name).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(raw) => crate::domain::ids::parse_uuid(raw)
                .map(Some)
                .ok_or_else(|| ApiError::field(name, format!("must be a {name} id"))),
        }
    }

    /// A comma list of `allowed` words, as a JSON array for `json_each`, if given.
    pub fn word_list(&self, name: &str, allowed: &[&str]) -> ApiResult<Option<String>> {
        let Some(raw) = self.query(name).filter(|s| !s.is_empty()) else {
            return Ok(None);
        };
        let words: Vec<&str> = raw.split(',').map(str::trim).collect();
        if let Some(bad) = words.iter().find(|w| !allowed.contains(w)) {
            return Err(ApiError::field(
                name,
                format!("'{bad}' is not one of {}", allowed.join(", ")),
            ));
        }
        Ok(Some(serde_json::json!(words).to_string()))
    }

    /// Where a reconnecting event stream left off (`Last-Event-ID`), if it says.
    pub fn last_event_id(&self) -> Option<String> {
        let value = self.headers.get("last-event-id").ok().flatten()?;
        Some(value.trim().to_string()).filter(|v| !v.is_empty())
    }

    pub fn page(&self) -> ApiResult<Page> {
        parse_page(self.query("limit"), self.query("cursor"))
            .map_err(|(field, msg)| ApiError::field(field, msg))
    }

    /// The window of `?range=` or `?from=&to=`, `default` (a range name) when neither is given.
    pub fn range(&self, default: &str) -> ApiResult<TimeRange> {
        let (range, from, to) = (self.query("range"), self.query("from"), self.query("to"));
        parse_range(range, from, to, self.now, default)
            .map_err(|(field, msg)| ApiError::field(field, msg))
    }

    /// The name of the window [`Ctx::range`] resolved: the range asked for, `default`, or
    /// `custom` for `from`/`to`.
    pub fn range_label<'a>(&'a self, default: &'a str) -> &'a str {
        let given = |name| self.query(name).filter(|v| !v.is_empty());
        match (given("range"), given("from").or(given("to"))) {
            (Some(range), _) => range,
            (None, Some(_)) => "custom",
            (None, None) => default,
        }
    }

    /// A request header, if sent.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).ok().flatten()
    }

    /// The request's body as bytes: 413 over `limit`.
    pub async fn body(&mut self, limit: usize) -> ApiResult<Vec<u8>> {
        let declared = self
            .header("content-length")
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|n| n > limit) {
            return Err(ApiError::PayloadTooLarge(limit));
        }
        let unreadable = |_| ApiError::BadRequest("The body could not be read.".into());
        // A body-less request has no stream to read.
        let bytes = match self.req.body() {
            None => Vec::new(),
            Some(stream) => match platform::read_capped(ByteStream::from(stream), limit)
                .await
                .map_err(unreadable)?
            {
                platform::Capped::Whole(bytes) => bytes,
                platform::Capped::Over => return Err(ApiError::PayloadTooLarge(limit)),
            },
        };
        Ok(bytes)
    }

    /// The request's JSON body: 413 over `limit`, 400 empty or malformed, 415 not JSON.
    pub async fn json(&mut self, limit: usize) -> ApiResult<Value> {
        self.optional_json(limit)
            .await?
            .ok_or_else(|| ApiError::BadRequest("This route needs a JSON body.".into()))
    }

    /// Like [`Ctx::json`] for routes whose body may be left out: `None` when it is empty.
    pub async fn optional_json(&mut self, limit: usize) -> ApiResult<Option<Value>> {
        let bytes = self.body(limit).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        self.json_of(&bytes).map(Some)
    }

    /// A body already read, as JSON: 400 empty or malformed, 415 not sent as JSON.
    pub fn json_of(&self, bytes: &[u8]) -> ApiResult<Value> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::BadRequest("This route needs a JSON body.".into()));
        }
        let content_type = self.header("content-type").unwrap_or_default();
        let media_type = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if media_type != "application/json" {
            return Err(ApiError::UnsupportedMediaType);
        }
        // From text, as every other JSON the Worker reads: one instance of the JSON reader.
        let text = std::str::from_utf8(bytes)
            .map_err(|_| ApiError::BadRequest("The body is not UTF-8 text.".into()))?;
        serde_json::from_str(text)
            .map_err(|e| ApiError::BadRequest(format!("The body is not valid JSON: {e}.")))
    }

    fn session_token(&self) -> Option<String> {
        let cookies = self.headers.get("cookie").ok().flatten()?;
        cookies.split(';').find_map(|c| {
            let (name, value) = c.trim().split_once('=')?;
            (name == SESSION_COOKIE && !value.is_empty()).then(|| value.to_string())
        })
    }

    fn bearer_token(&self) -> Option<String> {
        let header = self.headers.get("authorization").ok().flatten()?;
        let (scheme, token) = header.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_string())
            .filter(|t| !t.is_empty())
    }

    /// A state change carried by the session cookie must come from the app itself. `SameSite=Lax`
    /// still lets a sibling site (another subdomain) post, so what the browser says of the request's
    /// source is checked: `Sec-Fetch-Site` `same-origin` or absent (non-browser clients), and an
    /// `Origin`, when sent, equal to this one.
    fn same_origin(&self) -> ApiResult<()> {
        if matches!(self.method(), Method::Get | Method::Head | Method::Options) {
            return Ok(());
        }
        let header = |name| self.headers.get(name).ok().flatten();
        let site_ok = header("sec-fetch-site").is_none_or(|s| s == "same-origin");
        let origin_ok = header("origin").is_none_or(|o| o == self.origin());
        if site_ok && origin_ok {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "A change made with the session cookie must come from Beacon's own pages.".into(),
            ))
        }
    }

    /// How this request authenticates: the hash of its bearer token or session cookie, and the
    /// statement that looks its caller up.
    async fn credential(&self) -> ApiResult<Option<Credential>> {
        if let Some(token) = self.bearer_token() {
            return self.token_credential(&token).await.map(Some);
        }
        let Some(token) = self.session_token() else {
            return Ok(None);
        };
        self.same_origin()?;
        let hash = platform::sha256_hex(&token).await?;
        let lookup = identity::session_lookup(&self.db, &hash, self.now)?;
        let via = Via::Session {
            token_hash: hash.clone(),
        };
        Ok(Some(Credential { hash, via, lookup }))
    }

    /// An access token's credential.
    async fn token_credential(&self, token: &str) -> ApiResult<Credential> {
        let hash = platform::sha256_hex(token).await?;
        let lookup = identity::token_lookup(&self.db, &hash, self.now)?;
        let via = Via::Token {
            token_hash: hash.clone(),
        };
        Ok(Credential { hash, via, lookup })
    }

    /// The signed-in caller, if any; read fresh from D1 on every request so role changes,
    /// removals and revocations apply at once.
    pub async fn caller(&self) -> ApiResult<Option<Caller>> {
        let Some(c) = self.credential().await? else {
            return Ok(None);
        };
        let Some(row) = identity::caller(&self.db, c.lookup).await? else {
            return Ok(None);
        };
        seen::remember(&c.hash, &row);
        Ok(Some(self.signed_in(row, c.via)))
    }

    fn signed_in(&self, row: identity::CallerRow, via: Via) -> Caller {
        self.touch_later(&row);
        Caller {
            role: effective_role(&row),
            user_id: row.user_id,
            email: row.email,
            name: row.name,
            team_id: row.team_id,
            team_name: row.team_name,
            via,
        }
    }

    /// Records "last active" after the response is sent, so reads stay free of write latency.
    /// Most requests have nothing to record: they hand the runtime no task.
    fn touch_later(&self, row: &identity::CallerRow) {
        let touch = identity::Touch::of(row);
        if !touch.is_due() {
            return;
        }
        let env = self.env.clone();
        let (now, request_id) = (self.now, self.request_id.clone());
        self.ctx.wait_until(async move {
            let result = match Db::new(&env) {
                Ok(db) => touch.run(&db, now).await,
                Err(e) => Err(e),
            };
            if let Err(e) = result {
                worker::console_error!("{request_id} touch: {e}");
            }
        });
    }

    /// The caller, who must be signed in and hold at least `needed`.
    ///
    /// A GET by a caller this isolate has seen costs no round trip of its own: the caller's
    /// lookup is sent in the same D1 batch as the handler's first read ([`Db::guard`]), and if it
    /// no longer finds them, or finds a role too low, what was read is thrown away and the answer
    /// is 401 or 403 ([`finish`]). Anything else — every write, and a caller not seen yet — is
    /// looked up first, on its own.
    pub async fn require(&self, needed: Role) -> ApiResult<Caller> {
        let c = self.credential().await?.ok_or(ApiError::Unauthorized)?;
        self.require_with(c, needed, self.method() == Method::Get)
            .await
    }

    /// [`Ctx::require`] for the ingest routes (telemetry, OTLP), whose writes are one D1 batch:
    /// a sender seen before is checked by a statement leading that batch ([`Db::guard_write`]),
    /// so a batch of events is one round trip. Only handlers that touch nothing outside D1
    /// before their write may use it: until that statement runs, the caller is unconfirmed.
    pub async fn require_sender(&self, needed: Role) -> ApiResult<Caller> {
        let c = self.credential().await?.ok_or(ApiError::Unauthorized)?;
        self.require_with(c, needed, true).await
    }

    /// For the LLM gateway: the caller holds at least `needed` and comes with an access token
    /// where the providers' own client libraries put their API key — `Authorization: Bearer`
    /// (OpenAI's) or `x-api-key` (Anthropic's). A session is not enough. A token seen before is
    /// checked as [`Ctx::require_sender`] checks a sender, by a statement leading the gateway's
    /// one batch (keys, prices, budget, rate limit), which runs before the call goes out: a
    /// revoked token or a removed member spends nothing.
    pub async fn require_token(&self, needed: Role) -> ApiResult<Caller> {
        let token = self
            .bearer_token()
            .or_else(|| self.header("x-api-key").map(|t| t.trim().to_string()))
            .filter(|t| !t.is_empty())
            .ok_or(ApiError::Unauthorized)?;
        let c = self.token_credential(&token).await?;
        self.require_with(c, needed, true).await
    }

    async fn require_with(&self, c: Credential, needed: Role, deferred: bool) -> ApiResult<Caller> {
        let known = deferred
            .then(|| seen::recall(&c.hash))
            .flatten()
            .filter(|row| effective_role(row).allows(needed));
        if let Some(row) = known {
            let (hash, user, team) = (c.hash.clone(), row.user_id.clone(), row.team_id.clone());
            let must = (self.method() != Method::Get)
                .then(|| {
                    let token = matches!(c.via, Via::Token { .. });
                    identity::still_allowed(&self.db, token, &hash, self.now, &user, &team, needed)
                })
                .transpose()?;
            let verify: crate::store::Verify = Box::new(move |result| {
                let fresh: Option<identity::CallerRow> =
                    crate::store::first_row(result).ok().flatten();
                let Some(fresh) = fresh.filter(|f| f.user_id == user && f.team_id == team) else {
                    seen::forget(&hash);
                    return Err(Refusal::SignedOut);
                };
                let allowed = effective_role(&fresh).allows(needed);
                seen::remember(&hash, &fresh);
                if allowed {
                    Ok(())
                } else {
                    Err(Refusal::Forbidden(needed))
                }
            });
            match must {
                Some(must) => self.db.guard_write(c.lookup, verify, must),
                None => self.db.guard(c.lookup, verify),
            }
            return Ok(self.signed_in(row, c.via));
        }
        let row = identity::caller(&self.db, c.lookup)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        seen::remember(&c.hash, &row);
        let caller = self.signed_in(row, c.via);
        authorize(&caller, needed)?;
        Ok(caller)
    }
}

/// A request's credential: its secret's hash, how it came, and its caller's lookup.
struct Credential {
    hash: String,
    via: Via,
    lookup: D1PreparedStatement,
}

/// A member's role, or for an access token the lower of its own role and its creator's.
fn effective_role(row: &identity::CallerRow) -> Role {
    row.token_role.map_or(row.role, |t| t.min(row.role))
}

/// Ends a request whose caller may have been checked late: a guard still pending is run now, and
/// a caller the guard refused gets 401 or 403 whatever the handler answered.
pub async fn finish(cx: &Ctx, result: ApiResult<Response>) -> ApiResult<Response> {
    let settled = cx.db.settle().await;
    match cx.db.refusal() {
        Some(Refusal::SignedOut) => Err(ApiError::Unauthorized),
        Some(Refusal::Forbidden(needed)) => Err(ApiError::forbidden_role(needed)),
        None => {
            settled?;
            result
        }
    }
}

/// Who this isolate has seen behind a session or token hash. A hash always names the same user
/// in the same team, so this remembers only who asks — never whether they still may: that is
/// checked in D1 on every request, in the same round trip as the read it guards.
mod seen {
    use std::cell::RefCell;
    use std::collections::HashMap;

    use crate::store::identity::CallerRow;

    /// Enough for every active session and token of a busy isolate; past it, start over.
    const MAX: usize = 10_000;

    thread_local! {
        static SEEN: RefCell<HashMap<String, CallerRow>> = RefCell::new(HashMap::new());
    }

    pub fn remember(hash: &str, row: &CallerRow) {
        SEEN.with(|seen| {
            let mut seen = seen.borrow_mut();
            if seen.len() >= MAX && !seen.contains_key(hash) {
                seen.clear();
            }
            seen.insert(hash.to_string(), row.clone());
        });
    }

    pub fn recall(hash: &str) -> Option<CallerRow> {
        SEEN.with(|seen| seen.borrow().get(hash).cloned())
    }

    pub fn forget(hash: &str) {
        SEEN.with(|seen| seen.borrow_mut().remove(hash));
    }
}

/// A path id: anything that is not a UUID cannot name an object, so it is a 404.
pub fn path_id(raw: &str) -> ApiResult<String> {
    crate::domain::ids::parse_uuid(raw).ok_or(ApiError::NotFound)
}
