//! The outgoing webhook's POST: the body queued by `casework::webhook`,
//! signed (`X-Postroom-Signature: sha256=<hex>`, HMAC-SHA256 of the exact
//! body with the shared secret) and posted by the delivery worker, with
//! `X-Postroom-Delivery` the same on every retry of one event.

use anyhow::Result;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

use super::SendError;
use crate::config::Webhook;

/// The signature header's value for `body`.
pub fn signature(secret: &SecretString, body: &[u8]) -> String {
    // HMAC takes a key of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Posts queued webhook bodies.
pub struct Sender {
    client: reqwest::Client,
    hook: Webhook,
}

impl Sender {
    pub fn new(hook: Webhook) -> Result<Sender> {
        let client = reqwest::Client::builder()
            .use_preconfigured_tls((*crate::tls::client_config(None)?).clone())
            .timeout(hook.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Sender { client, hook })
    }

    /// One POST. 2xx: delivered. 408, 429, 5xx and network errors: try
    /// again later. Any other answer: the receiver refuses it for good.
    pub async fn post(&self, delivery: &str, body: &[u8]) -> Result<(), SendError> {
        let event = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v["event"].as_str().map(str::to_string))
            .unwrap_or_default();
        let response = self
            .client
            .post(&self.hook.url)
            .header("Content-Type", "application/json")
            .header(
                "User-Agent",
                concat!("postroom/", env!("CARGO_PKG_VERSION")),
            )
            .header("X-Postroom-Event", event)
            .header("X-Postroom-Delivery", delivery)
            .header("X-Postroom-Signature", signature(&self.hook.secret, body))
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| SendError::Transient(format!("webhook: {}", without_url(&e))))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else if status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429 {
            Err(SendError::Transient(format!(
                "webhook: the receiver answered {status}"
            )))
        } else {
            Err(SendError::Permanent(format!(
                "webhook: the receiver answered {status}"
            )))
        }
    }
}

/// A reqwest error without the URL (which may carry a token in its query).
fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    let mut source = std::error::Error::source(e);
    let mut detail = String::new();
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}: {detail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_the_body() {
        // RFC 4231 test case 2.
        let s = signature(
            &SecretString::from("Jefe".to_string()),
            b"what do ya want for nothing?",
        );
        assert_eq!(
            s,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
