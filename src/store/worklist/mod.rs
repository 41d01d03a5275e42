//! The workspace's case list: what one person may see, narrowed by a view
//! and filters, sorted, a page at a time by keyset (the page after the
//! last row shown, never an offset), with a count for each view.

use anyhow::{Context, Result};
use chrono::NaiveDate;
use sqlx::Row;

use super::Conn;
use super::cases::{COLUMNS, CaseRow, from_row};

/// Whose cases: every case, or a person's teams' and their own.
#[derive(Debug, Clone)]
pub struct Scope {
    pub all: bool,
    pub teams: Vec<String>,
    pub email: String,
}

/// The lists a caseworker starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Mine,
    Unassigned,
    /// In triage: a person decides what it is.
    Review,
    Overdue,
    /// The reply is due within the next 5 working days.
    DueSoon,
    Urgent,
    Open,
    All,
}

impl View {
    pub const ALL: [View; 8] = [
        View::Mine,
        View::Open,
        View::Unassigned,
        View::Review,
        View::Overdue,
        View::DueSoon,
        View::Urgent,
        View::All,
    ];

    pub fn key(self) -> &'static str {
        match self {
            View::Mine => "mine",
            View::Unassigned => "unassigned",
            View::Review => "review",
            View::Overdue => "overdue",
            View::DueSoon => "due-soon",
            View::Urgent => "urgent",
            View::Open => "open",
            View::All => "all",
        }
    }

    pub fn parse(s: &str) -> Option<View> {
        View::ALL.into_iter().find(|v| v.key() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    /// The reply date, soonest first (no date last).
    Due,
    Newest,
    Oldest,
}

impl Sort {
    pub fn key(self) -> &'static str {
        match self {
            Sort::Due => "due",
            Sort::Newest => "newest",
            Sort::Oldest => "oldest",
        }
    }

    pub fn parse(s: &str) -> Option<Sort> {
        [Sort::Due, Sort::Newest, Sort::Oldest]
            .into_iter()
            .find(|v| v.key() == s)
    }

    /// The sort key's SQL and the order.
    fn column(self) -> (&'static str, &'static str) {
        match self {
            Sort::Due => ("COALESCE(response_due, '9999-12-31')", "ASC"),
            Sort::Newest => ("received_at", "DESC"),
            Sort::Oldest => ("received_at", "ASC"),
        }
    }

    /// The cursor after `row` in this order.
    pub fn cursor(self, row: &CaseRow) -> String {
        let key = match self {
            Sort::Due => row
                .response_due
                .map(super::date)
                .unwrap_or_else(|| "9999-12-31".into()),
            Sort::Newest | Sort::Oldest => super::ts(row.received_at),
        };
        format!("{key}~{}", row.id)
    }
}

/// What the list is narrowed to.
#[derive(Debug, Clone)]
pub struct Query {
    pub view: View,
    pub status: Option<String>,
    pub category: Option<String>,
    pub send_topic: Option<String>,
    /// The MP's name or constituency, exactly as stored.
    pub mp: Option<String>,
    /// Words to find: a reference, a name, an address, words of the text
    /// (the database's full-text index).
    pub search: Option<String>,
    pub sort: Sort,
    /// The cursor of the last row of the previous page.
    pub after: Option<String>,
    /// Received from this instant (inclusive) and before this one, as
    /// stored timestamps: a figure's cases.
    pub received: Option<(String, String)>,
    /// Of this team, or assigned to this person.
    pub team: Option<String>,
    pub assignee: Option<String>,
    /// The cases behind one of the managers' figures, beyond when they
    /// were received.
    pub figure: Option<Figure>,
}

mod figure;

pub use figure::{Figure, Offsets};

/// Open or in triage: the cases people work. The indexes on live cases
/// (migration 0015) are partial on exactly this condition.
const LIVE: &str = "status IN ('open', 'triage')";

