//! What the Worker runtime provides that Rust's std cannot on wasm32: the clock, randomness and
//! WebCrypto (SHA-256, PBKDF2). Everything here is a thin call into the runtime.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use js_sys::{Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Crypto, CryptoKey, SubtleCrypto};
use worker::{Error, Result};

use crate::domain::ids::uuid_v7;
use crate::domain::password::{constant_time_eq, Password, PasswordHash, ITERATIONS};

/// A deployment setting: the secret of that name, else the variable; `None` when unset or blank.
pub fn setting(env: &worker::Env, name: &str) -> Option<String> {
    env.secret(name)
        .map(|s| s.to_string())
        .or_else(|_| env.var(name).map(|v| v.to_string()))
        .ok()
        .filter(|v| !v.trim().is_empty())
}

/// A numeric deployment setting ([`setting`] parsed); `None` when unset, blank or not a number.
pub fn number<T: std::str::FromStr>(env: &worker::Env, name: &str) -> Option<T> {
    setting(env, name).and_then(|v| v.trim().parse().ok())
}

/// Whether outbound calls (provider base URLs, HTTP steps, the email API) may reach private
/// addresses: local development and the tests, never production.
pub fn allow_private_upstreams(env: &worker::Env) -> bool {
    setting(env, "ALLOW_PRIVATE_UPSTREAMS").as_deref() == Some("true")
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

fn crypto() -> Result<Crypto> {
    let value = Reflect::get(&js_sys::global(), &JsValue::from_str("crypto"))
        .map_err(|_| Error::RustError("the runtime has no crypto".into()))?;
    Ok(value.unchecked_into::<Crypto>())
}

pub fn subtle() -> Result<SubtleCrypto> {
    Ok(crypto()?.subtle())
}

fn js_err(context: &str) -> impl Fn(JsValue) -> Error + '_ {
    move |e| {
        Error::RustError(format!(
            "{context}: {}",
            e.as_string().unwrap_or_else(|| format!("{e:?}"))
        ))
    }
}

/// Fills an array from the runtime's CSPRNG.
pub fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    crypto()?
        .get_random_values_with_u8_array(&mut bytes)
        .map_err(js_err("getRandomValues"))?;
    Ok(bytes)
}

/// A new time-ordered id.
pub fn new_id() -> Result<String> {
    Ok(uuid_v7(now_ms().max(0) as u64, &random_bytes::<10>()?))
}

/// A bearer secret (session, access token, invite): 256 random bits, URL-safe, with a prefix that
/// says what it is so a leaked one is recognisable.
pub fn new_secret(prefix: &str) -> Result<String> {
    Ok(format!(
        "{prefix}_{}",
        URL_SAFE_NO_PAD.encode(random_bytes::<32>()?)
    ))
}

