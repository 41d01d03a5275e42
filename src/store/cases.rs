//! Cases, their references and their audit trail.

use anyhow::{Context, Result};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use sqlx::Row;

use super::{Conn, date, parse_date, parse_ts, ts};
use crate::case::{CaseRef, Category, Kind, SendTopic, Status};

/// Allocates the next reference number of `year`, inside the caller's
/// transaction. The counter row stays locked until the transaction ends, so
/// concurrent writers queue behind each other and a rolled-back transaction
/// gives its number back: no gaps, no duplicates.
pub async fn allocate_reference(conn: &mut Conn, prefix: &str, year: i32) -> Result<CaseRef> {
    let row = sqlx::query(
        "INSERT INTO reference_counters (year, last) VALUES ($1, 1) \
         ON CONFLICT (year) DO UPDATE SET last = reference_counters.last + 1 RETURNING last",
    )
    .bind(i64::from(year))
    .fetch_one(&mut *conn)
    .await
    .context("Cannot allocate a case reference")?;
    let number: i64 = row.try_get("last")?;
    Ok(CaseRef::new(prefix, year, number))
}

/// A case about to be created.
#[derive(Debug, Clone)]
pub struct NewCase<'a> {
    pub reference: &'a CaseRef,
    pub status: &'a str,
    pub kind: &'a str,
    pub triage_reason: Option<&'a str>,
    pub category: Option<&'a str>,
    pub send_topic: Option<&'a str>,
    pub urgent: bool,
    pub from_mp_office: bool,
    pub mp_name: Option<&'a str>,
    pub constituency: Option<&'a str>,
    pub mp_reference: Option<&'a str>,
    pub correspondent: &'a str,
    pub subject: &'a str,
    pub team: Option<&'a str>,
    pub assignee: Option<&'a str>,
    pub policy: Option<&'a str>,
    pub tags: &'a [String],
    pub received_at: DateTime<Utc>,
    pub acknowledge_due: Option<NaiveDate>,
    pub response_due: Option<NaiveDate>,
    pub now: DateTime<Utc>,
}

pub async fn insert(conn: &mut Conn, c: &NewCase<'_>) -> Result<i64> {
    let row = sqlx::query(
        "INSERT INTO cases (reference, status, kind, triage_reason, category, send_topic, urgent, from_mp_office, \
         mp_name, constituency, mp_reference, correspondent, subject, team, assignee, policy, tags, received_at, \
         acknowledge_due, response_due, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $21) \
         RETURNING id",
    )
    .bind(c.reference.as_str())
    .bind(c.status)
    .bind(c.kind)
    .bind(c.triage_reason)
    .bind(c.category)
    .bind(c.send_topic)
    .bind(i64::from(c.urgent))
    .bind(i64::from(c.from_mp_office))
    .bind(c.mp_name)
    .bind(c.constituency)
    .bind(c.mp_reference)
    .bind(c.correspondent)
    .bind(c.subject)
    .bind(c.team)
    .bind(c.assignee)
    .bind(c.policy)
    .bind(serde_json::to_string(c.tags)?)
    .bind(ts(c.received_at))
    .bind(c.acknowledge_due.map(date))
    .bind(c.response_due.map(date))
    .bind(ts(c.now))
    .fetch_one(&mut *conn)
    .await
    .context("Cannot create the case")?;
    Ok(row.try_get("id")?)
}

