//! The LLM gateway: `POST /api/gateway/openai/v1/chat/completions`, `.../openai/v1/embeddings`
//! and `.../anthropic/v1/messages`. A provider call made with one of the team's vault keys for
//! a member's access token, passed through as the caller wrote it and answered as the provider
//! answered (a stream relayed chunk by chunk), and accounted like a workflow step's call: priced
//! at write time, held to an enforced budget before it is sent (the worst case reserved, the
//! real cost settled after), cached on request, limited per token, and a span in the caller's
//! trace. The rules are in [`crate::domain::gateway`]; this file is the order they apply in.
//!
//! The settlement (usage row, span, the budget given back, the key's use) runs after the answer
//! has gone out, in `wait_until`: for a stream, once the stream ends, is cut or the client hangs
//! up, with whatever usage the stream had reported by then.

use futures_channel::oneshot;
use futures_util::StreamExt;
use serde_json::Value;
use worker::{ByteStream, Env, Headers, Method, Response, ResponseBuilder};

use super::error::{ApiError, ApiResult};
use super::extract::{Ctx, Via, BODY_LIMIT};
use super::quota::{self, Kind};
use crate::domain::calendar::month_of;
use crate::domain::gateway::{self as rules, Api, Meter};
use crate::domain::otlp::{self, run::Ended};
use crate::domain::pricing::{choose, prompt_tokens_estimate, Price};
use crate::domain::role::Role;
use crate::domain::usage::Tokens;
use crate::engine::cost;
use crate::engine::keys::{open_sealed, KeyForCall};
use crate::outbound::{self, Call, Failure, Reply};
use crate::platform::{self, new_id, now_ms};
use crate::providers::auth_headers;
use crate::store::traces::{self, Priced};
use crate::store::usage::{GatewayMarks, NewUsage};
use crate::store::{budgets, cache, first_row, keys, pricing, rows, Db, OwnedTeam, Team, Text};
use crate::vault;

/// A provider's answer is relayed or read up to this much.
const RESPONSE_LIMIT: usize = 8 * 1024 * 1024;
/// The whole exchange, a long generation included.
const TIMEOUT_MS: u32 = 10 * 60_000;

/// The per-token rate limit as it stands after this call, for the `x-ratelimit-*` headers.
struct Limit {
    max: i64,
    remaining: i64,
    reset_s: i64,
}

/// Every gateway route: the call, then the gateway's own headers on whatever the answer is.
pub async fn pass(cx: &mut Ctx, api: Api) -> ApiResult<Response> {
    let mut limit = None;
    let mut response = match call(cx, api, &mut limit).await {
        Ok(r) => r,
        Err(e) => e.into_response(&cx.request_id),
    };
    let headers = response.headers_mut();
    headers.set("x-beacon-request-id", &cx.request_id)?;
    if let Some(l) = limit {
        headers.set("x-ratelimit-limit", &l.max.to_string())?;
        headers.set("x-ratelimit-remaining", &l.remaining.to_string())?;
        headers.set("x-ratelimit-reset", &l.reset_s.to_string())?;
    }
    Ok(response)
}

