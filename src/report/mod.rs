//! `postroom report`: the figures a council needs to find its bottlenecks.
//! Referrals received (by MP, constituency, category, SEND topic and
//! period), how fast they were acknowledged and answered (median and 90th
//! percentile), the share answered within target, what was open and
//! overdue at the end of the period, chasers per case, and a least-squares
//! trend of referrals per period as a change per year in percent. Pure:
//! [`build`] takes the cases and returns the figures.

pub mod accuracy;
mod chart;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::Serialize;

use crate::calendar::Calendar;
use crate::store::cases::CaseRow;

/// How periods are cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum By {
    Month,
    Week,
}

/// The figures for one period (or the whole range).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Figures {
    /// "2026-11" or "2026-W48" (or "all").
    pub period: String,
    pub received: usize,
    pub from_mp_offices: usize,
    pub acknowledged: usize,
    /// Hours from receipt to acknowledgement.
    pub acknowledge_hours_median: Option<f64>,
    pub acknowledge_hours_p90: Option<f64>,
    pub answered: usize,
    /// Working days from receipt to the answer.
    pub response_working_days_median: Option<f64>,
    pub response_working_days_p90: Option<f64>,
    /// Answered on or before the reply date, of those answered.
    pub answered_in_time: usize,
    pub answered_in_time_percent: Option<f64>,
    /// At the period's end: received, not yet answered or closed.
    pub open_at_end: usize,
    /// ... and past their reply date.
    pub overdue_at_end: usize,
    pub chasers: usize,
    pub chasers_per_case: Option<f64>,
}

/// A least-squares line through referrals per period.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Trend {
    /// Referrals per period, fitted: at the first period and per period on.
    pub intercept: f64,
    pub slope_per_period: f64,
    /// The slope over a year, as a percentage of the mean per period.
    pub change_per_year_percent: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub by: By,
    pub total: Figures,
    pub periods: Vec<Figures>,
    /// Referrals received per calendar year within the range.
    pub per_year: BTreeMap<i32, usize>,
    pub by_mp: BTreeMap<String, usize>,
    pub by_constituency: BTreeMap<String, usize>,
    pub by_category: BTreeMap<String, usize>,
    pub by_send_topic: BTreeMap<String, usize>,
    pub trend: Option<Trend>,
}

struct Case<'a> {
    row: &'a CaseRow,
    received: DateTime<Utc>,
    received_on: NaiveDate,
    acknowledged: Option<DateTime<Utc>>,
    answered: Option<DateTime<Utc>>,
    closed: Option<DateTime<Utc>>,
    due: Option<NaiveDate>,
}

/// The report for cases received from `from` to `to` (inclusive, local
/// dates). `chasers` counts chaser messages per case id. Automatic mail and
/// junk never open cases, so every case is a referral.
pub fn build(
    rows: &[CaseRow],
    chasers: &HashMap<i64, usize>,
    calendar: &Calendar,
    from: NaiveDate,
    to: NaiveDate,
    by: By,
) -> anyhow::Result<Report> {
    let mut cases = Vec::with_capacity(rows.len());
    for row in rows {
        let received = row.received_at;
        cases.push(Case {
            row,
            received,
            received_on: calendar.local_date(received),
            acknowledged: row.acknowledged_at,
            answered: row.answered_at,
            closed: row.closed_at,
            due: row.response_due,
        });
    }

    let mut periods = Vec::new();
    let mut start = period_start(from, by);
    while start <= to {
        let next = period_after(start, by);
        let (lo, hi) = (start.max(from), (next - Duration::days(1)).min(to));
        periods.push(figures(
            &label(start, by),
            &cases,
            chasers,
            calendar,
            lo,
            hi,
        ));
        start = next;
    }
    let total = figures("all", &cases, chasers, calendar, from, to);

    let in_range: Vec<&Case> = cases
        .iter()
        .filter(|c| c.received_on >= from && c.received_on <= to)
        .collect();
    let count = |key: &dyn Fn(&CaseRow) -> Option<String>| {
        let mut m = BTreeMap::new();
        for c in &in_range {
            if let Some(k) = key(c.row) {
                *m.entry(k).or_insert(0) += 1;
            }
        }
        m
    };
    let mut per_year = BTreeMap::new();
    for c in &in_range {
        *per_year.entry(c.received_on.year()).or_insert(0) += 1;
    }
    let received: Vec<f64> = periods.iter().map(|p| p.received as f64).collect();
    let per_year_periods = match by {
        By::Month => 12.0,
        By::Week => 365.25 / 7.0,
    };
    Ok(Report {
        from,
        to,
        by,
        total,
        periods,
        per_year,
        by_mp: count(&|r| r.mp_name.clone()),
        by_constituency: count(&|r| r.constituency.clone()),
        by_category: count(&|r| r.category.map(|c| c.to_string())),
        by_send_topic: count(&|r| r.send_topic.map(|t| t.to_string())),
        trend: trend(&received, per_year_periods),
    })
}

