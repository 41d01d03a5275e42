//! The places on disk that `run` writes, as the config names them, and the
//! check that they are there and writable: `postroom check` finds a
//! read-only database folder or a missing scans folder before `run` does.

use std::path::{Path, PathBuf};

use super::{Config, ConfigError};

/// What `run` needs of a place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// A folder read, never written (an `eml_dir` kept as it is).
    Read,
    /// A folder postroom writes in (files moved out of it, a Maildir's
    /// `cur/`).
    Write,
    /// A file postroom creates (the SQLite database): its folder must be
    /// there and writable.
    CreateIn,
    /// A folder postroom creates, with its parents, when it is missing (a
    /// `done` folder, the outbox folder).
    CreateAll,
}

/// A place `run` writes or reads, with the config line that names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The key that names it ("database.url", "source \"post-room\" path").
    pub what: String,
    pub path: PathBuf,
    pub line: usize,
    pub need: Need,
}

/// Every place of `config` that `run` could not use, each a problem with
/// the config's file and the line that names it.
pub fn preflight(config: &Config) -> Vec<ConfigError> {
    let file = config
        .file
        .as_ref()
        .map(|f| f.display().to_string())
        .unwrap_or_else(|| "config".into());
    config
        .places
        .iter()
        .filter_map(|place| {
            unusable(place).map(|why| {
                ConfigError::new(
                    file.clone(),
                    place.line,
                    format!("{}: {} {why}", place.what, place.path.display()),
                )
            })
        })
        .collect()
}

/// Why `run` could not use `place`, if it could not.
fn unusable(place: &Place) -> Option<String> {
    let path = &place.path;
    match place.need {
        Need::Read | Need::Write => {
            if !path.is_dir() {
                return Some("is not a folder that exists".into());
            }
            if place.need == Need::Write && !writable(path) {
                return Some("is not writable by this user".into());
            }
            None
        }
        Need::CreateIn => {
            let folder = path.parent().unwrap_or(Path::new("/"));
            if path.exists() {
                return (!writable(path)).then(|| "is not writable by this user".into());
            }
            if !folder.is_dir() {
                return Some(format!(
                    "cannot be created: its folder {} does not exist",
                    folder.display()
                ));
            }
            (!writable(folder)).then(|| {
                format!(
                    "cannot be created: its folder {} is not writable by this user",
                    folder.display()
                )
            })
        }
        Need::CreateAll => {
            let mut existing = path.as_path();
            while !existing.exists() {
                existing = existing.parent()?;
            }
            if !existing.is_dir() {
                return Some(format!(
                    "cannot be created: {} is a file",
                    existing.display()
                ));
            }
            (!writable(existing)).then(|| {
                format!(
                    "cannot be created or written: {} is not writable by this user",
                    existing.display()
                )
            })
        }
    }
}

/// Whether this process may write at `path`: the kernel's answer, which
/// knows about read-only mounts (and about root).
fn writable(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: access reads the NUL-terminated path and nothing else.
    unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(path: &Path, need: Need) -> Place {
        Place {
            what: "x".into(),
            path: path.to_path_buf(),
            line: 1,
            need,
        }
    }

    #[test]
    fn missing_folders_and_files_that_cannot_be_made_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let here = dir.path();
        assert_eq!(unusable(&place(here, Need::Write)), None);
        assert!(
            unusable(&place(&here.join("scans"), Need::Write))
                .unwrap()
                .contains("is not a folder that exists")
        );
        assert_eq!(
            unusable(&place(&here.join("db.sqlite"), Need::CreateIn)),
            None
        );
        assert!(
            unusable(&place(&here.join("no/db.sqlite"), Need::CreateIn))
                .unwrap()
                .contains("does not exist")
        );
        assert_eq!(
            unusable(&place(&here.join("a/b/done"), Need::CreateAll)),
            None
        );
        std::fs::write(here.join("file"), "").unwrap();
        assert!(
            unusable(&place(&here.join("file/done"), Need::CreateAll))
                .unwrap()
                .contains("is a file")
        );
    }
}
