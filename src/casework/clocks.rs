//! A case's clocks when something moves them: a new category or SEND
//! topic (the reply date from the new target, statutory clocks added or
//! dropped), or a newer bank-holiday calendar. Each move is an event on
//! its case.

use anyhow::Result;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;

use crate::app::App;
use crate::deadlines::{self, Kind};
use crate::store::cases::{self, CaseRow};
use crate::store::{Tx, deadlines as stored, parse_ts};

/// A deadline moved by a resume or a calendar change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    pub name: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

pub(crate) async fn update_case_due(
    tx: &mut Tx,
    case: i64,
    kind: Kind,
    due: NaiveDate,
) -> Result<()> {
    match kind {
        Kind::Respond => cases::set_due_dates(tx, case, None, Some(due)).await,
        Kind::Acknowledge => cases::set_due_dates(tx, case, Some(due), None).await,
        Kind::Statutory => Ok(()),
    }
}

/// Stores a newer bank-holiday feed and moves every open working-day
/// deadline it changes, each move recorded on its case. Returns the moves.
pub async fn update_calendar(app: &App, feed: &str, actor: &str) -> Result<Vec<(String, Moved)>> {
    for division in [
        crate::calendar::Division::EnglandAndWales,
        crate::calendar::Division::Scotland,
        crate::calendar::Division::NorthernIreland,
    ] {
        crate::calendar::parse_feed(feed, division)
            .map_err(|e| anyhow::anyhow!("Not a gov.uk bank-holidays feed: {e}"))?;
    }
    let now = app.clock.now();
    {
        let mut conn = app.store.conn().await?;
        crate::store::calendar::add_feed(&mut conn, feed, now).await?;
    }
    app.refresh_calendar().await?;
    redate_for_calendar(app, actor, now).await
}

