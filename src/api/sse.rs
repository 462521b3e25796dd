//! Server-Sent Events fed by polling: the one mechanism behind the live streams. Each
//! connection polls an indexed query at an interval, sends what is new, proves it is alive with a
//! heartbeat, and closes after five minutes (the browser reconnects with `Last-Event-ID`).
//! A stream re-checks its caller every [`RECHECK_MS`] and ends once the session or token is
//! revoked or the member removed; a user holds at most [`MAX_STREAMS`] at once (`429` beyond).

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::Duration;

use futures_util::future::poll_fn;

use worker::{Env, Headers, Response, ResponseBuilder};

use super::error::{ApiError, ApiResult};
use super::extract::{Caller, Ctx, Recheck};
use crate::platform::{new_id, now_ms};
use crate::store::{streams, Db, OwnedTeam};

const LIFETIME_MS: i64 = 5 * 60_000;
const HEARTBEAT_MS: i64 = 15_000;
/// How often a stream looks its caller up again (the spec: at most 30 s).
const RECHECK_MS: i64 = 10_000;
/// Open streams per user.
const MAX_STREAMS: i64 = 10;

/// One event's wire form.
pub fn event(id: Option<&str>, name: &str, data: &serde_json::Value) -> String {
    match id {
        Some(id) => format!("id: {id}\nevent: {name}\ndata: {data}\n\n"),
        None => format!("event: {name}\ndata: {data}\n\n"),
    }
}

/// A stream for the caller's team: `poll(team, cursor)` answers the events newer than `cursor`
/// (already in wire form, empty when nothing is new) and the cursor to continue from. `greeting`
/// is sent first.
pub async fn polled<C, F, Fut>(
    cx: &Ctx,
    caller: &Caller,
    greeting: String,
    cursor: C,
    every_ms: u64,
    poll: F,
) -> ApiResult<Response>
where
    C: 'static,
    F: Fn(Env, OwnedTeam, C) -> Fut + 'static,
    Fut: Future<Output = worker::Result<(String, C)>>,
{
    let stream_id = new_id()?;
    let team = caller.team(&cx.db);
    if !streams::open(&team, &stream_id, &caller.user_id, cx.now, MAX_STREAMS).await? {
        return Err(ApiError::RateLimited {
            retry_after_s: RECHECK_MS / 1000,
        });
    }
    let opened = now_ms();
    let state = State {
        env: cx.env.clone(),
        team: OwnedTeam::of(&team),
        cursor: Some(cursor),
        opened,
        last_write: opened,
        last_check: opened,
        greeting: Some(format!("retry: 2000\n\n{greeting}")),
        recheck: caller.recheck(),
        row: Row::close_when_dropped(cx, OwnedTeam::of(&team), stream_id),
    };
    let events = futures_util::stream::unfold((state, poll), move |(mut st, poll)| async move {
        if let Some(greeting) = st.greeting.take() {
            return Some((
                Ok::<Vec<u8>, worker::Error>(greeting.into_bytes()),
                (st, poll),
            ));
        }
        loop {
            let now = now_ms();
            let cursor = st.cursor.take()?;
            if now - st.opened > LIFETIME_MS {
                return None;
            }
            if now - st.last_check >= RECHECK_MS {
                match st.still_wanted(now).await {
                    Ok(true) => st.last_check = now,
                    Ok(false) => return None,
                    Err(e) => {
                        worker::console_error!("event stream: re-checking the caller: {e}");
                        return None;
                    }
                }
            }
            match poll(st.env.clone(), st.team.clone(), cursor).await {
                Ok((chunk, next)) => {
                    st.cursor = Some(next);
                    if !chunk.is_empty() {
                        st.last_write = now;
                        return Some((Ok(chunk.into_bytes()), (st, poll)));
                    }
                    if now - st.last_write > HEARTBEAT_MS {
                        st.last_write = now;
                        return Some((Ok(b": heartbeat\n\n".to_vec()), (st, poll)));
                    }
                }
                Err(e) => {
                    worker::console_error!("event stream: {e}");
                    return None;
                }
            }
            worker::Delay::from(Duration::from_millis(every_ms)).await;
        }
    });
    let headers = Headers::new();
    headers.set("content-type", "text/event-stream")?;
    headers.set("cache-control", "no-store")?;
    Ok(ResponseBuilder::new()
        .with_headers(headers)
        .from_stream(events)?)
}

/// A live stream's state between polls.
struct State<C> {
    env: Env,
    team: OwnedTeam,
    cursor: Option<C>,
    opened: i64,
    last_write: i64,
    last_check: i64,
    greeting: Option<String>,
    recheck: Recheck,
    row: Row,
}

impl<C> State<C> {
    /// Whether the caller may still hear this stream; if so its row is refreshed.
    async fn still_wanted(&self, now: i64) -> worker::Result<bool> {
        let db = Db::new(&self.env)?;
        if !self.recheck.still_signed_in(&db, now).await? {
            return Ok(false);
        }
        streams::refresh(&self.team.scope(&db), &self.row.id, now).await?;
        Ok(true)
    }
}

/// The stream's row in `open_streams`. However the stream ends (its lifetime, a revoked caller,
/// the client going away), dropping this wakes a task the request registered with `wait_until`
/// (so it still runs in the request's context), which deletes the row; if even that never runs,
/// the row goes stale and stops counting.
struct Row {
    id: String,
    ended: Rc<RefCell<(bool, Option<Waker>)>>,
}

impl Row {
    fn close_when_dropped(cx: &Ctx, team: OwnedTeam, id: String) -> Row {
        let ended = Rc::new(RefCell::new((false, None::<Waker>)));
        let (signal, env, row_id) = (ended.clone(), cx.env.clone(), id.clone());
        cx.ctx.wait_until(async move {
            poll_fn(|task| {
                let mut state = signal.borrow_mut();
                if state.0 {
                    Poll::Ready(())
                } else {
                    state.1 = Some(task.waker().clone());
                    Poll::Pending
                }
            })
            .await;
            let closed = match Db::new(&env) {
                Ok(db) => streams::close(&team.scope(&db), &row_id).await,
                Err(e) => Err(e),
            };
            if let Err(e) = closed {
                worker::console_error!("event stream {row_id}: {e}");
            }
        });
        Row { id, ended }
    }
}

impl Drop for Row {
    fn drop(&mut self) {
        let mut state = self.ended.borrow_mut();
        state.0 = true;
        if let Some(waker) = state.1.take() {
            waker.wake();
        }
    }
}
