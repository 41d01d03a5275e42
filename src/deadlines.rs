//! Deadlines: which clocks a new case runs, when each runs out, and the
//! ladder of reminders that leads up to it and past it. Pure: the calendar
//! and the day are arguments.
//!
//! Every case runs a clock for the reply to the MP office (working days
//! from day 0, the day of receipt or the next working day after a late or
//! non-working-day receipt), one for the acknowledgement when one is owed,
//! and, for SEND cases whose message states when the EHC needs assessment
//! was requested, the statutory clocks (calendar weeks from that date).
//!
//! A deadline's reminders are its *steps*: some working days before the due
//! date and on the day (to the caseworker), then the overdue rungs (to the
//! caseworker, the manager, or named addresses). A deadline records how many
//! steps have been taken; a step that was missed while postroom was stopped
//! is not sent late on top of a later one: only the latest step that is due
//! goes out.

use chrono::{DateTime, NaiveDate, Utc};

use crate::calendar::{Calendar, Unit};
use crate::case::{Category, SendTopic};
use crate::config::{Policy, Recipient, Reminders, Targets};

/// What a deadline is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Acknowledge,
    Respond,
    /// A statutory SEND clock.
    Statutory,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Acknowledge => "acknowledge",
            Kind::Respond => "respond",
            Kind::Statutory => "statutory",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "acknowledge" => Some(Kind::Acknowledge),
            "respond" => Some(Kind::Respond),
            "statutory" => Some(Kind::Statutory),
            _ => None,
        }
    }
}

/// A deadline as planned for a new case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub kind: Kind,
    pub name: String,
    pub unit: Unit,
    pub amount: u32,
    pub start_on: NaiveDate,
    pub due_on: NaiveDate,
}

/// What the plan needs to know of a case.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub policy: Option<&'a str>,
    pub category: Option<Category>,
    pub send_topic: Option<SendTopic>,
    pub urgent: bool,
    /// Whether an acknowledgement is owed (by postroom or by hand).
    pub acknowledge: bool,
    pub received_at: DateTime<Utc>,
    /// When the EHC needs assessment was requested, if the message says.
    pub request_date: Option<NaiveDate>,
}

pub const REPLY: &str = "Reply to the MP office";
pub const ACKNOWLEDGE: &str = "Acknowledge the MP office";

/// The targets and deadlines of a new case.
pub fn plan(policy: &Policy, calendar: &Calendar, f: &Facts<'_>) -> (Targets, Vec<Planned>) {
    let targets = policy.targets(f.policy, f.category, f.send_topic, f.urgent);
    let day0 = calendar.start_day(f.received_at);
    let working = |kind, name: &str, amount| Planned {
        kind,
        name: name.to_string(),
        unit: Unit::WorkingDays,
        amount,
        start_on: day0,
        due_on: calendar.due(Unit::WorkingDays, day0, amount, 0),
    };
    let mut out = Vec::new();
    if f.acknowledge {
        out.push(working(
            Kind::Acknowledge,
            ACKNOWLEDGE,
            targets.acknowledge_days,
        ));
    }
    out.push(working(Kind::Respond, REPLY, targets.respond_days));
    if let (Some(topic), Some(requested)) = (f.send_topic, f.request_date) {
        for m in policy
            .milestones
            .iter()
            .filter(|m| m.send_topics.contains(&topic))
        {
            let name = match &m.regulation {
                Some(r) => format!("{} ({r})", m.name),
                None => m.name.clone(),
            };
            out.push(Planned {
                kind: Kind::Statutory,
                name,
                unit: Unit::Weeks,
                amount: m.weeks,
                start_on: requested,
                due_on: calendar.due(Unit::Weeks, requested, m.weeks, 0),
            });
        }
    }
    (targets, out)
}

/// When a step falls, relative to the due date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Working days before.
    Before(u32),
    OnTheDay,
    /// Working days after.
    Overdue(u32),
}

/// One reminder of a deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub on: NaiveDate,
    pub when: When,
    pub to: Vec<Recipient>,
}

