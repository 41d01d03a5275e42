//! `postroom report --accuracy`: how often people corrected what postroom
//! decided, per field and per month of receipt, and the corrections behind
//! the figures. Every `cases recategorise` is an event that keeps what the
//! case said before; the first value of a field before any correction is
//! what postroom said, the last value after is what people settled on. A
//! field changed and changed back is not a correction. Pure.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::store::cases::CaseRow;
use crate::store::figures::CorrectionRow;

/// The fields a person can correct.
pub const FIELDS: [&str; 4] = ["kind", "category", "send_topic", "urgent"];

/// One field of one case that people corrected.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Corrected {
    pub reference: String,
    pub field: String,
    /// What postroom decided (JSON: a string, null or a boolean).
    pub postroom: serde_json::Value,
    pub now: serde_json::Value,
    pub by: String,
    pub at: DateTime<Utc>,
}

/// The figures of one month (or of the whole range).
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Month {
    /// "2026-11", or "all".
    pub month: String,
    /// Cases received (classified by postroom) in the month.
    pub cases: usize,
    /// By field: how many of them people corrected.
    pub corrected: BTreeMap<String, usize>,
    /// By field: corrected, as a percentage of `cases`.
    pub corrected_percent: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Accuracy {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub total: Month,
    pub months: Vec<Month>,
    pub corrections: Vec<Corrected>,
}

/// The accuracy of the cases received in `[from, to]` (London days).
/// Statistics rows that retention left (negative ids) have no events and
/// are not counted.
pub fn build(
    cases: &[CaseRow],
    corrections: &[CorrectionRow],
    from: NaiveDate,
    to: NaiveDate,
) -> Accuracy {
    let day = |t: DateTime<Utc>| t.with_timezone(&chrono_tz::Europe::London).date_naive();
    let month = |t: DateTime<Utc>| day(t).format("%Y-%m").to_string();
    let in_range = |t: DateTime<Utc>| (from..=to).contains(&day(t));
    let mut months: BTreeMap<String, Month> = BTreeMap::new();
    let mut total = Month {
        month: "all".into(),
        ..Month::default()
    };
    for c in cases.iter().filter(|c| c.id > 0 && in_range(c.received_at)) {
        months.entry(month(c.received_at)).or_default().cases += 1;
        total.cases += 1;
    }
    // By case and field: the first "from", the last "to", who and when.
    let mut by_case: BTreeMap<(i64, &str), (serde_json::Value, &CorrectionRow)> = BTreeMap::new();
    for row in corrections.iter().filter(|r| in_range(r.received_at)) {
        for field in FIELDS {
            let (before, after) = (&row.detail["from"][field], &row.detail["to"][field]);
            if before == after && !by_case.contains_key(&(row.case_id, field)) {
                continue;
            }
            by_case
                .entry((row.case_id, field))
                .and_modify(|(_, last)| *last = row)
                .or_insert((before.clone(), row));
        }
    }
    let mut list = Vec::new();
    for ((_, field), (postroom, last)) in by_case {
        let now = last.detail["to"][field].clone();
        if postroom == now {
            continue;
        }
        let m = months.entry(month(last.received_at)).or_default();
        *m.corrected.entry(field.to_string()).or_default() += 1;
        *total.corrected.entry(field.to_string()).or_default() += 1;
        list.push(Corrected {
            reference: last.reference.clone(),
            field: field.to_string(),
            postroom,
            now,
            by: last.actor.clone(),
            at: last.at,
        });
    }
    list.sort_by(|a, b| (a.at, &a.reference, &a.field).cmp(&(b.at, &b.reference, &b.field)));
    let finish = |m: &mut Month| {
        for field in FIELDS {
            let n = *m.corrected.entry(field.to_string()).or_default();
            let share = if m.cases == 0 {
                0.0
            } else {
                100.0 * n as f64 / m.cases as f64
            };
            m.corrected_percent.insert(field.to_string(), share);
        }
    };
    finish(&mut total);
    let months = months
        .into_iter()
        .map(|(name, mut m)| {
            m.month = name;
            finish(&mut m);
            m
        })
        .collect();
    Accuracy {
        from,
        to,
        total,
        months,
        corrections: list,
    }
}

/// The accuracy as a table, then the corrections one per line.
pub fn render(a: &Accuracy) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Corrections of postroom's decisions, cases received {} to {}\n",
        a.from, a.to
    );
    let _ = write!(out, "{:<8} {:>6}", "month", "cases");
    for f in FIELDS {
        let _ = write!(out, " {f:>16}");
    }
    let _ = writeln!(out);
    for m in a.months.iter().chain(std::iter::once(&a.total)) {
        let _ = write!(out, "{:<8} {:>6}", m.month, m.cases);
        for f in FIELDS {
            let cell = format!(
                "{} ({:.1}%)",
                m.corrected.get(f).copied().unwrap_or(0),
                m.corrected_percent.get(f).copied().unwrap_or(0.0)
            );
            let _ = write!(out, " {cell:>16}");
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(out, "\nThe corrections:");
    if a.corrections.is_empty() {
        let _ = writeln!(out, "  none");
    }
    for c in &a.corrections {
        let _ = writeln!(
            out,
            "  {} {}: postroom said {}, now {} (by {}, {})",
            c.reference,
            c.field,
            c.postroom,
            c.now,
            c.by,
            c.at.format("%Y-%m-%d")
        );
    }
    out
}
