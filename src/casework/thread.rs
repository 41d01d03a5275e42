//! Threading: the case a message belongs to, and joining it.

use anyhow::Result;
use serde_json::json;

use super::{Arrival, Joined, mail};
use crate::app::App;
use crate::case::Kind;
use crate::message::Origin;
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
    if message.origin == Origin::Letter
        && let Some(case) = same_letter(tx, arrival).await?
    {
        return Ok(Some(found(case, true, true, None, "same-letter")));
    }
    Ok(None)
}

/// How far back a letter is looked for again, and how many.
const SAME_LETTER_DAYS: i64 = 90;
const SAME_LETTER_LIMIT: i64 = 500;
/// Word pairs two letters share, of all they have, above which they are
/// one letter read twice (a PDF and a scan of the same page reach about
/// 0.9; letters from one office's template about different constituents
/// stay well below).
const SAME_LETTER_LIKENESS: f64 = 0.8;

/// The case of a letter already stored with the same text: the same
/// letter dropped into the scans folder twice, as a PDF and as a scan,
/// say. A letter that names another MP reference is another letter.
async fn same_letter(tx: &mut Tx, arrival: &Arrival<'_>) -> Result<Option<cases::CaseRow>> {
    let Arrival {
        message,
        decision,
        received_at,
        ..
    } = *arrival;
    let text: String = message
        .parts
        .iter()
        .filter_map(|p| p.text.as_deref())
        .chain(std::iter::once(message.body.as_str()))
        .collect::<Vec<_>>()
        .join("\n");
    let mine = word_pairs(&text);
    if mine.len() < 20 {
        return Ok(None);
    }
    let since = received_at - chrono::Duration::days(SAME_LETTER_DAYS);
    for (case_id, text) in messages::recent_letters(tx, since, SAME_LETTER_LIMIT).await? {
        if likeness(&mine, &word_pairs(&text)) < SAME_LETTER_LIKENESS {
            continue;
        }
        let Some(case) = cases::by_id(tx, case_id).await? else {
            continue;
        };
        let other_reference = matches!(
            (&decision.mp_reference, &case.mp_reference),
            (Some(a), Some(b)) if !a.eq_ignore_ascii_case(b)
        );
        if !other_reference {
            return Ok(Some(case));
        }
    }
    Ok(None)
}

/// The pairs of neighbouring words of a text, lower case, letters and
/// digits only: what a text layer and the OCR of the same page share.
fn word_pairs(text: &str) -> std::collections::HashSet<(String, String)> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 2)
        .map(str::to_lowercase)
        .collect();
    words
        .windows(2)
        .map(|w| (w[0].clone(), w[1].clone()))
        .collect()
}

/// Jaccard likeness of two sets of word pairs: shared over all.
fn likeness(
    a: &std::collections::HashSet<(String, String)>,
    b: &std::collections::HashSet<(String, String)>,
) -> f64 {
    let all = a.union(b).count();
    if all == 0 {
        return 0.0;
    }
    a.intersection(b).count() as f64 / all as f64
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_letter_read_twice_is_alike_and_two_letters_of_one_template_are_not() {
        let letter = "Dear Director, I am writing on behalf of my constituent Ms Jane Doe of \
                      12 Mill Lane, whose son has waited since March for an EHC needs assessment. \
                      I would be grateful if you could look into this and reply to my office.";
        // The same page through OCR: a few words misread.
        let ocr = "Dear Director, I am writlng on behalf of my constituent Ms Jane Doe of \
                   12 Mill Lane, whose son has waited since March for an EHC needs assessrnent. \
                   I would be grateful if you could look into this and reply to my office.";
        // The office's template about another family.
        let other = "Dear Director, I am writing on behalf of my constituent Mr Ali Khan of \
                     4 Station Road, whose daughter was refused a place at her local school in \
                     June. I would be grateful if you could look into this and reply to my office.";
        let (a, b, c) = (word_pairs(letter), word_pairs(ocr), word_pairs(other));
        assert!(
            likeness(&a, &b) >= SAME_LETTER_LIKENESS,
            "{}",
            likeness(&a, &b)
        );
        assert!(
            likeness(&a, &c) < SAME_LETTER_LIKENESS,
            "{}",
            likeness(&a, &c)
        );
    }
}
