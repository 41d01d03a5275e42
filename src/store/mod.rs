//! Stage 4: the database. The only module that contains SQL.
//!
//! One code path for both backends, through sqlx's `Any` driver: SQLite (a
//! file, the default) and PostgreSQL (for councils that run several
//! instances), chosen by the URL. Migrations live in `migrations/sqlite` and
//! `migrations/postgres` (same names, same meaning) and are applied at start.
//!
//! Conventions that keep the SQL portable: timestamps are UTC text in one
//! fixed, sortable form ([`ts`]); dates are `YYYY-MM-DD`; flags are 0/1
//! integers; placeholders are `$1`, `$2`, ... (SQLite reads them too). The
//! few statements that differ per backend branch on [`Backend`].
//!
//! Write transactions on SQLite start with `BEGIN IMMEDIATE`, so one that
//! reads before it writes cannot fail to upgrade its lock when another
//! connection (a second process, `postroom cases` while the daemon runs) has
//! written in between.

pub mod calendar;
pub mod cases;
pub mod checkpoints;
pub mod deadlines;
pub mod digests;
pub mod export;
pub mod fault;
pub mod figures;
pub mod health;
pub mod lists;
pub mod messages;
pub mod outbox;
pub mod retention;
pub mod tallies;
pub mod web;
pub mod worklist;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, NaiveDate, Utc};
use secrecy::{ExposeSecret, SecretString};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

pub type Tx = sqlx::Transaction<'static, sqlx::Any>;
pub type Conn = sqlx::AnyConnection;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The database, shared by every task of the daemon.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// The SQLite file, for the single-instance lock.
    sqlite_path: Option<PathBuf>,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

