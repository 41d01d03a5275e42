//! IMAP intake against a real Dovecot: backlogs, IDLE, faults, UIDVALIDITY,
//! marking and moving, history on first start.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use postroom::store::{cases, checkpoints, messages, outbox};
use tokio_util::sync::CancellationToken;

use crate::harness::dovecot::{self, Dovecot};
use crate::harness::smtp::SmtpServer;
use crate::harness::{Backend, Delivery, TestApp, plain_mail, synthetic_messages};

pub fn imap_source(port: u16, extra: &str) -> String {
    // SAFETY: every test writes the same value to this variable.
    unsafe { std::env::set_var("POSTROOM_TEST_IMAP_PW", dovecot::PASSWORD) };
    format!(
        "[[source]]\nname = \"mailbox\"\nkind = \"imap\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\n\
username = \"{}\"\npassword_env = \"POSTROOM_TEST_IMAP_PW\"\ncommand_timeout = \"10s\"\n{extra}\n",
        port,
        dovecot::USER
    )
}

/// Runs the daemon in the background until the returned token is cancelled.
fn run_daemon(t: &TestApp) -> (CancellationToken, tokio::task::JoinHandle<()>) {
    let stop = CancellationToken::new();
    let app = t.app.clone();
    let s = stop.clone();
    let handle = tokio::spawn(async move {
        postroom::daemon::run(app, s).await.unwrap();
    });
    (stop, handle)
}

/// Asserts that `n` messages are stored, each once and read once, each
/// with its own case; returns the cases.
pub(crate) async fn assert_each_stored_once(t: &TestApp, n: usize) -> Vec<cases::CaseRow> {
    let mut conn = t.app.store.conn().await.unwrap();
    let all = messages::all(&mut conn).await.unwrap();
    let unique: HashSet<&str> = all.iter().map(|m| m.sha256.as_str()).collect();
    assert_eq!(unique.len(), n, "each message stored once");
    assert!(all.iter().all(|m| m.deliveries == 1), "none read twice");
    let cases = cases::all(&mut conn).await.unwrap();
    assert_eq!(cases.len(), n, "each case opened once");
    cases
}

pub(crate) async fn count_messages(t: &TestApp) -> usize {
    let mut conn = t.app.store.conn().await.unwrap();
    messages::all(&mut conn).await.unwrap().len()
}