/// Lower-case hex SHA-256, the form secrets are stored and looked up in.
pub async fn sha256_hex(data: &str) -> Result<String> {
    let promise = subtle()?
        .digest_with_str_and_u8_array("SHA-256", data.as_bytes())
        .map_err(js_err("digest"))?;
    let digest = JsFuture::from(promise).await.map_err(js_err("digest"))?;
    let bytes = Uint8Array::new(&digest).to_vec();
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

async fn pbkdf2(password: &str, salt: &[u8], iterations: u32) -> Result<Vec<u8>> {
    let subtle = subtle()?;
    let key_data = Uint8Array::from(password.as_bytes());
    let usages = js_sys::Array::of1(&JsValue::from_str("deriveBits"));
    let key = subtle
        .import_key_with_str("raw", &key_data, "PBKDF2", false, &usages)
        .map_err(js_err("importKey"))?;
    let key: CryptoKey = JsFuture::from(key)
        .await
        .map_err(js_err("importKey"))?
        .unchecked_into();
    let params = Object::new();
    for (name, value) in [
        ("name", JsValue::from_str("PBKDF2")),
        ("hash", JsValue::from_str("SHA-256")),
        ("salt", Uint8Array::from(salt).into()),
        ("iterations", JsValue::from_f64(iterations as f64)),
    ] {
        Reflect::set(&params, &JsValue::from_str(name), &value).map_err(js_err("pbkdf2 params"))?;
    }
    let bits = subtle
        .derive_bits_with_object(&params, &key, 256)
        .map_err(js_err("deriveBits"))?;
    let bits = JsFuture::from(bits).await.map_err(js_err("deriveBits"))?;
    Ok(Uint8Array::new(&bits).to_vec())
}

/// Hashes a new password with a fresh 128-bit salt.
pub async fn hash_password(password: &Password) -> Result<String> {
    let salt = random_bytes::<16>()?.to_vec();
    let digest = pbkdf2(password.expose(), &salt, ITERATIONS).await?;
    Ok(PasswordHash {
        iterations: ITERATIONS,
        salt,
        digest,
    }
    .encode())
}

/// Checks a password against a stored hash. With no stored hash (unknown email) it still does the
/// same work against a throwaway salt, so timing does not tell which emails exist.
pub async fn verify_password(password: &str, stored: Option<&str>) -> Result<bool> {
    let parsed = stored.and_then(PasswordHash::decode);
    let (salt, iterations, expected) = match &parsed {
        Some(h) => (h.salt.clone(), h.iterations, Some(h.digest.as_slice())),
        None => (vec![0u8; 16], ITERATIONS, None),
    };
    let digest = pbkdf2(password, &salt, iterations).await?;
    Ok(expected.is_some_and(|e| constant_time_eq(e, &digest)))
}

/// Why a gzip body could not be inflated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gunzip {
    /// More than the cap came out.
    TooLarge,
    /// Not gzip, or cut short.
    Corrupt,
}

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// The runtime's `DecompressionStream` (a readable/writable pair).
    type DecompressionStream;
    #[wasm_bindgen(constructor, catch)]
    fn new(format: &str) -> std::result::Result<DecompressionStream, JsValue>;
}

/// Calls the method `name` of `target`.
fn call(
    target: &JsValue,
    name: &str,
    args: &js_sys::Array,
) -> std::result::Result<JsValue, JsValue> {
    let method: js_sys::Function = Reflect::get(target, &JsValue::from_str(name))?.dyn_into()?;
    method.apply(target, args)
}

/// Inflates a gzip body through the runtime's `DecompressionStream`, reading what comes out with
/// [`read_capped`]: a small compressed bomb never takes more memory than the cap.
pub async fn gunzip(body: Vec<u8>, cap: usize) -> Result<std::result::Result<Vec<u8>, Gunzip>> {
    let input = web_sys::Response::from(worker::Response::from_bytes(body)?);
    let stream: JsValue = input
        .body()
        .ok_or_else(|| Error::RustError("gunzip: no body stream".into()))?
        .into();
    let inflater = DecompressionStream::new("gzip").map_err(js_err("DecompressionStream"))?;
    let output = call(&stream, "pipeThrough", &js_sys::Array::of1(&inflater))
        .map_err(js_err("pipeThrough"))?;
    let mut inflated = worker::ResponseBuilder::new().stream(output.unchecked_into());
    Ok(match read_capped(inflated.stream()?, cap).await {
        Ok(Capped::Whole(bytes)) => Ok(bytes),
        Ok(Capped::Over) => Err(Gunzip::TooLarge),
        // The inflater fails the stream on data that is not gzip or is cut short.
        Err(_) => Err(Gunzip::Corrupt),
    })
}

/// What [`read_capped`] read: the whole body, or the news that it was over the cap.
pub enum Capped {
    Whole(Vec<u8>),
    Over,
}

/// Reads a body as it streams in and stops as soon as it passes `limit`, so a body with no (or a
/// lying) `Content-Length` can never hold more than `limit` bytes in the isolate.
pub async fn read_capped(mut stream: worker::ByteStream, limit: usize) -> Result<Capped> {
    use futures_util::StreamExt;
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if bytes.len() + chunk.len() > limit {
            return Ok(Capped::Over);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Capped::Whole(bytes))
}
