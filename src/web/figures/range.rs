//! The period and service a manager chooses for the figures.

use std::collections::HashMap;

use chrono::{Datelike, Duration, NaiveDate};

use crate::case::Category;
use crate::report::By;

/// The periods a manager chooses from: (key, label).
pub(super) const RANGES: &[(&str, &str)] = &[
    ("last-12-months", "The last 12 months"),
    ("this-month", "This month so far"),
    ("last-month", "Last month"),
    ("this-quarter", "This quarter so far"),
    ("last-quarter", "Last quarter"),
    ("this-year", "This financial year so far"),
    ("last-year", "Last financial year"),
    ("custom", "Dates of your own"),
];

/// The chosen period and service, or why they were refused.
pub(super) struct Chosen {
    pub range: &'static str,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub service: Option<Category>,
    pub errors: Vec<(String, String)>,
}

fn month_start(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

fn months_before(d: NaiveDate, n: u32) -> NaiveDate {
    d.checked_sub_months(chrono::Months::new(n)).unwrap_or(d)
}

/// The first day of the financial quarter (April to June, ...) of `d`.
fn quarter_start(d: NaiveDate) -> NaiveDate {
    let m = d.month();
    let first = match m {
        4..=6 => 4,
        7..=9 => 7,
        10..=12 => 10,
        _ => 1,
    };
    NaiveDate::from_ymd_opt(d.year(), first, 1).unwrap_or(d)
}

/// The first day of the financial year (1 April) of `d`.
fn year_start(d: NaiveDate) -> NaiveDate {
    let y = if d.month() >= 4 {
        d.year()
    } else {
        d.year() - 1
    };
    NaiveDate::from_ymd_opt(y, 4, 1).unwrap_or(d)
}

pub(super) fn choose(q: &HashMap<String, String>, today: NaiveDate) -> Chosen {
    let get = |k: &str| q.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let mut errors = Vec::new();
    let range = match get("range") {
        None => RANGES[0].0,
        Some(r) => match RANGES.iter().find(|(k, _)| *k == r) {
            Some((k, _)) => k,
            None => {
                errors.push(("range".into(), "Choose a period from the list".into()));
                RANGES[0].0
            }
        },
    };
    let day = |d: NaiveDate| d - Duration::days(1);
    let (from, to) = match range {
        "this-month" => (month_start(today), today),
        "last-month" => {
            let start = months_before(month_start(today), 1);
            (start, day(month_start(today)))
        }
        "this-quarter" => (quarter_start(today), today),
        "last-quarter" => {
            let this = quarter_start(today);
            (months_before(this, 3), day(this))
        }
        "this-year" => (year_start(today), today),
        "last-year" => {
            let this = year_start(today);
            (months_before(this, 12), day(this))
        }
        "custom" => {
            let mut date = |key: &str, label: &str| match get(key)
                .map(|v| NaiveDate::parse_from_str(v, "%Y-%m-%d"))
            {
                Some(Ok(d)) => Some(d),
                _ => {
                    errors.push((
                        key.to_string(),
                        format!("Give the {label} as year, month and day, for example 2026-03-31"),
                    ));
                    None
                }
            };
            let (from, to) = (date("from", "first day"), date("to", "last day"));
            match (from, to) {
                (Some(f), Some(t)) if f <= t && (t - f).num_days() <= 366 * 5 => (f, t),
                (Some(_), Some(_)) => {
                    errors.push((
                        "to".into(),
                        "The last day must be after the first, and the period at most five years"
                            .into(),
                    ));
                    (months_before(today, 12) + Duration::days(1), today)
                }
                _ => (months_before(today, 12) + Duration::days(1), today),
            }
        }
        _ => (months_before(today, 12) + Duration::days(1), today),
    };
    let service = match get("service") {
        None => None,
        Some(s) => match Category::parse(s) {
            Some(c) => Some(c),
            None => {
                errors.push(("service".into(), "Choose a service from the list".into()));
                None
            }
        },
    };
    Chosen {
        range,
        from,
        to,
        service,
        errors,
    }
}

/// Weeks for a period of two months or less, months beyond.
pub(super) fn by(c: &Chosen) -> By {
    if (c.to - c.from).num_days() <= 62 {
        By::Week
    } else {
        By::Month
    }
}
