//! Traces: the OTLP/HTTP receiver that agents running in users' own code export their spans to
//! (OpenTelemetry GenAI conventions), and the list and detail the app shows. Decoding, limits and
//! the GenAI reading are [`crate::domain::otlp`]'s; storage is [`crate::store::traces`]'s.

use std::collections::HashMap;

use serde_json::json;
use worker::{Response, ResponseBuilder};

use super::error::{ApiError, ApiResult};
use super::extract::Ctx;
use super::quota::{self, Kind};
use super::respond;
use crate::domain::errors::fingerprint;
use crate::domain::otlp::{self, Encoding, ReceiveError, Span};
use crate::domain::paging::paginate;
use crate::domain::pricing::choose;
use crate::domain::role::Role;
use crate::engine::{cost, hooks};
use crate::platform::{new_id, Gunzip};
use crate::store::errors::{self as error_store, Occurrence};
use crate::store::traces::{self, Call, Filter, Known, Priced};
use crate::store::{budgets, Team};

/// Error occurrences recorded per request (each is three statements in the write batch); spans
/// beyond still show their error status in the trace.
const MAX_OCCURRENCES: usize = 16;
/// Attempts at the write batch when a concurrent request stored some of the same spans.
const ATTEMPTS: usize = 3;
/// Bytes of a text filter.
const MAX_FILTER_BYTES: usize = 1024;

/// POST /api/otlp/v1/traces — an OTLP/HTTP `ExportTraceServiceRequest`, protobuf or JSON, plain
/// or gzip, by a member or above (session or access token). Answers in the request's encoding.
pub async fn receive(cx: &mut Ctx) -> ApiResult<Response> {
    let caller = cx.require_sender(Role::Member).await?;
    let encoding = cx
        .header("content-type")
        .as_deref()
        .and_then(Encoding::from_content_type)
        .ok_or(ApiError::UnsupportedMedia(
            "Send OTLP as application/x-protobuf or application/json.",
        ))?;
    let gzip = match cx.header("content-encoding").as_deref().map(str::trim) {
        None | Some("") => false,
        Some(e) if e.eq_ignore_ascii_case("identity") => false,
        Some(e) if e.eq_ignore_ascii_case("gzip") => true,
        Some(_) => {
            return Err(ApiError::UnsupportedMedia(
                "Send the body plain or with Content-Encoding: gzip.",
            ))
        }
    };
    let body = match cx.body(otlp::MAX_BODY_BYTES).await {
        Ok(body) => body,
        Err(ApiError::PayloadTooLarge(_)) => return Ok(refusal(encoding, &ReceiveError::TooLarge)),
        Err(e) => return Err(e),
    };
    let body = if gzip && !body.is_empty() {
        match crate::platform::gunzip(body, otlp::MAX_BODY_BYTES).await? {
            Ok(inflated) => inflated,
            Err(Gunzip::TooLarge) => return Ok(refusal(encoding, &ReceiveError::TooLarge)),
            Err(Gunzip::Corrupt) => {
                let e = ReceiveError::Malformed("the body is not valid gzip".into());
                return Ok(refusal(encoding, &e));
            }
        }
    } else {
        body
    };
    let batch = match otlp::receive(&body, encoding, cx.now) {
        Ok(batch) => batch,
        Err(e) => return Ok(refusal(encoding, &e)),
    };
    drop(body);
    let partial = batch.partial_success();
    let team = caller.team(&cx.db);
    // Every span counts toward the team's per-minute quota (429 with Retry-After past it).
    quota::take(&cx.env, &team, Kind::Spans, batch.spans.len() as i64).await?;
    store(cx, &team, batch.spans).await?;
    Ok(answer(
        encoding,
        200,
        otlp::encode_response(encoding, partial.as_ref()),
    ))
}

fn answer(encoding: Encoding, status: u16, body: Vec<u8>) -> Response {
    let headers = worker::Headers::new();
    let _ = headers.set("content-type", encoding.content_type());
    ResponseBuilder::new()
        .with_status(status)
        .with_headers(headers)
        .fixed(body)
}

/// A request refused as a whole: a `google.rpc.Status` in the request's encoding.
fn refusal(encoding: Encoding, e: &ReceiveError) -> Response {
    let (status, code) = e.status();
    answer(
        encoding,
        status,
        otlp::encode_status(encoding, code, &e.message()),
    )
}

