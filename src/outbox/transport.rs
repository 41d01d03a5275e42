//! Where outgoing mail goes: SMTP (`smtp.rs`) or, for the demo, a folder.

use std::sync::Arc;

use anyhow::{Context, Result};
use lettre::address::Envelope;
use lettre::{Address, AsyncFileTransport, AsyncTransport, Tokio1Executor};

use super::SendError;
use super::smtp::Smtp;
use crate::config;
use crate::oauth::TokenSource;

pub enum Transport {
    /// SMTP, with a password, XOAUTH2 or no login.
    Smtp(Box<Smtp>),
    File(AsyncFileTransport<Tokio1Executor>),
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
            config::Transport::Smtp(smtp) => {
                Ok(Transport::Smtp(Box::new(Smtp::new(smtp, tokens)?)))
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
            Transport::Smtp(t) => t.send(&envelope, raw).await,
        }
    }

    /// Ends an open SMTP session (QUIT).
    pub async fn close(&self) {
        if let Transport::Smtp(t) = self {
            t.close().await;
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
