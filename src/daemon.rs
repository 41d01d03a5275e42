//! The supervisor: one task per source, one delivery worker, and the signal
//! handling that stops and reloads them.
//!
//! Every loop is a public one-step function ([`poll_source`],
//! `Worker::deliver_all_due`) plus "wait or be interrupted"; `run --once` and
//! the tests call the steps directly. Shutdown is a [`CancellationToken`]: a
//! source finishes the message in hand and stops, the worker finishes the
//! send in hand; after `daemon.shutdown_timeout` whatever is left is aborted
//! (an aborted send is retried after restart: the outbox claim runs out).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, error, info, warn};

use crate::app::App;
use crate::ingest::Outcome;
use crate::outbox::{Transport, Worker};
use crate::schedule::{health, schedule_once};
use crate::source::Source;

mod poll;
pub use poll::{BATCH_BYTES, CHUNK_TIME, KEEPALIVE, poll_source};

/// How often an instance standing by asks for a source's lease: the
/// longest a source goes unread after the instance reading it dies.
pub const LEASE_RETRY: Duration = Duration::from_secs(2);
/// How soon a stage that failed tries again.
pub const FAULT_RETRY: Duration = Duration::from_secs(5);

/// The one place a step's failure is handled: it becomes (or stays) the
/// stage's current fault in [`App::faults`], which `/readyz` and `postroom
/// status` report, and is logged when it starts or its reason changes, not
/// at every retry; a success clears it, and says so. A failure to write
/// the database at all (disk full, read-only, server gone) is named as
/// such. The connection of a transaction that could not end is already
/// discarded by the store. Returns whether the step failed.
fn report<T>(app: &App, stage: &str, result: &Result<T>, failed: &str) -> bool {
    use crate::faults::Change;
    let now = app.clock.now();
    match result {
        Ok(_) => {
            if let Change::Cleared(f) = app.faults.succeeded(stage) {
                info!(stage, since = %f.since, "Working again: the fault has cleared.");
            }
            false
        }
        Err(e) => {
            let detail = format!("{e:#}");
            let storage = crate::store::fault::write_fault(e);
            let why = match storage {
                Some(fault) => format!("{fault}: {detail}"),
                None => detail,
            };
            match app.faults.failed(stage, now, &why, storage.is_some()) {
                Change::Started | Change::Changed => match storage {
                    Some(_) => {
                        error!(stage, error = %why, "{failed} The database cannot be written: this stage takes no work until it can.")
                    }
                    None => error!(stage, error = %why, "{failed}"),
                },
                _ => debug!(stage, error = %why, "{failed}"),
            }
            true
        }
    }
}

/// Builds the delivery worker the config asks for.
pub fn worker(app: &App) -> Result<Worker> {
    let transport = Transport::from_config(&app.config.delivery.transport, app.tokens.as_ref())?;
    Ok(Worker::new(
        app.store.clone(),
        transport,
        app.clock.clone(),
        app.config.delivery.retry_for,
        app.config.delivery.max_attempts,
        app.instance.clone(),
    )
    .with_metrics(app.metrics.clone())
    .with_webhook(
        app.config
            .webhook
            .clone()
            .map(crate::outbox::webhook::Sender::new)
            .transpose()?,
    ))
}

/// With SQLite, makes sure this is the only postroom on the database and
/// takes back what a process that died left claimed. The lock lasts as long
/// as the returned file.
async fn single_instance(app: &App) -> Result<Option<std::fs::File>> {
    let lock = app.store.lock_single_instance()?;
    // Temporary files under postroom's own folder; what a killed run left
    // there goes now.
    crate::spool::init(&app.config.spool)?;
    if lock.is_some() {
        let mut conn = app.store.conn().await?;
        let released = crate::store::outbox::release_claims(&mut conn).await?;
        if released > 0 {
            warn!(
                released,
                "Mail claimed by a postroom that stopped without finishing; it will be sent now."
            );
        }
    }
    Ok(lock)
}

