//! Sign-in with the council's identity provider: OpenID Connect, the
//! authorisation code flow with PKCE and a nonce (the openidconnect
//! crate), for Microsoft Entra ID or any conformant provider. The
//! provider's metadata and keys are discovered when first needed and
//! again after an hour, so that the daemon starts (and reads mail) while
//! the provider is down. postroom stores no password: the person is who
//! the provider's signed ID token says, mapped to a role by the config.

use std::sync::Arc;

use anyhow::{Context, Result, anyhow};
use base64::Engine;
use chrono::{DateTime, Utc};
use openidconnect::core::{CoreClient, CoreProviderMetadata, CoreResponseType};
use openidconnect::{
    AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
};
use secrecy::ExposeSecret;

use crate::config::Oidc;
use crate::store::web::Login;

/// Who the provider says signed in.
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    pub email: String,
    pub name: String,
    pub groups: Vec<String>,
}

pub(crate) struct Provider {
    config: Oidc,
    /// `{public_url}/sign-in/callback`.
    redirect: String,
    http: reqwest::Client,
    metadata: tokio::sync::Mutex<Option<(DateTime<Utc>, CoreProviderMetadata)>>,
}

impl Provider {
    pub fn new(config: &Oidc, public_url: &str) -> Result<Arc<Provider>> {
        let tls = crate::tls::client_config(config.ca_pem.as_deref())?;
        let http = reqwest::Client::builder()
            .use_preconfigured_tls((*tls).clone())
            // Following a redirect from the provider's endpoints would let
            // it send postroom's requests elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(15))
            .build()
            .context("Cannot set up the HTTP client for sign-in")?;
        Ok(Arc::new(Provider {
            config: config.clone(),
            redirect: format!("{public_url}/sign-in/callback"),
            http,
            metadata: tokio::sync::Mutex::new(None),
        }))
    }

    async fn client(
        &self,
        now: DateTime<Utc>,
    ) -> Result<
        CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
    > {
        let mut cached = self.metadata.lock().await;
        let fresh = cached
            .as_ref()
            .is_some_and(|(at, _)| now - *at < chrono::Duration::hours(1));
        if !fresh {
            let issuer = IssuerUrl::new(self.config.issuer.clone())
                .context("web.oidc.issuer is not a URL")?;
            let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
                .await
                .map_err(|e| anyhow!("{}", chain(&e)))
                .context("Cannot read the identity provider's OpenID configuration")?;
            *cached = Some((now, metadata));
        }
        let metadata = cached.as_ref().expect("discovered above").1.clone();
        let secret = self
            .config
            .client_secret
            .as_ref()
            .map(|s| ClientSecret::new(s.expose_secret().to_string()));
        Ok(CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.config.client_id.clone()),
            secret,
        )
        .set_redirect_uri(RedirectUrl::new(self.redirect.clone())?))
    }

    /// Where to send the browser, the `state` it comes back with, and what
    /// to keep until it does.
    pub async fn start(&self, then: String, now: DateTime<Utc>) -> Result<(String, String, Login)> {
        let client = self.client(now).await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(
                AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge)
            .url();
        let login = Login {
            verifier: verifier.secret().clone(),
            nonce: nonce.secret().clone(),
            then,
            created_at: now,
        };
        Ok((url.to_string(), state.secret().clone(), login))
    }

    /// Trades the code for tokens and checks the ID token: its signature
    /// by the provider's keys, issuer, audience, expiry and nonce.
    pub async fn finish(&self, code: &str, login: &Login, now: DateTime<Utc>) -> Result<Identity> {
        let client = self.client(now).await?;
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(login.verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|e| anyhow!("{}", chain(&e)))
            .context("The identity provider refused the sign-in code")?;
        let id_token = openidconnect::TokenResponse::id_token(&response)
            .context("The identity provider sent no ID token")?;
        id_token
            .claims(
                &client.id_token_verifier(),
                &Nonce::new(login.nonce.clone()),
            )
            .map_err(|e| anyhow!("{}", chain(&e)))
            .context("The identity provider's ID token does not verify")?;
        // Verified above: its payload is the provider's word.
        let payload = id_token
            .to_string()
            .split('.')
            .nth(1)
            .and_then(|p| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(p)
                    .ok()
            })
            .and_then(|p| serde_json::from_slice::<serde_json::Value>(&p).ok())
            .context("The ID token's claims cannot be read")?;
        let text = |name: &str| {
            payload
                .get(name)
                .and_then(|v| v.as_str())
                .map(str::to_string)
        };
        let email = text(&self.config.email_claim).with_context(|| {
            format!(
                "The ID token has no {:?} claim (web.oidc.email_claim)",
                self.config.email_claim
            )
        })?;
        let groups = payload
            .get(&self.config.groups_claim)
            .and_then(|g| g.as_array())
            .map(|g| {
                g.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Identity {
            email,
            name: text("name").unwrap_or_default(),
            groups,
        })
    }
}

/// An error and its causes, in one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
