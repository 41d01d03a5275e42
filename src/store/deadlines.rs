//! Deadlines of cases and the state of their reminders.

use anyhow::{Context, Result};
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Row;

use super::{Conn, parse_date, ts};
use crate::calendar::Unit;
use crate::deadlines::{Kind, Planned};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deadline {
    pub id: i64,
    pub case_id: i64,
    pub kind: Kind,
    pub name: String,
    pub unit: Unit,
    pub amount: u32,
    pub start_on: NaiveDate,
    pub paused_days: u32,
    pub due_on: NaiveDate,
    pub met_at: Option<String>,
    /// Reminder steps taken.
    pub stage: usize,
    /// When the next reminder is due (`None`: none left, met, or paused).
    pub next_on: Option<NaiveDate>,
}

const COLUMNS: &str =
    "id, case_id, kind, name, unit, amount, start_on, paused_days, due_on, met_at, stage, next_on";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Deadline> {
    let kind: String = r.try_get("kind")?;
    let unit: String = r.try_get("unit")?;
    let next_on: Option<String> = r.try_get("next_on")?;
    Ok(Deadline {
        id: r.try_get("id")?,
        case_id: r.try_get("case_id")?,
        kind: Kind::parse(&kind).with_context(|| format!("unknown deadline kind {kind:?}"))?,
        name: r.try_get("name")?,
        unit: Unit::parse(&unit).with_context(|| format!("unknown deadline unit {unit:?}"))?,
        amount: r.try_get::<i64, _>("amount")? as u32,
        start_on: parse_date(&r.try_get::<String, _>("start_on")?)?,
        paused_days: r.try_get::<i64, _>("paused_days")? as u32,
        due_on: parse_date(&r.try_get::<String, _>("due_on")?)?,
        met_at: r.try_get("met_at")?,
        stage: r.try_get::<i64, _>("stage")? as usize,
        next_on: next_on.as_deref().map(parse_date).transpose()?,
    })
}

fn date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

pub async fn insert(
    conn: &mut Conn,
    case: i64,
    p: &Planned,
    stage: usize,
    next_on: Option<NaiveDate>,
) -> Result<i64> {
    let row = sqlx::query(
        "INSERT INTO deadlines (case_id, kind, name, unit, amount, start_on, due_on, stage, next_on) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(case)
    .bind(p.kind.as_str())
    .bind(&p.name)
    .bind(p.unit.as_str())
    .bind(i64::from(p.amount))
    .bind(date(p.start_on))
    .bind(date(p.due_on))
    .bind(stage as i64)
    .bind(next_on.map(date))
    .fetch_one(&mut *conn)
    .await
    .context("Cannot record a deadline")?;
    Ok(row.try_get("id")?)
}

pub async fn for_case(conn: &mut Conn, case: i64) -> Result<Vec<Deadline>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM deadlines WHERE case_id = $1 ORDER BY id"
    ))
    .bind(case)
    .fetch_all(&mut *conn)
    .await
    .context("Cannot read a case's deadlines")?;
    rows.iter().map(from_row).collect()
}

/// Deadlines with a reminder due on or before `today`, oldest first: the
/// reminder scan. Reads the partial index on `next_on` only.
pub async fn due(conn: &mut Conn, today: NaiveDate, limit: i64) -> Result<Vec<Deadline>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM deadlines WHERE next_on <= $1 ORDER BY next_on, id LIMIT $2"
    ))
    .bind(date(today))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await
    .context("Cannot look for due reminders")?;
    rows.iter().map(from_row).collect()
}

/// Moves a deadline's reminders on from `from` steps taken, if nobody else
/// has (another instance, an earlier run): the claim that keeps a reminder
/// from going out twice. Returns whether this caller moved it.
pub async fn advance(
    conn: &mut Conn,
    id: i64,
    from: usize,
    to: usize,
    next_on: Option<NaiveDate>,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE deadlines SET stage = $1, next_on = $2 WHERE id = $3 AND stage = $4 AND met_at IS NULL",
    )
    .bind(to as i64)
    .bind(next_on.map(date))
    .bind(id)
    .bind(from as i64)
    .execute(&mut *conn)
    .await
    .context("Cannot move a deadline's reminders on")?;
    Ok(done.rows_affected() == 1)
}

/// Marks a case's unmet deadlines of `kinds` as met at `at`, and stops
/// their reminders. Returns how many.
pub async fn meet(conn: &mut Conn, case: i64, kinds: &[Kind], at: DateTime<Utc>) -> Result<u64> {
    let mut n = 0;
    for kind in kinds {
        let done = sqlx::query(
            "UPDATE deadlines SET met_at = $1, next_on = NULL WHERE case_id = $2 AND kind = $3 AND met_at IS NULL",
        )
        .bind(ts(at))
        .bind(case)
        .bind(kind.as_str())
        .execute(&mut *conn)
        .await
        .context("Cannot mark a deadline met")?;
        n += done.rows_affected();
    }
    Ok(n)
}

