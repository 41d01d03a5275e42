//! The managers' figures (`/figures`, managers and admins): a period they
//! choose (a month, a quarter or a financial year, this one or the last,
//! the last 12 months, or any dates) for all services or one. The figures
//! are `report::of_store`'s, the code behind `postroom report`, so the page
//! and the command never disagree. Each count of cases links to the list
//! of those cases; the chart is drawn on the server (SVG) with its figures
//! in a table; every table downloads as CSV (`/figures.csv?table=…`).

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, Duration, NaiveDate};
use minijinja::context;

use super::session::Signed;
use super::views::query_escape;
use super::{Ctx, Refusal};
use crate::case::{Category, SendTopic};
use crate::report::{By, Report};

/// The periods a manager chooses from: (key, label).
const RANGES: &[(&str, &str)] = &[
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
struct Chosen {
    range: &'static str,
    from: NaiveDate,
    to: NaiveDate,
    service: Option<Category>,
    errors: Vec<(String, String)>,
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

fn choose(q: &HashMap<String, String>, today: NaiveDate) -> Chosen {
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
fn by(c: &Chosen) -> By {
    if (c.to - c.from).num_days() <= 62 {
        By::Week
    } else {
        By::Month
    }
}

async fn figures(
    ctx: &Ctx,
    who: &Signed,
    q: &HashMap<String, String>,
) -> Result<(Chosen, Report), Refusal> {
    if !who.role.sees_all() {
        return Err(Refusal::NotFound(ctx.clone()));
    }
    let calendar = ctx.app.calendar();
    let today = calendar.local_date(ctx.app.clock.now());
    let chosen = choose(q, today);
    let report = crate::report::of_store(
        &ctx.app.store,
        &calendar,
        (chosen.from, chosen.to),
        by(&chosen),
        today,
        chosen.service,
    )
    .await
    .map_err(|e| Refusal::Failed(ctx.clone(), e))?;
    Ok((chosen, report))
}

/// The list of the cases received from `from` to `to`, with `extra`
/// filters: what a count of cases links to.
fn cases_link(c: &Chosen, from: NaiveDate, to: NaiveDate, extra: &[(&str, &str)]) -> String {
    let mut s = format!("/cases?view=all&sort=oldest&from={from}&to={to}");
    if let Some(service) = c.service {
        s.push_str(&format!("&service={}", service.as_str()));
    }
    for (k, v) in extra {
        s.push_str(&format!("&{k}={}", query_escape(v)));
    }
    s
}

fn one(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_string(), |v| format!("{v}"))
}

/// The page's tables: (key, caption, header, rows of (cells, link of the
/// count of cases)). The CSV of a table is the same rows.
type Table = (
    &'static str,
    String,
    Vec<&'static str>,
    Vec<(Vec<String>, Option<String>)>,
);

fn tables(c: &Chosen, r: &Report) -> Vec<Table> {
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
    let service = |k: &str| Category::parse(k).map_or(k.to_string(), |c| c.label().to_string());
    let topic = |k: &str| SendTopic::parse(k).map_or(k.to_string(), super::list::topic_label);
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
    ]
}

fn period_label(c: &Chosen) -> String {
    let d = |d: NaiveDate| super::list::long_date(d);
    format!("{} to {}", d(c.from), d(c.to))
}

pub(super) async fn page(
    State(ctx): State<Ctx>,
    who: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, Refusal> {
    let (chosen, report) = figures(&ctx, &who, &q).await?;
    let t = &report.total;
    let tables: Vec<_> = tables(&chosen, &report)
        .into_iter()
        .map(|(key, caption, header, rows)| {
            context! {
                key, caption, header,
                rows => rows.into_iter().map(|(cells, href)| context! { cells, href }).collect::<Vec<_>>(),
            }
        })
        .collect();
    let query: String = [
        ("range", Some(chosen.range.to_string())),
        ("from", q.get("from").cloned()),
        ("to", q.get("to").cloned()),
        ("service", chosen.service.map(|s| s.as_str().to_string())),
    ]
    .iter()
    .filter_map(|(k, v)| {
        v.as_ref()
            .filter(|v| !v.is_empty())
            .map(|v| format!("{k}={}", query_escape(v)))
    })
    .collect::<Vec<_>>()
    .join("&");
    let trend = report.trend.as_ref().map(|tr| {
        let signed = |v: f64| format!("{v:+}");
        context! {
            per_month => signed(tr.slope_per_month), low => signed(tr.slope_per_month_low),
            high => signed(tr.slope_per_month_high), change => tr.change_over_range_percent.map(signed),
            significant => tr.significant, points => tr.points,
        }
    });
    let all = cases_link(&chosen, chosen.from, chosen.to, &[]);
    ctx.page(
        &who,
        "figures.html.j2",
        "figures",
        "Figures",
        context! {
            period => period_label(&chosen),
            range => chosen.range,
            ranges => RANGES.iter().map(|(k, l)| context! { key => k, label => l }).collect::<Vec<_>>(),
            from => q.get("from"), to => q.get("to"),
            service => chosen.service.map(|s| s.as_str()),
            service_label => chosen.service.map(|s| s.label()),
            services => Category::ALL.iter().map(|c| context! { value => c.as_str(), label => c.label() }).collect::<Vec<_>>(),
            errors => chosen.errors.iter().map(|(f, m)| context! { field => f, message => m }).collect::<Vec<_>>(),
            total => context! {
                received => t.received, answered => t.answered, in_time => t.answered_in_time,
                percent => one(t.answered_in_time_percent),
                median => one(t.response_working_days_median), p90 => one(t.response_working_days_p90),
                ack_median => one(t.acknowledge_hours_median), ack_p90 => one(t.acknowledge_hours_p90),
                open => t.open_at_end, overdue => t.overdue_at_end,
                chasers => t.chasers, chasers_per_case => one(t.chasers_per_case),
                href => all,
            },
            trend,
            chart => crate::report::chart(&report),
            tables,
            query,
        },
    )
}

/// One of the page's tables as CSV.
pub(super) async fn csv(
    State(ctx): State<Ctx>,
    who: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, Refusal> {
    let (chosen, report) = figures(&ctx, &who, &q).await?;
    let wanted = q.get("table").map(String::as_str).unwrap_or("periods");
    let Some((key, _, header, rows)) = tables(&chosen, &report)
        .into_iter()
        .find(|(k, _, _, _)| *k == wanted)
    else {
        return Err(Refusal::NotFound(ctx));
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| Refusal::Failed(ctx.clone(), e.into());
    w.write_record(&header).map_err(fail)?;
    for (cells, _) in rows {
        w.write_record(&cells).map_err(fail)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| Refusal::Failed(ctx.clone(), anyhow::anyhow!("{e}")))?;
    let mut response = bytes.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    let name = format!(
        "attachment; filename=\"figures-{key}-{}-{}.csv\"",
        chosen.from, chosen.to
    );
    if let Ok(v) = HeaderValue::from_str(&name) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}