/// Waits until `n` messages are stored (a liveness check, not a timing one).
pub(crate) async fn wait_for_messages(t: &TestApp, n: usize, limit: Duration) -> usize {
    let start = Instant::now();
    loop {
        let got = count_messages(t).await;
        if got >= n || start.elapsed() > limit {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_of_two_thousand_is_stored_once_and_marked() {
    let d = Dovecot::start();
    let backlog = synthetic_messages(2000);
    d.append("INBOX", &backlog, None).await;
    let t = TestApp::with_extra(
        Backend::Sqlite,
        Delivery::Folder,
        &imap_source(d.port, "since = \"2000-01-01T00:00:00Z\""),
    )
    .await;

    let (outcomes, _) = t.run_once().await;

    assert_eq!(outcomes.len(), 2000);
    assert_eq!(count_messages(&t).await, 2000);
    let mut conn = t.app.store.conn().await.unwrap();
    let stored: HashSet<String> = messages::all_raw(&mut conn)
        .await
        .unwrap()
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    let server: HashSet<String> = d
        .bodies("INBOX")
        .await
        .iter()
        .map(|b| postroom::message::sha256_hex(b))
        .collect();
    assert_eq!(
        stored, server,
        "every message, byte for byte as the server returns it"
    );
    assert_eq!(
        d.search("INBOX", "UNKEYWORD $PostroomStored").await,
        Vec::<u32>::new()
    );
    assert_eq!(d.search("INBOX", "UNSEEN").await, Vec::<u32>::new());
    let checkpoint = checkpoints::folder(&mut conn, "mailbox", "INBOX")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(checkpoint.last_uid, 2000);
    let (again, _) = t.run_once().await;
    assert!(again.is_empty(), "nothing is read twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_arriving_during_idle_is_stored_and_acknowledged() {
    let d = Dovecot::start();
    let smtp = SmtpServer::start();
    let t = TestApp::with_extra(
        Backend::Sqlite,
        Delivery::Smtp(smtp.port),
        &imap_source(d.port, ""),
    )
    .await;
    let (stop, handle) = run_daemon(&t);
    // Let it connect and go idle on an empty mailbox.
    tokio::time::sleep(Duration::from_millis(500)).await;

    d.append(
        "INBOX",
        &[postroom::cli::demo::SAMPLE_MAILBOX[2].1.to_vec()],
        None,
    )
    .await;

    assert_eq!(wait_for_messages(&t, 1, Duration::from_secs(20)).await, 1);
    let acks = smtp.wait_for(1, Duration::from_secs(20));
    assert_eq!(acks.len(), 1, "acknowledged");
    stop.cancel();
    handle.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_start_imports_older_mail_as_history() {
    let d = Dovecot::start();
    d.append(
        "INBOX",
        &synthetic_messages(3)[..1],
        Some("\"01-Jan-2024 10:00:00 +0000\""),
    )
    .await;
    let t = TestApp::with_extra(
        Backend::Sqlite,
        Delivery::Folder,
        &imap_source(d.port, "since = \"2026-01-01T00:00:00Z\""),
    )
    .await;
    d.append("INBOX", &synthetic_messages(3)[1..2], None).await;

    let (outcomes, _) = t.run_once().await;

    assert_eq!(outcomes.len(), 2);
    let mut conn = t.app.store.conn().await.unwrap();
    let queued = outbox::list(&mut conn, None).await.unwrap();
    assert_eq!(
        queued.len(),
        1,
        "only the new message is acknowledged: {queued:?}"
    );
    let all = cases::all(&mut conn).await.unwrap();
    assert_eq!(all.len(), 2, "history is still filed as cases");
    let mut history = 0;
    for case in &all {
        let events = cases::events(&mut conn, case.id).await.unwrap();
        history += usize::from(events[0].detail.contains("\"history\":true"));
    }
    assert_eq!(
        history, 1,
        "the 2024 message is marked as history in its case's first event"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_mail_is_moved_when_asked() {
    let d = Dovecot::start();
    d.create_folder("Processed").await;
    d.append("INBOX", &synthetic_messages(5), None).await;
    let t = TestApp::with_extra(
        Backend::Sqlite,
        Delivery::Folder,
        &imap_source(
            d.port,
            "since = \"2000-01-01T00:00:00Z\"\nmark = \"move\"\nmove_to = \"Processed\"",
        ),
    )
    .await;

    t.run_once().await;

    assert_eq!(count_messages(&t).await, 5);
    assert!(
        d.search("INBOX", "ALL").await.is_empty(),
        "nothing left in the inbox"
    );
    assert_eq!(d.search("Processed", "ALL").await.len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_uidvalidity_rereads_the_folder_and_stores_nothing_twice() {
    let mut d = Dovecot::start();
    d.append("INBOX", &synthetic_messages(6), None).await;
    let t = TestApp::with_extra(
        Backend::Sqlite,
        Delivery::Folder,
        &imap_source(d.port, "since = \"2000-01-01T00:00:00Z\""),
    )
    .await;
    t.run_once().await;
    let before = {
        let mut conn = t.app.store.conn().await.unwrap();
        checkpoints::folder(&mut conn, "mailbox", "INBOX")
            .await
            .unwrap()
            .unwrap()
    };

    // The server rebuilds the folder: new UIDVALIDITY, UIDs from 1 again.
    d.kill();
    d.reset_uidvalidity(&d.mail_dir());
    d.restart();
    d.append("INBOX", &synthetic_messages(8)[6..], None).await;
    let (outcomes, _) = t.run_once().await;

    let after = {
        let mut conn = t.app.store.conn().await.unwrap();
        checkpoints::folder(&mut conn, "mailbox", "INBOX")
            .await
            .unwrap()
            .unwrap()
    };
    assert_ne!(after.uidvalidity, before.uidvalidity);
    assert_eq!(after.last_uid, 8);
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| matches!(o, postroom::ingest::Outcome::Duplicate))
            .count(),
        6,
        "{outcomes:?}"
    );
    assert_eq!(
        count_messages(&t).await,
        8,
        "the two new ones stored, the six old ones not again"
    );
    let mut conn = t.app.store.conn().await.unwrap();
    assert_eq!(cases::all(&mut conn).await.unwrap().len(), 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dovecot_dying_mid_session_loses_and_doubles_nothing() {
    let mut d = Dovecot::start();
    let t = TestApp::with_extra(
        Backend::Sqlite,
        Delivery::Folder,
        &imap_source(
            d.port,
            "since = \"2000-01-01T00:00:00Z\"\nidle_timeout = \"2s\"",
        ),
    )
    .await;
    let mail = synthetic_messages(60);
    d.append("INBOX", &mail[..30], None).await;
    let (stop, handle) = run_daemon(&t);
    // Kill the server while postroom works through the first batch.
    tokio::time::sleep(Duration::from_millis(300)).await;
    d.kill();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    d.restart();
    d.append("INBOX", &mail[30..], None).await;

    let stored = wait_for_messages(&t, 60, Duration::from_secs(90)).await;
    let unmarked = wait_for_marks(&d, Duration::from_secs(30)).await;

    let mut conn = t.app.store.conn().await.unwrap();
    let all = messages::all(&mut conn).await.unwrap();
    drop(conn);
    stop.cancel();
    handle.await.unwrap();
    assert_eq!(stored, 60);
    let unique: HashSet<&str> = all.iter().map(|m| m.sha256.as_str()).collect();
    assert_eq!(unique.len(), 60);
    assert!(all.iter().all(|m| m.deliveries == 1), "none stored twice");
    assert!(unmarked.is_empty(), "all marked in the end: {unmarked:?}");
}

/// Waits until every message in INBOX carries postroom's keyword; returns
/// the UIDs still unmarked at the limit.
/// The outbox once every row is sent, or as it stands after `limit`.
pub(crate) async fn wait_for_outbox_sent(t: &TestApp, limit: Duration) -> Vec<outbox::OutboxRow> {
    let start = Instant::now();
    loop {
        let mut conn = t.app.store.conn().await.unwrap();
        let rows = outbox::list(&mut conn, None).await.unwrap();
        if rows.iter().all(|r| r.status == "sent") || start.elapsed() > limit {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(crate) async fn wait_for_marks(d: &Dovecot, limit: Duration) -> Vec<u32> {
    let start = Instant::now();
    loop {
        let unmarked = d.search("INBOX", "UNKEYWORD $PostroomStored").await;
        if unmarked.is_empty() || start.elapsed() > limit {
            return unmarked;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A TCP proxy in front of Dovecot that can cut every connection once it
/// has passed a number of bytes from the server: a connection lost mid-FETCH.
mod cutter {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    pub struct Proxy {
        pub port: u16,
        /// Server-to-client bytes after which a connection is cut (0: never).
        pub cut_after: Arc<AtomicUsize>,
        pub cuts: Arc<AtomicUsize>,
    }

    pub async fn start(upstream: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut_after = Arc::new(AtomicUsize::new(0));
        let cuts = Arc::new(AtomicUsize::new(0));
        let (c, n) = (cut_after.clone(), cuts.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (c, n) = (c.clone(), n.clone());
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
                        return;
                    };
                    let (mut cr, mut cw) = client.into_split();
                    let (mut sr, mut sw) = server.into_split();
                    let up = tokio::spawn(async move {
                        let _ = tokio::io::copy(&mut cr, &mut sw).await;
                    });
                    let mut passed = 0usize;
                    let mut buf = vec![0u8; 16 * 1024];
                    while let Ok(read) = sr.read(&mut buf).await {
                        if read == 0 {
                            break;
                        }
                        let limit = c.load(Ordering::SeqCst);
                        if limit > 0 && passed + read > limit {
                            let _ = cw.write_all(&buf[..limit.saturating_sub(passed)]).await;
                            c.store(0, Ordering::SeqCst);
                            n.fetch_add(1, Ordering::SeqCst);
                            break;
                        }
                        passed += read;
                        if cw.write_all(&buf[..read]).await.is_err() {
                            break;
                        }
                    }
                    up.abort();
                });
            }
        });
        Proxy {
            port,
            cut_after,
            cuts,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_cut_mid_fetch_is_resumed_without_loss() {
    let d = Dovecot::start();
    // Big messages, so that the cut falls inside the FETCH of bodies.
    let mail: Vec<Vec<u8>> = synthetic_messages(20)
        .into_iter()
        .map(|m| {
            let mut m = m;
            m.extend_from_slice(&vec![b'x'; 200 * 1024]);
            m.extend_from_slice(b"\r\n");
            m
        })
        .collect();
    d.append("INBOX", &mail, None).await;
    let proxy = cutter::start(d.port).await;
    proxy
        .cut_after
        .store(1_500_000, std::sync::atomic::Ordering::SeqCst);
    let source = imap_source(proxy.port, "since = \"2000-01-01T00:00:00Z\"\nbatch_mb = 8");
    let t = TestApp::with_extra(Backend::Sqlite, Delivery::Folder, &source).await;

    let first = postroom::daemon::run_once(&t.app).await;
    assert!(first.is_err(), "the cut is an error of this round");
    assert_eq!(proxy.cuts.load(std::sync::atomic::Ordering::SeqCst), 1);
    // The next rounds (after the backoff) reconnect and finish.
    let start = Instant::now();
    while count_messages(&t).await < 20 && start.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let _ = postroom::daemon::run_once(&t.app).await;
    }

    assert_eq!(count_messages(&t).await, 20);
    let mut conn = t.app.store.conn().await.unwrap();
    assert!(
        messages::all(&mut conn)
            .await
            .unwrap()
            .iter()
            .all(|m| m.deliveries == 1)
    );
    let stored: HashSet<String> = messages::all_raw(&mut conn)
        .await
        .unwrap()
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    assert_eq!(stored.len(), 20);
}

/// Mail the SMTP server received for `to` about the source "mailbox" (the
/// test app's folder source has its own, as the test clock jumps).
fn mail_to(smtp: &SmtpServer, to: &str) -> Vec<crate::harness::smtp::Received> {
    smtp.received()
        .into_iter()
        .filter(|r| r.rcpt_tos.iter().any(|t| t == to))
        .filter(|r| {
            r.header("Subject")
                .is_some_and(|s| s.contains("\"mailbox\""))
        })
        .collect()
}

async fn wait_for_mail_to(smtp: &SmtpServer, to: &str, n: usize, limit: Duration) -> usize {
    let start = Instant::now();
    loop {
        let got = mail_to(smtp, to).len();
        if got >= n || start.elapsed() > limit {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_mailbox_turns_health_red_and_mails_the_admin_once() {
    const ADMIN: &str = "ict-servicedesk@wexcombe.gov.uk";
    let mut d = Dovecot::start();
    let smtp = SmtpServer::start();
    let extra = format!(
        "{}\n[daemon]\nstall_alert = \"3s\"\nadmin = \"{ADMIN}\"\n",
        imap_source(d.port, "")
    );
    let t = TestApp::with_extra(Backend::Sqlite, Delivery::Smtp(smtp.port), &extra).await;
    let mailbox_status = || async {
        postroom::schedule::health::status(&t.app, None)
            .await
            .unwrap()
            .into_iter()
            .find(|s| s.source == "mailbox")
            .unwrap()
    };
    let (stop, handle) = run_daemon(&t);
    let start = Instant::now();
    while mailbox_status().await.last_ok.is_none() && start.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(mailbox_status().await.ok, "green while the server answers");

    // The server goes away, and ten minutes pass without a good poll.
    d.kill();
    t.clock.advance(chrono::Duration::minutes(10));

    assert_eq!(
        wait_for_mail_to(&smtp, ADMIN, 1, Duration::from_secs(30)).await,
        1
    );
    // Many watchdog rounds later, still one alert.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let alerts = mail_to(&smtp, ADMIN);
    assert_eq!(
        alerts.len(),
        1,
        "one alert per stall: {:?}",
        alerts
            .iter()
            .map(|a| a.header("Subject"))
            .collect::<Vec<_>>()
    );
    let status = mailbox_status().await;
    assert!(!status.ok, "health is red: {status:?}");
    assert!(status.alerted_at.is_some());
    let text = alerts[0].text();
    assert!(
        alerts[0].header("Subject").unwrap().contains("\"mailbox\""),
        "{text}"
    );
    assert!(
        text.contains("Cannot connect") || text.contains("failed"),
        "says why: {text}"
    );
    assert_eq!(
        alerts[0].header("Auto-Submitted").as_deref(),
        Some("auto-generated")
    );

    // The server comes back: green again, and one all-clear.
    d.restart();
    assert_eq!(
        wait_for_mail_to(&smtp, ADMIN, 2, Duration::from_secs(60)).await,
        2
    );
    let status = mailbox_status().await;
    assert!(status.ok && status.alerted_at.is_none(), "{status:?}");
    assert!(
        mail_to(&smtp, ADMIN)[1]
            .header("Subject")
            .unwrap()
            .contains("again")
    );
    stop.cancel();
    handle.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postroom_killed_at_random_moments_stores_and_acknowledges_every_message_once() {
    kill_storm(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postroom_on_postgres_killed_at_random_moments_stores_and_acknowledges_every_message_once()
{
    kill_storm(Backend::Postgres).await;
}

/// Kills `postroom run` with SIGKILL at random moments of a backlog, then
/// lets it finish: nothing lost, nothing stored or opened twice, every
/// acknowledgement delivered, and a mail sent twice only for a kill that
/// fell between the server's 250 and the commit that records it.
async fn kill_storm(backend: Backend) {
    use rand::Rng;
    // Fifteen kills in a backlog of two thousand, each once up to 60 more
    // are stored and then up to 25 ms later: most land after a commit,
    // some inside a send; at least half must land in the backlog. Two of
    // them are made to land inside a send: the SMTP server holds its reply
    // to the next mail, and the kill follows the release at once, before
    // postroom can have read the 250, let alone recorded it.
    const MESSAGES: usize = 2000;
    const KILLS: usize = 15;
    const IN_A_SEND: [usize; 2] = [4, 10];
    let d = Dovecot::start();
    let smtp = SmtpServer::start();
    d.append("INBOX", &synthetic_messages(MESSAGES), None).await;
    // Every message acknowledged (the synthetic mail comes from a few
    // senders, more than the default ten an hour each), so that mail is
    // being sent all through the backlog.
    let t = TestApp::with_extra(
        backend,
        Delivery::Smtp(smtp.port),
        &format!(
            "{}\n[limits]\nacknowledgements_per_sender_per_hour = 100000\n",
            imap_source(d.port, "since = \"2000-01-01T00:00:00Z\"")
        ),
    )
    .await;
    let config = t.dir.path().join("postroom.toml");
    let log = t.dir.path().join("postroom.log");
    let spawn = || crate::harness::spawn_run(&config, &log, &[], &[]);

    let mut stored_between = Vec::new();
    let mut stored_now = 0;
    let mut kills_in_a_send = 0;
    // Unrecorded mail, by how many copies the server held at the last kill.
    let mut in_window: std::collections::HashMap<String, usize> = Default::default();
    let mut forced_in_a_send = 0;
    for kill in 0..KILLS {
        let mut child = spawn();
        // A random moment in the backlog: once a random number more are
        // stored (so the kill lands in the work, whatever the build's
        // speed), plus a random pause, which may land mid-transaction,
        // mid-FETCH or mid-send (short: a chunk of this small mail is
        // stored in milliseconds, the whole backlog in well under a second).
        let target = (stored_now + rand::rng().random_range(1..=60)).min(MESSAGES - 1);
        let start = Instant::now();
        while count_messages(&t).await < target && start.elapsed() < Duration::from_secs(60) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let pause = rand::rng().random_range(0..25);
        tokio::time::sleep(Duration::from_millis(pause)).await;
        if IN_A_SEND.contains(&kill) {
            let before = smtp.received().len();
            smtp.hold();
            let held = smtp.wait_for(before + 1, Duration::from_secs(30)).len() > before;
            smtp.release();
            forced_in_a_send += usize::from(held);
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        stored_now = count_messages(&t).await;
        stored_between.push(stored_now);
        // Did this kill land between a 250 and the commit of "sent"? Mail
        // the server holds that the outbox does not say was sent.
        let mut conn = t.app.store.conn().await.unwrap();
        let recorded: HashSet<String> = outbox::list(&mut conn, Some("sent"))
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.message_id)
            .collect();
        // (A mail left so by an earlier kill, not yet sent again, counts
        // for that kill only; sent again and again left so, for this one
        // too.)
        let mut copies: std::collections::HashMap<String, usize> = Default::default();
        for id in ids_received(&smtp) {
            if !recorded.contains(&id) {
                *copies.entry(id).or_default() += 1;
            }
        }
        let mut new_in_window = 0;
        for (id, n) in copies {
            if in_window.get(&id).is_none_or(|before| *before < n) {
                new_in_window += 1;
                in_window.insert(id, n);
            }
        }
        if new_in_window > 0 {
            kills_in_a_send += 1;
        }
    }
    let started = || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .matches("postroom started")
            .count()
    };
    let before = started();
    let mut child = spawn();
    let stored = wait_for_messages(&t, MESSAGES, Duration::from_secs(120)).await;
    let start = Instant::now();
    while started() == before && start.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let outbox_rows = wait_for_outbox_sent(&t, Duration::from_secs(60)).await;
    let unmarked = wait_for_marks(&d, Duration::from_secs(30)).await;
    // SAFETY: signals our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();

    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(status.success(), "a clean stop after SIGTERM: {status}");
    assert!(
        stored_between.iter().filter(|n| **n < MESSAGES).count() >= KILLS / 2,
        "the kills landed during the backlog: {stored_between:?}"
    );
    assert_eq!(stored, MESSAGES, "{log_text}");
    assert_each_stored_once(&t, MESSAGES).await;
    assert!(
        unmarked.is_empty(),
        "all marked on the server: {unmarked:?}"
    );

    // Each acknowledgement queued once (in the transaction that stored its
    // message) and sent. SMTP itself is at-least-once: a kill between the
    // server's 250 and the outbox update sends that mail again, with the
    // same Message-ID, so the MP office's mail client shows it once.
    let acks: Vec<_> = outbox_rows
        .iter()
        .filter(|r| r.purpose == "acknowledgement")
        .collect();
    let by_case: HashSet<Option<i64>> = acks.iter().map(|r| r.case_id).collect();
    assert_eq!(by_case.len(), acks.len(), "one acknowledgement per case");
    assert!(!acks.is_empty());
    assert!(acks.iter().all(|r| r.status == "sent"), "all sent");
    let received_ids = ids_received(&smtp);
    for ack in &acks {
        assert!(
            received_ids.contains(&ack.message_id),
            "acknowledgement {} reached the SMTP server",
            ack.message_id
        );
    }
    let extra_copies = received_ids.len() - received_ids.iter().collect::<HashSet<_>>().len();
    eprintln!(
        "{backend:?}: {KILLS} kills; stored after each: {stored_between:?}; kills between a 250 and its \
         commit: {kills_in_a_send} ({forced_in_a_send} made to land there); mails sent twice: \
         {extra_copies}"
    );
    assert_eq!(
        forced_in_a_send,
        IN_A_SEND.len(),
        "the server held a mail at each kill made to land inside a send"
    );
    assert!(
        kills_in_a_send >= forced_in_a_send,
        "each kill made to land inside a send is counted as one: {kills_in_a_send}"
    );
    assert!(
        extra_copies <= kills_in_a_send,
        "{extra_copies} repeated sends, {kills_in_a_send} kills between a 250 and its commit"
    );
}

/// The Message-ID of every mail the SMTP server received, repeats included.
pub(crate) fn ids_received(smtp: &SmtpServer) -> Vec<String> {
    smtp.received()
        .iter()
        .filter_map(|r| r.header("Message-ID"))
        .map(|id| id.trim_matches(|c| c == '<' || c == '>').to_string())
        .collect()
}

/// Two `postroom run` processes on one PostgreSQL database and one Dovecot
/// mailbox: one reads, the other stands by; the reader is killed half-way
/// through a backlog of 1,000 and the other takes over. Every message is
/// stored once, every case opened once, every acknowledgement queued once
/// and sent (SMTP is at-least-once: a mail in flight at the kill may go
/// twice, with the same Message-ID).
#[tokio::test]
async fn two_instances_share_a_mailbox_and_one_takes_over_when_the_other_dies() {
    const MESSAGES: usize = 1000;
    let d = Dovecot::start();
    let smtp = SmtpServer::start();
    d.append("INBOX", &synthetic_messages(MESSAGES), None).await;
    let t = TestApp::with_extra(
        Backend::Postgres,
        Delivery::Smtp(smtp.port),
        &format!(
            "{}\n[limits]\nacknowledgements_per_sender_per_hour = 100000\n",
            imap_source(d.port, "since = \"2000-01-01T00:00:00Z\"")
        ),
    )
    .await;
    let config = t.dir.path().join("postroom.toml");
    let spawn = |name: &str| {
        let log = t.dir.path().join(format!("{name}.log"));
        crate::harness::spawn_run(&config, &log, &[], &[])
    };
    let log = |name: &str| {
        std::fs::read_to_string(t.dir.path().join(format!("{name}.log"))).unwrap_or_default()
    };
    let reading = |text: &str| text.contains("New mail fetched.");

    let a = spawn("a");
    let b = spawn("b");
    // Whoever took the mailbox's lease reads; the other stands by.
    let start = Instant::now();
    while count_messages(&t).await < MESSAGES / 3 && start.elapsed() < Duration::from_secs(120) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (mut reader, mut standby, reader_name, standby_name) = if reading(&log("a")) {
        (a, b, "a", "b")
    } else {
        (b, a, "b", "a")
    };
    let at_kill = count_messages(&t).await;
    reader.kill().unwrap(); // SIGKILL, mid-backlog
    let killed = Instant::now();
    reader.wait().unwrap();
    let standby_log = log(standby_name);
    assert!(
        standby_log.contains("Another instance reads this source; standing by.")
            && !reading(&standby_log),
        "the second instance stood by while the first read: {standby_log}"
    );
    assert!(at_kill < MESSAGES, "the kill landed in the backlog");

    // The survivor takes over: the first message it stores after the kill.
    let after_kill = count_messages(&t).await;
    while count_messages(&t).await <= after_kill && killed.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let takeover = killed.elapsed();
    let stored = wait_for_messages(&t, MESSAGES, Duration::from_secs(180)).await;
    let outbox_rows = wait_for_outbox_sent(&t, Duration::from_secs(60)).await;
    let unmarked = wait_for_marks(&d, Duration::from_secs(30)).await;
    // SAFETY: signals our own child.
    unsafe { libc::kill(standby.id() as i32, libc::SIGTERM) };
    let status = standby.wait().unwrap();
    let survivor_log = log(standby_name);
    assert!(status.success(), "a clean stop: {status}");
    assert!(
        survivor_log.contains("This instance reads the source now (taken over)."),
        "{survivor_log}"
    );
    assert!(
        !log(reader_name).is_empty(),
        "the killed instance had logged"
    );

    assert_eq!(stored, MESSAGES, "{survivor_log}");
    let cases = assert_each_stored_once(&t, MESSAGES).await;
    assert!(unmarked.is_empty(), "all marked: {unmarked:?}");

    let acks: Vec<_> = outbox_rows
        .iter()
        .filter(|r| r.purpose == "acknowledgement")
        .collect();
    let by_case: HashSet<Option<i64>> = acks.iter().map(|r| r.case_id).collect();
    assert_eq!(by_case.len(), acks.len(), "one acknowledgement per case");
    assert!(!acks.is_empty());
    assert!(acks.iter().all(|r| r.status == "sent"), "all sent");
    let received_ids: Vec<String> = smtp
        .received()
        .iter()
        .filter_map(|r| r.header("Message-ID"))
        .map(|id| id.trim_matches(|c| c == '<' || c == '>').to_string())
        .collect();
    let distinct: HashSet<&String> = received_ids.iter().collect();
    for ack in &acks {
        assert!(
            distinct.contains(&ack.message_id),
            "{} arrived",
            ack.message_id
        );
    }
    let twice = received_ids.len() - distinct.len();
    assert!(twice <= 1, "{twice} mails sent twice after one kill");
    eprintln!(
        "two instances: {MESSAGES} messages, {} cases, {} acknowledgements queued and sent, \
         {twice} sent twice (same Message-ID), killed the reader at {at_kill} stored, \
         takeover in {:.2} s",
        cases.len(),
        acks.len(),
        takeover.as_secs_f64()
    );
}

/// A caseworker answers from their own mail client: a holding reply copied
/// to the mailbox leaves the clock running (the reminder still comes); the
/// full reply, found in the shared mailbox's Sent folder, answers the case
/// and no reminder follows. Real Dovecot, real SMTP server.
#[tokio::test]
async fn a_reply_in_the_mailbox_answers_its_case_and_stops_its_reminders() {
    let d = Dovecot::start();
    d.create_folder("Sent").await;
    let smtp = SmtpServer::start();
    let t = TestApp::with_extra(
        Backend::Sqlite,
        Delivery::Smtp(smtp.port),
        &format!(
            "{}\n[[team]]\nname = \"general\"\ndefault = true\nmembers = [\"cal@wexcombe.gov.uk\"]\n",
            imap_source(
                d.port,
                "since = \"2000-01-01T00:00:00Z\"\nfolders = [\"INBOX\", \"Sent\"]"
            )
        ),
    )
    .await;
    let office = "Sam Oyelaran <sam.oyelaran@parliament.uk>";
    let mailbox = "MP Enquiries <mpenquiries@wexcombe.gov.uk>";
    let cal = "Cal Lewis <cal@wexcombe.gov.uk>";
    let to_cal = |smtp: &SmtpServer| {
        smtp.received()
            .iter()
            .filter(|r| r.rcpt_tos.iter().any(|a| a == "cal@wexcombe.gov.uk"))
            .filter(|r| r.header("Subject").is_some_and(|s| s.contains("a reply")))
            .count()
    };

    // Friday 27 November: the enquiry. Its reply is due on Friday 11
    // December; the reminder two working days before, on the 9th.
    d.append(
        "INBOX",
        &[plain_mail(
            office,
            mailbox,
            "",
            "enq-1@parliament.uk",
            "Fri, 27 Nov 2026 09:50:00 +0000",
            "Housing register banding - Our ref: IP/2611/90",
            "Dear Sir or Madam,\r\n\r\nIdris Pugh MP asks about a constituent's housing register \
             application, made in September.\r\n\r\nSam Oyelaran\r\nOffice of Idris Pugh MP",
        )],
        None,
    )
    .await;
    t.run_once().await;
    let case = t.cases().await.remove(0);
    let r = case.reference.clone();
    assert_eq!(
        case.response_due.map(|d| d.to_string()).as_deref(),
        Some("2026-12-11")
    );
    smtp.wait_for(2, Duration::from_secs(10)); // acknowledgement and notice

    // Tuesday 1 December: a holding reply, copied to the mailbox.
    t.clock.set(crate::harness::at("2026-12-01T11:00:00Z"));
    d.append(
        "INBOX",
        &[plain_mail(
            cal,
            office,
            mailbox,
            "hold-1@wexcombe.gov.uk",
            "Tue, 1 Dec 2026 10:55:00 +0000",
            &format!("RE: Housing register banding [{r}] [holding]"),
            "Dear Sam,\r\n\r\nWe are looking into this and will write again shortly.\r\n\r\nCal",
        )],
        None,
    )
    .await;
    t.run_once().await;
    assert_eq!(t.cases().await[0].status, "open");

    // Wednesday 9 December: the clock ran on, so the reminder comes.
    t.clock.set(crate::harness::at("2026-12-09T10:00:00Z"));
    t.run_once().await;
    let start = Instant::now();
    while to_cal(&smtp) < 1 && start.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(to_cal(&smtp), 1, "the reminder after a holding reply");

    // Thursday 10 December: the full reply, sent from the shared mailbox
    // and so in its Sent folder.
    t.clock.set(crate::harness::at("2026-12-10T15:00:00Z"));
    d.append(
        "Sent",
        &[plain_mail(mailbox, office, "", "reply-1@wexcombe.gov.uk", "Thu, 10 Dec 2026 14:40:00 +0000",
            &format!("RE: Housing register banding - Our ref: IP/2611/90 [{r}]"),
            "Dear Sam,\r\n\r\nThe application has been banded; a letter went to your constituent today.\r\n\r\nCal Lewis\r\nHousing Options")],
        None,
    )
    .await;
    t.run_once().await;
    let answered = t.cases().await.remove(0);
    assert_eq!(answered.status, "answered");
    assert_eq!(
        answered.answered_at.map(postroom::store::ts).as_deref(),
        Some("2026-12-10T14:40:00.000Z")
    );

    // The due day and a week after: no more reminders.
    for day in [
        "2026-12-11T10:00:00Z",
        "2026-12-14T10:00:00Z",
        "2026-12-18T10:00:00Z",
    ] {
        t.clock.set(crate::harness::at(day));
        t.run_once().await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(to_cal(&smtp), 1, "no reminder once answered");
    let mut conn = t.app.store.conn().await.unwrap();
    let events = cases::events(&mut conn, case.id).await.unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert!(
        kinds.contains(&"interim_reply") && kinds.contains(&"answered"),
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "reminder").count(),
        1,
        "{kinds:?}"
    );
}
