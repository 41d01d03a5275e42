//! Checkpoints of IMAP folders: (UIDVALIDITY, last UID stored) per folder,
//! and what counts as history.

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Conn, parse_ts, ts};

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
pub async fn reset(
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
pub async fn advance(
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
