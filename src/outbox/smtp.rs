//! One SMTP session kept open between mails, on a socket with Nagle's
//! algorithm off.
//!
//! lettre speaks the protocol (EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA);
//! this module opens and keeps the connection. lettre 0.11's own transport
//! leaves TCP_NODELAY unset and writes a mail's body and its closing
//! "\r\n.\r\n" as two writes, so the second waits for the server's delayed
//! ACK on every mail: 40 ms on Linux, up to 200 ms on Windows (lettre pull
//! request #1159, not in a release as of 0.11.23). Measured here against the
//! test SMTP server: 60 ms a mail before, a few ms after.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use secrecy::ExposeSecret;
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tracing::debug;

use super::SendError;
use crate::config::{self, Tls};
use crate::oauth::TokenSource;

/// A session idle this long is closed and a new one opened: servers drop
/// idle sessions (RFC 5321 §4.5.3.2 lets them after 5 minutes; some sooner).
const IDLE_CLOSE: Duration = Duration::from_secs(60);
/// A session idle this long is checked with NOOP before it is used.
const CHECK_AFTER: Duration = Duration::from_secs(2);

pub struct Smtp {
    config: config::Smtp,
    auth: Auth,
    hello: ClientId,
    /// For STARTTLS (lettre upgrades the stream).
    starttls: Option<TlsParameters>,
    /// For implicit TLS (postroom wraps the stream before SMTP starts).
    implicit: Option<Arc<rustls::ClientConfig>>,
    session: Mutex<Option<Session>>,
}

enum Auth {
    None,
    Password(Credentials),
    /// SASL XOAUTH2 with a token from `[oauth]`; a renewed token opens a new
    /// session.
    OAuth2 {
        user: String,
        tokens: Arc<TokenSource>,
    },
}

struct Session {
    conn: AsyncSmtpConnection,
    /// The access token it logged in with (XOAUTH2).
    token: Option<String>,
    last_used: Instant,
}

impl Smtp {
    pub fn new(config: &config::Smtp, tokens: Option<&Arc<TokenSource>>) -> anyhow::Result<Smtp> {
        use anyhow::Context;
        let auth = if config.oauth2 {
            Auth::OAuth2 {
                user: config
                    .username
                    .clone()
                    .context("smtp.auth = \"oauth2\" needs smtp.username")?,
                tokens: tokens
                    .context("smtp.auth = \"oauth2\" needs an [oauth] table")?
                    .clone(),
            }
        } else {
            match (&config.username, &config.password) {
                (Some(user), Some(password)) => Auth::Password(Credentials::new(
                    user.clone(),
                    password.expose_secret().to_string(),
                )),
                _ => Auth::None,
            }
        };
        // TLS 1.2 at least, the server's certificate checked against the
        // public roots and smtp.ca_file.
        let (starttls, implicit) = match config.tls {
            Tls::StartTls => {
                let mut b = TlsParameters::builder(config.host.clone());
                if let Some(pem) = &config.ca_pem {
                    let cert = Certificate::from_pem(pem)
                        .context("smtp.ca_file is not a PEM certificate")?;
                    b = b.add_root_certificate(cert);
                }
                let params = b.build_rustls().context("Cannot set up TLS for SMTP")?;
                (Some(params), None)
            }
            Tls::Implicit => (
                None,
                Some(crate::tls::client_config(config.ca_pem.as_deref())?),
            ),
            Tls::None => (None, None),
        };
        Ok(Smtp {
            config: config.clone(),
            auth,
            hello: ClientId::default(),
            starttls,
            implicit,
            session: Mutex::new(None),
        })
    }

    /// Sends one mail, on the open session when it is still good.
    pub async fn send(&self, envelope: &Envelope, raw: &[u8]) -> Result<(), SendError> {
        let token = match &self.auth {
            Auth::OAuth2 { tokens, .. } => Some(
                tokens
                    .token()
                    .await
                    .map_err(|e| SendError::Transient(format!("no access token for SMTP: {e:#}")))?
                    .access
                    .expose_secret()
                    .to_string(),
            ),
            _ => None,
        };
        let t = self.config.timeout;
        // Generous for a large mail: a minute more per 16 MB.
        let limit = t + Duration::from_secs(raw.len() as u64 / (256 * 1024));
        let mut slot = self.session.lock().await;
        let mut kept = match slot.take() {
            Some(s) => self.reuse(s, &token).await,
            None => None,
        };
        loop {
            let reused = kept.is_some();
            let mut session = match kept.take() {
                Some(s) => s,
                None => self.open(token.clone()).await?,
            };
            match tokio::time::timeout(limit, session.conn.send(envelope, raw)).await {
                Ok(Ok(_)) => {
                    session.last_used = Instant::now();
                    *slot = Some(session);
                    return Ok(());
                }
                // A kept session the server had closed (no SMTP reply at
                // all): once more on a new one. lettre has ended the
                // session (QUIT) on any error.
                Ok(Err(e)) if reused && e.status().is_none() => {
                    debug!(error = %e, "The kept SMTP session failed; opening another.");
                }
                Ok(Err(e)) => return Err(sort_error(&e)),
                Err(_) => {
                    session.conn.abort().await;
                    return Err(SendError::Transient(format!(
                        "the SMTP server did not answer within {limit:?}"
                    )));
                }
            }
        }
    }