/// One pass: every source drained, then every due mail sent.
pub async fn run_once(app: &App) -> Result<(Vec<Outcome>, crate::outbox::Totals)> {
    let _lock = single_instance(app).await?;
    let stop = CancellationToken::new();
    let ready = Notify::new();
    let mut outcomes = Vec::new();
    for config in &app.config.sources {
        let mut source = Source::from_config(config, app);
        let polled = poll_source(app, &mut source, &stop, &ready).await;
        source.close().await;
        match polled {
            Ok(o) => {
                health::poll_ok(app, &config.name).await?;
                outcomes.extend(o);
            }
            Err(e) => {
                health::poll_failed(app, &config.name, &e).await?;
                return Err(e);
            }
        }
    }
    // Mail first (acknowledgements met their deadlines), then what the
    // schedule queues, then that mail.
    let worker = worker(app)?;
    let mut totals = worker.deliver_all_due().await?;
    schedule_once(app).await?;
    totals += worker.deliver_all_due().await?;
    worker.close().await;
    Ok((outcomes, totals))
}

/// Runs until `stop` is cancelled: spawn every long-lived loop, wait for
/// the stop, drain the loops (each finishes what it has in hand), close.
pub async fn run(app: Arc<App>, stop: CancellationToken) -> Result<()> {
    let _lock = single_instance(&app).await?;
    let mut servers = crate::web::serve(app.clone(), stop.clone()).await?;
    if let Some(addr) = app.config.http {
        servers.push(crate::http::serve(app.clone(), addr, stop.clone()).await?);
    }
    let tracker = spawn(&app, &stop)?;
    let _ = sd_notify::notify(
        false,
        &[
            sd_notify::NotifyState::Ready,
            sd_notify::NotifyState::Status("reading mail"),
        ],
    );
    stop.cancelled().await;
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Stopping]);
    info!("Shutting down.");
    drain(&app, tracker).await;
    close(&app, servers).await;
    Ok(())
}

/// Starts the loops: one per source, the heartbeat, the stall watchdog,
/// the schedule, the delivery worker and, under systemd, its watchdog.
/// They share `ready`, which wakes the delivery worker when mail is queued.
fn spawn(app: &Arc<App>, stop: &CancellationToken) -> Result<TaskTracker> {
    let tracker = TaskTracker::new();
    let ready = Arc::new(Notify::new());
    for config in app.config.sources.clone() {
        tracker.spawn(source_loop(
            app.clone(),
            config,
            stop.clone(),
            ready.clone(),
        ));
    }
    tracker.spawn(heartbeat_loop(app.clone(), stop.clone()));
    tracker.spawn(watchdog_loop(app.clone(), stop.clone(), ready.clone()));
    tracker.spawn(schedule_loop(app.clone(), stop.clone(), ready.clone()));
    let worker = worker(app)?;
    tracker.spawn(delivery_loop(app.clone(), worker, stop.clone(), ready));
    // systemd (Type=notify): a watchdog ping while the database answers,
    // at half the interval systemd asked for.
    let mut usec = 0;
    if sd_notify::watchdog_enabled(false, &mut usec) && usec > 0 {
        let every = Duration::from_micros(usec / 2);
        tracker.spawn(systemd_watchdog_loop(app.clone(), stop.clone(), every));
    }
    tracker.close();
    Ok(tracker)
}

/// Waits up to `daemon.shutdown_timeout` for the loops to finish what they
/// have in hand; whatever is left is aborted (an aborted send is retried
/// after restart: the outbox claim runs out).
async fn drain(app: &App, tracker: TaskTracker) {
    if tokio::time::timeout(app.config.shutdown_timeout, tracker.wait())
        .await
        .is_err()
    {
        warn!("Tasks still running after the shutdown timeout; stopping them.");
    }
}

/// Stops the endpoint and the workspace, records that this instance
/// stopped and closes the database.
async fn close(app: &App, servers: Vec<tokio::task::JoinHandle<()>>) {
    for server in servers {
        let _ = tokio::time::timeout(Duration::from_secs(2), server).await;
    }
    if let Ok(mut conn) = app.store.conn().await
        && let Err(e) =
            crate::store::outbox::instance_stopped(&mut conn, &app.instance, app.clock.now()).await
    {
        warn!(
            error = format!("{e:#}"),
            "Cannot record that this instance stopped."
        );
    }
    app.store.close().await;
}

