//! The reminder scan at scale: one million cases (two million deadlines)
//! in the database, most answered long ago, 5% open with their next
//! reminder spread over the next two months. Times the query the reminder
//! run makes (`store::deadlines::due`, a batch of 200, oldest first) and a
//! full count of what is due, on SQLite and on PostgreSQL. Target: the scan
//! under 100 ms on both.
//!
//!     cargo bench --bench deadlines [-- sqlite|postgres]
//!
//! PostgreSQL: `POSTROOM_TEST_POSTGRES` (default
//! postgres://postgres@127.0.0.1:5432/postgres); the benchmark makes and
//! drops its own database.

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use postroom::store::{Store, deadlines};
use secrecy::SecretString;

#[path = "common/pg.rs"]
mod pg;

const CASES: i64 = 1_000_000;
const ROUNDS: usize = 25;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()
}

/// Fills the database in SQL: cases, then an acknowledgement deadline
/// (met) and a reply deadline for each; 1 case in 20 is open.
async fn fill(store: &Store, postgres: bool) {
    let mut conn = store.conn().await.unwrap();
    let (series, day) = if postgres {
        (
            format!("generate_series(1, {CASES}) AS n(i)"),
            "to_char(DATE '2022-01-01' + (i % 1790)::int, 'YYYY-MM-DD')",
        )
    } else {
        (
            // A recursive CTE: SQLite's own series generator.
            format!(
                "(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {CASES}) SELECT i FROM s) AS n"
            ),
            "date('2022-01-01', '+' || (i % 1790) || ' days')",
        )
    };
    let started = Instant::now();
    let statements = [
        format!(
            "INSERT INTO cases (reference, status, kind, received_at, created_at, updated_at, team, assignee) \
             SELECT 'MPE-B-' || i, CASE WHEN i % 20 = 0 THEN 'open' ELSE 'answered' END, 'new_enquiry', \
             {day} || 'T10:00:00.000Z', {day} || 'T10:00:00.000Z', {day} || 'T10:00:00.000Z', \
             CASE WHEN i % 3 = 0 THEN 'SEND' ELSE 'general' END, 'caseworker' || (i % 40) || '@council.example' FROM {series}"
        ),
        format!(
            "INSERT INTO deadlines (case_id, kind, name, unit, amount, start_on, due_on, met_at, stage, next_on) \
             SELECT i, 'acknowledge', 'Acknowledge', 'working_days', 0, {day}, {day}, {day} || 'T10:05:00.000Z', 1, NULL FROM {series}"
        ),
        format!(
            "INSERT INTO deadlines (case_id, kind, name, unit, amount, start_on, due_on, met_at, stage, next_on) \
             SELECT i, 'respond', 'Reply', 'working_days', 10, {day}, {day}, \
             CASE WHEN i % 20 = 0 THEN NULL ELSE {day} || 'T12:00:00.000Z' END, \
             CASE WHEN i % 20 = 0 THEN 0 ELSE 3 END, \
             CASE WHEN i % 20 = 0 THEN {next} ELSE NULL END FROM {series}",
            next = if postgres {
                "to_char(DATE '2026-11-25' + (i % 61)::int, 'YYYY-MM-DD')"
            } else {
                "date('2026-11-25', '+' || (i % 61) || ' days')"
            }
        ),
    ];
    for s in &statements {
        sqlx::query(s).execute(&mut *conn).await.unwrap();
    }
    sqlx::query("ANALYZE").execute(&mut *conn).await.unwrap();
    println!(
        "  filled: {CASES} cases, {} deadlines in {:.1} s",
        2 * CASES,
        started.elapsed().as_secs_f64()
    );
}

fn stats(mut v: Vec<Duration>) -> (f64, f64, f64) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    (ms(v[0]), ms(v[v.len() / 2]), ms(v[v.len() - 1]))
}