/// The reminders of a deadline due on `due`, in date order. A due date that
/// is not a working day (a clock in weeks can end on a Saturday) is
/// announced on the working day before it.
pub fn ladder(reminders: &Reminders, calendar: &Calendar, due: NaiveDate) -> Vec<Step> {
    let last_working = if calendar.is_working_day(due) {
        due
    } else {
        calendar.sub_working_days(due, 1)
    };
    let mut steps = Vec::new();
    for before in &reminders.before {
        steps.push(Step {
            on: calendar.sub_working_days(last_working, *before),
            when: When::Before(*before),
            to: vec![Recipient::Caseworker],
        });
    }
    if reminders.on_the_day {
        steps.push(Step {
            on: last_working,
            when: When::OnTheDay,
            to: vec![Recipient::Caseworker],
        });
    }
    for rung in &reminders.overdue {
        steps.push(Step {
            on: calendar.add_working_days(due, rung.after),
            when: When::Overdue(rung.after),
            to: rung.to.clone(),
        });
    }
    steps.sort_by_key(|s| s.on);
    steps.dedup_by(|later, earlier| later.on == earlier.on);
    steps
}

/// Which step goes out on `today`, given that `taken` steps were taken:
/// the latest one that is due (earlier ones missed meanwhile are skipped).
pub fn due_step(steps: &[Step], taken: usize, today: NaiveDate) -> Option<usize> {
    (taken..steps.len()).rev().find(|&i| steps[i].on <= today)
}

/// The state of the ladder of a new (or re-dated) deadline on `today`: the
/// steps counted as taken and the day of the next. Steps whose day has
/// passed are skipped, except the latest of them, which is due at once (a
/// statutory clock that ran out before the MP wrote gets its overdue
/// notice now, not never).
pub fn schedule(steps: &[Step], today: NaiveDate) -> (usize, Option<NaiveDate>) {
    let passed = steps.iter().take_while(|s| s.on < today).count();
    let taken = passed.saturating_sub(1);
    (taken, steps.get(taken).map(|s| s.on))
}

/// The reminder state of a deadline due on `due`, as of `today`: the steps
/// taken and the day of the next ([`schedule`] of its [`ladder`]).
pub fn reminders_from(
    reminders: &Reminders,
    calendar: &Calendar,
    due: NaiveDate,
    today: NaiveDate,
) -> (usize, Option<NaiveDate>) {
    schedule(&ladder(reminders, calendar, due), today)
}

/// After step `i` went out: the steps taken and the day of the next.
pub fn after(steps: &[Step], i: usize) -> (usize, Option<NaiveDate>) {
    (i + 1, steps.get(i + 1).map(|s| s.on))
}

