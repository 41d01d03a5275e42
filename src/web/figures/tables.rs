//! The figures page's tables: each a caption, a header and rows, with the
//! list of the cases behind each count of a row; the CSV of a table is its
//! rows.

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

/// Where the page's links to lists start from: the chosen period and
/// service, today and the tenth working day on (the clocks running out).
pub(super) struct Links<'a> {
    pub chosen: &'a Chosen,
    pub today: NaiveDate,
    pub soon: NaiveDate,
}

impl Links<'_> {
    /// A list of cases in `view` (for the live cases now: `open`,
    /// `overdue`, `unassigned`), with the chosen service and `extra`
    /// filters.
    pub(super) fn list(&self, view: &str, extra: &[(&str, &str)]) -> String {
        let mut s = format!("/cases?view={view}&sort=oldest");
        if let Some(service) = self.chosen.service {
            s.push_str(&format!("&service={}", service.as_str()));
        }
        for (k, v) in extra {
            s.push_str(&format!("&{k}={}", query_escape(v)));
        }
        s
    }

    /// The cases received from `from` to `to`, with `extra` filters: what
    /// a count of the period's cases links to.
    pub(super) fn received(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        extra: &[(&str, &str)],
    ) -> String {
        let (from, to) = (from.to_string(), to.to_string());
        let mut all = vec![("from", from.as_str()), ("to", to.as_str())];
        all.extend_from_slice(extra);
        self.list("all", &all)
    }

    /// Received in the whole period, with `extra` filters.
    pub(super) fn period(&self, extra: &[(&str, &str)]) -> String {
        self.received(self.chosen.from, self.chosen.to, extra)
    }

    /// Open at the end of day `last` (received before then, neither
    /// answered nor closed by then), and with `overdue` past the reply
    /// date then too.
    pub(super) fn open_at(&self, last: NaiveDate, overdue: bool) -> String {
        let figure = if overdue {
            "overdue-at-end"
        } else {
            "open-at-end"
        };
        self.list("all", &[("figure", figure), ("end", &last.to_string())])
    }

    /// The cases with statutory clock `name` running out in the next ten
    /// working days, or missed in the period.
    fn clock(&self, name: &str, missed: bool) -> String {
        let c = self.chosen;
        let (figure, from, to) = if missed {
            ("clock-missed", c.from, c.to)
        } else {
            ("clock-soon", c.from.max(self.today), self.soon)
        };
        let (from, to) = (from.to_string(), to.to_string());
        self.list(
            "all",
            &[
                ("figure", figure),
                ("clock", name),
                ("due-from", &from),
                ("due-to", &to),
            ],
        )
    }
}

fn with_first(first: &'static str, mut header: [&'static str; 6]) -> Vec<String> {
    header[0] = first;
    h(&header)
}

/// A link's filters: `key` is `name`, and the figure when there is one.
fn filters<'a>(key: &'a str, name: &'a str, figure: Option<&'a str>) -> Vec<(&'a str, &'a str)> {
    let mut v = vec![(key, name)];
    v.extend(figure.map(|f| ("figure", f)));
    v
}

/// A table's header.
fn h(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

pub(super) fn one(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_string(), |v| format!("{v}"))
}

/// A row of a table: its cells, and beside each the list of the cases
/// behind it (none for a name, a share or a time).
pub(super) struct Row {
    pub cells: Vec<String>,
    pub links: Vec<Option<String>>,
}

impl Row {
    fn new(cells: Vec<String>, links: Vec<Option<String>>) -> Row {
        debug_assert!(links.len() <= cells.len());
        Row { cells, links }
    }
}

