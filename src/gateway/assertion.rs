//! `X-Bridge-Assertion`: a compact JWS (ES256 or EdDSA, `kid` in the
//! header) that tells an origin who is asking and what their plan allows,
//! so that it trusts a signature instead of the network (Cloudflare
//! Access's `Cf-Access-Jwt-Assertion` is the model). Pure: the key, the
//! claims, the signing input, the JWKS; the shell signs with Web Crypto.

use serde::Serialize;
use serde_json::{json, Map, Value};

/// The signature algorithm, from the key's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    /// ECDSA P-256 with SHA-256 (`kty: EC`, `crv: P-256`).
    Es256,
    /// Ed25519 (`kty: OKP`, `crv: Ed25519`).
    EdDsa,
}

impl Alg {
    /// The JOSE name.
    pub fn as_str(self) -> &'static str {
        match self {
            Alg::Es256 => "ES256",
            Alg::EdDsa => "EdDSA",
        }
    }
}

/// `ASSERTION_SIGNING_KEY`: a private JWK with its `kid`. Its `Debug`
/// shows the public half only.
#[derive(Clone, PartialEq)]
pub struct SigningKey {
    pub alg: Alg,
    pub kid: String,
    /// The JWK as given (with `d`), for the runtime to import.
    pub private_jwk: Value,
    /// The same without its private part, for the JWKS.
    pub public_jwk: Value,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.alg)
            .field("public_jwk", &self.public_jwk)
            .finish_non_exhaustive()
    }
}

/// The default lifetime of an assertion, and the most it may be.
pub const DEFAULT_TTL_SECS: u64 = 60;
pub const MAX_TTL_SECS: u64 = 300;

/// The private members of a JWK (RFC 7517/7518): never served.
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

fn b64url_len_ok(v: Option<&Value>, bytes: usize) -> bool {
    v.and_then(Value::as_str).and_then(b64url_decode).is_some_and(|b| b.len() == bytes)
}

impl SigningKey {
    /// Reads a private JWK: EC P-256 (`x`, `y`, `d` of 32 bytes) or Ed25519
    /// (`x`, `d` of 32 bytes), with a non-empty `kid`; an `alg`, when
    /// given, must be the one the key's type implies.
    pub fn parse(text: &str) -> Result<SigningKey, String> {
        let jwk: Value = serde_json::from_str(text.trim()).map_err(|_| "is not a JSON object (a JWK)".to_owned())?;
        let obj = jwk.as_object().ok_or("is not a JSON object (a JWK)")?;
        let kid = obj.get("kid").and_then(Value::as_str).filter(|k| !k.is_empty()).ok_or("needs a \"kid\"")?;
        let get = |k: &str| obj.get(k).and_then(Value::as_str);
        let alg = match (get("kty"), get("crv")) {
            (Some("EC"), Some("P-256")) if b64url_len_ok(obj.get("y"), 32) => Alg::Es256,
            (Some("OKP"), Some("Ed25519")) => Alg::EdDsa,
            _ => return Err("must be an EC P-256 or an Ed25519 (OKP) key".into()),
        };
        if !b64url_len_ok(obj.get("x"), 32) || !b64url_len_ok(obj.get("d"), 32) {
            return Err("must be a private key: \"x\" and \"d\" of 32 bytes, base64url".into());
        }
        if get("alg").is_some_and(|a| a != alg.as_str()) {
            return Err(format!("has \"alg\" {:?}, but the key is for {}", get("alg").unwrap_or(""), alg.as_str()));
        }
        let mut public: Map<String, Value> = obj
            .iter()
            .filter(|(k, _)| !PRIVATE_MEMBERS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        public.insert("alg".into(), json!(alg.as_str()));
        public.insert("use".into(), json!("sig"));
        Ok(SigningKey { alg, kid: kid.to_owned(), private_jwk: jwk.clone(), public_jwk: Value::Object(public) })
    }
}

/// `ASSERTION_PREVIOUS_KEYS`: public JWKs still served during a rotation, as
/// a JSON array or JWKs separated by commas. A private member is refused.
pub fn parse_previous_keys(text: &str) -> Result<Vec<Value>, String> {
    let text = text.trim();
    let list = if text.starts_with('[') { text.to_owned() } else { format!("[{text}]") };
    let keys: Vec<Value> = serde_json::from_str(&list)
        .map_err(|_| "must be public JWKs (a JSON array, or JWKs separated by commas)".to_owned())?;
    for (i, k) in keys.iter().enumerate() {
        let obj = k.as_object().ok_or_else(|| format!("key {i} is not a JSON object"))?;
        if obj.get("kid").and_then(Value::as_str).is_none_or(str::is_empty) {
            return Err(format!("key {i} needs a \"kid\""));
        }
        if PRIVATE_MEMBERS.iter().any(|m| obj.contains_key(*m)) {
            return Err(format!("key {i} holds a private part: only public keys may be served"));
        }
    }
    Ok(keys)
}

/// `/.well-known/jwks.json`: the signing key's public half, then the
/// previous keys.
pub fn jwks(current: Option<&SigningKey>, previous: &[Value]) -> Value {
    let keys: Vec<Value> = current.map(|k| k.public_jwk.clone()).into_iter().chain(previous.iter().cloned()).collect();
    json!({ "keys": keys })
}

/// What an assertion says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// The identity id.
    pub sub: String,
    pub plan: String,
    pub access: String,
    pub features: Vec<String>,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
}

