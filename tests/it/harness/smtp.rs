//! A real SMTP server process (aiosmtpd) on a free loopback port, and what
//! it received.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct SmtpServer {
    pub port: u16,
    pub dir: tempfile::TempDir,
    child: Child,
}

/// A message the server accepted.
#[derive(Debug, Clone)]
pub struct Received {
    pub raw: Vec<u8>,
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    /// Whether the session was encrypted.
    pub tls: bool,
    /// The user that authenticated, if any.
    pub auth: Option<String>,
    /// The client's address and port: one per SMTP connection.
    pub peer: String,
}

impl Received {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.raw).into_owned()
    }

    /// The value of a header, unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let text = self.text();
        let head = text.split("\r\n\r\n").next().unwrap_or("");
        let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
        unfolded.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/harness/smtp_server.py")
}

fn spawn(dir: &Path, port: Option<u16>, extra: &[&str]) -> (u16, Child) {
    let mut cmd = Command::new("/usr/bin/python3");
    cmd.arg(script()).arg("--dir").arg(dir);
    if let Some(port) = port {
        cmd.arg("--port").arg(port.to_string());
    }
    let mut child = cmd
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3 starts (apt-get install python3-aiosmtpd; tests/run-all.sh does)");
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let port = line
        .trim()
        .strip_prefix("READY ")
        .unwrap_or_else(|| {
            panic!("the SMTP server did not start: {line:?} (is python3-aiosmtpd installed?)")
        })
        .parse()
        .unwrap();
    (port, child)
}

impl SmtpServer {
    pub fn start() -> SmtpServer {
        SmtpServer::start_with(&[])
    }

    pub fn start_with(extra: &[&str]) -> SmtpServer {
        let dir = tempfile::tempdir().unwrap();
        let (port, child) = spawn(dir.path(), None, extra);
        SmtpServer { port, dir, child }
    }

    /// Stops the server process (the port stays reserved for [`restart`]).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts it again on the same port, keeping what it received.
    pub fn restart(&mut self) {
        self.stop();
        let (_, child) = spawn(self.dir.path(), Some(self.port), &[]);
        self.child = child;
    }

    /// Replies the server gives to the next DATA commands instead of
    /// accepting them.
    pub fn script(&self, replies: &[&str]) {
        std::fs::write(
            self.dir.path().join("script.json"),
            serde_json::to_string(replies).unwrap(),
        )
        .unwrap();
    }

    /// From now on, each message is kept at once and its 250 waits until
    /// [`release`](Self::release).
    pub fn hold(&self) {
        std::fs::write(self.dir.path().join("hold"), b"").unwrap();
    }

    pub fn release(&self) {
        std::fs::remove_file(self.dir.path().join("hold")).unwrap();
    }

    pub fn received(&self) -> Vec<Received> {
        read_received(self.dir.path())
    }

    /// Waits until at least `n` messages arrived.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let start = Instant::now();
        loop {
            let got = self.received();
            if got.len() >= n || start.elapsed() > timeout {
                return got;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn read_received(dir: &Path) -> Vec<Received> {
    let mut out = Vec::new();
    for eml in files_with_ext(dir, "eml") {
        let meta: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(eml.with_extension("json")).unwrap())
                .unwrap();
        out.push(Received {
            raw: std::fs::read(&eml).unwrap(),
            mail_from: meta["mail_from"].as_str().unwrap_or_default().to_string(),
            rcpt_tos: meta["rcpt_tos"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect(),
            tls: meta["tls"].as_bool().unwrap_or(false),
            auth: meta["auth"].as_str().map(str::to_string),
            peer: meta["peer"].as_str().unwrap_or_default().to_string(),
        });
    }
    out
}

/// Parses mails with Python's email package under `policy=strict` (an
/// independent parser: every defect is an error) and panics on any problem.
pub fn assert_strictly_valid(paths: &[PathBuf]) {
    if paths.is_empty() {
        return;
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/harness/strict_parse.py");
    let out = Command::new("/usr/bin/python3")
        .arg(script)
        .args(paths)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "outgoing mail that a strict parser rejects:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl SmtpServer {
    /// The files of every accepted message.
    pub fn files(&self) -> Vec<PathBuf> {
        files_with_ext(self.dir.path(), "eml")
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Files in a folder with an extension, sorted.
pub fn files_with_ext(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == ext))
            .collect(),
        Err(_) => Vec::new(),
    };
    out.sort();
    out
}