async fn call(cx: &mut Ctx, api: Api, limit: &mut Option<Limit>) -> ApiResult<Response> {
    let caller = cx.require_token(Role::Member).await?;
    let raw = cx.body(BODY_LIMIT).await?;
    let body = cx.json_of(&raw)?;
    let request = rules::read(api, &body).map_err(|(f, m)| ApiError::field(f, m))?;
    let ttl = rules::cache_ttl(cx.header("x-beacon-cache-ttl").as_deref())
        .map_err(|m| ApiError::field("x-beacon-cache-ttl", m))?;
    let chosen = key_header(cx, "x-beacon-key")?;
    let fallback = key_header(cx, "x-beacon-fallback-key")?;
    let team = caller.team(&cx.db);
    let now = cx.now;

    // One round trip: the key(s), the prices, the budget and the token's rate limit.
    let services = match api {
        Api::Messages => r#"["anthropic"]"#,
        Api::Chat | Api::Embeddings => r#"["openai","openai_compatible"]"#,
    };
    let mut statements = vec![
        keys::for_gateway(&team, chosen.as_deref(), services)?,
        pricing::for_models_stmt(&team, &[request.model.as_str()])?,
        budgets::get_stmt(&team)?,
    ];
    if let Some(id) = &fallback {
        statements.push(keys::for_gateway(&team, Some(id), services)?);
    }
    let window = Kind::GatewayCalls.window_ms();
    let start = now - now.rem_euclid(window);
    let max = quota::limit(&cx.env, Kind::GatewayCalls);
    if let (Some(max), Via::Token { token_hash }) = (max, &caller.via) {
        let kind = format!("gateway:{}", token_hash.get(..16).unwrap_or(token_hash));
        statements.push(crate::store::quota::take_stmt(&team, &kind, start, 1, max)?);
    }
    let results = cx.db.batch(statements).await?;
    if let Some(max) = max {
        let taken: Option<Text> = results.last().map(first_row).transpose()?.flatten();
        let reset_s = (start + window - now + 999) / 1000;
        *limit = Some(Limit {
            max,
            remaining: taken.as_ref().map_or(0, |t| (max - t.n).max(0)),
            reset_s,
        });
        if taken.is_none() {
            return Err(ApiError::RateLimited {
                retry_after_s: reset_s,
            });
        }
    }
    let usable = |row: Option<keys::Sealed>, header: &str| {
        row.filter(|k| api.accepts(k.service)).ok_or_else(|| {
            ApiError::field(
                header,
                match api {
                    Api::Messages => "must name an anthropic key of the team (or leave it out to use the newest one)",
                    _ => "must name an openai or openai_compatible key of the team (or leave it out to use the newest one)",
                },
            )
        })
    };
    let key = usable(first_row(&results[0])?, "x-beacon-key")?;
    let prices: Vec<Price> = rows(&results[1])?;
    let budget: Option<budgets::Budget> = first_row(&results[2])?;
    let fallback = match fallback {
        Some(_) => Some(usable(first_row(&results[3])?, "x-beacon-fallback-key")?),
        None => None,
    };

    let price = choose(&prices, team.id().as_str(), &request.model, now).cloned();
    let (trace_id, parent) = match cx
        .header("traceparent")
        .as_deref()
        .and_then(rules::traceparent)
    {
        Some((trace, span)) => (trace, Some(span)),
        None => (hex(&platform::random_bytes::<16>()?), None),
    };
    let mut settle = Settle {
        env: cx.env.clone(),
        team: OwnedTeam::of(&team),
        request_id: cx.request_id.clone(),
        api,
        model: request.model.clone(),
        key_id: key.id.clone(),
        provider: key.service.as_str(),
        price,
        hold: None,
        agent: cx
            .header("x-beacon-agent")
            .map(|a| a.trim().chars().take(200).collect::<String>())
            .filter(|a| !a.is_empty()),
        span: (trace_id, hex(&platform::random_bytes::<8>()?), parent),
        started: now,
        prompt_tokens: prompt_tokens_estimate(raw.len()),
        cache_put: None,
    };

    // The cache: only whole answers, only when asked.
    let cache = match ttl.filter(|_| !request.stream) {
        Some(ttl) => {
            let material =
                rules::cache_material(team.id().as_str(), api, key.service, &request.model, &body);
            Some((
                format!("gw:{}", platform::sha256_hex(&material).await?),
                ttl,
            ))
        }
        None => None,
    };
    if let Some((cache_key, _)) = &cache {
        let entry = cache::get(&cx.env, cache_key).await.unwrap_or_else(|e| {
            worker::console_error!("{} gateway: cache read: {e}", cx.request_id);
            None
        });
        if let Some(hit) = entry.as_deref().and_then(|e| rules::cache_hit(e, now)) {
            let answer: Value = serde_json::from_str(hit).unwrap_or(Value::Null);
            let saved = settle
                .price
                .as_ref()
                .map(|p| p.cost_nusd(&api.tokens(&answer)));
            let response = answer_with(200, Some("application/json"), None, "hit")
                .fixed(hit.as_bytes().to_vec());
            let outcome = Outcome {
                cache_hit: true,
                saved_nusd: saved,
                ..Outcome::tokens(Tokens::default())
            };
            cx.ctx.wait_until(settle.run(Ending::Now(outcome)));
            return Ok(response);
        }
    }
    let cache_state = if cache.is_some() { "miss" } else { "bypass" };

    // The budget: the worst case held before the call, or the call refused.
    let worst_output = rules::worst_output(api, &request);
    if let Some(worst) = cost::hold_for(
        settle.price.as_ref(),
        budget.as_ref(),
        &request.model,
        raw.len(),
        worst_output,
    )
    .map_err(ApiError::BudgetExceeded)?
    {
        let hold_id = new_id()?;
        let month = month_of(now).key;
        if !budgets::reserve_for_call(&team, &month, worst, &hold_id, now).await? {
            let budget = budget
                .as_ref()
                .ok_or(ApiError::Internal("no budget".into()))?;
            return Err(ApiError::BudgetExceeded(cost::over_budget(
                "call", worst, budget,
            )));
        }
        settle.hold = Some(hold_id);
    }

    // From here on every way out settles: the hold must be given back.
    let sent = send_with_fallback(cx, api, &request, &body, raw, &team, key, fallback).await;
    let (reply, opened) = match sent {
        Ok(sent) => sent,
        Err((error, key_id)) => {
            if let Some(id) = key_id {
                settle.key_id = id;
            }
            cx.ctx
                .wait_until(settle.run(Ending::Now(Outcome::failed(error.message_for_span()))));
            return Err(error.into_api());
        }
    };
    settle.key_id = opened.0;
    settle.provider = opened.1;
    let secret = opened.2;
    let status = reply.status();
    let content_type = reply.header("content-type");
    let streamed = (200..300).contains(&status)
        && content_type
            .as_deref()
            .is_some_and(|t| t.starts_with("text/event-stream"));
    if streamed {
        drop(secret);
        return relay(cx, api, reply, settle, status, content_type);
    }

    let retry_after = reply.header("retry-after");
    let bytes = match reply.body(RESPONSE_LIMIT).await {
        Ok(bytes) => bytes,
        Err(failure) => {
            let error = Sent::Failed(failure);
            cx.ctx
                .wait_until(settle.run(Ending::Now(Outcome::failed(error.message_for_span()))));
            return Err(error.into_api());
        }
    };
    // A provider quotes a refused key in its error message; it never reaches the caller.
    let bytes = rules::redact(&bytes, secret.expose()).unwrap_or(bytes);
    drop(secret);
    let outcome = if (200..300).contains(&status) {
        let answer: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if let (Some((cache_key, ttl)), 200, Ok(text)) =
            (&cache, status, std::str::from_utf8(&bytes))
        {
            let entry = rules::cache_entry(now_ms() + i64::from(*ttl) * 1000, text);
            settle.cache_put = Some((cache_key.clone(), entry, *ttl));
        }
        Outcome::tokens(api.tokens(&answer))
    } else {
        Outcome::failed(format!("The provider answered {status}."))
    };
    cx.ctx.wait_until(settle.run(Ending::Now(outcome)));
    Ok(answer_with(
        status,
        content_type.as_deref(),
        retry_after.as_deref(),
        cache_state,
    )
    .fixed(bytes))
}

