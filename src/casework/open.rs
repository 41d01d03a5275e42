//! Opening a case: what a new enquiry gets.

use anyhow::{Context, Result};
use chrono::Datelike;
use serde_json::json;

use super::thread::Found;
use super::{Arrival, Opened, assign, mail, webhook};
use crate::app::App;
use crate::case::{Kind, Status};
use crate::compose;
use crate::deadlines;
use crate::message::Origin;
use crate::store::{self, Tx, cases, messages};

/// Opens a new case for the message: triage reasons, a reference, its
/// clocks, a team and caseworker, the created and assigned events, the
/// acknowledgement, the notices and the webhook events. `suggested` is a
/// case the message cites but may not join (a person decides).
// Long: the new case row is written field by field; its parts (triage,
// clocks, first mails) are functions below.
pub async fn open(
    app: &App,
    tx: &mut Tx,
    arrival: &Arrival<'_>,
    suggested: Option<&Found>,
) -> Result<Opened> {
    let Arrival {
        message,
        decision,
        row: message_row,
        history,
        received_at,
        now,
        ..
    } = *arrival;
    let triage = triage_reasons(arrival, suggested);
    let calendar = app.calendar();
    let year = calendar.local_date(received_at).year();
    let reference =
        cases::allocate_reference(tx, &app.config.council.reference_prefix, year).await?;
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
            request_date: decision.request_date,
        },
    );
    let due_of = |kind| planned.iter().find(|p| p.kind == kind).map(|p| p.due_on);
    let response_due = due_of(deadlines::Kind::Respond);
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
            correspondent: decision.correspondent.as_deref().unwrap_or(""),
            subject: &subject,
            team: assignment.team.as_deref(),
            assignee: assignment.assignee.as_deref(),
            policy: targets.policy.as_deref(),
            tags: &decision.tags,
            received_at,
            acknowledge_due: due_of(deadlines::Kind::Acknowledge),
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
        start_clocks(app, tx, case_id, &planned, now).await?;
    }
    if assignment.team.is_some() || assignment.assignee.is_some() {
        let detail = json!({ "team": assignment.team, "assignee": assignment.assignee, "by": assignment.by });
        cases::add_event(tx, case_id, now, "postroom", "assigned", None, &detail).await?;
    }
    let acknowledged = first_mails(app, tx, arrival, case_id).await?;
    Ok(Opened {
        reference: reference.to_string(),
        acknowledged,
        triage: status == Status::Triage,
    })
}

/// Why a person must look at the new case first, if anything says so: the
/// rules or the parser, a message not from an MP office, a follow-up to a
/// case postroom does not know, a cited case the sender is not on, a letter
/// with no address to acknowledge.
fn triage_reasons(arrival: &Arrival<'_>, suggested: Option<&Found>) -> Vec<String> {
    let Arrival {
        message, decision, ..
    } = *arrival;
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
    if message.origin == Origin::Letter
        && decision.should_acknowledge
        && decision.correspondent.is_none()
    {
        triage.push("acknowledge by hand: no email address for this MP office".into());
    }
    triage
}

/// The case's deadlines, each with its reminder ladder from today.
async fn start_clocks(
    app: &App,
    tx: &mut Tx,
    case_id: i64,
    planned: &[deadlines::Planned],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    let calendar = app.calendar();
    let today = calendar.local_date(now);
    for p in planned {
        let (stage, next_on) =
            deadlines::reminders_from(&app.config.reminders, &calendar, p.due_on, today);
        store::deadlines::insert(tx, case_id, p, stage, next_on).await?;
    }
    Ok(())
}

/// The new case's first mails: the acknowledgement (when due and not
/// blocked), the notices to its caseworker and managers, the webhook
/// events. History (mail from before postroom read the mailbox) is filed,
/// never acknowledged or announced. Returns whether it was acknowledged.
async fn first_mails(app: &App, tx: &mut Tx, arrival: &Arrival<'_>, case_id: i64) -> Result<bool> {
    let Arrival {
        message,
        decision,
        history,
        now,
        ..
    } = *arrival;
    if history {
        return Ok(false);
    }
    let case = cases::by_id(tx, case_id)
        .await?
        .context("The case just written is missing")?;
    let acknowledged = decision.should_acknowledge
        && mail::acknowledge(app, tx, message, decision, &case, now).await?;
    mail::new_case(app, tx, &case, now).await?;
    webhook::queue(app, tx, "case_created", &case, now).await?;
    if case.assignee.is_some() {
        webhook::queue(app, tx, "case_assigned", &case, now).await?;
    }
    Ok(acknowledged)
}
