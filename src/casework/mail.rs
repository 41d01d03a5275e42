//! What postroom sends about a case: the acknowledgement to the MP office,
//! and notices to caseworkers (a case assigned to them, a chaser on their
//! case) and to team managers (an urgent case). Each is rendered from
//! `templates/` and queued in the outbox inside the caller's transaction,
//! so a mail is queued if and only if the case change that caused it is
//! committed.

use anyhow::{Context, Result};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use tracing::warn;

use crate::app::App;
use crate::classify::Decision;
use crate::compose::{self, CaseContext, CouncilContext, MailContext};
use crate::message::Origin;
use crate::parse::Message;
use crate::store::cases::CaseRow;
use crate::store::{Tx, cases, outbox};
use chrono::Duration;

/// The mails postroom writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mail {
    /// To the MP office: your enquiry is case MPE-..., reply due by ...
    Acknowledgement,
    /// To a caseworker: a case is yours.
    Assigned,
    /// To the caseworker (or the manager): the MP office chased the case.
    Chaser,
    /// To the team's manager: an urgent case arrived.
    Urgent,
}

impl Mail {
    pub const ALL: &'static [Mail] = &[
        Mail::Acknowledgement,
        Mail::Assigned,
        Mail::Chaser,
        Mail::Urgent,
    ];

    /// The templates' base name.
    pub fn template(self) -> &'static str {
        match self {
            Mail::Acknowledgement => "acknowledgement",
            Mail::Assigned => "assigned",
            Mail::Chaser => "chaser",
            Mail::Urgent => "urgent",
        }
    }

    fn purpose(self) -> &'static str {
        match self {
            Mail::Acknowledgement => "acknowledgement",
            _ => "notification",
        }
    }

    /// RFC 3834: an acknowledgement answers a message; a notice is generated.
    fn auto_submitted(self) -> &'static str {
        match self {
            Mail::Acknowledgement => "auto-replied",
            _ => "auto-generated",
        }
    }
}

/// The facts templates show about a case.
pub fn case_context(app: &App, case: &CaseRow) -> Result<CaseContext> {
    let received = case.received_at;
    let policy = &app.config.policy;
    let response_days = if case.urgent {
        policy.urgent_respond_days
    } else {
        policy.respond_days
    };
    let response_due = case.response_due.map(long_date).unwrap_or_default();
    let calendar = app.calendar();
    let today = calendar.local_date(app.clock.now());
    let answered = case.answered_at.map(|t| long_date(calendar.local_date(t)));
    let response_overdue = answered.is_none() && case.response_due.is_some_and(|d| d < today);
    let open = match (&app.config.council.case_url, &app.config.web) {
        (Some(url), _) => url.replace("{reference}", &case.reference),
        (None, Some(web)) => format!("{}/cases/{}", web.public_url, case.reference),
        (None, None) => format!("postroom cases show {}", case.reference),
    };
    Ok(CaseContext {
        reference: case.reference.clone(),
        subject: if case.subject.is_empty() {
            "Your enquiry".into()
        } else {
            case.subject.clone()
        },
        received: long_date(app.calendar().local_date(received)),
        response_due,
        response_overdue,
        answered,
        response_days,
        urgent: case.urgent,
        category: case
            .category
            .map(|c| c.label().to_string())
            .unwrap_or_default(),
        send_topic: case.send_topic.map(|t| t.as_str().replace('_', " ")),
        mp_name: case.mp_name.clone(),
        constituency: case.constituency.clone(),
        mp_reference: case.mp_reference.clone(),
        from_mp_office: case.from_mp_office,
        team: case.team.clone(),
        assignee: case.assignee.clone(),
        status: case.status.to_string(),
        triage_reason: case.triage_reason.clone(),
        open,
        summary: None,
    })
}

