//! Who may call: with the cluster secret (or basic-auth credentials) set, every request must
//! present them, as `Authorization: Bearer <secret>` or basic auth (any user name, the secret
//! as password; or the configured user and password). Without any, reads are open but a
//! submit from an address other than loopback is refused unless `allow-anonymous-submit`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine as _;

use crate::Settings;
use crate::routes::fail;

pub(crate) struct Auth {
    secret: Option<String>,
    basic: Option<(String, String)>,
    allow_anonymous_submit: bool,
    context_path: String,
}

impl Auth {
    pub(crate) fn new(s: &Settings) -> Auth {
        Auth {
            secret: s.secret.clone(),
            basic: s.basic_auth.clone(),
            allow_anonymous_submit: s.allow_anonymous_submit,
            context_path: s.context_path.trim_end_matches('/').to_string(),
        }
    }

    fn closed(&self) -> bool {
        self.secret.is_some() || self.basic.is_some()
    }

    /// Whether the `Authorization` header carries a credential this node accepts.
    fn accepts(&self, authorization: Option<&HeaderValue>) -> bool {
        let Some(value) = authorization.and_then(|v| v.to_str().ok()) else {
            return false;
        };
        let (scheme, credential) = value.split_once(' ').unwrap_or((value, ""));
        let credential = credential.trim();
        if scheme.eq_ignore_ascii_case("bearer") {
            return self
                .secret
                .as_deref()
                .is_some_and(|s| same(s.as_bytes(), credential.as_bytes()));
        }
        if !scheme.eq_ignore_ascii_case("basic") {
            return false;
        }
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(credential) else {
            return false;
        };
        let Ok(decoded) = String::from_utf8(decoded) else {
            return false;
        };
        let (user, password) = decoded.split_once(':').unwrap_or((&decoded, ""));
        let by_secret = self
            .secret
            .as_deref()
            .is_some_and(|s| same(s.as_bytes(), password.as_bytes()));
        let by_user = self.basic.as_ref().is_some_and(|(u, p)| {
            same(u.as_bytes(), user.as_bytes()) & same(p.as_bytes(), password.as_bytes())
        });
        by_secret || by_user
    }

    fn is_submit(&self, path: &str) -> bool {
        let path = path.strip_prefix(&self.context_path).unwrap_or(path);
        matches!(
            path.trim_end_matches('/'),
            "/submit-job" | "/submit-job/upload" | "/submit-jobs" | "/restore-job"
        )
    }
}

/// Compares in time independent of where the inputs differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for (i, x) in a.iter().enumerate() {
        diff |= usize::from(x ^ b.get(i).copied().unwrap_or(!x));
    }
    diff == 0
}

pub(crate) async fn check(State(auth): State<Arc<Auth>>, req: Request, next: Next) -> Response {
    if auth.closed() {
        if !auth.accepts(req.headers().get(header::AUTHORIZATION)) {
            let mut r = fail(
                StatusCode::UNAUTHORIZED,
                "this cluster is closed: present its secret (Authorization: Bearer <secret>, or basic auth with the secret as password)",
            );
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"Strait\""),
            );
            return r;
        }
    } else if auth.is_submit(req.uri().path()) && !auth.allow_anonymous_submit {
        let peer = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        if !peer.is_some_and(|ip| ip.is_loopback()) {
            let from = peer.map_or_else(|| "an unknown address".to_string(), |ip| ip.to_string());
            return fail(
                StatusCode::FORBIDDEN,
                &format!(
                    "submitting jobs over REST from {from} is refused: this cluster has no secret (set seatunnel.engine.security.secret, or seatunnel.engine.http.allow-anonymous-submit: true to allow it)"
                ),
            );
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_secrets_compare_equal_and_others_do_not() {
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"ab"));
        assert!(!same(b"", b"a"));
        assert!(same(b"", b""));
    }
}
