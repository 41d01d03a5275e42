//! Waiting for new mail: IDLE where the server offers it (re-issued before
//! the server's timeout), else the poll interval; after a failure, the
//! back-off.

use super::*;

impl Imap {
    /// Waits for new mail: IDLE where the server offers it, else the poll
    /// interval; after a failure, the backoff. Returns early on `stop`.
    pub async fn wait(&mut self, stop: &CancellationToken, poll: Duration) {
        if let Some(at) = self.retry_at {
            let left = at.saturating_duration_since(Instant::now());
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = tokio::time::sleep(left) => {}
            }
            return;
        }
        if !(self.config.idle && self.caps.idle && self.session.is_some()) {
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = tokio::time::sleep(poll) => {}
            }
            return;
        }
        let mut timeout = self.config.idle_timeout;
        if self.config.folders.len() > 1 {
            // IDLE watches one folder; the others are polled.
            timeout = timeout.min(poll);
        }
        if let Some(renew) = self.renew_at {
            let left = (renew - self.clock.now()).to_std().unwrap_or_default();
            timeout = timeout.min(left.max(Duration::from_secs(1)));
        }
        if let Err(e) = self.idle(stop, timeout).await {
            self.failed(&e).await;
        }
    }

    pub(super) async fn idle(&mut self, stop: &CancellationToken, timeout: Duration) -> Result<()> {
        let t = self.t();
        let folder = self.config.folders[0].clone();
        self.select(&folder).await?;
        let session = self.session.take().context("No IMAP session")?;
        self.selected = None;
        let mut handle = session.idle();
        within(t, handle.init()).await?.context("IDLE failed")?;
        let outcome = {
            let (wait, interrupt) = handle.wait_with_timeout(timeout);
            tokio::select! {
                r = wait => Some(r),
                _ = stop.cancelled() => {
                    drop(interrupt);
                    None
                }
            }
        };
        let session = within(t, handle.done())
            .await?
            .context("Ending IDLE failed")?;
        self.session = Some(session);
        match outcome {
            Some(Ok(IdleResponse::NewData(_)))
            | Some(Ok(IdleResponse::Timeout))
            | Some(Ok(IdleResponse::ManualInterrupt))
            | None => Ok(()),
            Some(Err(e)) => Err(anyhow::Error::new(e).context("IDLE failed")),
        }
    }

    /// Logs out (shutdown).
    pub async fn close(&mut self) {
        self.disconnect().await;
    }
}
