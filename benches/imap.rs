//! IMAP intake figures, on one local Dovecot (the tests' harness) in one run:
//!
//! 1. Throughput, 10,000 synthetic messages: a bare IMAP client FETCHing
//!    every body (the physical limit of the IMAP part) against postroom
//!    ingesting them all (fetch, parse, classify, store, queue the
//!    acknowledgements, mark on the server). Target: within 3x. Beside
//!    them, the floor under any ingest: parsing and classifying the same
//!    messages and writing their acknowledgements, with no database, spread
//!    perfectly over every core.
//! 2. Latency over 200 messages: APPEND to the acknowledgement accepted by
//!    a real SMTP server, median and p99, beside a bare IDLE client's
//!    APPEND-to-EXISTS on the same server at the same moments. Target:
//!    within 150 ms of the bare IDLE at the median, 500 ms at p99.
//! 3. Delivery: the acknowledgements of 1,000 messages sent by postroom's
//!    delivery worker to a real SMTP server, beside a bare client (Python's
//!    smtplib, one session) sending the same mails to the same kind of
//!    server.
//!
//!     cargo bench --bench imap [-- throughput | latency | delivery]
//!
//! Needs dovecot-imapd and python3-aiosmtpd (tests/run-all.sh installs them).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use postroom::app::{App, Prepared};
use postroom::config::Config;
use tokio_util::sync::CancellationToken;

// The tests' own servers; the benchmark uses part of what they offer.
#[allow(dead_code)]
#[path = "../tests/it/harness/dovecot.rs"]
mod dovecot;
#[allow(dead_code)]
#[path = "../tests/it/harness/smtp.rs"]
mod smtp;
#[path = "../tests/it/harness/synthetic.rs"]
mod synthetic;

use dovecot::Dovecot;

const THROUGHPUT: usize = 10_000;
const LATENCY: usize = 200;
const DELIVERY: usize = 1000;

fn smtp_delivery(port: u16) -> String {
    format!(
        "[delivery]\ntransport = \"smtp\"\nretry_for = \"1h\"\n\n[smtp]\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\ntimeout = \"10s\"\n"
    )
}