/// The response head the gateway gives every provider answer it passes on.
fn answer_with(
    status: u16,
    content_type: Option<&str>,
    retry_after: Option<&str>,
    cache: &str,
) -> ResponseBuilder {
    let headers = Headers::new();
    let _ = headers.set("content-type", content_type.unwrap_or("application/json"));
    let _ = headers.set("x-beacon-cache", cache);
    if let Some(r) = retry_after {
        let _ = headers.set("retry-after", r);
    }
    ResponseBuilder::new()
        .with_status(status)
        .with_headers(headers)
}

/// A key id from a header: a UUID, or 422.
fn key_header(cx: &Ctx, name: &str) -> ApiResult<Option<String>> {
    match cx.header(name).map(|v| v.trim().to_string()) {
        None => Ok(None),
        Some(raw) => crate::domain::ids::parse_uuid(&raw)
            .map(Some)
            .ok_or_else(|| ApiError::field(name, "must be the id of one of the team's keys")),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Why no provider answer came.
enum Sent {
    Failed(Failure),
    Vault,
}

impl Sent {
    fn message_for_span(&self) -> String {
        match self {
            Sent::Failed(Failure::Blocked(why)) => format!("The key's base URL {why}."),
            Sent::Failed(Failure::Timeout) => "The provider did not answer in time.".into(),
            Sent::Failed(Failure::TooLarge) => "The provider's answer was too large.".into(),
            Sent::Failed(_) => "The provider could not be reached.".into(),
            Sent::Vault => "The provider key could not be opened.".into(),
        }
    }

    fn into_api(self) -> ApiError {
        match self {
            Sent::Vault => ApiError::Internal("gateway: a provider key cannot be opened".into()),
            other => ApiError::BadGateway(other.message_for_span()),
        }
    }
}

/// A key opened for the call: its id, service name and secret.
type Opened = (String, &'static str, vault::Secret);

/// Sends the call with `key`, and once more with `fallback` when the first answers 429 or 5xx
/// or fails before answering at all. The error names the last key tried.
#[allow(clippy::too_many_arguments)]
async fn send_with_fallback(
    cx: &Ctx,
    api: Api,
    request: &rules::Call,
    body: &Value,
    raw: Vec<u8>,
    team: &Team<'_>,
    key: keys::Sealed,
    fallback: Option<keys::Sealed>,
) -> Result<(Reply, Opened), (Sent, Option<String>)> {
    let master = vault::master_keys(&cx.env).map_err(|e| {
        worker::console_error!("{} gateway: {e}", cx.request_id);
        (Sent::Vault, None)
    })?;
    let payload = rules::outgoing(api, request, body, &raw).unwrap_or(raw);
    let payload = String::from_utf8(payload).map_err(|_| (Sent::Vault, None))?;
    let allow_private = platform::allow_private_upstreams(&cx.env);
    let mut tries = vec![key];
    tries.extend(fallback);
    let last = tries.len() - 1;
    let mut failure = None;
    for (i, stored) in tries.into_iter().enumerate() {
        let id = stored.id.clone();
        let opened = open_sealed(team, &master, stored).await.map_err(|e| {
            worker::console_error!("{} gateway: key {id}: {e}", cx.request_id);
            (Sent::Vault, Some(id.clone()))
        })?;
        match send(cx, api, &opened, &payload, allow_private).await {
            Ok(reply) if i == last || !matches!(reply.status(), 429 | 500..=599) => {
                let KeyForCall {
                    service, secret, ..
                } = opened;
                return Ok((reply, (id, service.as_str(), secret)));
            }
            Ok(_) => {}
            Err(f) if i == last => return Err((Sent::Failed(f), Some(id))),
            Err(f) => failure = Some(f),
        }
    }
    Err((Sent::Failed(failure.unwrap_or(Failure::Network)), None))
}

async fn send(
    cx: &Ctx,
    api: Api,
    key: &KeyForCall,
    payload: &str,
    allow_private: bool,
) -> Result<Reply, Failure> {
    let headers = auth_headers(key.service, &key.secret).map_err(|_| Failure::Network)?;
    let _ = headers.set("content-type", "application/json");
    if api == Api::Messages {
        // The caller's client names the API version and betas it speaks.
        for name in ["anthropic-version", "anthropic-beta"] {
            if let Some(value) = cx.header(name) {
                let _ = headers.set(name, &value);
            }
        }
    }
    outbound::send(Call {
        method: Method::Post,
        url: format!("{}{}", key.base_url, api.path()),
        headers,
        body: Some(payload.to_string()),
        timeout_ms: TIMEOUT_MS,
        allow_private,
    })
    .await
}

/// Relays a streamed answer chunk by chunk, reading its usage as it passes; the settlement
/// waits (in `wait_until`) for the stream to end, be cut, or be dropped by the client.
fn relay(
    cx: &Ctx,
    api: Api,
    reply: Reply,
    settle: Settle,
    status: u16,
    content_type: Option<String>,
) -> ApiResult<Response> {
    let (done, metered) = oneshot::channel();
    let prompt_tokens = settle.prompt_tokens;
    cx.ctx.wait_until(settle.run(Ending::Stream(metered)));
    let upstream = reply
        .stream()
        .ok_or_else(|| ApiError::BadGateway("The provider sent no stream.".into()))?;
    let relay = Relay {
        upstream,
        meter: Some((Meter::new(api), done)),
        prompt_tokens,
        sent: 0,
    };
    Ok(answer_with(status, content_type.as_deref(), None, "bypass").from_stream(relay)?)
}

/// A stream being relayed; dropped (ended, cut or abandoned), it hands its usage on.
struct Relay {
    upstream: ByteStream,
    meter: Option<(Meter, oneshot::Sender<rules::Metered>)>,
    prompt_tokens: i64,
    sent: usize,
}

impl futures_util::Stream for Relay {
    type Item = worker::Result<Vec<u8>>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use std::task::Poll;
        // Past the cap, or cut, the relay is over: the client's stream ends there, without the
        // provider's end marker (`[DONE]`, `message_stop`). An error passed on instead would be
        // an uncaught exception in the isolate.
        if self.sent > RESPONSE_LIMIT {
            return Poll::Ready(None);
        }
        let next = self.upstream.poll_next_unpin(cx);
        let relay = &mut *self;
        match &next {
            Poll::Ready(Some(Ok(chunk))) => {
                relay.sent += chunk.len();
                if relay.sent > RESPONSE_LIMIT {
                    return Poll::Ready(None);
                }
                if let Some((meter, _)) = relay.meter.as_mut() {
                    meter.feed(chunk);
                }
            }
            Poll::Ready(Some(Err(_))) => return Poll::Ready(None),
            _ => {}
        }
        next
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if let Some((meter, done)) = self.meter.take() {
            let _ = done.send(meter.finish(self.prompt_tokens));
        }
    }
}

/// When the settlement may run: now, or once a relayed stream says what it came to.
enum Ending {
    Now(Outcome),
    Stream(oneshot::Receiver<rules::Metered>),
}

/// How a call ended, for its settlement.
struct Outcome {
    /// `None`: no answer to count (the provider failed or refused).
    tokens: Option<Tokens>,
    cache_hit: bool,
    saved_nusd: Option<i64>,
    incomplete: bool,
    error: Option<String>,
}

impl Outcome {
    fn tokens(tokens: Tokens) -> Outcome {
        Outcome {
            tokens: Some(tokens),
            cache_hit: false,
            saved_nusd: None,
            incomplete: false,
            error: None,
        }
    }

    fn failed(message: String) -> Outcome {
        Outcome {
            tokens: None,
            error: Some(message),
            ..Outcome::tokens(Tokens::default())
        }
    }
}

/// What the settlement of one call needs, owned, to run after the answer has gone.
struct Settle {
    env: Env,
    team: OwnedTeam,
    request_id: String,
    api: Api,
    model: String,
    key_id: String,
    provider: &'static str,
    price: Option<Price>,
    /// The `gateway_holds` row holding the call's worst case, under an enforced budget.
    hold: Option<String>,
    agent: Option<String>,
    /// Trace id, span id, parent span id.
    span: (String, String, Option<String>),
    started: i64,
    prompt_tokens: i64,
    /// A whole answer to keep in the cache: its KV key, the entry and the TTL (s).
    cache_put: Option<(String, String, u32)>,
}

impl Settle {
    /// The one future the gateway hands to `wait_until`: the cache entry written, then the call
    /// recorded once it has ended.
    async fn run(self, ending: Ending) {
        if let Some((key, entry, ttl)) = &self.cache_put {
            if let Err(e) = cache::put(&self.env, key, entry, *ttl).await {
                worker::console_error!("{} gateway: cache write: {e}", self.request_id);
            }
        }
        let outcome = match ending {
            Ending::Now(outcome) => outcome,
            Ending::Stream(metered) => match metered.await {
                Ok(m) => Outcome {
                    incomplete: !m.complete,
                    ..Outcome::tokens(m.tokens)
                },
                Err(_) => Outcome::failed("The stream ended unread.".into()),
            },
        };
        if let Err(e) = self.record(outcome).await {
            worker::console_error!("{} gateway: settling the call: {e}", self.request_id);
        }
    }

    /// One batch: the span and its trace, the key's use, the usage row priced now, the hold
    /// given back and the spending; then the budget thresholds crossed are announced.
    async fn record(&self, o: Outcome) -> worker::Result<()> {
        let db = Db::new(&self.env)?;
        let team = self.team.scope(&db);
        let now = now_ms();
        let cost_nusd = match (&o.tokens, o.cache_hit) {
            (_, true) => Some(0),
            (Some(t), false) => self.price.as_ref().map(|p| p.cost_nusd(t)),
            (None, false) => None,
        };
        let call = o.tokens.map(|tokens| otlp::run::Call {
            provider: self.provider,
            model: &self.model,
            tokens,
        });
        let ended = Ended {
            start_ms: self.started,
            end_ms: now,
            error: o.error.as_deref().map(|m| ("provider_error", m)),
        };
        let span = otlp::run::gateway_call(
            self.span.clone(),
            self.agent.as_deref(),
            (self.api.operation(), &self.model),
            call,
            &ended,
        );
        let price_id = self.price.as_ref().map(|p| p.id.as_str());
        let priced = Priced {
            span: &span,
            cost_nusd,
            price_id,
        };
        let mut statements = traces::insert_spans(&team, &[priced], now)?;
        statements.push(traces::upsert_traces(
            &team,
            &otlp::summarize([(&span, cost_nusd)]),
            now,
        )?);
        if !o.cache_hit {
            statements.push(keys::use_stmt(&team, &self.key_id, now)?);
        }
        let release = match &self.hold {
            Some(id) => budgets::release_call(&team, id)?,
            None => Vec::new(),
        };
        let Some(tokens) = &o.tokens else {
            statements.extend(release);
            db.batch(statements).await?;
            return Ok(());
        };
        let id = new_id()?;
        let row = NewUsage {
            id: &id,
            execution_id: "",
            workflow_id: "",
            step_id: "",
            agent: self.agent.as_deref(),
            key_id: &self.key_id,
            provider: self.provider,
            model: &self.model,
            tokens,
            cost_nusd,
            price_id,
            priced_at: self.started,
            gateway: Some(GatewayMarks {
                trace_id: &self.span.0,
                span_id: &self.span.1,
                cache_hit: o.cache_hit,
                saved_nusd: o.saved_nusd,
                incomplete: o.incomplete,
            }),
        };
        let mut charge = cost::record(&team, &row, release, now)?;
        statements.append(&mut charge.statements);
        let results = db.batch(statements).await?;
        cost::announce(&team, &charge, results.last()).await;
        Ok(())
    }
}
