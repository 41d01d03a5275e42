//! The transactional outbox: mail to send, queued in the transaction that
//! decided to send it, claimed and sent later by the delivery worker.
//!
//! States: `queued` (waiting for its next attempt, or claimed by a worker
//! until `claimed_until`), `sent`, `failed` (the dead letter: permanent
//! failure or retries exhausted; `postroom outbox retry` re-queues it) and
//! `bounced` (sent, then a bounce for it came back).

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Backend, Conn, parse_ts, ts};

#[derive(Debug)]
pub struct NewOutbox<'a> {
    pub case_id: Option<i64>,
    pub purpose: &'a str,
    /// Without angle brackets; chosen when the mail is queued and never
    /// changed, so a resend after an unclear outcome is the same mail.
    pub message_id: &'a str,
    pub envelope_from: &'a str,
    pub recipients: &'a [String],
    pub raw: &'a [u8],
    pub now: DateTime<Utc>,
}

pub async fn enqueue(conn: &mut Conn, m: &NewOutbox<'_>) -> Result<i64> {
    let row = sqlx::query(
        "INSERT INTO outbox (case_id, purpose, message_id, envelope_from, recipients, raw, status, attempts, \
         next_attempt_at, created_at, queued_at) VALUES ($1, $2, $3, $4, $5, $6, 'queued', 0, $7, $7, $7) RETURNING id",
    )
    .bind(m.case_id)
    .bind(m.purpose)
    .bind(m.message_id)
    .bind(m.envelope_from)
    .bind(serde_json::to_string(m.recipients)?)
    .bind(m.raw)
    .bind(ts(m.now))
    .fetch_one(&mut *conn)
    .await
    .context("Cannot queue the mail")?;
    Ok(row.try_get("id")?)
}

/// A mail claimed for sending.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub case_id: Option<i64>,
    pub purpose: String,
    pub message_id: String,
    pub envelope_from: String,
    pub recipients: Vec<String>,
    pub raw: Vec<u8>,
    /// Attempts including this one.
    pub attempts: i64,
    /// The start of the current retry window.
    pub queued_at: DateTime<Utc>,
    /// An earlier claim ended with no outcome recorded (its process died
    /// mid-send): this attempt may be the second copy of a mail the server
    /// accepted, with the same Message-ID.
    pub resend: bool,
}

/// Claims the mail due longest, for `lease`, counting the attempt
/// before it is made. On PostgreSQL, several instances claim side by side
/// (`FOR UPDATE SKIP LOCKED`); SQLite serialises writers anyway.
///
/// A claim ends when `claimed_until` passes, or as soon as the instance
/// that made it has not been seen since `gone_before` (it died mid-send).
/// A case's webhook events go in order: none is claimed while an earlier
/// one for the same case waits.
pub async fn claim_next(
    conn: &mut Conn,
    backend: Backend,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    instance: &str,
    gone_before: DateTime<Utc>,
) -> Result<Option<Claimed>> {
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let sql = format!(
        "UPDATE outbox SET claimed_until = $1, claimed_by = $3, attempts = attempts + 1, \
           resend = CASE WHEN claimed_until IS NOT NULL OR resend = 1 THEN 1 ELSE 0 END WHERE id = (\
           SELECT id FROM outbox WHERE status = 'queued' AND next_attempt_at <= $2 \
           AND (claimed_until IS NULL OR claimed_until < $2 OR claimed_by IS NULL \
                OR claimed_by NOT IN (SELECT id FROM instances WHERE seen_at >= $4 AND stopped_at IS NULL)) \
           AND (purpose <> 'webhook' OR NOT EXISTS (SELECT 1 FROM outbox AS earlier \
                WHERE earlier.purpose = 'webhook' AND earlier.case_id = outbox.case_id \
                AND earlier.status = 'queued' AND earlier.id < outbox.id)) \
           ORDER BY next_attempt_at, id LIMIT 1{lock}) \
         RETURNING id, case_id, purpose, message_id, envelope_from, recipients, raw, attempts, queued_at, resend"
    );
    let row = sqlx::query(&sql)
        .bind(ts(lease_until))
        .bind(ts(now))
        .bind(instance)
        .bind(ts(gone_before))
        .fetch_optional(&mut *conn)
        .await
        .context("Cannot claim mail from the outbox")?;
    let Some(r) = row else {
        return Ok(None);
    };
    let recipients: String = r.try_get("recipients")?;
    let queued: String = r.try_get("queued_at")?;
    Ok(Some(Claimed {
        id: r.try_get("id")?,
        case_id: r.try_get("case_id")?,
        purpose: r.try_get("purpose")?,
        message_id: r.try_get("message_id")?,
        envelope_from: r.try_get("envelope_from")?,
        recipients: serde_json::from_str(&recipients).context("Bad recipients in the outbox")?,
        raw: r.try_get("raw")?,
        attempts: r.try_get("attempts")?,
        queued_at: parse_ts(&queued)?,
        resend: r.try_get::<i64, _>("resend")? == 1,
    }))
}

