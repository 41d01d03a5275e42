//! A reply the council writes to the MP office in the workspace, from one
//! of its reply templates: sent through the outbox to the case's
//! correspondent, threaded to the office's mail (In-Reply-To the latest
//! message in, References the case's messages), with the case reference in
//! the subject. A full reply answers the case (its reply deadlines met, its
//! reminders stopped) in the same transaction; a holding reply does not.

use anyhow::{Result, bail};
use chrono::{DateTime, Utc};
use serde_json::json;

use super::actions::{case_by_reference, ensure_live, record_answer};
use crate::app::App;
use crate::compose::{self, Rendered};
use crate::store::{cases, messages, outbox};

/// What the caseworker wrote.
#[derive(Debug, Clone, Copy)]
pub struct Draft<'a> {
    pub text: &'a str,
    /// A holding reply: the case stays unanswered.
    pub holding: bool,
}

/// The subject of a reply on a case: the office's subject, with the
/// council's reference in it.
pub fn subject(case_subject: &str, reference: &str) -> String {
    let base = compose::base_subject(case_subject);
    if base
        .to_ascii_uppercase()
        .contains(&reference.to_ascii_uppercase())
    {
        format!("Re: {base}")
    } else if base.is_empty() {
        format!("Your enquiry [{reference}]")
    } else {
        format!("Re: {base} [{reference}]")
    }
}

/// The template's instructions in square brackets that are still in the
/// text, if any: such a reply is not sent.
fn leftover(text: &str) -> Option<&str> {
    let start = text.find("[Write ").or_else(|| text.find("[Say "))?;
    let end = text[start..]
        .find(']')
        .map_or(text.len(), |e| start + e + 1);
    Some(&text[start..end])
}

/// Queues the reply; the outbox row.
pub async fn send(
    app: &App,
    reference: &str,
    draft: Draft<'_>,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<i64> {
    let text = draft.text.trim();
    if text.is_empty() {
        bail!("The reply is empty");
    }
    if let Some(left) = leftover(text) {
        bail!("The reply still has the template's instruction {left:?} in it: write that part");
    }
    let mut tx = app.store.begin().await?;
    let case = case_by_reference(&mut tx, reference).await?;
    ensure_live(&case)?;
    if !draft.holding && case.answered_at.is_some() {
        bail!("{reference} was answered already; reopen it first to answer it again");
    }
    let to = case.correspondent.trim().to_string();
    if to.parse::<lettre::Address>().is_err() {
        bail!("{reference} has no address to reply to");
    }
    let ids: Vec<String> = messages::of_case(&mut tx, case.id)
        .await?
        .into_iter()
        .filter_map(|m| m.message_id)
        .collect();
    let council = &app.config.council;
    let message_id = compose::message_id("reply", reference, &council.message_id_domain);
    let rendered = Rendered {
        subject: compose::clean_header_text(&subject(&case.subject, reference)),
        text: format!("{text}\n"),
        html: html(text),
    };
    let raw = compose::build(&compose::Outgoing {
        from: &app.from,
        to: &to,
        rendered: &rendered,
        message_id: &message_id,
        in_reply_to: ids.last().map(String::as_str),
        references: &ids,
        auto_submitted: "no",
        case_reference: Some(reference),
        date: now,
    })?;
    let row = outbox::enqueue(
        &mut tx,
        &outbox::NewOutbox {
            case_id: Some(case.id),
            purpose: "reply",
            message_id: &message_id,
            envelope_from: &council.mailbox,
            recipients: std::slice::from_ref(&to),
            raw: &raw,
            now,
        },
    )
    .await?;
    let kind = if draft.holding {
        "holding_reply_sent"
    } else {
        "reply_sent"
    };
    let detail = json!({ "outbox": row, "message_id": message_id });
    cases::add_event(&mut tx, case.id, now, actor, kind, None, &detail).await?;
    if !draft.holding {
        record_answer(app, &mut tx, &case, now, now, actor, None).await?;
    }
    tx.commit().await?;
    Ok(row)
}

/// The text as HTML: paragraphs at blank lines, lines kept, all escaped.
fn html(text: &str) -> String {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let paragraphs: Vec<String> = text
        .split("\n\n")
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .map(|p| format!("<p>{}</p>", escape(p).replace('\n', "<br>\n")))
        .collect();
    format!(
        "<!DOCTYPE html>\n<html><body style=\"font-family: Arial, sans-serif\">\n{}\n</body></html>\n",
        paragraphs.join("\n")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_subject_carries_the_reference_once() {
        assert_eq!(
            subject("RE: School transport", "MPE-2026-00002"),
            "Re: School transport [MPE-2026-00002]"
        );
        assert_eq!(
            subject("Fwd: Case MPE-2026-00002 again", "MPE-2026-00002"),
            "Re: Case MPE-2026-00002 again"
        );
        assert_eq!(
            subject("", "MPE-2026-00002"),
            "Your enquiry [MPE-2026-00002]"
        );
    }

    #[test]
    fn instructions_left_in_the_text_are_found_and_markup_escaped() {
        assert_eq!(
            leftover("Dear MP,\n[Write the council's answer here.]\nYours"),
            Some("[Write the council's answer here.]")
        );
        assert_eq!(leftover("Dear MP,\nAll done [see attached].\n"), None);
        let h = html("Dear <b>MP</b>,\n\nLine one\nline two");
        assert!(h.contains("<p>Dear &lt;b&gt;MP&lt;/b&gt;,</p>"));
        assert!(h.contains("<p>Line one<br>\nline two</p>"));
    }
}
