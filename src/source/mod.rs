//! Stage 1: where raw messages come from.
//!
//! A source yields [`Incoming`] messages that are not yet stored, each with
//! the checkpoint that records it as stored; the pipeline writes that
//! checkpoint in the same transaction as the message. Only *after* the
//! commit does [`Source::settle`] change anything at the source (move a file
//! out of the way, set a flag), so a crash in between leaves a message the
//! checkpoint already knows, and it is settled again, never stored twice.
//!
//! Folder sources (Maildir, a folder of `.eml` files, the post room's folder
//! of scanned letters) live here; IMAP slots
//! in as another variant with its own checkpoint (folder, UIDVALIDITY, UID).

pub mod eml_dir;
pub mod imap;
pub mod letters;
pub mod maildir;

use std::path::PathBuf;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};

use crate::config::{SourceConfig, SourceKind};
use crate::message::{Origin, RawMessage};
use crate::store::Store;

/// A message from a source, not yet stored.
#[derive(Debug)]
pub struct Incoming {
    /// The configured name of the source it came from.
    pub source: String,
    pub raw: RawMessage,
    /// When the source says it arrived (a file's modification time), used
    /// when the message itself does not say when the council received it.
    pub arrived: Option<DateTime<Utc>>,
    /// Mail from before postroom started reading the mailbox: stored and
    /// filed, never acknowledged or announced.
    pub history: bool,
    pub checkpoint: Checkpoint,
}

/// What records a message as stored, at its source.
#[derive(Debug, Clone)]
pub enum Checkpoint {
    /// A file of a folder source: its stable name and where it is now.
    File { name: String, path: PathBuf },
    /// A message of an IMAP folder.
    Imap {
        folder: String,
        uidvalidity: u32,
        uid: u32,
    },
}

/// Messages stored per transaction, at most: one commit (one fsync) for
/// the lot, short enough not to hold up the delivery worker. Folders
/// fetch this many a round ([`Source::batch_size`]).
pub const BATCH: usize = 100;

/// A configured source.
#[derive(Debug)]
pub enum Source {
    Maildir(maildir::Maildir),
    EmlDir(eml_dir::EmlDir),
    Letters(letters::Letters),
    Imap(Box<imap::Imap>),
}

impl Source {
    pub fn from_config(config: &SourceConfig, app: &crate::app::App) -> Source {
        match config.kind {
            SourceKind::Imap => match &config.imap {
                Some(imap) => {
                    // A poll (or IDLE round) finishes at least three times
                    // per stall_alert, so a quiet mailbox is not a stall.
                    let mut imap = imap.clone();
                    imap.idle_timeout = imap.idle_timeout.min(app.config.stall_alert / 3);
                    Source::Imap(Box::new(
                        imap::Imap::new(&config.name, imap, app.tokens.clone(), app.clock.clone())
                            .with_metrics(app.metrics.clone()),
                    ))
                }
                // Invariant: the config check gives every imap source its settings.
                None => Source::EmlDir(eml_dir::EmlDir::new(&config.name, &config.path, None)),
            },
            SourceKind::Maildir => {
                Source::Maildir(maildir::Maildir::new(&config.name, &config.path))
            }
            SourceKind::EmlDir => Source::EmlDir(eml_dir::EmlDir::new(
                &config.name,
                &config.path,
                config.done.clone(),
            )),
            SourceKind::Letters => Source::Letters(letters::Letters::new(
                &config.name,
                &config.path,
                &config
                    .done
                    .clone()
                    .unwrap_or_else(|| config.path.join("done")),
            )),
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Source::Maildir(s) => &s.name,
            Source::EmlDir(s) => &s.name,
            Source::Letters(s) => &s.name,
            Source::Imap(s) => &s.name,
        }
    }

    /// Up to `max` messages not yet stored, oldest first.
    pub async fn fetch(&mut self, store: &Store, max: usize) -> Result<Vec<Incoming>> {
        match self {
            Source::Maildir(s) => s.fetch(store, max).await,
            Source::EmlDir(s) => s.fetch(store, max).await,
            Source::Letters(s) => s.fetch(store, max).await,
            Source::Imap(s) => s.fetch(store, max).await,
        }
    }

    /// Applies the source-side effect of a stored message.
    pub async fn settle(&mut self, checkpoint: &Checkpoint) -> Result<()> {
        self.settle_all(&[checkpoint]).await
    }

    /// Messages to fetch per round: IMAP fetches many per round trip (its
    /// batches are bounded by `batch_mb` too); folders read files one by one.
    pub fn batch_size(&self) -> usize {
        match self {
            Source::Imap(_) => 1000,
            _ => BATCH,
        }
    }

    /// [`settle`](Self::settle) for a batch: one IMAP command per folder.
    pub async fn settle_all(&mut self, checkpoints: &[&Checkpoint]) -> Result<()> {
        for checkpoint in checkpoints {
            match self {
                Source::Maildir(s) => s.settle(checkpoint).await?,
                Source::EmlDir(s) => s.settle(checkpoint).await?,
                Source::Letters(s) => s.settle(checkpoint).await?,
                Source::Imap(s) => return s.settle(checkpoints).await,
            }
        }
        Ok(())
    }

    /// Waits until there may be new mail: IDLE for IMAP, the poll interval
    /// for folders. Returns early when `stop` is cancelled.
    pub async fn wait(
        &mut self,
        stop: &tokio_util::sync::CancellationToken,
        poll: std::time::Duration,
    ) {
        match self {
            Source::Imap(s) => s.wait(stop, poll).await,
            _ => {
                tokio::select! {
                    _ = stop.cancelled() => {}
                    _ = tokio::time::sleep(poll) => {}
                }
            }
        }
    }

    /// Checks that the source is still there while a batch taken from it
    /// is being read and stored (an IMAP NOOP); folders always are.
    pub async fn keepalive(&mut self) -> Result<()> {
        match self {
            Source::Imap(s) => s.keepalive().await,
            _ => Ok(()),
        }
    }

    /// Closes connections (shutdown).
    pub async fn close(&mut self) {
        if let Source::Imap(s) = self {
            s.close().await;
        }
    }
}

/// Reads files found by a folder source, (stable name, path) sorted oldest
/// first, into messages: at most `max` of them.
pub(crate) async fn read_files(
    source: &str,
    mut found: Vec<(String, PathBuf)>,
    max: usize,
    origin: Origin,
) -> Result<Vec<Incoming>> {
    found.sort();
    let mut out = Vec::new();
    for (name, path) in found.into_iter().take(max) {
        let bytes = tokio::fs::read(&path)
            .await
            .with_context(|| format!("Cannot read {}", path.display()))?;
        let arrived = tokio::fs::metadata(&path)
            .await
            .ok()
            .and_then(|m| m.modified().ok())
            .map(DateTime::<Utc>::from);
        out.push(Incoming {
            source: source.to_string(),
            raw: RawMessage::new(bytes, origin).with_file_name(name.clone()),
            arrived,
            history: false,
            checkpoint: Checkpoint::File { name, path },
        });
    }
    Ok(out)
}