async fn app(dir: &Path, delivery: &str, source: &str) -> Arc<App> {
    let db = format!("sqlite://{}", dir.join("postroom.sqlite").display());
    // SAFETY: set before any other thread reads the environment.
    unsafe {
        std::env::set_var("POSTROOM_BENCH_DB", db);
        std::env::set_var("POSTROOM_BENCH_IMAP_PW", dovecot::PASSWORD);
    }
    let text = format!(
        "[council]\nname = \"Wexcombe Borough Council\"\nmailbox = \"mpenquiries@wexcombe.gov.uk\"\n\n\
         [database]\nurl_env = \"POSTROOM_BENCH_DB\"\n\n[paths]\ndirectory = \"{}\"\n\n\
         [limits]\nacknowledgements_per_sender_per_hour = 100000\n\n{delivery}\n{source}",
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples/mps.csv")
            .display()
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

fn imap_source(port: u16, extra: &str) -> String {
    format!(
        "[[source]]\nname = \"mailbox\"\nkind = \"imap\"\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\n\
         username = \"{}\"\npassword_env = \"POSTROOM_BENCH_IMAP_PW\"\n{extra}\n",
        dovecot::USER
    )
}

/// A bare client: every body of INBOX in one UID FETCH. Returns the bytes.
/// Ingests everything the app's first source holds; how many messages.
async fn ingest_all(app: &App) -> usize {
    let mut source = postroom::source::Source::from_config(&app.config.sources[0], app);
    let stop = CancellationToken::new();
    let ready = tokio::sync::Notify::new();
    let outcomes = postroom::daemon::poll_source(app, &mut source, &stop, &ready)
        .await
        .unwrap();
    source.close().await;
    outcomes.len()
}

async fn bare_fetch(d: &Dovecot) -> usize {
    let mut session = d.session().await;
    session.select("INBOX").await.unwrap();
    let bytes = session
        .uid_fetch("1:*", "(UID BODY.PEEK[])")
        .await
        .unwrap()
        .try_fold(0usize, |n, f| async move {
            Ok(n + f.body().map_or(0, <[u8]>::len))
        })
        .await
        .unwrap();
    session.logout().await.unwrap();
    bytes
}

async fn throughput() {
    let d = Dovecot::start();
    let mail = synthetic::synthetic_messages(THROUGHPUT);
    let start = Instant::now();
    d.append("INBOX", &mail, None).await;
    println!(
        "Delivered {THROUGHPUT} messages to Dovecot by APPEND in {:.1} s.",
        start.elapsed().as_secs_f64()
    );

    // Best of three, so that both sides read from a warm server.
    let mut bare = Duration::MAX;
    let mut bytes = 0;
    for _ in 0..3 {
        let start = Instant::now();
        bytes = bare_fetch(&d).await;
        bare = bare.min(start.elapsed());
    }

    let dir = tempfile::tempdir().unwrap();
    let app = app(
        dir.path(),
        "[delivery]\ntransport = \"file\"\npath = \"outbox\"\n",
        &imap_source(d.port, "since = \"2000-01-01T00:00:00Z\""),
    )
    .await;
    let start = Instant::now();
    let ingested = ingest_all(&app).await;
    let ingest = start.elapsed();
    assert_eq!(ingested, THROUGHPUT, "every message ingested");
    let mut conn = app.store.conn().await.unwrap();
    let queued = postroom::store::outbox::list(&mut conn, None)
        .await
        .unwrap()
        .len();

    println!();
    println!(
        "Throughput, {THROUGHPUT} messages ({:.1} MB):",
        bytes as f64 / 1e6
    );
    println!(
        "  bare IMAP FETCH of every body      {:>8.2} s  {:>7.0} msg/s",
        bare.as_secs_f64(),
        THROUGHPUT as f64 / bare.as_secs_f64()
    );
    println!(
        "  postroom ingest (SQLite)           {:>8.2} s  {:>7.0} msg/s  ({queued} acknowledgements queued)",
        ingest.as_secs_f64(),
        THROUGHPUT as f64 / ingest.as_secs_f64()
    );
    println!(
        "  ratio                              {:>8.2}x  (target: within 3x)",
        ingest.as_secs_f64() / bare.as_secs_f64()
    );
    // The floor under any ingest: the CPU work no design can skip (parse,
    // classify, write the acknowledgements), no database at all, one core,
    // then shared perfectly over every core.
    let classifier = app.classifier();
    let start = Instant::now();
    let mut acks = 0;
    for m in &mail {
        let parsed = postroom::parse::parse_email(m);
        let decision = classifier.classify(&parsed);
        if decision.should_acknowledge {
            std::hint::black_box(acknowledgement(&app));
            acks += 1;
        }
    }
    let read = start.elapsed();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let floor = read.as_secs_f64() / cores as f64;
    println!(
        "  parse, classify and write {acks} acknowledgements alone, one core {:.2} s; on {cores} cores at best {floor:.2} s = {:.1}x the bare fetch",
        read.as_secs_f64(),
        floor / bare.as_secs_f64()
    );
}

/// One acknowledgement, rendered and built as postroom queues it.
fn acknowledgement(app: &App) -> Vec<u8> {
    #[derive(serde::Serialize)]
    struct Context {
        council: Council,
        case: postroom::compose::CaseContext,
    }
    #[derive(serde::Serialize)]
    struct Council {
        name: String,
        mailbox: String,
    }
    let case = postroom::store::cases::CaseRow {
        id: 1,
        reference: "MPE-2026-00001".into(),
        status: postroom::case::Status::Open,
        kind: postroom::case::Kind::NewEnquiry,
        triage_reason: None,
        category: Some(postroom::case::Category::Send),
        send_topic: Some(postroom::case::SendTopic::EhcNeedsAssessment),
        urgent: false,
        from_mp_office: true,
        mp_name: Some("Ann Able".into()),
        constituency: Some("Wexcombe North".into()),
        mp_reference: Some("ME/26/0412".into()),
        correspondent: "office@parliament.uk".into(),
        subject: "Constituent enquiry - EHC needs assessment".into(),
        team: None,
        assignee: None,
        received_at: postroom::store::parse_ts("2026-11-27T10:00:00.000Z").unwrap(),
        acknowledge_due: Some(postroom::store::parse_date("2026-11-27").unwrap()),
        response_due: Some(postroom::store::parse_date("2026-12-11").unwrap()),
        acknowledged_at: None,
        answered_at: None,
        closed_at: None,
        paused_at: None,
        pause_reason: None,
        policy: None,
        created_at: postroom::store::parse_ts("2026-11-27T10:00:00.000Z").unwrap(),
    };
    let ctx = Context {
        council: Council {
            name: app.config.council.name.clone(),
            mailbox: app.config.council.mailbox.clone(),
        },
        case: postroom::casework::mail::case_context(app, &case).unwrap(),
    };
    let rendered = app.templates().render("acknowledgement", &ctx).unwrap();
    postroom::compose::build(&postroom::compose::Outgoing {
        from: &app.from,
        to: "office@parliament.uk",
        rendered: &rendered,
        message_id: "<ack-MPE-2026-00001@wexcombe.gov.uk>",
        in_reply_to: Some("<enquiry@parliament.uk>"),
        references: &["<enquiry@parliament.uk>".to_string()],
        auto_submitted: "auto-replied",
        case_reference: Some("MPE-2026-00001"),
        date: postroom::clock::system().now(),
    })
    .unwrap()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

async fn latency() {
    let d = Dovecot::start();
    let smtp = smtp::SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let app = app(
        dir.path(),
        &smtp_delivery(smtp.port),
        &imap_source(d.port, ""),
    )
    .await;
    let stop = CancellationToken::new();
    let daemon = tokio::spawn(postroom::daemon::run(app.clone(), stop.clone()));

    // The bare IDLE client: reports the moment each EXISTS arrives.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Instant>();
    let idler = {
        let mut session = d.session().await;
        session.select("INBOX").await.unwrap();
        let stop = stop.clone();
        tokio::spawn(async move {
            while !stop.is_cancelled() {
                let mut idle = session.idle();
                idle.init().await.unwrap();
                let (wait, _interrupt) = idle.wait_with_timeout(Duration::from_secs(60));
                let outcome = tokio::select! {
                    r = wait => Some(r.unwrap()),
                    _ = stop.cancelled() => None,
                };
                if matches!(
                    outcome,
                    Some(async_imap::extensions::idle::IdleResponse::NewData(_))
                ) {
                    let _ = tx.send(Instant::now());
                }
                session = idle.done().await.unwrap();
            }
        })
    };
    // Both connected and idle.
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Each an MP enquiry of its own (the first template, distinct ids).
    let mail: Vec<Vec<u8>> = synthetic::synthetic_messages(7 * LATENCY)
        .into_iter()
        .step_by(7)
        .collect();
    let mut appender = d.session().await;
    let (mut acked, mut idle) = (Vec::new(), Vec::new());
    for (i, m) in mail.iter().enumerate() {
        while rx.try_recv().is_ok() {}
        let t0 = Instant::now();
        appender.append("INBOX", None, None, m).await.unwrap();
        loop {
            if smtp::files_with_ext(smtp.dir.path(), "eml").len() > i {
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "no acknowledgement for message {i} within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        acked.push(t0.elapsed().as_secs_f64() * 1000.0);
        let exists = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("the bare IDLE client saw the message")
            .unwrap();
        idle.push(exists.duration_since(t0).as_secs_f64() * 1000.0);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    appender.logout().await.unwrap();
    stop.cancel();
    daemon.await.unwrap().unwrap();
    idler.await.unwrap();

    acked.sort_by(f64::total_cmp);
    idle.sort_by(f64::total_cmp);
    let (am, ap) = (percentile(&acked, 50.0), percentile(&acked, 99.0));
    let (im, ip) = (percentile(&idle, 50.0), percentile(&idle, 99.0));
    println!();
    println!("Latency, {LATENCY} messages appended one at a time:");
    println!("                                         median       p99");
    println!("  bare IDLE client: APPEND to EXISTS   {im:>7.0} ms {ip:>7.0} ms");
    println!("  postroom: APPEND to ack accepted     {am:>7.0} ms {ap:>7.0} ms");
    println!(
        "  postroom over bare IDLE              {:>+7.0} ms {:>+7.0} ms  (targets: +150 ms, +500 ms)",
        am - im,
        ap - ip
    );
}

async fn delivery() {
    let d = Dovecot::start();
    let smtp = smtp::SmtpServer::start();
    d.append("INBOX", &synthetic::synthetic_messages(DELIVERY), None)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let app = app(
        dir.path(),
        &smtp_delivery(smtp.port),
        &imap_source(d.port, "since = \"2000-01-01T00:00:00Z\""),
    )
    .await;
    assert_eq!(ingest_all(&app).await, DELIVERY);

    let worker = postroom::daemon::worker(&app).unwrap();
    let start = Instant::now();
    let totals = worker.deliver_all_due().await.unwrap();
    let took = start.elapsed();
    worker.close().await;
    assert_eq!((totals.retried, totals.failed), (0, 0), "{totals:?}");
    let sent = smtp::files_with_ext(smtp.dir.path(), "eml");
    assert_eq!(sent.len(), totals.sent);

    // The bare client: the same mails, one smtplib session, a fresh server.
    let bare_server = smtp::SmtpServer::start();
    let script = r#"
import smtplib, sys, time
port, files = int(sys.argv[1]), sys.argv[2:]
mails = [open(f, "rb").read() for f in files]
s = smtplib.SMTP("127.0.0.1", port)
start = time.monotonic()
for m in mails:
    s.sendmail("postroom@wexcombe.gov.uk", ["office@mp.example"], m)
print(time.monotonic() - start)
s.quit()
"#;
    let out = std::process::Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(script)
        .arg(bare_server.port.to_string())
        .args(&sent)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bare: f64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();

    let n = totals.sent as f64;
    println!();
    println!(
        "Delivery, {} acknowledgements to a local SMTP server:",
        totals.sent
    );
    println!(
        "  bare smtplib client, one session       {:>6.2} s  {:>5.1} ms a mail",
        bare,
        bare * 1000.0 / n
    );
    println!(
        "  postroom delivery worker               {:>6.2} s  {:>5.1} ms a mail (claim, send, record)",
        took.as_secs_f64(),
        took.as_secs_f64() * 1000.0 / n
    );
}

fn main() {
    // POSTROOM_LOG=info (or debug) shows what postroom does meanwhile.
    if std::env::var_os("POSTROOM_LOG").is_some() {
        postroom::telemetry::init(postroom::telemetry::LogFormat::Text, "info");
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wants = |part: &str| only.is_empty() || only.iter().any(|a| a == part);
    rt.block_on(async {
        if wants("throughput") {
            throughput().await;
        }
        if wants("latency") {
            latency().await;
        }
        if wants("delivery") {
            delivery().await;
        }
    });
}
