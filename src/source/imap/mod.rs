//! An IMAP mailbox (Microsoft 365, Dovecot, any IMAP4rev1 server), read the
//! way a careful mail client reads it.
//!
//! How and when:
//! - Messages are fetched by UID, newest checkpoint first: the store keeps
//!   (UIDVALIDITY, last UID stored) per folder and advances it in the same
//!   transaction that stores the message ([`crate::store::checkpoints`]). Bodies are
//!   fetched with `BODY.PEEK[]` (no \Seen as a side effect) in rounds of at
//!   most `batch_mb`, so memory stays bounded whatever the backlog.
//! - Only after the commit is the message marked on the server ([`settle`]):
//!   `\Seen` plus a keyword, or MOVE to a folder (COPY, `\Deleted` and UID
//!   EXPUNGE where MOVE is missing). A crash in between leaves a stored but
//!   unmarked message; every round first marks those again
//!   ([`Imap::remark`]), so it is never stored twice and never left behind.
//! - A new UIDVALIDITY (the server rebuilt the folder) restarts the
//!   checkpoint from UID 1: everything is read again, and the store's SHA-256
//!   and Message-ID checks keep what was stored before from being stored
//!   twice (chatmail/core issue #5774 is the gap this closes).
//! - Between rounds the source waits in IDLE when the server offers it,
//!   re-issued every `idle_timeout` (Exchange drops IDLE after about 29
//!   minutes), else it polls. Every command has a timeout; any error drops the
//!   connection and the next round reconnects after a jittered, capped
//!   backoff. With XOAUTH2 the connection is renewed before the token expires.
//! - Mail that arrived before `since` (by default the moment postroom first
//!   connected) is imported as history: no acknowledgements, no notices.
//!
//! The only IMAP commands that change the mailbox are in [`Imap::mark`].

mod connect;
mod idle;
mod mark;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use async_imap::extensions::idle::IdleResponse;
use async_imap::types::Flag;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use rand::Rng;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use self::connect::{Capabilities, ImapSession, within};
use super::{Checkpoint, Incoming};
use crate::clock::SharedClock;
use crate::config::{self, Mark};
use crate::message::{Origin, RawMessage};
use crate::oauth::TokenSource;
use crate::store::{Store, checkpoints};

/// Most messages marked again in one round (after a crash).
const REMARK_BATCH: usize = 500;
/// The longest a keep-alive NOOP may take.
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest wait before reconnecting.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

pub struct Imap {
    pub name: String,
    config: config::Imap,
    tokens: Option<Arc<TokenSource>>,
    clock: SharedClock,
    session: Option<ImapSession>,
    caps: Capabilities,
    /// The folder selected now, and whether it keeps keywords.
    selected: Option<(String, bool)>,
    /// When to reconnect to renew the XOAUTH2 token.
    renew_at: Option<DateTime<Utc>>,
    failures: u32,
    retry_at: Option<Instant>,
    last_error: Option<String>,
    /// Connections opened after the first: a health figure.
    pub reconnects: u64,
    connected_once: bool,
    metrics: Option<Arc<crate::metrics::Metrics>>,
}

impl std::fmt::Debug for Imap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Imap")
            .field("name", &self.name)
            .field("config", &self.config)
            .finish()
    }
}

impl Imap {
    pub fn new(
        name: &str,
        config: config::Imap,
        tokens: Option<Arc<TokenSource>>,
        clock: SharedClock,
    ) -> Imap {
        Imap {
            name: name.to_string(),
            config,
            tokens,
            clock,
            session: None,
            caps: Capabilities::default(),
            selected: None,
            renew_at: None,
            failures: 0,
            retry_at: None,
            last_error: None,
            reconnects: 0,
            connected_once: false,
            metrics: None,
        }
    }

    /// Reconnects are counted in `metrics` too.
    pub fn with_metrics(mut self, metrics: Arc<crate::metrics::Metrics>) -> Imap {
        self.metrics = Some(metrics);
        self
    }

    fn t(&self) -> Duration {
        self.config.command_timeout
    }