pub async fn mark_sent(conn: &mut Conn, id: i64, at: DateTime<Utc>) -> Result<()> {
    sqlx::query("UPDATE outbox SET status = 'sent', sent_at = $1, claimed_until = NULL, last_error = NULL WHERE id = $2")
        .bind(ts(at))
        .bind(id)
        .execute(&mut *conn)
        .await
        .context("Cannot mark the mail sent")?;
    Ok(())
}

pub async fn schedule_retry(
    conn: &mut Conn,
    id: i64,
    next: DateTime<Utc>,
    error: &str,
) -> Result<()> {
    sqlx::query("UPDATE outbox SET next_attempt_at = $1, claimed_until = NULL, last_error = $2, resend = 0 WHERE id = $3")
        .bind(ts(next))
        .bind(error)
        .bind(id)
        .execute(&mut *conn)
        .await
        .context("Cannot schedule a retry")?;
    Ok(())
}

/// Puts a dead letter (or a bounced mail) back in the queue, due now, with a
/// fresh retry window. Returns false when there is no such mail, or it is
/// queued already or was sent.
pub async fn retry(conn: &mut Conn, id: i64, now: DateTime<Utc>) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE outbox SET status = 'queued', next_attempt_at = $1, queued_at = $1, claimed_until = NULL \
         WHERE id = $2 AND status IN ('failed', 'bounced')",
    )
    .bind(ts(now))
    .bind(id)
    .execute(&mut *conn)
    .await
    .context("Cannot retry the mail")?;
    Ok(done.rows_affected() == 1)
}

pub async fn mark_failed(conn: &mut Conn, id: i64, error: &str) -> Result<()> {
    sqlx::query(
        "UPDATE outbox SET status = 'failed', claimed_until = NULL, last_error = $1 WHERE id = $2",
    )
    .bind(error)
    .bind(id)
    .execute(&mut *conn)
    .await
    .context("Cannot move the mail to the dead letters")?;
    Ok(())
}

/// Mail waiting to be sent (queued, perhaps for a retry): how many, and
/// when the oldest was queued first.
pub async fn waiting(conn: &mut Conn) -> Result<(i64, Option<DateTime<Utc>>)> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM outbox WHERE status = 'queued'",
    )
    .fetch_one(&mut *conn)
    .await
    .context("Cannot count the mail waiting in the outbox")?;
    let oldest: Option<String> = row.try_get("oldest")?;
    Ok((
        row.try_get("n")?,
        oldest.as_deref().map(parse_ts).transpose()?,
    ))
}

/// How many mails of `purpose` went to `recipient` since `since`.
pub async fn count_recent(
    conn: &mut Conn,
    purpose: &str,
    recipient: &str,
    since: DateTime<Utc>,
) -> Result<i64> {
    let recipients = serde_json::to_string(&[recipient])?;
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM outbox WHERE purpose = $1 AND recipients = $2 AND created_at >= $3",
    )
    .bind(purpose)
    .bind(recipients)
    .bind(ts(since))
    .fetch_one(&mut *conn)
    .await
    .context("Cannot count recent mail")?;
    Ok(row.try_get("n")?)
}

/// An outbox row, for listings.
#[derive(Debug, Clone)]
pub struct OutboxRow {
    pub id: i64,
    pub case_id: Option<i64>,
    pub case_reference: Option<String>,
    pub purpose: String,
    pub message_id: String,
    pub recipients: Vec<String>,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: String,
    pub last_error: Option<String>,
    pub created_at: String,
    pub sent_at: Option<String>,
}

pub async fn list(conn: &mut Conn, status: Option<&str>) -> Result<Vec<OutboxRow>> {
    let rows = sqlx::query(&format!(
        "{LISTED} WHERE ($1 IS NULL OR o.status = $1) ORDER BY o.id"
    ))
    .bind(status)
    .fetch_all(&mut *conn)
    .await
    .context("Cannot list the outbox")?;
    rows.iter().map(listed).collect()
}

/// The mail postroom queued about one case, oldest first.
pub async fn of_case(conn: &mut Conn, case: i64) -> Result<Vec<OutboxRow>> {
    let rows = sqlx::query(&format!("{LISTED} WHERE o.case_id = $1 ORDER BY o.id"))
        .bind(case)
        .fetch_all(&mut *conn)
        .await
        .context("Cannot list a case's mail")?;
    rows.iter().map(listed).collect()
}

const LISTED: &str = "SELECT o.id, o.case_id, c.reference, o.purpose, o.message_id, o.recipients, o.status, o.attempts, \
     o.next_attempt_at, o.last_error, o.created_at, o.sent_at \
     FROM outbox o LEFT JOIN cases c ON c.id = o.case_id";

fn listed(r: &sqlx::any::AnyRow) -> Result<OutboxRow> {
    let recipients: String = r.try_get("recipients")?;
    Ok(OutboxRow {
        id: r.try_get("id")?,
        case_id: r.try_get("case_id")?,
        case_reference: r.try_get("reference")?,
        purpose: r.try_get("purpose")?,
        message_id: r.try_get("message_id")?,
        recipients: serde_json::from_str(&recipients)?,
        status: r.try_get("status")?,
        attempts: r.try_get("attempts")?,
        next_attempt_at: r.try_get("next_attempt_at")?,
        last_error: r.try_get("last_error")?,
        created_at: r.try_get("created_at")?,
        sent_at: r.try_get("sent_at")?,
    })
}