/// One source, read while this instance holds its lease: poll
/// ([`poll_source`]), record the result for the watchdog, wait for new
/// mail or the next poll.
async fn source_loop(
    app: Arc<App>,
    config: crate::config::SourceConfig,
    stop: CancellationToken,
    ready: Arc<Notify>,
) {
    let mut source = Source::from_config(&config, &app);
    info!(source = %config.name, "Source started.");
    let mut lease = Leased::default();
    loop {
        let stage = format!("source {}", config.name);
        // A lease refused is a fault of the source; a lease granted says
        // nothing yet about reading it.
        let held = match lease.hold(&app, &config.name).await {
            Ok(held) => held,
            Err(e) => {
                let failed: Result<()> = Err(e);
                report(
                    &app,
                    &stage,
                    &failed,
                    "Cannot ask for the source's lease; will retry.",
                );
                false
            }
        };
        if !held {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tokio::time::sleep(LEASE_RETRY) => {}
            }
            continue;
        }
        let polled = match poll_source(&app, &mut source, &stop, &ready).await {
            Ok(outcomes) => health::poll_ok(&app, &config.name).await.map(|()| outcomes),
            Err(e) => Err(e),
        };
        match &polled {
            Ok(outcomes) if !outcomes.is_empty() => {
                info!(source = %config.name, stored = outcomes.len(), "Poll done.")
            }
            Ok(_) => {}
            Err(e) => {
                if let Err(not_recorded) = health::poll_failed(&app, &config.name, e).await {
                    debug!(source = %config.name, error = format!("{not_recorded:#}"), "Cannot record the failed poll.");
                }
            }
        }
        let faulted = report(&app, &stage, &polled, "Poll failed; will retry.");
        if stop.is_cancelled() {
            break;
        }
        // Polled at least three times per stall_alert, so that a quiet
        // source is never taken for a stalled one.
        // After a failure, tried again within FAULT_RETRY: work resumes
        // soon after the fault clears.
        let mut interval = app.config.poll_interval.min(app.config.stall_alert / 3);
        if faulted {
            interval = interval.min(FAULT_RETRY);
        }
        source.wait(&stop, interval).await;
        if stop.is_cancelled() {
            break;
        }
    }
    source.close().await;
    if let Some(l) = lease.lease {
        l.release().await;
    }
    info!(source = %config.name, "Source stopped.");
}

/// A source's lease as one instance sees it: one instance reads a source
/// at a time; the others stand by.
#[derive(Default)]
struct Leased {
    lease: Option<crate::store::Lease>,
    standing_by: bool,
}

impl Leased {
    /// Whether this instance holds the lease now, asking for it when it
    /// does not (and saying so in the log when that changes).
    async fn hold(&mut self, app: &App, source: &str) -> Result<bool> {
        if let Some(l) = self.lease.as_mut()
            && l.holds().await
        {
            return Ok(true);
        }
        if self.lease.take().is_some() {
            warn!(source = %source, "Lost the lease on this source; another instance may read it now.");
        }
        match app.store.try_lease(source).await? {
            Some(l) => {
                if self.standing_by {
                    info!(source = %source, "This instance reads the source now (taken over).");
                }
                self.lease = Some(l);
                self.standing_by = false;
                Ok(true)
            }
            None => {
                if !self.standing_by {
                    info!(source = %source, "Another instance reads this source; standing by.");
                    self.standing_by = true;
                }
                Ok(false)
            }
        }
    }
}

/// Alive: other instances take over this one's claimed mail when it stops
/// saying so.
async fn heartbeat_loop(app: Arc<App>, stop: CancellationToken) {
    loop {
        let beat = async {
            // Keeps SQLite's log short; a failure (a full disk) shows in
            // the heartbeat's own write just after.
            if let Err(e) = app.store.checkpoint().await {
                tracing::debug!(error = %e, "No checkpoint this time.");
            }
            let mut conn = app.store.conn().await?;
            crate::store::outbox::heartbeat(&mut conn, &app.instance, app.clock.now()).await
        };
        report(
            &app,
            "heartbeat",
            &beat.await,
            "Cannot record that this instance is alive; will retry.",
        );
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(crate::outbox::HEARTBEAT) => {}
        }
    }
}