    async fn session(&mut self) -> Result<&mut ImapSession> {
        if self.renew_at.is_some_and(|at| self.clock.now() >= at) && self.session.is_some() {
            info!(source = %self.name, "Reconnecting to renew the access token before it expires.");
            self.disconnect().await;
        }
        if self.session.is_none() {
            let (session, caps, expires) =
                connect::open(&self.config, self.tokens.as_ref()).await?;
            info!(source = %self.name, host = %self.config.host, idle = caps.idle, moves = caps.moves, "Connected.");
            if self.connected_once {
                self.reconnects += 1;
                if let Some(m) = &self.metrics {
                    m.imap_reconnect(&self.name);
                }
            }
            self.connected_once = true;
            self.session = Some(session);
            self.caps = caps;
            self.selected = None;
            self.renew_at = expires.map(|e| e - crate::oauth::MARGIN);
            self.failures = 0;
            self.retry_at = None;
        }
        self.session.as_mut().context("No IMAP session")
    }

    async fn disconnect(&mut self) {
        if let Some(mut session) = self.session.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), session.logout()).await;
        }
        self.selected = None;
    }

    /// Drops the connection after an error and schedules the reconnect.
    async fn failed(&mut self, error: &anyhow::Error) {
        self.session = None;
        self.selected = None;
        self.failures += 1;
        let base = Duration::from_secs(1 << self.failures.min(8)).min(MAX_BACKOFF);
        let wait = base.mul_f64(rand::rng().random_range(0.75..1.25));
        self.retry_at = Some(Instant::now() + wait);
        self.last_error = Some(format!("{error:#}"));
        // The daemon logs the failure once, as the source's fault (daemon::report).
        debug!(source = %self.name, error = format!("{error:#}"), retry_in_s = wait.as_secs(), "IMAP failed; reconnecting after a pause.");
    }

    async fn select(&mut self, folder: &str) -> Result<bool> {
        if let Some((selected, keywords)) = &self.selected
            && selected == folder
        {
            return Ok(*keywords);
        }
        let t = self.t();
        let session = self.session().await?;
        let mailbox = within(t, session.select(folder))
            .await?
            .with_context(|| format!("Cannot select {folder}"))?;
        let keywords = mailbox
            .permanent_flags
            .iter()
            .any(|f| matches!(f, Flag::MayCreate));
        self.selected = Some((folder.to_string(), keywords));
        Ok(keywords)
    }

    /// Up to `max` messages not yet stored, from the first folder that has
    /// any. Errors drop the connection (and are returned for the log).
    pub async fn fetch(&mut self, store: &Store, max: usize) -> Result<Vec<Incoming>> {
        if let Some(at) = self.retry_at
            && Instant::now() < at
        {
            // Not a poll: the health record must not call it a good one.
            // The fault that is waiting for the reconnect, in the same
            // words, so that it is logged once.
            bail!("{}", self.last_error.as_deref().unwrap_or("an IMAP error"));
        }
        match self.fetch_inner(store, max).await {
            Ok(found) => Ok(found),
            Err(e) => {
                self.failed(&e).await;
                Err(e)
            }
        }
    }

    async fn fetch_inner(&mut self, store: &Store, max: usize) -> Result<Vec<Incoming>> {
        for folder in self.config.folders.clone() {
            let found = self.fetch_folder(store, &folder, max).await?;
            if !found.is_empty() {
                return Ok(found);
            }
        }
        Ok(Vec::new())
    }

    // Long: the UIDVALIDITY check, the history rule, the byte-bounded UID
    // FETCH and the checkpoint bookkeeping are one protocol exchange per
    // folder.
    async fn fetch_folder(
        &mut self,
        store: &Store,
        folder: &str,
        max: usize,
    ) -> Result<Vec<Incoming>> {
        let t = self.t();
        self.session().await?;
        self.selected = None;
        let session = self.session.as_mut().context("No IMAP session")?;
        let mailbox = within(t, session.select(folder))
            .await?
            .with_context(|| format!("Cannot select {folder}"))?;
        let keywords = mailbox
            .permanent_flags
            .iter()
            .any(|f| matches!(f, Flag::MayCreate));
        self.selected = Some((folder.to_string(), keywords));
        let uidvalidity = mailbox
            .uid_validity
            .context("The server gave no UIDVALIDITY")?;

        let now = self.clock.now();
        let mut conn = store.conn().await?;
        let checkpoint = match checkpoints::folder(&mut conn, &self.name, folder).await? {
            Some(c) if c.uidvalidity == uidvalidity => c,
            Some(old) => {
                warn!(source = %self.name, folder, old = old.uidvalidity, new = uidvalidity, "UIDVALIDITY changed: reading the folder again from its first message.");
                checkpoints::reset_folder(&mut conn, &self.name, folder, uidvalidity, old.since, 0)
                    .await?;
                checkpoints::folder(&mut conn, &self.name, folder)
                    .await?
                    .context("checkpoint")?
            }
            None => {
                // Without a configured `since`, what is in the folder now is
                // history: by UIDNEXT where the server gives it (its clock,
                // not ours), else by arrival before this moment.
                let (since, below) = match (self.config.since, mailbox.uid_next) {
                    (Some(since), _) => (since, 0),
                    (None, Some(next)) => (DateTime::<Utc>::UNIX_EPOCH, next),
                    (None, None) => (now, 0),
                };
                checkpoints::reset_folder(&mut conn, &self.name, folder, uidvalidity, since, below)
                    .await?;
                info!(source = %self.name, folder, since = %since, history_below_uid = below, "First contact with this folder; older mail is imported as history.");
                checkpoints::folder(&mut conn, &self.name, folder)
                    .await?
                    .context("checkpoint")?
            }
        };
        drop(conn);

        self.remark(folder, checkpoint.last_uid, keywords).await?;

        let session = self.session.as_mut().context("No IMAP session")?;
        let query = format!("UID {}:*", checkpoint.last_uid.saturating_add(1));
        let found = within(t, session.uid_search(&query))
            .await?
            .context("UID SEARCH failed")?;
        // "n:*" always matches the last message, even when its UID is below n.
        let mut uids: Vec<u32> = found
            .into_iter()
            .filter(|u| *u > checkpoint.last_uid)
            .collect();
        uids.sort_unstable();
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        uids.truncate(max.max(1));

        // Sizes first, so that one round never fetches more than batch_bytes.
        let set = uid_set(&uids);
        let sizes: Vec<(u32, u32)> = within(t, async {
            session
                .uid_fetch(&set, "(UID RFC822.SIZE)")
                .await?
                .try_collect::<Vec<_>>()
                .await
        })
        .await?
        .context("UID FETCH of sizes failed")?
        .into_iter()
        .filter_map(|f| Some((f.uid?, f.size.unwrap_or(0))))
        .collect();
        let mut chosen = Vec::new();
        let mut total: u64 = 0;
        for uid in &uids {
            let size = sizes
                .iter()
                .find(|(u, _)| u == uid)
                .map(|(_, s)| u64::from(*s))
                .unwrap_or(0);
            if !chosen.is_empty() && total + size > self.config.batch_bytes {
                break;
            }
            total += size;
            chosen.push(*uid);
        }

        let set = uid_set(&chosen);
        // Generous: a large message takes longer than a command.
        let fetch_timeout = t + Duration::from_secs(total / (256 * 1024));
        let fetched = within(fetch_timeout, async {
            session
                .uid_fetch(&set, "(UID INTERNALDATE BODY.PEEK[])")
                .await?
                .try_collect::<Vec<_>>()
                .await
        })
        .await?
        .context("UID FETCH of messages failed")?;
        let mut out = Vec::new();
        for f in fetched {
            let Some(uid) = f.uid else { continue };
            if !chosen.contains(&uid) {
                continue;
            }
            let Some(body) = f.body() else {
                // Expunged between SEARCH and FETCH (Exchange: "Some of the
                // requested messages no longer exist"): nothing to store.
                continue;
            };
            let arrived = f.internal_date().map(|d| d.with_timezone(&Utc));
            let history = checkpoint.is_history(uid, arrived);
            out.push(Incoming {
                source: self.name.clone(),
                raw: RawMessage::new(body.to_vec(), Origin::Email),
                arrived,
                history,
                checkpoint: Checkpoint::Imap {
                    folder: folder.to_string(),
                    uidvalidity,
                    uid,
                },
            });
        }
        out.sort_by_key(|i| match &i.checkpoint {
            Checkpoint::Imap { uid, .. } => *uid,
            _ => 0,
        });
        if !out.is_empty() {
            info!(source = %self.name, folder, messages = out.len(), "New mail fetched.");
        }
        Ok(out)
    }
}

/// A UID set: "1:5,8,10:12".
pub fn uid_set(uids: &[u32]) -> String {
    let mut sorted: Vec<u32> = uids
        .iter()
        .copied()
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    sorted.sort_unstable();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}:{end}")
        });
        i += 1;
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_sets_are_compact() {
        assert_eq!(uid_set(&[5, 1, 2, 3, 8, 10, 11, 12, 3]), "1:3,5,8,10:12");
        assert_eq!(uid_set(&[7]), "7");
    }
}