/// Undoes [`meet`] for the deadlines of `kinds` met at `at` (the answer of
/// a case that is reopened): they run, and remind, again.
pub async fn unmeet(conn: &mut Conn, case: i64, kinds: &[Kind], at: DateTime<Utc>) -> Result<u64> {
    let mut n = 0;
    for kind in kinds {
        let done = sqlx::query(
            "UPDATE deadlines SET met_at = NULL WHERE case_id = $1 AND kind = $2 AND met_at = $3",
        )
        .bind(case)
        .bind(kind.as_str())
        .bind(ts(at))
        .execute(&mut *conn)
        .await
        .context("Cannot mark a deadline unmet")?;
        n += done.rows_affected();
    }
    Ok(n)
}

/// Stops every reminder of a case (closed, answered, paused).
pub async fn silence(conn: &mut Conn, case: i64) -> Result<()> {
    sqlx::query("UPDATE deadlines SET next_on = NULL WHERE case_id = $1")
        .bind(case)
        .execute(&mut *conn)
        .await
        .context("Cannot stop a case's reminders")?;
    Ok(())
}

/// Drops a deadline that no longer applies, unless it was met.
pub async fn remove_unmet(conn: &mut Conn, id: i64) -> Result<()> {
    sqlx::query("DELETE FROM deadlines WHERE id = $1 AND met_at IS NULL")
        .bind(id)
        .execute(&mut *conn)
        .await
        .context("Cannot drop a deadline")?;
    Ok(())
}

/// What a deadline becomes after a pause, a calendar change or a new
/// target: its target, paused days, due day and reminder state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Redated {
    pub amount: u32,
    pub paused_days: u32,
    pub due_on: NaiveDate,
    pub stage: usize,
    pub next_on: Option<NaiveDate>,
}

/// A deadline's new due day, with its target, paused days and reminder
/// state.
pub async fn redate(conn: &mut Conn, id: i64, to: Redated) -> Result<()> {
    sqlx::query(
        "UPDATE deadlines SET amount = $1, paused_days = $2, due_on = $3, stage = $4, next_on = $5 WHERE id = $6",
    )
    .bind(i64::from(to.amount))
    .bind(i64::from(to.paused_days))
    .bind(date(to.due_on))
    .bind(to.stage as i64)
    .bind(to.next_on.map(date))
    .bind(id)
    .execute(&mut *conn)
    .await
    .context("Cannot change a deadline")?;
    Ok(())
}

/// Unmet deadlines after id `after`, in id order, at most `limit`: for
/// walking them all (a calendar update).
pub async fn unmet(conn: &mut Conn, after: i64, limit: i64) -> Result<Vec<Deadline>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM deadlines WHERE met_at IS NULL AND id > $1 ORDER BY id LIMIT $2"
    ))
    .bind(after)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await
    .context("Cannot read the open deadlines")?;
    rows.iter().map(from_row).collect()
}

/// Unmet deadlines of the open, running cases of `teams` due between
/// `from` and `until` (inclusive), earliest first, with their cases: a
/// digest's "overdue" and "due soon". At most `limit` are read; the second
/// value is how many there are in all.
pub async fn open_for_teams(
    conn: &mut Conn,
    teams: &[String],
    from: Option<NaiveDate>,
    until: NaiveDate,
    limit: i64,
) -> Result<(Vec<(Deadline, super::cases::CaseRow)>, usize)> {
    const WHERE: &str = "FROM deadlines d JOIN cases c ON c.id = d.case_id \
         WHERE d.met_at IS NULL AND d.due_on >= $1 AND d.due_on <= $2 AND c.team = $3 \
         AND c.status IN ('open', 'triage') AND c.paused_at IS NULL";
    let from = from.map(date).unwrap_or_default();
    let columns: String = COLUMNS
        .split(", ")
        .map(|c| format!("d.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut found = Vec::new();
    let mut total = 0usize;
    for team in teams {
        let count: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) {WHERE}"))
            .bind(&from)
            .bind(date(until))
            .bind(team)
            .fetch_one(&mut *conn)
            .await
            .context("Cannot count a team's deadlines")?;
        total += count as usize;
        let rows = sqlx::query(&format!(
            "SELECT {columns} {WHERE} ORDER BY d.due_on, d.id LIMIT $4"
        ))
        .bind(&from)
        .bind(date(until))
        .bind(team)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await
        .context("Cannot read a team's deadlines")?;
        for r in &rows {
            found.push(from_row(r)?);
        }
    }
    found.sort_by_key(|d| (d.due_on, d.id));
    found.truncate(limit.max(0) as usize);
    let mut out = Vec::with_capacity(found.len());
    for d in found {
        if let Some(case) = super::cases::by_id(conn, d.case_id).await? {
            out.push((d, case));
        }
    }
    Ok((out, total))
}
