//! The outbox at scale: the delivery worker sending 10,000 mails (all queued at once, as after a 10,000-message backlog) to a real
//! SMTP server (the tests' aiosmtpd) from an outbox that holds 100 rows,
//! then from one that holds 1,000,000 (sent mail of years, as a council's
//! outbox grows), on SQLite and PostgreSQL. Claiming and marking a mail
//! should cost the same either way. Target: at least 200 mails a second
//! with the 1,000,000.
//!
//!     cargo bench --bench outbox [-- sqlite | postgres]
//!
//! Needs python3-aiosmtpd and PostgreSQL on 127.0.0.1:5432.

use std::sync::Arc;
use std::time::Instant;

use postroom::app::{App, Prepared};
use postroom::config::Config;
#[path = "common/pg.rs"]
mod pg;
#[allow(dead_code)]
#[path = "../tests/it/harness/smtp.rs"]
mod smtp;

const SENDS: usize = 10_000;
const BIG: i64 = 1_000_000;

async fn app(dir: &std::path::Path, url: &str, smtp_port: u16) -> Arc<App> {
    // SAFETY: set before any other thread reads the environment.
    unsafe { std::env::set_var("POSTROOM_BENCH_DB", url) };
    let text = format!(
        "[council]\nname = \"Wexcombe Borough Council\"\nmailbox = \"mpenquiries@wexcombe.gov.uk\"\n\n\
         [database]\nurl_env = \"POSTROOM_BENCH_DB\"\n\n\
         [delivery]\ntransport = \"smtp\"\nretry_for = \"1h\"\n\n\
         [smtp]\nhost = \"127.0.0.1\"\nport = {smtp_port}\ntls = \"none\"\ntimeout = \"10s\"\n"
    );
    std::fs::write(dir.join("postroom.toml"), text).unwrap();
    let config = Config::load(&dir.join("postroom.toml")).unwrap_or_else(|e| panic!("{e}"));
    let prepared = Prepared::new(config).unwrap_or_else(|p| panic!("{p}"));
    Arc::new(
        App::start(prepared, postroom::clock::system())
            .await
            .unwrap(),
    )
}

/// Fills the outbox with `rows` sent mails in one statement.
async fn fill(app: &App, rows: i64, tag: &str) {
    let mut conn = app.store.conn().await.unwrap();
    let sql = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1) \
         INSERT INTO outbox (purpose, message_id, envelope_from, recipients, raw, status, attempts, \
           next_attempt_at, created_at, queued_at, sent_at) \
         SELECT 'acknowledgement', 'old-' || $2 || '-' || i || '@wexcombe.gov.uk', 'mpenquiries@wexcombe.gov.uk', \
           '[\"office' || (i % 650) || '@parliament.example\"]', \
           CAST('Subject: old' AS BLOB), 'sent', 1, \
           '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z', \
           '2024-01-01T00:00:01.000Z' FROM n";
    let sql = if app.store.backend() == postroom::store::Backend::Postgres {
        sql.replace("CAST('Subject: old' AS BLOB)", "'Subject: old'::bytea")
            .replace("$1)", "$1::BIGINT)")
    } else {
        sql.to_string()
    };
    sqlx::query(&sql)
        .bind(rows)
        .bind(tag)
        .execute(&mut *conn)
        .await
        .unwrap();
}

async fn queue(app: &App, n: usize, tag: &str) {
    let mut tx = app.store.begin().await.unwrap();
    for i in 0..n {
        let id = format!("bench-{tag}-{i}@wexcombe.gov.uk");
        let raw = format!(
            "From: mpenquiries@wexcombe.gov.uk\r\nTo: office{}@parliament.example\r\nSubject: MPE-2026-{i:05}\r\n\
             Message-ID: <{id}>\r\n\r\nThank you for your enquiry.\r\n",
            i % 650
        );
        let recipients = vec![format!("office{}@parliament.example", i % 650)];
        postroom::store::outbox::enqueue(
            &mut tx,
            &postroom::store::outbox::NewOutbox {
                case_id: None,
                purpose: "acknowledgement",
                message_id: &id,
                envelope_from: "mpenquiries@wexcombe.gov.uk",
                recipients: &recipients,
                raw: raw.as_bytes(),
                now: postroom::clock::system().now(),
            },
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
}

/// Sends what is queued; mails a second.
async fn send(app: &App) -> f64 {
    let worker = postroom::daemon::worker(app).unwrap();
    let start = Instant::now();
    let totals = worker.deliver_all_due().await.unwrap();
    let secs = start.elapsed().as_secs_f64();
    worker.close().await;
    assert_eq!(
        (totals.sent, totals.retried, totals.failed),
        (SENDS, 0, 0),
        "{totals:?}"
    );
    SENDS as f64 / secs
}

async fn measure(name: &str, url: &str) {
    let dir = tempfile::tempdir().unwrap();
    let server = smtp::SmtpServer::start();
    let app = app(dir.path(), url, server.port).await;
    fill(&app, 100, "small").await;
    queue(&app, SENDS, "small").await;
    let small = send(&app).await;
    let start = Instant::now();
    fill(&app, BIG - 100 - SENDS as i64, "big").await;
    let filled = start.elapsed().as_secs_f64();
    queue(&app, SENDS, "big").await;
    let big = send(&app).await;
    app.store.close().await;
    println!("  {name}: outbox of 100 rows          {small:>7.0} mails/s");
    println!(
        "  {name}: outbox of 1,000,000 rows    {big:>7.0} mails/s   ({:.2}x the small; target >= 200 mails/s; filled in {filled:.0} s)",
        big / small
    );
}

#[tokio::main]
async fn main() {
    let only = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    println!("Outbox, {SENDS} mails to a local SMTP server (aiosmtpd):");
    if only.as_deref().is_none_or(|o| o == "sqlite") {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("bench.sqlite").display());
        measure("SQLite", &url).await;
    }
    if only.as_deref().is_none_or(|o| o == "postgres") {
        let (url, name) = pg::create().await;
        measure("PostgreSQL", &url).await;
        pg::drop(&name).await;
    }
}
