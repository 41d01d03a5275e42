//! `postroom report`: the figures a council needs to find its bottlenecks.
//! Referrals received (by MP, constituency, category, SEND topic and
//! period), how fast they were acknowledged and answered (median and 90th
//! percentile), the share answered within target, what was open and
//! overdue at the end of the period, chasers per case, and a least-squares
//! trend of referrals per period as a change per year in percent. Pure:
//! [`build`] takes the cases and returns the figures.

pub mod accuracy;
mod chart;
pub mod now;
mod trend;

pub use trend::{Trend, t_975, trend};

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate};
use serde::Serialize;

use crate::calendar::Calendar;
use crate::store::tallies::{Frame, Tallies};

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
    /// Working days from receipt to acknowledgement, and how many were
    /// acknowledged by their target date.
    pub acknowledge_working_days_median: Option<f64>,
    pub acknowledge_working_days_p90: Option<f64>,
    pub acknowledged_in_time: usize,
    /// Acknowledged by the target date, of those acknowledged.
    pub acknowledged_in_time_percent: Option<f64>,
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
    /// Referrals received in each period (in order), by service and by
    /// SEND topic.
    pub per_period_by_category: BTreeMap<String, Vec<usize>>,
    pub per_period_by_send_topic: BTreeMap<String, Vec<usize>>,
    pub trend: Option<Trend>,
    /// In target by service and by team over the range.
    pub in_target_by_service: Vec<now::Share>,
    pub in_target_by_team: Vec<now::Share>,
    /// Chasers by MP office (a sign of slow replies).
    pub chasers_by_mp: Vec<now::Chased>,
    /// What is open now, and the statutory SEND clocks.
    pub now: now::Now,
}

/// A report's periods: (label, first day, last day), clipped to the range.
pub fn periods(from: NaiveDate, to: NaiveDate, by: By) -> Vec<(String, NaiveDate, NaiveDate)> {
    let mut periods = Vec::new();
    let mut start = period_start(from, by);
    while start <= to {
        let next = period_after(start, by);
        periods.push((
            label(start, by),
            start.max(from),
            (next - Duration::days(1)).min(to),
        ));
        start = next;
    }
    periods
}

/// The frame the store counts a report's cases in: the range's instants,
/// its local days with their working-day ordinals and periods (and days on
/// to `today` and a year past it, where acknowledgements and answers
/// fall), the time zone's changes, and each period's end.
pub fn frame(
    calendar: &Calendar,
    from: NaiveDate,
    to: NaiveDate,
    by: By,
    today: NaiveDate,
    service: Option<crate::case::Category>,
) -> Frame {
    let periods = periods(from, to, by);
    let midnight = |d: NaiveDate| crate::store::ts(calendar.start_of_day(d));
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    let day = |d: NaiveDate| (d - epoch).num_days();
    let horizon = to.max(today) + Duration::days(400);
    let mut days_off = Vec::new();
    let mut d = from;
    while d <= horizon {
        if !matches!(d.weekday(), chrono::Weekday::Sat | chrono::Weekday::Sun)
            && !calendar.is_working_day(d)
        {
            days_off.push(day(d));
        }
        d += Duration::days(1);
    }
    Frame {
        received_from: midnight(from),
        received_before: midnight(to + Duration::days(1)),
        periods: periods
            .iter()
            .map(|(_, lo, hi)| (day(*lo), day(*hi)))
            .collect(),
        weekly: (by == By::Week).then(|| day(period_start(from, By::Week))),
        years: (from.year()..=horizon.year())
            .filter_map(|y| NaiveDate::from_ymd_opt(y, 1, 1).map(|d| (day(d), y)))
            .collect(),
        days_off,
        offsets: calendar.offsets_between(
            calendar.start_of_day(from) - Duration::days(1),
            calendar.start_of_day(horizon) + Duration::days(2),
        ),
        first_end: midnight(periods.first().map_or(to, |p| p.2) + Duration::days(1)),
        service: service.map(|c| c.as_str().to_string()),
        today: today.format("%Y-%m-%d").to_string(),
        soon: calendar
            .add_working_days(today, 10)
            .format("%Y-%m-%d")
            .to_string(),
    }
}

