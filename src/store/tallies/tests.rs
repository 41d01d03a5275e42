//! The SQL's arithmetic against the same counted in Rust.
use chrono::{Datelike, NaiveDate};
use sqlx::{Connection, Row};

use super::Backend;
use super::sql::Sql;
use crate::calendar::{Calendar, Division};
use crate::report::{By, frame};

/// The SQL's periods, buckets, years and working days, worked out by
/// SQLite itself for every day around a range, against the same
/// counted here in Rust, by month and by week (whose buckets are
/// arithmetic, and whose first and last weeks are cut by the range).
#[tokio::test]
async fn the_sql_counts_periods_ends_years_and_working_days_as_rust_does() {
    let calendar = Calendar::embedded(Division::EnglandAndWales);
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let epoch = d("1970-01-01");
    let mut db = sqlx::SqliteConnection::connect("sqlite::memory:")
        .await
        .unwrap();
    for (from, to, by) in [
        ("2025-12-01", "2026-11-30", By::Month),
        ("2025-12-03", "2026-02-26", By::Week),
        ("2026-03-02", "2026-03-08", By::Week),
    ] {
        let f = frame(&calendar, d(from), d(to), by, d("2026-12-01"), None);
        let sql = Sql {
            backend: Backend::Sqlite,
            f: &f,
        };
        let lasts = sql.lasts();
        let (lo, hi) = (f.periods[0].0 - 20, lasts[lasts.len() - 1] + 20);
        let text = format!(
            "WITH RECURSIVE s(d) AS (SELECT {lo} UNION ALL SELECT d + 1 FROM s WHERE d < {hi}) \
             SELECT d, {} AS below, {} AS atmost, {} AS p, {} AS yr, {} AS wd FROM s",
            sql.ended("d", false),
            sql.ended("d", true),
            sql.period("d"),
            sql.year("d"),
            sql.ordinal("d"),
        );
        let rows = sqlx::query(&text).fetch_all(&mut db).await.unwrap();
        assert_eq!(rows.len() as i64, hi - lo + 1);
        for r in rows {
            let day: i64 = r.get("d");
            let get = |c: &str| r.get::<i64, _>(c);
            let (below, at_most) = (
                lasts.iter().filter(|l| **l < day).count() as i64,
                lasts.iter().filter(|l| **l <= day).count() as i64,
            );
            assert_eq!(get("below"), below, "{from} {by:?}: ends before {day}");
            assert_eq!(get("atmost"), at_most, "{from} {by:?}: ends by {day}");
            if day >= f.periods[0].0 && day <= lasts[lasts.len() - 1] {
                let period = f
                    .periods
                    .iter()
                    .position(|(first, last)| *first <= day && day <= *last)
                    .unwrap() as i64;
                assert_eq!(get("p"), period, "{from} {by:?}: the period of {day}");
            }
            let date = epoch + chrono::Duration::days(day);
            assert_eq!(get("yr"), i64::from(date.year()), "the year of {date}");
            assert_eq!(get("wd"), f.ordinal(day), "working days to {date}");
        }
    }
}
