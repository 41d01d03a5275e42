//! A real Dovecot (Debian's dovecot-imapd) for the IMAP tests: started in
//! the foreground with a generated config in a temporary folder, listening
//! on a free port of 127.0.0.1, one mailbox user. Killed when dropped.

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use async_imap::Session;
use futures::TryStreamExt;
use tokio::net::TcpStream;

pub const USER: &str = "mpenquiries@wexcombe.gov.uk";
pub const PASSWORD: &str = "imap-test-password";

/// How the server authenticates.
#[derive(Clone, Default)]
pub struct Options {
    /// Certificates for implicit TLS (the listener speaks TLS only).
    pub tls: Option<(PathBuf, PathBuf)>,
    /// An OAuth2 token introspection URL: the server then accepts XOAUTH2
    /// tokens that this endpoint says are active.
    pub introspection_url: Option<String>,
}

pub struct Dovecot {
    pub port: u16,
    pub dir: tempfile::TempDir,
    options: Options,
    child: Option<Child>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn is_root() -> bool {
    // SAFETY: a plain system call.
    unsafe { libc::geteuid() == 0 }
}

impl Dovecot {
    pub fn start() -> Dovecot {
        Dovecot::start_with(Options::default())
    }

    pub fn start_with(options: Options) -> Dovecot {
        let dir = tempfile::tempdir().unwrap();
        let mut d = Dovecot {
            port: free_port(),
            dir,
            options,
            child: None,
        };
        d.write_config();
        d.launch();
        d
    }

    fn write_config(&self) {
        let root = self.dir.path();
        for sub in ["run", "state", "mail", "home"] {
            std::fs::create_dir_all(root.join(sub)).unwrap();
        }
        // Mail files belong to the mail user; as root that is Dovecot's own
        // unprivileged user (Dovecot refuses uid 0 for mail).
        let (user, group) = if is_root() {
            ("dovecot".to_string(), "dovecot".to_string())
        } else {
            let name = std::env::var("USER").unwrap_or_else(|_| "nobody".into());
            (name.clone(), name)
        };
        if is_root() {
            let status = Command::new("chown")
                .args(["-R", &format!("{user}:{group}")])
                .arg(root.join("mail"))
                .arg(root.join("home"))
                .status()
                .unwrap();
            assert!(status.success());
        }
        std::fs::write(
            root.join("users"),
            format!("{USER}:{{PLAIN}}{PASSWORD}::::::\n"),
        )
        .unwrap();
        let r = root.display();
        let (ssl, listener) = match &self.options.tls {
            Some((cert, key)) => (
                format!(
                    "ssl = required\nssl_cert = <{}\nssl_key = <{}\n",
                    cert.display(),
                    key.display()
                ),
                format!(
                    "inet_listener imap {{\n    port = 0\n  }}\n  inet_listener imaps {{\n    address = 127.0.0.1\n    port = {}\n    ssl = yes\n  }}",
                    self.port
                ),
            ),
            None => (
                "ssl = no\n".to_string(),
                format!(
                    "inet_listener imap {{\n    address = 127.0.0.1\n    port = {}\n  }}\n  inet_listener imaps {{\n    port = 0\n  }}",
                    self.port
                ),
            ),
        };
        let (mechanisms, oauth_passdb) = match &self.options.introspection_url {
            Some(url) => {
                std::fs::write(
                    root.join("oauth2.conf.ext"),
                    format!("introspection_mode = post\nintrospection_url = {url}\nusername_attribute = username\nactive_attribute = active\nactive_value = true\n"),
                )
                .unwrap();
                (
                    "plain login xoauth2 oauthbearer",
                    format!(
                        "passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = {r}/oauth2.conf.ext\n}}\n"
                    ),
                )
            }
            None => ("plain login", String::new()),
        };
        let internal = if is_root() {
            String::new()
        } else {
            format!("default_internal_user = {user}\ndefault_login_user = {user}\n")
        };
        let config = format!(
            "base_dir = {r}/run\nstate_dir = {r}/state\nlog_path = {r}/dovecot.log\ninstance_name = postroom-test-{port}\n\
protocols = imap\nlisten = 127.0.0.1\n{ssl}disable_plaintext_auth = no\nauth_mechanisms = {mechanisms}\n\
mail_location = maildir:{r}/mail/%u\nfirst_valid_uid = 1\n{internal}\
{oauth_passdb}passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {r}/users\n}}\n\
userdb {{\n  driver = static\n  args = uid={user} gid={group} home={r}/home/%u\n}}\n\
service imap-login {{\n  {listener}\n  chroot =\n}}\nservice anvil {{\n  chroot =\n}}\n\
protocol imap {{\n  mail_max_userip_connections = 100\n}}\n",
            port = self.port,
        );
        std::fs::write(root.join("dovecot.conf"), config).unwrap();
    }