/// Moves every unmet deadline whose due day the calendar in force puts
/// elsewhere, each move an event on its case; for a new feed stored here,
/// and for one another process stored (a running daemon that picks it up
/// re-dates the cases it opened meanwhile on the old calendar).
pub async fn redate_for_calendar(
    app: &App,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Vec<(String, Moved)>> {
    let calendar = app.calendar();
    let today = calendar.local_date(now);
    let mut moves = Vec::new();
    let mut after = 0;
    loop {
        let mut tx = app.store.begin().await?;
        let batch = stored::unmet(&mut tx, after, 500).await?;
        let Some(last) = batch.last() else {
            break;
        };
        after = last.id;
        for d in batch {
            let due = calendar.due(d.unit, d.start_on, d.amount, d.paused_days);
            if due == d.due_on {
                continue;
            }
            let Some(case) = cases::by_id(&mut tx, d.case_id).await? else {
                continue;
            };
            let live = case.clocks_run();
            let (stage, next_on) = if live {
                deadlines::reminders_from(&app.config.reminders, &calendar, due, today)
            } else {
                (d.stage, None)
            };
            stored::redate(
                &mut tx,
                d.id,
                stored::Redated {
                    amount: d.amount,
                    paused_days: d.paused_days,
                    due_on: due,
                    stage,
                    next_on,
                },
            )
            .await?;
            update_case_due(&mut tx, case.id, d.kind, due).await?;
            let detail = json!({ "deadline": d.name, "from": d.due_on.to_string(), "to": due.to_string(), "why": "bank holidays updated" });
            cases::add_event(
                &mut tx,
                case.id,
                now,
                actor,
                "due_date_changed",
                None,
                &detail,
            )
            .await?;
            moves.push((
                case.reference.clone(),
                Moved {
                    name: d.name,
                    from: d.due_on,
                    to: due,
                },
            ));
        }
        tx.commit().await?;
    }
    Ok(moves)
}

/// A case's clocks as the policy says after its category, SEND topic or
/// urgency changed: the reply date is worked out again from the same start
/// day with the new target; statutory clocks the new SEND topic has are
/// added (from the request date the case's mail gives), and unmet ones it
/// no longer has are dropped. Met deadlines stay as they were. Each change
/// is an event on the case.
// Long: the reply date, added statutory clocks and dropped ones are three
// passes over the same deadlines, each writing its event.
pub(super) async fn replan(
    app: &App,
    tx: &mut Tx,
    case: &CaseRow,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let calendar = app.calendar();
    let existing = stored::for_case(tx, case.id).await?;
    let request_date = match existing.iter().find(|d| d.kind == Kind::Statutory) {
        Some(d) => Some(d.start_on),
        None => request_date_of(tx, case, &calendar).await?,
    };
    let (_, planned) = deadlines::plan(
        &app.config.policy,
        &calendar,
        &deadlines::Facts {
            policy: None,
            category: case.category,
            send_topic: case.send_topic,
            urgent: case.urgent,
            acknowledge: existing.iter().any(|d| d.kind == Kind::Acknowledge),
            received_at: case.received_at,
            request_date,
        },
    );
    let live = case.clocks_run();
    let today = calendar.local_date(now);
    let reminders = |due| {
        if live {
            deadlines::reminders_from(&app.config.reminders, &calendar, due, today)
        } else {
            (0, None)
        }
    };
    let changed = |d: &str, from: Option<NaiveDate>, to: Option<NaiveDate>| json!({ "deadline": d, "from": from.map(|f| f.to_string()), "to": to.map(|t| t.to_string()), "why": "recategorised" });
    // The reply date: same start, the new target.
    if let (Some(old), Some(new)) = (
        existing.iter().find(|d| d.kind == Kind::Respond),
        planned.iter().find(|p| p.kind == Kind::Respond),
    ) && old.met_at.is_none()
        && old.amount != new.amount
    {
        let due = calendar.due(old.unit, old.start_on, new.amount, old.paused_days);
        let (stage, next_on) = reminders(due);
        stored::redate(
            tx,
            old.id,
            stored::Redated {
                amount: new.amount,
                paused_days: old.paused_days,
                due_on: due,
                stage,
                next_on,
            },
        )
        .await?;
        update_case_due(tx, case.id, Kind::Respond, due).await?;
        let detail = changed(&old.name, Some(old.due_on), Some(due));
        cases::add_event(tx, case.id, now, actor, "due_date_changed", None, &detail).await?;
    }
    // Statutory clocks: added where the new topic has them, dropped (if
    // unmet) where it has not.
    for p in planned.iter().filter(|p| p.kind == Kind::Statutory) {
        if existing
            .iter()
            .any(|d| d.kind == Kind::Statutory && d.name == p.name)
        {
            continue;
        }
        let (stage, next_on) = reminders(p.due_on);
        stored::insert(tx, case.id, p, stage, next_on).await?;
        let detail = changed(&p.name, None, Some(p.due_on));
        cases::add_event(tx, case.id, now, actor, "deadline_added", None, &detail).await?;
    }
    for d in existing
        .iter()
        .filter(|d| d.kind == Kind::Statutory && d.met_at.is_none())
    {
        if planned
            .iter()
            .any(|p| p.kind == Kind::Statutory && p.name == d.name)
        {
            continue;
        }
        stored::remove_unmet(tx, d.id).await?;
        let detail = changed(&d.name, Some(d.due_on), None);
        cases::add_event(tx, case.id, now, actor, "deadline_dropped", None, &detail).await?;
    }
    Ok(())
}

/// When the EHC needs assessment was requested, as the case's first
/// message (or its attachments) says.
async fn request_date_of(
    tx: &mut Tx,
    case: &CaseRow,
    calendar: &crate::calendar::Calendar,
) -> Result<Option<NaiveDate>> {
    let Some(first) = crate::store::messages::of_case(tx, case.id)
        .await?
        .into_iter()
        .next()
    else {
        return Ok(None);
    };
    let written = calendar.local_date(parse_ts(&first.received_at)?);
    let parts = crate::store::messages::parts(tx, first.id).await?;
    Ok(parts
        .iter()
        .filter_map(|p| p.text.as_deref())
        .find_map(|text| crate::classify::dates::request_date(text, written)))
}