    /// The open session if it can still be used, else `None` (closing it).
    async fn reuse(&self, mut s: Session, token: &Option<String>) -> Option<Session> {
        let t = self.config.timeout;
        let idle = s.last_used.elapsed();
        if s.conn.has_broken() {
            return None;
        }
        if &s.token != token || idle >= IDLE_CLOSE {
            let _ = tokio::time::timeout(t, s.conn.quit()).await;
            return None;
        }
        if idle < CHECK_AFTER {
            return Some(s);
        }
        match tokio::time::timeout(t, s.conn.test_connected()).await {
            Ok(true) => Some(s),
            _ => {
                debug!("The SMTP session was closed by the server; opening another.");
                s.conn.abort().await;
                None
            }
        }
    }

    /// Connects, says EHLO, secures and logs in.
    async fn open(&self, token: Option<String>) -> Result<Session, SendError> {
        let t = self.config.timeout;
        let (host, port) = (self.config.host.as_str(), self.config.port);
        let net = |what: &str, e: &dyn std::fmt::Display| {
            SendError::Transient(format!("{what} {host}:{port}: {e}"))
        };
        let timed_out =
            |what: &str| SendError::Transient(format!("{what} {host}:{port} timed out"));
        let tcp = tokio::time::timeout(t, TcpStream::connect((host, port)))
            .await
            .map_err(|_| timed_out("connecting to"))?
            .map_err(|e| net("cannot connect to", &e))?;
        tcp.set_nodelay(true).ok();
        let stream: Box<dyn lettre::transport::smtp::client::AsyncTokioStream> =
            match &self.implicit {
                Some(tls) => Box::new(TlsStream(
                    crate::tls::connect(tls.clone(), host, tcp, t)
                        .await
                        .map_err(|e| net("TLS with", &format!("{e:#}")))?,
                )),
                None => Box::new(tcp),
            };
        let connected = tokio::time::timeout(
            t,
            AsyncSmtpConnection::connect_with_transport(stream, &self.hello),
        )
        .await
        .map_err(|_| timed_out("greeting from"))?;
        let mut conn = connected.map_err(|e| sort_error(&e))?;
        if let Some(params) = &self.starttls {
            if !conn.can_starttls() {
                conn.abort().await;
                return Err(SendError::Transient(format!(
                    "{host}:{port} does not offer STARTTLS, which smtp.tls requires"
                )));
            }
            tokio::time::timeout(t, conn.starttls(params.clone(), &self.hello))
                .await
                .map_err(|_| timed_out("STARTTLS with"))?
                .map_err(|e| sort_error(&e))?;
        }
        let login = match (&self.auth, &token) {
            (Auth::Password(c), _) => Some((c.clone(), DEFAULT_MECHANISMS)),
            (Auth::OAuth2 { user, .. }, Some(token)) => Some((
                Credentials::new(user.clone(), token.clone()),
                &[Mechanism::Xoauth2][..],
            )),
            _ => None,
        };
        if let Some((credentials, mechanisms)) = login {
            let answer = tokio::time::timeout(t, conn.auth(mechanisms, &credentials))
                .await
                .map_err(|_| timed_out("logging in to"))?;
            if let Err(e) = answer {
                conn.abort().await;
                // A refused token (535) is not a refused message: renew the
                // token and try again later.
                if let Auth::OAuth2 { tokens, .. } = &self.auth
                    && e.status().is_some_and(|c| c.to_string().starts_with("535"))
                {
                    tokens.invalidate().await;
                    return Err(SendError::Transient(format!(
                        "the SMTP server refused the access token: {e}"
                    )));
                }
                return Err(sort_error(&e));
            }
        }
        Ok(Session {
            conn,
            token,
            last_used: Instant::now(),
        })
    }

    /// Ends the open session, if any, with QUIT.
    pub async fn close(&self) {
        if let Some(mut s) = self.session.lock().await.take() {
            let _ = tokio::time::timeout(self.config.timeout, s.conn.quit()).await;
        }
    }
}

/// An implicit-TLS stream as lettre takes it.
#[derive(Debug)]
struct TlsStream(tokio_rustls::client::TlsStream<TcpStream>);

impl lettre::transport::smtp::client::AsyncTokioStream for TlsStream {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

impl tokio::io::AsyncRead for TlsStream {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for TlsStream {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// Sorts an SMTP error into retry or give up (RFC 5321 §4.2.1: 4yz is
/// transient, 5yz permanent; anything that is not a reply is a network or
/// TLS problem and worth retrying).
fn sort_error(e: &lettre::transport::smtp::Error) -> SendError {
    let text = e.to_string();
    if e.is_permanent() {
        SendError::Permanent(text)
    } else {
        SendError::Transient(text)
    }
}
