//! Checkpoints of folder sources: which files have been stored.
//!
//! A file is recorded in the same transaction that stores its message, so a
//! crash leaves it either unrecorded (and read again) or recorded (and only
//! moved out of the way again).

use std::collections::HashSet;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Conn, ts};

/// Records a file as stored. Returns false when it already was.
pub async fn record_file(
    conn: &mut Conn,
    source: &str,
    name: &str,
    sha256: &str,
    at: DateTime<Utc>,
) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO source_files (source, name, sha256, stored_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (source, name, sha256) DO NOTHING",
    )
    .bind(source)
    .bind(name)
    .bind(sha256)
    .bind(ts(at))
    .execute(&mut *conn)
    .await
    .context("Cannot record the source file")?;
    Ok(done.rows_affected() == 1)
}

/// The names of the files of `source` already stored.
pub async fn stored_names(conn: &mut Conn, source: &str) -> Result<HashSet<String>> {
    let rows = sqlx::query("SELECT name FROM source_files WHERE source = $1")
        .bind(source)
        .fetch_all(&mut *conn)
        .await
        .context("Cannot read the source's checkpoint")?;
    rows.iter().map(|r| Ok(r.try_get("name")?)).collect()
}
