//! The case list: views with their counts, filters, sorting and keyset
//! pages. A filter value postroom does not know is refused in the GOV.UK
//! error-summary pattern, never read as "no cases".

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::response::Response;
use minijinja::context;
use serde::Serialize;

use super::session::Signed;
use super::views::query_escape;
use super::{Ctx, Refusal};
use crate::case::{Category, SendTopic, Status};
use crate::store::cases::CaseRow;
use crate::store::worklist::{self, Days, Figure, Scope, Sort, View};

const PAGE: i64 = 50;

/// A search that more cases or messages match than this is refused.
const COMMON: i64 = 5000;

/// A row of the list, as the template shows it.
#[derive(Serialize)]
pub(super) struct Row {
    reference: String,
    subject: String,
    mp: String,
    service: String,
    topic: String,
    urgent: bool,
    assignee: String,
    status: String,
    due: String,
    due_state: String,
    overdue: bool,
    received: String,
}

pub(super) fn scope(who: &Signed) -> Scope {
    Scope {
        all: who.role.sees_all(),
        teams: who.teams.clone(),
        email: who.email.clone(),
    }
}

pub(super) fn days(ctx: &Ctx) -> Days {
    let calendar = ctx.app.calendar();
    let today = ctx
        .app
        .clock
        .now()
        .with_timezone(&calendar.tz())
        .date_naive();
    Days {
        today,
        soon: calendar.add_working_days(today, 5),
        offsets: Vec::new(),
    }
}

/// The filters a figure's link sets that the filter form has no field
/// for: it carries them as hidden fields, and every link of the list keeps
/// them.
const HIDDEN: [&str; 8] = [
    "team", "assignee", "figure", "end", "reason", "clock", "due-from", "due-to",
];

/// The figures a list can be narrowed to (`figure=`), with what each says
/// above the list.
const FIGURES: [(&str, &str); 11] = [
    ("acknowledged-in-time", "acknowledged by the target date"),
    ("answered", "answered"),
    ("answered-in-time", "answered by the reply date"),
    ("answered-late", "answered after the reply date"),
    ("open-at-end", "open at the end of the period"),
    (
        "overdue-at-end",
        "open and past the reply date at the end of the period",
    ),
    ("paused", "paused now"),
    ("paused-no-reason", "paused now, with no reason given"),
    (
        "waiting-unassigned",
        "waiting for a caseworker now (not paused)",
    ),
    ("waiting-service", "with a caseworker now (not paused)"),
    ("chased", "chased by the MP office"),
];

/// The figure a list is narrowed to: a link from the managers' figures.
/// `received_from` is the instant the figure's range starts (chasers are
/// counted from it); the mistakes go to the error summary.
fn figure(
    get: &dyn Fn(&str) -> Option<String>,
    calendar: &crate::calendar::Calendar,
    today: chrono::NaiveDate,
    received_from: &str,
    errors: &mut Vec<(String, String)>,
) -> Option<Figure> {
    let key = get("figure")?;
    let mut date = |k: &str| -> Option<chrono::NaiveDate> {
        let parsed = get(k).and_then(|v| chrono::NaiveDate::parse_from_str(&v, "%Y-%m-%d").ok());
        if parsed.is_none() {
            errors.push((
                "figure".into(),
                format!("Give the date {k} as year, month and day, for example 2026-03-31"),
            ));
        }
        parsed
    };
    let day = |d: chrono::NaiveDate| crate::store::date(d);
    Some(match key.as_str() {
        "acknowledged-in-time" => Figure::AcknowledgedInTime,
        "answered" => Figure::Answered(None),
        "answered-in-time" => Figure::Answered(Some(true)),
        "answered-late" => Figure::Answered(Some(false)),
        "open-at-end" | "overdue-at-end" => {
            let last = date("end")?;
            Figure::OpenAt {
                end: crate::store::ts(calendar.start_of_day(last + chrono::Duration::days(1))),
                due_before: (key == "overdue-at-end").then(|| day(last)),
            }
        }
        "paused" => Figure::Paused(get("reason")),
        "paused-no-reason" => Figure::Paused(Some(String::new())),
        "waiting-unassigned" => Figure::Waiting { unassigned: true },
        "waiting-service" => Figure::Waiting { unassigned: false },
        "chased" => Figure::ChasedSince(received_from.to_string()),
        "clock-soon" | "clock-missed" => {
            let Some(name) = get("clock") else {
                errors.push(("figure".into(), "Say which statutory clock".into()));
                return None;
            };
            Figure::Clock {
                name,
                from: day(date("due-from")?),
                to: day(date("due-to")?),
                today: day(today),
                missed: key == "clock-missed",
            }
        }
        _ => {
            errors.push((
                "figure".into(),
                "The list cannot be narrowed to that figure".into(),
            ));
            return None;
        }
    })
}