/// Appends an event to a case's audit trail.
pub async fn add_event(
    conn: &mut Conn,
    case: i64,
    at: DateTime<Utc>,
    actor: &str,
    kind: &str,
    message: Option<i64>,
    detail: &Value,
) -> Result<()> {
    sqlx::query("INSERT INTO case_events (case_id, at, actor, kind, message_id, detail) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(case)
        .bind(ts(at))
        .bind(actor)
        .bind(kind)
        .bind(message)
        .bind(detail.to_string())
        .execute(&mut *conn)
        .await
        .with_context(|| format!("Cannot record the {kind} event"))?;
    // The case's updated_at follows, by a trigger (migration 0011).
    Ok(())
}

pub async fn set_acknowledged(conn: &mut Conn, case: i64, at: DateTime<Utc>) -> Result<()> {
    sqlx::query("UPDATE cases SET acknowledged_at = $1 WHERE id = $2 AND acknowledged_at IS NULL")
        .bind(ts(at))
        .bind(case)
        .execute(&mut *conn)
        .await
        .context("Cannot mark the case acknowledged")?;
    Ok(())
}

/// Pauses (`Some`) or resumes (`None`) a case's clocks.
pub async fn set_paused(
    conn: &mut Conn,
    case: i64,
    paused: Option<(DateTime<Utc>, &str)>,
) -> Result<()> {
    sqlx::query("UPDATE cases SET paused_at = $1, pause_reason = $2 WHERE id = $3")
        .bind(paused.map(|(at, _)| ts(at)))
        .bind(paused.map(|(_, why)| why.to_string()))
        .bind(case)
        .execute(&mut *conn)
        .await
        .context("Cannot pause or resume the case")?;
    Ok(())
}

/// Sets a case's status; `answered` and `closed` also stamp their time.
pub async fn set_status(
    conn: &mut Conn,
    case: i64,
    status: Status,
    at: DateTime<Utc>,
) -> Result<()> {
    let column = match status {
        Status::Answered => Some("answered_at"),
        Status::Closed => Some("closed_at"),
        Status::Open | Status::Triage => None,
    };
    let sql = match column {
        Some(c) => format!("UPDATE cases SET status = $1, {c} = COALESCE({c}, $2) WHERE id = $3"),
        None => "UPDATE cases SET status = $1, updated_at = $2 WHERE id = $3".to_string(),
    };
    sqlx::query(&sql)
        .bind(status.as_str())
        .bind(ts(at))
        .bind(case)
        .execute(&mut *conn)
        .await
        .context("Cannot change the case's status")?;
    Ok(())
}

/// The due dates a case shows (from its deadlines).
pub async fn set_due_dates(
    conn: &mut Conn,
    case: i64,
    acknowledge_due: Option<chrono::NaiveDate>,
    response_due: Option<chrono::NaiveDate>,
) -> Result<()> {
    let date = |d: Option<chrono::NaiveDate>| d.map(|d| d.format("%Y-%m-%d").to_string());
    sqlx::query(
        "UPDATE cases SET acknowledge_due = COALESCE($1, acknowledge_due), response_due = COALESCE($2, response_due) WHERE id = $3",
    )
    .bind(date(acknowledge_due))
    .bind(date(response_due))
    .bind(case)
    .execute(&mut *conn)
    .await
    .context("Cannot change the case's due dates")?;
    Ok(())
}

/// A case as listings and threading see it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CaseRow {
    pub id: i64,
    pub reference: String,
    pub status: Status,
    pub kind: Kind,
    pub triage_reason: Option<String>,
    pub category: Option<Category>,
    pub send_topic: Option<SendTopic>,
    pub urgent: bool,
    pub from_mp_office: bool,
    pub mp_name: Option<String>,
    pub constituency: Option<String>,
    pub mp_reference: Option<String>,
    pub correspondent: String,
    pub subject: String,
    pub team: Option<String>,
    pub assignee: Option<String>,
    #[serde(serialize_with = "super::ts_format::one")]
    pub received_at: DateTime<Utc>,
    pub acknowledge_due: Option<NaiveDate>,
    pub response_due: Option<NaiveDate>,
    #[serde(serialize_with = "super::ts_format::opt")]
    pub acknowledged_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "super::ts_format::opt")]
    pub answered_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "super::ts_format::opt")]
    pub closed_at: Option<DateTime<Utc>>,
    /// Since when the case's clocks are paused, and why.
    #[serde(serialize_with = "super::ts_format::opt")]
    pub paused_at: Option<DateTime<Utc>>,
    pub pause_reason: Option<String>,
    pub policy: Option<String>,
    #[serde(serialize_with = "super::ts_format::one")]
    pub created_at: DateTime<Utc>,
}

impl CaseRow {
    /// Whether the case's clocks run: not paused, not answered, not
    /// closed. Only then do its deadlines remind anyone.
    pub fn clocks_run(&self) -> bool {
        self.paused_at.is_none() && !matches!(self.status, Status::Answered | Status::Closed)
    }
}

