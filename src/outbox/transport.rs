//! The only place that speaks SMTP (through lettre), and the folder
//! transport the demo uses.

use std::sync::Arc;

use anyhow::{Context, Result};
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls as SmtpTls, TlsParameters};
use lettre::{Address, AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use secrecy::ExposeSecret;
use tokio::sync::Mutex;

use crate::config::{self, Tls};
use crate::oauth::TokenSource;

/// Why a send did not succeed, by what the caller does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Try again later: a 4xx reply, a network error, a timeout.
    Transient(String),
    /// Do not try again: a 5xx reply, or a mail that cannot be sent at all.
    Permanent(String),
}

pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// SMTP with SASL XOAUTH2: the connection pool is rebuilt whenever the
    /// access token is renewed.
    OAuth2(Box<OAuth2Smtp>),
    File(AsyncFileTransport<Tokio1Executor>),
}

pub struct OAuth2Smtp {
    config: config::Smtp,
    user: String,
    tokens: Arc<TokenSource>,
    /// The token the pool logs in with, and the pool.
    current: Mutex<Option<(String, AsyncSmtpTransport<Tokio1Executor>)>>,
}

impl OAuth2Smtp {
    async fn transport(&self) -> Result<AsyncSmtpTransport<Tokio1Executor>, SendError> {
        let token = self
            .tokens
            .token()
            .await
            .map_err(|e| SendError::Transient(format!("no access token for SMTP: {e:#}")))?;
        let access = token.access.expose_secret();
        let mut current = self.current.lock().await;
        if let Some((t, transport)) = current.as_ref()
            && t == access
        {
            return Ok(transport.clone());
        }
        let transport = smtp_builder(&self.config)
            .map_err(|e| SendError::Permanent(format!("{e:#}")))?
            .credentials(Credentials::new(self.user.clone(), access.to_string()))
            .authentication(vec![Mechanism::Xoauth2])
            .build();
        *current = Some((access.to_string(), transport.clone()));
        Ok(transport)
    }
}

/// An SMTP transport builder for the configured host, port, TLS and timeout.
fn smtp_builder(smtp: &config::Smtp) -> Result<lettre::transport::smtp::AsyncSmtpTransportBuilder> {
    let params = || -> Result<TlsParameters> {
        let mut b = TlsParameters::builder(smtp.host.clone());
        if let Some(pem) = &smtp.ca_pem {
            let cert =
                Certificate::from_pem(pem).context("smtp.ca_file is not a PEM certificate")?;
            b = b.add_root_certificate(cert);
        }
        b.build_rustls().context("Cannot set up TLS for SMTP")
    };
    // TLS 1.2 at least (lettre's default), the server's certificate
    // checked against the public roots and smtp.ca_file.
    let tls = match smtp.tls {
        Tls::Implicit => SmtpTls::Wrapper(params()?),
        Tls::StartTls => SmtpTls::Required(params()?),
        Tls::None => SmtpTls::None,
    };
    Ok(
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
            .tls(tls)
            .port(smtp.port)
            .timeout(Some(smtp.timeout)),
    )
}

impl Transport {
    pub fn from_config(
        config: &config::Transport,
        tokens: Option<&Arc<TokenSource>>,
    ) -> Result<Transport> {
        match config {
            config::Transport::File(dir) => {
                // The mail holds personal data: a new folder is the
                // owner's only.
                use std::os::unix::fs::DirBuilderExt;
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(dir)
                    .with_context(|| {
                        format!("Cannot create the outbox folder {}", dir.display())
                    })?;
                Ok(Transport::File(AsyncFileTransport::new(dir)))
            }
            config::Transport::Smtp(smtp) if smtp.oauth2 => {
                let tokens = tokens
                    .context("smtp.auth = \"oauth2\" needs an [oauth] table")?
                    .clone();
                let user = smtp
                    .username
                    .clone()
                    .context("smtp.auth = \"oauth2\" needs smtp.username")?;
                smtp_builder(smtp)?;
                Ok(Transport::OAuth2(Box::new(OAuth2Smtp {
                    config: smtp.clone(),
                    user,
                    tokens,
                    current: Mutex::new(None),
                })))
            }
            config::Transport::Smtp(smtp) => {
                let mut builder = smtp_builder(smtp)?;
                if let (Some(user), Some(password)) = (&smtp.username, &smtp.password) {
                    builder = builder.credentials(Credentials::new(
                        user.clone(),
                        password.expose_secret().to_string(),
                    ));
                }
                Ok(Transport::Smtp(builder.build()))
            }
        }
    }

    pub async fn send(&self, from: &str, to: &[String], raw: &[u8]) -> Result<(), SendError> {
        let envelope = envelope(from, to)?;
        match self {
            Transport::File(t) => t
                .send_raw(&envelope, raw)
                .await
                .map(|_| ())
                .map_err(|e| SendError::Transient(format!("cannot write the mail file: {e}"))),
            Transport::Smtp(t) => t
                .send_raw(&envelope, raw)
                .await
                .map(|_| ())
                .map_err(|e| classify(&e)),
            Transport::OAuth2(o) => {
                let t = o.transport().await?;
                match t.send_raw(&envelope, raw).await {
                    Ok(_) => Ok(()),
                    Err(e) => {
                        // A refused token (535) is not a refused message:
                        // renew the token and try again later.
                        if e.status().is_some_and(|c| c.to_string().starts_with("535")) {
                            o.tokens.invalidate().await;
                            return Err(SendError::Transient(format!(
                                "the SMTP server refused the access token: {e}"
                            )));
                        }
                        Err(classify(&e))
                    }
                }
            }
        }
    }
}

fn envelope(from: &str, to: &[String]) -> Result<Envelope, SendError> {
    let from: Address = from
        .parse()
        .map_err(|e| SendError::Permanent(format!("bad envelope sender: {e}")))?;
    let to = to
        .iter()
        .map(|t| t.parse::<Address>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| SendError::Permanent(format!("bad recipient: {e}")))?;
    Envelope::new(Some(from), to).map_err(|e| SendError::Permanent(format!("bad envelope: {e}")))
}

/// Sorts an SMTP error into retry or give up (RFC 5321 §4.2.1: 4yz is
/// transient, 5yz permanent; anything that is not a reply is a network or
/// TLS problem and worth retrying).
fn classify(e: &lettre::transport::smtp::Error) -> SendError {
    let text = e.to_string();
    if e.is_permanent() {
        SendError::Permanent(text)
    } else {
        SendError::Transient(text)
    }
}
