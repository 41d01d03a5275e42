//! What people do to a case after it opened, one function an action:
//! assign, recategorise, pause, resume, answer, close, reopen, hold,
//! release, note. Each takes who did it and when, and writes its event
//! (who, when, why) in one transaction with its effect on the case's
//! deadlines and reminders: reminders stop when a case is paused,
//! answered or closed, and a resumed clock runs on for as long as it was
//! paused.

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::app::App;
use crate::calendar::Unit;
use crate::case::Status;
use crate::casework::clocks::{Moved, replan, update_case_due};
use crate::deadlines::{self, Kind};
use crate::store::cases::{self, CaseRow};
use crate::store::{Tx, deadlines as stored};

/// The case `reference` names, or an error that says there is none.
pub(crate) async fn case_by_reference(tx: &mut Tx, reference: &str) -> Result<CaseRow> {
    cases::by_reference(tx, reference)
        .await?
        .with_context(|| format!("There is no case {reference}"))
}

pub(crate) fn ensure_live(case: &CaseRow) -> Result<()> {
    if case.status == Status::Closed {
        bail!("{} is closed; reopen it first", case.reference);
    }
    Ok(())
}

/// Stops a case's clocks, with the reason (waiting for the MP office's
/// consent, say). No reminders go out while it is paused.
pub async fn pause(
    app: &App,
    reference: &str,
    reason: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<CaseRow> {
    let mut tx = app.store.begin().await?;
    let case = case_by_reference(&mut tx, reference).await?;
    ensure_live(&case)?;
    if case.answered_at.is_some() {
        bail!("{reference} was answered; reopen it first");
    }
    if let Some(since) = &case.paused_at {
        bail!(
            "{reference} has been paused since {}",
            crate::store::ts(*since)
        );
    }
    if reason.trim().is_empty() {
        bail!("Say why the clock stops");
    }
    cases::set_paused(&mut tx, case.id, Some((now, reason))).await?;
    stored::silence(&mut tx, case.id).await?;
    cases::add_event(
        &mut tx,
        case.id,
        now,
        actor,
        "paused",
        None,
        &json!({ "reason": reason }),
    )
    .await?;
    tx.commit().await?;
    Ok(case)
}

/// Starts a paused case's clocks again; every unmet deadline moves on by
/// the time the case was paused (working days for working-day clocks,
/// calendar days for clocks in weeks).
pub async fn resume(
    app: &App,
    reference: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Moved>> {
    let calendar = app.calendar();
    let today = calendar.local_date(now);
    let mut tx = app.store.begin().await?;
    let case = case_by_reference(&mut tx, reference).await?;
    let Some(paused_at) = &case.paused_at else {
        bail!("{reference} is not paused");
    };
    let paused_on = calendar.local_date(*paused_at);
    let working = calendar.working_days_between(paused_on, today).max(0) as u32;
    let days = (today - paused_on).num_days().max(0) as u32;
    let mut moved = Vec::new();
    for d in stored::for_case(&mut tx, case.id).await? {
        if d.met_at.is_some() {
            continue;
        }
        let paused_days = d.paused_days
            + match d.unit {
                Unit::WorkingDays => working,
                Unit::Weeks => days,
            };
        let due = calendar.due(d.unit, d.start_on, d.amount, paused_days);
        let (stage, next_on) =
            deadlines::reminders_from(&app.config.reminders, &calendar, due, today);
        stored::redate(
            &mut tx,
            d.id,
            stored::Redated {
                amount: d.amount,
                paused_days,
                due_on: due,
                stage,
                next_on,
            },
        )
        .await?;
        if due != d.due_on {
            moved.push(Moved {
                name: d.name.clone(),
                from: d.due_on,
                to: due,
            });
        }
        update_case_due(&mut tx, case.id, d.kind, due).await?;
    }
    cases::set_paused(&mut tx, case.id, None).await?;
    let detail = json!({
        "paused_since": paused_at,
        "working_days": working,
        "moved": moved.iter().map(|m| json!({ "deadline": m.name, "from": m.from.to_string(), "to": m.to.to_string() })).collect::<Vec<_>>(),
    });
    cases::add_event(&mut tx, case.id, now, actor, "resumed", None, &detail).await?;
    tx.commit().await?;
    Ok(moved)
}

/// Records that the MP office has had its reply (at `at`, by default now):
/// the reply and acknowledgement deadlines are met, every reminder stops.
/// A time in the future, or a day before the case arrived, is refused.
pub async fn answer(
    app: &App,
    reference: &str,
    at: Option<DateTime<Utc>>,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let at = at.unwrap_or(now);
    if at > now {
        bail!(
            "{} is in the future; say when the reply was sent",
            crate::store::ts(at)
        );
    }
    let mut tx = app.store.begin().await?;
    let case = case_by_reference(&mut tx, reference).await?;
    let calendar = app.calendar();
    let arrived = calendar.local_date(case.received_at);
    if calendar.local_date(at) < arrived {
        bail!(
            "{reference} arrived on {arrived}; it cannot have been answered on {}",
            calendar.local_date(at)
        );
    }
    // Answered the day it arrived, at a time given as the day alone: not
    // before it arrived.
    let at = at.max(case.received_at);
    ensure_live(&case)?;
    if case.answered_at.is_some() {
        bail!("{reference} was answered already");
    }
    record_answer(app, &mut tx, &case, at, now, actor, None).await?;
    tx.commit().await?;
    Ok(())
}

/// In `tx`: the case is answered at `at` (by hand, or by a reply copied to
/// the mailbox, `message`), its reply deadlines met, its reminders stopped.
pub(crate) async fn record_answer(
    app: &App,
    tx: &mut Tx,
    case: &CaseRow,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
    actor: &str,
    message: Option<i64>,
) -> Result<()> {
    cases::set_status(tx, case.id, Status::Answered, at).await?;
    stored::meet(tx, case.id, &[Kind::Acknowledge, Kind::Respond], at).await?;
    stored::silence(tx, case.id).await?;
    let mut detail = json!({ "at": crate::store::ts(at) });
    if let Some(m) = message {
        detail["message"] = json!(m);
        detail["by"] = json!("reply copied to the mailbox");
    }
    cases::add_event(tx, case.id, now, actor, "answered", message, &detail).await?;
    if let Some(case) = cases::by_id(tx, case.id).await? {
        crate::casework::webhook::queue(app, tx, "case_answered", &case, now).await?;
    }
    Ok(())
}

/// Closes a case: no more reminders, and it leaves the open lists.
pub async fn close(app: &App, reference: &str, actor: &str, now: DateTime<Utc>) -> Result<()> {
    let mut tx = app.store.begin().await?;
    let case = case_by_reference(&mut tx, reference).await?;
    ensure_live(&case)?;
    cases::set_status(&mut tx, case.id, Status::Closed, now).await?;
    stored::silence(&mut tx, case.id).await?;
    cases::add_event(&mut tx, case.id, now, actor, "closed", None, &json!({})).await?;
    let case = case_by_reference(&mut tx, reference).await?;
    crate::casework::webhook::queue(app, &mut tx, "case_closed", &case, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Puts a case on hold (a legal hold, a complaint, a subject access request
/// in progress): retention never deletes it. `None` lifts the hold
/// ([`release`]).
pub async fn hold(
    app: &App,
    reference: &str,
    reason: Option<&str>,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let mut tx = app.store.begin().await?;
    let case = case_by_reference(&mut tx, reference).await?;
    if reason.is_some_and(|r| r.trim().is_empty()) {
        bail!("Say why the case is held");
    }
    crate::store::retention::set_hold(&mut tx, case.id, reason).await?;
    let (kind, detail) = match reason {
        Some(r) => ("held", json!({ "reason": r })),
        None => ("hold_lifted", json!({})),
    };
    cases::add_event(&mut tx, case.id, now, actor, kind, None, &detail).await?;
    tx.commit().await?;
    Ok(())
}

/// Gives a case to another caseworker (in the team that has them as a
/// member, when one does), who gets the usual notice.
pub async fn assign(
    app: &App,
    reference: &str,
    to: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<CaseRow> {
    let to = to.trim();
    if !to.contains('@') || to.contains(char::is_whitespace) {
        bail!("{to:?} is not an email address");
    }
    if !app.config.knows_person(to) {
        bail!(
            "{to} is not a member or manager of any team in the config; cases go only to the council's own caseworkers"
        );
    }
    let mut tx = app.store.begin().await?;
    let case = case_by_reference(&mut tx, reference).await?;
    ensure_live(&case)?;
    if case
        .assignee
        .as_deref()
        .is_some_and(|a| a.eq_ignore_ascii_case(to))
    {
        bail!("{reference} is already assigned to {to}");
    }
    let team = app
        .config
        .teams
        .iter()
        .find(|t| t.members.iter().any(|m| m.eq_ignore_ascii_case(to)))
        .map(|t| t.name.clone());
    cases::set_assignee(&mut tx, case.id, to, team.as_deref()).await?;
    cases::add_event(
        &mut tx,
        case.id,
        now,
        actor,
        "assigned",
        None,
        &json!({ "from": case.assignee, "to": to, "team": team, "by": "hand" }),
    )
    .await?;
    let case = case_by_reference(&mut tx, reference).await?;
    crate::casework::mail::new_case(app, &mut tx, &case, now).await?;
    crate::casework::webhook::queue(app, &mut tx, "case_assigned", &case, now).await?;
    tx.commit().await?;
    Ok(case)
}

/// What a person corrects in a case's classification; `None` keeps it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Correction<'a> {
    pub kind: Option<&'a str>,
    pub category: Option<&'a str>,
    pub send_topic: Option<&'a str>,
    pub urgent: Option<bool>,
}

/// Corrects what a case is about. The correction is an event that keeps
/// what the rules said, so the rules can learn from it (`report
/// --accuracy`).
pub async fn recategorise(
    app: &App,
    reference: &str,
    correction: &Correction<'_>,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<CaseRow> {
    use crate::case::{Category, Kind, SendTopic};
    let Correction {
        kind,
        category,
        send_topic,
        urgent,
    } = *correction;
    let kind = kind
        .map(|k| Kind::parse(k).with_context(|| format!("{k:?} is not a kind: {}", Kind::names())))
        .transpose()?;
    let category = category
        .map(|c| {
            Category::parse(c)
                .with_context(|| format!("{c:?} is not a category: {}", Category::names()))
        })
        .transpose()?;
    let send_topic = send_topic
        .map(|t| {
            SendTopic::parse(t)
                .with_context(|| format!("{t:?} is not a SEND topic: {}", SendTopic::names()))
        })
        .transpose()?;
    if kind.is_none() && category.is_none() && send_topic.is_none() && urgent.is_none() {
        bail!(
            "Say what to change: the kind, the service (category), the SEND topic or the urgency"
        );
    }
    let mut tx = app.store.begin().await?;
    let case = case_by_reference(&mut tx, reference).await?;
    let new_category = category.or(case.category);
    let new_topic = match (send_topic, new_category) {
        (Some(t), _) => Some(t),
        (None, Some(Category::Send)) => case.send_topic,
        (None, _) => None,
    };
    if new_topic.is_some() && new_category != Some(Category::Send) {
        bail!("A SEND topic needs the category send");
    }
    let new_urgent = urgent.unwrap_or(case.urgent);
    let new_kind = kind.unwrap_or(case.kind);
    cases::set_classification(
        &mut tx,
        case.id,
        new_kind.as_str(),
        new_category.map(Category::as_str),
        new_topic.map(SendTopic::as_str),
        new_urgent,
    )
    .await?;
    cases::add_event(
        &mut tx,
        case.id,
        now,
        actor,
        "recategorised",
        None,
        &json!({
            "from": { "kind": case.kind, "category": case.category, "send_topic": case.send_topic, "urgent": case.urgent },
            "to": { "kind": new_kind, "category": new_category, "send_topic": new_topic, "urgent": new_urgent },
        }),
    )
    .await?;
    let case = case_by_reference(&mut tx, reference).await?;
    replan(app, &mut tx, &case, actor, now).await?;
    let case = case_by_reference(&mut tx, reference).await?;
    tx.commit().await?;
    Ok(case)
}

/// A caseworker's note on the case's record.
pub async fn note(
    app: &App,
    reference: &str,
    text: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    if text.trim().is_empty() {
        bail!("The note is empty");
    }
    let mut tx = app.store.begin().await?;
    let case = case_by_reference(&mut tx, reference).await?;
    cases::add_event(
        &mut tx,
        case.id,
        now,
        actor,
        "note",
        None,
        &json!({ "text": text }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Opens an answered or closed case again: the reply deadline its answer
/// met is unmet again, and its unmet clocks (the reply, a statutory
/// milestone) remind again from today.
pub async fn reopen(app: &App, reference: &str, actor: &str, now: DateTime<Utc>) -> Result<()> {
    let calendar = app.calendar();
    let today = calendar.local_date(now);
    let mut tx = app.store.begin().await?;
    let case = case_by_reference(&mut tx, reference).await?;
    if !matches!(case.status, Status::Closed | Status::Answered) {
        bail!(
            "{reference} is {}; only an answered or closed case is reopened",
            case.status
        );
    }
    cases::reopen(&mut tx, case.id, now).await?;
    // The answer met the reply deadline; reopened, the case owes the MP
    // office a reply again, and that clock runs (and reminds) again.
    if let Some(answered) = case.answered_at {
        stored::unmeet(&mut tx, case.id, &[Kind::Respond], answered).await?;
    }
    if case.paused_at.is_none() {
        for d in stored::for_case(&mut tx, case.id).await? {
            if d.met_at.is_some() {
                continue;
            }
            let (stage, next_on) =
                deadlines::reminders_from(&app.config.reminders, &calendar, d.due_on, today);
            stored::redate(
                &mut tx,
                d.id,
                stored::Redated {
                    amount: d.amount,
                    paused_days: d.paused_days,
                    due_on: d.due_on,
                    stage,
                    next_on,
                },
            )
            .await?;
        }
    }
    cases::add_event(
        &mut tx,
        case.id,
        now,
        actor,
        "reopened",
        None,
        &json!({ "was": case.status }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Lifts a case's hold: retention treats it as any other case again.
pub async fn release(app: &App, reference: &str, actor: &str, now: DateTime<Utc>) -> Result<()> {
    hold(app, reference, None, actor, now).await
}

/// A time a person gives (`cases answer --at`, the workspace's form): RFC 3339, or a day (YYYY-MM-DD),
/// taken as noon in London, or as now when the day is today and noon has
/// not come yet.
pub fn given_time(
    s: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<chrono::DateTime<chrono::Utc>> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    let day = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .with_context(|| format!("{s:?} is neither a date (YYYY-MM-DD) nor an RFC 3339 time"))?;
    use chrono::TimeZone;
    let noon = chrono_tz::Europe::London
        .from_local_datetime(&day.and_hms_opt(12, 0, 0).unwrap_or_default())
        .earliest()
        .map(|t| t.with_timezone(&chrono::Utc))
        .context("not a time in London")?;
    let today = now.with_timezone(&chrono_tz::Europe::London).date_naive();
    Ok(if day == today { noon.min(now) } else { noon })
}
