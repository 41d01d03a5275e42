//! The workspace's sessions and the access audit.

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Conn, parse_ts, ts};

/// A signed-in person, as stored.
#[derive(Debug, Clone)]
pub struct Session {
    pub email: String,
    pub name: String,
    /// The identity provider's group claims at sign-in.
    pub groups: Vec<String>,
    pub csrf: String,
    pub created_at: DateTime<Utc>,
    pub seen_at: DateTime<Utc>,
}

/// Opens a session; `id` is the SHA-256 of the cookie's token.
pub async fn open(conn: &mut Conn, id: &str, s: &Session) -> Result<()> {
    sqlx::query(
        "INSERT INTO web_sessions (id, email, name, groups, csrf, created_at, seen_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(&s.email)
    .bind(&s.name)
    .bind(serde_json::to_string(&s.groups)?)
    .bind(&s.csrf)
    .bind(ts(s.created_at))
    .bind(ts(s.seen_at))
    .execute(&mut *conn)
    .await
    .context("Cannot record a session")?;
    Ok(())
}

pub async fn get(conn: &mut Conn, id: &str) -> Result<Option<Session>> {
    let row = sqlx::query(
        "SELECT email, name, groups, csrf, created_at, seen_at FROM web_sessions WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
    .context("Cannot read a session")?;
    row.map(|r| {
        Ok(Session {
            email: r.try_get("email")?,
            name: r.try_get("name")?,
            groups: serde_json::from_str(&r.try_get::<String, _>("groups")?)?,
            csrf: r.try_get("csrf")?,
            created_at: parse_ts(&r.try_get::<String, _>("created_at")?)?,
            seen_at: parse_ts(&r.try_get::<String, _>("seen_at")?)?,
        })
    })
    .transpose()
}

/// Records that the session was used at `now`, when its record is older
/// than `unless_since` (one write a minute, not one a request).
pub async fn touch(
    conn: &mut Conn,
    id: &str,
    now: DateTime<Utc>,
    unless_since: DateTime<Utc>,
) -> Result<()> {
    sqlx::query("UPDATE web_sessions SET seen_at = $1 WHERE id = $2 AND seen_at < $3")
        .bind(ts(now))
        .bind(id)
        .bind(ts(unless_since))
        .execute(&mut *conn)
        .await
        .context("Cannot record a session's use")?;
    Ok(())
}

pub async fn close(conn: &mut Conn, id: &str) -> Result<()> {
    sqlx::query("DELETE FROM web_sessions WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await
        .context("Cannot end a session")?;
    Ok(())
}

/// Deletes sessions unused since `idle_before` or opened before
/// `opened_before`; how many.
pub async fn expire(
    conn: &mut Conn,
    idle_before: DateTime<Utc>,
    opened_before: DateTime<Utc>,
) -> Result<u64> {
    let done = sqlx::query("DELETE FROM web_sessions WHERE seen_at < $1 OR created_at < $2")
        .bind(ts(idle_before))
        .bind(ts(opened_before))
        .execute(&mut *conn)
        .await
        .context("Cannot delete expired sessions")?;
    Ok(done.rows_affected())
}

/// One line of the access audit.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Access {
    pub at: String,
    pub who: String,
    /// `viewed`, `downloaded`, `signed_in`, `signed_out`, `refused`.
    pub action: String,
    pub reference: Option<String>,
    pub detail: String,
}

pub async fn audit(
    conn: &mut Conn,
    at: DateTime<Utc>,
    who: &str,
    action: &str,
    reference: Option<&str>,
    detail: &serde_json::Value,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO access_audit (at, who, action, reference, detail) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(ts(at))
    .bind(who)
    .bind(action)
    .bind(reference)
    .bind(detail.to_string())
    .execute(&mut *conn)
    .await
    .context("Cannot record an access in the audit")?;
    Ok(())
}

/// Which lines of the audit to read.
#[derive(Debug, Clone, Copy)]
pub enum Of<'a> {
    Case(&'a str),
    Person(&'a str),
    Everyone,
}

/// The audit's lines, newest first, at most `limit`.
pub async fn accesses(conn: &mut Conn, of: Of<'_>, limit: i64) -> Result<Vec<Access>> {
    let (filter, value) = match of {
        Of::Case(r) => ("WHERE reference = $2", Some(r)),
        Of::Person(p) => ("WHERE LOWER(who) = LOWER($2)", Some(p)),
        Of::Everyone => ("", None),
    };
    let sql = format!(
        "SELECT at, who, action, reference, detail FROM access_audit {filter} ORDER BY id DESC LIMIT $1"
    );
    let mut q = sqlx::query(&sql).bind(limit);
    if let Some(v) = value {
        q = q.bind(v);
    }
    let rows = q
        .fetch_all(&mut *conn)
        .await
        .context("Cannot read the access audit")?;
    rows.iter()
        .map(|r| {
            Ok(Access {
                at: r.try_get("at")?,
                who: r.try_get("who")?,
                action: r.try_get("action")?,
                reference: r.try_get("reference")?,
                detail: r.try_get("detail")?,
            })
        })
        .collect()
}

/// A sign-in with the identity provider under way.
#[derive(Debug, Clone)]
pub struct Login {
    pub verifier: String,
    pub nonce: String,
    pub then: String,
    pub created_at: DateTime<Utc>,
}

pub async fn begin_login(conn: &mut Conn, state: &str, l: &Login) -> Result<()> {
    sqlx::query(
        "INSERT INTO web_logins (state, verifier, nonce, then_path, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(state)
    .bind(&l.verifier)
    .bind(&l.nonce)
    .bind(&l.then)
    .bind(ts(l.created_at))
    .execute(&mut *conn)
    .await
    .context("Cannot record a sign-in")?;
    Ok(())
}

/// The sign-in `state` names, taken: a second use finds nothing. Sign-ins
/// begun before `stale` are deleted on the way.
pub async fn take_login(
    conn: &mut Conn,
    state: &str,
    stale: DateTime<Utc>,
) -> Result<Option<Login>> {
    sqlx::query("DELETE FROM web_logins WHERE created_at < $1")
        .bind(ts(stale))
        .execute(&mut *conn)
        .await
        .context("Cannot delete old sign-ins")?;
    let row = sqlx::query(
        "DELETE FROM web_logins WHERE state = $1 RETURNING verifier, nonce, then_path, created_at",
    )
    .bind(state)
    .fetch_optional(&mut *conn)
    .await
    .context("Cannot read a sign-in")?;
    row.map(|r| {
        Ok(Login {
            verifier: r.try_get("verifier")?,
            nonce: r.try_get("nonce")?,
            then: r.try_get("then_path")?,
            created_at: parse_ts(&r.try_get::<String, _>("created_at")?)?,
        })
    })
    .transpose()
}