/// The raw bytes of a queued or sent mail.
pub async fn raw(conn: &mut Conn, id: i64) -> Result<Vec<u8>> {
    let row = sqlx::query("SELECT raw FROM outbox WHERE id = $1")
        .bind(id)
        .fetch_one(&mut *conn)
        .await
        .context("Cannot read the mail")?;
    Ok(row.try_get("raw")?)
}

/// The case of a mail postroom sent, by its Message-ID (a reply or a bounce
/// that names it).
pub async fn case_of_message_id(
    conn: &mut Conn,
    ids: &[String],
) -> Result<Option<(i64, Option<i64>)>> {
    for id in ids.iter().rev() {
        let row = sqlx::query("SELECT id, case_id FROM outbox WHERE message_id = $1")
            .bind(id.as_str())
            .fetch_optional(&mut *conn)
            .await
            .context("Cannot look up a sent mail")?;
        if let Some(r) = row {
            return Ok(Some((r.try_get("id")?, r.try_get("case_id")?)));
        }
    }
    Ok(None)
}

/// Marks a sent mail as bounced.
pub async fn mark_bounced(conn: &mut Conn, id: i64, detail: &str) -> Result<()> {
    sqlx::query(
        "UPDATE outbox SET status = 'bounced', last_error = $1 WHERE id = $2 AND status = 'sent'",
    )
    .bind(detail)
    .bind(id)
    .execute(&mut *conn)
    .await
    .context("Cannot mark the mail bounced")?;
    Ok(())
}

/// Ends every claim: for a single instance starting up (SQLite, under its
/// lock), a claim can only be left over from a process that died while
/// sending, and waiting out its lease would delay that mail for nothing.
/// Returns how many were released.
pub async fn release_claims(conn: &mut Conn) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE outbox SET claimed_until = NULL, resend = 1 WHERE status = 'queued' AND claimed_until IS NOT NULL",
    )
    .execute(&mut *conn)
    .await
    .context("Cannot release the outbox's claims")?;
    Ok(done.rows_affected())
}

/// Records that `instance` is alive (every few seconds), and forgets
/// instances not seen for a day.
pub async fn heartbeat(conn: &mut Conn, instance: &str, now: DateTime<Utc>) -> Result<()> {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    sqlx::query(
        "INSERT INTO instances (id, host, pid, started_at, seen_at) VALUES ($1, $2, $3, $4, $4) \
         ON CONFLICT (id) DO UPDATE SET seen_at = $4",
    )
    .bind(instance)
    .bind(host)
    .bind(i64::from(std::process::id()))
    .bind(ts(now))
    .execute(&mut *conn)
    .await
    .context("Cannot record that this instance is alive")?;
    sqlx::query("DELETE FROM instances WHERE seen_at < $1 AND id <> $2")
        .bind(ts(now - chrono::Duration::days(1)))
        .bind(instance)
        .execute(&mut *conn)
        .await
        .context("Cannot forget old instances")?;
    Ok(())
}

/// Records that `instance` stopped cleanly at `at`: its claims, if any,
/// end at once; its record says when postroom last ran.
pub async fn instance_stopped(conn: &mut Conn, instance: &str, at: DateTime<Utc>) -> Result<()> {
    sqlx::query("UPDATE instances SET stopped_at = $2, seen_at = $2 WHERE id = $1")
        .bind(instance)
        .bind(ts(at))
        .execute(&mut *conn)
        .await
        .context("Cannot record that this instance stopped")?;
    Ok(())
}

/// A postroom process that shares (or shared) the database.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Instance {
    pub id: String,
    pub host: String,
    pub pid: i64,
    #[serde(serialize_with = "super::ts_format::one")]
    pub started_at: DateTime<Utc>,
    #[serde(serialize_with = "super::ts_format::one")]
    pub seen_at: DateTime<Utc>,
    #[serde(serialize_with = "super::ts_format::opt")]
    pub stopped_at: Option<DateTime<Utc>>,
}

/// Every instance on record, the one seen last first.
pub async fn instances(conn: &mut Conn) -> Result<Vec<Instance>> {
    let rows = sqlx::query(
        "SELECT id, host, pid, started_at, seen_at, stopped_at FROM instances ORDER BY seen_at DESC, id",
    )
    .fetch_all(&mut *conn)
    .await
    .context("Cannot read the instances")?;
    rows.iter()
        .map(|r| {
            let stopped: Option<String> = r.try_get("stopped_at")?;
            Ok(Instance {
                id: r.try_get("id")?,
                host: r.try_get("host")?,
                pid: r.try_get("pid")?,
                started_at: parse_ts(&r.try_get::<String, _>("started_at")?)?,
                seen_at: parse_ts(&r.try_get::<String, _>("seen_at")?)?,
                stopped_at: stopped.as_deref().map(parse_ts).transpose()?,
            })
        })
        .collect()
}
