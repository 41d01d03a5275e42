//! OAuth2 access tokens for IMAP and SMTP (SASL XOAUTH2), as Microsoft 365
//! requires since it switched basic authentication off.
//!
//! Two flows: client credentials (an app registration acting for itself:
//! tenant, client id, client secret, scope
//! `https://outlook.office365.com/.default`) and a delegated refresh token.
//! Tokens are cached and renewed [`MARGIN`] before they expire. The scope is
//! sent on every refresh (without it Entra ID falls back to the first scopes
//! ever granted), and a rotated refresh token is written to its file at once:
//! helpdesks that kept the old one lost their mailbox after 90 days.
//!
//! Nothing here logs a token or a secret.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::Mutex;
use tracing::info;

use crate::clock::SharedClock;

/// How long before expiry a token is renewed.
pub const MARGIN: chrono::Duration = chrono::Duration::minutes(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    ClientCredentials,
    RefreshToken,
}

/// The `[oauth]` table, checked.
#[derive(Clone)]
pub struct OAuthConfig {
    pub flow: Flow,
    pub token_url: String,
    pub client_id: String,
    pub client_secret: Option<SecretString>,
    /// Where the refresh token lives; rewritten when the server rotates it.
    pub refresh_token_file: Option<PathBuf>,
    pub scope: String,
    pub ca_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for OAuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthConfig")
            .field("flow", &self.flow)
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("refresh_token_file", &self.refresh_token_file)
            .field("scope", &self.scope)
            .finish()
    }
}

/// An access token and when it stops working.
#[derive(Clone)]
pub struct Token {
    pub access: SecretString,
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<i64>,
    #[serde(default)]
    refresh_token: Option<String>,
}

#[derive(Deserialize)]
struct ErrorResponse {
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

/// Hands out access tokens, renewing them as needed.
pub struct TokenSource {
    config: OAuthConfig,
    http: reqwest::Client,
    clock: SharedClock,
    cached: Mutex<Option<Token>>,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("config", &self.config)
            .finish()
    }
}

impl TokenSource {
    pub fn new(config: OAuthConfig, clock: SharedClock) -> Result<TokenSource> {
        let tls = crate::tls::client_config(config.ca_pem.as_deref())?;
        let http = reqwest::Client::builder()
            .use_preconfigured_tls((*tls).clone())
            .timeout(Duration::from_secs(30))
            .build()
            .context("Cannot set up the HTTP client for OAuth2")?;
        Ok(TokenSource {
            config,
            http,
            clock,
            cached: Mutex::new(None),
        })
    }

    /// A token valid for at least [`MARGIN`].
    pub async fn token(&self) -> Result<Token> {
        let mut cached = self.cached.lock().await;
        if let Some(token) = cached.as_ref()
            && token.expires_at - self.clock.now() > MARGIN
        {
            return Ok(token.clone());
        }
        let token = self.fetch().await?;
        *cached = Some(token.clone());
        Ok(token)
    }

    /// Forgets the cached token (after the server refused it).
    pub async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }

    async fn fetch(&self) -> Result<Token> {
        let c = &self.config;
        let mut form: Vec<(&str, String)> = vec![
            ("client_id", c.client_id.clone()),
            ("scope", c.scope.clone()),
        ];
        if let Some(secret) = &c.client_secret {
            form.push(("client_secret", secret.expose_secret().to_string()));
        }
        let refresh_file = match c.flow {
            Flow::ClientCredentials => {
                form.push(("grant_type", "client_credentials".into()));
                None
            }
            Flow::RefreshToken => {
                let file = c
                    .refresh_token_file
                    .as_ref()
                    .context("The refresh-token flow needs oauth.refresh_token_file")?;
                let token = std::fs::read_to_string(file).with_context(|| {
                    format!("Cannot read the refresh token from {}", file.display())
                })?;
                form.push(("grant_type", "refresh_token".into()));
                form.push(("refresh_token", token.trim().to_string()));
                Some(file)
            }
        };
        let requested = self.clock.now();
        let response = self
            .http
            .post(&c.token_url)
            .form(&form)
            .send()
            .await
            .with_context(|| format!("Cannot reach the token endpoint {}", c.token_url))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .context("Cannot read the token endpoint's answer")?;
        if !status.is_success() {
            let detail = serde_json::from_slice::<ErrorResponse>(&body).ok();
            let error = detail
                .as_ref()
                .and_then(|d| d.error.clone())
                .unwrap_or_default();
            let description = detail.and_then(|d| d.error_description).unwrap_or_default();
            bail!("The token endpoint refused ({status}): {error} {description}");
        }
        let answer: TokenResponse =
            serde_json::from_slice(&body).context("The token endpoint's answer is not a token")?;
        if let (Some(file), Some(new)) = (refresh_file, &answer.refresh_token) {
            save_secret(file, new).context("Cannot save the rotated refresh token")?;
            info!(file = %file.display(), "The refresh token was rotated; the new one is saved.");
        }
        let lifetime = chrono::Duration::seconds(answer.expires_in.unwrap_or(3600).max(60));
        Ok(Token {
            access: SecretString::from(answer.access_token),
            expires_at: requested + lifetime,
        })
    }
}

/// Writes a secret to `path` (mode 0600) so that a crash never leaves it half
/// written: a temporary file beside it, flushed, then renamed over it.
pub fn save_secret(path: &Path, value: &str) -> Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".postroom-secret-")
        .tempfile_in(dir)?;
    tmp.write_all(value.as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

/// The SASL XOAUTH2 initial response (before base64): `user=` is the
/// mailbox (for a shared mailbox, the shared mailbox's address).
pub fn xoauth2_response(user: &str, token: &str) -> String {
    format!("user={user}\x01auth=Bearer {token}\x01\x01")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xoauth2_is_formed_as_microsoft_documents_it() {
        assert_eq!(
            xoauth2_response("mp@council.example", "abc"),
            "user=mp@council.example\u{1}auth=Bearer abc\u{1}\u{1}"
        );
    }

    #[test]
    fn secrets_are_saved_whole_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("refresh-token");
        save_secret(&path, "first").unwrap();
        save_secret(&path, "second").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "second");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }
}
