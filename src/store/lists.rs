//! Lists of cases for people: `postroom cases list` and its filters.

use anyhow::{Context, Result};

use super::Conn;
use super::cases::{COLUMNS, CaseRow, from_row};

/// What `postroom cases list` asks for; every field narrows the list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub status: Option<String>,
    pub team: Option<String>,
    pub assignee: Option<String>,
    pub category: Option<String>,
    /// Part of the MP's name or constituency (any case).
    pub mp: Option<String>,
    /// Open (or in triage), unanswered and past its reply date on `today`.
    pub overdue_on: Option<chrono::NaiveDate>,
    /// Reply due on or before this day.
    pub due_before: Option<chrono::NaiveDate>,
}

/// The cases that match `f`, oldest first.
pub async fn list(conn: &mut Conn, f: &Filter) -> Result<Vec<CaseRow>> {
    let mut clauses: Vec<String> = Vec::new();
    let mut binds: Vec<String> = Vec::new();
    let mut bind = |clauses: &mut Vec<String>, sql: &str, values: &[String]| {
        let mut sql = sql.to_string();
        for v in values {
            binds.push(v.clone());
            sql = sql.replacen('?', &format!("${}", binds.len()), 1);
        }
        clauses.push(sql);
    };
    let date = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
    if let Some(v) = &f.status {
        bind(&mut clauses, "status = ?", std::slice::from_ref(v));
    }
    if let Some(v) = &f.team {
        bind(&mut clauses, "team = ?", std::slice::from_ref(v));
    }
    if let Some(v) = &f.assignee {
        bind(
            &mut clauses,
            "LOWER(assignee) = LOWER(?)",
            std::slice::from_ref(v),
        );
    }
    if let Some(v) = &f.category {
        bind(&mut clauses, "category = ?", std::slice::from_ref(v));
    }
    if let Some(v) = &f.mp {
        let like = format!("%{}%", v.to_lowercase());
        bind(
            &mut clauses,
            "(LOWER(mp_name) LIKE ? OR LOWER(constituency) LIKE ?)",
            &[like.clone(), like],
        );
    }
    if let Some(d) = f.overdue_on {
        bind(
            &mut clauses,
            "status IN ('open', 'triage') AND answered_at IS NULL AND response_due < ?",
            &[date(d)],
        );
    }
    if let Some(d) = f.due_before {
        bind(&mut clauses, "response_due <= ?", &[date(d)]);
    }
    let filter = if clauses.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", clauses.join(" AND "))
    };
    let sql = format!("SELECT {COLUMNS} FROM cases{filter} ORDER BY received_at, id");
    let mut q = sqlx::query(&sql);
    for b in &binds {
        q = q.bind(b.clone());
    }
    let rows = q.fetch_all(&mut *conn).await.context("Cannot list cases")?;
    rows.iter().map(from_row).collect()
}
