//! Stage 5: the delivery worker, which drains the outbox.
//!
//! Mail is queued in the transaction that decided to send it (see
//! `ingest`); this worker claims one due mail at a time, counts the attempt
//! *before* trying, sends it with no transaction open, then records the
//! outcome: sent; a temporary failure (4xx, network, timeout) retried with
//! exponential backoff and jitter until `delivery.retry_for` has passed; or a
//! permanent failure (5xx) moved to the dead letters at once.
//!
//! SMTP is at-least-once: a crash after the server accepted a mail but before
//! it was marked sent sends it again when the claim's lease runs out. The
//! Message-ID was fixed when the mail was queued, so the resend is the same
//! mail and the recipient's client shows it once.

mod error;
mod smtp;
pub(crate) mod transport;
pub(crate) mod webhook;

use std::time::Duration;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use rand::Rng;
use serde_json::json;
use tracing::{Instrument, info, warn};

use crate::clock::SharedClock;
use crate::store::{Store, cases, outbox};
pub use error::SendError;
pub use transport::Transport;

/// How long a claim holds a mail before another worker may take it over.
const LEASE: Duration = Duration::from_secs(10 * 60);
/// First retry delay, doubled each attempt up to [`MAX_BACKOFF`].
const BASE_BACKOFF: Duration = Duration::from_secs(60);
const MAX_BACKOFF: Duration = Duration::from_secs(60 * 60);

/// What happened to one mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    Retry { at: DateTime<Utc> },
    Failed,
}

/// Totals of one drain.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
}

impl std::ops::AddAssign for Totals {
    fn add_assign(&mut self, other: Totals) {
        self.sent += other.sent;
        self.retried += other.retried;
        self.failed += other.failed;
    }
}

pub struct Worker {
    store: Store,
    transport: Transport,
    clock: SharedClock,
    retry_for: Duration,
    max_attempts: u32,
    /// Who claims: this process's instance id.
    instance: String,
    /// When this worker last said the instance is alive (by its clock).
    last_beat: std::sync::Mutex<Option<chrono::DateTime<chrono::Utc>>>,
    /// Posts queued webhook events, when a webhook is configured.
    webhook: Option<webhook::Sender>,
    /// Mail the server accepted whose "sent" the database refused to
    /// record (disk full, server gone), with when it was accepted. Recorded
    /// before anything else is claimed, so that none of it goes out twice
    /// while this process lives.
    unrecorded: tokio::sync::Mutex<Vec<(outbox::Claimed, DateTime<Utc>)>>,
    metrics: Option<std::sync::Arc<crate::metrics::Metrics>>,
}

/// An instance not seen for this long has died: its claims end.
pub const INSTANCE_GONE: Duration = Duration::from_secs(20);
/// How often a running instance says it is alive.
pub const HEARTBEAT: Duration = Duration::from_secs(5);

impl Worker {
    pub fn new(
        store: Store,
        transport: Transport,
        clock: SharedClock,
        retry_for: Duration,
        max_attempts: u32,
        instance: String,
    ) -> Worker {
        Worker {
            store,
            transport,
            clock,
            retry_for,
            max_attempts,
            instance,
            last_beat: std::sync::Mutex::new(None),
            webhook: None,
            metrics: None,
            unrecorded: tokio::sync::Mutex::new(Vec::new()),
        }
    }

    /// Sends and failures are counted in `metrics` too.
    pub fn with_metrics(mut self, metrics: std::sync::Arc<crate::metrics::Metrics>) -> Worker {
        self.metrics = Some(metrics);
        self
    }

    /// Webhook events go through `sender`.
    pub fn with_webhook(mut self, sender: Option<webhook::Sender>) -> Worker {
        self.webhook = sender;
        self
    }

    /// Claims and sends one due mail; `None` when nothing is due. Mail
    /// sent earlier and not yet recorded as sent is recorded first; while
    /// that fails, nothing new is claimed.
    pub async fn deliver_one(&self) -> Result<Option<(i64, Outcome)>> {
        self.record_unrecorded().await?;
        let now = self.clock.now();
        let lease = chrono::Duration::from_std(LEASE)?;
        let claimed = {
            let mut conn = self.store.conn().await?;
            // Alive, before claiming: a claim by an instance not seen lately
            // is anybody's.
            let beat_due = self
                .last_beat
                .lock()
                .map(|last| {
                    last.is_none_or(|t| {
                        now - t >= chrono::Duration::from_std(HEARTBEAT).unwrap_or_default()
                    })
                })
                .unwrap_or(true);
            if beat_due {
                outbox::heartbeat(&mut conn, &self.instance, now).await?;
                if let Ok(mut last) = self.last_beat.lock() {
                    *last = Some(now);
                }
            }
            let gone_before = now - chrono::Duration::from_std(INSTANCE_GONE)?;
            outbox::claim_next(
                &mut conn,
                self.store.backend(),
                now,
                now + lease,
                &self.instance,
                gone_before,
            )
            .await?
        };
        let Some(mail) = claimed else {
            return Ok(None);
        };
        if mail.resend
            && let Some(m) = &self.metrics
        {
            m.resend(&mail.purpose);
        }
        let span = tracing::info_span!("deliver", outbox = mail.id, purpose = %mail.purpose, attempt = mail.attempts);
        let id = mail.id;
        let outcome = self.attempt(mail).instrument(span).await?;
        Ok(Some((id, outcome)))
    }