/// The report from the store, for `postroom report` and the managers'
/// dashboard alike: its cases counted in the database, then [`build`].
pub async fn of_store(
    store: &crate::store::Store,
    calendar: &Calendar,
    (from, to): (NaiveDate, NaiveDate),
    by: By,
    today: NaiveDate,
    service: Option<crate::case::Category>,
) -> anyhow::Result<Report> {
    let frame = frame(calendar, from, to, by, today, service);
    let tallies = crate::store::tallies::load(store, &frame).await?;
    Ok(build(&tallies, from, to, by, today))
}

/// The report for cases received from `from` to `to` (inclusive, local
/// dates), from the store's [`Tallies`] counted in [`frame`]'s frame.
/// Automatic mail and junk never open cases, so every case is a referral.
pub fn build(
    tallies: &Tallies,
    from: NaiveDate,
    to: NaiveDate,
    by: By,
    today: NaiveDate,
) -> Report {
    let cut = periods(from, to, by);
    let periods: Vec<Figures> = cut
        .iter()
        .enumerate()
        .map(|(k, (name, _, _))| figures(name, tallies, Some(k), cut.len()))
        .collect();
    let total = figures("all", tallies, None, cut.len());
    let mut per_year = BTreeMap::new();
    let mut by_category = BTreeMap::new();
    let mut by_send_topic = BTreeMap::new();
    for f in &tallies.facts {
        *per_year.entry(f.year).or_insert(0) += f.n;
        if let Some(c) = &f.category {
            *by_category.entry(c.clone()).or_insert(0) += f.n;
        }
        if let Some(t) = &f.send_topic {
            *by_send_topic.entry(t.clone()).or_insert(0) += f.n;
        }
    }
    let mut per_period_by_category: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut per_period_by_send_topic: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for f in tallies.facts.iter().filter(|f| f.period < cut.len()) {
        for (m, key) in [
            (&mut per_period_by_category, &f.category),
            (&mut per_period_by_send_topic, &f.send_topic),
        ] {
            if let Some(k) = key {
                m.entry(k.clone()).or_insert_with(|| vec![0; cut.len()])[f.period] += f.n;
            }
        }
    }
    let mut by_mp = BTreeMap::new();
    let mut by_constituency = BTreeMap::new();
    for f in &tallies.facts {
        if let Some(mp) = &f.mp_name {
            *by_mp.entry(mp.clone()).or_insert(0) += f.n;
        }
        if let Some(c) = &f.constituency {
            *by_constituency.entry(c.clone()).or_insert(0) += f.n;
        }
    }
    let received: Vec<f64> = periods.iter().map(|p| p.received as f64).collect();
    let per_year_periods = match by {
        By::Month => 12.0,
        By::Week => 365.25 / 7.0,
    };
    Report {
        from,
        to,
        by,
        total,
        trend: trend(&received, per_year_periods),
        periods,
        per_year,
        by_mp,
        by_constituency,
        by_category,
        by_send_topic,
        per_period_by_category,
        per_period_by_send_topic,
        in_target_by_service: now::shares(tallies, |f| f.category.clone()),
        in_target_by_team: now::shares(tallies, |f| f.team.clone()),
        chasers_by_mp: now::chased(tallies),
        now: now::now(tallies, today),
    }
}