impl Store {
    /// Connects, creating the SQLite file (mode 0600) if needed, and applies
    /// the migrations.
    pub async fn connect(url: &SecretString, max_connections: u32) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let url = url.expose_secret();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            bail!("The database URL is neither sqlite: nor postgres://");
        };
        if backend == Backend::Sqlite {
            create_private_file(url)?;
        }
        let options = AnyConnectOptions::from_str(url).context("Invalid database URL")?;
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            // A database that has gone is noticed (and reported by health)
            // within this; busy SQLite waits for its lock separately.
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute("PRAGMA busy_timeout = 30000").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = FULL").await?;
                        // The write-ahead log is copied into the database
                        // file every 100 pages (400 KB), not SQLite's
                        // 1,000, and given back to the file system down to
                        // 1 MB when it starts again: on a nearly full disk
                        // the log cannot take the room the database needs.
                        conn.execute("PRAGMA wal_autocheckpoint = 100").await?;
                        conn.execute("PRAGMA journal_size_limit = 1048576").await?;
                    }
                    Ok(())
                })
            })
            // A connection whose transaction could not end (a COMMIT or
            // ROLLBACK refused: disk full, read-only file, server gone) is
            // closed, never handed out again: on it every later BEGIN would
            // fail, or a write would land in a transaction nobody commits.
            .after_release(|conn, _meta| {
                Box::pin(async move {
                    use sqlx::Connection;
                    // Flushes a rollback queued when the transaction was
                    // dropped, then asks whether one is still open.
                    conn.ping().await?;
                    Ok(!conn.is_in_transaction())
                })
            })
            .connect_with(options)
            .await
            .context("Cannot connect to the database")?;
        let migrator = match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator
            .run(&pool)
            .await
            .context("Cannot apply the database migrations")?;
        let sqlite_path = if backend == Backend::Sqlite {
            sqlite_file(url)
        } else {
            None
        };
        Ok(Store {
            pool,
            backend,
            sqlite_path,
        })
    }

    /// With SQLite, only one postroom may work on a database: takes an
    /// exclusive lock on `<file>.lock`, held until the returned file is
    /// dropped (and by the kernel until the process dies, however it dies).
    /// Several instances share work only on PostgreSQL.
    pub fn lock_single_instance(&self) -> Result<Option<std::fs::File>> {
        let Some(path) = &self.sqlite_path else {
            return Ok(None);
        };
        let mut lock_path = path.clone().into_os_string();
        lock_path.push(".lock");
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(&lock_path).with_context(|| {
            format!(
                "Cannot open the lock file {}",
                Path::new(&lock_path).display()
            )
        })?;
        match file.try_lock() {
            Ok(()) => Ok(Some(file)),
            Err(std::fs::TryLockError::WouldBlock) => bail!(
                "Another postroom is already running on the SQLite database {}; \
                 several instances can share work only on PostgreSQL",
                path.display()
            ),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(e).with_context(|| format!("Cannot lock {}", Path::new(&lock_path).display()))
            }
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Takes the right to read source `name`, if no other instance holds
    /// it: on PostgreSQL a session advisory lock on a connection of its
    /// own, which the server releases the moment that connection ends
    /// (however its process ends), so another instance takes over on its
    /// next try. On SQLite the single-instance lock already covers every
    /// source, so the lease is always granted.
    pub async fn try_lease(&self, name: &str) -> Result<Option<Lease>> {
        if self.backend == Backend::Sqlite {
            return Ok(Some(Lease { conn: None }));
        }
        let mut conn = self
            .pool
            .acquire()
            .await
            .context("Cannot get a database connection")?
            .detach();
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(lease_key(name))
            .fetch_one(&mut conn)
            .await
            .context("Cannot ask for the source's lease")?;
        if got {
            Ok(Some(Lease { conn: Some(conn) }))
        } else {
            sqlx::Connection::close(conn).await.ok();
            Ok(None)
        }
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Starts a write transaction.
    pub async fn begin(&self) -> Result<Tx> {
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        };
        tx.context("Cannot start a database transaction")
    }

    /// A connection for reads and single statements.
    pub async fn conn(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Any>> {
        self.pool
            .acquire()
            .await
            .context("Cannot get a database connection")
    }

    /// SQLite: copies what the write-ahead log holds into the database file
    /// (PASSIVE: never waits for a writer), so that the log starts again
    /// from its beginning instead of growing. SQLite does this by itself
    /// at every 100 pages (`wal_autocheckpoint`, set at connect), but only
    /// when a commit succeeds: after a full disk, this makes room again
    /// without waiting for one. Nothing on PostgreSQL.
    pub async fn checkpoint(&self) -> Result<()> {
        if self.backend == Backend::Sqlite {
            sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&self.pool)
                .await
                .context("Cannot checkpoint the SQLite write-ahead log")?;
        }
        Ok(())
    }

    /// Whether the database answers (for health checks).
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The right to read one source (see [`Store::try_lease`]); given up when
/// dropped.
#[derive(Debug)]
pub struct Lease {
    /// The connection that holds the advisory lock (PostgreSQL).
    conn: Option<Conn>,
}

impl Lease {
    /// Whether the lease still holds: its connection answers. A lost
    /// connection has lost the lock, and another instance may hold it now.
    pub async fn holds(&mut self) -> bool {
        match &mut self.conn {
            None => true,
            Some(conn) => sqlx::query("SELECT 1").execute(&mut *conn).await.is_ok(),
        }
    }

    /// Gives the lease up at once (dropping it does too, when the
    /// connection closes).
    pub async fn release(self) {
        if let Some(conn) = self.conn {
            sqlx::Connection::close(conn).await.ok();
        }
    }
}

/// The advisory-lock key of a source: the first eight bytes of the SHA-256
/// of its name, so that every instance with the same config agrees.
fn lease_key(name: &str) -> i64 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("postroom source {name}").as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

/// The file of a `sqlite:` URL (`None` for an in-memory database).
pub(crate) fn sqlite_file(url: &str) -> Option<PathBuf> {
    let path = url
        .trim_start_matches("sqlite:")
        .trim_start_matches("//")
        .split('?')
        .next()
        .unwrap_or("");
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

/// Creates the SQLite file readable by its owner only, before SQLite does so
/// with the process umask.
fn create_private_file(url: &str) -> Result<()> {
    let Some(path) = sqlite_file(url) else {
        return Ok(());
    };
    let path = path.as_path();
    if path.exists() {
        return Ok(());
    }
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("Cannot create the folder {}", parent.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(path)
        .with_context(|| format!("Cannot create the database file {}", path.display()))?;
    Ok(())
}

/// A timestamp as the database stores it: `2026-03-04T09:15:00.000Z`.
pub fn ts(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Timestamps serialised (JSON, CSV) as the database stores them.
pub mod ts_format {
    use chrono::{DateTime, Utc};
    use serde::Serializer;

    pub fn one<S: Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::ts(*at))
    }

    pub fn opt<S: Serializer>(at: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => s.serialize_some(&super::ts(*at)),
            None => s.serialize_none(),
        }
    }
}

pub fn parse_ts(s: &str) -> Result<DateTime<Utc>> {
    Ok(DateTime::parse_from_rfc3339(s)
        .with_context(|| format!("Bad timestamp in the database: {s:?}"))?
        .with_timezone(&Utc))
}

pub fn date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

pub fn parse_date(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .with_context(|| format!("Bad date in the database: {s:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_sort_as_text() {
        let a = ts(DateTime::parse_from_rfc3339("2026-03-04T09:15:00+00:00")
            .unwrap()
            .with_timezone(&Utc));
        let b = ts(DateTime::parse_from_rfc3339("2026-03-04T10:15:00.5+01:00")
            .unwrap()
            .with_timezone(&Utc));
        assert_eq!(a, "2026-03-04T09:15:00.000Z");
        assert_eq!(b, "2026-03-04T09:15:00.500Z");
        assert!(a < b);
        assert_eq!(
            parse_ts(&a).unwrap().to_rfc3339(),
            "2026-03-04T09:15:00+00:00"
        );
    }
}