fn figures(
    name: &str,
    cases: &[Case<'_>],
    chasers: &HashMap<i64, usize>,
    calendar: &Calendar,
    from: NaiveDate,
    to: NaiveDate,
) -> Figures {
    let mut f = Figures {
        period: name.to_string(),
        ..Figures::default()
    };
    let mut ack_hours = Vec::new();
    let mut response_days = Vec::new();
    for c in cases {
        let answered_on = c.answered.map(|t| calendar.local_date(t));
        let closed_on = c.closed.map(|t| calendar.local_date(t));
        // Open at the end: received by then, neither answered nor closed by
        // then.
        if c.received_on <= to
            && answered_on.is_none_or(|d| d > to)
            && closed_on.is_none_or(|d| d > to)
        {
            f.open_at_end += 1;
            if c.due.is_some_and(|d| d < to) {
                f.overdue_at_end += 1;
            }
        }
        if c.received_on < from || c.received_on > to {
            continue;
        }
        f.received += 1;
        if c.row.from_mp_office {
            f.from_mp_offices += 1;
        }
        f.chasers += chasers.get(&c.row.id).copied().unwrap_or(0);
        if let Some(at) = c.acknowledged {
            f.acknowledged += 1;
            ack_hours.push(((at - c.received).num_seconds().max(0) as f64) / 3600.0);
        }
        if let Some(on) = answered_on {
            f.answered += 1;
            response_days.push(calendar.working_days_between(c.received_on, on).max(0) as f64);
            if c.due.is_some_and(|d| on <= d) {
                f.answered_in_time += 1;
            }
        }
    }
    f.acknowledge_hours_median = percentile(&mut ack_hours, 50.0);
    f.acknowledge_hours_p90 = percentile(&mut ack_hours, 90.0);
    f.response_working_days_median = percentile(&mut response_days, 50.0);
    f.response_working_days_p90 = percentile(&mut response_days, 90.0);
    f.answered_in_time_percent =
        (f.answered > 0).then(|| round1(100.0 * f.answered_in_time as f64 / f.answered as f64));
    f.chasers_per_case = (f.received > 0).then(|| round1(f.chasers as f64 / f.received as f64));
    f
}

/// The `p`th percentile by the nearest-rank method, rounded to 0.1.
pub fn percentile(values: &mut [f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * values.len() as f64).ceil().max(1.0) as usize;
    Some(round1(values[rank.min(values.len()) - 1]))
}

/// Least squares through `ys` at x = 0, 1, 2, ...; `None` under 3 points
/// or with no referrals at all.
pub fn trend(ys: &[f64], periods_per_year: f64) -> Option<Trend> {
    let n = ys.len() as f64;
    let mean_y = ys.iter().sum::<f64>() / n.max(1.0);
    if ys.len() < 3 || mean_y <= 0.0 {
        return None;
    }
    let mean_x = (n - 1.0) / 2.0;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (i, y) in ys.iter().enumerate() {
        let dx = i as f64 - mean_x;
        sxy += dx * (y - mean_y);
        sxx += dx * dx;
    }
    let slope = sxy / sxx;
    Some(Trend {
        intercept: round1(mean_y - slope * mean_x),
        slope_per_period: (slope * 1000.0).round() / 1000.0,
        change_per_year_percent: round1(100.0 * slope * periods_per_year / mean_y),
    })
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

fn period_start(d: NaiveDate, by: By) -> NaiveDate {
    match by {
        By::Month => d.with_day(1).unwrap_or(d),
        By::Week => d - Duration::days(i64::from(d.weekday().num_days_from_monday())),
    }
}

fn period_after(start: NaiveDate, by: By) -> NaiveDate {
    match by {
        By::Month => {
            let (y, m) = if start.month() == 12 {
                (start.year() + 1, 1)
            } else {
                (start.year(), start.month() + 1)
            };
            NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(start + Duration::days(31))
        }
        By::Week => start + Duration::days(7),
    }
}

fn label(start: NaiveDate, by: By) -> String {
    match by {
        By::Month => start.format("%Y-%m").to_string(),
        By::Week => {
            let w = start.iso_week();
            format!("{}-W{:02}", w.year(), w.week())
        }
    }
}

/// The report's chart: referrals received and answered per period, with
/// the trend line.
pub fn chart(report: &Report) -> String {
    use crate::report::chart::{Series, bars_with_line};
    let labels: Vec<String> = report.periods.iter().map(|p| p.period.clone()).collect();
    let line = report.trend.as_ref().map(|t| Series {
        name: "trend",
        colour: "#d4351c",
        values: (0..labels.len())
            .map(|i| t.intercept + t.slope_per_period * i as f64)
            .collect(),
    });
    bars_with_line(
        &format!(
            "MP referrals per {}",
            match report.by {
                By::Month => "month",
                By::Week => "week",
            }
        ),
        &labels,
        &[
            Series {
                name: "received",
                colour: "#1d70b8",
                values: report.periods.iter().map(|p| p.received as f64).collect(),
            },
            Series {
                name: "answered",
                colour: "#00703c",
                values: report.periods.iter().map(|p| p.answered as f64).collect(),
            },
        ],
        line.as_ref(),
        760,
        300,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_straight_line_is_fitted_exactly() {
        let t = trend(&[10.0, 12.0, 14.0, 16.0], 12.0).unwrap();
        assert_eq!(t.intercept, 10.0);
        assert_eq!(t.slope_per_period, 2.0);
        // 2 a month is 24 a year, against a mean of 13 a month.
        assert_eq!(t.change_per_year_percent, round1(100.0 * 24.0 / 13.0));
        let flat = trend(&[5.0, 5.0, 5.0], 12.0).unwrap();
        assert_eq!(flat.change_per_year_percent, 0.0);
        assert!(trend(&[1.0, 2.0], 12.0).is_none());
        assert!(trend(&[0.0, 0.0, 0.0], 12.0).is_none());
    }

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let mut v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&mut v, 50.0), Some(5.0));
        assert_eq!(percentile(&mut v, 90.0), Some(9.0));
        assert_eq!(percentile(&mut [7.0], 90.0), Some(7.0));
        assert_eq!(percentile(&mut [], 50.0), None);
    }

    fn case(id: i64, received: &str, answered: Option<&str>, due: &str, mp: &str) -> CaseRow {
        let at = |s: &str| crate::store::parse_ts(s).unwrap();
        CaseRow {
            id,
            reference: format!("MPE-X-{id}"),
            status: if answered.is_some() {
                crate::case::Status::Answered
            } else {
                crate::case::Status::Open
            },
            kind: crate::case::Kind::NewEnquiry,
            triage_reason: None,
            category: Some(crate::case::Category::Send),
            send_topic: Some(crate::case::SendTopic::EhcNeedsAssessment),
            urgent: false,
            from_mp_office: true,
            mp_name: Some(mp.into()),
            constituency: Some(format!("{mp} North")),
            mp_reference: None,
            correspondent: "office@parliament.uk".into(),
            subject: "s".into(),
            team: None,
            assignee: None,
            received_at: at(&format!("{received}T10:00:00.000Z")),
            acknowledge_due: None,
            response_due: Some(crate::store::parse_date(due).unwrap()),
            acknowledged_at: Some(at(&format!("{received}T10:30:00.000Z"))),
            answered_at: answered.map(|a| at(&format!("{a}T12:00:00.000Z"))),
            closed_at: None,
            paused_at: None,
            pause_reason: None,
            policy: None,
            created_at: at(&format!("{received}T10:00:00.000Z")),
        }
    }

    #[test]
    fn a_year_on_year_statement_can_be_checked() {
        // 20 referrals in 2020, 13 in 2022: 35% fewer.
        let mut rows = Vec::new();
        for i in 0..20 {
            let received = format!("2020-{:02}-10", 1 + i % 12);
            rows.push(case(
                i,
                &received,
                Some("2020-12-30"),
                "2021-01-05",
                "Ann Able",
            ));
        }
        for i in 20..33 {
            let received = format!("2022-{:02}-10", 1 + i % 12);
            rows.push(case(i, &received, None, "2022-12-20", "Ben Baker"));
        }
        let calendar = Calendar::embedded(crate::calendar::Division::EnglandAndWales);
        let from = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
        let to = NaiveDate::from_ymd_opt(2022, 12, 31).unwrap();
        let chasers = HashMap::from([(20, 2), (21, 1)]);
        let r = build(&rows, &chasers, &calendar, from, to, By::Month).unwrap();
        assert_eq!(r.per_year.get(&2020), Some(&20));
        assert_eq!(r.per_year.get(&2021), None);
        assert_eq!(r.per_year.get(&2022), Some(&13));
        assert_eq!(r.periods.len(), 36);
        assert_eq!(r.total.received, 33);
        assert_eq!(r.total.answered, 20);
        assert_eq!(r.total.answered_in_time, 20);
        assert_eq!(r.total.answered_in_time_percent, Some(100.0));
        assert_eq!(r.total.acknowledge_hours_median, Some(0.5));
        // The 2022 cases are open at the end, and past due (20 December).
        assert_eq!(r.total.open_at_end, 13);
        assert_eq!(r.total.overdue_at_end, 13);
        assert_eq!(r.total.chasers, 3);
        assert_eq!(r.by_mp.get("Ann Able"), Some(&20));
        assert_eq!(r.by_constituency.get("Ben Baker North"), Some(&13));
        let trend = r.trend.clone().expect("36 months make a trend");
        assert!(trend.change_per_year_percent < 0.0, "{trend:?}");
        // At the end of 2020 none of 2022's cases were open yet, and all of
        // 2020's were answered.
        let dec_2020 = r.periods.iter().find(|p| p.period == "2020-12").unwrap();
        assert_eq!(dec_2020.open_at_end, 0);
        let svg = chart(&r);
        assert!(svg.contains("trend") && svg.contains("<polyline"));
    }

    #[test]
    fn periods_cut_months_and_iso_weeks() {
        let d = NaiveDate::from_ymd_opt(2026, 12, 31).unwrap();
        assert_eq!(label(period_start(d, By::Month), By::Month), "2026-12");
        assert_eq!(
            period_after(period_start(d, By::Month), By::Month),
            NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()
        );
        // Thursday 31 December 2026 is in ISO week 53 of 2026.
        assert_eq!(label(period_start(d, By::Week), By::Week), "2026-W53");
    }
}