/// Queues a mail postroom generates about no one case (a reminder round,
/// a digest, an alert to the admin) to one person. Its Message-ID is
/// `purpose` and `tag` under the council's domain, so the same round,
/// period or stall always gets the same one. Returns the outbox row.
pub async fn queue_generated(
    app: &App,
    tx: &mut Tx,
    purpose: &str,
    tag: &str,
    to: &str,
    rendered: &compose::Rendered,
    now: DateTime<Utc>,
) -> Result<i64> {
    let council = &app.config.council;
    let message_id = compose::message_id(purpose, tag, &council.message_id_domain);
    let raw = compose::build(&compose::Outgoing {
        from: &app.from,
        to,
        rendered,
        message_id: &message_id,
        in_reply_to: None,
        references: &[],
        auto_submitted: "auto-generated",
        case_reference: None,
        date: now,
    })?;
    outbox::enqueue(
        tx,
        &outbox::NewOutbox {
            case_id: None,
            purpose,
            message_id: &message_id,
            envelope_from: &council.mailbox,
            recipients: &[to.to_string()],
            raw: &raw,
            now,
        },
    )
    .await
}

/// A notice about a case carries a child's details: it goes only to the
/// council's own people (the acknowledgement goes to the MP office). True,
/// with an event on the case, when `to` is not one of them.
async fn withheld(
    app: &App,
    tx: &mut Tx,
    mail: Mail,
    case: &CaseRow,
    to: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let internal = !matches!(mail, Mail::Acknowledgement);
    let ours = app.classifier().settings.is_council(to) || app.config.knows_person(to);
    if !internal || ours {
        return Ok(false);
    }
    warn!(case = %case.reference, mail = mail.template(), "Notice withheld: the address is not the council's.");
    let detail = json!({ "mail": mail.template(), "reason": "not one of the council's addresses" });
    cases::add_event(
        tx,
        case.id,
        now,
        "postroom",
        "notification_withheld",
        None,
        &detail,
    )
    .await?;
    Ok(true)
}

/// Renders `mail` about `case` and queues it to `to`; records the event.
/// `reply_to` is the message it answers (threading headers). A notice to
/// an address that is not the council's is withheld (`None`).
pub async fn queue(
    app: &App,
    tx: &mut Tx,
    mail: Mail,
    case: &CaseRow,
    to: &str,
    reply_to: Option<&Message>,
    now: DateTime<Utc>,
) -> Result<Option<i64>> {
    if withheld(app, tx, mail, case, to, now).await? {
        return Ok(None);
    }
    let council = &app.config.council;
    let ctx = MailContext {
        council: CouncilContext {
            name: council.name.clone(),
            mailbox: council.mailbox.clone(),
        },
        case: case_context(app, case)?,
    };
    let mut ctx = ctx;
    if matches!(mail, Mail::Assigned | Mail::Urgent) {
        // A notice goes to the council's own people only (see `withheld`).
        ctx.case.summary = crate::store::messages::first_text_of_case(tx, case.id)
            .await?
            .and_then(|t| compose::summary(&t, 300));
    }
    let rendered = app.templates().render(mail.template(), &ctx)?;
    let tag = match mail {
        Mail::Acknowledgement => "ack",
        Mail::Assigned => "assigned",
        Mail::Chaser => "chaser",
        Mail::Urgent => "urgent",
    };
    let message_id = compose::message_id(tag, &case.reference, &council.message_id_domain);
    let mut references = reply_to.map(|m| m.references.clone()).unwrap_or_default();
    if let Some(id) = reply_to.and_then(|m| m.message_id.clone()) {
        references.push(id);
    }
    let raw = compose::build(&compose::Outgoing {
        from: &app.from,
        to,
        rendered: &rendered,
        message_id: &message_id,
        in_reply_to: reply_to.and_then(|m| m.message_id.as_deref()),
        references: &references,
        auto_submitted: mail.auto_submitted(),
        case_reference: Some(&case.reference),
        date: now,
    })
    .with_context(|| format!("Cannot build the {} mail", mail.template()))?;
    let id = outbox::enqueue(
        tx,
        &outbox::NewOutbox {
            case_id: Some(case.id),
            purpose: mail.purpose(),
            message_id: &message_id,
            envelope_from: &council.mailbox,
            recipients: &[to.to_string()],
            raw: &raw,
            now,
        },
    )
    .await?;
    let (event, detail) = match mail {
        Mail::Acknowledgement => ("acknowledgement_queued", json!({ "outbox": id })),
        _ => (
            "notification_queued",
            json!({ "outbox": id, "mail": mail.template(), "to": to }),
        ),
    };
    cases::add_event(tx, case.id, now, "postroom", event, None, &detail).await?;
    Ok(Some(id))
}

