//! The figures page's tables: each a caption, a header and rows, with the
//! list of the cases behind a row's count; the CSV of a table is its rows.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::range::Chosen;
use crate::case::{Category, SendTopic};
use crate::report::{By, Report};
use crate::web::views::query_escape;

const IN_TARGET: [&str; 6] = [
    "",
    "Received",
    "Acknowledged by the target date",
    "Answered",
    "Answered by the reply date",
    "In target (%)",
];

/// The list of the cases received from `from` to `to`, with `extra`
/// filters: what a count of cases links to.
pub(super) fn cases_link(
    c: &Chosen,
    from: NaiveDate,
    to: NaiveDate,
    extra: &[(&str, &str)],
) -> String {
    let mut s = format!("/cases?view=all&sort=oldest&from={from}&to={to}");
    if let Some(service) = c.service {
        s.push_str(&format!("&service={}", service.as_str()));
    }
    for (k, v) in extra {
        s.push_str(&format!("&{k}={}", query_escape(v)));
    }
    s
}

fn with_first(first: &'static str, mut header: [&'static str; 6]) -> Vec<&'static str> {
    header[0] = first;
    header.to_vec()
}

pub(super) fn one(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_string(), |v| format!("{v}"))
}

/// The page's tables: (key, caption, header, rows of (cells, link of the
/// count of cases)). The CSV of a table is the same rows.
pub(super) type Table = (
    &'static str,
    String,
    Vec<&'static str>,
    Vec<(Vec<String>, Option<String>)>,
);

// Long: one entry per table of the page, in the order it shows them.
pub(super) fn tables(c: &Chosen, r: &Report) -> Vec<Table> {
    let unit = match r.by {
        By::Month => "Month",
        By::Week => "Week",
    };
    let periods = crate::report::periods(c.from, c.to, r.by);
    let rows = r
        .periods
        .iter()
        .zip(&periods)
        .map(|(p, (_, lo, hi))| {
            (
                vec![
                    p.period.clone(),
                    p.received.to_string(),
                    p.answered.to_string(),
                    p.answered_in_time.to_string(),
                    one(p.answered_in_time_percent),
                    one(p.response_working_days_median),
                    one(p.response_working_days_p90),
                    one(p.acknowledge_hours_median),
                    p.open_at_end.to_string(),
                    p.overdue_at_end.to_string(),
                    p.chasers.to_string(),
                ],
                Some(cases_link(c, *lo, *hi, &[])),
            )
        })
        .collect();
    let count = |m: &BTreeMap<String, usize>, key: &'static str, label: &dyn Fn(&str) -> String| {
        let mut v: Vec<(&String, &usize)> = m.iter().collect();
        v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        v.into_iter()
            .map(|(k, n)| {
                (
                    vec![label(k), n.to_string()],
                    Some(cases_link(c, c.from, c.to, &[(key, k)])),
                )
            })
            .collect::<Vec<_>>()
    };
    let live = |extra: &[(&str, &str)]| {
        let mut s = "/cases?view=open&sort=oldest".to_string();
        if let Some(service) = c.service {
            s.push_str(&format!("&service={}", service.as_str()));
        }
        for (k, v) in extra {
            s.push_str(&format!("&{k}={}", query_escape(v)));
        }
        s
    };
    let shares = |v: &[crate::report::now::Share],
                  key: &'static str,
                  label: &dyn Fn(&str) -> String| {
        v.iter()
            .map(|s| {
                (
                    s.cells(label(&s.name), "–"),
                    (s.name != "(none)").then(|| cases_link(c, c.from, c.to, &[(key, &s.name)])),
                )
            })
            .collect::<Vec<_>>()
    };
    let n = &r.now;
    let loads = |v: &[crate::report::now::Load], key: &'static str| {
        v.iter()
            .map(|l| {
                (
                    l.cells(),
                    (!l.name.starts_with('(')).then(|| live(&[(key, &l.name)])),
                )
            })
            .collect::<Vec<_>>()
    };
    let service = |k: &str| Category::parse(k).map_or(k.to_string(), |c| c.label().to_string());
    let topic = |k: &str| SendTopic::parse(k).map_or(k.to_string(), crate::web::list::topic_label);
    let same = |k: &str| k.to_string();
    vec![
        (
            "periods",
            format!("Referrals by {}", unit.to_lowercase()),
            vec![
                unit,
                "Received",
                "Answered",
                "Answered by the reply date",
                "In target (%)",
                "Working days to answer (median)",
                "Working days to answer (90th percentile)",
                "Hours to acknowledge (median)",
                "Open at the end",
                "Overdue at the end",
                "Chasers",
            ],
            rows,
        ),
        (
            "services",
            "Referrals by service".into(),
            vec!["Service", "Received"],
            count(&r.by_category, "service", &service),
        ),
        (
            "topics",
            "SEND referrals by topic".into(),
            vec!["SEND topic", "Received"],
            count(&r.by_send_topic, "topic", &topic),
        ),
        (
            "mps",
            "Referrals by MP".into(),
            vec!["MP", "Received"],
            count(&r.by_mp, "mp", &same),
        ),
        (
            "in-target-services",
            "In target by service".into(),
            with_first("Service", IN_TARGET),
            shares(&r.in_target_by_service, "service", &service),
        ),
        (
            "in-target-teams",
            "In target by team".into(),
            with_first("Team", IN_TARGET),
            shares(&r.in_target_by_team, "team", &same),
        ),
        (
            "chasers",
            "Chasers by MP office".into(),
            vec!["MP", "Cases", "Chasers", "Chasers a case"],
            r.chasers_by_mp
                .iter()
                .map(|m| {
                    (
                        m.cells("–"),
                        (!m.mp.starts_with('('))
                            .then(|| cases_link(c, c.from, c.to, &[("mp", &m.mp)])),
                    )
                })
                .collect(),
        ),
        (
            "teams-now",
            "Open now by team".into(),
            vec!["Team", "Open", "Overdue", "Unassigned", "Paused"],
            loads(&n.by_team, "team"),
        ),
        (
            "caseworkers-now",
            "Open now by caseworker".into(),
            vec!["Caseworker", "Open", "Overdue", "Unassigned", "Paused"],
            loads(&n.by_caseworker, "assignee"),
        ),
        (
            "waiting-now",
            "Where open cases wait".into(),
            vec![
                "Waiting",
                "Cases",
                "Days since they arrived (median)",
                "Oldest (days)",
            ],
            n.waiting
                .iter()
                .map(|w| {
                    let href = match w.state.as_str() {
                        "unassigned" => Some("/cases?view=unassigned&sort=oldest".to_string()),
                        _ => None,
                    };
                    (w.cells("–"), href)
                })
                .collect(),
        ),
        (
            "paused-now",
            "Paused now, and why".into(),
            vec!["Reason", "Cases"],
            n.paused_why
                .iter()
                .map(|(why, k)| {
                    (
                        vec![
                            if why.is_empty() {
                                "(none given)".to_string()
                            } else {
                                why.clone()
                            },
                            k.to_string(),
                        ],
                        None,
                    )
                })
                .collect(),
        ),
        (
            "clocks",
            "Statutory SEND clocks".into(),
            vec![
                "Clock",
                "Running out in the next 10 working days",
                "Missed in the period",
            ],
            n.clocks.iter().map(|k| (k.cells(), None)).collect(),
        ),
    ]
}