/// What a figure's list says above the cases.
fn figure_label(key: &str, clock: Option<&String>) -> Option<String> {
    match key {
        "clock-missed" => clock.map(|c| format!("with the statutory clock \"{c}\" missed")),
        "clock-soon" => clock.map(|c| format!("with the statutory clock \"{c}\" running out")),
        k => FIGURES
            .iter()
            .find(|(f, _)| *f == k)
            .map(|(_, l)| l.to_string()),
    }
}

pub(super) fn row(ctx: &Ctx, c: &CaseRow, today: chrono::NaiveDate) -> Row {
    let calendar = ctx.app.calendar();
    let live = c.answered_at.is_none() && matches!(c.status, Status::Open | Status::Triage);
    let (due_state, left) = match (c.response_due, live) {
        (Some(due), true) => crate::deadlines::state(&calendar, due, today),
        (_, false) => (c.status.to_string(), 0),
        (None, true) => ("no reply date".into(), 0),
    };
    Row {
        reference: c.reference.clone(),
        subject: c.subject.clone(),
        mp: match (&c.mp_name, &c.constituency) {
            (Some(n), Some(k)) => format!("{n} ({k})"),
            (Some(n), None) => n.clone(),
            _ => c.correspondent.clone(),
        },
        service: c.category.map(short_label).unwrap_or_default(),
        topic: c.send_topic.map(topic_label).unwrap_or_default(),
        urgent: c.urgent,
        assignee: c.assignee.clone().unwrap_or_else(|| "Unassigned".into()),
        status: c.status.to_string(),
        due: c.response_due.map(long_date).unwrap_or_default(),
        overdue: live && left < 0,
        due_state,
        received: long_date(c.received_at.date_naive()),
    }
}

pub(super) fn long_date(d: chrono::NaiveDate) -> String {
    d.format("%-d %b %Y").to_string()
}

/// A service's name where space is short: "SEND" for the long one.
fn short_label(c: Category) -> String {
    match c {
        Category::Send => "SEND".into(),
        c => c.label().to_string(),
    }
}

