//! KV (`CACHE`): the LLM gateway's answers, and the health check's probe. Called through the
//! binding itself: the worker crate's `KvStore` builds its options through serde, which costs
//! the wasm more than this file.

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use worker::{Env, Error, Result};

/// Calls `method` of the `CACHE` binding with `args`, and waits for its promise.
async fn call(env: &Env, method: &str, args: &[JsValue]) -> Result<JsValue> {
    let kv = Reflect::get(env, &JsValue::from_str("CACHE"))?;
    let f: Function = Reflect::get(&kv, &JsValue::from_str(method))?
        .dyn_into()
        .map_err(|_| Error::RustError("KV binding CACHE is missing".into()))?;
    let promise = match args {
        [a] => f.call1(&kv, a)?,
        [a, b, c] => f.call3(&kv, a, b, c)?,
        _ => return Err(Error::RustError("KV call".into())),
    };
    Ok(JsFuture::from(Promise::from(promise)).await?)
}

/// The text stored under `key`, if any.
pub async fn get(env: &Env, key: &str) -> Result<Option<String>> {
    Ok(call(env, "get", &[JsValue::from_str(key)])
        .await?
        .as_string())
}

/// Stores `value` under `key` for `ttl_s` seconds (KV keeps an entry at least 60 s).
pub async fn put(env: &Env, key: &str, value: &str, ttl_s: u32) -> Result<()> {
    let options = Object::new();
    Reflect::set(
        &options,
        &JsValue::from_str("expirationTtl"),
        &JsValue::from_f64(f64::from(ttl_s.max(60))),
    )?;
    call(
        env,
        "put",
        &[
            JsValue::from_str(key),
            JsValue::from_str(value),
            options.into(),
        ],
    )
    .await?;
    Ok(())
}
