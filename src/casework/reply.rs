//! A council reply: mail from the council's own people that cites a case,
//! filed on it; addressed outside the council, it answers the case.

use anyhow::Result;
use serde_json::json;

use super::{Arrival, Joined};
use crate::app::App;
use crate::classify::automatic::automatic_mail;
use crate::parse::ParseStatus;
use crate::store::{Tx, cases, messages, outbox};

/// Mail from the council's own people that cites a case. Addressed only
/// to colleagues, it is filed on the case. Addressed to someone outside
/// the council, it is a caseworker's reply to the MP office, copied (Cc or
/// Bcc) to the mailbox or read from its Sent folder. It is filed on the
/// case, and the case is answered at the reply's date by its sender,
/// unless it is a holding reply (`[holding]` in the subject, or a holding
/// phrase in its own text), which is recorded as an interim reply with the
/// clock still running.
pub async fn council_reply(
    app: &App,
    tx: &mut Tx,
    arrival: &Arrival<'_>,
) -> Result<Option<Joined>> {
    let Arrival {
        message,
        decision,
        row: message_row,
        from,
        received_at,
        now,
        ..
    } = *arrival;
    let settings = &app.classifier().settings;
    if !decision.from_council
        || message.status != ParseStatus::Parsed
        || automatic_mail(message).is_some()
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
        .any(|m| !m.address.is_empty() && !settings.is_council(&m.address));
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
        return Ok(Some(Joined {
            reference: case.reference.clone(),
            kind: decision.kind,
        }));
    }
    let holding = decision.holding;
    let at = message.date.unwrap_or(received_at).min(now);
    if holding || case.answered_at.is_some() || case.status == crate::case::Status::Closed {
        let event = if holding { "interim_reply" } else { "reply" };
        let detail = json!({ "message": message_row, "at": crate::store::ts(at), "by": actor });
        cases::add_event(tx, case.id, now, &actor, event, Some(message_row), &detail).await?;
    } else {
        super::actions::record_answer(app, tx, &case, at, now, &actor, Some(message_row)).await?;
    }
    tracing::Span::current().record("case", case.reference.as_str());
    Ok(Some(Joined {
        reference: case.reference.clone(),
        kind: decision.kind,
    }))
}