/// SQL with numbered placeholders, built clause by clause.
struct Sql {
    clauses: Vec<String>,
    binds: Vec<String>,
    postgres: bool,
}

/// The words of a search as both indexes read text: runs of letters and
/// digits, lower case, at most 8. Only such words reach the query, so the
/// index's own syntax cannot be injected.
pub fn words(search: &str) -> Vec<String> {
    search
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .take(8)
        .collect()
}

impl Sql {
    fn new(conn: &Conn) -> Sql {
        Sql {
            clauses: Vec::new(),
            binds: Vec::new(),
            postgres: conn.backend_name() == "PostgreSQL",
        }
    }

    /// `text` (which ends with this builder's filter) with its values bound.
    fn query<'q>(
        &'q self,
        text: &'q str,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        let mut query = sqlx::query(text);
        for b in &self.binds {
            query = query.bind(b.as_str());
        }
        query
    }

    fn add(&mut self, sql: &str, values: &[&str]) {
        let mut sql = sql.to_string();
        for v in values {
            self.binds.push(v.to_string());
            sql = sql.replacen('?', &format!("${}", self.binds.len()), 1);
        }
        self.clauses.push(sql);
    }

    fn scope(&mut self, s: &Scope) {
        if s.all {
            return;
        }
        let mut parts = vec!["LOWER(assignee) = LOWER(?)".to_string()];
        let mut values = vec![s.email.as_str()];
        if !s.teams.is_empty() {
            let marks = vec!["?"; s.teams.len()].join(", ");
            parts.push(format!("team IN ({marks})"));
            values.extend(s.teams.iter().map(String::as_str));
        }
        self.add(&format!("({})", parts.join(" OR ")), &values);
    }

    /// A placeholder for `value`, for SQL outside the filter.
    fn value(&mut self, value: &str) -> String {
        self.binds.push(value.to_string());
        format!("${}", self.binds.len())
    }

    fn view(&mut self, v: View, s: &Scope, today: NaiveDate, soon: NaiveDate) {
        let (today, soon) = (super::date(today), super::date(soon));
        match v {
            View::Mine => self.add(
                &format!("{LIVE} AND LOWER(assignee) = LOWER(?)"),
                &[&s.email],
            ),
            View::Unassigned => self.add(&format!("{LIVE} AND assignee IS NULL"), &[]),
            View::Review => self.add(&format!("{LIVE} AND status = 'triage'"), &[]),
            View::Overdue => self.add(
                &format!("{LIVE} AND answered_at IS NULL AND response_due < ?"),
                &[&today],
            ),
            View::DueSoon => self.add(
                &format!(
                    "{LIVE} AND answered_at IS NULL AND response_due >= ? AND response_due <= ?"
                ),
                &[&today, &soon],
            ),
            View::Urgent => self.add(&format!("{LIVE} AND urgent = 1"), &[]),
            View::Open => self.add(LIVE, &[]),
            View::All => {}
        }
    }

    fn filter(&mut self, q: &Query, offsets: &[(i64, i64)]) {
        for (column, value) in [
            ("status", &q.status),
            ("category", &q.category),
            ("send_topic", &q.send_topic),
        ] {
            if let Some(v) = value {
                self.add(&format!("{column} = ?"), &[v]);
            }
        }
        if let Some(mp) = &q.mp {
            self.add("(mp_name = ? OR constituency = ?)", &[mp, mp]);
        }
        if let Some(team) = &q.team {
            self.add("team = ?", &[team]);
        }
        if let Some(who) = &q.assignee {
            self.add("LOWER(assignee) = LOWER(?)", &[who]);
        }
        if let Some((from, before)) = &q.received {
            self.add("received_at >= ? AND received_at < ?", &[from, before]);
        }
        if let Some(f) = &q.figure {
            self.figure(f, offsets);
        }
        if let Some(query) = q
            .search
            .as_deref()
            .and_then(|w| index_query(w, self.postgres))
        {
            let sql = if self.postgres {
                "id IN (SELECT id FROM cases WHERE search @@ to_tsquery('simple', ?) \
                 UNION SELECT m.case_id FROM message_parts p JOIN messages m ON m.id = p.message_id \
                 WHERE p.search @@ to_tsquery('simple', ?) AND m.case_id IS NOT NULL)"
            } else {
                "id IN (SELECT rowid FROM cases_search WHERE cases_search MATCH ? \
                 UNION SELECT m.case_id FROM message_parts_search \
                 JOIN message_parts p ON p.id = message_parts_search.rowid JOIN messages m ON m.id = p.message_id \
                 WHERE message_parts_search MATCH ? AND m.case_id IS NOT NULL)"
            };
            self.add(sql, &[&query, &query]);
        }
    }

    fn filter_sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.clauses.join(" AND "))
        }
    }
}