/// The figures of period `k` of `periods` (all of them: `None`).
fn figures(name: &str, t: &Tallies, k: Option<usize>, periods: usize) -> Figures {
    let mut f = Figures {
        period: name.to_string(),
        ..Figures::default()
    };
    let mut ack_hours = Vec::new();
    let mut ack_days = Vec::new();
    let mut response_days = Vec::new();
    for fact in t.facts.iter().filter(|f| k.is_none_or(|k| f.period == k)) {
        f.received += fact.n;
        f.chasers += fact.kept_chasers;
        if fact.from_mp_office {
            f.from_mp_offices += fact.n;
        }
        if let Some(m) = fact.ack_minutes {
            f.acknowledged += fact.n;
            ack_hours.push((m as f64 / 60.0, fact.n));
            ack_days.push((fact.ack_working_days.unwrap_or(0).max(0) as f64, fact.n));
            if fact.ack_in_time == Some(true) {
                f.acknowledged_in_time += fact.n;
            }
        }
        if let Some(wd) = fact.answer_working_days {
            f.answered += fact.n;
            response_days.push((wd.max(0) as f64, fact.n));
            if fact.answer_in_time == Some(true) {
                f.answered_in_time += fact.n;
            }
        }
    }
    // The whole range ends with its last period.
    (f.open_at_end, f.overdue_at_end) = t.at_end(k.unwrap_or(periods.saturating_sub(1)));
    f.chasers += t
        .chasers
        .iter()
        .filter(|(p, _, _)| k.is_none_or(|k| *p == k))
        .map(|(_, _, n)| n)
        .sum::<usize>();
    f.acknowledge_hours_median = weighted_percentile(&mut ack_hours, 50.0);
    f.acknowledge_hours_p90 = weighted_percentile(&mut ack_hours, 90.0);
    f.acknowledge_working_days_median = weighted_percentile(&mut ack_days, 50.0);
    f.acknowledge_working_days_p90 = weighted_percentile(&mut ack_days, 90.0);
    f.response_working_days_median = weighted_percentile(&mut response_days, 50.0);
    f.response_working_days_p90 = weighted_percentile(&mut response_days, 90.0);
    f.answered_in_time_percent =
        (f.answered > 0).then(|| round1(100.0 * f.answered_in_time as f64 / f.answered as f64));
    f.acknowledged_in_time_percent = (f.acknowledged > 0)
        .then(|| round1(100.0 * f.acknowledged_in_time as f64 / f.acknowledged as f64));
    f.chasers_per_case = (f.received > 0).then(|| round1(f.chasers as f64 / f.received as f64));
    f
}

/// The `p`th percentile by the nearest-rank method of values each counted
/// `n` times, rounded to 0.1.
pub fn weighted_percentile(values: &mut [(f64, usize)], p: f64) -> Option<f64> {
    let total: usize = values.iter().map(|(_, n)| n).sum();
    if total == 0 {
        return None;
    }
    values.sort_by(|a, b| a.0.total_cmp(&b.0));
    let rank = ((p / 100.0) * total as f64).ceil().max(1.0) as usize;
    let mut seen = 0;
    for (v, n) in values.iter() {
        seen += n;
        if seen >= rank {
            return Some(round1(*v));
        }
    }
    values.last().map(|(v, _)| round1(*v))
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

/// The share in target per period: acknowledged by the target date (of
/// those acknowledged) and answered by the reply date (of those answered).
pub fn in_target_chart(report: &Report) -> String {
    use crate::report::chart::{Series, bars_with_line};
    let labels: Vec<String> = report.periods.iter().map(|p| p.period.clone()).collect();
    let share = |v: Option<f64>| v.unwrap_or(0.0);
    bars_with_line(
        "In target (%)",
        &labels,
        &[
            Series {
                name: "acknowledged by the target date",
                colour: "#1d70b8",
                values: report
                    .periods
                    .iter()
                    .map(|p| share(p.acknowledged_in_time_percent))
                    .collect(),
            },
            Series {
                name: "answered by the reply date",
                colour: "#00703c",
                values: report
                    .periods
                    .iter()
                    .map(|p| share(p.answered_in_time_percent))
                    .collect(),
            },
        ],
        None,
        760,
        300,
    )
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
mod tests;
