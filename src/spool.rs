//! Where attachments and OCR pages are written while a message is read:
//! a folder of this process's own under postroom's data folder, never the
//! shared /tmp. Each process that reads mail has `<spool>/<pid>.<random>`;
//! the daemon, when it starts, removes the folders of processes that are
//! no longer running (a kill -9 leaves its files behind), so nothing
//! accumulates however postroom ends.
//!
//! Until [`init`] is called (the commands that read a message or two, the
//! tests), the system's temporary folder is used.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{Context, Result};
use tracing::info;

static OWN: OnceLock<PathBuf> = OnceLock::new();

/// The folder this process writes its temporary files in (made again if
/// something removed it meanwhile).
pub fn dir() -> PathBuf {
    match OWN.get() {
        Some(own) => {
            if !own.is_dir() {
                let _ = create_private(own);
            }
            own.clone()
        }
        None => std::env::temp_dir(),
    }
}

/// Makes `base` (mode 0700) this process's spool: removes what dead
/// processes left in it and creates this process's own folder. Returns how
/// many leftover folders were removed.
pub fn init(base: &Path) -> Result<usize> {
    create_private(base)?;
    let removed = sweep(base)?;
    if removed > 0 {
        info!(
            removed,
            spool = %base.display(),
            "Removed temporary files left by a postroom that did not stop cleanly."
        );
    }
    let own = base.join(format!(
        "{}.{:08x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    create_private(&own)?;
    // A second init (tests start several apps in one process) keeps the
    // first folder.
    let _ = OWN.set(own);
    Ok(removed)
}

/// Removes this process's own folder (a clean stop).
pub fn remove_own() {
    if let Some(own) = OWN.get() {
        let _ = std::fs::remove_dir_all(own);
    }
}

/// Removes every `<pid>.<random>` folder in `base` whose process has gone.
fn sweep(base: &Path) -> Result<usize> {
    let mut removed = 0;
    let entries =
        std::fs::read_dir(base).with_context(|| format!("Cannot read {}", base.display()))?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.split_once('.'))
            .and_then(|(pid, _)| pid.parse::<i32>().ok())
        else {
            continue;
        };
        if pid == std::process::id() as i32 || alive(pid) {
            continue;
        }
        if std::fs::remove_dir_all(entry.path()).is_ok() {
            removed += 1;
        }
    }
    Ok(removed)
}

/// Whether a process `pid` exists (signal 0 checks without sending).
fn alive(pid: i32) -> bool {
    // SAFETY: kill with signal 0 sends nothing.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

fn create_private(path: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .with_context(|| format!("Cannot create the spool folder {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_of_dead_processes_are_swept_and_living_ones_kept() {
        let base = tempfile::tempdir().unwrap();
        // A pid that cannot exist (above pid_max) and our own parent's.
        let dead = base.path().join("999999999.0000abcd");
        let living = base
            .path()
            .join(format!("{}.0000beef", std::os::unix::process::parent_id()));
        let other = base.path().join("not-a-spool");
        for d in [&dead, &living, &other] {
            std::fs::create_dir_all(d).unwrap();
            std::fs::write(d.join("part"), b"x").unwrap();
        }
        assert_eq!(sweep(base.path()).unwrap(), 1);
        assert!(!dead.exists());
        assert!(living.exists() && other.exists());
    }
}
