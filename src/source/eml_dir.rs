//! A folder of `.eml` files (one RFC 5322 message each), read in file-name
//! order. By default the files stay where they are and the checkpoint
//! remembers them; with `after = "move"` each stored file is moved to the
//! `done` folder.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::{Checkpoint, Incoming, read_files};
use crate::message::Origin;
use crate::store::{Store, checkpoints};

#[derive(Debug)]
pub struct EmlDir {
    pub name: String,
    dir: PathBuf,
    done: Option<PathBuf>,
}

impl EmlDir {
    pub fn new(name: &str, dir: &Path, done: Option<PathBuf>) -> EmlDir {
        EmlDir {
            name: name.to_string(),
            dir: dir.to_path_buf(),
            done,
        }
    }

    pub async fn fetch(&mut self, store: &Store, max: usize) -> Result<Vec<Incoming>> {
        let stored = checkpoints::stored_names(&mut *store.conn().await?, &self.name).await?;
        let mut entries = tokio::fs::read_dir(&self.dir)
            .await
            .with_context(|| format!("Cannot read the folder {}", self.dir.display()))?;
        let mut found = Vec::new();
        while let Some(entry) = entries.next_entry().await? {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_eml = path
                .extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("eml"));
            if !is_eml || !entry.file_type().await?.is_file() {
                continue;
            }
            if stored.contains(&name) {
                if self.done.is_some() {
                    self.settle(&Checkpoint::File { name, path }).await?;
                }
                continue;
            }
            found.push((name, path));
        }
        read_files(&self.name, found, max, Origin::Email).await
    }

    pub async fn settle(&mut self, checkpoint: &Checkpoint) -> Result<()> {
        let Some(done) = &self.done else {
            return Ok(());
        };
        let Checkpoint::File { name, path } = checkpoint else {
            return Ok(());
        };
        tokio::fs::create_dir_all(done)
            .await
            .with_context(|| format!("Cannot create {}", done.display()))?;
        match tokio::fs::rename(path, done.join(name)).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e)
                .with_context(|| format!("Cannot move {} to {}", path.display(), done.display())),
        }
    }
}
