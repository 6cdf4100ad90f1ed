//! Signing with the runtime's Web Crypto (`crypto.subtle`), ES256 or EdDSA:
//! no cryptography is added to the wasm. workers-rs wraps no SubtleCrypto,
//! so the calls are made by name. The key is imported once per isolate.

use std::cell::RefCell;

use worker::js_sys::{self, Array, Function, Object, Reflect, Uint8Array, JSON};
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;

use crate::gateway::assertion::{Alg, SigningKey};

thread_local! {
    /// The imported private key, by `kid`.
    static KEY: RefCell<Option<(String, JsValue)>> = const { RefCell::new(None) };
}

fn subtle() -> Result<JsValue, JsValue> {
    let crypto = Reflect::get(&js_sys::global(), &JsValue::from_str("crypto"))?;
    Reflect::get(&crypto, &JsValue::from_str("subtle"))
}

/// `obj.method(...args)`.
fn call(obj: &JsValue, method: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
    let f: Function = Reflect::get(obj, &JsValue::from_str(method))?.dyn_into()?;
    f.apply(obj, &args.iter().collect::<Array>())
}

/// A Web Crypto algorithm object: `{name, ...more}`.
fn algorithm(name: &str, more: &[(&str, &str)]) -> Result<JsValue, JsValue> {
    let o = Object::new();
    Reflect::set(&o, &JsValue::from_str("name"), &JsValue::from_str(name))?;
    for (k, v) in more {
        Reflect::set(&o, &JsValue::from_str(k), &JsValue::from_str(v))?;
    }
    Ok(o.into())
}

async fn imported(key: &SigningKey) -> Result<JsValue, JsValue> {
    if let Some(k) = KEY.with(|k| k.borrow().as_ref().filter(|(kid, _)| *kid == key.kid).map(|(_, k)| k.clone())) {
        return Ok(k);
    }
    let jwk = JSON::parse(&key.private_jwk.to_string())?;
    let alg = match key.alg {
        Alg::Es256 => algorithm("ECDSA", &[("namedCurve", "P-256")])?,
        Alg::EdDsa => algorithm("Ed25519", &[])?,
    };
    let usages: JsValue = Array::of1(&JsValue::from_str("sign")).into();
    let promise = call(&subtle()?, "importKey", &[JsValue::from_str("jwk"), jwk, alg, JsValue::FALSE, usages])?;
    let k = JsFuture::from(js_sys::Promise::from(promise)).await?;
    KEY.with(|slot| *slot.borrow_mut() = Some((key.kid.clone(), k.clone())));
    Ok(k)
}

/// The signature of `input` with `key` (ES256: `r||s`, as JWS wants it).
pub async fn sign(key: &SigningKey, input: &str) -> Result<Vec<u8>, String> {
    let run = async {
        let k = imported(key).await?;
        let alg = match key.alg {
            Alg::Es256 => algorithm("ECDSA", &[("hash", "SHA-256")])?,
            Alg::EdDsa => algorithm("Ed25519", &[])?,
        };
        let data: JsValue = Uint8Array::from(input.as_bytes()).into();
        let promise = call(&subtle()?, "sign", &[alg, k, data])?;
        let signature = JsFuture::from(js_sys::Promise::from(promise)).await?;
        Ok::<_, JsValue>(Uint8Array::new(&signature).to_vec())
    };
    run.await.map_err(|e| format!("Web Crypto refused to sign: {e:?}"))
}