pub(crate) const COLUMNS: &str = "id, reference, status, kind, triage_reason, category, send_topic, urgent, from_mp_office, \
    mp_name, constituency, mp_reference, correspondent, subject, team, assignee, received_at, acknowledge_due, \
    response_due, acknowledged_at, answered_at, closed_at, paused_at, pause_reason, policy, created_at";

/// A closed-set word from a column (`status`, `kind`, `category`): a value
/// postroom does not know is an error, not a guess.
pub(crate) fn word<T>(
    r: &sqlx::any::AnyRow,
    column: &str,
    parse: fn(&str) -> Option<T>,
) -> Result<Option<T>> {
    let value: Option<String> = r.try_get(column)?;
    value
        .map(|v| {
            parse(&v).with_context(|| format!("A case's {column} {v:?} is not one postroom knows"))
        })
        .transpose()
}

/// A timestamp or date column, parsed.
pub(crate) fn when<T>(
    r: &sqlx::any::AnyRow,
    column: &str,
    parse: fn(&str) -> Result<T>,
) -> Result<Option<T>> {
    let value: Option<String> = r.try_get(column)?;
    value.as_deref().map(parse).transpose()
}

pub(crate) fn from_row(r: &sqlx::any::AnyRow) -> Result<CaseRow> {
    let required = |column: &str| format!("A case has no {column}");
    Ok(CaseRow {
        id: r.try_get("id")?,
        reference: r.try_get("reference")?,
        status: word(r, "status", Status::parse)?.with_context(|| required("status"))?,
        kind: word(r, "kind", Kind::parse)?.with_context(|| required("kind"))?,
        triage_reason: r.try_get("triage_reason")?,
        category: word(r, "category", Category::parse)?,
        send_topic: word(r, "send_topic", SendTopic::parse)?,
        urgent: r.try_get::<i64, _>("urgent")? != 0,
        from_mp_office: r.try_get::<i64, _>("from_mp_office")? != 0,
        mp_name: r.try_get("mp_name")?,
        constituency: r.try_get("constituency")?,
        mp_reference: r.try_get("mp_reference")?,
        correspondent: r.try_get("correspondent")?,
        subject: r.try_get("subject")?,
        team: r.try_get("team")?,
        assignee: r.try_get("assignee")?,
        received_at: when(r, "received_at", parse_ts)?.with_context(|| required("received_at"))?,
        acknowledge_due: when(r, "acknowledge_due", parse_date)?,
        response_due: when(r, "response_due", parse_date)?,
        acknowledged_at: when(r, "acknowledged_at", parse_ts)?,
        answered_at: when(r, "answered_at", parse_ts)?,
        closed_at: when(r, "closed_at", parse_ts)?,
        paused_at: when(r, "paused_at", parse_ts)?,
        pause_reason: r.try_get("pause_reason")?,
        policy: r.try_get("policy")?,
        created_at: when(r, "created_at", parse_ts)?.with_context(|| required("created_at"))?,
    })
}

pub async fn by_id(conn: &mut Conn, id: i64) -> Result<Option<CaseRow>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM cases WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .context("Cannot read a case")?;
    row.as_ref().map(from_row).transpose()
}

/// The case `reference` names, in any case and with spaces around it
/// ("mpe-2026-00001" is MPE-2026-00001).
pub async fn by_reference(conn: &mut Conn, reference: &str) -> Result<Option<CaseRow>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM cases WHERE reference = $1"))
        .bind(reference.trim().to_uppercase())
        .fetch_optional(&mut *conn)
        .await
        .context("Cannot read a case")?;
    row.as_ref().map(from_row).transpose()
}

/// The most recent open case of an MP office with this MP reference.
pub async fn open_by_mp_reference(
    conn: &mut Conn,
    mp_reference: &str,
    mp_name: &str,
) -> Result<Option<CaseRow>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM cases WHERE mp_reference = $1 AND mp_name = $2 AND status IN ('open', 'triage') \
         ORDER BY id DESC LIMIT 1"
    ))
    .bind(mp_reference)
    .bind(mp_name)
    .fetch_optional(&mut *conn)
    .await
    .context("Cannot look up an MP reference")?;
    row.as_ref().map(from_row).transpose()
}

