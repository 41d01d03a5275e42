//! The workspace at scale: 1,000,000 cases (1 in 20 open, each case with a
//! message whose text names a constituent, a street and a topic), and one
//! case with 200 messages, on SQLite and on PostgreSQL. A manager (every
//! case in scope) asks for the list's first page, a filtered page, a text
//! search, a later page, and the 200-message case page; each 100 times,
//! timed at the client on loopback (an upper bound on the server's time).
//! Targets (issue #18): the list pages and the search at most 50 ms at p99,
//! the case page at most 100 ms; each page at most 150 KB over the wire;
//! no request to any other host.
//!
//!     cargo bench --bench workspace [-- sqlite|postgres]
//!
//! PostgreSQL: `POSTROOM_TEST_POSTGRES` (default
//! postgres://postgres@127.0.0.1:5432/postgres); the benchmark makes and
//! drops its own database.

use std::time::{Duration, Instant};

use postroom::store::Store;
use secrecy::SecretString;

#[path = "common/million.rs"]
mod million;
#[path = "common/pg.rs"]
mod pg;
#[path = "common/web.rs"]
mod web;

const ROUNDS: usize = 100;

fn percentiles(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p99 = v[((v.len() * 99) / 100).min(v.len() - 1)];
    (ms(v[v.len() / 2]), ms(p99))
}

// Long: the filling, the server and each measured page, in order.
async fn measure(name: &str, store: Store, postgres: bool) {
    million::fill(&store, postgres).await;
    let web::Served {
        base,
        client,
        cookie,
        stop,
        ..
    } = web::serve(&store, "2026-11-27T10:00:00Z").await;
    let second_page = {
        let body = client
            .get(format!("{base}/cases"))
            .header("Cookie", &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        body.split("govuk-pagination__link\" href=\"")
            .nth(1)
            .expect("a next page")
            .split('"')
            .next()
            .unwrap()
            .replace("&#x2f;", "/")
            .replace("&amp;", "&")
    };
    let pages = [
        (
            "the list's first page (open, by reply date)",
            "/cases".to_string(),
            50.0,
        ),
        (
            "a filtered page (urgent, one SEND topic)",
            "/cases?view=urgent&topic=send_transport".to_string(),
            50.0,
        ),
        (
            "a text search (a name and a street)",
            "/cases?view=all&q=Family4280%20Church".to_string(),
            50.0,
        ),
        (
            "a word every case has (refused: more than 5,000 match)",
            "/cases?view=open&q=constituent".to_string(),
            50.0,
        ),
        ("the next page", second_page, 50.0),
        (
            "a case with 200 messages",
            "/cases/MPE-2022-20".to_string(),
            100.0,
        ),
    ];
    for (what, path, target) in &pages {
        let mut times = Vec::new();
        let mut wire = 0;
        let mut html = String::new();
        // A search for a word every case has is slow on purpose: 10 rounds.
        let rounds = if path.contains("constituent") {
            10
        } else {
            ROUNDS
        };
        for _ in 0..rounds {
            let t = Instant::now();
            let r = client
                .get(format!("{base}{path}"))
                .header("Cookie", &cookie)
                .header("Accept-Encoding", "gzip")
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{path}");
            let compressed = r.headers().get("content-encoding").is_some();
            let bytes = r.bytes().await.unwrap();
            times.push(t.elapsed());
            wire = bytes.len();
            if compressed {
                let mut d = flate2::read::GzDecoder::new(&bytes[..]);
                html.clear();
                std::io::Read::read_to_string(&mut d, &mut html).unwrap();
            } else {
                html = String::from_utf8_lossy(&bytes).into_owned();
            }
        }
        let elsewhere = [
            "src=\"http",
            "href=\"http",
            "src=\"//",
            "href=\"//",
            "url(http",
        ]
        .iter()
        .any(|p| html.contains(p));
        let (median, p99) = percentiles(times);
        println!(
            "  {name}: {what}: median {median:.1} ms, p99 {p99:.1} ms (target {target:.0} ms); {:.1} KB over the wire ({:.0} KB of HTML){}",
            wire as f64 / 1024.0,
            html.len() as f64 / 1024.0,
            if elsewhere { "; ASKS ANOTHER HOST" } else { "" }
        );
    }
    let mut assets = 0;
    for file in [
        "govuk-frontend.min.css",
        "govuk-frontend.min.js",
        "postroom.css",
        "postroom.js",
    ] {
        let r = client
            .get(format!("{base}/assets/{file}"))
            .header("Accept-Encoding", "gzip")
            .send()
            .await
            .unwrap();
        assets += r.bytes().await.unwrap().len();
    }
    println!(
        "  {name}: the CSS and JS every page loads once (then cached a day): {:.1} KB over the wire",
        assets as f64 / 1024.0
    );
    // The list's two queries on their own: the counts beside the views,
    // and a page of cases.
    let mut conn = store.conn().await.unwrap();
    let scope = postroom::store::worklist::Scope {
        all: true,
        teams: Vec::new(),
        email: "head@council.example".into(),
    };
    let days = postroom::store::worklist::Days {
        today: chrono::NaiveDate::from_ymd_opt(2026, 11, 27).unwrap(),
        soon: chrono::NaiveDate::from_ymd_opt(2026, 12, 4).unwrap(),
        offsets: Vec::new(),
    };
    let query = postroom::store::worklist::Query {
        view: postroom::store::worklist::View::Open,
        status: None,
        category: None,
        send_topic: None,
        mp: None,
        search: None,
        sort: postroom::store::worklist::Sort::Due,
        after: None,
        received: None,
        team: None,
        assignee: None,
        figure: None,
    };
    let (mut counts, mut page) = (Vec::new(), Vec::new());
    for _ in 0..20 {
        let t = Instant::now();
        postroom::store::worklist::counts(&mut conn, &scope, &days)
            .await
            .unwrap();
        counts.push(t.elapsed());
        let t = Instant::now();
        postroom::store::worklist::page(&mut conn, &scope, &query, &days, 50)
            .await
            .unwrap();
        page.push(t.elapsed());
    }
    let (c50, c99) = percentiles(counts);
    let (p50, p99) = percentiles(page);
    println!(
        "  {name}: of which the counts: median {c50:.1} ms, max {c99:.1} ms; a page of 50: median {p50:.1} ms, max {p99:.1} ms"
    );
    drop(conn);
    stop.cancel();
    store.close().await;
}

#[tokio::main]
async fn main() {
    let only = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    if only.as_deref().is_none_or(|o| o == "sqlite") {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("bench.sqlite").display());
        let store = Store::connect(&SecretString::from(url), 5).await.unwrap();
        println!("SQLite:");
        measure("SQLite", store, false).await;
    }
    if only.as_deref().is_none_or(|o| o == "postgres") {
        let (url, name) = pg::create().await;
        let store = Store::connect(&SecretString::from(url), 5).await.unwrap();
        println!("PostgreSQL:");
        measure("PostgreSQL", store, true).await;
        pg::drop(&name).await;
    }
}
