//! Cases counted over a period, for digests and reports: received and
//! answered per team, chasers per case.

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::cases::{COLUMNS, CaseRow, by_id, from_row};
use super::{Conn, ts};

/// Which time of a case a period query looks at.
#[derive(Debug, Clone, Copy)]
pub enum Moment {
    Received,
    Answered,
}

/// Cases of `team` whose `moment` falls in `[from, to]`.
pub async fn of_team_between(
    conn: &mut Conn,
    team: &str,
    moment: Moment,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<CaseRow>> {
    let column = match moment {
        Moment::Received => "received_at",
        Moment::Answered => "answered_at",
    };
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM cases WHERE team = $1 AND {column} >= $2 AND {column} <= $3 ORDER BY {column}, id"
    ))
    .bind(team)
    .bind(ts(from))
    .bind(ts(to))
    .fetch_all(&mut *conn)
    .await
    .context("Cannot read a team's cases")?;
    rows.iter().map(from_row).collect()
}

/// How many cases of `team` have their `moment` in `[from, to)`.
pub async fn count_of_team_between(
    conn: &mut Conn,
    team: &str,
    moment: Moment,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<usize> {
    let column = match moment {
        Moment::Received => "received_at",
        Moment::Answered => "answered_at",
    };
    let n: i64 = sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM cases WHERE team = $1 AND {column} >= $2 AND {column} < $3"
    ))
    .bind(team)
    .bind(ts(from))
    .bind(ts(to))
    .fetch_one(&mut *conn)
    .await
    .context("Cannot count a team's cases")?;
    Ok(n as usize)
}

/// Cases of `team` with an event of `kind` in `[from, to]`, and how many.
pub async fn with_events_between(
    conn: &mut Conn,
    team: &str,
    kind: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(CaseRow, usize)>> {
    let rows = sqlx::query(
        "SELECT e.case_id AS case_id, COUNT(*) AS n FROM case_events e JOIN cases c ON c.id = e.case_id \
         WHERE c.team = $1 AND e.kind = $2 AND e.at >= $3 AND e.at <= $4 GROUP BY e.case_id ORDER BY e.case_id",
    )
    .bind(team)
    .bind(kind)
    .bind(ts(from))
    .bind(ts(to))
    .fetch_all(&mut *conn)
    .await
    .context("Cannot read a team's case events")?;
    let mut out = Vec::new();
    for r in rows {
        let id: i64 = r.try_get("case_id")?;
        let n: i64 = r.try_get("n")?;
        if let Some(case) = by_id(conn, id).await? {
            out.push((case, n as usize));
        }
    }
    Ok(out)
}

/// Chaser messages per case (cases with none are absent).
pub async fn chasers_per_case(conn: &mut Conn) -> Result<std::collections::HashMap<i64, usize>> {
    let rows = sqlx::query(
        "SELECT case_id, COUNT(*) AS n FROM case_events WHERE kind = 'chaser' GROUP BY case_id",
    )
    .fetch_all(&mut *conn)
    .await
    .context("Cannot count chasers")?;
    let mut out = std::collections::HashMap::new();
    for r in rows {
        let n: i64 = r.try_get("n")?;
        out.insert(r.try_get::<i64, _>("case_id")?, n as usize);
    }
    Ok(out)
}

/// A person's correction of a case's classification: a `recategorised`
/// event with what the case said before and after.
#[derive(Debug, Clone)]
pub struct CorrectionRow {
    pub case_id: i64,
    pub reference: String,
    pub received_at: DateTime<Utc>,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub detail: serde_json::Value,
}

/// Every correction of every case still held, oldest first.
pub async fn corrections(conn: &mut Conn) -> Result<Vec<CorrectionRow>> {
    let rows = sqlx::query(
        "SELECT e.case_id, c.reference, c.received_at, e.at, e.actor, e.detail \
         FROM case_events e JOIN cases c ON c.id = e.case_id \
         WHERE e.kind = 'recategorised' ORDER BY e.id",
    )
    .fetch_all(&mut *conn)
    .await
    .context("Cannot read the corrections")?;
    rows.iter()
        .map(|r| {
            let received: String = r.try_get("received_at")?;
            let at: String = r.try_get("at")?;
            let detail: String = r.try_get("detail")?;
            Ok(CorrectionRow {
                case_id: r.try_get("case_id")?,
                reference: r.try_get("reference")?,
                received_at: super::parse_ts(&received)?,
                at: super::parse_ts(&at)?,
                actor: r.try_get("actor")?,
                detail: serde_json::from_str(&detail).unwrap_or_default(),
            })
        })
        .collect()
}