/// Stores the spans not stored yet, with their traces, LLM calls, spending and errors, in one
/// transaction; looks again when a concurrent request stored some of them first.
async fn store(cx: &Ctx, team: &Team<'_>, mut spans: Vec<Span>) -> ApiResult<()> {
    // A span sent twice in one request is stored once.
    let mut seen: HashMap<(&str, &str), usize> = HashMap::new();
    let twice: Vec<usize> = (0..spans.len())
        .filter(|&i| {
            seen.insert((&spans[i].trace_id, &spans[i].span_id), i)
                .is_some()
        })
        .collect();
    drop(seen);
    for i in twice.into_iter().rev() {
        spans.remove(i);
    }
    if spans.is_empty() {
        return Ok(());
    }
    // The models of the request's LLM calls, for the price rows that can price them.
    let mut models: Vec<&str> = Vec::new();
    for model in spans
        .iter()
        .filter(|s| s.is_llm_call())
        .filter_map(|s| s.gen_ai.model())
    {
        if !models.contains(&model) {
            models.push(model);
        }
    }
    for attempt in 1..=ATTEMPTS {
        let known = traces::look_up(team, &spans, &models).await?;
        let stored: HashMap<(&str, &str), usize> = known
            .spans
            .iter()
            .enumerate()
            .map(|(i, k)| ((k.trace_id.as_str(), k.span_id.as_str()), i))
            .collect();
        let mut fresh: Vec<Span> = spans
            .iter()
            .filter(|s| !stored.contains_key(&(s.trace_id.as_str(), s.span_id.as_str())))
            .cloned()
            .collect();
        if fresh.is_empty() {
            return Ok(());
        }
        otlp::inherit_stored(&mut fresh, &|trace, span| {
            let &i = stored.get(&(trace, span))?;
            known.spans[i].agent.clone()
        });
        match write(cx, team, &fresh, &known).await {
            Ok(()) => return Ok(()),
            Err(e) if attempt < ATTEMPTS && traces::is_duplicate(&e) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// One error a span reports, ready to record.
struct Reported<'a> {
    span: &'a Span,
    error: &'a otlp::SpanError,
    id: String,
    issue_id: String,
    fingerprint: String,
    context: String,
}

async fn write(cx: &Ctx, team: &Team<'_>, spans: &[Span], known: &Known) -> worker::Result<()> {
    let now = cx.now;
    let priced: Vec<Priced> = spans
        .iter()
        .map(|span| {
            let price = span.tokens.and(span.gen_ai.model()).and_then(|model| {
                // As of the call, as re-pricing prices it (`engine::cost::reprice`).
                choose(
                    &known.prices,
                    team.id().as_str(),
                    model,
                    span.called_at(now),
                )
            });
            Priced {
                span,
                cost_nusd: price.zip(span.tokens.as_ref()).map(|(p, t)| p.cost_nusd(t)),
                price_id: price.map(|p| p.id.as_str()),
            }
        })
        .collect();
    let summaries = otlp::summarize(priced.iter().map(|p| (p.span, p.cost_nusd)));
    let mut statements = traces::insert_spans(team, &priced, now)?;
    statements.push(traces::upsert_traces(team, &summaries, now)?);
    let adopted = otlp::adopted(spans, &known.orphans);
    if !adopted.is_empty() {
        let since = adopted.iter().map(|a| a.3).fold(f64::INFINITY, f64::min);
        let rows: Vec<(&str, &str, &str)> = adopted.iter().map(|a| (a.0, a.1, a.2)).collect();
        statements.extend(traces::adopt(team, &rows, (since.floor() as i64).min(now))?);
    }
    let mut calls = Vec::new();
    for p in priced.iter().filter(|p| p.span.is_llm_call()) {
        calls.push(Call {
            id: new_id()?,
            priced: p,
        });
    }
    if !calls.is_empty() {
        statements.extend(traces::insert_calls(team, &calls, now)?);
    }
    let spent: i64 = priced.iter().filter_map(|p| p.cost_nusd).sum();
    let month = crate::domain::calendar::month_of(now).key;
    let crossings_at = (spent > 0).then(|| statements.len() + 1);
    if spent > 0 {
        statements.push(budgets::spend(team, &month, spent)?);
        statements.push(budgets::crossings(team, &month, now)?);
    }
    let mut reported = Vec::new();
    for span in spans {
        for error in &span.errors {
            if reported.len() == MAX_OCCURRENCES {
                break;
            }
            reported.push(Reported {
                span,
                error,
                id: new_id()?,
                issue_id: new_id()?,
                fingerprint: fingerprint(&error.kind, &error.message, None, None),
                context: json!({"trace_id": span.trace_id, "span_id": span.span_id,
                                "span": span.name, "service": span.service})
                .to_string(),
            });
        }
    }
    let errors_at = statements.len();
    for r in &reported {
        let occurrence = Occurrence {
            id: &r.id,
            issue_id: &r.issue_id,
            fingerprint: &r.fingerprint,
            source: "client",
            kind: &r.error.kind,
            message: &r.error.message,
            severity: r.error.severity(),
            provider_status: r.error.http_status.map(i64::from),
            stack: r.error.stack.as_deref(),
            detail: None,
            context: Some(&r.context),
            execution_id: None,
            workflow_id: None,
            workflow_version: None,
            step_id: None,
            agent: r.span.agent.as_deref(),
            trace_id: Some(&r.span.trace_id),
            span_id: Some(&r.span.span_id),
        };
        statements.extend(error_store::record(team, &occurrence, now)?);
    }
    let results = team.db().batch(statements).await?;
    // What the committed batch set off: thresholds crossed, new or regressed issues.
    if let Some(at) = crossings_at {
        cost::announce_crossings(team, &month, results.get(at)).await;
    }
    for (i, r) in reported.iter().enumerate() {
        let at = errors_at + 3 * i;
        let Some(own) = results.get(at..at + 3) else {
            break;
        };
        if let Ok(Some(outcome)) = error_store::outcome(own) {
            hooks::error_issue_changed(team, &outcome, &r.error.kind, &r.error.message).await;
        }
    }
    Ok(())
}

/// A text filter from the query: trimmed, non-empty, at most [`MAX_FILTER_BYTES`].
fn text_filter(cx: &Ctx, name: &str) -> ApiResult<Option<String>> {
    match cx.query(name).map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) if v.len() > MAX_FILTER_BYTES => Err(ApiError::field(
            name,
            format!("must be at most {MAX_FILTER_BYTES} bytes"),
        )),
        Some(v) => Ok(Some(v.to_string())),
    }
}

