//! The cluster secret: a process that has one (a node from its st.yaml, a client from
//! `ST_SECRET`) puts a token made with it on every call, and a node that has one refuses calls
//! without a valid token. The token is `MILLIS.MAC`, a keyed BLAKE3 hash of the time under a
//! key derived from the secret: the secret itself never travels, and a token is good for
//! [`TOKEN_LIFETIME`] around the time it names.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tonic::{Request, Status};

/// How far a token's time may be from the receiver's clock.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(300);

const HEADER: &str = "x-strait-token";

static KEY: OnceLock<Option<[u8; 32]>> = OnceLock::new();

/// Sets this process's cluster secret (once, at start-up; `None`: an open cluster).
pub fn set_secret(secret: Option<&str>) {
    let _ = KEY.set(secret.map(|s| blake3::derive_key("strait cluster secret v1", s.as_bytes())));
}

/// Whether this process has a cluster secret.
pub fn has_secret() -> bool {
    key().is_some()
}

fn key() -> Option<&'static [u8; 32]> {
    KEY.get_or_init(|| None).as_ref()
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn mac(key: &[u8; 32], millis: u64) -> String {
    hex::encode(blake3::keyed_hash(key, &millis.to_le_bytes()).as_bytes())
}

/// Puts this process's token on each call.
#[derive(Debug, Clone, Copy)]
pub struct Token;

impl tonic::service::Interceptor for Token {
    fn call(&mut self, mut req: Request<()>) -> Result<Request<()>, Status> {
        if let Some(key) = key() {
            let t = now_ms();
            let token = format!("{t}.{}", mac(key, t));
            if let Ok(v) = token.parse() {
                req.metadata_mut().insert(HEADER, v);
            }
        }
        Ok(req)
    }
}

/// Why a call is refused, when it is: on a node with a secret, a call without a token, with a
/// token made with another secret, or one too old.
pub fn refusal<T>(req: &Request<T>) -> Option<&'static str> {
    let key = key()?;
    let Some(token) = req.metadata().get(HEADER).and_then(|v| v.to_str().ok()) else {
        return Some("this cluster requires its secret, and the call carried none");
    };
    let Some((t, m)) = token.split_once('.') else {
        return Some("the call's cluster token is malformed");
    };
    let Ok(t) = t.parse::<u64>() else {
        return Some("the call's cluster token is malformed");
    };
    let skew = now_ms().abs_diff(t);
    if u128::from(skew) > TOKEN_LIFETIME.as_millis() {
        return Some("the call's cluster token is too old (are the clocks far apart?)");
    }
    // Compared in constant time: the MAC as bytes.
    let expected = blake3::keyed_hash(key, &t.to_le_bytes());
    match hex::decode(m)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
    {
        Some(given) if blake3::Hash::from(given) == expected => None,
        _ => Some("the call carried a token made with another secret (a wrong cluster secret)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::service::Interceptor as _;

    #[test]
    fn a_token_made_with_the_secret_passes_and_others_are_refused_with_the_reason() {
        set_secret(Some("a-cluster-secret-of-some-length"));
        let signed = Token.call(Request::new(())).unwrap();
        assert_eq!(refusal(&signed), None);
        assert!(refusal(&Request::new(())).unwrap().contains("carried none"));
        let with = |token: String| {
            let mut r = Request::new(());
            r.metadata_mut().insert(HEADER, token.parse().unwrap());
            r
        };
        let other = blake3::derive_key("strait cluster secret v1", b"another-secret-entirely");
        let t = now_ms();
        assert!(
            refusal(&with(format!("{t}.{}", mac(&other, t))))
                .unwrap()
                .contains("another secret")
        );
        let key = key().unwrap();
        let old = t - 301_000;
        assert!(
            refusal(&with(format!("{old}.{}", mac(key, old))))
                .unwrap()
                .contains("too old")
        );
        assert!(
            refusal(&with("garbage".into()))
                .unwrap()
                .contains("malformed")
        );
    }
}
