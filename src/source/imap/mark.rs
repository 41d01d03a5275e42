//! After the commit: stored messages marked (a keyword, `\\Seen`) or
//! moved, one IMAP command per folder and batch, and, after a crash between
//! a commit and its mark, marked again.

use super::*;

impl Imap {
    /// Marks again the messages stored but not marked (a crash between the
    /// commit and the mark).
    pub(super) async fn remark(
        &mut self,
        folder: &str,
        last_uid: u32,
        keywords: bool,
    ) -> Result<()> {
        if last_uid == 0 {
            return Ok(());
        }
        let t = self.t();
        let query = match &self.config.mark {
            Mark::Flag { keyword } if keywords => format!("UID 1:{last_uid} UNKEYWORD {keyword}"),
            Mark::Flag { .. } => format!("UID 1:{last_uid} UNSEEN"),
            Mark::Move { .. } => format!("UID 1:{last_uid}"),
        };
        let session = self.session.as_mut().context("No IMAP session")?;
        let found = within(t, session.uid_search(&query))
            .await?
            .context("UID SEARCH failed")?;
        let mut uids: Vec<u32> = found.into_iter().filter(|u| *u <= last_uid).collect();
        if uids.is_empty() {
            return Ok(());
        }
        uids.sort_unstable();
        uids.truncate(REMARK_BATCH);
        info!(source = %self.name, folder, messages = uids.len(), "Marking stored messages the server does not show as stored yet.");
        self.mark(folder, &uids, keywords).await
    }

    /// A NOOP on the open connection, if there is one, under at most
    /// [`KEEPALIVE_TIMEOUT`]: a server that has gone is noticed while a
    /// long batch is being read. An error drops the connection.
    pub async fn keepalive(&mut self) -> Result<()> {
        let t = self.t().min(KEEPALIVE_TIMEOUT);
        let Some(session) = self.session.as_mut() else {
            return Ok(());
        };
        let result = match within(t, session.noop()).await {
            Ok(r) => r.context("NOOP failed"),
            Err(e) => Err(e),
        };
        if let Err(e) = &result {
            self.failed(e).await;
        }
        result
    }

    /// Applies the source-side effect of stored messages: one command per
    /// folder for the lot.
    pub async fn settle(&mut self, checkpoints: &[&Checkpoint]) -> Result<()> {
        let mut by_folder: Vec<(&str, Vec<u32>)> = Vec::new();
        for c in checkpoints {
            let Checkpoint::Imap { folder, uid, .. } = c else {
                continue;
            };
            match by_folder.iter_mut().find(|(f, _)| f == folder) {
                Some((_, uids)) => uids.push(*uid),
                None => by_folder.push((folder, vec![*uid])),
            }
        }
        let result = async {
            for (folder, uids) in &by_folder {
                let keywords = self.select(folder).await?;
                self.mark(folder, uids, keywords).await?;
            }
            Ok(())
        }
        .await;
        if let Err(e) = &result {
            // Not lost: the next round marks it (see `remark`).
            self.failed(e).await;
        }
        result
    }

    /// The only place that changes the mailbox: flag or move stored mail.
    pub(super) async fn mark(&mut self, folder: &str, uids: &[u32], keywords: bool) -> Result<()> {
        let t = self.t();
        let set = uid_set(uids);
        let caps = self.caps;
        let mark = self.config.mark.clone();
        let session = self.session.as_mut().context("No IMAP session")?;
        match mark {
            Mark::Flag { keyword } => {
                let flags = if keywords {
                    format!("+FLAGS.SILENT (\\Seen {keyword})")
                } else {
                    "+FLAGS.SILENT (\\Seen)".to_string()
                };
                within(t, async {
                    session
                        .uid_store(&set, &flags)
                        .await?
                        .try_collect::<Vec<_>>()
                        .await
                })
                .await?
                .with_context(|| format!("Cannot flag messages in {folder}"))?;
            }
            Mark::Move { to } => {
                if caps.moves {
                    within(t, session.uid_mv(&set, &to))
                        .await?
                        .with_context(|| format!("Cannot move messages to {to}"))?;
                } else {
                    within(t, session.uid_copy(&set, &to))
                        .await?
                        .with_context(|| format!("Cannot copy messages to {to}"))?;
                    within(t, async {
                        session
                            .uid_store(&set, "+FLAGS.SILENT (\\Deleted)")
                            .await?
                            .try_collect::<Vec<_>>()
                            .await
                    })
                    .await?
                    .context("Cannot flag copied messages \\Deleted")?;
                    if caps.uidplus {
                        within(t, async {
                            session
                                .uid_expunge(&set)
                                .await?
                                .try_collect::<Vec<_>>()
                                .await
                        })
                        .await?
                        .context("UID EXPUNGE failed")?;
                    } else {
                        bail!(
                            "The server has neither MOVE nor UIDPLUS; mark = \"move\" needs one of them"
                        );
                    }
                }
            }
        }
        Ok(())
    }
}
