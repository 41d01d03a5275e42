//! Where each source has got to, recorded in the transaction that stores
//! each message, so a crash leaves a message either unrecorded (and read
//! again) or recorded (and only moved or marked again):
//! - folder sources: which files have been stored;
//! - IMAP folders: (UIDVALIDITY, last UID stored) per folder, and what
//!   counts as history.

use std::collections::HashSet;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Conn, parse_ts, ts};

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

/// A folder's checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folder {
    pub uidvalidity: u32,
    pub last_uid: u32,
    /// Mail that arrived before this moment is history.
    pub since: DateTime<Utc>,
    /// Mail with a UID below this one is history (0: none).
    pub history_below: u32,
}

impl Folder {
    /// Whether a message is history: imported without acknowledgements.
    pub fn is_history(&self, uid: u32, arrived: Option<DateTime<Utc>>) -> bool {
        uid < self.history_below || arrived.is_some_and(|a| a < self.since)
    }
}

pub async fn folder(conn: &mut Conn, source: &str, folder: &str) -> Result<Option<Folder>> {
    let row = sqlx::query("SELECT uidvalidity, last_uid, since, history_below FROM imap_folders WHERE source = $1 AND folder = $2")
        .bind(source)
        .bind(folder)
        .fetch_optional(&mut *conn)
        .await
        .context("Cannot read an IMAP checkpoint")?;
    let Some(r) = row else {
        return Ok(None);
    };
    let since: String = r.try_get("since")?;
    Ok(Some(Folder {
        uidvalidity: r.try_get::<i64, _>("uidvalidity")? as u32,
        last_uid: r.try_get::<i64, _>("last_uid")? as u32,
        since: parse_ts(&since)?,
        history_below: r.try_get::<i64, _>("history_below")? as u32,
    }))
}

/// Starts a folder's checkpoint, or restarts it for a new UIDVALIDITY (the
/// folder is read again from its first message; the store's SHA-256 and
/// Message-ID checks keep what was stored before from being stored twice,
/// and the old UIDs no longer say what is history).
pub async fn reset_folder(
    conn: &mut Conn,
    source: &str,
    folder: &str,
    uidvalidity: u32,
    since: DateTime<Utc>,
    history_below: u32,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO imap_folders (source, folder, uidvalidity, last_uid, since, history_below) VALUES ($1, $2, $3, 0, $4, $5) \
         ON CONFLICT (source, folder) DO UPDATE SET uidvalidity = $3, last_uid = 0, history_below = 0",
    )
    .bind(source)
    .bind(folder)
    .bind(i64::from(uidvalidity))
    .bind(ts(since))
    .bind(i64::from(history_below))
    .execute(&mut *conn)
    .await
    .context("Cannot start an IMAP checkpoint")?;
    Ok(())
}

/// Advances the checkpoint to `uid`, inside the transaction that stores the
/// message. Returns false when the message is stored already (its UID is not
/// past the checkpoint) or the folder's UIDVALIDITY has changed.
pub async fn advance_folder(
    conn: &mut Conn,
    source: &str,
    folder: &str,
    uidvalidity: u32,
    uid: u32,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE imap_folders SET last_uid = $1 WHERE source = $2 AND folder = $3 AND uidvalidity = $4 AND last_uid < $1",
    )
    .bind(i64::from(uid))
    .bind(source)
    .bind(folder)
    .bind(i64::from(uidvalidity))
    .execute(&mut *conn)
    .await
    .context("Cannot advance an IMAP checkpoint")?;
    Ok(done.rows_affected() == 1)
}
