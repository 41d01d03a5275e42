//! The statements behind the figures: each case's local days, working
//! days and periods worked out in SQL from a [`Frame`], the same on SQLite
//! and PostgreSQL.

use super::{Backend, Frame};

/// When a case was answered or closed, whichever came first, in seconds
/// since 1970.
const FINISH: &str = "CASE WHEN answered_s IS NULL THEN closed_s WHEN closed_s IS NULL THEN answered_s \
    WHEN answered_s < closed_s THEN answered_s ELSE closed_s END";

/// The columns both cases and statistics rows have: instants in seconds
/// and dates in days since 1970, which the database keeps beside the text
/// (migration 0018).
const COMMON: &str = "category, send_topic, team, from_mp_office, mp_name, constituency, received_s, \
    acknowledge_due_d, response_due_d, acknowledged_s, answered_s, closed_s";

/// A stored timestamp in seconds since 1970.
fn secs(ts: &str) -> i64 {
    crate::store::parse_ts(ts).map_or(0, |t| t.timestamp())
}

/// The statements, for one backend and frame. Every value in them comes
/// from postroom (numbers, timestamps it formatted, a service's word from
/// its own list), quoted as SQL literals.
pub(super) struct Sql<'a> {
    pub(super) backend: Backend,
    pub(super) f: &'a Frame,
}

pub(in crate::store) fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

pub(in crate::store) fn big(expr: &str) -> String {
    format!("CAST({expr} AS BIGINT)")
}

/// Seconds since 1970 of a stored timestamp (a column).
fn epoch_of(backend: Backend, col: &str) -> String {
    match backend {
        Backend::Sqlite => format!("unixepoch({col})"),
        Backend::Postgres => {
            format!("FLOOR(EXTRACT(EPOCH FROM CAST({col} AS timestamp)))::bigint")
        }
    }
}

/// The council's local day of an instant in seconds since 1970 (a
/// column), with the time zone's `offsets` ([`Frame::offsets`]): the
/// offset looked up by comparing integers.
fn local_day_of(offsets: &[(i64, i64)], e: &str) -> String {
    let mut rest = offsets.iter();
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
    // An instant not there (a case not yet answered) costs one test.
    format!("(CASE WHEN {e} IS NULL THEN NULL ELSE ({e} + {offset}) / 86400 END)")
}

/// The day of a stored date ("YYYY-MM-DD", a column).
fn date_day_of(backend: Backend, col: &str) -> String {
    match backend {
        Backend::Sqlite => format!("(unixepoch({col}) / 86400)"),
        Backend::Postgres => format!("(CAST({col} AS date) - DATE '1970-01-01')"),
    }
}

/// SQL that is true when instant `at` (a stored timestamp column) fell on
/// or before the council's local day `date` (a stored date column): what
/// the figures count as in time (acknowledged by the target date, answered
/// by the reply date, a clock met by its day). `offsets` must cover the
/// instants compared ([`crate::calendar::Calendar::offsets_between`]).
pub fn by_date(backend: Backend, offsets: &[(i64, i64)], at: &str, date: &str) -> String {
    format!(
        "{} <= {}",
        local_day_of(offsets, &epoch_of(backend, at)),
        date_day_of(backend, date)
    )
}

/// SQL for how many of the ordered numbers `xs` are below `d` (a column),
/// or (`or_equal`) at most `d`: a balanced tree of comparisons, so that a
/// row costs the logarithm of the list, not its length.
fn count(d: &str, xs: &[i64], or_equal: bool) -> String {
    fn tree(d: &str, xs: &[i64], base: usize, or_equal: bool) -> String {
        if xs.is_empty() {
            return base.to_string();
        }
        let mid = xs.len() / 2;
        // Below xs[mid] (or at it, counting only those below): none of
        // xs[mid..] counts; otherwise all of xs[..=mid] do.
        let op = if or_equal { "<" } else { "<=" };
        format!(
            "CASE WHEN {d} {op} {} THEN {} ELSE {} END",
            xs[mid],
            tree(d, &xs[..mid], base, or_equal),
            tree(d, &xs[mid + 1..], base + mid + 1, or_equal)
        )
    }
    tree(d, xs, 0, or_equal)
}