/// A search as the backend's full-text index reads it: every word, the
/// last one also as the start of a word (what is typed so far). `None`
/// when there is no word.
fn index_query(search: &str, postgres: bool) -> Option<String> {
    let words = words(search);
    let (last, rest) = words.split_last()?;
    Some(if postgres {
        let mut query: Vec<String> = rest.to_vec();
        query.push(format!("{last}:*"));
        query.join(" & ")
    } else {
        let mut query: Vec<String> = rest.iter().map(|w| format!("\"{w}\"")).collect();
        query.push(format!("\"{last}\"*"));
        query.join(" AND ")
    })
}

/// Whether more than `cap` cases or messages hold every word of `search`:
/// such a search is refused (a word most mail has), so that neither index
/// hands a million rows to the list. Counting stops at `cap + 1`.
pub async fn too_common(conn: &mut Conn, search: &str, cap: i64) -> Result<bool> {
    let postgres = conn.backend_name() == "PostgreSQL";
    let Some(query) = index_query(search, postgres) else {
        return Ok(false);
    };
    let probes = if postgres {
        [
            "SELECT COUNT(*) AS n FROM (SELECT 1 FROM cases WHERE search @@ to_tsquery('simple', $1) LIMIT $2) x",
            "SELECT COUNT(*) AS n FROM (SELECT 1 FROM message_parts WHERE search @@ to_tsquery('simple', $1) LIMIT $2) x",
        ]
    } else {
        [
            "SELECT COUNT(*) AS n FROM (SELECT rowid FROM cases_search WHERE cases_search MATCH $1 LIMIT $2)",
            "SELECT COUNT(*) AS n FROM (SELECT rowid FROM message_parts_search WHERE message_parts_search MATCH $1 LIMIT $2)",
        ]
    };
    for probe in probes {
        let n: i64 = sqlx::query(probe)
            .bind(&query)
            .bind(cap + 1)
            .fetch_one(&mut *conn)
            .await
            .context("Cannot search")?
            .try_get("n")?;
        if n > cap {
            return Ok(true);
        }
    }
    Ok(false)
}

/// When the list is read: today, and the last day of "due soon"; the
/// time zone's offsets over the instants a figure's list compares with
/// dates ([`Figure`]).
#[derive(Debug, Clone)]
pub struct Days {
    pub today: NaiveDate,
    pub soon: NaiveDate,
    pub offsets: Offsets,
}

