//! Retention: records kept no longer than the council's policy says
//! (`[retention]`), as UK GDPR Art 5(1)(e) requires.
//!
//! - A case answered or closed more than `closed_cases` ago goes with its
//!   messages (raw bytes, extracted text, attachments), events, deadlines
//!   and mail. One anonymous row stays in `case_statistics` (dates, kind,
//!   category, SEND topic, MP and constituency, chaser count; no reference,
//!   correspondent, subject or text), so reports over past years still add
//!   up. A case on hold (`postroom cases hold`) is never deleted.
//! - Messages on no case (automatic replies, bounces, junk) go
//!   `unfiled_messages` after they were stored.
//! - Postroom's own mail on no case (digests, alerts) goes `sent_mail`
//!   after it was sent.
//!
//! The daemon runs it once a day at `retention.at` (claimed in the
//! database, so once whatever instances there are); `postroom retention
//! run [--dry-run]` runs it now. Each case goes in its own transaction:
//! a run stopped part-way leaves every case whole or gone. Every run is
//! recorded in `retention_runs` with its counts.

use anyhow::Result;
use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use tracing::info;

use crate::app::App;
use crate::config::Keep;
use crate::store::retention::{self as store, Counts};

/// What a run did (or, dry, would do).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Summary {
    pub dry_run: bool,
    pub counts: Counts,
    /// The cases deleted (or to be deleted), by reference.
    pub cases: Vec<String>,
    pub closed_before: Option<NaiveDate>,
    pub unfiled_before: Option<NaiveDate>,
    pub sent_before: Option<NaiveDate>,
}

const BATCH: i64 = 200;

/// The start of `day` in the council's time zone.
fn start_of(app: &App, day: NaiveDate) -> DateTime<Utc> {
    app.config
        .council
        .timezone
        .from_local_datetime(&day.and_time(NaiveTime::MIN))
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| day.and_time(NaiveTime::MIN).and_utc())
}

/// Runs the policy now; with `dry_run`, only counts.
pub async fn run(app: &App, dry_run: bool, actor: &str) -> Result<Summary> {
    let now = app.clock.now();
    let today = app.calendar().local_date(now);
    let run = {
        let mut conn = app.store.conn().await?;
        store::start_run(&mut conn, today, actor, dry_run, now).await?
    };
    apply(app, run, dry_run).await
}

/// The daily run, once the local time is past `retention.at`; `None` when
/// it is not due or another instance has done it today.
pub async fn run_due(app: &App) -> Result<Option<Summary>> {
    let now = app.clock.now();
    let local = now.with_timezone(&app.config.council.timezone);
    if local.time() < app.config.retention.at {
        return Ok(None);
    }
    let run = {
        let mut conn = app.store.conn().await?;
        store::claim_daily(&mut conn, local.date_naive(), now).await?
    };
    match run {
        Some(run) => Ok(Some(apply(app, run, false).await?)),
        None => Ok(None),
    }
}

// Long: a retention run deletes each class of record in turn, counting as it
// goes, within the run's claim.
async fn apply(app: &App, run: i64, dry_run: bool) -> Result<Summary> {
    let policy = app.config.retention;
    let now = app.clock.now();
    let today = app.calendar().local_date(now);
    let cutoff = |k: Keep| k.cutoff(today);
    let mut summary = Summary {
        dry_run,
        closed_before: cutoff(policy.closed_cases),
        unfiled_before: cutoff(policy.unfiled_messages),
        sent_before: cutoff(policy.sent_mail),
        ..Summary::default()
    };

    if let Some(day) = summary.closed_before {
        let before = start_of(app, day);
        if dry_run {
            let mut conn = app.store.conn().await?;
            let due = store::due_cases(&mut conn, before, i64::MAX).await?;
            let ids: Vec<i64> = due.iter().map(|(id, _)| *id).collect();
            summary.counts.messages = store::count_messages_of(&mut conn, &ids).await?;
            summary.counts.cases = due.len() as u64;
            summary.cases = due.into_iter().map(|(_, r)| r).collect();
        } else {
            loop {
                let due = {
                    let mut conn = app.store.conn().await?;
                    store::due_cases(&mut conn, before, BATCH).await?
                };
                if due.is_empty() {
                    break;
                }
                for (id, reference) in due {
                    let mut tx = app.store.begin().await?;
                    summary.counts.messages += store::retire_case(&mut tx, id, now).await?;
                    tx.commit().await?;
                    summary.counts.cases += 1;
                    summary.cases.push(reference);
                }
            }
        }
    }

    if let Some(day) = summary.unfiled_before {
        let before = start_of(app, day);
        if dry_run {
            let mut conn = app.store.conn().await?;
            summary.counts.unfiled_messages =
                store::due_unfiled(&mut conn, before, i64::MAX).await?.len() as u64;
        } else {
            loop {
                let mut tx = app.store.begin().await?;
                let due = store::due_unfiled(&mut tx, before, BATCH).await?;
                if due.is_empty() {
                    break;
                }
                for id in &due {
                    store::delete_message(&mut tx, *id, now).await?;
                }
                tx.commit().await?;
                summary.counts.unfiled_messages += due.len() as u64;
            }
        }
    }

    if let Some(day) = summary.sent_before {
        let mut tx = app.store.begin().await?;
        summary.counts.sent_mail = store::sent_mail(&mut tx, start_of(app, day), !dry_run).await?;
        tx.commit().await?;
    }

    let mut conn = app.store.conn().await?;
    store::finish_run(&mut conn, run, &summary.counts, app.clock.now()).await?;
    let c = summary.counts;
    if !dry_run {
        app.metrics.retention_deleted("case", c.cases);
        app.metrics
            .retention_deleted("message", c.messages + c.unfiled_messages);
        app.metrics.retention_deleted("sent_mail", c.sent_mail);
    }
    info!(
        dry_run,
        cases = c.cases,
        messages = c.messages,
        unfiled_messages = c.unfiled_messages,
        sent_mail = c.sent_mail,
        "Retention run finished."
    );
    Ok(summary)
}
