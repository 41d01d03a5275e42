//! The pipeline for a batch of messages: read them (`read`), then store
//! each, write its case and queue its acknowledgement in ONE transaction.
//!
//! ```text
//! Incoming ──read──▶ (Message, Decision) ──┐
//!                                          ▼
//!   BEGIN: checkpoint · raw bytes · parts · case (new, or joined by thread)
//!          · events · acknowledgement in the outbox        COMMIT
//! ```
//!
//! Invariants:
//! - A message is stored, its case written and its acknowledgement queued in
//!   one transaction, with the source's checkpoint: all of it or none of it.
//! - The same bytes stored twice are one message (a unique SHA-256); the
//!   re-delivery is counted, and recorded on the case, never silently merged.
//! - A message that cannot be parsed is still stored, byte for byte, and
//!   opens a case marked for triage.
//! - No acknowledgement to automatic mail, bounces, bulk mail, the council's
//!   own addresses, or to more than N per sender per hour, whatever the
//!   rules say.

use anyhow::{Context, Result};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use tracing::{Instrument, info};

use crate::app::App;
use crate::case::Kind;
use crate::casework::{Arrival, Joined, Opened, open, reply, thread};
use crate::classify::Decision;
use crate::parse::{Message, ParseStatus};
use crate::source::{Checkpoint, Incoming};
use crate::store::{Tx, cases, checkpoints, messages};

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A new case was opened.
    Opened {
        reference: String,
        acknowledged: bool,
        triage: bool,
    },
    /// The message joined an existing case (a chaser, a reply, an automatic
    /// reply to the acknowledgement, a bounce).
    Joined { reference: String, kind: Kind },
    /// Stored without a case (junk, or an automatic reply or bounce that
    /// belongs to no case).
    Filed { kind: Kind },
    /// The same bytes were stored before; the re-delivery was counted.
    Duplicate,
    /// The source's checkpoint already holds this message.
    AlreadyStored,
    /// These bytes were stored once and deleted under the retention policy;
    /// they are not stored again.
    Retired,
}

/// Stores one message from a source. The caller settles the source after
/// this returns.
pub async fn ingest(app: &App, incoming: &Incoming) -> Result<Outcome> {
    let mut outcomes = ingest_batch(app, std::slice::from_ref(incoming)).await?;
    outcomes.pop().context("no outcome for the message")
}

/// Stores a batch of messages from a source, in the source's order, in ONE
/// transaction (one commit, one fsync, for the lot): each message with its
/// checkpoint, case and acknowledgement, all of them or none. The messages
/// are read (parsed, extracted, classified) side by side first, outside the
/// transaction. The caller settles the source after this returns.
pub async fn ingest_batch(app: &App, batch: &[Incoming]) -> Result<Vec<Outcome>> {
    let reads = read_batch(app, batch).await;
    store_batch(app, batch, &reads).await
}

/// A batch read (parsed, extracted, classified), ready to store.
pub struct Reads {
    reads: Vec<(Message, Decision)>,
    took: std::time::Duration,
}

/// Reads a batch side by side, outside any transaction.
pub async fn read_batch(app: &App, batch: &[Incoming]) -> Reads {
    let started = std::time::Instant::now();
    let reads = crate::read::read_all(app.classifier(), &app.extractor, batch).await;
    Reads {
        reads,
        took: started.elapsed(),
    }
}

/// Stores a batch read by [`read_batch`], in ONE transaction (see
/// [`ingest_batch`]).
pub async fn store_batch(app: &App, batch: &[Incoming], reads: &Reads) -> Result<Vec<Outcome>> {
    let started = std::time::Instant::now();
    let read = reads.took;
    let reads = &reads.reads;
    let now = app.clock.now();

    let mut tx = app.store.begin().await?;
    let mut outcomes = Vec::with_capacity(batch.len());
    let mut spans = Vec::with_capacity(batch.len());
    for (incoming, (message, decision)) in batch.iter().zip(reads) {
        let span = tracing::info_span!(
            "ingest",
            source = %incoming.source,
            sha256 = %&incoming.raw.sha256[..12],
            message = tracing::field::Empty,
            case = tracing::field::Empty
        );
        let outcome = store_one(app, &mut tx, incoming, message, decision, now)
            .instrument(span.clone())
            .await?;
        outcomes.push(outcome);
        spans.push(span);
    }
    tx.commit().await.context("Cannot commit the messages")?;
    let write = started.elapsed();
    let latency = read + write;
    tracing::debug!(
        messages = batch.len(),
        read_ms = read.as_millis() as u64,
        write_ms = write.as_millis() as u64,
        "Batch stored."
    );
    for ((outcome, (_, decision)), span) in outcomes.iter().zip(reads).zip(spans) {
        let _entered = span.enter();
        match outcome {
            Outcome::Opened { .. } => {
                app.metrics.ingested(decision.kind.as_str(), latency);
                app.metrics.case_opened();
            }
            Outcome::Joined { kind, .. } | Outcome::Filed { kind } => {
                app.metrics.ingested(kind.as_str(), latency)
            }
            Outcome::Duplicate => app.metrics.duplicate(),
            Outcome::AlreadyStored | Outcome::Retired => {}
        }
        match outcome {
            Outcome::Opened {
                reference,
                acknowledged,
                triage,
            } => {
                info!(case = %reference, kind = %decision.kind, acknowledged, triage, "Message stored; case opened.")
            }
            Outcome::Joined { reference, kind } => {
                info!(case = %reference, kind = %kind, "Message stored on its case.")
            }
            Outcome::Filed { kind } => info!(kind = %kind, "Message stored without a case."),
            Outcome::Duplicate => info!("Same bytes stored before; re-delivery counted."),
            Outcome::Retired => {
                info!("Same bytes as a message retention deleted; not stored again.")
            }
            Outcome::AlreadyStored => {}
        }
    }
    Ok(outcomes)
}