    /// Sends one claimed mail and records what happened.
    async fn attempt(&self, mail: outbox::Claimed) -> Result<Outcome> {
        let result = if mail.purpose == "webhook" {
            match &self.webhook {
                Some(sender) => sender.post(&mail.message_id, &mail.raw).await,
                None => Err(SendError::Transient(
                    "webhook: no [webhook] in the config now; kept until there is".into(),
                )),
            }
        } else {
            self.transport
                .send(&mail.envelope_from, &mail.recipients, &mail.raw)
                .await
        };
        let now = self.clock.now();
        let failure = match result {
            Ok(()) => {
                info!("Mail sent.");
                if let Err(e) = self.record_sent(&mail, now).await {
                    self.unrecorded.lock().await.push((mail, now));
                    return Err(e.context("The mail was sent, and cannot be recorded as sent yet"));
                }
                if let Some(m) = &self.metrics {
                    m.sent(&mail.purpose);
                }
                return Ok(Outcome::Sent);
            }
            Err(failure) => failure,
        };
        let mut tx = self.store.begin().await?;
        let outcome = match failure {
            SendError::Transient(error) => {
                let age = (now - mail.queued_at).to_std().unwrap_or_default();
                let next = now + chrono::Duration::from_std(backoff(mail.attempts))?;
                if age >= self.retry_for || mail.attempts >= i64::from(self.max_attempts) {
                    warn!(error = %error, "Temporary failures for too long; mail moved to the dead letters.");
                    outbox::mark_failed(
                        &mut tx,
                        mail.id,
                        &format!("gave up after {} attempts: {error}", mail.attempts),
                    )
                    .await?;
                    Outcome::Failed
                } else {
                    warn!(error = %error, retry_at = %next, "Temporary failure; will retry.");
                    outbox::schedule_retry(&mut tx, mail.id, next, &error).await?;
                    Outcome::Retry { at: next }
                }
            }
            SendError::Permanent(error) => {
                warn!(error = %error, "Permanent failure; mail moved to the dead letters.");
                outbox::mark_failed(&mut tx, mail.id, &error).await?;
                if let Some(case) = mail.case_id {
                    let detail =
                        json!({ "outbox": mail.id, "purpose": mail.purpose, "error": error });
                    cases::add_event(&mut tx, case, now, "postroom", "mail_failed", None, &detail)
                        .await?;
                }
                Outcome::Failed
            }
        };
        tx.commit().await?;
        if let Some(m) = &self.metrics {
            m.send_failed(&mail.purpose, outcome == Outcome::Failed);
        }
        Ok(outcome)
    }

    /// Records that `mail` was accepted at `at`, in one short transaction:
    /// marked sent, and its case's acknowledgement met.
    async fn record_sent(&self, mail: &outbox::Claimed, at: DateTime<Utc>) -> Result<()> {
        let mut tx = self.store.begin().await?;
        outbox::mark_sent(&mut tx, mail.id, at).await?;
        if let Some(case) = mail.case_id {
            if mail.purpose == "acknowledgement" {
                cases::set_acknowledged(&mut tx, case, at).await?;
                crate::store::deadlines::meet(
                    &mut tx,
                    case,
                    &[crate::deadlines::Kind::Acknowledge],
                    at,
                )
                .await?;
            }
            let detail = json!({ "outbox": mail.id, "purpose": mail.purpose, "message_id": mail.message_id });
            cases::add_event(&mut tx, case, at, "postroom", "mail_sent", None, &detail).await?;
        }
        tx.commit()
            .await
            .context("Cannot record the mail as sent")?;
        Ok(())
    }

    /// Records the mail sent earlier whose record failed; stops at the
    /// first that still fails.
    async fn record_unrecorded(&self) -> Result<()> {
        let mut waiting = self.unrecorded.lock().await;
        while let Some((mail, at)) = waiting.first() {
            self.record_sent(mail, *at)
                .await
                .context("Mail sent earlier still cannot be recorded as sent")?;
            if let Some(m) = &self.metrics {
                m.sent(&mail.purpose);
            }
            info!(outbox = mail.id, "Mail sent earlier recorded as sent.");
            waiting.remove(0);
        }
        Ok(())
    }

    /// How many mails were sent and not yet recorded as sent.
    pub async fn unrecorded(&self) -> usize {
        self.unrecorded.lock().await.len()
    }

    /// Ends the transport's open session, if any (QUIT).
    pub async fn close(&self) {
        self.transport.close().await;
    }

    /// Sends everything that is due now.
    pub async fn deliver_all_due(&self) -> Result<Totals> {
        let mut totals = Totals::default();
        while let Some((_, outcome)) = self.deliver_one().await? {
            match outcome {
                Outcome::Sent => totals.sent += 1,
                Outcome::Retry { .. } => totals.retried += 1,
                Outcome::Failed => totals.failed += 1,
            }
        }
        Ok(totals)
    }
}

/// The delay before attempt `attempts + 1`: doubling from a minute, capped
/// at an hour, with ±20% jitter so that retries after an outage spread out.
pub fn backoff(attempts: i64) -> Duration {
    let exp = attempts.clamp(1, 20) as u32 - 1;
    let base = BASE_BACKOFF
        .saturating_mul(2u32.saturating_pow(exp))
        .min(MAX_BACKOFF);
    let jitter = rand::rng().random_range(0.8..1.2);
    base.mul_f64(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let first = backoff(1).as_secs_f64();
        assert!((48.0..=72.0).contains(&first), "{first}");
        let third = backoff(3).as_secs_f64();
        assert!((192.0..=288.0).contains(&third), "{third}");
        let late = backoff(15).as_secs_f64();
        assert!(late <= 3600.0 * 1.2, "{late}");
    }
}
