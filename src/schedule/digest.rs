//! Digests for managers, daily and weekly: new cases, what is due in the
//! next few working days, what is overdue (worst first), chasers, the
//! share of replies sent in time, and a chart of cases received and
//! answered per week. One digest per manager (covering every team they
//! manage) per period, recorded in `digests_sent` in the transaction that
//! queues it, so no restart or second instance sends it twice. Digests go
//! out at their configured time, inside `reminders.hours`, on working days.

use std::collections::BTreeMap;

use anyhow::Result;
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use tracing::info;

use crate::app::App;
use crate::casework::mail::{case_context, long_date};
use crate::compose::{
    self, ChaserItem, CouncilContext, DigestContext, DueItem, Rendered, WeekFigures,
};
use crate::deadlines;
use crate::store::cases::CaseRow;
use crate::store::deadlines as stored;
use crate::store::digests;
use crate::store::figures::{self, Moment};

/// Daily or weekly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Daily,
    Weekly,
}

impl Period {
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Daily => "daily",
            Period::Weekly => "weekly",
        }
    }
}

/// A rendered digest.
pub struct Digest {
    pub manager: String,
    pub period: Period,
    /// The period's key in `digests_sent` ("2026-11-27", "2026-W48").
    pub key: String,
    pub rendered: Rendered,
}

/// At most this many overdue and this many due-soon deadlines are listed
/// in a digest (worst or soonest first); the totals are always given.
const LIST_LIMIT: i64 = 50;

/// The managers and the teams each manages.
pub fn managers(app: &App) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for team in &app.config.teams {
        if let Some(m) = &team.manager {
            out.entry(m.clone()).or_default().push(team.name.clone());
        }
    }
    out
}

/// The digests whose time has come and that went out to nobody yet:
/// sends them. Returns how many were queued.
pub async fn run_due(app: &App) -> Result<usize> {
    let now = app.clock.now();
    if !app
        .calendar()
        .in_working_hours(now, app.config.reminders.hours)
    {
        return Ok(0);
    }
    let mut queued = 0;
    for period in [Period::Daily, Period::Weekly] {
        let Some(key) = due_key(app, period, now) else {
            continue;
        };
        for (manager, teams) in managers(app) {
            let mut tx = app.store.begin().await?;
            let claimed = digests::claim(&mut tx, &manager, period.as_str(), &key, now).await?;
            if !claimed {
                tx.rollback().await?;
                continue;
            }
            let digest = build(app, &manager, &teams, period, now).await?;
            let id = queue(app, &mut tx, &digest, now).await?;
            digests::set_outbox(&mut tx, &manager, period.as_str(), &key, id).await?;
            tx.commit().await?;
            queued += 1;
        }
    }
    if queued > 0 {
        info!(digests = queued, "Digests queued.");
    }
    Ok(queued)
}

/// The key of the `period` digest due at `now`, if one is due: the daily
/// one from its time on a working day; the weekly one from its day and
/// time (or the first working day after, when that day is not one) until
/// the week ends.
fn due_key(app: &App, period: Period, now: DateTime<Utc>) -> Option<String> {
    let calendar = app.calendar();
    let local = now.with_timezone(&calendar.tz());
    let today = local.date_naive();
    if !calendar.is_working_day(today) {
        return None;
    }
    match period {
        Period::Daily => {
            let at = app.config.digests.daily?;
            (local.time() >= at).then(|| today.to_string())
        }
        Period::Weekly => {
            let (weekday, at) = app.config.digests.weekly?;
            let monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
            let mut day = monday + Duration::days(i64::from(weekday.num_days_from_monday()));
            while !calendar.is_working_day(day) && day.iso_week() == today.iso_week() {
                day += Duration::days(1);
            }
            let due = today > day || (today == day && local.time() >= at);
            let week = today.iso_week();
            (due && day.iso_week() == week).then(|| format!("{}-W{:02}", week.year(), week.week()))
        }
    }
}

fn local_at(app: &App, day: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let tz = app.calendar().tz();
    tz.from_local_datetime(&day.and_time(time))
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&day.and_time(time)))
}

