//! Threading: the case a message belongs to, and joining it.

use anyhow::Result;
use serde_json::json;

use super::{Arrival, Joined, mail};
use crate::app::App;
use crate::case::Kind;
use crate::store::{Tx, cases, messages, outbox};

/// A case the message refers to, and whether it may join it.
pub struct Found {
    pub case: cases::CaseRow,
    /// False when only a reference in the text points at the case and the
    /// sender is not on it: then a person decides.
    pub joins: bool,
    redelivery: bool,
    /// The outbox entry the message replies to or bounces.
    outbox: Option<i64>,
    how: &'static str,
}

/// Finds the case a message belongs to: the same Message-ID from the same
/// sender (a re-delivery with other bytes), a reply or bounce naming a mail
/// of the case, a council reference from someone on the case, or the MP
/// reference of an open case from the same office.
pub async fn find_case(tx: &mut Tx, arrival: &Arrival<'_>) -> Result<Option<Found>> {
    let Arrival {
        message,
        decision,
        from,
        ..
    } = *arrival;
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

/// Files the message on the case it was found to join: an event that
/// says what it is (a chaser, an automatic reply, a bounce, a
/// re-delivery), a bounced mail marked, and the caseworker told of a
/// chaser.
pub async fn join(app: &App, tx: &mut Tx, arrival: &Arrival<'_>, found: &Found) -> Result<Joined> {
    let Arrival {
        decision,
        row: message_row,
        history,
        now,
        ..
    } = *arrival;
    let kind = decision.kind;
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
    let detail = json!({ "message": message_row, "kind": kind.as_str(), "matched_by": found.how });
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
    if event == "chaser" && !history {
        mail::chaser(app, tx, case, now).await?;
    }
    tracing::Span::current().record("case", case.reference.as_str());
    Ok(Joined {
        reference: case.reference.clone(),
        kind,
    })
}
