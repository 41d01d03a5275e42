//! The managers' figures (`/figures`, managers and admins): a period they
//! choose (a month, a quarter or a financial year, this one or the last,
//! the last 12 months, or any dates) for all services or one. The figures
//! are `report::of_store`'s, the code behind `postroom report`, so the page
//! and the command never disagree. Each count of cases links to the list
//! of those cases; the chart is drawn on the server (SVG) with its figures
//! in a table; every table downloads as CSV (`/figures.csv?table=…`).

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use minijinja::context;

use super::session::Signed;
use super::views::query_escape;
use super::{Ctx, Refusal};
use crate::case::Category;
use crate::report::Report;

mod range;
mod tables;

use range::{Chosen, RANGES, by, choose};
use tables::{Links, one, tables};

/// The figures chosen, their report, today and the tenth working day on.
async fn figures(
    ctx: &Ctx,
    who: &Signed,
    q: &HashMap<String, String>,
) -> Result<(Chosen, Report, NaiveDate, NaiveDate), Refusal> {
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
    let soon = calendar.add_working_days(today, 10);
    Ok((chosen, report, today, soon))
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
    let (chosen, report, today, soon) = figures(&ctx, &who, &q).await?;
    let t = &report.total;
    let links = Links {
        chosen: &chosen,
        today,
        soon,
    };
    let tables: Vec<_> = tables(&links, &report)
        .into_iter()
        .map(|(key, caption, header, rows)| {
            context! {
                key, caption, header,
                rows => rows.into_iter().map(|r| context! { cells => r.cells, links => r.links }).collect::<Vec<_>>(),
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
    let last = chosen.to;
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
                ack_wd_median => one(t.acknowledge_working_days_median), ack_wd_p90 => one(t.acknowledge_working_days_p90),
                acknowledged => t.acknowledged, ack_in_time => t.acknowledged_in_time,
                ack_percent => one(t.acknowledged_in_time_percent),
                ack_in_time_href => links.period(&[("figure", "acknowledged-in-time")]),
                open => t.open_at_end, overdue => t.overdue_at_end,
                chasers => t.chasers, chasers_per_case => one(t.chasers_per_case),
                href => links.period(&[]),
                answered_href => links.period(&[("figure", "answered")]),
                in_time_href => links.period(&[("figure", "answered-in-time")]),
                open_href => links.open_at(last, false),
                overdue_href => links.open_at(last, true),
                chased_href => links.period(&[("figure", "chased")]),
            },
            now => context! {
                open => report.now.open, overdue => report.now.overdue, unassigned => report.now.unassigned,
                paused => report.now.paused, today => report.now.today.map(super::list::long_date),
                paused_href => links.list("open", &[("figure", "paused")]),
                service => chosen.service.map(|s| format!("&service={}", s.as_str())).unwrap_or_default(),
            },
            trend,
            chart => crate::report::chart(&report),
            in_target_chart => crate::report::in_target_chart(&report),
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
    let (chosen, report, today, soon) = figures(&ctx, &who, &q).await?;
    let wanted = q.get("table").map(String::as_str).unwrap_or("periods");
    let links = Links {
        chosen: &chosen,
        today,
        soon,
    };
    let Some((key, _, header, rows)) = tables(&links, &report)
        .into_iter()
        .find(|(k, _, _, _)| *k == wanted)
    else {
        return Err(Refusal::NotFound(ctx));
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| Refusal::Failed(ctx.clone(), e.into());
    w.write_record(&header).map_err(fail)?;
    for row in rows {
        w.write_record(&row.cells).map_err(fail)?;
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
