//! Stored messages: their exact bytes, what was read of them, and the
//! decision made about them.

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Conn, ts};

/// A message about to be stored.
#[derive(Debug)]
pub struct NewMessage<'a> {
    pub sha256: &'a str,
    pub message_id: Option<&'a str>,
    pub source: &'a str,
    pub origin: &'a str,
    pub received_at: DateTime<Utc>,
    pub stored_at: DateTime<Utc>,
    pub from_address: &'a str,
    pub subject: &'a str,
    pub parse_status: &'a str,
    pub kind: &'a str,
    /// The decision, as JSON.
    pub decision: &'a str,
    pub raw: &'a [u8],
}

/// A piece of text read from a message.
#[derive(Debug)]
pub struct NewPart<'a> {
    pub name: &'a str,
    pub content_type: &'a str,
    pub size: usize,
    pub text_source: Option<&'a str>,
    pub text: Option<&'a str>,
    pub note: Option<&'a str>,
}

/// Bytes per row of `message_raw`.
pub const RAW_CHUNK: usize = 1 << 20;

/// Stores a message and its bytes unless the same bytes are already stored
/// (or were, and retention deleted them). Returns the new row's id, or
/// `None` for a byte-identical re-delivery.
pub async fn insert(conn: &mut Conn, m: &NewMessage<'_>) -> Result<Option<i64>> {
    let row = sqlx::query(
        "INSERT INTO messages (sha256, message_id, source, origin, received_at, stored_at, \
         from_address, subject, parse_status, kind, decision, deliveries, size) \
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $12 \
         WHERE NOT EXISTS (SELECT 1 FROM retired_messages WHERE sha256 = $1) \
         ON CONFLICT (sha256) DO NOTHING RETURNING id",
    )
    .bind(m.sha256)
    .bind(m.message_id)
    .bind(m.source)
    .bind(m.origin)
    .bind(ts(m.received_at))
    .bind(ts(m.stored_at))
    .bind(m.from_address)
    .bind(m.subject)
    .bind(m.parse_status)
    .bind(m.kind)
    .bind(m.decision)
    .bind(m.raw.len() as i64)
    .fetch_optional(&mut *conn)
    .await
    .context("Cannot store the message")?;
    let Some(row) = row else {
        return Ok(None);
    };
    let id: i64 = row.try_get("id")?;
    // An empty message still gets one (empty) chunk, so that every message
    // has its bytes recorded.
    let chunks: Vec<&[u8]> = if m.raw.is_empty() {
        vec![&[]]
    } else {
        m.raw.chunks(RAW_CHUNK).collect()
    };
    for (i, chunk) in chunks.into_iter().enumerate() {
        sqlx::query("INSERT INTO message_raw (message_id, chunk, bytes) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(i as i64)
            .bind(chunk)
            .execute(&mut *conn)
            .await
            .context("Cannot store the message bytes")?;
    }
    Ok(Some(id))
}

pub async fn insert_parts(conn: &mut Conn, message: i64, parts: &[NewPart<'_>]) -> Result<()> {
    for (position, p) in parts.iter().enumerate() {
        sqlx::query(
            "INSERT INTO message_parts (message_id, position, name, content_type, size, text_source, text, note) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(message)
        .bind(position as i64)
        .bind(p.name)
        .bind(p.content_type)
        .bind(p.size as i64)
        .bind(p.text_source)
        .bind(p.text)
        .bind(p.note)
        .execute(&mut *conn)
        .await
        .context("Cannot store the text of a message part")?;
    }
    Ok(())
}

/// Records that the same bytes arrived again; returns the stored message's id
/// and case, or `None` when retention deleted them.
pub async fn record_redelivery(
    conn: &mut Conn,
    sha256: &str,
) -> Result<Option<(i64, Option<i64>)>> {
    let row = sqlx::query(
        "UPDATE messages SET deliveries = deliveries + 1 WHERE sha256 = $1 RETURNING id, case_id",
    )
    .bind(sha256)
    .fetch_optional(&mut *conn)
    .await
    .context("Cannot record a re-delivery")?;
    row.map(|r| Ok((r.try_get("id")?, r.try_get("case_id")?)))
        .transpose()
}

pub async fn set_case(conn: &mut Conn, message: i64, case: i64) -> Result<()> {
    sqlx::query("UPDATE messages SET case_id = $1 WHERE id = $2")
        .bind(case)
        .bind(message)
        .execute(&mut *conn)
        .await
        .context("Cannot link the message to its case")?;
    Ok(())
}

/// The case of an earlier message with this Message-ID from this sender.
pub async fn case_of_message_id(
    conn: &mut Conn,
    message_id: &str,
    from: &str,
) -> Result<Option<i64>> {
    let row = sqlx::query(
        "SELECT case_id FROM messages WHERE message_id = $1 AND from_address = $2 AND case_id IS NOT NULL \
         ORDER BY id LIMIT 1",
    )
    .bind(message_id)
    .bind(from)
    .fetch_optional(&mut *conn)
    .await
    .context("Cannot look up a Message-ID")?;
    Ok(match row {
        Some(r) => r.try_get("case_id")?,
        None => None,
    })
}

/// The case of any stored message among these Message-IDs (a reply in a
/// thread whose earlier message opened a case).
pub async fn case_of_thread(conn: &mut Conn, ids: &[String]) -> Result<Option<i64>> {
    for id in ids.iter().rev() {
        let row = sqlx::query("SELECT case_id FROM messages WHERE message_id = $1 AND case_id IS NOT NULL ORDER BY id LIMIT 1")
            .bind(id.as_str())
            .fetch_optional(&mut *conn)
            .await
            .context("Cannot look up a thread")?;
        if let Some(r) = row {
            return Ok(r.try_get("case_id")?);
        }
    }
    Ok(None)
}

/// The text of the first message of a case (its body), for a notice's
/// summary.
pub async fn first_text_of_case(conn: &mut Conn, case: i64) -> Result<Option<String>> {
    let row = sqlx::query(
        "SELECT p.text AS text FROM message_parts p JOIN messages m ON m.id = p.message_id \
         WHERE m.case_id = $1 AND p.position = 0 ORDER BY m.id LIMIT 1",
    )
    .bind(case)
    .fetch_optional(&mut *conn)
    .await
    .context("Cannot read the first message of a case")?;
    Ok(match row {
        Some(r) => r.try_get("text")?,
        None => None,
    })
}

/// The exact bytes of a stored message.
pub async fn raw(conn: &mut Conn, message: i64) -> Result<Vec<u8>> {
    let rows = sqlx::query("SELECT bytes FROM message_raw WHERE message_id = $1 ORDER BY chunk")
        .bind(message)
        .fetch_all(&mut *conn)
        .await
        .context("Cannot read the message bytes")?;
    if rows.is_empty() {
        anyhow::bail!("No bytes stored for message {message}");
    }
    let mut raw = Vec::new();
    for row in rows {
        raw.extend_from_slice(&row.try_get::<Vec<u8>, _>("bytes")?);
    }
    Ok(raw)
}

/// A stored message, for listings.
#[derive(Debug, Clone)]
pub struct StoredMessage {
    pub id: i64,
    pub sha256: String,
    pub message_id: Option<String>,
    pub source: String,
    pub received_at: String,
    pub from_address: String,
    pub subject: String,
    pub parse_status: String,
    pub kind: String,
    pub case_id: Option<i64>,
    pub deliveries: i64,
    pub decision: String,
}

const COLUMNS: &str = "id, sha256, message_id, source, received_at, from_address, subject, parse_status, kind, case_id, deliveries, decision";

fn from_row(r: &sqlx::any::AnyRow) -> Result<StoredMessage> {
    Ok(StoredMessage {
        id: r.try_get("id")?,
        sha256: r.try_get("sha256")?,
        message_id: r.try_get("message_id")?,
        source: r.try_get("source")?,
        received_at: r.try_get("received_at")?,
        from_address: r.try_get("from_address")?,
        subject: r.try_get("subject")?,
        parse_status: r.try_get("parse_status")?,
        kind: r.try_get("kind")?,
        case_id: r.try_get("case_id")?,
        deliveries: r.try_get("deliveries")?,
        decision: r.try_get("decision")?,
    })
}

pub async fn of_case(conn: &mut Conn, case: i64) -> Result<Vec<StoredMessage>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM messages WHERE case_id = $1 ORDER BY id"
    ))
    .bind(case)
    .fetch_all(&mut *conn)
    .await
    .context("Cannot list the messages of a case")?;
    rows.iter().map(from_row).collect()
}

