//! What templates see: the variables of each mail (`MailContext` and the
//! contexts of reminders and digests), and sample values that `check`
//! renders every template with.

use serde::Serialize;

/// The variables every template can use.
#[derive(Debug, Clone, Serialize)]
pub struct MailContext {
    pub council: CouncilContext,
    pub case: CaseContext,
}

#[derive(Debug, Clone, Serialize)]
pub struct CouncilContext {
    pub name: String,
    pub mailbox: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CaseContext {
    pub reference: String,
    /// The subject of the message that opened the case (sanitised).
    pub subject: String,
    pub received: String,
    pub response_due: String,
    /// The reply date has passed and the case is not answered: a mail
    /// must not promise a date already gone.
    pub response_overdue: bool,
    /// When the case was answered, if it was ("Tuesday 3 March 2026").
    pub answered: Option<String>,
    pub response_days: u32,
    pub urgent: bool,
    /// The service, for people ("Housing").
    pub category: String,
    pub send_topic: Option<String>,
    pub mp_name: Option<String>,
    pub constituency: Option<String>,
    pub mp_reference: Option<String>,
    /// It came from an MP office (not straight from a member of the
    /// public): whom the caseworker replies to.
    pub from_mp_office: bool,
    pub team: Option<String>,
    pub assignee: Option<String>,
    pub status: String,
    pub triage_reason: Option<String>,
    /// A link to the case (council.case_url) or the command that shows it.
    pub open: String,
    /// The start of the enquiry, for a notice to a caseworker (none in mail
    /// to the MP office).
    pub summary: Option<String>,
}

/// One item of a reminder: a deadline of a case.
#[derive(Debug, Clone, Serialize)]
pub struct DueItem {
    pub case: CaseContext,
    /// "Reply to the MP office", "Final EHC plan issued (reg 13(2))".
    pub deadline: String,
    /// acknowledge, respond or statutory.
    pub kind: String,
    /// "Tuesday 17 March 2026".
    pub due: String,
    /// "due in 2 working days", "due today", "overdue by 3 working days".
    pub state: String,
    pub overdue: bool,
    /// Working days left (negative: late).
    pub days: i64,
}

/// The variables of the reminder templates.
#[derive(Debug, Clone, Serialize)]
pub struct ReminderContext {
    pub council: CouncilContext,
    pub recipient: String,
    pub items: Vec<DueItem>,
    /// How many of the items are overdue.
    pub overdue: usize,
    /// How many cases the items are about: one case can have several
    /// deadlines due (its reply and a statutory clock).
    pub cases: usize,
}

impl ReminderContext {
    pub fn new(council: CouncilContext, recipient: String, items: Vec<DueItem>) -> ReminderContext {
        let overdue = items.iter().filter(|i| i.overdue).count();
        let cases = items
            .iter()
            .map(|i| i.case.reference.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        ReminderContext {
            council,
            recipient,
            items,
            overdue,
            cases,
        }
    }
}

/// A case and how often its MP office chased it in the period.
#[derive(Debug, Clone, Serialize)]
pub struct ChaserItem {
    pub case: CaseContext,
    pub chasers: usize,
}

/// One week of the digest's chart.
#[derive(Debug, Clone, Serialize)]
pub struct WeekFigures {
    /// "23 Nov".
    pub week: String,
    pub received: usize,
    pub answered: usize,
    /// The bars' lengths in pixels (the longest of the eight weeks is
    /// [`BAR_PX`]): the HTML draws them as table cells, which every mail
    /// client shows, Outlook's Word engine and Gmail included.
    pub received_px: u32,
    pub answered_px: u32,
}

/// The longest bar of the digest's chart, in pixels.
pub const BAR_PX: u32 = 240;

/// A bar's length for `value` when the longest is `max`: at least one pixel
/// for anything above nothing.
pub fn bar_px(value: usize, max: usize) -> u32 {
    if value == 0 || max == 0 {
        return 0;
    }
    ((value as f64 / max as f64 * f64::from(BAR_PX)).round() as u32).max(1)
}

/// The variables of the digest templates.
#[derive(Debug, Clone, Serialize)]
pub struct DigestContext {
    pub council: CouncilContext,
    pub manager: String,
    pub teams: Vec<String>,
    /// "daily" or "weekly".
    pub period: String,
    /// "Friday 27 November 2026", "the week to Friday 27 November 2026".
    pub title: String,
    pub new_cases: Vec<CaseContext>,
    pub due_soon: Vec<DueItem>,
    /// All that are due soon (the list holds at most 50).
    pub due_soon_total: usize,
    pub due_within_days: u32,
    pub overdue: Vec<DueItem>,
    /// All that are overdue (the list holds the worst 50).
    pub overdue_total: usize,
    pub chasers: Vec<ChaserItem>,
    /// Replies in the period, and how many were in time.
    pub answered: usize,
    pub answered_on_time: usize,
    pub on_time_percent: Option<u32>,
    pub weeks: Vec<WeekFigures>,
    /// Always false: the chart is drawn with table cells from `weeks`, no
    /// longer as an image (Outlook desktop and Gmail show no SVG). Kept so
    /// that a council's own template that tests it still renders.
    pub chart: bool,
}

/// A sample context for a mail's templates (to check them at start and
/// to preview them).
pub fn sample_for(mail: &str) -> serde_json::Value {
    let base = sample_context();
    let item = |state: &str, overdue: bool, days: i64| DueItem {
        case: base.case.clone(),
        deadline: "Reply to the MP office".into(),
        kind: "respond".into(),
        due: "Tuesday 17 March 2026".into(),
        state: state.into(),
        overdue,
        days,
    };
    let value = match mail {
        "reminder" => serde_json::to_value(ReminderContext::new(
            base.council.clone(),
            "a.caseworker@exampleshire.gov.uk".into(),
            vec![
                item("due in 2 working days", false, 2),
                item("overdue by 1 working day", true, -1),
            ],
        )),
        "digest" => serde_json::to_value(DigestContext {
            council: base.council.clone(),
            manager: "a.manager@exampleshire.gov.uk".into(),
            teams: vec!["Housing".into()],
            period: "daily".into(),
            title: "Tuesday 3 March 2026".into(),
            new_cases: vec![base.case.clone()],
            due_soon: vec![item("due in 2 working days", false, 2)],
            due_soon_total: 1,
            due_within_days: 5,
            overdue: vec![item("overdue by 1 working day", true, -1)],
            overdue_total: 1,
            chasers: vec![ChaserItem {
                case: base.case.clone(),
                chasers: 2,
            }],
            answered: 4,
            answered_on_time: 3,
            on_time_percent: Some(75),
            weeks: vec![WeekFigures {
                week: "23 Feb".into(),
                received: 5,
                answered: 4,
                received_px: BAR_PX,
                answered_px: bar_px(4, 5),
            }],
            chart: false,
        }),
        _ => serde_json::to_value(base),
    };
    value.unwrap_or(serde_json::Value::Null)
}

pub(super) fn sample_context() -> MailContext {
    MailContext {
        council: CouncilContext {
            name: "Exampleshire Council".into(),
            mailbox: "mpenquiries@exampleshire.gov.uk".into(),
        },
        case: CaseContext {
            reference: "MPE-2026-00001".into(),
            subject: "Constituent enquiry".into(),
            received: "Tuesday 3 March 2026".into(),
            response_due: "Tuesday 17 March 2026".into(),
            response_overdue: false,
            answered: None,
            response_days: 10,
            urgent: false,
            category: "Housing".into(),
            send_topic: None,
            mp_name: Some("Ann Example".into()),
            constituency: Some("Northtown".into()),
            mp_reference: Some("AE/26/0001".into()),
            from_mp_office: true,
            team: Some("Housing".into()),
            assignee: Some("a.caseworker@exampleshire.gov.uk".into()),
            status: "open".into(),
            triage_reason: None,
            open: "postroom cases show MPE-2026-00001".into(),
            summary: None,
        },
    }
}