/// A trace id as the routes take it: 32 hex digits, any case.
fn trace_id(raw: &str) -> Option<String> {
    (raw.len() == 32 && raw.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| raw.to_ascii_lowercase())
}

/// GET /api/traces?range=&from=&to=&service=&agent=&model=&status=ok|error&q=&limit=&cursor= —
/// traces newest first (by their first span's start); `q` searches span names. Without a range,
/// from or to, every trace kept.
pub async fn list(cx: &mut Ctx) -> ApiResult<Response> {
    let caller = cx.require(Role::Viewer).await?;
    let page = cx.page()?;
    let after = match page.before.as_deref() {
        None => None,
        Some(key) => Some(
            trace_id(key)
                .ok_or_else(|| ApiError::field("cursor", "is not a cursor this API issued"))?,
        ),
    };
    let windowed = ["range", "from", "to"]
        .iter()
        .any(|name| cx.query(name).is_some_and(|v| !v.is_empty()));
    let window = if windowed {
        Some(cx.range("24h")?)
    } else {
        None
    };
    let status = match cx.query("status").filter(|v| !v.is_empty()) {
        None => None,
        Some("ok") => Some("ok"),
        Some("error") => Some("error"),
        Some(_) => return Err(ApiError::field("status", "must be ok or error")),
    };
    let filter = Filter {
        from: window.as_ref().map(|w| w.from),
        to: window.as_ref().map(|w| w.to),
        service: text_filter(cx, "service")?,
        agent: text_filter(cx, "agent")?,
        model: text_filter(cx, "model")?,
        status,
        q: text_filter(cx, "q")?,
    };
    let found = traces::list(&caller.team(&cx.db), &filter, after.as_deref(), page.limit).await?;
    let (rows, next) = paginate(found.data, &page, |t| {
        t["id"].as_str().unwrap_or("").to_string()
    });
    // A short page from a bounded walk: the next one walks on from where it stopped.
    let next = next.or_else(|| {
        found
            .last
            .map(|last| crate::domain::paging::encode_cursor(&last))
    });
    Ok(respond::page(&rows, next))
}

/// GET /api/traces/:trace_id — the trace and its spans by start (2,000 at most); 404 when the
/// team has no such trace.
pub async fn get(cx: &mut Ctx, raw_id: &str) -> ApiResult<Response> {
    let caller = cx.require(Role::Viewer).await?;
    let id = trace_id(raw_id).ok_or(ApiError::NotFound)?;
    let body = traces::detail_json(&caller.team(&cx.db), &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(respond::raw_json(200, body))
}
