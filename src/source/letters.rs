//! A folder where the post room's scanner drops paper letters: PDFs and
//! images (PNG, JPEG, TIFF). Each file becomes a message of origin
//! `letter`, read by OCR when it has no text layer, and is moved to the
//! `done` folder once it is stored. Files of other kinds are left where they
//! are and named in the log, so a person can see what the scanner dropped.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use tracing::warn;

use super::{Checkpoint, Incoming, read_files};
use crate::message::Origin;
use crate::store::{Store, checkpoints};

/// File name endings the scanner's files have.
pub const EXTENSIONS: &[&str] = &["pdf", "png", "jpg", "jpeg", "tif", "tiff"];

#[derive(Debug)]
pub struct Letters {
    pub name: String,
    dir: PathBuf,
    done: PathBuf,
}

impl Letters {
    pub fn new(name: &str, dir: &Path, done: &Path) -> Letters {
        Letters {
            name: name.to_string(),
            dir: dir.to_path_buf(),
            done: done.to_path_buf(),
        }
    }

    pub async fn fetch(&mut self, store: &Store, max: usize) -> Result<Vec<Incoming>> {
        let stored = checkpoints::stored_names(&mut *store.conn().await?, &self.name).await?;
        let mut entries = tokio::fs::read_dir(&self.dir)
            .await
            .with_context(|| format!("Cannot read the letters folder {}", self.dir.display()))?;
        let mut found = Vec::new();
        while let Some(entry) = entries.next_entry().await? {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || !entry.file_type().await?.is_file() {
                continue;
            }
            let ext = path
                .extension()
                .and_then(|x| x.to_str())
                .unwrap_or("")
                .to_ascii_lowercase();
            if !EXTENSIONS.contains(&ext.as_str()) {
                warn!(source = %self.name, file = %name, "Not a letter scan (PDF or image); left in the folder.");
                continue;
            }
            if stored.contains(&name) {
                self.settle(&Checkpoint::File { name, path }).await?;
                continue;
            }
            found.push((name, path));
        }
        read_files(&self.name, found, max, Origin::Letter).await
    }

    pub async fn settle(&mut self, checkpoint: &Checkpoint) -> Result<()> {
        let Checkpoint::File { name, path } = checkpoint else {
            return Ok(());
        };
        tokio::fs::create_dir_all(&self.done)
            .await
            .with_context(|| format!("Cannot create {}", self.done.display()))?;
        match tokio::fs::rename(path, self.done.join(name)).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e).with_context(|| {
                format!("Cannot move {} to {}", path.display(), self.done.display())
            }),
        }
    }
}