/// The page's tables: (key, caption, header, rows). The CSV of a table is
/// the same rows' cells.
pub(super) type Table = (&'static str, String, Vec<String>, Vec<Row>);

// Long: one entry per table of the page, in the order it shows them.
pub(super) fn tables(l: &Links, r: &Report) -> Vec<Table> {
    let c = l.chosen;
    let unit = match r.by {
        By::Month => "Month",
        By::Week => "Week",
    };
    let periods = crate::report::periods(c.from, c.to, r.by);
    let received = |lo: NaiveDate, hi: NaiveDate, figure: Option<&str>| {
        Some(
            l.received(
                lo,
                hi,
                &figure
                    .map(|f| ("figure", f))
                    .into_iter()
                    .collect::<Vec<_>>(),
            ),
        )
    };
    // A row of each period.
    let per_period = |row: &dyn Fn(&crate::report::Figures, &NaiveDate, &NaiveDate) -> Row| {
        r.periods
            .iter()
            .zip(&periods)
            .map(|(p, (_, lo, hi))| row(p, lo, hi))
            .collect::<Vec<_>>()
    };
    let rows = per_period(&|p, lo, hi| {
        Row::new(
            vec![
                p.period.clone(),
                p.received.to_string(),
                p.answered.to_string(),
                p.open_at_end.to_string(),
                p.overdue_at_end.to_string(),
                p.chasers.to_string(),
            ],
            vec![
                None,
                received(*lo, *hi, None),
                received(*lo, *hi, Some("answered")),
                Some(l.open_at(*hi, false)),
                Some(l.open_at(*hi, true)),
                received(*lo, *hi, Some("chased")),
            ],
        )
    });
    let in_time = per_period(&|p, lo, hi| {
        Row::new(
            vec![
                p.period.clone(),
                p.acknowledged_in_time.to_string(),
                one(p.acknowledged_in_time_percent),
                p.answered_in_time.to_string(),
                one(p.answered_in_time_percent),
                one(p.acknowledge_working_days_median),
                one(p.acknowledge_working_days_p90),
                one(p.acknowledge_hours_median),
                one(p.response_working_days_median),
                one(p.response_working_days_p90),
            ],
            vec![
                None,
                received(*lo, *hi, Some("acknowledged-in-time")),
                None,
                received(*lo, *hi, Some("answered-in-time")),
            ],
        )
    });
    let count = |m: &BTreeMap<String, usize>, key: &'static str, label: &dyn Fn(&str) -> String| {
        let mut v: Vec<(&String, &usize)> = m.iter().collect();
        v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        v.into_iter()
            .map(|(k, n)| {
                Row::new(
                    vec![label(k), n.to_string()],
                    vec![None, Some(l.period(&[(key, k)]))],
                )
            })
            .collect::<Vec<_>>()
    };
    let shares =
        |v: &[crate::report::now::Share], key: &'static str, label: &dyn Fn(&str) -> String| {
            v.iter()
                .map(|s| {
                    let of = |figure: Option<&str>| {
                        (s.name != "(none)").then(|| l.period(&filters(key, &s.name, figure)))
                    };
                    Row::new(
                        s.cells(label(&s.name), "–"),
                        vec![
                            None,
                            of(None),
                            of(Some("acknowledged-in-time")),
                            of(Some("answered")),
                            of(Some("answered-in-time")),
                        ],
                    )
                })
                .collect::<Vec<_>>()
        };
    let n = &r.now;
    let loads = |v: &[crate::report::now::Load], key: &'static str| {
        v.iter()
            .map(|load| {
                let of = |view: &str, figure: Option<&str>| {
                    (!load.name.starts_with('('))
                        .then(|| l.list(view, &filters(key, &load.name, figure)))
                };
                Row::new(
                    load.cells(),
                    vec![
                        None,
                        of("open", None),
                        of("overdue", None),
                        of("unassigned", None),
                        of("open", Some("paused")),
                    ],
                )
            })
            .collect::<Vec<_>>()
    };
    // Each service's (or topic's) referrals period by period, busiest
    // first, each count opening its cases.
    let by_period = |m: &BTreeMap<String, Vec<usize>>,
                     key: &'static str,
                     label: &dyn Fn(&str) -> String| {
        let mut v: Vec<(&String, &Vec<usize>)> = m.iter().collect();
        v.sort_by_key(|(k, counts)| (std::cmp::Reverse(counts.iter().sum::<usize>()), k.as_str()));
        v.into_iter()
            .map(|(k, counts)| {
                let mut cells = vec![label(k)];
                let mut links = vec![None];
                for (n, (_, lo, hi)) in counts.iter().zip(&periods) {
                    cells.push(n.to_string());
                    links.push(Some(l.received(*lo, *hi, &[(key, k)])));
                }
                Row::new(cells, links)
            })
            .collect::<Vec<_>>()
    };
    let labels: Vec<&str> = periods.iter().map(|(label, _, _)| label.as_str()).collect();
    let across = |first: &str| h(&[&[first][..], &labels[..]].concat());
    let service = |k: &str| Category::parse(k).map_or(k.to_string(), |c| c.label().to_string());
    let topic = |k: &str| SendTopic::parse(k).map_or(k.to_string(), crate::web::list::topic_label);
    let same = |k: &str| k.to_string();
    vec![
        (
            "periods",
            format!("Referrals by {}", unit.to_lowercase()),
            h(&[
                unit,
                "Received",
                "Answered",
                "Open at the end",
                "Overdue at the end",
                "Chasers",
            ]),
            rows,
        ),
        (
            "in-target",
            format!("In target and time taken by {}", unit.to_lowercase()),
            h(&[
                unit,
                "Acknowledged by the target date",
                "Acknowledged in target (%)",
                "Answered by the reply date",
                "Answered in target (%)",
                "Working days to acknowledge (median)",
                "Working days to acknowledge (90th percentile)",
                "Hours to acknowledge (median)",
                "Working days to answer (median)",
                "Working days to answer (90th percentile)",
            ]),
            in_time,
        ),
        (
            "services-by-period",
            format!("Referrals by service and {}", unit.to_lowercase()),
            across("Service"),
            by_period(&r.per_period_by_category, "service", &service),
        ),
        (
            "topics-by-period",
            format!("SEND referrals by topic and {}", unit.to_lowercase()),
            across("SEND topic"),
            by_period(&r.per_period_by_send_topic, "topic", &topic),
        ),
        (
            "services",
            "Referrals by service".into(),
            h(&["Service", "Received"]),
            count(&r.by_category, "service", &service),
        ),
        (
            "topics",
            "SEND referrals by topic".into(),
            h(&["SEND topic", "Received"]),
            count(&r.by_send_topic, "topic", &topic),
        ),
        (
            "mps",
            "Referrals by MP".into(),
            h(&["MP", "Received"]),
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
            h(&["MP", "Cases", "Chasers", "Chasers a case"]),
            r.chasers_by_mp
                .iter()
                .map(|m| {
                    let of = |figure: Option<&str>| {
                        (!m.mp.starts_with('(')).then(|| l.period(&filters("mp", &m.mp, figure)))
                    };
                    Row::new(m.cells("–"), vec![None, of(None), of(Some("chased"))])
                })
                .collect(),
        ),
        (
            "teams-now",
            "Open now by team".into(),
            h(&["Team", "Open", "Overdue", "Unassigned", "Paused"]),
            loads(&n.by_team, "team"),
        ),
        (
            "caseworkers-now",
            "Open now by caseworker".into(),
            h(&["Caseworker", "Open", "Overdue", "Unassigned", "Paused"]),
            loads(&n.by_caseworker, "assignee"),
        ),
        (
            "waiting-now",
            "Where open cases wait".into(),
            h(&[
                "Waiting",
                "Cases",
                "Days since they arrived (median)",
                "Oldest (days)",
            ]),
            n.waiting
                .iter()
                .map(|w| {
                    let figure = match w.state.as_str() {
                        "unassigned" => Some("waiting-unassigned"),
                        "with the service" => Some("waiting-service"),
                        "paused" => Some("paused"),
                        _ => None,
                    };
                    let link = figure.map(|f| l.list("open", &[("figure", f)]));
                    Row::new(w.cells("–"), vec![None, link])
                })
                .collect(),
        ),
        (
            "paused-now",
            "Paused now, and why".into(),
            h(&["Reason", "Cases"]),
            n.paused_why
                .iter()
                .map(|(why, k)| {
                    let (name, link) = if why.is_empty() {
                        (
                            "(none given)".to_string(),
                            l.list("open", &[("figure", "paused-no-reason")]),
                        )
                    } else {
                        (
                            why.clone(),
                            l.list("open", &[("figure", "paused"), ("reason", why)]),
                        )
                    };
                    Row::new(vec![name, k.to_string()], vec![None, Some(link)])
                })
                .collect(),
        ),
        (
            "clocks",
            "Statutory SEND clocks".into(),
            h(&[
                "Clock",
                "Running out in the next 10 working days",
                "Missed in the period",
            ]),
            n.clocks
                .iter()
                .map(|k| {
                    Row::new(
                        k.cells(),
                        vec![
                            None,
                            Some(l.clock(&k.clock, false)),
                            Some(l.clock(&k.clock, true)),
                        ],
                    )
                })
                .collect(),
        ),
    ]
}
