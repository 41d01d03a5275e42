//! Who gets the cases and when: teams and how they share cases, the
//! deadline policy and statutory milestones, reminders and digests.

use chrono::NaiveTime;
use toml::Spanned;

use super::check::Checker;
use super::raw::*;
use super::*;
use crate::calendar::Division;

pub(super) fn check_teams(c: &mut Checker<'_>, raw: Vec<Spanned<RawTeam>>) -> Vec<Team> {
    let mut teams: Vec<Team> = Vec::new();
    for spanned in raw {
        let span = spanned.span();
        let t = spanned.into_inner();
        if t.name.trim().is_empty() {
            c.error_at(span.clone(), "a team needs a name");
        }
        if teams.iter().any(|o| o.name == t.name) {
            c.error_at(span.clone(), format!("two teams are named {:?}", t.name));
        }
        let mut categories = Vec::new();
        for cat in &t.categories {
            match crate::case::Category::parse(cat) {
                Some(category) => {
                    if let Some(other) = teams.iter().find(|o| o.categories.contains(&category)) {
                        c.error_at(
                            span.clone(),
                            format!("category {cat:?} is already the team {:?}'s", other.name),
                        );
                    }
                    categories.push(category);
                }
                None => c.error_at(
                    span.clone(),
                    format!(
                        "category {cat:?} is not one of {}",
                        crate::case::Category::names()
                    ),
                ),
            }
        }
        if t.default && teams.iter().any(|o| o.default) {
            c.error_at(span.clone(), "only one team can be the default");
        }
        for address in t.members.iter().chain(&t.manager) {
            if address.parse::<lettre::Address>().is_err() {
                c.error_at(span.clone(), format!("{address:?} is not an email address"));
            }
        }
        let assign = match t.assign.as_deref() {
            None | Some("round_robin") => Assign::RoundRobin,
            Some("caseload") => Assign::Caseload,
            Some(other) => {
                c.error_at(
                    span.clone(),
                    format!("assign = {other:?} is not one of round_robin, caseload"),
                );
                Assign::RoundRobin
            }
        };
        teams.push(Team {
            name: t.name,
            categories,
            default: t.default,
            manager: t.manager.map(|m| m.to_lowercase()),
            members: t.members.into_iter().map(|m| m.to_lowercase()).collect(),
            assign,
        });
    }
    teams
}

/// England's statutory SEND clocks (SEND Regulations 2014), used when a
/// council in England lists none of its own.
fn english_milestones() -> Vec<Milestone> {
    use crate::case::SendTopic;
    vec![
        Milestone {
            name: "Decision on the EHC needs assessment request".into(),
            regulation: Some("SEND Regulations 2014, reg 5(1)".into()),
            weeks: 6,
            send_topics: vec![SendTopic::EhcNeedsAssessment],
        },
        Milestone {
            name: "Final EHC plan issued".into(),
            regulation: Some("SEND Regulations 2014, reg 13(2)".into()),
            weeks: 20,
            send_topics: vec![
                SendTopic::EhcNeedsAssessment,
                SendTopic::EhcpIssueOrAmendment,
            ],
        },
    ]
}

fn categories(
    c: &mut Checker<'_>,
    names: &[String],
    span: &std::ops::Range<usize>,
) -> Vec<crate::case::Category> {
    use crate::case::Category;
    parse_names(c, names, span, "category", Category::parse, Category::names)
}

fn send_topics(
    c: &mut Checker<'_>,
    names: &[String],
    span: &std::ops::Range<usize>,
) -> Vec<crate::case::SendTopic> {
    use crate::case::SendTopic;
    parse_names(
        c,
        names,
        span,
        "SEND topic",
        SendTopic::parse,
        SendTopic::names,
    )
}

/// Each of `names` parsed; an unknown one is an error at `span` that lists
/// the known ones.
fn parse_names<T>(
    c: &mut Checker<'_>,
    names: &[String],
    span: &std::ops::Range<usize>,
    what: &str,
    parse: fn(&str) -> Option<T>,
    known: fn() -> String,
) -> Vec<T> {
    names
        .iter()
        .filter_map(|n| {
            let parsed = parse(n);
            if parsed.is_none() {
                c.error_at(
                    span.clone(),
                    format!("{what} {n:?} is not one of {}", known()),
                );
            }
            parsed
        })
        .collect()
}

pub(super) fn check_policy(c: &mut Checker<'_>, raw: RawPolicy, division: Division) -> Policy {
    let mut rules: Vec<PolicyRule> = Vec::new();
    for r in raw.rule {
        let span = r.span();
        let r = r.into_inner();
        if rules.iter().any(|o| o.name == r.name) {
            c.error_at(
                span.clone(),
                format!("two policy rules are called {:?}", r.name),
            );
        }
        rules.push(PolicyRule {
            categories: categories(c, &r.categories, &span),
            send_topics: send_topics(c, &r.send_topics, &span),
            name: r.name,
            urgent: r.urgent,
            acknowledge_days: r.acknowledge_days,
            respond_days: r.respond_days,
            urgent_respond_days: r.urgent_respond_days,
        });
    }
    let milestones = match raw.milestone {
        None if division == Division::EnglandAndWales => english_milestones(),
        None => Vec::new(),
        Some(list) => list
            .into_iter()
            .map(|m| {
                let span = m.span();
                let m = m.into_inner();
                if m.weeks == 0 {
                    c.error_at(span.clone(), "a milestone needs weeks of 1 or more");
                }
                if m.send_topics.is_empty() {
                    c.error_at(
                        span.clone(),
                        "a milestone needs the send_topics it applies to",
                    );
                }
                Milestone {
                    send_topics: send_topics(c, &m.send_topics, &span),
                    name: m.name,
                    regulation: m.regulation,
                    weeks: m.weeks,
                }
            })
            .collect(),
    };
    Policy {
        acknowledge_days: raw.acknowledge_days,
        respond_days: raw.respond_days,
        urgent_respond_days: raw.urgent_respond_days,
        rules,
        milestones,
    }
}