pub async fn all(conn: &mut Conn) -> Result<Vec<StoredMessage>> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM messages ORDER BY id"))
        .fetch_all(&mut *conn)
        .await
        .context("Cannot list messages")?;
    rows.iter().map(from_row).collect()
}

/// (sha256, bytes) of every stored message, for integrity checks.
pub async fn all_raw(conn: &mut Conn) -> Result<Vec<(String, Vec<u8>)>> {
    let ids = sqlx::query("SELECT id, sha256 FROM messages ORDER BY id")
        .fetch_all(&mut *conn)
        .await
        .context("Cannot list messages")?;
    let mut out = Vec::with_capacity(ids.len());
    for row in ids {
        let id: i64 = row.try_get("id")?;
        out.push((row.try_get("sha256")?, raw(conn, id).await?));
    }
    Ok(out)
}

/// Where message `message` came from (`email`, `letter`), when it is
/// filed on case `case`.
pub async fn origin_in_case(conn: &mut Conn, message: i64, case: i64) -> Result<Option<String>> {
    let row = sqlx::query("SELECT origin FROM messages WHERE id = $1 AND case_id = $2")
        .bind(message)
        .bind(case)
        .fetch_optional(&mut *conn)
        .await
        .context("Cannot read a message")?;
    row.map(|r| r.try_get("origin").map_err(Into::into))
        .transpose()
}

