//! D1's answers as the runtime hands them over, read field by field with `Reflect`.
//!
//! The worker crate's `D1Result` reads rows and `meta` through serde (`serde_wasm_bindgen`),
//! whose error messages format every kind of value, floats included: that machinery was 8 KB
//! gzipped of the wasm for reading a handful of numbers that `Reflect` reads directly. Statements
//! are still the worker crate's (`D1Database::prepare`, `D1PreparedStatement::bind`); only
//! running them and reading what came back is here.

use js_sys::{Array, Promise, Reflect};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use worker::{D1Database, D1PreparedStatement, Result};

// Sends a call to D1: the database's `batch(list)`, or a statement's `all()` (for a write too:
// D1's `run()` is the same call). A call refused because another process held the database's
// write lock is sent again after 10, 20, 40, 80, 160 and 320 ms: nothing of it ran (a batch is
// one transaction). Only a local database shared with another workerd (`wrangler d1 execute
// --local` beside `wrangler dev`) refuses so, as `SQLITE_BUSY` or, when the lock is met inside
// the local D1 object, as miniflare's "Failed to parse body as JSON, got: Error: internal error"
// (the SQLite error is only in wrangler's log). Before, such a write answered 500 and a run's
// finish hooks lost what they were writing (a schedule's failure streak). Cloudflare's D1 never
// answers either, so no write there is ever sent twice. In JavaScript, where waiting is a
// `setTimeout`: in Rust the loop and its timer cost the wasm 1.2 KB gzipped.
#[wasm_bindgen(inline_js = "export async function d1_send(target, list) {
  for (let wait = 10; ; wait *= 2) {
    try {
      return await (list ? target.batch(list) : target.all());
    } catch (e) {
      const why = `${e?.message} ${e?.cause?.message}`;
      const busy = why.includes('SQLITE_BUSY') || why.includes('JSON, got: Error: internal error');
      if (wait > 320 || !busy) throw e;
      await new Promise((done) => setTimeout(done, wait));
    }
  }
}")]
extern "C" {
    fn d1_send(target: &JsValue, list: Option<&Array>) -> Promise;
}

/// D1's answer to one statement: its rows (for a read), its error, and its `meta` counts.
#[derive(Debug)]
pub struct D1Result(JsValue);

impl D1Result {
    /// The statement's error, when D1 reports one on the result itself.
    pub fn error(&self) -> Option<String> {
        field(&self.0, "error").as_string()
    }

    /// The rows, each the JS object D1 made (column name to value).
    pub fn rows(&self) -> Vec<JsValue> {
        match field(&self.0, "results").dyn_into::<Array>() {
            Ok(rows) => rows.to_vec(),
            Err(_) => Vec::new(),
        }
    }

    /// A number from `meta` (`changes`, `rows_written`, `size_after`, …), when D1 gives it.
    pub fn meta(&self, name: &str) -> Option<f64> {
        field(&field(&self.0, "meta"), name).as_f64()
    }
}

fn field(object: &JsValue, name: &str) -> JsValue {
    if object.is_object() {
        Reflect::get(object, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
    } else {
        JsValue::UNDEFINED
    }
}

/// Runs one statement, a read or a write, answering its rows and `meta` (`all`).
pub async fn all(statement: &D1PreparedStatement) -> Result<D1Result> {
    settle(statement.inner(), None).await.map(D1Result)
}

/// Runs statements in one round trip and one transaction, answering one result each.
pub async fn batch(db: &D1Database, statements: Vec<D1PreparedStatement>) -> Result<Vec<D1Result>> {
    let list: Array = statements
        .iter()
        .map(|s| JsValue::from(s.inner().clone()))
        .collect();
    let results = settle(db.as_ref(), Some(&list)).await?;
    match results.dyn_into::<Array>() {
        Ok(results) => Ok(results.iter().map(D1Result).collect()),
        Err(_) => Err(worker::Error::RustError(
            "D1: a batch answered no list".into(),
        )),
    }
}

async fn settle(target: &JsValue, list: Option<&Array>) -> Result<JsValue> {
    JsFuture::from(d1_send(target, list)).await.map_err(failure)
}

/// A D1 failure as an error whose text holds D1's message and its cause (where SQLite's own
/// words are, e.g. "UNIQUE constraint failed: users.email"), as the worker crate's `D1Error` did.
fn failure(e: JsValue) -> worker::Error {
    let Some(error) = e.dyn_ref::<js_sys::Error>() else {
        return worker::Error::from(e);
    };
    let message = String::from(error.message());
    let cause = error.cause();
    let cause = match cause.dyn_ref::<js_sys::Error>() {
        Some(c) => String::from(c.message()),
        None => cause.as_string().unwrap_or_default(),
    };
    worker::Error::RustError(if cause.is_empty() || message.contains(&cause) {
        format!("D1: {message}")
    } else {
        format!("D1: {message} ({cause})")
    })
}
