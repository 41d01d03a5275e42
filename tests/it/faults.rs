//! Real faults on real processes: the database's disk fills up under a
//! running `postroom run`, and space comes back; PostgreSQL goes down
//! between the SMTP server taking a mail and postroom recording it.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use postroom::store::outbox;

use crate::harness::db::OwnPostgres;
use crate::harness::dovecot::Dovecot;
use crate::harness::smtp::SmtpServer;
use crate::harness::{Backend, Delivery, TestApp, TestDb, repo, synthetic_messages};
use crate::imap::{assert_each_stored_once, count_messages, imap_source, wait_for_messages};
use crate::ops::{free_port, get, wait_until};

/// A tmpfs of `size` mounted at `at` until dropped (the suite runs as root).
struct SmallDisk {
    at: std::path::PathBuf,
}

impl SmallDisk {
    fn mount(at: &Path, size: &str) -> SmallDisk {
        std::fs::create_dir_all(at).unwrap();
        let out = std::process::Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(at)
            .output()
            .expect("mount runs");
        assert!(
            out.status.success(),
            "cannot mount a tmpfs at {} (the suite runs as root): {}",
            at.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        SmallDisk { at: at.into() }
    }

    /// Writes `filler` until the disk is full.
    fn fill(&self) -> u64 {
        use std::io::Write;
        let mut f = std::fs::File::create(self.at.join("filler")).unwrap();
        let chunk = vec![0x5a_u8; 16 << 10];
        let mut written = 0;
        while f.write_all(&chunk).is_ok() {
            written += chunk.len() as u64;
        }
        // The last partial chunk, byte by byte would be slow: a small one.
        while f.write_all(&chunk[..512]).is_ok() {
            written += 512;
        }
        let _ = f.sync_all();
        written
    }

    fn free(&self) {
        std::fs::remove_file(self.at.join("filler")).unwrap();
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.at)
            .status();
    }
}

/// The Message-ID of each mail the SMTP server received, and how often.
fn received_ids(smtp: &SmtpServer) -> HashMap<String, usize> {
    let mut ids = HashMap::new();
    for id in crate::imap::ids_received(smtp) {
        *ids.entry(id).or_default() += 1;
    }
    ids
}

fn status_command(config: &Path) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_postroom"))
        .args(["status", "--config"])
        .arg(config)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Waits up to `limit` for `/readyz` at `url` to answer `code`.
async fn readyz_becomes(url: &str, code: u16, limit: Duration) -> bool {
    wait_until(limit, || async { get(url).await.0 == code }).await
}