pub(super) fn topic_label(t: SendTopic) -> String {
    let s = t.as_str().replace('_', " ");
    let s = s
        .replace("ehc ", "EHC ")
        .replace("ehcp", "EHCP")
        .replace("send ", "SEND ");
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// Reads the query string into a worklist query; the mistakes, as
/// (field, message) for the error summary. `from` and `to` are local days
/// of receipt (the cases behind a figure).
fn read(
    q: &HashMap<String, String>,
    calendar: &crate::calendar::Calendar,
    today: chrono::NaiveDate,
) -> (worklist::Query, Vec<(String, String)>) {
    let mut errors = Vec::new();
    let get = |k: &str| q.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let mut day = |key: &str| {
        let v = get(key)?;
        match chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                errors.push((
                    key.to_string(),
                    format!("Give the date {key} as year, month and day, for example 2026-03-31"),
                ));
                None
            }
        }
    };
    let (from, to) = (day("from"), day("to"));
    let received = (from.is_some() || to.is_some()).then(|| {
        let start = |d: chrono::NaiveDate| crate::store::ts(calendar.start_of_day(d));
        (
            from.map_or_else(|| "0000".to_string(), start),
            to.map_or_else(
                || "9999".to_string(),
                |d| start(d + chrono::Duration::days(1)),
            ),
        )
    });
    let mut word = |key: &str, valid: fn(&str) -> bool, names: String| -> Option<String> {
        let v = get(key)?;
        if valid(v) {
            Some(v.to_string())
        } else {
            errors.push((
                key.to_string(),
                format!("Choose a {key} from the list ({names})"),
            ));
            None
        }
    };
    let status = word("status", |s| Status::parse(s).is_some(), Status::names());
    let category = word(
        "service",
        |s| Category::parse(s).is_some(),
        Category::names(),
    );
    let send_topic = word(
        "topic",
        |s| SendTopic::parse(s).is_some(),
        SendTopic::names(),
    );
    let view = match get("view") {
        None => View::Open,
        Some(v) => View::parse(v).unwrap_or_else(|| {
            errors.push(("view".into(), "Choose a list from the menu".into()));
            View::Open
        }),
    };
    let sort = match get("sort") {
        None => Sort::Due,
        Some(v) => Sort::parse(v).unwrap_or_else(|| {
            errors.push(("sort".into(), "Choose an order from the list".into()));
            Sort::Due
        }),
    };
    let since = received.as_ref().map_or("0000", |r| r.0.as_str());
    let got = |k: &str| get(k).map(str::to_string);
    let figure = figure(&got, calendar, today, since, &mut errors);
    let query = worklist::Query {
        view,
        status,
        category,
        send_topic,
        mp: get("mp").map(str::to_string),
        search: get("q").map(str::to_string),
        sort,
        after: get("after").map(str::to_string),
        received,
        team: get("team").map(str::to_string),
        assignee: get("assignee").map(str::to_string),
        figure,
    };
    (query, errors)
}