/// Renders `manager`'s digest for the period that ends at `now` (without
/// sending it): what `postroom digest --preview` shows.
// Long: a digest's figures and lists are gathered from the team's cases,
// section by section as the mail shows them.
pub async fn build(
    app: &App,
    manager: &str,
    teams: &[String],
    period: Period,
    now: DateTime<Utc>,
) -> Result<Digest> {
    let calendar = app.calendar();
    let today = calendar.local_date(now);
    let (from, key, title) = match period {
        Period::Daily => {
            let time = app
                .config
                .digests
                .daily
                .unwrap_or(NaiveTime::from_hms_opt(8, 30, 0).unwrap_or(NaiveTime::MIN));
            let from = local_at(app, calendar.sub_working_days(today, 1), time);
            (from, today.to_string(), long_date(today))
        }
        Period::Weekly => {
            let week = today.iso_week();
            (
                now - Duration::days(7),
                format!("{}-W{:02}", week.year(), week.week()),
                format!("the week to {}", long_date(today)),
            )
        }
    };
    let mut conn = app.store.conn().await?;
    let mut new_cases = Vec::new();
    let mut chasers = Vec::new();
    let (mut answered, mut on_time) = (0, 0);
    for team in teams {
        for case in figures::of_team_between(&mut conn, team, Moment::Received, from, now).await? {
            new_cases.push(case_context(app, &case)?);
        }
        for (case, n) in figures::with_events_between(&mut conn, team, "chaser", from, now).await? {
            chasers.push(ChaserItem {
                case: case_context(app, &case)?,
                chasers: n,
            });
        }
        for case in figures::of_team_between(&mut conn, team, Moment::Answered, from, now).await? {
            answered += 1;
            let answered_on = case.answered_at.map(|t| calendar.local_date(t));
            let due = case.response_due;
            if matches!((answered_on, due), (Some(a), Some(d)) if a <= d) {
                on_time += 1;
            }
        }
    }

    let horizon = calendar.add_working_days(today, app.config.digests.due_within_days);
    let item = |d: &stored::Deadline, case: &CaseRow| -> Result<DueItem> {
        let (state, days) = deadlines::state(&calendar, d.due_on, today);
        Ok(DueItem {
            case: case_context(app, case)?,
            deadline: d.name.clone(),
            kind: d.kind.as_str().to_string(),
            due: long_date(d.due_on),
            state,
            overdue: d.due_on < today,
            days,
        })
    };
    let yesterday = today - Duration::days(1);
    let (late, overdue_total) =
        stored::open_for_teams(&mut conn, teams, None, yesterday, LIST_LIMIT).await?;
    let (soon, due_soon_total) =
        stored::open_for_teams(&mut conn, teams, Some(today), horizon, LIST_LIMIT).await?;
    let mut overdue = late
        .iter()
        .map(|(d, c)| item(d, c))
        .collect::<Result<Vec<_>>>()?;
    let due_soon = soon
        .iter()
        .map(|(d, c)| item(d, c))
        .collect::<Result<Vec<_>>>()?;
    overdue.sort_by_key(|i| i.days);

    // Eight weeks, Monday to Sunday, this one last.
    let this_monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
    let first = this_monday - Duration::weeks(7);
    let mut received = [0usize; 8];
    let mut replied = [0usize; 8];
    for w in 0..8 {
        let start = local_at(app, first + Duration::weeks(w as i64), NaiveTime::MIN);
        let end = local_at(app, first + Duration::weeks(w as i64 + 1), NaiveTime::MIN).min(now);
        for team in teams {
            received[w] +=
                figures::count_of_team_between(&mut conn, team, Moment::Received, start, end)
                    .await?;
            replied[w] +=
                figures::count_of_team_between(&mut conn, team, Moment::Answered, start, end)
                    .await?;
        }
    }
    drop(conn);
    let longest = received
        .iter()
        .chain(replied.iter())
        .copied()
        .max()
        .unwrap_or(0);
    let weeks: Vec<WeekFigures> = (0..8)
        .map(|w| WeekFigures {
            week: (first + Duration::weeks(w as i64))
                .format("%-d %b")
                .to_string(),
            received: received[w],
            answered: replied[w],
            received_px: compose::bar_px(received[w], longest),
            answered_px: compose::bar_px(replied[w], longest),
        })
        .collect();

    let council = &app.config.council;
    let ctx = DigestContext {
        council: CouncilContext {
            name: council.name.clone(),
            mailbox: council.mailbox.clone(),
        },
        manager: manager.to_string(),
        teams: teams.to_vec(),
        period: period.as_str().to_string(),
        title,
        new_cases,
        due_soon,
        due_soon_total,
        due_within_days: app.config.digests.due_within_days,
        overdue,
        overdue_total,
        chasers,
        answered,
        answered_on_time: on_time,
        on_time_percent: (answered > 0)
            .then(|| ((on_time * 100) as f64 / answered as f64).round() as u32),
        weeks,
        chart: false,
    };
    let rendered = app.templates().render("digest", &ctx)?;
    Ok(Digest {
        manager: manager.to_string(),
        period,
        key,
        rendered,
    })
}

async fn queue(
    app: &App,
    tx: &mut crate::store::Tx,
    digest: &Digest,
    now: DateTime<Utc>,
) -> Result<i64> {
    let tag = format!("{}-{}", digest.period.as_str(), digest.key);
    crate::casework::mail::queue_generated(
        app,
        tx,
        "digest",
        &tag,
        &digest.manager,
        &digest.rendered,
        now,
    )
    .await
}
