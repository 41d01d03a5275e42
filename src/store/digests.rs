//! Which digests went out: one row per (manager, kind, period), inserted
//! in the transaction that queues the digest, so a restart or a second
//! instance never sends the same digest twice.

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};

use super::{Conn, ts};

/// Claims the `kind` digest of `period` for `recipient`. False when it was
/// claimed before (by this instance or another).
pub async fn claim(
    conn: &mut Conn,
    recipient: &str,
    kind: &str,
    period: &str,
    at: DateTime<Utc>,
) -> Result<bool> {
    let inserted = sqlx::query(
        "INSERT INTO digests_sent (recipient, kind, period, sent_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (recipient, kind, period) DO NOTHING",
    )
    .bind(recipient)
    .bind(kind)
    .bind(period)
    .bind(ts(at))
    .execute(&mut *conn)
    .await
    .context("Cannot claim a digest")?
    .rows_affected();
    Ok(inserted == 1)
}

/// Records which outbox mail carries a claimed digest.
pub async fn set_outbox(
    conn: &mut Conn,
    recipient: &str,
    kind: &str,
    period: &str,
    outbox_id: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE digests_sent SET outbox_id = $1 WHERE recipient = $2 AND kind = $3 AND period = $4",
    )
    .bind(outbox_id)
    .bind(recipient)
    .bind(kind)
    .bind(period)
    .execute(&mut *conn)
    .await
    .context("Cannot record a digest's mail")?;
    Ok(())
}