impl Sql<'_> {
    /// The smaller and the larger of two values, as each backend spells
    /// them.
    fn least(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "MIN",
            Backend::Postgres => "LEAST",
        }
    }

    fn greatest(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "MAX",
            Backend::Postgres => "GREATEST",
        }
    }

    /// Seconds since 1970 of a stored timestamp.
    pub(super) fn epoch(&self, col: &str) -> String {
        epoch_of(self.backend, col)
    }

    /// The council's local day of an instant in seconds since 1970 (a
    /// column).
    pub(super) fn local_day(&self, e: &str) -> String {
        local_day_of(&self.f.offsets, e)
    }

    /// The day of a stored date ("YYYY-MM-DD").
    pub(super) fn date_day(&self, col: &str) -> String {
        date_day_of(self.backend, col)
    }

    /// Working days from a fixed Monday to day `d` (a column): weekdays by
    /// arithmetic, less the days off on or before it ([`Frame::ordinal`]).
    pub(super) fn ordinal(&self, d: &str) -> String {
        let min = self.least();
        format!(
            "((({d} + 3) / 7) * 5 + {min}(({d} + 3) % 7 + 1, 5) - ({}))",
            count(d, &self.f.days_off, true)
        )
    }

    /// The last day of each period.
    pub(super) fn lasts(&self) -> Vec<i64> {
        self.f.periods.iter().map(|(_, last)| *last).collect()
    }

    /// The period of day `d` (a column) in the range: the number of
    /// periods that end before it (the last period for a day after).
    pub(super) fn period(&self, d: &str) -> String {
        if let Some(monday) = self.f.weekly {
            return format!("(({d} - {monday}) / 7)");
        }
        let lasts = self.lasts();
        count(d, &lasts[..lasts.len() - 1], false)
    }

    /// How many periods end before day `d` (a column), or (`or_equal`) on
    /// or before it. Weeks end every seventh day (but the last, which ends
    /// with the range), so that is arithmetic; months are looked up.
    pub(super) fn ended(&self, d: &str, or_equal: bool) -> String {
        let lasts = self.lasts();
        let n = lasts.len() as i64;
        match self.f.weekly {
            Some(monday) if n > 1 => {
                let e = if or_equal {
                    format!("({d} + 1)")
                } else {
                    d.to_string()
                };
                let first_end = monday + 6;
                let (min, last) = (self.least(), lasts[lasts.len() - 1]);
                format!(
                    "CASE WHEN {e} > {last} THEN {n} WHEN {e} <= {first_end} THEN 0 \
                     ELSE {min}(({e} - {first_end} + 6) / 7, {}) END",
                    n - 1
                )
            }
            _ => count(d, &lasts, or_equal),
        }
    }

    /// The calendar year of day `d` (a column); 0 before the first.
    pub(super) fn year(&self, d: &str) -> String {
        let starts: Vec<i64> = self.f.years.iter().map(|(start, _)| *start).collect();
        let first = self.f.years.first().map_or(0, |(_, y)| *y);
        format!(
            "CASE WHEN {d} < {} THEN 0 ELSE {} + {} END",
            starts.first().copied().unwrap_or(0),
            first - 1,
            count(d, &starts, true)
        )
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
    pub(super) fn received(&self, from: &str, before: &str) -> String {
        let window = format!(
            "received_s >= {} AND received_s < {}{}",
            secs(from),
            secs(before),
            self.service("category")
        );
        format!(
            "SELECT id, {COMMON}, 0 AS chasers FROM cases WHERE {window} \
             UNION ALL SELECT -id AS id, {COMMON}, chasers FROM case_statistics WHERE {window}"
        )
    }

    /// The cases received from `from` to `before`, grouped. The local
    /// days of each row are worked out once, in a subquery of their own,
    /// and everything else in one pass over it (each level of subquery
    /// costs a copy of every row); the working days of an acknowledgement
    /// on the day it arrived (most of them) are none, without looking up
    /// the days off.
    pub(super) fn facts(&self, from: &str, before: &str) -> String {
        let max = self.greatest();
        format!(
            "SELECT {p} AS p, {yr} AS yr, category, send_topic, team, {office} AS from_mp_office, mp_name, constituency, \
             am AS ack_minutes, {ack_wd} AS ack_wd, {ack_in_time} AS ack_in_time, \
             {answer_wd} AS answer_wd, {answer_in_time} AS answer_in_time, {fb} AS fb, {db} AS db, \
             {n} AS n, {kept} AS kept \
             FROM (SELECT category, send_topic, team, from_mp_office, mp_name, constituency, chasers, \
                   {rd} AS rd, {kd} AS kd, {ad} AS ad, {cd} AS cd, acknowledge_due_d AS akd, response_due_d AS dd, \
                   CASE WHEN acknowledged_s IS NULL THEN NULL ELSE {max}(0, (acknowledged_s - received_s) / 60) END AS am \
                   FROM ({received}) w {fence}) l \
             GROUP BY 12, 9, 10, 7, 1, 14, 15, 13, 11, 4, 8, 3, 5, 6, 2",
            p = big(&self.period("rd")),
            yr = big(&self.year("rd")),
            office = big("from_mp_office"),
            ack_wd = big(&format!(
                "CASE WHEN kd IS NULL THEN NULL WHEN kd = rd THEN 0 ELSE {} - {} END",
                self.ordinal("kd"),
                self.ordinal("rd")
            )),
            ack_in_time = big(
                "CASE WHEN kd IS NULL OR akd IS NULL THEN NULL WHEN kd <= akd THEN 1 ELSE 0 END"
            ),
            answer_wd = big(&format!(
                "CASE WHEN ad IS NULL THEN NULL WHEN ad = rd THEN 0 ELSE {} - {} END",
                self.ordinal("ad"),
                self.ordinal("rd")
            )),
            answer_in_time =
                big("CASE WHEN ad IS NULL OR dd IS NULL THEN NULL WHEN ad <= dd THEN 1 ELSE 0 END"),
            // Answered or closed, whichever came first (local days keep
            // the order of instants, and so do the periods).
            fb = big(&format!(
                "CASE WHEN cd IS NOT NULL AND (ad IS NULL OR cd < ad) THEN {} ELSE {} END",
                self.finished_bucket("cd"),
                self.finished_bucket("ad")
            )),
            db = big(&self.due_bucket("dd")),
            n = big("COUNT(*)"),
            kept = big("SUM(chasers)"),
            rd = self.local_day("received_s"),
            kd = self.local_day("acknowledged_s"),
            ad = self.local_day("answered_s"),
            cd = self.local_day("closed_s"),
            received = self.received(from, before),
            fence = self.fence(),
        )
    }

    /// The first period by whose end day `fd` (a column: when a case was
    /// answered or closed) had come: the number of periods that end before
    /// it (all of them: never). The case was open at the ends before.
    pub(super) fn finished_bucket(&self, fd: &str) -> String {
        let n = self.f.periods.len();
        format!(
            "CASE WHEN {fd} IS NULL THEN {n} ELSE {} END",
            self.ended(fd, false)
        )
    }

    /// The first period whose last day is after reply date `dd` (a
    /// column): the number of periods that end on or before it. The case
    /// was overdue at that period's end and every end after.
    pub(super) fn due_bucket(&self, dd: &str) -> String {
        let n = self.f.periods.len();
        format!(
            "CASE WHEN {dd} IS NULL THEN {n} ELSE {} END",
            self.ended(dd, true)
        )
    }

    /// Chaser events about the cases received in the range (a chaser comes
    /// after its case, so only events from the range's start are read).
    pub(super) fn chasers(&self) -> String {
        format!(
            "SELECT {p} AS p, mp_name, {n} AS n FROM \
             (SELECT c.mp_name AS mp_name, {rd} AS rd FROM case_events ev JOIN cases c ON c.id = ev.case_id \
              WHERE ev.kind = 'chaser' AND ev.at >= {from} AND c.received_s >= {from_s} AND c.received_s < {before_s}{service} {fence}) x \
             GROUP BY 1, 2",
            p = big(&self.period("rd")),
            n = big("COUNT(*)"),
            rd = self.local_day("c.received_s"),
            from = quote(&self.f.received_from),
            from_s = secs(&self.f.received_from),
            before_s = secs(&self.f.received_before),
            service = self.service("c.category"),
            fence = self.fence(),
        )
    }

    /// Cases received before the range and neither answered nor closed by
    /// the first period's end (read by the index on answered_at: NULL, or
    /// on or after that end), by the periods they finished and fell due in
    /// ([`Tallies::older`]).
    pub(super) fn older(&self) -> String {
        let end = secs(&self.f.first_end);
        let from = secs(&self.f.received_from);
        let service = self.service("category");
        let columns = format!("{FINISH} AS finished_s, response_due_d");
        let older = |table: &str| {
            format!(
                "SELECT {columns} FROM {table} WHERE answered_s IS NULL AND (closed_s IS NULL OR closed_s >= {end}) \
                 AND received_s < {from}{service} \
                 UNION ALL SELECT {columns} FROM {table} WHERE answered_s >= {end} AND (closed_s IS NULL OR closed_s >= {end}) \
                 AND received_s < {from}{service}"
            )
        };
        format!(
            "SELECT {fb} AS fb, {db} AS db, {count} AS n FROM \
             (SELECT {fd} AS fd, dd FROM \
              (SELECT {ef} AS ef, {dd} AS dd FROM ({cases} UNION ALL {stats}) u {fence}) e {fence}) x \
             GROUP BY 1, 2",
            // Answered or closed, whichever came first (local days keep
            // the order of instants, and so do the periods).
            fb = big(&self.finished_bucket("fd")),
            db = big(&self.due_bucket("dd")),
            count = big("COUNT(*)"),
            fd = self.local_day("ef"),
            ef = "finished_s",
            dd = "response_due_d",
            cases = older("cases"),
            stats = older("case_statistics"),
            fence = self.fence(),
        )
    }
}
