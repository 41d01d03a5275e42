//! Reading: bytes become a [`Message`] and a [`Decision`]. Never fails.
//!
//! ```text
//! bytes ──parse──▶ Message ──extract──▶ Message (+ attachment text) ──classify──▶ Decision
//! ```
//!
//! Parsing and classifying are CPU work and run on a blocking thread with
//! panics contained; extraction runs its tools in child processes with
//! limits. A message that makes any of it fail is still read: as unparsed,
//! flagged for a person, and the next message goes on. Everything that
//! reads mail the way a source yields it goes through here: the ingest,
//! `postroom eval`, `postroom classify`, `rules test`, the benchmarks and
//! the tests.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use crate::case::Kind;
use crate::classify::{Classifier, Decision};
use crate::extract::Extractor;
use crate::message::Origin;
use crate::parse::{self, Message, ParseStatus};
use crate::source::Incoming;

/// Reads a message: parse, read the text of its attachments (or of the
/// letter), classify.
pub async fn read(
    classifier: Arc<Classifier>,
    extractor: &Extractor,
    bytes: Arc<Vec<u8>>,
    origin: Origin,
    file_name: Option<String>,
) -> (Message, Decision) {
    let limits = extractor.parse;
    let parsed = tokio::task::spawn_blocking(move || {
        std::panic::catch_unwind(AssertUnwindSafe(|| match origin {
            Origin::Email => parse::parse_email_within(&bytes, limits),
            Origin::Letter => {
                let name = file_name.as_deref().unwrap_or("letter");
                Message::letter(name, letter_content_type(name), &bytes)
            }
        }))
        .ok()
    })
    .await
    .ok()
    .flatten();
    let mut message = parsed.unwrap_or_else(|| failed_message(origin));
    match message.origin {
        Origin::Email => extractor.run(&mut message).await,
        Origin::Letter => extractor.letter(&mut message).await,
    }
    let task = tokio::task::spawn_blocking(move || {
        let decision =
            std::panic::catch_unwind(AssertUnwindSafe(|| classifier.classify(&message))).ok();
        (message, decision)
    });
    match task.await {
        Ok((message, Some(decision))) => (message, decision),
        Ok((message, None)) => (message, failed_decision()),
        Err(_) => (failed_message(origin), failed_decision()),
    }
}

/// Reads what a source yielded, side by side (one message a core), in the
/// source's order.
pub async fn read_all(
    classifier: Arc<Classifier>,
    extractor: &Extractor,
    batch: &[Incoming],
) -> Vec<(Message, Decision)> {
    use futures::StreamExt;
    let pending: Vec<_> = batch
        .iter()
        .map(|incoming| {
            read(
                classifier.clone(),
                extractor,
                incoming.raw.bytes.clone(),
                incoming.raw.origin,
                incoming.raw.file_name.clone(),
            )
        })
        .collect();
    futures::stream::iter(pending)
        .buffered(parallel_reads())
        .collect()
        .await
}

/// Messages read at once: parsing and classifying are CPU work, one core
/// each.
fn parallel_reads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(1, 8)
}

const READ_FAILED: &str = "postroom failed while reading this message";

fn failed_message(origin: Origin) -> Message {
    let mut message = parse::parse_email(b"");
    message.origin = origin;
    message.status = ParseStatus::Unparsed;
    message.warnings = vec![READ_FAILED.into()];
    message
}

fn failed_decision() -> Decision {
    Decision {
        kind: Kind::NotMp,
        from_mp_office: false,
        category: None,
        send_topic: None,
        urgent: false,
        mp_name: None,
        constituency: None,
        mp_reference: None,
        council_reference: None,
        should_acknowledge: false,
        team: None,
        assignee: None,
        policy: None,
        tags: Vec::new(),
        triage: vec![READ_FAILED.into()],
        matched_rules: Vec::new(),
        explanation: Vec::new(),
        request_date: None,
        holding: false,
        from_council: false,
        correspondent: None,
    }
}

/// The MIME type of a letter's file, by its extension.
pub fn letter_content_type(name: &str) -> &'static str {
    let lower = name.to_ascii_lowercase();
    match lower.rsplit_once('.').map(|(_, x)| x) {
        Some("pdf") => "application/pdf",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("tif" | "tiff") => "image/tiff",
        _ => "application/octet-stream",
    }
}
