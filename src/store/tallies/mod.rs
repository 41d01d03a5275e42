//! The figures of a period counted where the cases are: the database
//! groups the cases received in it (and the anonymous statistics rows that
//! retention leaves) by what the figures need, so that a year's figures
//! over a million cases cost the groups, not the cases. `report` turns
//! [`Tallies`] into figures; nothing else reads cases for figures.
//!
//! Local dates, periods and working days come from the council's calendar
//! through a [`Frame`]: each local day of the range as a number (days
//! since 1970-01-01), its working-day ordinal and its period; the time
//! zone's offsets as the instants they change at. The SQL compares
//! timestamps as the stored text and works out a local day as
//! `(epoch seconds + offset) / 86400`, the same on SQLite and PostgreSQL.

use anyhow::{Context, Result};
use sqlx::Row;

use super::Backend;

/// What the SQL needs to know of the calendar and the period. Days are
/// numbers: days since 1970-01-01.
#[derive(Debug, Clone)]
pub struct Frame {
    /// Cases received from this instant (inclusive) ...
    pub received_from: String,
    /// ... to this one (exclusive), as stored timestamps.
    pub received_before: String,
    /// Each period's first and last local day.
    pub periods: Vec<(i64, i64)>,
    /// For weeks, the Monday the first one starts on (a day's week is then
    /// arithmetic); months are looked up.
    pub weekly: Option<i64>,
    /// The first day of each year the range and the year after it touch.
    pub years: Vec<(i64, i32)>,
    /// The weekdays that are not working days (bank holidays, closures),
    /// from the range's start to a year past today, in order.
    pub days_off: Vec<i64>,
    /// The time zone's offset in seconds from each instant on, in seconds
    /// since 1970 (the first applies before its instant too).
    pub offsets: Vec<(i64, i64)>,
    /// The instant the first period ends (the local midnight after its
    /// last day).
    pub first_end: String,
    /// Only the cases of this service (its stored word), when given.
    pub service: Option<String>,
    /// Today and the tenth working day after it ("YYYY-MM-DD"): what is
    /// overdue now, and which statutory clocks run out soon.
    pub today: String,
    pub soon: String,
}

impl Frame {
    /// Working days from a fixed Monday to `day`: how the SQL counts them
    /// (weekdays, less the days off), here for tests.
    pub fn ordinal(&self, day: i64) -> i64 {
        let w = day + 3;
        (w / 7) * 5 + (w % 7 + 1).min(5)
            - self.days_off.iter().filter(|d| **d <= day).count() as i64
    }
}

/// Cases (or statistics rows) that share everything the figures count.
#[derive(Debug, Clone, PartialEq)]
pub struct Fact {
    pub period: usize,
    pub year: i32,
    pub category: Option<String>,
    pub send_topic: Option<String>,
    pub team: Option<String>,
    pub from_mp_office: bool,
    /// Minutes from receipt to acknowledgement (none: not acknowledged),
    /// working days, and whether by its target date (none: no target).
    pub ack_minutes: Option<i64>,
    pub ack_working_days: Option<i64>,
    pub ack_in_time: Option<bool>,
    /// Working days from receipt to the answer (none: not answered), and
    /// whether by the reply date (none: no reply date).
    pub answer_working_days: Option<i64>,
    pub answer_in_time: Option<bool>,
    pub mp_name: Option<String>,
    pub constituency: Option<String>,
    /// The first period by whose end they were answered or closed, and
    /// the first whose last day is after their reply date (the number of
    /// periods: never): whether they were open, and overdue, at an end.
    pub finished_by: usize,
    pub due_by: usize,
    pub n: usize,
    /// Chasers the statistics rows among them kept.
    pub kept_chasers: usize,
}

/// The grouped cases of a period.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tallies {
    pub facts: Vec<Fact>,
    /// (period, MP, chaser events about the cases received in it).
    pub chasers: Vec<(usize, Option<String>, usize)>,
    /// Cases received before the range and not answered or closed by the
    /// first period's end, by (the first period by whose end they were,
    /// the first whose last day is after their reply date), and how many.
    pub older: Vec<(usize, usize, usize)>,
    /// The open cases now, and the statutory SEND clocks.
    pub now: Now,
}

