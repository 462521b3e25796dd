//! D1's answers as the runtime hands them over, read field by field with `Reflect`.
//!
//! The worker crate's `D1Result` reads rows and `meta` through serde (`serde_wasm_bindgen`),
//! whose error messages format every kind of value, floats included: that machinery was 8 KB
//! gzipped of the wasm for reading a handful of numbers that `Reflect` reads directly. Statements
//! are still the worker crate's (`D1Database::prepare`, `D1PreparedStatement::bind`); only
//! running them and reading what came back is here.

use js_sys::{Array, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use worker::worker_sys::D1Database as DatabaseSys;
use worker::{D1Database, D1PreparedStatement, Result};

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

/// Runs one statement, answering its rows (`all`).
pub async fn all(statement: &D1PreparedStatement) -> Result<D1Result> {
    settle(statement.inner().all()).await.map(D1Result)
}

/// Runs one write (`run`).
pub async fn run(statement: &D1PreparedStatement) -> Result<D1Result> {
    settle(statement.inner().run()).await.map(D1Result)
}

/// Runs statements in one round trip and one transaction, answering one result each.
pub async fn batch(db: &D1Database, statements: Vec<D1PreparedStatement>) -> Result<Vec<D1Result>> {
    let list: Array = statements
        .iter()
        .map(|s| JsValue::from(s.inner().clone()))
        .collect();
    let database: &DatabaseSys = db.as_ref().unchecked_ref();
    let results = settle(database.batch(list)).await?;
    match results.dyn_into::<Array>() {
        Ok(results) => Ok(results.iter().map(D1Result).collect()),
        Err(_) => Err(worker::Error::RustError(
            "D1: a batch answered no list".into(),
        )),
    }
}

async fn settle(promise: std::result::Result<Promise, JsValue>) -> Result<JsValue> {
    let answer = match promise {
        Ok(promise) => JsFuture::from(promise).await,
        Err(e) => Err(e),
    };
    answer.map_err(failure)
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
