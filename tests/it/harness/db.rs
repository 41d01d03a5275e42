//! Fresh databases per test: a SQLite file in a temporary folder, or a new
//! PostgreSQL database on the server at POSTROOM_TEST_POSTGRES (default
//! postgres://postgres@127.0.0.1:5432/postgres), dropped afterwards.

use secrecy::SecretString;
use sqlx::Connection;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Both backends: every store test runs on each.
pub fn backends() -> [Backend; 2] {
    [Backend::Sqlite, Backend::Postgres]
}

pub struct TestDb {
    pub url: String,
    env_var: String,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

fn admin_url() -> String {
    std::env::var("POSTROOM_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        let nonce: u64 = rand::random();
        let env_var = format!("POSTROOM_TEST_DB_{nonce:016x}");
        let db = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join("postroom.sqlite").display());
                TestDb {
                    url,
                    env_var,
                    _dir: Some(dir),
                    pg_name: None,
                }
            }
            Backend::Postgres => {
                let name = format!("postroom_test_{nonce:016x}");
                let admin = admin_url();
                let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap_or_else(|e| {
                    panic!("PostgreSQL is not reachable at {admin} ({e}); start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start")
                });
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                conn.close().await.ok();
                let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
                let url = format!("{base}/{name}");
                TestDb {
                    url,
                    env_var,
                    _dir: None,
                    pg_name: Some(name),
                }
            }
        };
        // SAFETY: each test uses its own variable name, so no two threads
        // write the same variable; config loading reads it.
        unsafe { std::env::set_var(&db.env_var, &db.url) };
        db
    }

    /// A SQLite database in the file `path` (left where it is afterwards).
    pub fn sqlite_file(path: &std::path::Path) -> TestDb {
        TestDb::at_url(format!("sqlite://{}", path.display()))
    }

    /// The database at `url`, which the test owns (nothing is dropped
    /// afterwards), named by an environment variable of its own.
    fn at_url(url: String) -> TestDb {
        let nonce: u64 = rand::random();
        let db = TestDb {
            url,
            env_var: format!("POSTROOM_TEST_DB_{nonce:016x}"),
            _dir: None,
            pg_name: None,
        };
        // SAFETY: as in `new`.
        unsafe { std::env::set_var(&db.env_var, &db.url) };
        db
    }

    /// The name of an environment variable that holds the URL (configs
    /// never hold database URLs themselves).
    pub fn url_env(&self) -> &str {
        &self.env_var
    }

    pub fn secret_url(&self) -> SecretString {
        SecretString::from(self.url.clone())
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else {
            return;
        };
        let admin = admin_url();
        // Drop runs outside any runtime guarantee: use a thread of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut conn)
                        .await;
                }
            });
        })
        .join();
    }
}

/// A PostgreSQL server of the test's own (initdb in a temporary folder,
/// trust authentication, 127.0.0.1 on a free port), which the test may stop
/// or kill: the shared server on 5432 is never touched.
pub struct OwnPostgres {
    pub port: u16,
    dir: std::path::PathBuf,
    _temp: Option<tempfile::TempDir>,
}

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

fn as_postgres(program: &str, args: &[&str]) -> std::process::Output {
    let out = std::process::Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .arg(format!("{PG_BIN}/{program}"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} as postgres: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

impl OwnPostgres {
    pub fn start() -> OwnPostgres {
        let temp = tempfile::tempdir().unwrap();
        let mut pg = OwnPostgres::start_in(temp.path());
        pg._temp = Some(temp);
        pg
    }

    /// A server whose files (data, socket, log) live in `dir`, which the
    /// caller owns: a small disk, for example.
    pub fn start_in(dir: &std::path::Path) -> OwnPostgres {
        std::process::Command::new("chown")
            .args(["postgres:postgres"])
            .arg(dir)
            .status()
            .unwrap();
        let data = dir.join("data");
        as_postgres(
            "initdb",
            &[
                "-A",
                "trust",
                "-U",
                "postgres",
                "-D",
                data.to_str().unwrap(),
            ],
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let pg = OwnPostgres {
            port,
            dir: dir.into(),
            _temp: None,
        };
        pg.up();
        pg
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    /// Starts the server (again), waiting until it takes connections.
    pub fn up(&self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("server.log").display().to_string();
        as_postgres(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-l",
                &log,
                "-o",
                &options,
                "-w",
                "start",
            ],
        );
    }

    /// Stops the server at once, as a crash would (`-m immediate`).
    pub fn down(&self) {
        as_postgres(
            "pg_ctl",
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        );
    }

    /// Whether the server is running (`pg_ctl status`).
    pub fn running(&self) -> bool {
        std::process::Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(format!("{PG_BIN}/pg_ctl"))
            .args(["-D", &self.data(), "status"])
            .output()
            .is_ok_and(|o| o.status.success())
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let _ = std::process::Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(format!("{PG_BIN}/pg_ctl"))
            .args(["-D", &self.data(), "-m", "immediate", "stop"])
            .output();
    }
}

impl TestDb {
    /// The database of `server`.
    pub fn on_server(server: &OwnPostgres) -> TestDb {
        TestDb::at_url(server.url())
    }
}