pub(super) async fn page(
    State(ctx): State<Ctx>,
    who: Signed,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, Refusal> {
    let mut days = days(&ctx);
    let calendar = ctx.app.calendar();
    let (query, mut errors) = read(&params, &calendar, days.today);
    if query.figure.is_some() {
        // The instants an in-time figure compares with a date: from the
        // start of the figure's range (or ten years back) to a year on.
        let start = query
            .received
            .as_ref()
            .and_then(|(from, _)| crate::store::parse_ts(from).ok())
            .unwrap_or_else(|| calendar.start_of_day(days.today - chrono::Duration::days(3660)));
        days.offsets = calendar.offsets_between(
            start - chrono::Duration::days(2),
            calendar.start_of_day(days.today + chrono::Duration::days(400)),
        );
    }
    let scope = scope(&who);
    let failed = |e| Refusal::Failed(ctx.clone(), e);
    let mut conn = ctx.app.store.conn().await.map_err(failed)?;
    let common = match query.search.as_deref() {
        Some(words) => worklist::too_common(&mut conn, words, COMMON)
            .await
            .map_err(failed)?,
        None => false,
    };
    let (rows, more) = if common {
        errors.push((
            "q".into(),
            format!("More than {COMMON} cases have those words: add another word, or choose a list or a filter"),
        ));
        (Vec::new(), false)
    } else {
        worklist::page(&mut conn, &scope, &query, &days, PAGE)
            .await
            .map_err(failed)?
    };
    let counts = worklist::counts(&mut conn, &scope, &days)
        .await
        .map_err(failed)?;
    drop(conn);
    // The MPs of the directory, for the MP filter: no scan of the cases.
    let mut mps: Vec<String> = ctx
        .app
        .classifier()
        .directory
        .mps()
        .iter()
        .map(|m| m.name.clone())
        .collect();
    mps.sort();
    mps.dedup();
    // The same list without the cursor: the link to each view keeps the
    // filters, the next page keeps everything.
    let keep: Vec<(&str, String)> = [
        "status", "service", "topic", "mp", "q", "sort", "from", "to",
    ]
    .into_iter()
    .chain(HIDDEN)
    .filter_map(|k| {
        params
            .get(k)
            .filter(|v| !v.is_empty())
            .map(|v| (k, v.clone()))
    })
    .collect();
    let link = |view: View, after: Option<&str>| {
        let mut s = format!("/cases?view={}", view.key());
        for (k, v) in &keep {
            s.push_str(&format!("&{k}={}", query_escape(v)));
        }
        if let Some(a) = after {
            s.push_str(&format!("&after={}", query_escape(a)));
        }
        s
    };
    let next = (more && !rows.is_empty()).then(|| {
        link(
            query.view,
            Some(&query.sort.cursor(rows.last().expect("not empty"))),
        )
    });
    let views: Vec<_> = counts
        .iter()
        .map(|(v, n)| {
            context! { key => v.key(), label => view_label(*v, &who), count => n, href => link(*v, None), current => *v == query.view }
        })
        .collect();
    let rows: Vec<Row> = rows.iter().map(|c| row(&ctx, c, days.today)).collect();
    let options = |all: Vec<(&'static str, String)>| {
        all.into_iter()
            .map(|(v, l)| context! { value => v, label => l })
            .collect::<Vec<_>>()
    };
    ctx.page(
        &who,
        "cases.html.j2",
        "cases",
        view_label(query.view, &who),
        context! {
                view => query.view.key(),
                views,
                rows,
                next,
                errors => errors.iter().map(|(f, m)| context! { field => f, message => m }).collect::<Vec<_>>(),
                filters => context! {
                    status => params.get("status"), service => params.get("service"), topic => params.get("topic"),
                    mp => params.get("mp"), q => params.get("q"), sort => query.sort.key(),
                    from => params.get("from"), to => params.get("to"),
                    team => params.get("team"), assignee => params.get("assignee"),
                },
                kept => keep.iter().filter(|(k, _)| HIDDEN.contains(k)).collect::<Vec<_>>(),
                figure => query.figure.as_ref().and_then(|_| {
                    figure_label(params.get("figure").map_or("", |f| f.trim()), params.get("clock"))
                }),
                statuses => options(Status::ALL.iter().map(|s| (s.as_str(), s.as_str().to_string())).collect()),
                services => options(Category::ALL.iter().map(|c| (c.as_str(), c.label().to_string())).collect()),
                topics => options(SendTopic::ALL.iter().map(|t| (t.as_str(), topic_label(*t))).collect()),
                mps,
        },
    )
}

/// A view's name; a caseworker's or team lead's open cases are their
/// team's.
fn view_label(v: View, who: &Signed) -> &'static str {
    match v {
        View::Mine => "My cases",
        View::Open if !who.role.sees_all() => "My team's cases",
        View::Open => "Open cases",
        View::Unassigned => "Unassigned",
        View::Review => "Needs a person",
        View::Overdue => "Overdue",
        View::DueSoon => "Due in 5 working days",
        View::Urgent => "Urgent",
        View::All => "All cases",
    }
}

/// The access audit, for admins: everyone's, or one person's.
pub(super) async fn audit(
    State(ctx): State<Ctx>,
    who: Signed,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, Refusal> {
    use crate::store::web::{Of, accesses};
    if who.role != crate::config::WebRole::Admin {
        return Err(Refusal::NotFound(ctx));
    }
    let person = params
        .get("who")
        .map(|w| w.trim())
        .filter(|w| !w.is_empty());
    let of = person.map_or(Of::Everyone, Of::Person);
    let failed = |e| Refusal::Failed(ctx.clone(), e);
    let mut conn = ctx.app.store.conn().await.map_err(failed)?;
    let lines = accesses(&mut conn, of, 500).await.map_err(failed)?;
    drop(conn);
    let title = match person {
        Some(p) => format!("Access audit: {p}"),
        None => "Access audit".to_string(),
    };
    ctx.page(
        &who,
        "audit.html.j2",
        "audit",
        title,
        context! {
                who => person,
                lines,
        },
    )
}
