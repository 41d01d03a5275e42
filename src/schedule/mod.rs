//! What runs by the clock, beside the flow of mail: reminders of
//! deadlines (`remind.rs`), managers' digests (`digest.rs`), the daily
//! retention run (`retention.rs`), and the stall watchdog with the poll
//! records it reads (`health.rs`).
//!
//! [`schedule_once`] is the scheduler's one step, run every
//! [`SCHEDULE_TICK`] by the daemon and directly by `run --once` and the
//! tests; each piece claims its work in the database, so a restart or a
//! second instance never repeats a reminder, a digest or a run.

pub mod digest;
pub mod health;
pub mod remind;
pub mod retention;

use std::time::Duration;

use anyhow::Result;
use tracing::info;

use crate::app::App;

/// How often the schedule (reminders, digests) is looked at.
pub const SCHEDULE_TICK: Duration = Duration::from_secs(60);

/// What one round of the schedule queued.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Scheduled {
    pub reminders: remind::Totals,
    pub digests: usize,
    /// The daily retention run, when it ran this round.
    pub retention: Option<crate::store::retention::Counts>,
}

/// One round of the clock-driven work: a changed bank-holiday feed picked
/// up, reminders and digests that are due queued. Every path reads the
/// app's clock, so tests run a month of it in seconds.
pub async fn schedule_once(app: &App) -> Result<Scheduled> {
    if app.refresh_calendar().await? {
        // Cases opened on the old calendar since the new feed was stored
        // (by `postroom calendar update` in another process) move too.
        let moved =
            crate::casework::clocks::redate_for_calendar(app, "postroom", app.clock.now()).await?;
        info!(
            moved = moved.len(),
            "The bank-holiday calendar was updated."
        );
    }
    Ok(Scheduled {
        reminders: remind::run_due(app).await?,
        digests: digest::run_due(app).await?,
        retention: retention::run_due(app).await?.map(|s| s.counts),
    })
}
