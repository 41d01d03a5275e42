//! What every response of the workspace carries, and the tokens it hands
//! out.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::Ctx;

/// Scripts, styles, fonts and images from postroom itself only, no inline
/// script or style, no framing, no forms posted elsewhere.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; \
    object-src 'none'";

pub(super) async fn headers(State(ctx): State<Ctx>, request: Request, next: Next) -> Response {
    let assets = request.uri().path().starts_with("/assets/");
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, name, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    // A download sets its own, stricter policy.
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(CSP));
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::REFERRER_POLICY, "no-referrer");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(
        h,
        header::HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(
        h,
        header::HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    );
    if ctx.web.secure {
        set(
            h,
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        );
    }
    if !assets {
        // Case pages are not kept by the browser or a proxy.
        set(h, header::CACHE_CONTROL, "no-store");
    }
    response
}

/// A new random token: 32 bytes, hex.
pub(super) fn token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// What the database keeps of a cookie's token.
pub(super) fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Equal without telling by its timing how much of a guess was right.
pub(super) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The session cookie's name: `__Host-` behind TLS, which the browser
/// keeps only when it is `Secure`, for this host and path `/`.
pub(super) fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-postroom"
    } else {
        "postroom"
    }
}

/// A `Set-Cookie` value for `name`; `None` deletes it.
pub(super) fn set_cookie(secure: bool, name: &str, value: Option<&str>) -> HeaderValue {
    let (value, age) = match value {
        Some(v) => (v, String::new()),
        None => ("", "; Max-Age=0".to_string()),
    };
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Lax{secure}{age}"
    ))
    .expect("a cookie of hex and fixed words is a valid header")
}

/// The value of cookie `name` in a request's headers.
pub(super) fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_read_by_exact_name() {
        let mut h = axum::http::HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("xpostroom=1; postroom=abc; other=2"),
        );
        assert_eq!(cookie(&h, "postroom"), Some("abc"));
        assert_eq!(cookie(&h, "missing"), None);
    }

    #[test]
    fn tokens_are_random_and_compared_whole() {
        let (a, b) = (token(), token());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert!(same(&a, &a.clone()));
        assert!(!same(&a, &b));
        assert!(!same(&a, &a[..63]));
        assert_ne!(digest(&a), a);
    }

    #[test]
    fn the_cookie_is_secure_behind_tls() {
        let c = set_cookie(true, cookie_name(true), Some("t"));
        let c = c.to_str().unwrap();
        assert!(c.starts_with("__Host-postroom=t; Path=/; HttpOnly; SameSite=Lax; Secure"));
        let local = set_cookie(false, cookie_name(false), None);
        assert!(!local.to_str().unwrap().contains("Secure"));
        assert!(local.to_str().unwrap().contains("Max-Age=0"));
    }
}
