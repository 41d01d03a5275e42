//! The outgoing webhook's queue half: a JSON POST to the council's CRM
//! when a case is created, assigned, answered or closed (posted by
//! `outbox::webhook`). Each POST is queued in the
//! outbox in the transaction that made the change (so it is never lost
//! and never sent for a change that rolled back), and delivered, retried
//! and dead-lettered by the outbox worker like mail.
//!
//! The body carries the case's facts, never message text or subjects (they
//! can name a child). It is signed: `X-Postroom-Signature: sha256=<hex>`,
//! HMAC-SHA256 of the exact body with the shared secret; the receiver
//! computes the same and compares in constant time.
//! `X-Postroom-Delivery` is the same on every retry of one event, so a
//! receiver can ignore a repeat.

use anyhow::Result;
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::app::App;
use crate::store::cases::{self, CaseRow};
use crate::store::{Tx, outbox, ts};

/// Queues `event` about `case` in `tx`, if a webhook is configured for it.
pub async fn queue(
    app: &App,
    tx: &mut Tx,
    event: &str,
    case: &CaseRow,
    now: DateTime<Utc>,
) -> Result<()> {
    let Some(hook) = &app.config.webhook else {
        return Ok(());
    };
    if !hook.events.iter().any(|e| e == event) {
        return Ok(());
    }
    let delivery = format!(
        "postroom.{event}.{}.{:016x}",
        case.reference.to_ascii_lowercase(),
        rand::random::<u64>()
    );
    let body = json!({
        "event": event,
        "delivery": delivery,
        "at": ts(now),
        "case": {
            "reference": case.reference,
            "status": case.status,
            "kind": case.kind,
            "category": case.category,
            "send_topic": case.send_topic,
            "urgent": case.urgent,
            "from_mp_office": case.from_mp_office,
            "mp_name": case.mp_name,
            "constituency": case.constituency,
            "mp_reference": case.mp_reference,
            "team": case.team,
            "assignee": case.assignee,
            "received_at": case.received_at,
            "response_due": case.response_due,
            "acknowledged_at": case.acknowledged_at,
            "answered_at": case.answered_at,
            "closed_at": case.closed_at,
        },
    });
    let id = outbox::enqueue(
        tx,
        &outbox::NewOutbox {
            case_id: Some(case.id),
            purpose: "webhook",
            message_id: &delivery,
            envelope_from: "",
            recipients: std::slice::from_ref(&hook.url),
            raw: body.to_string().as_bytes(),
            now,
        },
    )
    .await?;
    cases::add_event(
        tx,
        case.id,
        now,
        "postroom",
        "webhook_queued",
        None,
        &json!({ "event": event, "outbox": id }),
    )
    .await?;
    Ok(())
}