/// A part's text, for `cases show`.
#[derive(Debug, Clone)]
pub struct StoredPart {
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub text_source: Option<String>,
    pub text: Option<String>,
    pub note: Option<String>,
}

pub async fn parts(conn: &mut Conn, message: i64) -> Result<Vec<StoredPart>> {
    let rows = sqlx::query(
        "SELECT name, content_type, size, text_source, text, note FROM message_parts WHERE message_id = $1 ORDER BY position",
    )
    .bind(message)
    .fetch_all(&mut *conn)
    .await
    .context("Cannot read message parts")?;
    rows.iter()
        .map(|r| {
            Ok(StoredPart {
                name: r.try_get("name")?,
                content_type: r.try_get("content_type")?,
                size: r.try_get("size")?,
                text_source: r.try_get("text_source")?,
                text: r.try_get("text")?,
                note: r.try_get("note")?,
            })
        })
        .collect()
}

/// The text of letters received since `since` that are filed on a case,
/// newest first, at most `limit`: (case id, the text of its parts).
pub async fn recent_letters(
    conn: &mut Conn,
    since: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<(i64, String)>> {
    let rows = sqlx::query(
        "SELECT m.id, m.case_id, p.text FROM messages m JOIN message_parts p ON p.message_id = m.id \
         WHERE m.origin = 'letter' AND m.case_id IS NOT NULL AND m.received_at >= $1 AND p.text IS NOT NULL \
         ORDER BY m.id DESC, p.position LIMIT $2",
    )
    .bind(ts(since))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await
    .context("Cannot read recent letters")?;
    let mut out: Vec<(i64, i64, String)> = Vec::new();
    for r in rows {
        let (id, case, text): (i64, i64, String) =
            (r.try_get("id")?, r.try_get("case_id")?, r.try_get("text")?);
        match out.last_mut() {
            Some(last) if last.0 == id => {
                last.2.push('\n');
                last.2.push_str(&text);
            }
            _ => out.push((id, case, text)),
        }
    }
    Ok(out
        .into_iter()
        .map(|(_, case, text)| (case, text))
        .collect())
}

/// A message stored without a case, as the workspace lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Stray {
    pub id: i64,
    pub origin: String,
    pub received_at: String,
    pub from_address: String,
    pub subject: String,
    pub kind: String,
    pub parse_status: String,
}

const STRAY: &str =
    "SELECT id, origin, received_at, from_address, subject, kind, parse_status FROM messages";

fn stray_row(r: &sqlx::any::AnyRow) -> Result<Stray> {
    Ok(Stray {
        id: r.try_get("id")?,
        origin: r.try_get("origin")?,
        received_at: r.try_get("received_at")?,
        from_address: r.try_get("from_address")?,
        subject: r.try_get("subject")?,
        kind: r.try_get("kind")?,
        parse_status: r.try_get("parse_status")?,
    })
}

/// Messages stored without a case, newest first: at most `limit`, before
/// message `before` when given (the next page), and how many there are.
pub async fn strays(conn: &mut Conn, before: Option<i64>, limit: i64) -> Result<(Vec<Stray>, i64)> {
    let rows = sqlx::query(&format!(
        "{STRAY} WHERE case_id IS NULL AND id < $1 ORDER BY id DESC LIMIT $2"
    ))
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await
    .context("Cannot list the messages without a case")?;
    let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM messages WHERE case_id IS NULL")
        .fetch_one(&mut *conn)
        .await
        .context("Cannot count the messages without a case")?
        .try_get("n")?;
    Ok((rows.iter().map(stray_row).collect::<Result<_>>()?, count))
}

/// Message `id`, when it has no case.
pub async fn stray(conn: &mut Conn, id: i64) -> Result<Option<Stray>> {
    let row = sqlx::query(&format!("{STRAY} WHERE id = $1 AND case_id IS NULL"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .context("Cannot read a message")?;
    row.as_ref().map(stray_row).transpose()
}
