//! The figures of a year over 1,000,000 cases (the workspace benchmark's
//! million: five years of cases, 1 in 20 open, the rest answered), on
//! SQLite and PostgreSQL: `report::of_store`, the code behind both
//! `postroom report` and the managers' dashboard, for the twelve months to
//! 30 November 2026 by month and by week, 20 times each. Beside it, the
//! floor measured in the same run: counting that year's cases by the index
//! on received_at, which any figure of the year has to read. Then the page
//! itself over HTTP (`/figures` for the year, by month), as a manager's
//! browser asks for it. Target (issue #19): the dashboard for a year at
//! most 500 ms server time.
//!
//!     cargo bench --bench dashboard [-- sqlite|postgres]
//!
//! `POSTROOM_BENCH_SQLITE=/path/file.sqlite` keeps the SQLite million
//! there and uses it again on the next run.

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use postroom::report::By;
use postroom::store::Store;
use secrecy::SecretString;

#[path = "common/million.rs"]
mod million;
#[path = "common/pg.rs"]
mod pg;
#[path = "common/web.rs"]
mod web;

const ROUNDS: usize = 20;

/// This process's CPU time so far (user and system), in seconds.
fn process_cpu() -> f64 {
    // SAFETY: getrusage fills the struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let s = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    s(u.ru_utime) + s(u.ru_stime)
}

fn ms(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    let rank = ((p / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
    v[rank - 1].as_secs_f64() * 1000.0
}

async fn measure(name: &str, store: Store, postgres: bool, fill: bool) {
    if fill {
        million::fill(&store, postgres).await;
    }
    let calendar =
        postroom::calendar::Calendar::embedded(postroom::calendar::Division::EnglandAndWales);
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let (from, to, today) = (d("2025-12-01"), d("2026-11-30"), d("2026-12-01"));
    let mut floor = Vec::new();
    let mut conn = store.conn().await.unwrap();
    let (lo, hi) = ("2025-12-01T00:00:00.000Z", "2026-12-01T00:00:00.000Z");
    let mut year = 0;
    for _ in 0..ROUNDS {
        let t = Instant::now();
        year = sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM cases WHERE received_at >= $1 AND received_at < $2",
        )
        .bind(lo)
        .bind(hi)
        .fetch_one(&mut *conn)
        .await
        .unwrap();
        floor.push(t.elapsed());
    }
    drop(conn);
    println!("  {name}: {year} cases received in the year");
    for by in [By::Month, By::Week] {
        let mut times = Vec::new();
        let mut received = 0;
        let cpu = process_cpu();
        for _ in 0..ROUNDS {
            let t = Instant::now();
            let r = postroom::report::of_store(&store, &calendar, (from, to), by, today, None)
                .await
                .unwrap();
            times.push(t.elapsed());
            received = r.total.received;
        }
        let cpu = (process_cpu() - cpu) / ROUNDS as f64 * 1000.0;
        assert_eq!(received as i64, year, "the report counts the year's cases");
        // On SQLite the database works in this process, so its CPU time
        // says how much work a round is, whatever else the machine does;
        // PostgreSQL's work is in its server.
        println!(
            "  {name} figures by {by:?}: median {:.0} ms, p99 {:.0} ms (target 500 ms); this process's CPU {cpu:.0} ms a round; floor (count the year by index): median {:.0} ms",
            ms(&mut times, 50.0),
            ms(&mut times, 99.0),
            ms(&mut floor.clone(), 50.0),
        );
    }
    // The page itself, as a manager's browser asks for it: the figures,
    // the tables with a link behind every count, both charts and the
    // template, timed at the client on loopback.
    let served = web::serve(&store, "2026-12-01T10:00:00Z").await;
    let mut times = Vec::new();
    let mut size = 0;
    for _ in 0..ROUNDS {
        let t = Instant::now();
        let r = served
            .client
            .get(format!(
                "{}/figures?range=custom&from=2025-12-01&to=2026-11-30",
                served.base
            ))
            .header("Cookie", &served.cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let body = r.text().await.unwrap();
        times.push(t.elapsed());
        assert!(body.contains("200880<span"), "the year's cases on the page");
        size = body.len();
    }
    println!(
        "  {name} the figures page for the year, by month: median {:.0} ms, p99 {:.0} ms (target 500 ms); {:.0} KB of HTML",
        ms(&mut times, 50.0),
        ms(&mut times, 99.0),
        size as f64 / 1024.0,
    );
    served.stop.cancel();
    store.close().await;
}

#[tokio::main]
async fn main() {
    let only = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    if only.as_deref().is_none_or(|o| o == "sqlite") {
        // POSTROOM_BENCH_SQLITE keeps the filled database for the next run.
        let dir = tempfile::tempdir().unwrap();
        let path = std::env::var("POSTROOM_BENCH_SQLITE")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|_| dir.path().join("bench.sqlite"));
        let fill = !path.exists();
        let url = format!("sqlite://{}", path.display());
        let store = Store::connect(&SecretString::from(url), 5).await.unwrap();
        println!("SQLite:");
        measure("SQLite", store, false, fill).await;
    }
    if only.as_deref().is_none_or(|o| o == "postgres") {
        let (url, name) = pg::create().await;
        let store = Store::connect(&SecretString::from(url), 5).await.unwrap();
        println!("PostgreSQL:");
        measure("PostgreSQL", store, true, true).await;
        pg::drop(&name).await;
    }
}
