//! The command line: `run`, `demo`, `check`, `classify`, `rules`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::app::{App, Prepared};
use crate::config::Config;
use crate::extract::Extractor;
use crate::telemetry::{self, LogFormat};
use crate::{clock, daemon};

mod casework;
pub mod demo;
pub mod eval;
mod ops;
mod rules;
mod status;

#[derive(Debug, Parser)]
#[command(
    name = "postroom",
    version,
    about = "Intake daemon for a council's MP-enquiries mailbox"
)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

/// The config file of the daemon.
#[derive(Debug, clap::Args)]
pub struct ConfigFile {
    #[arg(
        long,
        short,
        global = true,
        env = "POSTROOM_CONFIG",
        default_value = "postroom.toml"
    )]
    pub config: PathBuf,
}

/// A config file, when one is wanted; the built-in defaults otherwise.
#[derive(Debug, clap::Args)]
pub struct MaybeConfig {
    #[arg(long, short, env = "POSTROOM_CONFIG")]
    pub config: Option<PathBuf>,
}

/// A config or built-in rules, and an MP directory, to classify with.
#[derive(Debug, clap::Args)]
pub struct ClassifyWith {
    #[command(flatten)]
    pub config: MaybeConfig,
    /// The MP directory (CSV: name,constituency,email,role).
    #[arg(long)]
    pub directory: Option<PathBuf>,
    /// Also show, field by field, the rules that decided it and the text
    /// each one matched (`classify`: an `explain` member in each line).
    #[arg(long)]
    pub explain: bool,
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: read the sources, store and acknowledge, send mail.
    Run {
        #[command(flatten)]
        config: ConfigFile,
        /// Process what is waiting, deliver the outbox, and exit.
        #[arg(long)]
        once: bool,
    },
    /// Show what postroom does, on a bundled sample mailbox, with no set-up,
    /// and serve the workspace on the demo cases until stopped.
    Demo(demo::Args),
    /// Check the config, rules, MP directory and templates; exit 1 on error.
    Check {
        #[command(flatten)]
        config: ConfigFile,
    },
    /// Classify files (.eml emails, .pdf letters); one JSON object per line.
    Classify(ClassifyWith),
    /// Score the rules against a labelled corpus (labels.jsonl, mps.csv).
    Eval {
        #[command(flatten)]
        config: MaybeConfig,
        /// The corpus folder.
        #[arg(long)]
        corpus: PathBuf,
        /// The MP directory; the corpus's mps.csv when not given.
        #[arg(long)]
        directory: Option<PathBuf>,
        /// Print the figures as one JSON object instead of the report.
        #[arg(long)]
        json: bool,
    },
    /// The outgoing mail: what is queued, sent, or dead.
    /// Who looked at which case in the workspace, and when.
    Audit(ops::AuditArgs),
    Outbox {
        #[command(flatten)]
        config: ConfigFile,
        #[command(subcommand)]
        command: OutboxCommand,
    },
    /// How each source is doing: the last successful poll, the last
    /// failure and why. Exits 1 when a source is red (no successful poll
    /// for daemon.stall_alert): usable as a monitoring check.
    Status {
        #[command(flatten)]
        config: ConfigFile,
        /// One JSON object per source instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Check or try the classification rules.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Change a case: pause or resume its clocks, record its reply, close it.
    Cases {
        #[command(flatten)]
        config: ConfigFile,
        #[command(subcommand)]
        command: CasesCommand,
    },
    /// The working-day calendar.
    Calendar {
        #[command(flatten)]
        config: ConfigFile,
        #[command(subcommand)]
        command: CalendarCommand,
    },
    /// Figures for a period: referrals by MP, constituency, category and
    /// SEND topic; acknowledgement and response times; the share answered
    /// in time; open and overdue at the end; chasers; the trend.
    Report {
        #[command(flatten)]
        config: ConfigFile,
        /// First day (YYYY-MM-DD).
        #[arg(long)]
        from: chrono::NaiveDate,
        /// Last day (YYYY-MM-DD), inclusive.
        #[arg(long)]
        to: chrono::NaiveDate,
        #[arg(long, value_enum, default_value = "month")]
        by: crate::report::By,
        #[arg(long, value_enum, default_value = "table")]
        format: crate::casework::show::Format,
        /// Also write the chart (received, answered, trend) as SVG here.
        #[arg(long)]
        chart: Option<PathBuf>,
        /// Instead: how often people corrected postroom's decisions.
        #[arg(long, conflicts_with = "chart")]
        accuracy: bool,
    },
    /// Delete what the retention policy says has been kept long enough
    /// (the daemon does this daily at retention.at).
    Retention {
        #[command(flatten)]
        config: ConfigFile,
        #[command(subcommand)]
        command: RetentionCommand,
    },
    /// Everything postroom holds about a case or a person, as a ZIP file,
    /// for a subject access request.
    Export {
        #[command(flatten)]
        config: ConfigFile,
        /// One case, by reference.
        #[arg(long, conflicts_with = "person", required_unless_present = "person")]
        case: Option<String>,
        /// Everything naming this email address.
        #[arg(long)]
        person: Option<String>,
        /// The ZIP file to write (must not exist).
        #[arg(long)]
        out: PathBuf,
    },
    /// Show a manager's digest as it would go out now, without sending it.
    Digest {
        #[command(flatten)]
        config: ConfigFile,
        /// Render only; the daemon sends digests on their schedule.
        #[arg(long, required = true)]
        preview: bool,
        /// The weekly digest instead of the daily one.
        #[arg(long)]
        weekly: bool,
        /// Only this manager's digest (by default, every manager's).
        #[arg(long)]
        manager: Option<String>,
        /// Also write the HTML (and the chart beside it, as .svg) here.
        #[arg(long)]
        html: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum CasesCommand {
    /// List cases, oldest first; every option narrows the list.
    List {
        /// open, triage, answered or closed.
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        team: Option<String>,
        /// The caseworker's address.
        #[arg(long)]
        assignee: Option<String>,
        /// send, housing, adult_social_care, ...
        #[arg(long)]
        category: Option<String>,
        /// Part of the MP's name or constituency.
        #[arg(long)]
        mp: Option<String>,
        /// Open and past the reply date.
        #[arg(long)]
        overdue: bool,
        /// Reply due on or before this day (YYYY-MM-DD).
        #[arg(long)]
        due_before: Option<chrono::NaiveDate>,
        #[arg(long, value_enum, default_value = "table")]
        format: crate::casework::show::Format,
    },
    /// One case in full: facts, deadlines, messages with their text and
    /// attachments, the rules that classified it, the timeline.
    Show { reference: String },
    /// The original bytes of the case's first message (or message ID), to
    /// standard output.
    Raw {
        reference: String,
        /// Which of the case's messages (its #number in `show`).
        #[arg(long)]
        message: Option<i64>,
    },
    /// Give a case to another caseworker, who is told.
    Assign { reference: String, to: String },
    /// Correct what a case is about; kept as an event to improve the rules.
    /// The case's clocks follow: the reply date from the new target, SEND
    /// statutory clocks added or dropped.
    Recategorise {
        reference: String,
        #[arg(long)]
        kind: Option<String>,
        #[arg(long)]
        category: Option<String>,
        #[arg(long)]
        send_topic: Option<String>,
        #[arg(long, conflicts_with = "not_urgent")]
        urgent: bool,
        #[arg(long)]
        not_urgent: bool,
    },
    /// Add a note to the case's record.
    Note { reference: String, text: String },
    /// Open an answered or closed case again.
    Reopen { reference: String },
    /// Stop a case's clocks (waiting for the MP office's consent, say).
    Pause {
        reference: String,
        #[arg(long)]
        reason: String,
    },
    /// Start a paused case's clocks again; its deadlines move on by the
    /// time it was paused.
    Resume { reference: String },
    /// Record that the MP office has had its reply; reminders stop.
    Answer {
        reference: String,
        /// When the reply went (YYYY-MM-DD or RFC 3339); by default now.
        #[arg(long)]
        at: Option<String>,
    },
    /// Close a case; reminders stop.
    Close { reference: String },
    /// Keep a case from deletion by retention (a legal hold, a complaint,
    /// a subject access request in progress).
    Hold {
        reference: String,
        #[arg(long)]
        reason: String,
    },
    /// Lift a case's hold; retention may delete it again when its time
    /// comes.
    Release { reference: String },
}

#[derive(Debug, Subcommand)]
pub enum RetentionCommand {
    /// Run the policy now.
    Run {
        /// Only say what would be deleted.
        #[arg(long)]
        dry_run: bool,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum CalendarCommand {
    /// Load a newer gov.uk bank-holidays.json; open cases' due dates that
    /// it changes move, each change recorded on its case.
    Update { file: PathBuf },
}

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// List outgoing mail.
    List {
        /// Only the dead letters: failed permanently or retried too long.
        #[arg(long, conflicts_with = "status")]
        failed: bool,
        /// Only mail in this state: queued, sent, failed, bounced.
        #[arg(long)]
        status: Option<String>,
    },
    /// Queue a dead letter (or a bounced mail) again, due now.
    Retry { id: i64 },
    /// Print a mail exactly as queued.
    Show { id: i64 },
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Report every error in the rule files, with file and line.
    Check {
        #[command(flatten)]
        config: MaybeConfig,
        /// A rules folder to check instead of the configured one.
        #[arg(long)]
        rules: Option<PathBuf>,
    },
    /// Show the decision for a message and the rules that made it.
    Test(ClassifyWith),
}

pub fn main() -> Result<ExitCode> {
    // Everything postroom writes (the database and its journal, mail in the
    // outbox folder, attachments spooled for reading, exports, charts) is
    // its owner's only: it may hold children's health data.
    // SAFETY: umask only changes this process's file creation mask.
    unsafe { libc::umask(0o077) };
    let cli = Cli::parse();
    // Output cut off (`postroom report | head`): end quietly, not panic.
    // The daemon keeps SIGPIPE ignored: a closed socket is an error to it.
    if !matches!(cli.command, Command::Run { .. }) {
        // SAFETY: a signal's disposition, set before any thread starts.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    }
    // The demo and the one-shot commands speak through their output; the
    // daemon through its log.
    let level = match cli.command {
        Command::Run { .. } => "info",
        _ => "warn",
    };
    telemetry::init(cli.log_format, level);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("Cannot start the async runtime")?;
    runtime.block_on(dispatch(cli.command))
}

async fn dispatch(command: Command) -> Result<ExitCode> {
    match command {
        Command::Run { config, once } => run(&config.config, once).await,
        Command::Demo(args) => demo::run(&args).await.map(|()| ExitCode::SUCCESS),
        Command::Check { config } => Ok(ops::check(&config.config)),
        Command::Classify(with) => rules::classify(&with).await,
        Command::Eval {
            config,
            corpus,
            directory,
            json,
        } => {
            let directory = directory.unwrap_or_else(|| corpus.join("mps.csv"));
            let classifier = rules::classifier(config.config.as_deref(), Some(&directory))?;
            let labels = crate::cli::eval::read_labels(&corpus)?;
            let scored =
                crate::cli::eval::score(classifier, &Extractor::default(), &corpus, labels).await?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string(&crate::cli::eval::summary(&scored))?
                );
            } else {
                print!("{}", crate::cli::eval::report(&scored));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit(args) => ops::audit(args).await,
        Command::Outbox { config, command } => ops::outbox(&config.config, command).await,
        Command::Status { config, json } => status::status(&config.config, json).await,
        Command::Cases { config, command } => casework::cases(&config.config, command).await,
        Command::Retention {
            config,
            command: RetentionCommand::Run { dry_run, json },
        } => ops::retention(&config.config, dry_run, json).await,
        Command::Export {
            config,
            case,
            person,
            out,
        } => ops::export(&config.config, case, person, &out).await,
        Command::Report {
            config,
            from,
            to,
            by,
            format,
            chart,
            accuracy,
        } => match accuracy {
            true => casework::accuracy(&config.config, from, to, format).await,
            false => casework::report(&config.config, from, to, by, format, chart.as_deref()).await,
        },
        Command::Calendar {
            config,
            command: CalendarCommand::Update { file },
        } => casework::calendar_update(&config.config, &file).await,
        Command::Digest {
            config,
            weekly,
            manager,
            html,
            ..
        } => {
            casework::digest_preview(&config.config, weekly, manager.as_deref(), html.as_deref())
                .await
        }
        Command::Rules {
            command: RulesCommand::Check { config, rules },
        } => rules::rules_check(config.config.as_deref(), rules.as_deref()),
        Command::Rules {
            command: RulesCommand::Test(with),
        } => rules::rules_test(&with).await,
    }
}

/// Loads and checks everything; prints every problem on failure.
fn prepare(path: &Path) -> Result<Prepared> {
    let config = Config::load(path).map_err(|e| anyhow::anyhow!("{e}"))?;
    Prepared::new(config).map_err(|problems| anyhow::anyhow!("{problems}"))
}

async fn run(config: &Path, once: bool) -> Result<ExitCode> {
    let prepared = prepare(config)?;
    let app = Arc::new(App::start(prepared, clock::system()).await?);
    if once {
        let (outcomes, totals) = daemon::run_once(&app).await?;
        info!(
            stored = outcomes.len(),
            sent = totals.sent,
            retried = totals.retried,
            failed = totals.failed,
            "Done."
        );
        app.store.close().await;
        crate::spool::remove_own();
        return Ok(ExitCode::SUCCESS);
    }
    let stop = CancellationToken::new();
    daemon::handle_signals(app.clone(), stop.clone())?;
    info!(sources = app.config.sources.len(), "postroom started.");
    let ran = daemon::run(app, stop).await;
    // The process ends: its temporary files go with it.
    crate::spool::remove_own();
    ran?;
    Ok(ExitCode::SUCCESS)
}

/// The store of a config, for commands that only read and change data.
async fn open_store(config: &Path) -> Result<crate::store::Store> {
    let config = Config::load(config).map_err(|e| anyhow::anyhow!("{e}"))?;
    crate::store::Store::connect(&config.database.url, 2).await
}

/// Who is at the keyboard, for the case's audit trail.
fn actor() -> String {
    std::env::var("SUDO_USER")
        .or_else(|_| std::env::var("USER"))
        .map(|u| format!("cli:{u}"))
        .unwrap_or_else(|_| "cli".into())
}
