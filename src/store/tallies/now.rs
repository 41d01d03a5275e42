//! What is open now, for the managers' figures: the live cases by team,
//! caseworker, overdue and paused (with why), how long they have waited in
//! each state, and the statutory SEND clocks due soon or missed in the
//! range.

use anyhow::{Context, Result};
use sqlx::Row;

use super::{Sql, big, quote};

/// Live cases that share a team, a caseworker, being overdue and being
/// paused (and why).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Live {
    pub team: Option<String>,
    pub assignee: Option<String>,
    pub overdue: bool,
    pub paused: bool,
    pub pause_reason: Option<String>,
    pub n: usize,
}

/// Live cases in one state (`unassigned`, `paused`, `with the service`)
/// that arrived on the same local day.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Waiting {
    pub state: String,
    pub received_day: i64,
    pub n: usize,
}

/// A statutory SEND clock: those running out from today to the tenth
/// working day on, and those whose day fell in the range and passed
/// unmet (met late, or not met by today).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Clock {
    pub name: String,
    pub due_soon: usize,
    pub missed: usize,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Now {
    pub live: Vec<Live>,
    pub waiting: Vec<Waiting>,
    pub clocks: Vec<Clock>,
}

// Long: three statements, each with its rows read into its own list.
pub(super) async fn load(store: &super::super::Store, sql: &Sql<'_>) -> Result<Now> {
    let f = sql.f;
    let service = sql.service("category");
    // SQLite's planner would read the live cases' rows by another index;
    // this one holds every column counted here.
    let live = match sql.backend {
        super::Backend::Sqlite => "cases INDEXED BY cases_live_figures",
        super::Backend::Postgres => "cases",
    };
    let live_rows = format!(
        "SELECT team, assignee, {overdue} AS overdue, {paused} AS paused, pause_reason, {n} AS n \
         FROM {live} WHERE status IN ('open', 'triage'){service} GROUP BY 1, 2, 3, 4, 5",
        overdue = big(&format!(
            "CASE WHEN answered_at IS NULL AND response_due < {} THEN 1 ELSE 0 END",
            quote(&f.today)
        )),
        paused = big("CASE WHEN paused_at IS NULL THEN 0 ELSE 1 END"),
        n = big("COUNT(*)"),
    );
    let waiting_rows = format!(
        "SELECT state, {day} AS rd, {n} AS n FROM \
         (SELECT CASE WHEN paused_at IS NOT NULL THEN 'paused' WHEN assignee IS NULL THEN 'unassigned' \
          ELSE 'with the service' END AS state, received_s AS er \
          FROM {live} WHERE status IN ('open', 'triage'){service} {fence}) x GROUP BY 1, 2",
        day = big(&sql.local_day("er")),
        n = big("COUNT(*)"),
        fence = sql.fence(),
    );
    let (from, to) = (
        f.periods.first().map_or(0, |p| p.0),
        f.periods.last().map_or(0, |p| p.1),
    );
    let cases_of_service = if service.is_empty() {
        String::new()
    } else {
        format!(" AND case_id IN (SELECT id FROM cases WHERE 1 = 1{service})")
    };
    let clock_rows = format!(
        "SELECT name, {soon} AS soon, {missed} AS missed FROM \
         (SELECT name, due_on, met_at, {due_day} AS dd, CASE WHEN met_at IS NULL THEN NULL ELSE {met_day} END AS md \
          FROM (SELECT name, due_on, met_at FROM deadlines \
                WHERE kind = 'statutory' AND due_on >= {first} AND due_on <= {soon_day}{cases_of_service} \
                UNION ALL SELECT name, due_on, met_at FROM clock_statistics \
                WHERE due_on >= {first} AND due_on <= {soon_day}{service}) c {fence}) x \
         GROUP BY 1",
        soon = big(&format!(
            "SUM(CASE WHEN met_at IS NULL AND due_on >= {today} AND due_on <= {soon_day} THEN 1 ELSE 0 END)",
            today = quote(&f.today),
            soon_day = quote(&f.soon)
        )),
        missed = big(&format!(
            "SUM(CASE WHEN dd >= {from} AND dd <= {to} AND ((md IS NULL AND due_on < {today}) OR md > dd) THEN 1 ELSE 0 END)",
            today = quote(&f.today)
        )),
        due_day = sql.date_day("due_on"),
        met_day = sql.local_day(&sql.epoch("met_at")),
        first = quote(&f.received_from[..10]),
        soon_day = quote(&f.soon.clone().max(f.received_before[..10].to_string())),
        fence = sql.fence(),
    );
    let mut conn = store.conn().await?;
    let int = |r: &sqlx::any::AnyRow, c: &str| -> Result<usize> {
        Ok(r.try_get::<Option<i64>, _>(c)?.unwrap_or(0) as usize)
    };
    let mut now = Now::default();
    for r in sqlx::query(&live_rows)
        .fetch_all(&mut *conn)
        .await
        .context("Cannot count the open cases")?
    {
        now.live.push(Live {
            team: r.try_get("team")?,
            assignee: r.try_get("assignee")?,
            overdue: int(&r, "overdue")? == 1,
            paused: int(&r, "paused")? == 1,
            pause_reason: r.try_get("pause_reason")?,
            n: int(&r, "n")?,
        });
    }
    for r in sqlx::query(&waiting_rows)
        .fetch_all(&mut *conn)
        .await
        .context("Cannot count how long the open cases have waited")?
    {
        now.waiting.push(Waiting {
            state: r.try_get("state")?,
            received_day: r.try_get::<Option<i64>, _>("rd")?.unwrap_or(0),
            n: int(&r, "n")?,
        });
    }
    for r in sqlx::query(&clock_rows)
        .fetch_all(&mut *conn)
        .await
        .context("Cannot count the statutory clocks")?
    {
        now.clocks.push(Clock {
            name: r.try_get("name")?,
            due_soon: int(&r, "soon")?,
            missed: int(&r, "missed")?,
        });
    }
    now.clocks.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(now)
}
