//! What the daemon counts, for `/metrics` (Prometheus text format).
//!
//! Counters are this process's since it started, as Prometheus expects;
//! with several instances, a scraper sums them. The outbox's depth and
//! oldest age are read from the database at each scrape, so every instance
//! reports the shared queue. Labels are kinds, purposes and source names:
//! never addresses, subjects or anything else from a message.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PurposeLabel {
    purpose: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabel {
    source: String,
}

type FloatGauge = Gauge<f64, AtomicU64>;

/// The process's counters, gauges and the latency histogram.
pub struct Metrics {
    registry: Registry,
    ingested: Family<KindLabel, Counter>,
    duplicates: Counter,
    cases_opened: Counter,
    sent: Family<PurposeLabel, Counter>,
    send_failures: Family<PurposeLabel, Counter>,
    dead_letters: Family<PurposeLabel, Counter>,
    resends: Family<PurposeLabel, Counter>,
    imap_reconnects: Family<SourceLabel, Counter>,
    last_poll: Family<SourceLabel, FloatGauge>,
    latency: Histogram,
    outbox_depth: Gauge,
    outbox_oldest: FloatGauge,
    retention_deleted: Family<KindLabel, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("postroom");
        let m = Metrics {
            ingested: Family::default(),
            duplicates: Counter::default(),
            cases_opened: Counter::default(),
            sent: Family::default(),
            send_failures: Family::default(),
            dead_letters: Family::default(),
            resends: Family::default(),
            imap_reconnects: Family::default(),
            last_poll: Family::default(),
            // 5 ms to about 80 s.
            latency: Histogram::new(exponential_buckets(0.005, 2.0, 15)),
            outbox_depth: Gauge::default(),
            outbox_oldest: FloatGauge::default(),
            retention_deleted: Family::default(),
            registry: Registry::default(),
        };
        registry.register(
            "messages_ingested",
            "Messages stored, by the kind they were classified as",
            m.ingested.clone(),
        );
        registry.register(
            "messages_duplicate",
            "Messages delivered again with the same bytes (stored once, counted)",
            m.duplicates.clone(),
        );
        registry.register("cases_opened", "Cases opened", m.cases_opened.clone());
        registry.register(
            "mail_sent",
            "Outgoing mail accepted by the SMTP server (and webhook posts accepted), by purpose",
            m.sent.clone(),
        );
        registry.register(
            "mail_send_failures",
            "Failed attempts to send (temporary or permanent), by purpose",
            m.send_failures.clone(),
        );
        registry.register(
            "mail_dead_letters",
            "Mail given up on and moved to the dead letters, by purpose",
            m.dead_letters.clone(),
        );
        registry.register(
            "mail_resends",
            "Attempts at mail whose earlier attempt ended with no outcome recorded (a process died mid-send): possibly a second copy, with the same Message-ID, by purpose",
            m.resends.clone(),
        );
        registry.register(
            "imap_reconnects",
            "IMAP connections dropped and made again, by source",
            m.imap_reconnects.clone(),
        );
        registry.register(
            "last_successful_poll_timestamp_seconds",
            "When each source was last read successfully (Unix time)",
            m.last_poll.clone(),
        );
        registry.register_with_unit(
            "processing_latency",
            "From a message being read from its source to its case being committed",
            prometheus_client::registry::Unit::Seconds,
            m.latency.clone(),
        );
        registry.register(
            "outbox_depth",
            "Mail waiting to be sent (queued or waiting to retry), all instances",
            m.outbox_depth.clone(),
        );
        registry.register_with_unit(
            "outbox_oldest_age",
            "Age of the oldest mail waiting to be sent (0 when none)",
            prometheus_client::registry::Unit::Seconds,
            m.outbox_oldest.clone(),
        );
        registry.register(
            "retention_deleted",
            "Records deleted by the retention policy, by kind of record",
            m.retention_deleted.clone(),
        );
        Metrics { registry, ..m }
    }

    /// A message was stored as `kind`, `latency` after it was read.
    pub fn ingested(&self, kind: &str, latency: Duration) {
        self.ingested
            .get_or_create(&KindLabel { kind: kind.into() })
            .inc();
        self.latency.observe(latency.as_secs_f64());
    }

    pub fn duplicate(&self) {
        self.duplicates.inc();
    }

    pub fn case_opened(&self) {
        self.cases_opened.inc();
    }

    pub fn sent(&self, purpose: &str) {
        self.sent.get_or_create(&purpose_label(purpose)).inc();
    }

    /// A send failed; `dead` when it was the last attempt.
    pub fn send_failed(&self, purpose: &str, dead: bool) {
        self.send_failures
            .get_or_create(&purpose_label(purpose))
            .inc();
        if dead {
            self.dead_letters
                .get_or_create(&purpose_label(purpose))
                .inc();
        }
    }

    /// An attempt at a mail whose earlier attempt's outcome is unknown.
    pub fn resend(&self, purpose: &str) {
        self.resends.get_or_create(&purpose_label(purpose)).inc();
    }

    pub fn imap_reconnect(&self, source: &str) {
        self.imap_reconnects
            .get_or_create(&SourceLabel {
                source: source.into(),
            })
            .inc();
    }

    pub fn polled(&self, source: &str, at: chrono::DateTime<chrono::Utc>) {
        self.last_poll
            .get_or_create(&SourceLabel {
                source: source.into(),
            })
            .set(at.timestamp_millis() as f64 / 1000.0);
    }

    pub fn retention_deleted(&self, kind: &str, n: u64) {
        self.retention_deleted
            .get_or_create(&KindLabel { kind: kind.into() })
            .inc_by(n);
    }

    /// The text exposition, with the outbox figures given.
    pub fn render(&self, outbox_depth: i64, outbox_oldest: Duration) -> String {
        self.outbox_depth.set(outbox_depth);
        self.outbox_oldest.set(outbox_oldest.as_secs_f64());
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// Purposes are a fixed set chosen by postroom; anything else is "other",
/// so a label can never carry data.
fn purpose_label(purpose: &str) -> PurposeLabel {
    let known = [
        "acknowledgement",
        "reminder",
        "digest",
        "alert",
        "notification",
        "webhook",
    ];
    let purpose = if known.contains(&purpose) {
        purpose
    } else {
        "other"
    };
    PurposeLabel {
        purpose: purpose.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_gauges_are_rendered_with_their_labels() {
        let m = Metrics::new();
        m.ingested("mp_enquiry", Duration::from_millis(20));
        m.ingested("mp_enquiry", Duration::from_millis(30));
        m.ingested("automatic_reply", Duration::from_millis(10));
        m.case_opened();
        m.sent("acknowledgement");
        m.send_failed("reminder", true);
        m.send_failed("a person's name", false);
        m.imap_reconnect("inbox");
        let text = m.render(3, Duration::from_secs(90));
        for line in [
            "postroom_messages_ingested_total{kind=\"mp_enquiry\"} 2",
            "postroom_messages_ingested_total{kind=\"automatic_reply\"} 1",
            "postroom_cases_opened_total 1",
            "postroom_mail_sent_total{purpose=\"acknowledgement\"} 1",
            "postroom_mail_send_failures_total{purpose=\"reminder\"} 1",
            "postroom_mail_send_failures_total{purpose=\"other\"} 1",
            "postroom_mail_dead_letters_total{purpose=\"reminder\"} 1",
            "postroom_imap_reconnects_total{source=\"inbox\"} 1",
            "postroom_outbox_depth 3",
            "postroom_outbox_oldest_age_seconds 90.0",
            "postroom_processing_latency_seconds_count 3",
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
        assert!(text.ends_with("# EOF\n"));
        assert!(!text.contains("name"), "no free text in labels");
    }
}