async fn measure(name: &str, store: &Store, postgres: bool) {
    fill(store, postgres).await;
    let mut conn = store.conn().await.unwrap();
    let plan_sql = if postgres {
        "EXPLAIN SELECT id FROM deadlines WHERE next_on <= '2026-11-27' ORDER BY next_on, id LIMIT 200"
    } else {
        "EXPLAIN QUERY PLAN SELECT id FROM deadlines WHERE next_on <= '2026-11-27' ORDER BY next_on, id LIMIT 200"
    };
    let plan: Vec<String> = if postgres {
        sqlx::query_scalar::<_, String>(plan_sql)
            .fetch_all(&mut *conn)
            .await
            .unwrap()
    } else {
        // EXPLAIN QUERY PLAN: the step's text is the fourth column.
        let rows = sqlx::query(plan_sql).fetch_all(&mut *conn).await.unwrap();
        rows.iter()
            .map(|r| sqlx::Row::try_get::<String, _>(r, 3).unwrap_or_default())
            .collect()
    };
    println!("  plan: {}", plan.join(" / "));

    // Warm up, then time the scan the reminder run makes.
    let first = deadlines::due(&mut conn, today(), 200).await.unwrap();
    assert_eq!(first.len(), 200, "the benchmark's data has due reminders");
    let mut scan = Vec::new();
    for _ in 0..ROUNDS {
        let t = Instant::now();
        let due = deadlines::due(&mut conn, today(), 200).await.unwrap();
        scan.push(t.elapsed());
        assert_eq!(due.len(), 200);
    }
    let mut count = Vec::new();
    let mut total = 0i64;
    for _ in 0..5 {
        let t = Instant::now();
        total = sqlx::query_scalar("SELECT COUNT(*) FROM deadlines WHERE next_on <= $1")
            .bind("2026-11-27")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        count.push(t.elapsed());
    }
    let (min, median, max) = stats(scan);
    println!(
        "  {name}: due-reminder scan (200 of {total} due): min {min:.2} ms, median {median:.2} ms, max {max:.2} ms (target < 100 ms)"
    );
    let (min, median, max) = stats(count);
    println!("  {name}: count of all due: min {min:.2} ms, median {median:.2} ms, max {max:.2} ms");
    drop(conn);

    // A manager's digest over the same million cases (a third in the team).
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("postroom.toml");
    std::fs::write(
        &config,
        "[council]\nname = \"Bench\"\nmailbox = \"mp@council.example\"\n\
         [database]\nurl = \"sqlite:unused.sqlite\"\n[delivery]\ntransport = \"file\"\npath = \"out\"\n\
         [[team]]\nname = \"SEND\"\ncategories = [\"send\"]\nmanager = \"m@council.example\"\nmembers = [\"a@council.example\"]\n\
         [[team]]\nname = \"general\"\ndefault = true\nmembers = [\"b@council.example\"]\n",
    )
    .unwrap();
    let config = postroom::config::Config::load(&config).unwrap_or_else(|e| panic!("{e}"));
    let prepared = postroom::app::Prepared::new(config).unwrap_or_else(|p| panic!("{p}"));
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-27T08:30:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let app = postroom::app::App::new(
        prepared,
        store.clone(),
        postroom::clock::FixedClock::new(now),
    );
    for period in [
        postroom::schedule::digest::Period::Daily,
        postroom::schedule::digest::Period::Weekly,
    ] {
        let mut times = Vec::new();
        for _ in 0..3 {
            let t = Instant::now();
            postroom::schedule::digest::build(
                &app,
                "m@council.example",
                &["SEND".into()],
                period,
                now,
            )
            .await
            .unwrap();
            times.push(t.elapsed());
        }
        let (min, median, max) = stats(times);
        println!(
            "  {name}: {} digest for a team of 333,333 cases: min {min:.0} ms, median {median:.0} ms, max {max:.0} ms",
            period.as_str()
        );
    }
}

#[tokio::main]
async fn main() {
    let only = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    if only.as_deref().is_none_or(|o| o == "sqlite") {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("bench.sqlite").display());
        let store = Store::connect(&SecretString::from(url), 2).await.unwrap();
        println!("SQLite:");
        measure("SQLite", &store, false).await;
    }
    if only.as_deref().is_none_or(|o| o == "postgres") {
        let (url, name) = pg::create().await;
        let store = Store::connect(&SecretString::from(url), 2).await.unwrap();
        println!("PostgreSQL:");
        measure("PostgreSQL", &store, true).await;
        store.close().await;
        pg::drop(&name).await;
    }
}
