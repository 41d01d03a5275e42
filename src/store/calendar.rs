//! Bank-holiday feeds loaded with `postroom calendar update`.

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Conn, ts};

/// Stores a feed; returns its id (the calendar's version).
pub async fn add_feed(conn: &mut Conn, feed: &str, at: DateTime<Utc>) -> Result<i64> {
    let row =
        sqlx::query("INSERT INTO calendar_feeds (loaded_at, feed) VALUES ($1, $2) RETURNING id")
            .bind(ts(at))
            .bind(feed)
            .fetch_one(&mut *conn)
            .await
            .context("Cannot store the bank-holiday feed")?;
    Ok(row.try_get("id")?)
}

/// Every stored feed, oldest first, and the newest id (0: none).
pub async fn feeds(conn: &mut Conn) -> Result<(i64, Vec<String>)> {
    let rows = sqlx::query("SELECT id, feed FROM calendar_feeds ORDER BY id")
        .fetch_all(&mut *conn)
        .await
        .context("Cannot read the bank-holiday feeds")?;
    let mut last = 0;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        last = r.try_get("id")?;
        out.push(r.try_get("feed")?);
    }
    Ok((last, out))
}

/// The newest feed's id (0: none): cheap, for noticing an update.
pub async fn version(conn: &mut Conn) -> Result<i64> {
    let row = sqlx::query("SELECT COALESCE(MAX(id), 0) AS v FROM calendar_feeds")
        .fetch_one(&mut *conn)
        .await
        .context("Cannot read the bank-holiday feeds")?;
    Ok(row.try_get("v")?)
}