impl Tallies {
    /// At the end of period `k`: still open, and past the reply date.
    pub fn at_end(&self, k: usize) -> (usize, usize) {
        let received = self
            .facts
            .iter()
            .filter(|f| f.period <= k)
            .map(|f| (f.finished_by, f.due_by, f.n));
        received
            .chain(self.older.iter().copied())
            .filter(|(finished, _, _)| k < *finished)
            .fold((0, 0), |(open, late), (_, due, n)| {
                (open + n, if due <= k { late + n } else { late })
            })
    }
}

mod now;
mod sql;

pub use now::{Clock, Live, Now, Waiting};
use sql::Sql;
pub use sql::by_date;
pub(super) use sql::{big, quote};

/// Counts the frame's cases: three statements, each on a connection of
/// its own, at once.
pub async fn load(store: &super::Store, f: &Frame) -> Result<Tallies> {
    let sql = Sql {
        backend: store.backend(),
        f,
    };
    let run = |statement: String, what: &'static str| async move {
        let mut conn = store.conn().await?;
        sqlx::query(&statement)
            .fetch_all(&mut *conn)
            .await
            .with_context(|| format!("Cannot count {what}"))
    };
    // The range's cases in three parts, so that the database's cores share
    // them out with the smaller statements beside them (on a pool of five
    // connections: three, the chasers then the older cases, and what is
    // open now); their groups add up.
    let (from, before) = (&f.received_from, &f.received_before);
    let cuts = split(from, before, 3);
    let small = async {
        let chasers = run(sql.chasers(), "the period's chasers").await?;
        let open = run(sql.older(), "the cases open at the periods' ends").await?;
        Ok::<_, anyhow::Error>((chasers, open))
    };
    let (first, second, third, (chasers, open), now) = tokio::try_join!(
        run(sql.facts(&cuts[0], &cuts[1]), "the period's cases"),
        run(sql.facts(&cuts[1], &cuts[2]), "the period's cases"),
        run(sql.facts(&cuts[2], &cuts[3]), "the period's cases"),
        small,
        now::load(store, &sql),
    )?;
    let facts = first.into_iter().chain(second).chain(third);
    let int = |r: &sqlx::any::AnyRow, c: &str| -> Result<Option<i64>> {
        Ok(r.try_get::<Option<i64>, _>(c)?)
    };
    let mut t = Tallies::default();
    for r in facts {
        t.facts.push(Fact {
            period: int(&r, "p")?.unwrap_or(0) as usize,
            year: int(&r, "yr")?.unwrap_or(0) as i32,
            category: r.try_get("category")?,
            send_topic: r.try_get("send_topic")?,
            team: r.try_get("team")?,
            from_mp_office: int(&r, "from_mp_office")? == Some(1),
            ack_minutes: int(&r, "ack_minutes")?,
            ack_working_days: int(&r, "ack_wd")?,
            ack_in_time: int(&r, "ack_in_time")?.map(|v| v != 0),
            answer_working_days: int(&r, "answer_wd")?,
            answer_in_time: int(&r, "answer_in_time")?.map(|v| v != 0),
            mp_name: r.try_get("mp_name")?,
            constituency: r.try_get("constituency")?,
            finished_by: int(&r, "fb")?.unwrap_or(0) as usize,
            due_by: int(&r, "db")?.unwrap_or(0) as usize,
            n: int(&r, "n")?.unwrap_or(0) as usize,
            kept_chasers: int(&r, "kept")?.unwrap_or(0) as usize,
        });
    }
    for r in chasers {
        t.chasers.push((
            int(&r, "p")?.unwrap_or(0) as usize,
            r.try_get("mp_name")?,
            int(&r, "n")?.unwrap_or(0) as usize,
        ));
    }
    for r in open {
        let get = |c: &str| -> Result<usize> { Ok(int(&r, c)?.unwrap_or(0) as usize) };
        t.older.push((get("fb")?, get("db")?, get("n")?));
    }
    t.now = now;
    Ok(t)
}

/// `parts` + 1 stored timestamps from `from` to `before`, evenly apart:
/// the bounds of `parts` ranges.
fn split(from: &str, before: &str, parts: i32) -> Vec<String> {
    let mut cuts = vec![from.to_string()];
    for k in 1..parts {
        cuts.push(match (super::parse_ts(from), super::parse_ts(before)) {
            (Ok(a), Ok(b)) => super::ts(a + (b - a) * k / parts),
            _ => from.to_string(),
        });
    }
    cuts.push(before.to_string());
    cuts
}

#[cfg(test)]
mod tests;