fn alive(child: &mut Child) -> bool {
    child.try_wait().unwrap().is_none()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_under_sqlite_turns_health_red_sends_nothing_unrecorded_and_work_resumes() {
    full_disk(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_under_postgres_turns_health_red_sends_nothing_unrecorded_and_work_resumes() {
    full_disk(Backend::Postgres).await;
}

/// The database's disk fills under a running daemon, then space comes
/// back. SQLite: the database file is on a 3 MB tmpfs. PostgreSQL: a server
/// of the test's own keeps its whole data folder on a 96 MB tmpfs (initdb
/// and one WAL segment take about 40 MB).
// Long: one scenario, told in order: working, full, red, freed, resumed.
async fn full_disk(backend: Backend) {
    let smtp = SmtpServer::start();
    let base = tempfile::tempdir().unwrap();
    let (disk, pg, db) = match backend {
        Backend::Sqlite => {
            let disk = SmallDisk::mount(&base.path().join("disk"), "3m");
            let db = TestDb::sqlite_file(&disk.at.join("postroom.sqlite"));
            (disk, None, db)
        }
        Backend::Postgres => {
            let disk = SmallDisk::mount(&base.path().join("disk"), "96m");
            let pg = OwnPostgres::start_in(&disk.at);
            let db = TestDb::on_server(&pg);
            (disk, Some(pg), db)
        }
    };
    let port = free_port();
    let extra = format!(
        "[http]\nlisten = \"127.0.0.1:{port}\"\n\n[daemon]\npoll_interval = \"1s\"\n\n\
         [limits]\nacknowledgements_per_sender_per_hour = 100000\n"
    );
    let t = TestApp::on(
        db,
        Delivery::Smtp(smtp.port),
        &extra,
        &repo().join("examples/mps.csv"),
    )
    .await;
    let config = t.dir.path().join("postroom.toml");
    let log = t.dir.path().join("run.log");
    let mut child = crate::harness::spawn_run(&config, &log, &[], &[]);
    let readyz = format!("http://127.0.0.1:{port}/readyz");
    let log_text = || std::fs::read_to_string(&log).unwrap_or_default();

    // Working: a first few messages stored and acknowledged.
    let mail = synthetic_messages(40);
    for (i, m) in mail[..4].iter().enumerate() {
        t.deliver(&format!("before-{i}.eml"), m);
    }
    let acks_before = wait_until(Duration::from_secs(60), || async {
        let mut conn = t.app.store.conn().await.unwrap();
        let rows = outbox::list(&mut conn, None).await.unwrap();
        !rows.is_empty() && rows.iter().all(|r| r.status == "sent")
    })
    .await;
    assert!(
        acks_before,
        "the first mail is acknowledged\n{}",
        log_text()
    );
    assert!(
        readyz_becomes(&readyz, 200, Duration::from_secs(10)).await,
        "ready before the fault: {:?}",
        get(&readyz).await
    );

    // The disk fills; mail keeps arriving.
    let filled = disk.fill();
    assert!(filled > 0);
    for (i, m) in mail[4..].iter().enumerate() {
        t.deliver(&format!("during-{i}.eml"), m);
    }
    let full_at = Instant::now();
    let red = readyz_becomes(&readyz, 503, Duration::from_secs(60)).await;
    let (code, body) = get(&readyz).await;
    assert!(
        red,
        "/readyz turns red within a minute: {code} {body}\n{}",
        log_text()
    );
    let red_after = full_at.elapsed();
    assert!(
        body.contains("full"),
        "/readyz says why (the disk is full): {body}"
    );
    let (status_ok, status_text) = status_command(&config);
    assert!(!status_ok, "`postroom status` is red too:\n{status_text}");
    assert!(
        status_text.contains("full"),
        "`postroom status` says why:\n{status_text}"
    );
    assert!(alive(&mut child), "the daemon stays up\n{}", log_text());

    // Nothing was handed to SMTP without a durable record of it.
    let sent_while_full = received_ids(&smtp);
    {
        let mut conn = t.app.store.conn().await.unwrap();
        let rows = outbox::list(&mut conn, None).await.unwrap();
        let claimed: HashSet<&str> = rows
            .iter()
            .filter(|r| r.attempts > 0)
            .map(|r| r.message_id.as_str())
            .collect();
        for id in sent_while_full.keys() {
            assert!(
                claimed.contains(id.as_str()),
                "{id} reached SMTP without a recorded claim"
            );
        }
    }

    // Space comes back: the daemon carries on by itself.
    disk.free();
    let freed_at = Instant::now();
    // PostgreSQL may have stopped itself (a WAL write that fails is a
    // PANIC): systemd would start it again, and so does the test.
    let mut restarted_server = false;
    if let Some(pg) = &pg
        && !pg.running()
    {
        pg.up();
        restarted_server = true;
    }
    let all_stored = wait_until(Duration::from_secs(90), || async {
        let mut conn = t.app.store.conn().await.unwrap();
        let stored = postroom::store::messages::all(&mut conn).await.unwrap();
        let rows = outbox::list(&mut conn, None).await.unwrap();
        stored.len() == mail.len() && rows.iter().all(|r| r.status == "sent")
    })
    .await;
    assert!(
        all_stored,
        "every message stored and acknowledged once space is back\n{}",
        log_text()
    );
    let resumed_after = freed_at.elapsed();
    assert!(
        alive(&mut child),
        "resumed without a restart\n{}",
        log_text()
    );
    assert!(
        readyz_becomes(&readyz, 200, Duration::from_secs(30)).await,
        "ready again: {:?}",
        get(&readyz).await
    );
    let (status_ok, status_text) = status_command(&config);
    assert!(status_ok, "`postroom status` green again:\n{status_text}");

    // Each acknowledgement went out once.
    let mut conn = t.app.store.conn().await.unwrap();
    let rows = outbox::list(&mut conn, None).await.unwrap();
    let sent = received_ids(&smtp);
    for r in rows.iter().filter(|r| r.purpose == "acknowledgement") {
        assert_eq!(
            sent.get(&r.message_id).copied().unwrap_or(0),
            1,
            "{} sent once",
            r.message_id
        );
    }
    let twice: Vec<_> = sent.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "sent twice: {twice:?}");

    // SAFETY: signals our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let exit = child.wait().unwrap();
    assert!(exit.success(), "{exit}\n{}", log_text());
    // Stopped: `status` says so, and since when.
    let (status_ok, status_text) = status_command(&config);
    assert!(
        !status_ok && status_text.contains("not running: stopped on"),
        "{status_text}"
    );
    if std::env::var_os("POSTROOM_TEST_SHOW_LOG").is_some() {
        eprintln!("{}", log_text());
    }
    eprintln!(
        "full disk ({backend:?}): /readyz red {red_after:?} after the disk filled; all {} \
         messages stored and acknowledged {resumed_after:?} after space came back, postroom not \
         restarted{}, none sent twice",
        mail.len(),
        if restarted_server {
            ", the database server restarted"
        } else {
            ""
        }
    );
    drop(pg);
    drop(disk);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_accepted_while_postgres_is_down_is_recorded_when_it_is_back_and_sent_once() {
    let smtp = SmtpServer::start();
    let pg = OwnPostgres::start();
    let port = free_port();
    let extra =
        format!("[http]\nlisten = \"127.0.0.1:{port}\"\n\n[daemon]\npoll_interval = \"1s\"\n");
    let t = TestApp::on(
        TestDb::on_server(&pg),
        Delivery::Smtp(smtp.port),
        &extra,
        &repo().join("examples/mps.csv"),
    )
    .await;
    let config = t.dir.path().join("postroom.toml");
    let log = t.dir.path().join("run.log");
    let mut child = crate::harness::spawn_run(&config, &log, &[], &[]);
    let readyz = format!("http://127.0.0.1:{port}/readyz");
    let log_text = || std::fs::read_to_string(&log).unwrap_or_default();

    // The server takes the acknowledgement and holds its 250.
    smtp.hold();
    t.deliver("one.eml", &synthetic_messages(1)[0]);
    assert_eq!(
        smtp.wait_for(1, Duration::from_secs(60)).len(),
        1,
        "the acknowledgement reached the server\n{}",
        log_text()
    );
    // PostgreSQL goes down; then the server says 250.
    pg.down();
    smtp.release();
    let red = wait_until(Duration::from_secs(30), || async {
        let (code, body) = get(&readyz).await;
        code == 503 && body.contains("cannot be reached")
    })
    .await;
    assert!(
        red,
        "/readyz red, saying why: {:?}\n{}",
        get(&readyz).await,
        log_text()
    );
    // Several rounds of retries: the mail is not sent again while its
    // record waits.
    tokio::time::sleep(Duration::from_secs(12)).await;
    assert_eq!(smtp.received().len(), 1, "not sent again\n{}", log_text());
    assert!(alive(&mut child), "the daemon stays up\n{}", log_text());

    pg.up();
    let recorded = wait_until(Duration::from_secs(60), || async {
        let Ok(mut conn) = t.app.store.conn().await else {
            return false;
        };
        let rows = outbox::list(&mut conn, None).await.unwrap_or_default();
        rows.len() == 1 && rows[0].status == "sent" && rows[0].attempts == 1
    })
    .await;
    assert!(
        recorded,
        "recorded as sent, after one attempt\n{}",
        log_text()
    );
    assert!(
        readyz_becomes(&readyz, 200, Duration::from_secs(30)).await,
        "ready again: {:?}\n{}",
        get(&readyz).await,
        log_text()
    );
    let cases = t.cases().await;
    assert!(
        cases[0].acknowledged_at.is_some(),
        "the case says acknowledged"
    );
    assert_eq!(smtp.received().len(), 1, "sent once");
    // SAFETY: signals our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert!(child.wait().unwrap().success(), "{}", log_text());
    let log = log_text();
    assert!(log.contains("Mail sent earlier recorded as sent."), "{log}");
    if std::env::var_os("POSTROOM_TEST_SHOW_LOG").is_some() {
        eprintln!("{log}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_backlog_keeps_health_green_and_dovecot_killed_mid_batch_is_reported_within_ten_seconds()
 {
    // More than postroom stores in the 20 s below.
    const MESSAGES: usize = 8000;
    const ADMIN: &str = "ict-servicedesk@wexcombe.gov.uk";
    let mut d = Dovecot::start();
    let smtp = SmtpServer::start();
    d.append("INBOX", &synthetic_messages(MESSAGES), None).await;
    let port = free_port();
    // The backlog outlasts stall_alert several times over.
    let extra = format!(
        "{}\n[http]\nlisten = \"127.0.0.1:{port}\"\n\n[daemon]\nstall_alert = \"6s\"\nadmin = \"{ADMIN}\"\n\n\
         [limits]\nacknowledgements_per_sender_per_hour = 100000\n",
        imap_source(d.port, "since = \"2000-01-01T00:00:00Z\"")
    );
    let t = TestApp::with_extra(Backend::Sqlite, Delivery::Smtp(smtp.port), &extra).await;
    let config = t.dir.path().join("postroom.toml");
    let log = t.dir.path().join("run.log");
    let mut child = crate::harness::spawn_run(&config, &log, &[], &[]);
    let readyz = format!("http://127.0.0.1:{port}/readyz");
    let log_text = || std::fs::read_to_string(&log).unwrap_or_default();

    // Ready from the first stored chunk on, and all through the backlog.
    let start = Instant::now();
    assert!(
        readyz_becomes(&readyz, 200, Duration::from_secs(60)).await,
        "ready once storing: {:?}\n{}",
        get(&readyz).await,
        log_text()
    );
    let mut checks = 0;
    let mut not_ready = Vec::new();
    while start.elapsed() < Duration::from_secs(20) || count_messages(&t).await < 1000 {
        let (code, body) = get(&readyz).await;
        checks += 1;
        if code != 200 {
            not_ready.push(body);
        }
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "backlog too slow"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let stored_at_kill = count_messages(&t).await;
    assert!(
        stored_at_kill < MESSAGES,
        "the kill lands in the backlog: {stored_at_kill}"
    );
    assert!(
        not_ready.is_empty(),
        "/readyz stayed 200 through the backlog: {not_ready:?}"
    );
    let alerts = smtp
        .received()
        .iter()
        .filter(|r| r.rcpt_tos.iter().any(|to| to == ADMIN))
        .count();
    assert_eq!(alerts, 0, "no stall alert while mail is being stored");
    let (status_ok, status_text) = status_command(&config);
    assert!(
        status_ok,
        "`postroom status` green in the backlog:\n{status_text}"
    );

    // Dovecot dies mid-batch.
    d.kill();
    let killed = Instant::now();
    let red = readyz_becomes(&readyz, 503, Duration::from_secs(20)).await;
    let noticed = killed.elapsed();
    assert!(red, "{}", log_text());
    assert!(
        noticed <= Duration::from_secs(10),
        "Dovecot's death reported within 10 s: {noticed:?}\n{}",
        log_text()
    );
    let (code, body) = get(&readyz).await;
    assert!(code == 503 && body.contains("source mailbox"), "{body}");
    let (status_ok, status_text) = status_command(&config);
    assert!(!status_ok, "`postroom status` red:\n{status_text}");

    // Back: everything stored once.
    d.restart();
    let stored = wait_for_messages(&t, MESSAGES, Duration::from_secs(300)).await;
    assert_eq!(stored, MESSAGES, "{}", log_text());
    assert_each_stored_once(&t, MESSAGES).await;
    // SAFETY: signals our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert!(child.wait().unwrap().success(), "{}", log_text());
    eprintln!(
        "backlog: {checks} readiness checks over {:?}, all 200; {stored_at_kill} of {MESSAGES} \
         stored when Dovecot was killed; /readyz 503 {noticed:?} after the kill",
        killed - start
    );
}

/// The installed program `name` on PATH.
fn which(name: &str) -> String {
    std::env::var("PATH")
        .unwrap()
        .split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{name} is not installed"))
        .display()
        .to_string()
}

/// Whether `pid` runs (a zombie waiting to be reaped does not).
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(") ").map(|(_, r)| !r.starts_with('Z')))
        .unwrap_or(false)
}

fn spool_entries(spool: &Path) -> Vec<String> {
    std::fs::read_dir(spool)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_kill_no_child_is_left_running_and_the_next_start_clears_the_spool() {
    let t = TestApp::with_extra(Backend::Sqlite, Delivery::Folder, "").await;
    // Scanned letters: each is read by OCR, in child processes.
    let scan = std::fs::read(repo().join("tests/fixtures/letter-scan.eml")).unwrap();
    let scan = String::from_utf8(scan).unwrap();
    for i in 0..12 {
        let copy = scan.replace("SCAN0502@", &format!("SCAN0502-{i}@"));
        t.deliver(&format!("scan-{i:02}.eml"), copy.as_bytes());
    }
    let config = t.dir.path().join("postroom.toml");
    let log = t.dir.path().join("run.log");
    let spool = t.dir.path().join("spool");
    let log_text = || std::fs::read_to_string(&log).unwrap_or_default();
    // Tesseract as installed, after a pause: so that the kill surely lands
    // while it runs (one process, named tesseract, that becomes the real
    // one).
    let slow = t.dir.path().join("slow-bin");
    std::fs::create_dir_all(&slow).unwrap();
    let real = which("tesseract");
    std::fs::write(
        slow.join("tesseract"),
        format!(
            "#!/usr/bin/python3\nimport os, sys, time\ntime.sleep(30)\nos.execv({real:?}, [{real:?}] + sys.argv[1:])\n"
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        slow.join("tesseract"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let path = format!("{}:{}", slow.display(), std::env::var("PATH").unwrap());
    let mut child = crate::harness::spawn_run(&config, &log, &[], &[("PATH", &path)]);
    let pid = child.id();

    // Wait until a tool is at work on a letter.
    let mut tools = Vec::new();
    let start = Instant::now();
    while tools.is_empty() && start.elapsed() < Duration::from_secs(60) {
        tools = crate::harness::children_of(pid)
            .into_iter()
            .filter(|(_, comm)| comm == "tesseract")
            .collect();
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!tools.is_empty(), "an OCR tool ran\n{}", log_text());
    let own: Vec<String> = spool_entries(&spool)
        .into_iter()
        .filter(|e| e.starts_with(&format!("{pid}.")))
        .collect();
    assert_eq!(own.len(), 1, "the daemon's own spool folder: {own:?}");
    assert!(
        !spool_entries(&spool.join(&own[0])).is_empty(),
        "it holds the letter being read"
    );

    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let killed = Instant::now();
    let mut left: Vec<&(u32, String)> = tools.iter().collect();
    while !left.is_empty() && killed.elapsed() < Duration::from_secs(5) {
        left.retain(|(p, _)| running(*p));
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        left.is_empty(),
        "tools still running after the kill: {left:?}"
    );
    assert!(
        spool.join(&own[0]).exists(),
        "the killed daemon left its spool folder"
    );

    // The next start removes it.
    let mut again = crate::harness::spawn_run(&config, &log, &[], &[]);
    let cleared = wait_until(Duration::from_secs(30), || async {
        !spool.join(&own[0]).exists()
    })
    .await;
    assert!(cleared, "the next start clears the spool\n{}", log_text());
    assert!(log_text().contains("Removed temporary files left by a postroom"));
    // SAFETY: signals our own child.
    unsafe { libc::kill(again.id() as i32, libc::SIGTERM) };
    assert!(again.wait().unwrap().success(), "{}", log_text());
    let mine = format!("{}.", again.id());
    assert!(
        !spool_entries(&spool).iter().any(|e| e.starts_with(&mine)),
        "a clean stop leaves no spool folder: {:?}",
        spool_entries(&spool)
    );
    eprintln!(
        "kill: {} OCR tools running at the kill, none left {:?} later",
        tools.len(),
        killed.elapsed()
    );
}
