//! A Maildir folder (`new/`, `cur/`, `tmp/`), as an MTA such as Postfix or
//! Dovecot's LDA delivers it.
//!
//! Every file in `new/` and `cur/` that the checkpoint does not know is read,
//! whatever its flags (a person opening the mailbox in a mail client must not
//! make postroom skip a message). A stored message is moved from `new/` to
//! `cur/` with the Seen flag (`:2,S`), as a mail client would.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::{Checkpoint, Incoming, read_files};
use crate::message::Origin;
use crate::store::{Store, checkpoints};

#[derive(Debug)]
pub struct Maildir {
    pub name: String,
    root: PathBuf,
}

impl Maildir {
    pub fn new(name: &str, root: &Path) -> Maildir {
        Maildir {
            name: name.to_string(),
            root: root.to_path_buf(),
        }
    }

    pub async fn fetch(&mut self, store: &Store, max: usize) -> Result<Vec<Incoming>> {
        let stored = checkpoints::stored_names(&mut *store.conn().await?, &self.name).await?;
        let mut found = Vec::new();
        for sub in ["new", "cur"] {
            let dir = self.root.join(sub);
            let mut entries = match tokio::fs::read_dir(&dir).await {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => {
                    return Err(e).with_context(|| {
                        format!("Cannot read the Maildir folder {}", dir.display())
                    });
                }
            };
            while let Some(entry) = entries.next_entry().await? {
                let file_name = entry.file_name().to_string_lossy().into_owned();
                if file_name.starts_with('.') {
                    continue;
                }
                let unique = unique_name(&file_name).to_string();
                if stored.contains(&unique) {
                    // Stored already; only the move to cur/ may be missing.
                    if sub == "new" {
                        self.settle(&Checkpoint::File {
                            name: unique,
                            path: entry.path(),
                        })
                        .await?;
                    }
                    continue;
                }
                found.push((unique, entry.path()));
            }
        }
        // Maildir names start with the delivery time: sorted, they are
        // oldest first.
        read_files(&self.name, found, max, Origin::Email).await
    }

    pub async fn settle(&mut self, checkpoint: &Checkpoint) -> Result<()> {
        let Checkpoint::File { name, path } = checkpoint else {
            return Ok(());
        };
        let flags = path
            .file_name()
            .and_then(|f| f.to_str())
            .and_then(|f| f.split_once(":2,"))
            .map(|(_, flags)| flags.to_string())
            .unwrap_or_default();
        if flags.contains('S') && path.parent().is_some_and(|p| p.ends_with("cur")) {
            return Ok(());
        }
        let mut flags: Vec<char> = flags.chars().chain(['S']).collect();
        flags.sort();
        flags.dedup();
        let target = self.root.join("cur").join(format!(
            "{name}:2,{}",
            flags.into_iter().collect::<String>()
        ));
        tokio::fs::create_dir_all(self.root.join("cur")).await?;
        match tokio::fs::rename(path, &target).await {
            Ok(()) => Ok(()),
            // Moved already (by us before a crash, or by a mail client).
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e).with_context(|| format!("Cannot move {} to cur/", path.display())),
        }
    }
}

/// The part of a Maildir file name that stays the same when flags change.
fn unique_name(file_name: &str) -> &str {
    file_name
        .split_once(":2,")
        .map(|(u, _)| u)
        .unwrap_or(file_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_not_part_of_the_name() {
        assert_eq!(
            unique_name("1700000000.M1P2.host:2,RS"),
            "1700000000.M1P2.host"
        );
        assert_eq!(unique_name("1700000000.M1P2.host"), "1700000000.M1P2.host");
    }
}
