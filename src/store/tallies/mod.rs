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

/// When a case was answered or closed, whichever came first.
const FINISH: &str = "CASE WHEN answered_at IS NULL THEN closed_at WHEN closed_at IS NULL THEN answered_at \
    WHEN answered_at < closed_at THEN answered_at ELSE closed_at END";

/// The columns both cases and statistics rows have.
const COMMON: &str = "category, send_topic, team, from_mp_office, mp_name, constituency, received_at, \
    acknowledge_due, response_due, acknowledged_at, answered_at, closed_at";

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
    // The range's cases in two halves, one on each core the database
    // has; their groups add up.
    let (from, before) = (&f.received_from, &f.received_before);
    let middle = middle(from, before);
    let (first, second, chasers, open, now) = tokio::try_join!(
        run(sql.facts(from, &middle), "the period's cases"),
        run(sql.facts(&middle, before), "the period's cases"),
        run(sql.chasers(), "the period's chasers"),
        run(sql.older(), "the cases open at the periods' ends"),
        now::load(store, &sql),
    )?;
    let facts = first.into_iter().chain(second);
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

/// The stored timestamp halfway between two others.
fn middle(from: &str, before: &str) -> String {
    let at = |s: &str| super::parse_ts(s).ok();
    match (at(from), at(before)) {
        (Some(a), Some(b)) => super::ts(a + (b - a) / 2),
        _ => before.to_string(),
    }
}

/// The statements, for one backend and frame. Every value in them comes
/// from postroom (numbers, timestamps it formatted, a service's word from
/// its own list), quoted as SQL literals.
struct Sql<'a> {
    backend: Backend,
    f: &'a Frame,
}

mod now;
pub use now::{Clock, Live, Now, Waiting};

pub(super) fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

pub(super) fn big(expr: &str) -> String {
    format!("CAST({expr} AS BIGINT)")
}

