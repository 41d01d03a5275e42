//! Ingest on mail as it really is: ../shared/bench's generated MP-office
//! mail (median 15 KB, a fifth with a 100–300 KB attachment, HTML, quoted
//! threads) in a real Dovecot, ingested by `postroom run --once` as a
//! council runs it, each figure printed beside the floor measured in the
//! same run:
//!
//! - the floor: ../shared/bench's bare IMAP client FETCHing every body of
//!   the same mailbox (median of three, after a warm-up), and this
//!   process's own parse-only pass over the same bytes (one core);
//! - postroom on SQLite with a 5-MP directory and with the 650-MP
//!   directory, on PostgreSQL with the 650, and on SQLite with poppler and
//!   Tesseract on the PATH (the others run with an empty PATH: no OCR);
//! - peak RSS of each run (its own VmHWM), and of a 1,000-message run
//!   beside it.
//!
//! The mail is generated at bench time under target/bench-mail (never
//! committed), byte-identical for the same seed and count.
//!
//!     cargo bench --bench ingest [-- --count N] [-- sqlite5 sqlite650 postgres ocr small]
//!
//! Needs ../shared/bench, python3, dovecot-imapd and PostgreSQL on
//! 127.0.0.1:5432 (tests/run-all.sh installs the rest).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use sqlx::Connection;

#[path = "common/child.rs"]
mod child;
#[allow(dead_code)]
#[path = "../tests/it/harness/dovecot.rs"]
mod dovecot;
#[path = "common/mail.rs"]
mod mail;
#[path = "common/pg.rs"]
mod pg;

use dovecot::Dovecot;
use mail::{generate, python, shared_bench};

/// A directory of `size` MPs for the mail in `folder` (every sender, padded).
fn directory(folder: &Path, size: usize, out: &Path) -> PathBuf {
    python(
        &shared_bench().join("directory.py"),
        &[
            folder.to_str().unwrap(),
            out.to_str().unwrap(),
            "--size",
            &size.to_string(),
        ],
    );
    out.to_path_buf()
}

/// The bare client's median wall time for FETCHing every body of `folder`.
fn bare_fetch(d: &Dovecot, expect: usize) -> f64 {
    let json = d.dir.path().join("fetch.json");
    let _ = std::fs::remove_file(&json);
    python(
        &shared_bench().join("imap_fetch_bench.py"),
        &[
            "--port",
            &d.port.to_string(),
            "--user",
            dovecot::USER,
            "--password",
            dovecot::PASSWORD,
            "--runs",
            "3",
            "--expect",
            &expect.to_string(),
            "--json",
            json.to_str().unwrap(),
        ],
    );
    let line = std::fs::read_to_string(&json).unwrap();
    let v: serde_json::Value = serde_json::from_str(line.lines().last().unwrap()).unwrap();
    v["median"]["wall_s"].as_f64().unwrap()
}

/// One `postroom run --once`: seconds, peak RSS in MB, messages stored.
struct Run {
    secs: f64,
    cpu: f64,
    peak_mb: f64,
    stored: i64,
}

enum Db {
    Sqlite,
    Postgres,
}

async fn database(db: &Db, dir: &Path) -> (String, Option<String>) {
    match db {
        Db::Sqlite => (
            format!("sqlite://{}", dir.join("postroom.sqlite").display()),
            None,
        ),
        Db::Postgres => {
            let (url, name) = pg::create().await;
            (url, Some(name))
        }
    }
}

async fn stored(url: &str) -> i64 {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM messages")
        .fetch_one(&mut conn)
        .await
        .unwrap()
}

/// Ingests `folder` of Dovecot with a fresh database.
async fn run_once(d: &Dovecot, folder: &str, db: Db, mps: &Path, ocr: bool) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let (url, pg) = database(&db, dir.path()).await;
    let config = format!(
        "[council]\nname = \"Wexcombe Borough Council\"\nmailbox = \"mpenquiries@council.example\"\n\n\
         [database]\nurl_env = \"POSTROOM_BENCH_DB\"\n\n[paths]\ndirectory = \"{}\"\n\n\
         [limits]\nacknowledgements_per_sender_per_hour = 100000\n\n\
         [delivery]\ntransport = \"file\"\npath = \"outbox\"\n\n\
         [[source]]\nname = \"mailbox\"\nkind = \"imap\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\n\
         username = \"{}\"\npassword_env = \"POSTROOM_BENCH_IMAP_PW\"\nfolders = [\"{folder}\"]\n\
         since = \"2000-01-01T00:00:00Z\"\n",
        mps.display(),
        d.port,
        dovecot::USER
    );
    std::fs::write(dir.path().join("postroom.toml"), config).unwrap();
    let empty = dir.path().join("no-tools");
    std::fs::create_dir(&empty).unwrap();
    let path = if ocr {
        std::env::var("PATH").unwrap()
    } else {
        empty.display().to_string()
    };
    // POSTROOM_BENCH_WRAP="perf record -g -o /tmp/perf.data" profiles a run.
    // POSTROOM_BENCH_BIN runs another build (a profiling one, say).
    let wrap = std::env::var("POSTROOM_BENCH_WRAP").unwrap_or_default();
    let bin = std::env::var("POSTROOM_BENCH_BIN").unwrap_or(env!("CARGO_BIN_EXE_postroom").into());
    let mut words = wrap.split_whitespace();
    let mut cmd = match words.next() {
        Some(program) => {
            let mut c = Command::new(program);
            c.args(words).arg(&bin);
            c
        }
        None => Command::new(&bin),
    };
    let start = Instant::now();
    // Reaped by child::wait, which also measures it.
    #[allow(clippy::zombie_processes)]
    let child = cmd
        .args(["run", "--once", "--config"])
        .arg(dir.path().join("postroom.toml"))
        .env("PATH", path)
        .env(
            "POSTROOM_LOG",
            std::env::var("POSTROOM_BENCH_LOG").unwrap_or("warn".into()),
        )
        .env("POSTROOM_BENCH_DB", &url)
        .env("POSTROOM_BENCH_IMAP_PW", dovecot::PASSWORD)
        .stderr(std::fs::File::create(dir.path().join("postroom.log")).unwrap())
        .spawn()
        .unwrap();
    let measured = child::wait(child);
    let secs = start.elapsed().as_secs_f64();
    let log = std::fs::read_to_string(dir.path().join("postroom.log")).unwrap_or_default();
    assert_eq!(measured.status, 0, "postroom run --once failed:\n{log}");
    let stored = stored(&url).await;
    if let Ok(keep) = std::env::var("POSTROOM_BENCH_KEEP") {
        let _ = std::fs::copy(dir.path().join("postroom.log"), &keep);
    }
    if let Some(name) = pg {
        pg::drop(&name).await;
    }
    Run {
        secs,
        cpu: measured.cpu,
        peak_mb: measured.peak_mb,
        stored,
    }
}

