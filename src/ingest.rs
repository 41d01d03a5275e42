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
use crate::case::{Kind, Status};
use crate::casework::{assign, mail as notify};
use crate::classify::{Classifier, Decision};
use crate::compose;
use crate::message::Origin;
use crate::parse::{Message, ParseStatus};
use crate::source::{Checkpoint, Incoming};
use crate::store::{Tx, cases, imap, messages, outbox, sources};
use crate::{deadlines, store};

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
    let started = std::time::Instant::now();
    let reads = crate::read::read_all(app.classifier(), &app.extractor, batch).await;
    let now = app.clock.now();

    let mut tx = app.store.begin().await?;
    let mut outcomes = Vec::with_capacity(batch.len());
    let mut spans = Vec::with_capacity(batch.len());
    for (incoming, (message, decision)) in batch.iter().zip(&reads) {
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
    let latency = started.elapsed();
    for ((outcome, (_, decision)), span) in outcomes.iter().zip(&reads).zip(spans) {
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
            sources::record_file(tx, &incoming.source, name, &incoming.raw.sha256, now).await?
        }
        Checkpoint::Imap {
            folder,
            uidvalidity,
            uid,
        } => imap::advance(tx, &incoming.source, folder, *uidvalidity, *uid).await?,
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

    if let Some(outcome) = council_reply(
        app,
        tx,
        message,
        decision,
        from,
        message_row,
        received_at,
        now,
    )
    .await?
    {
        return Ok(outcome);
    }

    let thread = find_case(tx, message, decision, from).await?;
    let kind = decision.kind;

    if let Some(found) = &thread
        && found.joins
    {
        let case = &found.case;
        messages::set_case(tx, message_row, case.id).await?;
        let event = match kind {
            Kind::AutoReply => "auto_reply",
            Kind::Bounce => "bounce",
            Kind::Junk => "junk",
            _ if found.redelivery => "redelivery",
            Kind::FollowUp | Kind::NewEnquiry => "chaser",
            Kind::NotMp => "message",
        };
        if kind == Kind::Bounce
            && let Some(outbox_id) = found.outbox
        {
            outbox::mark_bounced(tx, outbox_id, "a bounce for this mail came back").await?;
        }
        let detail =
            json!({ "message": message_row, "kind": kind.as_str(), "matched_by": found.how });
        cases::add_event(
            tx,
            case.id,
            now,
            "postroom",
            event,
            Some(message_row),
            &detail,
        )
        .await?;
        if event == "chaser" && !incoming.history {
            notify::chaser(app, tx, case, now).await?;
        }
        tracing::Span::current().record("case", case.reference.as_str());
        return Ok(Outcome::Joined {
            reference: case.reference.clone(),
            kind,
        });
    }

    if matches!(kind, Kind::Junk | Kind::AutoReply | Kind::Bounce)
        && message.status == ParseStatus::Parsed
    {
        return Ok(Outcome::Filed { kind });
    }

    open_case(
        app,
        tx,
        message,
        decision,
        message_row,
        incoming.history,
        thread.as_ref(),
        received_at,
        now,
    )
    .await
}

