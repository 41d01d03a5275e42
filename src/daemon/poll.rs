//! One step of a source: everything it holds that is not stored yet,
//! stored in chunks of about a second of work, with the source checked
//! while each chunk is read.

use std::time::Duration;

use anyhow::Result;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::report;
use crate::app::App;
use crate::ingest::{self, Outcome};
use crate::schedule::health;
use crate::source::{BATCH, Checkpoint, Source};

/// Bytes of mail stored per transaction, at most (a single larger message
/// is stored on its own).
pub const BATCH_BYTES: usize = 16 << 20;

/// Stores everything a source holds that is not stored yet. Stops between
/// messages when `stop` is cancelled. Returns what became of each message.
///
/// A fetched batch is stored in transactions of about [`CHUNK_TIME`] of
/// work each (reading, then writing; see [`Chunks`]), each settled on the
/// source and counted as progress as soon as it commits, so that a
/// restart, a stop or a fault loses at most one such chunk of work. While a
/// chunk is read, the source is asked every [`KEEPALIVE`] whether it is
/// still there: a server that has gone is reported within seconds, not
/// when the batch ends.
pub async fn poll_source(
    app: &App,
    source: &mut Source,
    stop: &CancellationToken,
    ready: &Notify,
) -> Result<Vec<Outcome>> {
    let mut outcomes = Vec::new();
    let mut chunks = Chunks::default();
    // Progress is recorded often enough for the stall watchdog, not after
    // every chunk: each record is a commit of its own.
    let every = (app.config.stall_alert / 4).min(PROGRESS_EVERY);
    let mut recorded = std::time::Instant::now();
    loop {
        let batch = source.fetch(&app.store, source.batch_size()).await?;
        if batch.is_empty() {
            return Ok(outcomes);
        }
        let mut rest = &batch[..];
        while !rest.is_empty() {
            if stop.is_cancelled() {
                return Ok(outcomes);
            }
            let chunk = &rest[..by_size(rest).min(chunks.size)];
            rest = &rest[chunk.len()..];
            let started = std::time::Instant::now();
            let (done, gone) = ingest_keeping_alive(app, source, chunk).await;
            let done = done?;
            chunks.took(started.elapsed());
            if done
                .iter()
                .any(|o| matches!(o, Outcome::Opened { .. } | Outcome::Joined { .. }))
            {
                // Mail may be queued: wake the delivery worker.
                ready.notify_one();
            }
            outcomes.extend(done);
            if let Some(gone) = gone {
                // Stored; the marks wait for the reconnect (which marks
                // stored messages again first).
                return Err(gone);
            }
            let checkpoints: Vec<&Checkpoint> = chunk.iter().map(|i| &i.checkpoint).collect();
            source.settle_all(&checkpoints).await?;
            // Progress, not the end of the backlog, is what health counts:
            // a long backlog being stored is a source that works.
            if recorded.elapsed() >= every {
                health::poll_ok(app, source.name()).await?;
                recorded = std::time::Instant::now();
            }
        }
    }
}

/// How long one chunk of a batch should take to read and store.
pub const CHUNK_TIME: Duration = Duration::from_secs(1);
/// How often, at most, a backlog's progress is recorded (more often when
/// `daemon.stall_alert` is short).
pub const PROGRESS_EVERY: Duration = Duration::from_secs(5);
/// How often the source is checked while a chunk is read.
pub const KEEPALIVE: Duration = Duration::from_secs(4);

/// The size of the next chunk: starts small, doubles while chunks take
/// under half of [`CHUNK_TIME`], halves when one takes over twice it.
struct Chunks {
    size: usize,
}

impl Default for Chunks {
    fn default() -> Chunks {
        Chunks { size: 8 }
    }
}

impl Chunks {
    fn took(&mut self, took: Duration) {
        if took < CHUNK_TIME / 2 {
            self.size = (self.size * 2).min(BATCH);
        } else if took > CHUNK_TIME * 2 {
            self.size = (self.size / 2).max(1);
        }
    }
}

/// Ingests `chunk`, checking the source every [`KEEPALIVE`] meanwhile.
/// The chunk is stored even when the source has gone (its bytes are in
/// hand); the second value is why it went, reported as the source's fault
/// at once.
async fn ingest_keeping_alive(
    app: &App,
    source: &mut Source,
    chunk: &[crate::source::Incoming],
) -> (Result<Vec<Outcome>>, Option<anyhow::Error>) {
    let ingest = ingest::ingest_batch(app, chunk);
    tokio::pin!(ingest);
    let mut gone = None;
    loop {
        tokio::select! {
            done = &mut ingest => return (done, gone),
            _ = tokio::time::sleep(KEEPALIVE), if gone.is_none() => {
                if let Err(e) = source.keepalive().await {
                    let stage = format!("source {}", source.name());
                    let failed: Result<()> = Err(e);
                    report(app, &stage, &failed, "The source has gone while a batch is stored; will reconnect.");
                    gone = failed.err();
                }
            }
        }
    }
}

/// How many of `batch`'s first messages make one transaction: up to
/// [`BATCH`] and [`BATCH_BYTES`], and at least one.
fn by_size(batch: &[crate::source::Incoming]) -> usize {
    let mut bytes = 0;
    for (i, incoming) in batch.iter().enumerate().take(BATCH) {
        bytes += incoming.raw.bytes.len();
        if bytes > BATCH_BYTES {
            return i.max(1);
        }
    }
    batch.len().min(BATCH)
}
