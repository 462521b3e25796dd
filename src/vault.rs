//! The provider-key vault's cryptography: AES-256-GCM through WebCrypto, a fresh 96-bit IV per
//! encryption, additional data binding each ciphertext to its team and key row, and master keys
//! named by id (from the `VAULT_MASTER_KEYS` / `VAULT_ACTIVE_KEY` secrets). Plaintext exists only
//! inside a [`Secret`], which never prints.

use js_sys::{Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::CryptoKey;
use worker::Env;

use crate::domain::vault::{additional_data, Envelope, MasterKeys, IV_LEN};
use crate::platform::{random_bytes, subtle};

/// A decrypted provider key. Its `Debug` is redacted; it is dropped as soon as the call is made.
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[derive(Debug)]
pub enum VaultError {
    /// The deployment has no usable master keys: an operator's mistake, logged, answered 500.
    NotConfigured(String),
    /// This ciphertext cannot be opened here: unknown master key, tampering, or a moved row.
    Unreadable,
    /// WebCrypto itself failed.
    Crypto(String),
}

impl std::fmt::Display for VaultError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VaultError::NotConfigured(why) => write!(f, "vault not configured: {why}"),
            VaultError::Unreadable => f.write_str("a stored secret could not be decrypted"),
            VaultError::Crypto(why) => write!(f, "webcrypto: {why}"),
        }
    }
}

/// The deployment's master keys.
pub fn master_keys(env: &Env) -> Result<MasterKeys, VaultError> {
    let list = crate::platform::setting(env, "VAULT_MASTER_KEYS")
        .ok_or_else(|| VaultError::NotConfigured("VAULT_MASTER_KEYS is not set".into()))?;
    let active = crate::platform::setting(env, "VAULT_ACTIVE_KEY")
        .ok_or_else(|| VaultError::NotConfigured("VAULT_ACTIVE_KEY is not set".into()))?;
    MasterKeys::parse(&list, active.trim()).map_err(VaultError::NotConfigured)
}

fn crypto_err(context: &'static str) -> impl Fn(JsValue) -> VaultError {
    move |e| {
        VaultError::Crypto(format!(
            "{context}: {}",
            e.as_string().unwrap_or_else(|| format!("{e:?}"))
        ))
    }
}

thread_local! {
    /// Master keys already imported by this isolate, by their bytes: the import is a WebCrypto
    /// round trip per seal or open otherwise (every gateway call opens a provider key). The
    /// `CryptoKey` is not extractable; the bytes are the secret's, already in this isolate's env.
    static IMPORTED: std::cell::RefCell<Vec<([u8; 32], CryptoKey)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

async fn import(key: &[u8; 32]) -> Result<CryptoKey, VaultError> {
    let known = IMPORTED.with(|k| {
        k.borrow()
            .iter()
            .find(|(bytes, _)| bytes == key)
            .map(|(_, c)| c.clone())
    });
    if let Some(imported) = known {
        return Ok(imported);
    }
    let imported = import_now(key).await?;
    IMPORTED.with(|k| {
        let mut k = k.borrow_mut();
        // A handful of master keys at most (rotation keeps the old ones until re-wrapped).
        if k.len() >= 8 {
            k.remove(0);
        }
        k.push((*key, imported.clone()));
    });
    Ok(imported)
}

async fn import_now(key: &[u8; 32]) -> Result<CryptoKey, VaultError> {
    let subtle = subtle().map_err(|e| VaultError::Crypto(e.to_string()))?;
    let usages = js_sys::Array::of2(&JsValue::from_str("encrypt"), &JsValue::from_str("decrypt"));
    let promise = subtle
        .import_key_with_str(
            "raw",
            &Uint8Array::from(&key[..]),
            "AES-GCM",
            false,
            &usages,
        )
        .map_err(crypto_err("importKey"))?;
    Ok(JsFuture::from(promise)
        .await
        .map_err(crypto_err("importKey"))?
        .unchecked_into())
}

fn gcm_params(iv: &[u8; IV_LEN], aad: &[u8]) -> Result<Object, VaultError> {
    let params = Object::new();
    for (name, value) in [
        ("name", JsValue::from_str("AES-GCM")),
        ("iv", Uint8Array::from(&iv[..]).into()),
        ("additionalData", Uint8Array::from(aad).into()),
        ("tagLength", JsValue::from_f64(128.0)),
    ] {
        Reflect::set(&params, &JsValue::from_str(name), &value).map_err(crypto_err("params"))?;
    }
    Ok(params)
}

/// Encrypts `plaintext` for one team's key row with the active master key.
pub async fn seal(
    keys: &MasterKeys,
    team_id: &str,
    key_id: &str,
    plaintext: &str,
) -> Result<String, VaultError> {
    let iv = random_bytes::<IV_LEN>().map_err(|e| VaultError::Crypto(e.to_string()))?;
    let key = import(keys.active_key()).await?;
    let params = gcm_params(&iv, &additional_data(team_id, key_id))?;
    let subtle = subtle().map_err(|e| VaultError::Crypto(e.to_string()))?;
    let promise = subtle
        .encrypt_with_object_and_u8_array(&params, &key, plaintext.as_bytes())
        .map_err(crypto_err("encrypt"))?;
    let sealed = Uint8Array::new(
        &JsFuture::from(promise)
            .await
            .map_err(crypto_err("encrypt"))?,
    )
    .to_vec();
    Ok(Envelope {
        master_key_id: keys.active_id().to_string(),
        iv,
        sealed,
    }
    .encode())
}

/// Decrypts a stored envelope for the row it claims to belong to.
pub async fn open(
    keys: &MasterKeys,
    team_id: &str,
    key_id: &str,
    stored: &str,
) -> Result<Secret, VaultError> {
    let envelope = Envelope::decode(stored).ok_or(VaultError::Unreadable)?;
    let master = keys
        .get(&envelope.master_key_id)
        .ok_or(VaultError::Unreadable)?;
    let key = import(master).await?;
    let params = gcm_params(&envelope.iv, &additional_data(team_id, key_id))?;
    let subtle = subtle().map_err(|e| VaultError::Crypto(e.to_string()))?;
    let promise = subtle
        .decrypt_with_object_and_u8_array(&params, &key, &envelope.sealed)
        .map_err(crypto_err("decrypt"))?;
    // A failed tag check rejects the promise: wrong key, wrong row, or tampering.
    let plain = JsFuture::from(promise)
        .await
        .map_err(|_| VaultError::Unreadable)?;
    String::from_utf8(Uint8Array::new(&plain).to_vec())
        .map(Secret)
        .map_err(|_| VaultError::Unreadable)
}