fn recipient(c: &mut Checker<'_>, s: &str, span: &std::ops::Range<usize>) -> Recipient {
    match s {
        "caseworker" => Recipient::Caseworker,
        "manager" => Recipient::Manager,
        address => {
            if address.parse::<lettre::Address>().is_err() {
                c.error_at(
                    span.clone(),
                    format!("{address:?} is not caseworker, manager or an email address"),
                );
            }
            Recipient::Address(address.to_string())
        }
    }
}

pub(super) fn check_reminders(c: &mut Checker<'_>, raw: RawReminders) -> Reminders {
    let hours_span = raw.hours.span();
    let hours = match raw.hours.get_ref().split_once('-').and_then(|(a, b)| {
        Some((
            NaiveTime::parse_from_str(a.trim(), "%H:%M").ok()?,
            NaiveTime::parse_from_str(b.trim(), "%H:%M").ok()?,
        ))
    }) {
        Some((a, b)) if a < b => (a, b),
        _ => {
            c.error_at(
                hours_span,
                format!(
                    "reminders.hours {:?} is not a window such as \"09:00-17:00\"",
                    raw.hours.get_ref()
                ),
            );
            (NaiveTime::MIN, NaiveTime::MIN)
        }
    };
    let overdue = match raw.overdue {
        None => vec![
            Escalation {
                after: 1,
                to: vec![Recipient::Caseworker, Recipient::Manager],
            },
            Escalation {
                after: 5,
                to: vec![Recipient::Caseworker, Recipient::Manager],
            },
        ],
        Some(list) => {
            let mut out: Vec<Escalation> = Vec::new();
            for e in list {
                let span = e.span();
                let e = e.into_inner();
                if e.after == 0 {
                    c.error_at(
                        span.clone(),
                        "overdue.after counts working days after the due date, from 1",
                    );
                }
                if out.last().is_some_and(|l| l.after >= e.after) {
                    c.error_at(span.clone(), "overdue rungs must come in order of `after`");
                }
                if e.to.is_empty() {
                    c.error_at(span.clone(), "an overdue rung needs someone in `to`");
                }
                let to = e.to.iter().map(|t| recipient(c, t, &span)).collect();
                out.push(Escalation { after: e.after, to });
            }
            out
        }
    };
    let mut before = raw.before;
    before.sort_unstable_by(|a, b| b.cmp(a));
    before.dedup();
    before.retain(|d| *d > 0);
    Reminders {
        before,
        on_the_day: raw.on_the_day,
        overdue,
        hours,
    }
}

/// Digests go out inside the working-hours window (`reminders.hours`) like
/// reminders, so their times must fall inside it.
pub(super) fn check_digests(
    c: &mut Checker<'_>,
    raw: RawDigests,
    hours: (NaiveTime, NaiveTime),
) -> Digests {
    let time = |s: &str| NaiveTime::parse_from_str(s.trim(), "%H:%M").ok();
    let outside = |t: NaiveTime| t < hours.0 || t >= hours.1;
    let window = format!("{}-{}", hours.0.format("%H:%M"), hours.1.format("%H:%M"));
    let daily = match raw.daily.get_ref().trim() {
        "" => None,
        s => match time(s) {
            Some(t) => Some(t),
            None => {
                c.error_at(
                    raw.daily.span(),
                    format!(
                        "digests.daily {s:?} is not a time such as \"08:30\" (or \"\" for none)"
                    ),
                );
                None
            }
        },
    };
    let weekly = match raw.weekly.get_ref().trim() {
        "" => None,
        s => match s
            .split_once(' ')
            .and_then(|(d, t)| Some((d.parse::<chrono::Weekday>().ok()?, time(t)?)))
        {
            Some(w) => Some(w),
            None => {
                c.error_at(
                    raw.weekly.span(),
                    format!("digests.weekly {s:?} is not a day and time such as \"monday 08:30\" (or \"\" for none)"),
                );
                None
            }
        },
    };
    if let Some(t) = daily.filter(|t| outside(*t)) {
        c.error_at(
            raw.daily.span(),
            format!(
                "digests.daily {} is outside the working hours reminders.hours = {window:?}; digests go out only inside them",
                t.format("%H:%M")
            ),
        );
    }
    if let Some((_, t)) = weekly.filter(|(_, t)| outside(*t)) {
        c.error_at(
            raw.weekly.span(),
            format!(
                "digests.weekly at {} is outside the working hours reminders.hours = {window:?}; digests go out only inside them",
                t.format("%H:%M")
            ),
        );
    }
    Digests {
        daily,
        weekly,
        due_within_days: raw.due_within_days.max(1),
    }
}
