//! Shared set-up: fresh databases, a real SMTP server, and a postroom app
//! configured against them.

pub mod browser;
pub mod db;
pub mod dovecot;
pub mod oauth;
pub mod oidc;
pub mod smtp;
pub mod synthetic;
pub mod tls;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use postroom::app::{App, Prepared};
use postroom::clock::FixedClock;
use postroom::config::Config;
use postroom::store::Store;

pub use db::{Backend, TestDb, backends};
pub use smtp::files_with_ext;
pub use synthetic::synthetic_messages;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared` beside the checkout; CI always has it, so its absence fails.
pub fn shared() -> PathBuf {
    let dir = repo().join("..").join("shared");
    assert!(
        dir.join("corpus").is_dir(),
        "../shared/corpus is missing beside the checkout ({}); CI provides it",
        dir.display()
    );
    dir
}

pub fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("a valid RFC 3339 time")
        .with_timezone(&Utc)
}

/// Where mail goes in a test.
pub enum Delivery {
    /// `.eml` files in `<dir>/outbox`.
    Folder,
    /// Plain SMTP to 127.0.0.1 on this port.
    Smtp(u16),
    /// The `[delivery]` and `[smtp]` tables as written.
    Toml(String),
}

/// A postroom app on a fresh database, with an `.eml` folder source at
/// `<dir>/inbox` and the sample council's MP directory.
pub struct TestApp {
    pub app: Arc<App>,
    pub clock: Arc<FixedClock>,
    pub dir: tempfile::TempDir,
    /// Kept so the database lives as long as the app.
    _db: TestDb,
}

impl TestApp {
    pub async fn new(backend: Backend, delivery: Delivery) -> TestApp {
        TestApp::with_extra(backend, delivery, "").await
    }

    /// `extra` is appended to the config (more TOML tables).
    pub async fn with_extra(backend: Backend, delivery: Delivery, extra: &str) -> TestApp {
        TestApp::build(backend, delivery, extra, &repo().join("examples/mps.csv")).await
    }

    /// As [`with_extra`], with the MP directory at `directory`.
    pub async fn build(
        backend: Backend,
        delivery: Delivery,
        extra: &str,
        directory: &Path,
    ) -> TestApp {
        TestApp::on(TestDb::new(backend).await, delivery, extra, directory).await
    }

    /// As [`build`], on the database `db`.
    pub async fn on(db: TestDb, delivery: Delivery, extra: &str, directory: &Path) -> TestApp {
        let dir = tempfile::tempdir().expect("a temporary folder");
        std::fs::create_dir_all(dir.path().join("inbox")).unwrap();
        let delivery = match delivery {
            Delivery::Folder => "[delivery]\ntransport = \"file\"\npath = \"outbox\"\n".to_string(),
            Delivery::Toml(text) => text,
            Delivery::Smtp(port) => format!(
                "[delivery]\ntransport = \"smtp\"\nretry_for = \"1h\"\n\n[smtp]\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\ntimeout = \"10s\"\n"
            ),
        };
        let text = format!(
            "[council]\nname = \"Wexcombe Borough Council\"\nmailbox = \"mpenquiries@wexcombe.gov.uk\"\nauthserv_id = \"mx1.wexcombe.gov.uk\"\n\n\
             [database]\nurl_env = \"{}\"\n\n[paths]\ndirectory = \"{}\"\nspool = \"spool\"\n\n\
             [[source]]\nname = \"inbox\"\nkind = \"eml_dir\"\npath = \"inbox\"\n\n{delivery}\n{extra}",
            db.url_env(),
            directory.display(),
        );
        std::fs::write(dir.path().join("postroom.toml"), &text).unwrap();
        let config =
            Config::load(&dir.path().join("postroom.toml")).unwrap_or_else(|e| panic!("{e}"));
        let prepared = Prepared::new(config).unwrap_or_else(|p| panic!("{p}"));
        // The library's tests run inside the test binary: documents are read
        // by the real postroom executable.
        let clock = FixedClock::new(at("2026-11-27T10:00:00Z"));
        let store = Store::connect(&db.secret_url(), 5)
            .await
            .expect("the test database opens");
        let app = Arc::new(App::new(prepared, store, clock.clone()));
        TestApp {
            app,
            clock,
            dir,
            _db: db,
        }
    }

    /// A second postroom on the same config, database and clock: a restart,
    /// or another instance beside this one.
    pub async fn another_instance(&self) -> Arc<App> {
        let config =
            Config::load(&self.dir.path().join("postroom.toml")).unwrap_or_else(|e| panic!("{e}"));
        let prepared = Prepared::new(config).unwrap_or_else(|p| panic!("{p}"));
        let store = Store::connect(&self._db.secret_url(), 5)
            .await
            .expect("the test database opens");
        Arc::new(App::new(prepared, store, self.clock.clone()))
    }

    pub fn inbox(&self) -> PathBuf {
        self.dir.path().join("inbox")
    }

    pub fn outbox(&self) -> PathBuf {
        self.dir.path().join("outbox")
    }

    /// Puts a message in the inbox folder.
    pub fn deliver(&self, name: &str, bytes: &[u8]) {
        std::fs::write(self.inbox().join(name), bytes).unwrap();
    }

    /// Puts the whole sample mailbox in the inbox folder.
    pub fn deliver_sample_mailbox(&self) {
        for (name, bytes) in postroom::cli::demo::SAMPLE_MAILBOX {
            self.deliver(name, bytes);
        }
    }

    /// Reads the first source once (queueing what it opens), without
    /// sending anything or the daemon's clock-driven work.
    pub async fn poll(&self) -> Vec<postroom::ingest::Outcome> {
        let stop = tokio_util::sync::CancellationToken::new();
        let ready = tokio::sync::Notify::new();
        let mut source =
            postroom::source::Source::from_config(&self.app.config.sources[0], &self.app);
        postroom::daemon::poll_source(&self.app, &mut source, &stop, &ready)
            .await
            .unwrap()
    }

    pub async fn run_once(&self) -> (Vec<postroom::ingest::Outcome>, postroom::outbox::Totals) {
        postroom::daemon::run_once(&self.app)
            .await
            .expect("one pass of the daemon")
    }

    /// The case `reference` names (it must exist).
    pub async fn case(&self, reference: &str) -> postroom::store::cases::CaseRow {
        let mut conn = self.app.store.conn().await.unwrap();
        postroom::store::cases::by_reference(&mut conn, reference)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no case {reference}"))
    }

    pub async fn cases(&self) -> Vec<postroom::store::cases::CaseRow> {
        let mut conn = self.app.store.conn().await.unwrap();
        postroom::store::cases::all(&mut conn).await.unwrap()
    }
}

/// `postroom run --config CONFIG ARGS` as a process of its own, its log
/// (stderr) appended to `log`.
pub fn spawn_run(
    config: &Path,
    log: &Path,
    args: &[&str],
    envs: &[(&str, &str)],
) -> std::process::Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_postroom"))
        .arg("run")
        .arg("--config")
        .arg(config)
        .args(args)
        .envs(envs.iter().copied())
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// `postroom ARGS`, which must succeed (its stderr is the failure message),
/// with no `POSTROOM_CONFIG` from the test's environment.
pub fn postroom_ok<I, S>(args: I) -> std::process::Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_postroom"))
        .args(args)
        .env_remove("POSTROOM_CONFIG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A plain-text message with the headers a mail client writes.
pub fn plain_mail(
    from: &str,
    to: &str,
    cc: &str,
    id: &str,
    date: &str,
    subject: &str,
    body: &str,
) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: {to}\r\nCc: {cc}\r\nSubject: {subject}\r\nDate: {date}\r\n\
         Message-ID: <{id}>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// The children of process `pid` now: (pid, command name).
pub fn children_of(pid: u32) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(child) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        // "pid (comm) state ppid ...": comm may hold spaces.
        let Some((head, rest)) = stat.rsplit_once(") ") else {
            continue;
        };
        let comm = head
            .split_once(" (")
            .map(|(_, c)| c)
            .unwrap_or("")
            .to_string();
        let ppid = rest
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(pid) {
            out.push((child, comm));
        }
    }
    out
}