/// Queues the acknowledgement of a new case, unless a loop guard says no;
/// records either way. Returns whether it was queued.
pub async fn acknowledge(
    app: &App,
    tx: &mut Tx,
    message: &Message,
    decision: &Decision,
    case: &CaseRow,
    now: DateTime<Utc>,
) -> Result<bool> {
    let to = (!case.correspondent.is_empty()).then_some(case.correspondent.as_str());
    match acknowledgement_block(app, tx, message, decision, to, now).await? {
        None => {
            let reply_to = (message.origin == Origin::Email).then_some(message);
            queue(
                app,
                tx,
                Mail::Acknowledgement,
                case,
                &case.correspondent,
                reply_to,
                now,
            )
            .await?;
            Ok(true)
        }
        Some(reason) => {
            warn!(case = %case.reference, reason, "Acknowledgement withheld.");
            let detail = json!({ "reason": reason });
            cases::add_event(
                tx,
                case.id,
                now,
                "postroom",
                "acknowledgement_withheld",
                None,
                &detail,
            )
            .await?;
            Ok(false)
        }
    }
}

/// Notices about a new case: to its caseworker, and to the team's manager
/// when it is urgent.
pub async fn new_case(app: &App, tx: &mut Tx, case: &CaseRow, now: DateTime<Utc>) -> Result<()> {
    if let Some(assignee) = &case.assignee {
        queue(app, tx, Mail::Assigned, case, assignee, None, now).await?;
    }
    if case.urgent {
        let manager = case
            .team
            .as_deref()
            .and_then(|t| app.config.team(t))
            .and_then(|t| t.manager.clone());
        if let Some(manager) = manager.filter(|m| Some(m) != case.assignee.as_ref()) {
            queue(app, tx, Mail::Urgent, case, &manager, None, now).await?;
        }
    }
    Ok(())
}

/// A notice that the MP office chased a case: to its caseworker, or to the
/// team's manager when nobody holds it.
pub async fn chaser(app: &App, tx: &mut Tx, case: &CaseRow, now: DateTime<Utc>) -> Result<()> {
    let manager = || {
        case.team
            .as_deref()
            .and_then(|t| app.config.team(t))
            .and_then(|t| t.manager.clone())
    };
    if let Some(to) = case.assignee.clone().or_else(manager) {
        queue(app, tx, Mail::Chaser, case, &to, None, now).await?;
    }
    Ok(())
}

/// Why an acknowledgement the rules asked for must not be sent, if it must
/// not: the last line of defence against mail loops and floods.
async fn acknowledgement_block(
    app: &App,
    tx: &mut Tx,
    message: &Message,
    decision: &Decision,
    to: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<String>> {
    let Some(to) = to else {
        return Ok(Some("no address to send it to".into()));
    };
    if to.parse::<lettre::Address>().is_err() {
        return Ok(Some("the sender's address is not valid".into()));
    }
    if app.classifier().settings.is_council(to) {
        return Ok(Some(
            "the sender is one of the council's own addresses".into(),
        ));
    }
    if let Some(reason) = crate::classify::automatic::automatic_mail(message) {
        return Ok(Some(reason));
    }
    if decision.kind.is_automatic() {
        return Ok(Some(format!("the message is {}", decision.kind)));
    }
    let limit = app.config.acknowledgements_per_sender_per_hour;
    let recent = outbox::count_recent(tx, "acknowledgement", to, now - Duration::hours(1)).await?;
    if recent >= i64::from(limit) {
        return Ok(Some(format!(
            "{limit} acknowledgements to this address in the last hour"
        )));
    }
    Ok(None)
}

/// "Tuesday 3 March 2026".
pub fn long_date(d: NaiveDate) -> String {
    d.format("%A %-d %B %Y").to_string()
}
