//! Opening an IMAP session: TCP, TLS (implicit or STARTTLS, rustls), and
//! LOGIN or SASL XOAUTH2, every step under a timeout.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use async_imap::{Authenticator, Client, Session};
use secrecy::ExposeSecret;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::config::{Imap, ImapAuth, Tls};
use crate::oauth::TokenSource;

/// A connection to the server, encrypted or (on loopback only) not.
#[derive(Debug)]
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

pub type ImapSession = Session<Stream>;

/// What the server said it can do.
#[derive(Debug, Clone, Copy, Default)]
pub struct Capabilities {
    pub idle: bool,
    pub moves: bool,
    pub uidplus: bool,
}

/// SASL XOAUTH2 (Microsoft 365, Gmail): one initial response, no challenge.
struct XOAuth2(String);

impl Authenticator for XOAuth2 {
    type Response = String;

    fn process(&mut self, _challenge: &[u8]) -> Self::Response {
        self.0.clone()
    }
}

/// A session logged in to the mailbox. For XOAUTH2 also returns when the
/// token stops working, so the caller can reconnect before that.
pub async fn open(
    config: &Imap,
    tokens: Option<&Arc<TokenSource>>,
) -> Result<(
    ImapSession,
    Capabilities,
    Option<chrono::DateTime<chrono::Utc>>,
)> {
    let t = config.command_timeout;
    let tcp = within(t, TcpStream::connect((config.host.as_str(), config.port)))
        .await?
        .with_context(|| format!("Cannot connect to {}:{}", config.host, config.port))?;
    tcp.set_nodelay(true).ok();
    let client = match config.tls {
        Tls::Implicit => {
            let tls = wrap(config, tcp).await?;
            greeted(Client::new(Stream::Tls(Box::new(tls))), t).await?
        }
        Tls::None => greeted(Client::new(Stream::Plain(tcp)), t).await?,
        Tls::StartTls => {
            let mut plain = greeted(Client::new(tcp), t).await?;
            within(t, plain.run_command_and_check_ok("STARTTLS", None))
                .await?
                .context("The server refused STARTTLS")?;
            let tls = wrap(config, plain.into_inner()).await?;
            Client::new(Stream::Tls(Box::new(tls)))
        }
    };
    let (mut session, expires) = match &config.auth {
        ImapAuth::Password(password) => {
            let session = within(t, client.login(&config.username, password.expose_secret()))
                .await?
                .map_err(|(e, _)| anyhow!("The server refused the login: {e}"))?;
            (session, None)
        }
        ImapAuth::OAuth2 => {
            let tokens = tokens.context("auth = \"oauth2\" needs an [oauth] table")?;
            let token = tokens.token().await?;
            let response =
                crate::oauth::xoauth2_response(&config.username, token.access.expose_secret());
            match within(t, client.authenticate("XOAUTH2", XOAuth2(response))).await? {
                Ok(session) => (session, Some(token.expires_at)),
                Err((e, _)) => {
                    tokens.invalidate().await;
                    bail!("The server refused the XOAUTH2 login: {e}");
                }
            }
        }
    };
    let caps = within(t, session.capabilities())
        .await?
        .context("CAPABILITY failed")?;
    let capabilities = Capabilities {
        idle: caps.has_str("IDLE"),
        moves: caps.has_str("MOVE"),
        uidplus: caps.has_str("UIDPLUS"),
    };
    Ok((session, capabilities, expires))
}

async fn wrap(config: &Imap, tcp: TcpStream) -> Result<TlsStream<TcpStream>> {
    let tls = crate::tls::client_config(config.ca_pem.as_deref())?;
    crate::tls::connect(tls, &config.host, tcp, config.command_timeout).await
}

async fn greeted<T>(mut client: Client<T>, t: Duration) -> Result<Client<T>>
where
    T: AsyncRead + AsyncWrite + Unpin + std::fmt::Debug + Send,
{
    within(t, client.read_response())
        .await?
        .context("Cannot read the server's greeting")?
        .context("The server closed the connection before greeting")?;
    Ok(client)
}

/// Runs `f` under the command timeout: a stuck connection is an error.
pub async fn within<F: std::future::Future>(t: Duration, f: F) -> Result<F::Output> {
    tokio::time::timeout(t, f)
        .await
        .map_err(|_| anyhow!("No answer from the IMAP server within {} s", t.as_secs()))
}