/// A page of at most `limit` cases, and whether more follow.
pub async fn page(
    conn: &mut Conn,
    scope: &Scope,
    q: &Query,
    days: &Days,
    limit: i64,
) -> Result<(Vec<CaseRow>, bool)> {
    let mut sql = Sql::new(conn);
    sql.scope(scope);
    sql.view(q.view, scope, days.today, days.soon);
    sql.filter(q, &days.offsets);
    let (key, order) = q.sort.column();
    if let Some((k, id)) = q.after.as_deref().and_then(|c| c.rsplit_once('~')) {
        let cmp = if order == "ASC" { ">" } else { "<" };
        let id = id.parse::<i64>().unwrap_or(0).to_string();
        sql.add(
            &format!("({key} {cmp} ? OR ({key} = ? AND id {cmp} CAST(? AS BIGINT)))"),
            &[k, k, &id],
        );
    }
    // SQLite's planner, counting the live cases, would rather read them
    // all by status and sort them; the whole list of open (or of all)
    // cases is a short walk of the index in its order. A narrower view, a
    // filter or a search leaves the planner its choice. (PostgreSQL walks
    // the index for an ORDER BY with a LIMIT by itself.)
    let unfiltered = q.status.is_none()
        && q.figure.is_none()
        && q.category.is_none()
        && q.send_topic.is_none()
        && q.mp.is_none()
        && q.search.is_none();
    let hint = match (sql.postgres || q.search.is_some(), q.view, q.sort) {
        (true, _, _) => "",
        // A few live cases in a hundred: their own index, filters or not.
        (false, View::Urgent, Sort::Due) => " INDEXED BY cases_live_urgent",
        (false, _, _) if !unfiltered => "",
        (false, View::Open, Sort::Due) => " INDEXED BY cases_live_due",
        (false, View::Open, _) => " INDEXED BY cases_live_received",
        (false, View::All, Sort::Due) => " INDEXED BY cases_due",
        (false, View::All, _) => " INDEXED BY cases_received",
        (false, _, _) => "",
    };
    let text = format!(
        "SELECT {COLUMNS} FROM cases{hint}{} ORDER BY {key} {order}, id {order} LIMIT {}",
        sql.filter_sql(),
        limit + 1
    );
    let rows = sql
        .query(&text)
        .fetch_all(&mut *conn)
        .await
        .context("Cannot list cases")?;
    let more = rows.len() as i64 > limit;
    let rows = rows
        .iter()
        .take(limit as usize)
        .map(from_row)
        .collect::<Result<Vec<_>>>()?;
    Ok((rows, more))
}

/// How many cases each view holds for this person (filters aside), in
/// one pass over their live cases; `None` for all cases, which would mean
/// counting every case ever received on each page.
pub async fn counts(
    conn: &mut Conn,
    scope: &Scope,
    days: &Days,
) -> Result<Vec<(View, Option<i64>)>> {
    let mut sql = Sql::new(conn);
    let (today, soon) = (super::date(days.today), super::date(days.soon));
    let me = sql.value(&scope.email);
    let (t, s) = (sql.value(&today), sql.value(&soon));
    let conditions = [
        (View::Mine, format!("LOWER(assignee) = LOWER({me})")),
        (View::Open, "1 = 1".to_string()),
        (View::Unassigned, "assignee IS NULL".to_string()),
        (View::Review, "status = 'triage'".to_string()),
        (
            View::Overdue,
            format!("answered_at IS NULL AND response_due < {t}"),
        ),
        (
            View::DueSoon,
            format!("answered_at IS NULL AND response_due >= {t} AND response_due <= {s}"),
        ),
        (View::Urgent, "urgent = 1".to_string()),
    ];
    sql.scope(scope);
    sql.add(LIVE, &[]);
    let sums: Vec<String> = conditions
        .iter()
        .enumerate()
        .map(|(i, (_, c))| format!("COALESCE(SUM(CASE WHEN {c} THEN 1 ELSE 0 END), 0) AS n{i}"))
        .collect();
    let text = format!("SELECT {} FROM cases{}", sums.join(", "), sql.filter_sql());
    let row = sql
        .query(&text)
        .fetch_one(&mut *conn)
        .await
        .context("Cannot count cases")?;
    let mut out = Vec::new();
    for view in View::ALL {
        let n = match conditions.iter().position(|(v, _)| *v == view) {
            Some(i) => Some(row.try_get::<i64, _>(format!("n{i}").as_str())?),
            None => None,
        };
        out.push((view, n));
    }
    Ok(out)
}
