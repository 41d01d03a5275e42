//! Reminders: before each due date and on the day to the caseworker, then
//! up the overdue ladder (caseworker, manager, named addresses). One mail
//! per person per run lists everything due for them.
//!
//! Never the same reminder twice: a reminder is claimed by moving its
//! deadline's step counter on (`deadlines.stage`, compare-and-set) in the
//! transaction that queues the mail, so a restart, a second instance or a
//! crash between the two cannot repeat it. Reminders go out only inside
//! `reminders.hours` on working days.

use std::collections::BTreeMap;

use anyhow::Result;
use chrono::{DateTime, Utc};
use serde_json::json;
use tracing::{info, warn};

use crate::app::App;
use crate::compose::{CouncilContext, DueItem, ReminderContext};
use crate::config::Recipient;
use crate::deadlines::{self, When};
use crate::store::cases::{self, CaseRow};
use crate::store::{Tx, deadlines as stored};

/// What a run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    /// Deadline reminders taken.
    pub reminders: usize,
    /// Mails queued (one per person).
    pub mails: usize,
}

/// Deadlines looked at per transaction.
const BATCH: i64 = 200;

/// Sends every reminder that is due now. Outside working hours, nothing.
// Long: a reminder round claims each due step and groups the mails per
// person inside one transaction per batch.
pub async fn run_due(app: &App) -> Result<Totals> {
    let now = app.clock.now();
    let calendar = app.calendar();
    let mut totals = Totals::default();
    if !calendar.in_working_hours(now, app.config.reminders.hours) {
        return Ok(totals);
    }
    let today = calendar.local_date(now);
    // Each round takes what it finds off the scan (a step taken, or a
    // next_on moved past today), so rounds end; the bound is a safeguard.
    for _ in 0..10_000 {
        let mut tx = app.store.begin().await?;
        let due = stored::due(&mut tx, today, BATCH).await?;
        if due.is_empty() {
            break;
        }
        let found = due.len();
        let mut mails: BTreeMap<String, Vec<DueItem>> = BTreeMap::new();
        for d in due {
            let case = cases::by_id(&mut tx, d.case_id).await?;
            let Some(case) = case.filter(CaseRow::clocks_run) else {
                // Paused, answered or closed: nothing more to say.
                stored::advance(&mut tx, d.id, d.stage, d.stage, None).await?;
                continue;
            };
            let steps = deadlines::ladder(&app.config.reminders, &calendar, d.due_on);
            let Some(i) = deadlines::due_step(&steps, d.stage, today) else {
                // The ladder moved (a new due date): wait for its next step.
                let next = steps.get(d.stage).map(|s| s.on).filter(|on| *on > today);
                stored::advance(&mut tx, d.id, d.stage, d.stage, next).await?;
                continue;
            };
            let (stage, next_on) = deadlines::after(&steps, i);
            if !stored::advance(&mut tx, d.id, d.stage, stage, next_on).await? {
                continue;
            }
            let to = recipients(app, &case, &steps[i].to);
            let (state, days) = deadlines::state(&calendar, d.due_on, today);
            let when = match steps[i].when {
                When::Before(n) => format!("{n} working days before"),
                When::OnTheDay => "on the day".to_string(),
                When::Overdue(n) => format!("{n} working days after"),
            };
            let detail =
                json!({ "deadline": d.name, "due": d.due_on.to_string(), "when": when, "to": to });
            if to.is_empty() {
                warn!(case = %case.reference, "A reminder is due but the case has no caseworker or manager to send it to.");
                cases::add_event(
                    &mut tx,
                    case.id,
                    now,
                    "postroom",
                    "reminder_unaddressed",
                    None,
                    &detail,
                )
                .await?;
                continue;
            }
            cases::add_event(&mut tx, case.id, now, "postroom", "reminder", None, &detail).await?;
            let item = DueItem {
                case: crate::casework::mail::case_context(app, &case)?,
                deadline: d.name.clone(),
                kind: d.kind.as_str().to_string(),
                due: crate::casework::mail::long_date(d.due_on),
                state,
                overdue: days < 0,
                days,
            };
            for address in to {
                mails.entry(address).or_default().push(item.clone());
            }
            totals.reminders += 1;
        }
        for (recipient, mut items) in mails {
            items.sort_by_key(|i| i.days);
            queue(app, &mut tx, &recipient, items, now).await?;
            totals.mails += 1;
        }
        tx.commit().await?;
        if (found as i64) < BATCH {
            break;
        }
    }
    if totals.reminders > 0 {
        info!(
            reminders = totals.reminders,
            mails = totals.mails,
            "Reminders queued."
        );
    }
    Ok(totals)
}

/// The addresses a step goes to, for this case.
fn recipients(app: &App, case: &CaseRow, to: &[Recipient]) -> Vec<String> {
    let manager = case
        .team
        .as_deref()
        .and_then(|t| app.config.team(t))
        .and_then(|t| t.manager.clone());
    let mut out: Vec<String> = Vec::new();
    for r in to {
        let address = match r {
            Recipient::Caseworker => case.assignee.clone().or_else(|| manager.clone()),
            Recipient::Manager => manager.clone(),
            Recipient::Address(a) => Some(a.clone()),
        };
        if let Some(a) = address
            && !out.contains(&a)
        {
            out.push(a);
        }
    }
    out
}

async fn queue(
    app: &App,
    tx: &mut Tx,
    to: &str,
    items: Vec<DueItem>,
    now: DateTime<Utc>,
) -> Result<()> {
    let council = &app.config.council;
    let ctx = ReminderContext::new(
        CouncilContext {
            name: council.name.clone(),
            mailbox: council.mailbox.clone(),
        },
        to.to_string(),
        items,
    );
    let rendered = app.templates().render("reminder", &ctx)?;
    let day = app.calendar().local_date(now).format("%Y%m%d").to_string();
    crate::casework::mail::queue_generated(app, tx, "reminder", &day, to, &rendered, now).await?;
    Ok(())
}