/// Mail from the council's own people that cites a case. Addressed only
/// to colleagues, it is filed on the case. Addressed to someone outside
/// the council, it is a caseworker's reply to the MP office, copied (Cc or
/// Bcc) to the mailbox or read from its Sent folder. It is filed on the case, and the case is answered at the
/// reply's date by its sender, unless it is a holding reply (`[holding]`
/// in the subject, or a holding phrase in its own text), which is recorded
/// as an interim reply with the clock still running.
#[allow(clippy::too_many_arguments)]
async fn council_reply(
    app: &App,
    tx: &mut Tx,
    message: &Message,
    decision: &Decision,
    from: &str,
    message_row: i64,
    received_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Option<Outcome>> {
    let council = &app.config.council;
    let ours = |address: &str| {
        let address = address.to_ascii_lowercase();
        council.domains.iter().any(|d| {
            address
                .rsplit_once('@')
                .is_some_and(|(_, domain)| domain == d)
        })
    };
    if from.is_empty()
        || !ours(from)
        || message.status != ParseStatus::Parsed
        || notify::automatic_mail(message).is_some()
    {
        return Ok(None);
    }
    // Postroom's own mail coming back (from the shared mailbox's address,
    // as replies sent "as" the mailbox are too) is not a caseworker's reply.
    if let Some(id) = &message.message_id
        && outbox::case_of_message_id(tx, std::slice::from_ref(id))
            .await?
            .is_some()
    {
        return Ok(None);
    }
    let outward = message
        .to
        .iter()
        .chain(message.cc.iter())
        .any(|m| !m.address.is_empty() && !ours(&m.address));
    let Some(reference) = &decision.council_reference else {
        return Ok(None);
    };
    let Some(case) = cases::by_reference(tx, reference).await? else {
        return Ok(None);
    };
    messages::set_case(tx, message_row, case.id).await?;
    let actor = from.to_ascii_lowercase();
    if !outward {
        // Between colleagues (a forward to another service, say): filed on
        // the case for the record; it answers nothing.
        let detail = json!({ "message": message_row, "by": actor });
        cases::add_event(
            tx,
            case.id,
            now,
            &actor,
            "internal",
            Some(message_row),
            &detail,
        )
        .await?;
        return Ok(Some(Outcome::Joined {
            reference: case.reference.clone(),
            kind: decision.kind,
        }));
    }
    let own = crate::classify::features::latest_text(&message.body).to_lowercase();
    let holding = message.subject.to_lowercase().contains("[holding]")
        || app
            .config
            .holding_phrases
            .iter()
            .any(|p| own.contains(p.as_str()));
    let at = message.date.unwrap_or(received_at).min(now);
    if holding || case.answered_at.is_some() || case.status == "closed" {
        let event = if holding { "interim_reply" } else { "reply" };
        let detail = json!({ "message": message_row, "at": crate::store::ts(at), "by": actor });
        cases::add_event(tx, case.id, now, &actor, event, Some(message_row), &detail).await?;
    } else {
        crate::casework::actions::record_answer(app, tx, &case, at, now, &actor, Some(message_row))
            .await?;
    }
    tracing::Span::current().record("case", case.reference.as_str());
    Ok(Some(Outcome::Joined {
        reference: case.reference.clone(),
        kind: decision.kind,
    }))
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

/// A case the message refers to, and whether it may join it.
struct Found {
    case: cases::CaseRow,
    /// False when only a reference in the text points at the case and the
    /// sender is not on it: then a person decides.
    joins: bool,
    redelivery: bool,
    /// The outbox entry the message replies to or bounces.
    outbox: Option<i64>,
    how: &'static str,
}

/// Finds the case a message belongs to: the same Message-ID from the same
/// sender (a re-delivery with other bytes), a reply or bounce naming a mail
/// of the case, a council reference from someone on the case, or the MP
/// reference of an open case from the same office.
async fn find_case(
    tx: &mut Tx,
    message: &Message,
    decision: &Decision,
    from: &str,
) -> Result<Option<Found>> {
    let found = |case, joins, redelivery, outbox, how| Found {
        case,
        joins,
        redelivery,
        outbox,
        how,
    };
    if let Some(id) = &message.message_id
        && !from.is_empty()
        && let Some(case) = messages::case_of_message_id(tx, id, from).await?
        && let Some(case) = cases::by_id(tx, case).await?
    {
        return Ok(Some(found(case, true, true, None, "message-id")));
    }
    let mut thread_ids: Vec<String> = message.references.clone();
    thread_ids.extend(message.in_reply_to.iter().cloned());
    if matches!(decision.kind, Kind::Bounce | Kind::AutoReply) {
        thread_ids.extend(message.enclosed_ids.iter().cloned());
    }
    if let Some((outbox_id, Some(case))) = outbox::case_of_message_id(tx, &thread_ids).await?
        && let Some(case) = cases::by_id(tx, case).await?
    {
        return Ok(Some(found(
            case,
            true,
            false,
            Some(outbox_id),
            "reply-to-postroom",
        )));
    }
    if let Some(case) = messages::case_of_thread(tx, &thread_ids).await?
        && let Some(case) = cases::by_id(tx, case).await?
    {
        return Ok(Some(found(case, true, false, None, "thread")));
    }
    if let Some(reference) = &decision.council_reference
        && let Some(case) = cases::by_reference(tx, reference).await?
    {
        let on_case = !from.is_empty() && cases::has_participant(tx, case.id, from).await?;
        let same_office = decision.from_mp_office
            && decision.mp_name.is_some()
            && case.mp_name == decision.mp_name;
        let automatic = matches!(decision.kind, Kind::AutoReply | Kind::Bounce);
        return Ok(Some(found(
            case,
            on_case || same_office || automatic,
            false,
            None,
            "council-reference",
        )));
    }
    if let (Some(mp_reference), Some(mp_name), true) = (
        &decision.mp_reference,
        &decision.mp_name,
        decision.from_mp_office,
    ) && decision.kind != Kind::NewEnquiry
        && let Some(case) = cases::open_by_mp_reference(tx, mp_reference, mp_name).await?
    {
        return Ok(Some(found(case, true, false, None, "mp-reference")));
    }
    Ok(None)
}

#[allow(clippy::too_many_arguments)]
async fn open_case(
    app: &App,
    tx: &mut Tx,
    message: &Message,
    decision: &Decision,
    message_row: i64,
    history: bool,
    suggested: Option<&Found>,
    received_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Outcome> {
    let classifier = app.classifier();
    let mut triage: Vec<String> = decision.triage.clone();
    match decision.kind {
        Kind::NotMp => triage.push("not from an MP office".into()),
        Kind::FollowUp => triage.push("a follow-up to a case postroom does not know".into()),
        _ => {}
    }
    if let Some(s) = suggested {
        triage.push(format!(
            "cites {} but the sender is not on that case",
            s.case.reference
        ));
    }
    let correspondent = correspondent(message, decision, &classifier);
    if message.origin == Origin::Letter && decision.should_acknowledge && correspondent.is_none() {
        triage.push("acknowledge by hand: no email address for this MP office".into());
    }

    let year = app
        .calendar()
        .local_date(received_at)
        .format("%Y")
        .to_string()
        .parse::<i32>()?;
    let reference =
        cases::allocate_reference(tx, &app.config.council.reference_prefix, year).await?;
    let calendar = app.calendar();
    let written = calendar.local_date(message.date.unwrap_or(received_at).min(received_at));
    let (targets, planned) = deadlines::plan(
        &app.config.policy,
        &calendar,
        &deadlines::Facts {
            policy: decision.policy.as_deref(),
            category: decision.category,
            send_topic: decision.send_topic,
            urgent: decision.urgent,
            acknowledge: decision.should_acknowledge,
            received_at,
            request_date: request_date(message, written),
        },
    );
    let due_of = |kind| planned.iter().find(|p| p.kind == kind).map(|p| p.due_on);
    let response_due = due_of(deadlines::Kind::Respond);
    let acknowledge_due = due_of(deadlines::Kind::Acknowledge);
    let status = if triage.is_empty() {
        Status::Open
    } else {
        Status::Triage
    };
    let triage_reason = (!triage.is_empty()).then(|| triage.join("; "));
    let subject = compose::base_subject(&message.subject);
    let assignment = assign::assign(app, tx, decision).await?;
    let case_id = cases::insert(
        tx,
        &cases::NewCase {
            reference: &reference,
            status: status.as_str(),
            kind: decision.kind.as_str(),
            triage_reason: triage_reason.as_deref(),
            category: decision.category.map(|c| c.as_str()),
            send_topic: decision.send_topic.map(|t| t.as_str()),
            urgent: decision.urgent,
            from_mp_office: decision.from_mp_office,
            mp_name: decision.mp_name.as_deref(),
            constituency: decision.constituency.as_deref(),
            mp_reference: decision.mp_reference.as_deref(),
            correspondent: correspondent.as_deref().unwrap_or(""),
            subject: &subject,
            team: assignment.team.as_deref(),
            assignee: assignment.assignee.as_deref(),
            policy: targets.policy.as_deref(),
            tags: &decision.tags,
            received_at,
            acknowledge_due,
            response_due,
            now,
        },
    )
    .await?;
    tracing::Span::current().record("case", reference.as_str());
    messages::set_case(tx, message_row, case_id).await?;
    let detail = json!({
        "message": message_row,
        "kind": decision.kind.as_str(),
        "status": status.as_str(),
        "triage": triage,
        "matched_rules": decision.matched_rules,
        "response_due": response_due.map(|d| d.to_string()),
        "history": history,
        "deadlines": planned.iter().map(|p| json!({ "kind": p.kind.as_str(), "name": p.name, "due": p.due_on.to_string() })).collect::<Vec<_>>(),
    });
    cases::add_event(
        tx,
        case_id,
        now,
        "postroom",
        "created",
        Some(message_row),
        &detail,
    )
    .await?;
    // History (mail from before postroom read the mailbox) runs no clocks.
    if !history {
        let today = calendar.local_date(now);
        for p in &planned {
            let steps = deadlines::ladder(&app.config.reminders, &calendar, p.due_on);
            let (stage, next_on) = deadlines::schedule(&steps, today);
            store::deadlines::insert(tx, case_id, p, stage, next_on).await?;
        }
    }
    if assignment.team.is_some() || assignment.assignee.is_some() {
        let detail = json!({ "team": assignment.team, "assignee": assignment.assignee, "by": assignment.by });
        cases::add_event(tx, case_id, now, "postroom", "assigned", None, &detail).await?;
    }

    let case = cases::by_id(tx, case_id)
        .await?
        .context("The case just written is missing")?;
    let acknowledged = !history
        && decision.should_acknowledge
        && notify::acknowledge(app, tx, message, decision, &case, now).await?;
    // History (mail from before postroom read the mailbox) is filed, never
    // acknowledged or announced.
    if !history {
        notify::new_case(app, tx, &case, now).await?;
        crate::casework::webhook::queue(app, tx, "case_created", &case, now).await?;
        if case.assignee.is_some() {
            crate::casework::webhook::queue(app, tx, "case_assigned", &case, now).await?;
        }
    }
    Ok(Outcome::Opened {
        reference: reference.to_string(),
        acknowledged,
        triage: status == Status::Triage,
    })
}

/// When the EHC needs assessment was requested, if the message (or an
/// attachment's text) says.
fn request_date(message: &Message, written: chrono::NaiveDate) -> Option<chrono::NaiveDate> {
    std::iter::once(message.body.as_str())
        .chain(message.parts.iter().filter_map(|p| p.text.as_deref()))
        .find_map(|text| crate::classify::dates::request_date(text, written))
}

/// Where mail about the case goes: the sender of an email, or the MP
/// office's address from the directory for a letter.
fn correspondent(
    message: &Message,
    decision: &Decision,
    classifier: &Classifier,
) -> Option<String> {
    match message.origin {
        Origin::Email => message
            .from
            .as_ref()
            .map(|m| m.address.clone())
            .filter(|a| !a.is_empty()),
        Origin::Letter => decision
            .mp_name
            .as_deref()
            .and_then(|name| classifier.directory.office_address(name))
            .map(str::to_string),
    }
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