fn row(what: &str, run: &Run, count: usize, floor: f64) {
    println!(
        "  {what:<44} {:>7.2} s {:>7.0} msg/s  {:>5.1}x the bare FETCH  CPU {:>6.1} s  peak RSS {:>5.0} MB  ({} stored)",
        run.secs,
        count as f64 / run.secs,
        run.secs / floor,
        run.cpu,
        run.peak_mb,
        run.stored
    );
    assert_eq!(run.stored as usize, count, "every message stored");
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let count = args
        .iter()
        .position(|a| a == "--count")
        .map(|i| args[i + 1].parse::<usize>().expect("--count N"))
        .unwrap_or(10_000);
    let only: Vec<&str> = args
        .iter()
        .filter(|a| !a.starts_with("--") && a.parse::<usize>().is_err())
        .map(String::as_str)
        .collect();
    let wanted = |name: &str| only.is_empty() || only.contains(&name);

    let (folder, mail) = generate(count);
    let dirs = tempfile::tempdir().unwrap();
    let mps650 = directory(&folder, 650, &dirs.path().join("mps650.csv"));
    let mps5 = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/mps.csv");

    let d = Dovecot::start();
    let bodies: Vec<Vec<u8>> = mail
        .files
        .iter()
        .map(|f| std::fs::read(f).unwrap())
        .collect();
    let start = Instant::now();
    d.append("INBOX", &bodies, None).await;
    let small = count.min(1000);
    d.create_folder("Small").await;
    d.append("Small", &bodies[..small], None).await;
    eprintln!(
        "appended to Dovecot in {:.0} s",
        start.elapsed().as_secs_f64()
    );

    let fetch = bare_fetch(&d, count);
    let start = Instant::now();
    for b in &bodies {
        std::hint::black_box(postroom::parse::parse_email(b));
    }
    let parse = start.elapsed().as_secs_f64();
    drop(bodies);

    println!();
    println!(
        "Ingest of {count} realistic messages ({:.0} MB, ../shared/bench seed 42), {} cores:",
        mail.bytes as f64 / 1e6,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "  {:<44} {fetch:>7.2} s {:>7.0} msg/s  (the floor)",
        "bare IMAP FETCH of every body",
        count as f64 / fetch
    );
    println!(
        "  {:<44} {parse:>7.2} s {:>7.0} msg/s  {:>5.1}x the bare FETCH",
        "parse-only pass, this process, one core",
        count as f64 / parse,
        parse / fetch
    );
    let mut sqlite650 = None;
    let mut sqlite5 = None;
    if wanted("sqlite5") {
        let r = run_once(&d, "INBOX", Db::Sqlite, &mps5, false).await;
        row("postroom, SQLite, 5-MP directory", &r, count, fetch);
        sqlite5 = Some(r);
    }
    if wanted("sqlite650") || wanted("small") {
        let r = run_once(&d, "INBOX", Db::Sqlite, &mps650, false).await;
        row("postroom, SQLite, 650-MP directory", &r, count, fetch);
        if let Some(s) = &sqlite5 {
            println!(
                "  {:<44} {:>7.2}x (target: at most 1.1x)",
                "650-MP / 5-MP directory",
                r.secs / s.secs
            );
        }
        sqlite650 = Some(r);
    }
    if wanted("postgres") {
        let r = run_once(&d, "INBOX", Db::Postgres, &mps650, false).await;
        row("postroom, PostgreSQL, 650-MP directory", &r, count, fetch);
        if let Some(s) = &sqlite650 {
            println!(
                "  {:<44} {:>7.2}x (target: at most 1.5x)",
                "PostgreSQL / SQLite",
                r.secs / s.secs
            );
        }
    }
    if wanted("ocr") {
        let r = run_once(&d, "INBOX", Db::Sqlite, &mps650, true).await;
        row(
            "postroom, SQLite, 650 MPs, OCR tools on PATH",
            &r,
            count,
            fetch,
        );
        if let Some(s) = &sqlite650 {
            println!(
                "  {:<44} {:>7.2}x (target: at most 1.2x)",
                "with OCR tools / without",
                r.secs / s.secs
            );
        }
    }
    if wanted("small") {
        let r = run_once(&d, "Small", Db::Sqlite, &mps650, false).await;
        row(
            &format!("postroom, SQLite, 650 MPs, first {small}"),
            &r,
            small,
            fetch * small as f64 / count as f64,
        );
        if let Some(s) = &sqlite650 {
            println!(
                "  {:<44} {:>7.2}x (target: at most 1.1x)",
                format!("peak RSS, {count} / {small}"),
                s.peak_mb / r.peak_mb
            );
        }
    }
}
