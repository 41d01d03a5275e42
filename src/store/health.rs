//! How each source is doing: the last successful poll, the last failure and
//! why, and whether the admin has been alerted about the current stall.

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Conn, parse_ts, ts};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceHealth {
    pub source: String,
    pub last_ok: Option<DateTime<Utc>>,
    pub last_failure: Option<DateTime<Utc>>,
    /// Why the last poll failed: an error message, never message content.
    pub failure: Option<String>,
    pub alerted_at: Option<DateTime<Utc>>,
}

/// Records a successful poll. Returns when the admin had been alerted about
/// the stall this ends, if they had.
pub async fn poll_ok(
    conn: &mut Conn,
    source: &str,
    at: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>> {
    let before = get(conn, source).await?;
    sqlx::query(
        "INSERT INTO source_health (source, last_ok) VALUES ($1, $2) \
         ON CONFLICT (source) DO UPDATE SET last_ok = $2, alerted_at = NULL",
    )
    .bind(source)
    .bind(ts(at))
    .execute(&mut *conn)
    .await
    .context("Cannot record a successful poll")?;
    Ok(before.and_then(|b| b.alerted_at))
}

/// Records a failed poll and why.
pub async fn poll_failed(
    conn: &mut Conn,
    source: &str,
    at: DateTime<Utc>,
    why: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO source_health (source, last_failure, failure) VALUES ($1, $2, $3) \
         ON CONFLICT (source) DO UPDATE SET last_failure = $2, failure = $3",
    )
    .bind(source)
    .bind(ts(at))
    .bind(why)
    .execute(&mut *conn)
    .await
    .context("Cannot record a failed poll")?;
    Ok(())
}

/// Marks the current stall of `source` as alerted. Returns false when it
/// already was (another instance, or an earlier round, sent the alert), so
/// that exactly one alert goes out per stall.
pub async fn claim_alert(conn: &mut Conn, source: &str, at: DateTime<Utc>) -> Result<bool> {
    sqlx::query("INSERT INTO source_health (source) VALUES ($1) ON CONFLICT (source) DO NOTHING")
        .bind(source)
        .execute(&mut *conn)
        .await
        .context("Cannot record a source")?;
    let done = sqlx::query(
        "UPDATE source_health SET alerted_at = $2 WHERE source = $1 AND alerted_at IS NULL",
    )
    .bind(source)
    .bind(ts(at))
    .execute(&mut *conn)
    .await
    .context("Cannot record a stall alert")?;
    Ok(done.rows_affected() == 1)
}

pub async fn get(conn: &mut Conn, source: &str) -> Result<Option<SourceHealth>> {
    let row = sqlx::query(
        "SELECT source, last_ok, last_failure, failure, alerted_at FROM source_health WHERE source = $1",
    )
    .bind(source)
    .fetch_optional(&mut *conn)
    .await
    .context("Cannot read a source's health")?;
    row.map(|r| from_row(&r)).transpose()
}

pub async fn all(conn: &mut Conn) -> Result<Vec<SourceHealth>> {
    let rows = sqlx::query(
        "SELECT source, last_ok, last_failure, failure, alerted_at FROM source_health ORDER BY source",
    )
    .fetch_all(&mut *conn)
    .await
    .context("Cannot read the sources' health")?;
    rows.iter().map(from_row).collect()
}

fn from_row(r: &sqlx::any::AnyRow) -> Result<SourceHealth> {
    let time = |name: &str| -> Result<Option<DateTime<Utc>>> {
        r.try_get::<Option<String>, _>(name)?
            .map(|s| parse_ts(&s))
            .transpose()
    };
    Ok(SourceHealth {
        source: r.try_get("source")?,
        last_ok: time("last_ok")?,
        last_failure: time("last_failure")?,
        failure: r.try_get("failure")?,
        alerted_at: time("alerted_at")?,
    })
}