    fn launch(&mut self) {
        let _ = std::fs::remove_file(self.dir.path().join("run/master.pid"));
        use std::os::unix::process::CommandExt;
        let child = Command::new("dovecot")
            // A process group of its own, so that killing it takes its
            // children (imap-login holds the listening socket) too.
            .process_group(0)
            .arg("-F")
            .arg("-c")
            .arg(self.dir.path().join("dovecot.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("dovecot starts (apt-get install dovecot-imapd; tests/run-all.sh does)");
        self.child = Some(child);
        let start = Instant::now();
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                let mut err = String::new();
                let _ = self
                    .child
                    .as_mut()
                    .unwrap()
                    .stderr
                    .take()
                    .unwrap()
                    .read_to_string(&mut err);
                panic!("dovecot exited ({status}): {err}\n{}", self.log());
            }
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "dovecot did not listen within 15 s\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
    }

    /// Kills the server and all its processes (SIGKILL: every connection
    /// drops at once, as in a crash).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: signals our own child's process group.
            unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
            let _ = child.wait();
        }
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok()
            && start.elapsed() < Duration::from_secs(5)
        {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts it again on the same port with the same mail.
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }

    pub fn mail_dir(&self) -> PathBuf {
        self.dir.path().join("mail").join(USER)
    }

    /// A logged-in client session (plain IMAP; the tests' own tool).
    pub async fn session(&self) -> Session<TcpStream> {
        assert!(
            self.options.tls.is_none(),
            "the test client speaks plain IMAP"
        );
        let tcp = TcpStream::connect(("127.0.0.1", self.port)).await.unwrap();
        let mut client = async_imap::Client::new(tcp);
        client.read_response().await.unwrap().unwrap();
        client
            .login(USER, PASSWORD)
            .await
            .map_err(|(e, _)| e)
            .unwrap()
    }

    /// Delivers messages into a folder (IMAP APPEND), with an internal date.
    pub async fn append(&self, folder: &str, messages: &[Vec<u8>], internal_date: Option<&str>) {
        let mut session = self.session().await;
        for m in messages {
            session
                .append(folder, None, internal_date, m)
                .await
                .unwrap();
        }
        session.logout().await.unwrap();
    }

    pub async fn create_folder(&self, folder: &str) {
        let mut session = self.session().await;
        session.create(folder).await.unwrap();
        session.logout().await.unwrap();
    }

    /// UIDs in a folder that carry (or lack) a flag, by SEARCH.
    pub async fn search(&self, folder: &str, query: &str) -> Vec<u32> {
        let mut session = self.session().await;
        session.select(folder).await.unwrap();
        let mut uids: Vec<u32> = session
            .uid_search(query)
            .await
            .unwrap()
            .into_iter()
            .collect();
        uids.sort_unstable();
        session.logout().await.unwrap();
        uids
    }

    /// The bytes the server returns for a message (BODY.PEEK[]).
    pub async fn bodies(&self, folder: &str) -> Vec<Vec<u8>> {
        let mut session = self.session().await;
        session.select(folder).await.unwrap();
        let fetched: Vec<_> = session
            .uid_fetch("1:*", "(UID BODY.PEEK[])")
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        let out = fetched
            .iter()
            .filter_map(|f| f.body().map(<[u8]>::to_vec))
            .collect();
        drop(fetched);
        session.logout().await.unwrap();
        out
    }

    /// Makes the folder's UIDVALIDITY change: Dovecot keeps it in the
    /// Maildir's dovecot-uidlist; a new one is generated when that goes.
    pub fn reset_uidvalidity(&self, folder_dir: &Path) {
        let _ = std::fs::remove_file(folder_dir.join("dovecot-uidlist"));
        let _ = std::fs::remove_file(folder_dir.join("dovecot.index"));
        let _ = std::fs::remove_file(folder_dir.join("dovecot.index.cache"));
        let _ = std::fs::remove_file(folder_dir.join("dovecot.index.log"));
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        self.kill();
    }
}