/// "due in 2 working days", "due today", "overdue by 3 working days".
pub fn state(calendar: &Calendar, due: NaiveDate, today: NaiveDate) -> (String, i64) {
    let n = calendar.working_days_between(today, due);
    let text = match n {
        0 if due == today => "due today".to_string(),
        0 => "due today (on a day that is not a working day)".to_string(),
        1 => "due tomorrow (1 working day)".to_string(),
        n if n > 1 => format!("due in {n} working days"),
        -1 => "overdue by 1 working day".to_string(),
        n => format!("overdue by {} working days", -n),
    };
    (text, n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::Division;
    use crate::config::Escalation;
    use chrono::NaiveTime;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn reminders() -> Reminders {
        Reminders {
            before: vec![2],
            on_the_day: true,
            overdue: vec![
                Escalation {
                    after: 1,
                    to: vec![Recipient::Caseworker, Recipient::Manager],
                },
                Escalation {
                    after: 5,
                    to: vec![
                        Recipient::Manager,
                        Recipient::Address("head@x.gov.uk".into()),
                    ],
                },
            ],
            hours: (
                NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
                NaiveTime::from_hms_opt(17, 0, 0).unwrap(),
            ),
        }
    }

    #[test]
    fn the_ladder_skips_weekends_and_holidays() {
        let cal = Calendar::embedded(Division::EnglandAndWales);
        // Due Tuesday 7 April 2026, after Easter.
        let steps = ladder(&reminders(), &cal, d("2026-04-07"));
        let days: Vec<NaiveDate> = steps.iter().map(|s| s.on).collect();
        assert_eq!(
            days,
            vec![
                d("2026-04-01"), // 2 working days before: Wed (Thu 2nd, Tue 7th)
                d("2026-04-07"),
                d("2026-04-08"),
                d("2026-04-14"),
            ]
        );
        assert_eq!(steps[3].when, When::Overdue(5));
    }

    #[test]
    fn a_due_date_on_a_saturday_is_announced_on_the_friday() {
        let cal = Calendar::embedded(Division::EnglandAndWales);
        let steps = ladder(&reminders(), &cal, d("2026-05-16"));
        assert_eq!(steps[1].on, d("2026-05-15"));
        assert_eq!(steps[1].when, When::OnTheDay);
        // Overdue from the first working day after the Saturday.
        assert_eq!(steps[2].on, d("2026-05-18"));
    }

    #[test]
    fn only_the_latest_due_step_goes_out_and_new_deadlines_start_where_they_stand() {
        let cal = Calendar::embedded(Division::EnglandAndWales);
        let steps = ladder(&reminders(), &cal, d("2026-04-07"));
        // Nothing taken, and it is already the 9th: the first overdue rung.
        assert_eq!(due_step(&steps, 0, d("2026-04-09")), Some(2));
        assert_eq!(due_step(&steps, 3, d("2026-04-09")), None);
        assert_eq!(due_step(&steps, 0, d("2026-03-31")), None);
        // A deadline planned on the 1st starts at the first step, due now.
        assert_eq!(
            schedule(&steps, d("2026-04-01")),
            (0, Some(d("2026-04-01")))
        );
        // One planned after it ran out starts at the latest passed step.
        assert_eq!(
            schedule(&steps, d("2026-04-20")),
            (3, Some(d("2026-04-14")))
        );
        assert_eq!(after(&steps, 3), (4, None));
    }

    #[test]
    fn statutory_clocks_run_from_the_request_date_in_weeks() {
        let cal = Calendar::embedded(Division::EnglandAndWales);
        let policy = crate::config::Config::parse(
            "postroom.toml",
            "[council]\nname = \"X\"\nmailbox = \"mp@x.gov.uk\"\n[delivery]\ntransport = \"file\"\npath = \"o\"\n",
            std::path::Path::new("/"),
        )
        .unwrap()
        .policy;
        let facts = Facts {
            policy: None,
            category: Some(Category::Send),
            send_topic: Some(SendTopic::EhcNeedsAssessment),
            urgent: false,
            acknowledge: true,
            received_at: "2026-03-06T10:00:00Z".parse().unwrap(),
            request_date: Some(d("2026-01-12")),
        };
        let (targets, planned) = plan(&policy, &cal, &facts);
        assert_eq!(targets.respond_days, 10);
        let dues: Vec<(Kind, NaiveDate)> = planned.iter().map(|p| (p.kind, p.due_on)).collect();
        assert_eq!(
            dues,
            vec![
                (Kind::Acknowledge, d("2026-03-06")),
                (Kind::Respond, d("2026-03-20")),
                (Kind::Statutory, d("2026-02-23")),
                (Kind::Statutory, d("2026-06-01")),
            ]
        );
        assert!(planned[2].name.contains("reg 5(1)"));
        // No request date stated: no statutory clock.
        let (_, planned) = plan(
            &policy,
            &cal,
            &Facts {
                request_date: None,
                ..facts
            },
        );
        assert_eq!(planned.len(), 2);
    }

    #[test]
    fn states_read_as_people_say_them() {
        let cal = Calendar::embedded(Division::EnglandAndWales);
        assert_eq!(
            state(&cal, d("2026-04-07"), d("2026-04-02")).0,
            "due tomorrow (1 working day)"
        );
        assert_eq!(state(&cal, d("2026-04-07"), d("2026-04-07")).0, "due today");
        assert_eq!(
            state(&cal, d("2026-04-07"), d("2026-04-09")).0,
            "overdue by 2 working days"
        );
        assert_eq!(
            state(&cal, d("2026-04-14"), d("2026-04-08")).0,
            "due in 4 working days"
        );
    }
}