impl Sql<'_> {
    /// Seconds since 1970 of a stored timestamp.
    pub(super) fn epoch(&self, col: &str) -> String {
        match self.backend {
            Backend::Sqlite => format!("unixepoch({col})"),
            Backend::Postgres => {
                format!("FLOOR(EXTRACT(EPOCH FROM CAST({col} AS timestamp)))::bigint")
            }
        }
    }

    /// The council's local day of an instant in seconds since 1970 (a
    /// column): the offset looked up by comparing integers.
    pub(super) fn local_day(&self, e: &str) -> String {
        let mut rest = self.f.offsets.iter();
        let Some((_, first)) = rest.next() else {
            return format!("({e} / 86400)");
        };
        let mut offset = String::from("CASE");
        let mut current = *first;
        for (at, next) in rest {
            offset.push_str(&format!(" WHEN {e} < {at} THEN {current}"));
            current = *next;
        }
        offset.push_str(&format!(" ELSE {current} END"));
        format!("(({e} + {offset}) / 86400)")
    }

    /// The day of a stored date ("YYYY-MM-DD").
    pub(super) fn date_day(&self, col: &str) -> String {
        match self.backend {
            Backend::Sqlite => format!("(unixepoch({col}) / 86400)"),
            Backend::Postgres => format!("(CAST({col} AS date) - DATE '1970-01-01')"),
        }
    }

    /// Working days from a fixed Monday to day `d` (a column): weekdays by
    /// arithmetic, less the days off before it, found by halving the list
    /// ([`Frame::ordinal`]).
    fn ordinal(&self, d: &str) -> String {
        fn before(d: &str, off: &[i64], base: usize) -> String {
            match off.len() {
                0 => base.to_string(),
                1 => format!(
                    "CASE WHEN {d} < {} THEN {base} ELSE {} END",
                    off[0],
                    base + 1
                ),
                n => {
                    let mid = n / 2;
                    format!(
                        "CASE WHEN {d} < {} THEN {} ELSE {} END",
                        off[mid],
                        before(d, &off[..mid], base),
                        before(d, &off[mid..], base + mid)
                    )
                }
            }
        }
        let min = match self.backend {
            Backend::Sqlite => "MIN",
            Backend::Postgres => "LEAST",
        };
        format!(
            "((({d} + 3) / 7) * 5 + {min}(({d} + 3) % 7 + 1, 5) - ({}))",
            before(d, &self.f.days_off, 0)
        )
    }

    /// The period of day `d` (a column) in the range.
    fn period(&self, d: &str) -> String {
        let p = &self.f.periods;
        if let Some(monday) = self.f.weekly {
            return format!("(({d} - {monday}) / 7)");
        }
        let mut s = String::from("CASE");
        for (k, (_, last)) in p.iter().enumerate().take(p.len() - 1) {
            s.push_str(&format!(" WHEN {d} <= {last} THEN {k}"));
        }
        s.push_str(&format!(" ELSE {} END", p.len() - 1));
        s
    }

    fn year(&self, d: &str) -> String {
        let mut s = String::from("CASE");
        for (start, year) in self.f.years.iter().rev() {
            s.push_str(&format!(" WHEN {d} >= {start} THEN {year}"));
        }
        s.push_str(" ELSE 0 END");
        s
    }

    /// Ends a subquery that must be read once, not folded into the query
    /// around it (which would work its columns out again at every use).
    pub(super) fn fence(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "LIMIT -1",
            Backend::Postgres => "OFFSET 0",
        }
    }

    /// `AND <column> = <the service>`, when the figures are of one.
    pub(super) fn service(&self, column: &str) -> String {
        self.f
            .service
            .as_deref()
            .map(|s| format!(" AND {column} = {}", quote(s)))
            .unwrap_or_default()
    }

    /// Cases and statistics rows received from `from` to `before`.
    fn received(&self, from: &str, before: &str) -> String {
        let window = format!(
            "received_at >= {} AND received_at < {}{}",
            quote(from),
            quote(before),
            self.service("category")
        );
        format!(
            "SELECT id, {COMMON}, 0 AS chasers FROM cases WHERE {window} \
             UNION ALL SELECT -id AS id, {COMMON}, chasers FROM case_statistics WHERE {window}"
        )
    }

    /// The cases received from `from` to `before`, grouped.
    fn facts(&self, from: &str, before: &str) -> String {
        // Answered or closed, whichever came first: closed_at is read only
        // for a case that has one.
        let finish = format!(
            "CASE WHEN closed_at IS NULL THEN {ea} WHEN answered_at IS NULL OR closed_at < answered_at THEN {ec} ELSE {ea} END",
            ea = self.epoch("answered_at"),
            ec = self.epoch("closed_at")
        );
        let max = match self.backend {
            Backend::Sqlite => "MAX",
            Backend::Postgres => "GREATEST",
        };
        format!(
            "SELECT {p} AS p, {yr} AS yr, category, send_topic, team, {office} AS from_mp_office, mp_name, constituency, \
             am AS ack_minutes, {ack_wd} AS ack_wd, {ack_in_time} AS ack_in_time, \
             {answer_wd} AS answer_wd, {answer_in_time} AS answer_in_time, {fb} AS fb, {db} AS db, \
             {n} AS n, {kept} AS kept \
             FROM (SELECT category, send_topic, team, from_mp_office, mp_name, constituency, chasers, rd, kd, ad, fd, akd, dd, am, \
                   {or} AS or_, {ok} AS ok_, {oa} AS oa_ \
                   FROM (SELECT category, send_topic, team, from_mp_office, mp_name, constituency, chasers, \
                         {rd} AS rd, {kd} AS kd, {ad} AS ad, {fd} AS fd, akd, dd, \
                         CASE WHEN ek IS NULL THEN NULL ELSE {max}(0, (ek - er) / 60) END AS am \
                         FROM (SELECT category, send_topic, team, from_mp_office, mp_name, constituency, chasers, \
                               {er} AS er, {ek} AS ek, {ea} AS ea, {ef} AS ef, {akd} AS akd, {dd} AS dd \
                               FROM ({received}) w {fence}) e {fence}) l {fence}) x \
             GROUP BY 12, 9, 10, 7, 1, 14, 15, 13, 11, 4, 8, 3, 5, 6, 2",
            p = big(&self.period("rd")),
            yr = big(&self.year("rd")),
            office = big("from_mp_office"),
            ack_wd = big("ok_ - or_"),
            ack_in_time = big(
                "CASE WHEN kd IS NULL OR akd IS NULL THEN NULL WHEN kd <= akd THEN 1 ELSE 0 END"
            ),
            answer_wd = big("oa_ - or_"),
            answer_in_time =
                big("CASE WHEN ad IS NULL OR dd IS NULL THEN NULL WHEN ad <= dd THEN 1 ELSE 0 END"),
            fb = big(&self.finished_bucket("fd")),
            db = big(&self.due_bucket("dd")),
            n = big("COUNT(*)"),
            kept = big("SUM(chasers)"),
            or = self.ordinal("rd"),
            ok = self.ordinal("kd"),
            oa = self.ordinal("ad"),
            rd = self.local_day("er"),
            kd = self.local_day("ek"),
            ad = self.local_day("ea"),
            fd = self.local_day("ef"),
            er = self.epoch("received_at"),
            ek = self.epoch("acknowledged_at"),
            ea = self.epoch("answered_at"),
            ef = finish,
            akd = self.date_day("acknowledge_due"),
            dd = self.date_day("response_due"),
            received = self.received(from, before),
            fence = self.fence(),
        )
    }

    /// The first period by whose end day `fd` (a column: when a case was
    /// answered or closed) had come: the case was open at the ends before.
    fn finished_bucket(&self, fd: &str) -> String {
        let n = self.f.periods.len();
        let (first, last) = (self.f.periods[0].0, self.f.periods[n - 1].1);
        format!(
            "CASE WHEN {fd} IS NULL THEN {n} WHEN {fd} < {first} THEN 0 WHEN {fd} > {last} THEN {n} ELSE {} END",
            self.period(fd)
        )
    }

    /// The first period whose last day is after reply date `dd` (a
    /// column): the case was overdue at its end and every end after.
    fn due_bucket(&self, dd: &str) -> String {
        let n = self.f.periods.len();
        let (first, last) = (self.f.periods[0].0, self.f.periods[n - 1].1);
        let mut s = format!(
            "CASE WHEN {dd} IS NULL THEN {n} WHEN {dd} < {first} THEN 0 WHEN {dd} > {last} THEN {n}"
        );
        for (k, (_, last)) in self.f.periods.iter().enumerate() {
            s.push_str(&format!(
                " WHEN {dd} < {last} THEN {k} WHEN {dd} = {last} THEN {}",
                k + 1
            ));
        }
        s.push_str(&format!(" ELSE {n} END"));
        s
    }

    /// Chaser events about the cases received in the range (a chaser comes
    /// after its case, so only events from the range's start are read).
    fn chasers(&self) -> String {
        format!(
            "SELECT {p} AS p, mp_name, {n} AS n FROM \
             (SELECT c.mp_name AS mp_name, {rd} AS rd FROM case_events ev JOIN cases c ON c.id = ev.case_id \
              WHERE ev.kind = 'chaser' AND ev.at >= {from} AND c.received_at >= {from} AND c.received_at < {before}{service} {fence}) x \
             GROUP BY 1, 2",
            p = big(&self.period("rd")),
            n = big("COUNT(*)"),
            rd = self.local_day(&self.epoch("c.received_at")),
            from = quote(&self.f.received_from),
            before = quote(&self.f.received_before),
            service = self.service("c.category"),
            fence = self.fence(),
        )
    }

    /// Cases received before the range and neither answered nor closed by
    /// the first period's end (read by the index on answered_at: NULL, or
    /// on or after that end), by the periods they finished and fell due in
    /// ([`Tallies::older`]).
    fn older(&self) -> String {
        let end = quote(&self.f.first_end);
        let from = quote(&self.f.received_from);
        let service = self.service("category");
        let columns = format!("{FINISH} AS finished_at, response_due");
        let older = |table: &str| {
            format!(
                "SELECT {columns} FROM {table} WHERE answered_at IS NULL AND (closed_at IS NULL OR closed_at >= {end}) \
                 AND received_at < {from}{service} \
                 UNION ALL SELECT {columns} FROM {table} WHERE answered_at >= {end} AND (closed_at IS NULL OR closed_at >= {end}) \
                 AND received_at < {from}{service}"
            )
        };
        format!(
            "SELECT {fb} AS fb, {db} AS db, {count} AS n FROM \
             (SELECT {fd} AS fd, dd FROM \
              (SELECT {ef} AS ef, {dd} AS dd FROM ({cases} UNION ALL {stats}) u {fence}) e {fence}) x \
             GROUP BY 1, 2",
            fb = big(&self.finished_bucket("fd")),
            db = big(&self.due_bucket("dd")),
            count = big("COUNT(*)"),
            fd = self.local_day("ef"),
            ef = self.epoch("finished_at"),
            dd = self.date_day("response_due"),
            cases = older("cases"),
            stats = older("case_statistics"),
            fence = self.fence(),
        )
    }
}
