//! Access tokens (HS256 JWTs, 15 minutes) and refresh tokens (random, stored hashed).
//!
//! The JWT is the RFC 7519 compact form with a fixed `HS256` header, written here in a few lines over
//! `hmac` + `sha2` rather than pulling a JWT crate whose other algorithms drag in RSA and elliptic
//! curves. Only tokens this server signed are ever accepted: the header must be exactly ours, and the
//! signature is checked in constant time before the claims are parsed.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// How long an access token lives.
pub const ACCESS_TTL_SECS: i64 = 15 * 60;
/// How long a refresh token (and its session, without use) lives.
pub const REFRESH_TTL_DAYS: i64 = 30;

const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// What an access token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user.
    pub sub: Uuid,
    /// The session it was issued for.
    pub sid: Uuid,
    pub iat: i64,
    pub exp: i64,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    Malformed,
    BadSignature,
    Expired,
}

/// The key that signs and checks access tokens.
pub struct TokenKeys {
    key: Vec<u8>,
}

impl TokenKeys {
    pub fn new(secret: &[u8]) -> Self {
        Self {
            key: secret.to_vec(),
        }
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC accepts keys of any length; this cannot fail.
        Hmac::<Sha256>::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!())
    }

    /// Signs an access token for `user` in `session`, valid from `now` (Unix seconds).
    pub fn issue(&self, user: Uuid, session: Uuid, now: i64) -> String {
        let claims = Claims {
            sub: user,
            sid: session,
            iat: now,
            exp: now + ACCESS_TTL_SECS,
        };
        let payload = serde_json::to_vec(&claims).unwrap_or_default();
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(HEADER),
            URL_SAFE_NO_PAD.encode(payload)
        );
        let mut mac = self.mac();
        mac.update(signing_input.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{signing_input}.{signature}")
    }

    /// Checks a token's form, signature and expiry at `now`.
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, TokenError> {
        let (signing_input, signature) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
        let (header, payload) = signing_input.split_once('.').ok_or(TokenError::Malformed)?;
        if URL_SAFE_NO_PAD.decode(header).ok().as_deref() != Some(HEADER.as_bytes()) {
            return Err(TokenError::Malformed);
        }
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| TokenError::Malformed)?;
        let mut mac = self.mac();
        mac.update(signing_input.as_bytes());
        mac.verify_slice(&signature)
            .map_err(|_| TokenError::BadSignature)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| TokenError::Malformed)?;
        let claims: Claims = serde_json::from_slice(&payload).map_err(|_| TokenError::Malformed)?;
        if claims.exp <= now {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

/// 256 random bits, URL-safe: refresh tokens and generated secrets.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).unwrap_or_else(|e| panic!("the OS random source failed: {e}"));
    URL_SAFE_NO_PAD.encode(bytes)
}

/// How a refresh token is stored: its SHA-256 (it is random, so no salt or slow hash is needed).
pub fn refresh_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The pad that seals the successor of refresh token `token`: HMAC-SHA256 keyed by the token, so
/// only its holder can derive it (the database keeps the token's hash, never the token).
fn successor_pad(token: &str) -> [u8; 32] {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(token.as_bytes()).unwrap_or_else(|_| unreachable!());
    mac.update(b"satchel refresh successor");
    mac.finalize().into_bytes().into()
}

/// Seals `successor` (a [`random_token`]) for holders of `token`, so that a retried refresh can get
/// it back from the database within the grace: hex of its 32 bytes XOR the pad. Each token seals
/// one successor only, so the pad is used once.
pub fn seal_successor(token: &str, successor: &str) -> String {
    let bytes = URL_SAFE_NO_PAD.decode(successor).unwrap_or_default();
    hex::encode(xor_pad(token, &bytes))
}

/// Opens what [`seal_successor`] sealed for `token`; `None` if it is not a sealed token.
pub fn open_successor(token: &str, sealed: &str) -> Option<String> {
    let bytes = hex::decode(sealed).ok().filter(|b| b.len() == 32)?;
    Some(URL_SAFE_NO_PAD.encode(xor_pad(token, &bytes)))
}

/// `bytes` XOR the successor pad of `token` (sealing and opening are the same operation).
fn xor_pad(token: &str, bytes: &[u8]) -> Vec<u8> {
    bytes
        .iter()
        .zip(successor_pad(token))
        .map(|(b, p)| b ^ p)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issues_and_verifies() {
        let keys = TokenKeys::new(b"secret");
        let (user, session) = (Uuid::now_v7(), Uuid::now_v7());
        let token = keys.issue(user, session, 1000);
        let claims = keys.verify(&token, 1001).unwrap();
        assert_eq!((claims.sub, claims.sid), (user, session));
        assert_eq!(
            keys.verify(&token, 1000 + ACCESS_TTL_SECS),
            Err(TokenError::Expired)
        );
        assert_eq!(
            TokenKeys::new(b"other").verify(&token, 1001),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn only_the_spent_token_opens_its_successor() {
        let (spent, successor) = (random_token(), random_token());
        let sealed = seal_successor(&spent, &successor);
        assert_eq!(
            open_successor(&spent, &sealed).as_deref(),
            Some(successor.as_str())
        );
        assert_ne!(open_successor(&random_token(), &sealed), Some(successor));
        assert!(!sealed.contains(&hex::encode(URL_SAFE_NO_PAD.decode(&spent).unwrap())));
        assert_eq!(open_successor(&spent, "zz"), None);
    }

    #[test]
    fn refuses_tampering() {
        let keys = TokenKeys::new(b"secret");
        let token = keys.issue(Uuid::now_v7(), Uuid::now_v7(), 1000);
        let (head, rest) = token.split_once('.').unwrap();
        let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        assert_eq!(
            keys.verify(&format!("{none_header}.{rest}"), 1001),
            Err(TokenError::Malformed)
        );
        let (payload, _) = rest.split_once('.').unwrap();
        assert_eq!(
            keys.verify(&format!("{head}.{payload}."), 1001),
            Err(TokenError::BadSignature)
        );
        assert_eq!(keys.verify("garbage", 1001), Err(TokenError::Malformed));
    }
}