/// The stall watchdog ([`health::watch`]): never silent about a source
/// that stopped.
async fn watchdog_loop(app: Arc<App>, stop: CancellationToken, ready: Arc<Notify>) {
    let started = app.clock.now();
    let tick =
        (app.config.stall_alert / 10).clamp(Duration::from_millis(100), Duration::from_secs(30));
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(tick) => {}
        }
        let watched = health::watch(&app, started).await;
        if report(
            &app,
            "watchdog",
            &watched,
            "The stall watchdog failed; will retry.",
        ) {
            continue;
        }
        if watched.is_ok_and(|alerted| !alerted.is_empty()) {
            ready.notify_one();
        }
    }
}

/// The schedule ([`schedule_once`]) every [`SCHEDULE_TICK`](crate::schedule::SCHEDULE_TICK): calendar
/// updates, reminders, digests, retention.
async fn schedule_loop(app: Arc<App>, stop: CancellationToken, ready: Arc<Notify>) {
    loop {
        let done = schedule_once(&app).await;
        let faulted = report(
            &app,
            "schedule",
            &done,
            "Reminders or digests failed; will retry.",
        );
        if done.is_ok_and(|s| s.reminders.mails > 0 || s.digests > 0) {
            ready.notify_one();
        }
        let tick = if faulted {
            FAULT_RETRY
        } else {
            crate::schedule::SCHEDULE_TICK
        };
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(tick) => {}
        }
    }
}

/// The delivery worker (`Worker::deliver_one`): everything due, one mail
/// at a time, so that a stop waits only for the send in hand; then wait to
/// be woken by new mail.
async fn delivery_loop(app: Arc<App>, worker: Worker, stop: CancellationToken, ready: Arc<Notify>) {
    loop {
        let mut faulted = false;
        while !stop.is_cancelled() {
            let done = worker.deliver_one().await;
            faulted = report(&app, "delivery", &done, "Delivery failed; will retry.");
            if !matches!(done, Ok(Some(_))) {
                break;
            }
        }
        let idle = if faulted {
            FAULT_RETRY
        } else {
            Duration::from_secs(15)
        };
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = ready.notified() => {}
            // Nothing new for a while: end the SMTP session rather than
            // leave it for the server to time out.
            _ = tokio::time::sleep(idle) => worker.close().await,
        }
    }
    worker.close().await;
    let unrecorded = worker.unrecorded().await;
    if unrecorded > 0 {
        warn!(
            unrecorded,
            "Mail was sent that the database could not record as sent: it goes out again after \
             the restart, with the same Message-ID."
        );
    }
    info!("Delivery worker stopped.");
}

/// Feeds systemd's watchdog every `every` while the database answers.
async fn systemd_watchdog_loop(app: Arc<App>, stop: CancellationToken, every: Duration) {
    loop {
        if app.store.ping().await {
            let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Watchdog]);
        } else {
            warn!("The database does not answer; the systemd watchdog is not fed.");
        }
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(every) => {}
        }
    }
}

/// Cancels `stop` on SIGTERM or SIGINT, and reloads rules, the MP
/// directory and the templates on SIGHUP.
pub fn handle_signals(app: Arc<App>, stop: CancellationToken) -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = term.recv() => { info!("SIGTERM received."); stop.cancel(); break; }
                _ = int.recv() => { info!("SIGINT received."); stop.cancel(); break; }
                _ = hup.recv() => match app.reload() {
                    Ok(()) => info!("Rules, MP directory and templates reloaded."),
                    Err(problems) => {
                        for p in problems.0 {
                            error!(problem = %p, "Reload refused; the rules, directory and templates in force stay.");
                        }
                    }
                },
            }
        }
    });
    Ok(())
}
