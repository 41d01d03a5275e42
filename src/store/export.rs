//! Finding what postroom holds about a case or a person, for subject
//! access requests (`postroom export`).

use anyhow::{Context, Result};
use sqlx::Row;

use super::Conn;

/// Cases that name `email` (lower case): as correspondent or caseworker, as
/// the sender of one of their messages, or in the text of one.
pub async fn cases_of_person(conn: &mut Conn, email: &str) -> Result<Vec<String>> {
    let pattern = format!("%{}%", like_escape(email));
    let rows = sqlx::query(
        "SELECT reference FROM cases WHERE LOWER(correspondent) = $1 OR LOWER(assignee) = $1 \
         OR id IN (SELECT case_id FROM messages WHERE LOWER(from_address) = $1 AND case_id IS NOT NULL) \
         OR id IN (SELECT m.case_id FROM message_parts p JOIN messages m ON m.id = p.message_id \
                   WHERE m.case_id IS NOT NULL AND LOWER(p.text) LIKE $2 ESCAPE '\\') \
         ORDER BY id",
    )
    .bind(email)
    .bind(&pattern)
    .fetch_all(&mut *conn)
    .await
    .context("Cannot search the cases for the address")?;
    rows.iter().map(|r| Ok(r.try_get("reference")?)).collect()
}

/// Messages on no case from `email` or naming it in their text.
pub async fn unfiled_of_person(conn: &mut Conn, email: &str) -> Result<Vec<i64>> {
    let pattern = format!("%{}%", like_escape(email));
    let rows = sqlx::query(
        "SELECT id FROM messages WHERE case_id IS NULL AND (LOWER(from_address) = $1 \
         OR id IN (SELECT message_id FROM message_parts WHERE LOWER(text) LIKE $2 ESCAPE '\\')) \
         ORDER BY id",
    )
    .bind(email)
    .bind(&pattern)
    .fetch_all(&mut *conn)
    .await
    .context("Cannot search the unfiled messages for the address")?;
    rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
}

/// Postroom's own mail: of a case (`Some`), or on no case and addressed to
/// `email`. Id, purpose and the bytes as sent.
pub async fn sent_mail(
    conn: &mut Conn,
    case: Option<i64>,
    email: Option<&str>,
) -> Result<Vec<(i64, String, Vec<u8>)>> {
    let rows = match (case, email) {
        (Some(case), _) => {
            sqlx::query("SELECT id, purpose, raw FROM outbox WHERE case_id = $1 ORDER BY id")
                .bind(case)
                .fetch_all(&mut *conn)
                .await
        }
        (None, Some(email)) => {
            sqlx::query(
                "SELECT id, purpose, raw FROM outbox WHERE case_id IS NULL \
                 AND LOWER(recipients) LIKE $1 ESCAPE '\\' ORDER BY id",
            )
            .bind(format!("%\"{}\"%", like_escape(email)))
            .fetch_all(&mut *conn)
            .await
        }
        (None, None) => return Ok(Vec::new()),
    }
    .context("Cannot read postroom's sent mail")?;
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("purpose")?, r.try_get("raw")?)))
        .collect()
}

fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
