//! Deleting records under the retention policy, and what stays of them:
//! one anonymous statistics row per deleted case.

use anyhow::{Context, Result};
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Row;

use super::{Conn, ts};

/// Cases answered or closed before `before`, not on hold: id and reference,
/// oldest first, at most `limit`.
pub async fn due_cases(
    conn: &mut Conn,
    before: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<(i64, String)>> {
    let rows = sqlx::query(
        "SELECT id, reference FROM cases \
         WHERE status IN ('answered', 'closed') AND hold_reason IS NULL \
           AND COALESCE(closed_at, answered_at) < $1 \
         ORDER BY id LIMIT $2",
    )
    .bind(ts(before))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await
    .context("Cannot find the cases retention deletes")?;
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("reference")?)))
        .collect()
}

/// Deletes a case with everything it holds (messages with their bytes and
/// text, events, deadlines, mail), leaving a statistics row. Returns the
/// number of messages deleted.
pub async fn retire_case(conn: &mut Conn, case: i64, now: DateTime<Utc>) -> Result<u64> {
    sqlx::query(
        "INSERT INTO case_statistics (kind, category, send_topic, urgent, from_mp_office, mp_name, \
         constituency, team, policy, received_at, acknowledge_due, response_due, acknowledged_at, \
         answered_at, closed_at, chasers, retired_at) \
         SELECT kind, category, send_topic, urgent, from_mp_office, mp_name, constituency, team, \
         policy, received_at, acknowledge_due, response_due, acknowledged_at, answered_at, closed_at, \
         (SELECT COUNT(*) FROM case_events e WHERE e.case_id = cases.id AND e.kind = 'chaser'), $2 \
         FROM cases WHERE id = $1",
    )
    .bind(case)
    .bind(ts(now))
    .execute(&mut *conn)
    .await
    .context("Cannot write the case's statistics row")?;
    sqlx::query(
        "INSERT INTO clock_statistics (name, category, due_on, met_at, retired_at) \
         SELECT d.name, c.category, d.due_on, d.met_at, $2 FROM deadlines d JOIN cases c ON c.id = d.case_id \
         WHERE d.case_id = $1 AND d.kind = 'statutory'",
    )
    .bind(case)
    .bind(ts(now))
    .execute(&mut *conn)
    .await
    .context("Cannot keep the case's statutory clocks for the figures")?;
    let messages = delete_messages(conn, "case_id = $1", case, now).await?;
    for sql in [
        "DELETE FROM case_events WHERE case_id = $1",
        "DELETE FROM deadlines WHERE case_id = $1",
        "DELETE FROM outbox WHERE case_id = $1",
    ] {
        sqlx::query(sql)
            .bind(case)
            .execute(&mut *conn)
            .await
            .context("Cannot delete a retired case's records")?;
    }
    sqlx::query("DELETE FROM cases WHERE id = $1")
        .bind(case)
        .execute(&mut *conn)
        .await
        .context("Cannot delete a retired case")?;
    Ok(messages)
}

/// Messages on no case stored before `before`, at most `limit`. Stored,
/// not received: a message imported today with an old date is kept its
/// full time.
pub async fn due_unfiled(conn: &mut Conn, before: DateTime<Utc>, limit: i64) -> Result<Vec<i64>> {
    let rows = sqlx::query(
        "SELECT id FROM messages WHERE case_id IS NULL AND stored_at < $1 ORDER BY id LIMIT $2",
    )
    .bind(ts(before))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await
    .context("Cannot find the unfiled messages retention deletes")?;
    rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
}

/// Deletes one message on no case, with its bytes and text.
pub async fn delete_message(conn: &mut Conn, message: i64, now: DateTime<Utc>) -> Result<()> {
    delete_messages(conn, "id = $1 AND case_id IS NULL", message, now).await?;
    Ok(())
}

/// Deletes the messages `filter` (on `messages`, with `id` as `$1`)
/// selects, with their bytes and text, keeping only each one's SHA-256 in
/// `retired_messages`; events that pointed at them stay, without the
/// pointer. Returns how many went.
async fn delete_messages(
    conn: &mut Conn,
    filter: &str,
    id: i64,
    now: DateTime<Utc>,
) -> Result<u64> {
    let selected = format!("(SELECT id FROM messages WHERE {filter})");
    sqlx::query(&format!(
        "INSERT INTO retired_messages (sha256, retired_at) \
         SELECT sha256, $2 FROM messages WHERE {filter} ON CONFLICT (sha256) DO NOTHING"
    ))
    .bind(id)
    .bind(ts(now))
    .execute(&mut *conn)
    .await
    .context("Cannot record the retired messages")?;
    for sql in [
        format!("DELETE FROM message_raw WHERE message_id IN {selected}"),
        format!("DELETE FROM message_parts WHERE message_id IN {selected}"),
        format!("UPDATE case_events SET message_id = NULL WHERE message_id IN {selected}"),
    ] {
        sqlx::query(&sql)
            .bind(id)
            .execute(&mut *conn)
            .await
            .context("Cannot delete a retired message's bytes and text")?;
    }
    let done = sqlx::query(&format!("DELETE FROM messages WHERE {filter}"))
        .bind(id)
        .execute(&mut *conn)
        .await
        .context("Cannot delete retired messages")?;
    Ok(done.rows_affected())
}