/// The header and claims, base64url-encoded and joined: what is signed.
pub fn signing_input(key: &SigningKey, claims: &Claims) -> String {
    let header = json!({ "alg": key.alg.as_str(), "kid": key.kid, "typ": "JWT" });
    let claims = serde_json::to_vec(claims).unwrap_or_default();
    format!("{}.{}", b64url(header.to_string().as_bytes()), b64url(&claims))
}

/// The compact JWS: the signing input and the signature (ES256: `r||s`, as
/// Web Crypto gives it).
pub fn compact(signing_input: &str, signature: &[u8]) -> String {
    format!("{signing_input}.{}", b64url(signature))
}

/// Whether a token made at `iat` for `exp` may still be handed out at
/// `now`: while at least half its lifetime is left, so an origin never
/// gets one about to expire.
pub fn reusable(iat: i64, exp: i64, now: i64) -> bool {
    now >= iat && (exp - now) * 2 >= exp - iat
}

const B64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// base64url without padding (RFC 7515).
pub fn b64url(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(B64URL[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// Decodes base64url without padding; `None` on any other character.
pub fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = B64URL.iter().position(|&x| x == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A P-256 key made for these tests (Web Crypto `generateKey`), with a kid.
    pub(crate) const EC_KEY: &str = r#"{"kty":"EC","crv":"P-256","kid":"k1",
        "x":"BFecD-5KSgxnt3G5ZU_4avcWdVtnUYCQzI2mLaII8JA","y":"R54ANSj1oPTttVcrM8D0mpQrPEJBUolFbomo1hsoEc8",
        "d":"41xz88IkkaP51ffqHDXmezRxrwcz3wnIWsRfXDWwjV8"}"#;
    /// RFC 8037 appendix A's Ed25519 key, with a kid.
    pub(crate) const ED_KEY: &str = r#"{"kty":"OKP","crv":"Ed25519","kid":"e1",
        "d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;

    #[test]
    fn ec_and_ed25519_private_keys_are_read_and_their_public_half_served() {
        let k = SigningKey::parse(EC_KEY).unwrap();
        assert_eq!((k.alg, k.kid.as_str()), (Alg::Es256, "k1"));
        assert_eq!(k.public_jwk.get("d"), None, "never the private part");
        assert_eq!((k.public_jwk["alg"].as_str(), k.public_jwk["use"].as_str()), (Some("ES256"), Some("sig")));
        let e = SigningKey::parse(ED_KEY).unwrap();
        assert_eq!((e.alg, e.public_jwk["alg"].as_str()), (Alg::EdDsa, Some("EdDSA")));
        let set = jwks(Some(&k), &parse_previous_keys(&e.public_jwk.to_string()).unwrap());
        let kids: Vec<&str> = set["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
        assert_eq!(kids, ["k1", "e1"], "the current key first, then the previous ones");
        assert_eq!(jwks(None, &[]), json!({"keys": []}));
    }

    #[test]
    fn bad_keys_are_named() {
        let bad = |s: &str| SigningKey::parse(s).unwrap_err();
        assert!(bad("nope").contains("JSON"));
        assert!(bad(&EC_KEY.replace(r#""kid":"k1","#, "")).contains("kid"));
        assert!(bad(&EC_KEY.replace("P-256", "P-384")).contains("P-256"));
        let mut public: Value = serde_json::from_str(EC_KEY).unwrap();
        public.as_object_mut().unwrap().remove("d");
        assert!(bad(&public.to_string()).contains("private"));
        assert!(bad(&EC_KEY.replace(r#""kid":"k1""#, r#""kid":"k1","alg":"EdDSA""#)).contains("ES256"));
        assert!(bad(r#"{"kty":"RSA","kid":"r","n":"x","e":"AQAB","d":"x"}"#).contains("EC P-256"));
        assert!(parse_previous_keys(ED_KEY).unwrap_err().contains("private"));
        assert!(parse_previous_keys(r#"{"kty":"EC"}"#).unwrap_err().contains("kid"));
        let two = parse_previous_keys(r#"{"kid":"a","kty":"OKP"},{"kid":"b","kty":"OKP"}"#).unwrap();
        assert_eq!(two.len(), 2, "separated by commas");
    }

    #[test]
    fn the_signing_input_is_the_header_and_claims_in_base64url() {
        let k = SigningKey::parse(ED_KEY).unwrap();
        let c = Claims {
            iss: "https://bridge".into(),
            aud: "https://app".into(),
            sub: "9f1c2d3e-4b5a-4c6d-8e7f-0123456789ab".into(),
            plan: "pro".into(),
            access: "full".into(),
            features: vec!["basic_feature".into()],
            iat: 100,
            nbf: 100,
            exp: 160,
        };
        let input = signing_input(&k, &c);
        let (h, p) = input.split_once('.').unwrap();
        let header: Value = serde_json::from_slice(&b64url_decode(h).unwrap()).unwrap();
        assert_eq!(header, json!({"alg": "EdDSA", "kid": "e1", "typ": "JWT"}));
        let claims: Value = serde_json::from_slice(&b64url_decode(p).unwrap()).unwrap();
        assert_eq!((claims["sub"].as_str(), claims["exp"].as_i64()), (Some(c.sub.as_str()), Some(160)));
        assert_eq!(compact("a.b", &[0xfb, 0xff]), "a.b.-_8");
    }

    #[test]
    fn base64url_round_trips_without_padding() {
        for (raw, enc) in [(&b""[..], ""), (b"f", "Zg"), (b"fo", "Zm8"), (b"foo", "Zm9v"), (b"\xfb\xff\xfe", "-__-")] {
            assert_eq!(b64url(raw), enc);
            assert_eq!(b64url_decode(enc).unwrap(), raw);
        }
        assert!(b64url_decode("a+b/").is_none(), "standard base64 is not base64url");
    }

    #[test]
    fn a_token_is_reused_while_half_its_life_is_left() {
        assert!(reusable(100, 160, 100));
        assert!(reusable(100, 160, 130));
        assert!(!reusable(100, 160, 131));
        assert!(!reusable(100, 160, 99), "a clock that went back makes a new one");
    }
}
