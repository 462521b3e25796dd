//! Server-Sent Events fed by polling: the one mechanism behind the live streams. Each
//! connection polls an indexed query at an interval, sends what is new, proves it is alive with a
//! heartbeat, and closes after five minutes (the browser reconnects with `Last-Event-ID`).

use std::future::Future;
use std::time::Duration;

use worker::{Env, Headers, Response, ResponseBuilder};

use super::error::ApiResult;
use crate::platform::now_ms;
use crate::store::OwnedTeam;

const LIFETIME_MS: i64 = 5 * 60_000;
const HEARTBEAT_MS: i64 = 15_000;

/// One event's wire form.
pub fn event(id: Option<&str>, name: &str, data: &serde_json::Value) -> String {
    match id {
        Some(id) => format!("id: {id}\nevent: {name}\ndata: {data}\n\n"),
        None => format!("event: {name}\ndata: {data}\n\n"),
    }
}

/// A stream for one team: `poll(team, cursor)` answers the events newer than `cursor` (already
/// in wire form, empty when nothing is new) and the cursor to continue from. `greeting` is sent
/// first.
pub fn polled<C, F, Fut>(
    env: Env,
    team: OwnedTeam,
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
    struct State<C> {
        env: Env,
        team: OwnedTeam,
        cursor: Option<C>,
        opened: i64,
        last_write: i64,
        greeting: Option<String>,
    }
    let opened = now_ms();
    let state = State {
        env,
        team,
        cursor: Some(cursor),
        opened,
        last_write: opened,
        greeting: Some(format!("retry: 2000\n\n{greeting}")),
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