/// One message's part of the batch's transaction: its checkpoint first (a
/// message the checkpoint already holds writes nothing), then the message.
async fn store_one(
    app: &App,
    tx: &mut Tx,
    incoming: &Incoming,
    message: &Message,
    decision: &Decision,
    now: DateTime<Utc>,
) -> Result<Outcome> {
    let received_at = received_at(message, incoming.arrived, now);
    let fresh = match &incoming.checkpoint {
        Checkpoint::File { name, .. } => {
            checkpoints::record_file(tx, &incoming.source, name, &incoming.raw.sha256, now).await?
        }
        Checkpoint::Imap {
            folder,
            uidvalidity,
            uid,
        } => checkpoints::advance_folder(tx, &incoming.source, folder, *uidvalidity, *uid).await?,
    };
    if !fresh {
        return Ok(Outcome::AlreadyStored);
    }
    store_message(app, tx, incoming, message, decision, received_at, now).await
}

/// When the council received the message: the date of the top `Received`
/// hop (added by the council's own server), else when the source says it
/// arrived, else now. A date in the future is not believed.
fn received_at(
    message: &Message,
    arrived: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let plausible = |t: &DateTime<Utc>| *t <= now + Duration::hours(1);
    message
        .received
        .filter(plausible)
        .or(arrived.filter(plausible))
        .unwrap_or(now)
}

async fn store_message(
    app: &App,
    tx: &mut Tx,
    incoming: &Incoming,
    message: &Message,
    decision: &Decision,
    received_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Outcome> {
    let from = message
        .from
        .as_ref()
        .map(|m| m.address.as_str())
        .unwrap_or("");
    let decision_json = decision_json(message, decision);
    let new = messages::NewMessage {
        sha256: &incoming.raw.sha256,
        message_id: message.message_id.as_deref(),
        source: &incoming.source,
        origin: message.origin.as_str(),
        received_at,
        stored_at: now,
        from_address: from,
        subject: &message.subject,
        parse_status: message.status.as_str(),
        kind: decision.kind.as_str(),
        decision: &decision_json,
        raw: &incoming.raw.bytes,
    };
    let Some(message_row) = messages::insert(tx, &new).await? else {
        let Some((stored, case)) = messages::record_redelivery(tx, &incoming.raw.sha256).await?
        else {
            return Ok(Outcome::Retired);
        };
        if let Some(case) = case {
            let detail = json!({ "message": stored, "source": incoming.source });
            cases::add_event(
                tx,
                case,
                now,
                "postroom",
                "duplicate_delivery",
                Some(stored),
                &detail,
            )
            .await?;
        }
        return Ok(Outcome::Duplicate);
    };
    tracing::Span::current().record("message", message_row);
    store_parts(tx, message_row, message).await?;

    let arrival = Arrival {
        message,
        decision,
        row: message_row,
        from,
        history: incoming.history,
        received_at,
        now,
    };
    if let Some(joined) = reply::council_reply(app, tx, &arrival).await? {
        return Ok(joined.into());
    }
    let found = thread::find_case(tx, &arrival).await?;
    if let Some(found) = &found
        && found.joins
    {
        return Ok(thread::join(app, tx, &arrival, found).await?.into());
    }
    let kind = decision.kind;
    if matches!(kind, Kind::Junk | Kind::AutoReply | Kind::Bounce)
        && message.status == ParseStatus::Parsed
    {
        return Ok(Outcome::Filed { kind });
    }
    Ok(open::open(app, tx, &arrival, found.as_ref()).await?.into())
}

impl From<Opened> for Outcome {
    fn from(o: Opened) -> Outcome {
        Outcome::Opened {
            reference: o.reference,
            acknowledged: o.acknowledged,
            triage: o.triage,
        }
    }
}

impl From<Joined> for Outcome {
    fn from(j: Joined) -> Outcome {
        Outcome::Joined {
            reference: j.reference,
            kind: j.kind,
        }
    }
}

async fn store_parts(tx: &mut Tx, message_row: i64, message: &Message) -> Result<()> {
    let mut parts = vec![messages::NewPart {
        name: "body",
        content_type: "text/plain",
        size: message.body.len(),
        text_source: Some("body"),
        text: Some(&message.body),
        note: None,
    }];
    for p in &message.parts {
        parts.push(messages::NewPart {
            name: &p.name,
            content_type: &p.content_type,
            size: p.size,
            text_source: p.text_source.map(|s| s.as_str()),
            text: p.text.as_deref(),
            note: p.note.as_deref(),
        });
    }
    messages::insert_parts(tx, message_row, &parts).await
}

/// The decision as stored with the message: the classification contract's
/// fields plus the explanation, triage reasons and parse warnings.
fn decision_json(message: &Message, decision: &Decision) -> String {
    let mut value = serde_json::to_value(decision).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        map.insert("explanation".into(), json!(decision.explanation));
        map.insert("triage".into(), json!(decision.triage));
        map.insert("tags".into(), json!(decision.tags));
        map.insert("warnings".into(), json!(message.warnings));
    }
    value.to_string()
}