/// Postroom's own finished mail on no case (digests, alerts), sent or given
/// up on before `before`: counted, or deleted when `delete`.
pub async fn sent_mail(conn: &mut Conn, before: DateTime<Utc>, delete: bool) -> Result<u64> {
    let filter = "FROM outbox WHERE case_id IS NULL AND status IN ('sent', 'failed', 'bounced') \
                  AND COALESCE(sent_at, created_at) < $1";
    if delete {
        let done = sqlx::query(&format!("DELETE {filter}"))
            .bind(ts(before))
            .execute(&mut *conn)
            .await
            .context("Cannot delete old sent mail")?;
        Ok(done.rows_affected())
    } else {
        let row = sqlx::query(&format!("SELECT COUNT(*) AS n {filter}"))
            .bind(ts(before))
            .fetch_one(&mut *conn)
            .await
            .context("Cannot count old sent mail")?;
        Ok(row.try_get::<i64, _>("n")? as u64)
    }
}

/// Messages on the given cases (for a dry run's count).
pub async fn count_messages_of(conn: &mut Conn, cases: &[i64]) -> Result<u64> {
    let mut n = 0u64;
    for case in cases {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM messages WHERE case_id = $1")
            .bind(case)
            .fetch_one(&mut *conn)
            .await?;
        n += row.try_get::<i64, _>("n")? as u64;
    }
    Ok(n)
}

/// Claims today's daily run; false when an instance already ran it.
pub async fn claim_daily(
    conn: &mut Conn,
    on: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Option<i64>> {
    let row = sqlx::query(
        "INSERT INTO retention_runs (run_on, actor, dry_run, started_at) VALUES ($1, 'postroom', 0, $2) \
         ON CONFLICT (run_on) WHERE actor = 'postroom' DO NOTHING RETURNING id",
    )
    .bind(on.to_string())
    .bind(ts(now))
    .fetch_optional(&mut *conn)
    .await
    .context("Cannot claim the daily retention run")?;
    row.map(|r| Ok(r.try_get("id")?)).transpose()
}

/// Records a run started by a person (or a dry run).
pub async fn start_run(
    conn: &mut Conn,
    on: NaiveDate,
    actor: &str,
    dry_run: bool,
    now: DateTime<Utc>,
) -> Result<i64> {
    let row = sqlx::query(
        "INSERT INTO retention_runs (run_on, actor, dry_run, started_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(on.to_string())
    .bind(actor)
    .bind(i64::from(dry_run))
    .bind(ts(now))
    .fetch_one(&mut *conn)
    .await
    .context("Cannot record the retention run")?;
    Ok(row.try_get("id")?)
}

/// What a run deleted (or, dry, would delete).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub cases: u64,
    pub messages: u64,
    pub unfiled_messages: u64,
    pub sent_mail: u64,
}

pub async fn finish_run(
    conn: &mut Conn,
    run: i64,
    counts: &Counts,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "UPDATE retention_runs SET finished_at = $1, cases = $2, messages = $3, \
         unfiled_messages = $4, sent_mail = $5 WHERE id = $6",
    )
    .bind(ts(now))
    .bind(counts.cases as i64)
    .bind(counts.messages as i64)
    .bind(counts.unfiled_messages as i64)
    .bind(counts.sent_mail as i64)
    .bind(run)
    .execute(&mut *conn)
    .await
    .context("Cannot record what the retention run did")?;
    Ok(())
}

/// Puts a case on hold (`Some(reason)`) or lifts the hold (`None`).
pub async fn set_hold(conn: &mut Conn, case: i64, reason: Option<&str>) -> Result<()> {
    sqlx::query("UPDATE cases SET hold_reason = $1 WHERE id = $2")
        .bind(reason)
        .bind(case)
        .execute(&mut *conn)
        .await
        .context("Cannot set the case's hold")?;
    Ok(())
}

/// Why a case is on hold, when it is.
pub async fn hold_of(conn: &mut Conn, case: i64) -> Result<Option<String>> {
    let row = sqlx::query("SELECT hold_reason FROM cases WHERE id = $1")
        .bind(case)
        .fetch_optional(&mut *conn)
        .await
        .context("Cannot read the case's hold")?;
    Ok(row
        .map(|r| r.try_get::<Option<String>, _>("hold_reason"))
        .transpose()?
        .flatten())
}