/// Whether `address` is on the case: its correspondent, or the sender of any
/// of its messages.
pub async fn has_participant(conn: &mut Conn, case: i64, address: &str) -> Result<bool> {
    let row = sqlx::query(
        "SELECT 1 AS hit FROM cases WHERE id = $1 AND correspondent = $2 \
         UNION SELECT 1 AS hit FROM messages WHERE case_id = $1 AND from_address = $2",
    )
    .bind(case)
    .bind(address)
    .fetch_optional(&mut *conn)
    .await
    .context("Cannot check who is on a case")?;
    Ok(row.is_some())
}

pub async fn all(conn: &mut Conn) -> Result<Vec<CaseRow>> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM cases ORDER BY id"))
        .fetch_all(&mut *conn)
        .await
        .context("Cannot list cases")?;
    rows.iter().map(from_row).collect()
}

/// Gives a case to `assignee` (and `team`, when given).
pub async fn set_assignee(
    conn: &mut Conn,
    case: i64,
    assignee: &str,
    team: Option<&str>,
) -> Result<()> {
    sqlx::query("UPDATE cases SET assignee = $1, team = COALESCE($2, team) WHERE id = $3")
        .bind(assignee)
        .bind(team)
        .bind(case)
        .execute(&mut *conn)
        .await
        .context("Cannot assign the case")?;
    Ok(())
}

/// Corrects what a case is about.
pub async fn set_classification(
    conn: &mut Conn,
    case: i64,
    kind: &str,
    category: Option<&str>,
    send_topic: Option<&str>,
    urgent: bool,
) -> Result<()> {
    sqlx::query(
        "UPDATE cases SET kind = $5, category = $1, send_topic = $2, urgent = $3 WHERE id = $4",
    )
    .bind(category)
    .bind(send_topic)
    .bind(i64::from(urgent))
    .bind(case)
    .bind(kind)
    .execute(&mut *conn)
    .await
    .context("Cannot recategorise the case")?;
    Ok(())
}

/// Opens a closed or answered case again.
pub async fn reopen(conn: &mut Conn, case: i64, at: DateTime<Utc>) -> Result<()> {
    sqlx::query(
        "UPDATE cases SET status = 'open', answered_at = NULL, closed_at = NULL, updated_at = $1 WHERE id = $2",
    )
    .bind(ts(at))
    .bind(case)
    .execute(&mut *conn)
    .await
    .context("Cannot reopen the case")?;
    Ok(())
}

/// One entry of a case's audit trail.
#[derive(Debug, Clone)]
pub struct Event {
    pub at: String,
    pub actor: String,
    pub kind: String,
    pub message_id: Option<i64>,
    pub detail: String,
}

pub async fn events(conn: &mut Conn, case: i64) -> Result<Vec<Event>> {
    let rows = sqlx::query("SELECT at, actor, kind, message_id, detail FROM case_events WHERE case_id = $1 ORDER BY id")
        .bind(case)
        .fetch_all(&mut *conn)
        .await
        .context("Cannot read the case's events")?;
    rows.iter()
        .map(|r| {
            Ok(Event {
                at: r.try_get("at")?,
                actor: r.try_get("actor")?,
                kind: r.try_get("kind")?,
                message_id: r.try_get("message_id")?,
                detail: r.try_get("detail")?,
            })
        })
        .collect()
}

/// The caseworker the team's most recent assigned case went to.
pub async fn last_assignee(conn: &mut Conn, team: &str) -> Result<Option<String>> {
    let row = sqlx::query("SELECT assignee FROM cases WHERE team = $1 AND assignee IS NOT NULL ORDER BY id DESC LIMIT 1")
        .bind(team)
        .fetch_optional(&mut *conn)
        .await
        .context("Cannot read the team's last assignment")?;
    Ok(match row {
        Some(r) => r.try_get("assignee")?,
        None => None,
    })
}

/// How many open cases a caseworker holds.
pub async fn open_caseload(conn: &mut Conn, assignee: &str) -> Result<i64> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM cases WHERE assignee = $1 AND status IN ('open', 'triage')",
    )
    .bind(assignee)
    .fetch_one(&mut *conn)
    .await
    .context("Cannot count a caseload")?;
    Ok(row.try_get("n")?)
}
