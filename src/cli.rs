//! The command line: `run`, `demo`, `check`, `classify`, `rules`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::app::{self, App, Prepared};
use crate::classify::{Classifier, Directory, Settings};
use crate::config::Config;
use crate::extract::Extractor;
use crate::message::Origin;
use crate::telemetry::{self, LogFormat};
use crate::{clock, daemon, demo, ingest};

mod ops;

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
    /// Show what postroom does, on a bundled sample mailbox, with no set-up.
    Demo {
        /// Folder for the demo's database, mailbox and outbox.
        #[arg(long, default_value = "postroom-demo")]
        dir: PathBuf,
    },
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
    },
    /// Print the text of a DOCX or ODT file. Run by postroom itself, in a
    /// child process with limits, to read attachments.
    #[command(hide = true)]
    ExtractDocument { file: PathBuf },
    /// The outgoing mail: what is queued, sent, or dead.
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
        format: crate::casework::Format,
        /// Also write the chart (received, answered, trend) as SVG here.
        #[arg(long)]
        chart: Option<PathBuf>,
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
        format: crate::casework::Format,
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
    Recategorise {
        reference: String,
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
    let cli = Cli::parse();
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
        Command::Demo { dir } => demo::run(&dir).await.map(|()| ExitCode::SUCCESS),
        Command::Check { config } => Ok(check(&config.config)),
        Command::Classify(with) => classify(&with).await,
        Command::ExtractDocument { file } => {
            let text = crate::extract::document::extract_document(&file)?;
            std::io::stdout().write_all(text.as_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Eval {
            config,
            corpus,
            directory,
        } => {
            let directory = directory.unwrap_or_else(|| corpus.join("mps.csv"));
            let classifier = Arc::new(classifier(config.config.as_deref(), Some(&directory))?);
            let labels = crate::eval::read_labels(&corpus)?;
            let scored =
                crate::eval::score(classifier, &Extractor::default(), &corpus, labels).await?;
            print!("{}", crate::eval::report(&scored));
            Ok(ExitCode::SUCCESS)
        }
        Command::Outbox { config, command } => outbox(&config.config, command).await,
        Command::Status { config, json } => status(&config.config, json).await,
        Command::Cases { config, command } => cases(&config.config, command).await,
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
        } => report(&config.config, from, to, by, format, chart.as_deref()).await,
        Command::Calendar {
            config,
            command: CalendarCommand::Update { file },
        } => calendar_update(&config.config, &file).await,
        Command::Digest {
            config,
            weekly,
            manager,
            html,
            ..
        } => digest_preview(&config.config, weekly, manager.as_deref(), html.as_deref()).await,
        Command::Rules {
            command: RulesCommand::Check { config, rules },
        } => rules_check(config.config.as_deref(), rules.as_deref()),
        Command::Rules {
            command: RulesCommand::Test(with),
        } => rules_test(&with).await,
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
        return Ok(ExitCode::SUCCESS);
    }
    let stop = CancellationToken::new();
    daemon::handle_signals(app.clone(), stop.clone())?;
    info!(sources = app.config.sources.len(), "postroom started.");
    daemon::run(app, stop).await?;
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

async fn cases(config: &Path, command: CasesCommand) -> Result<ExitCode> {
    use crate::lifecycle;
    let prepared = prepare(config)?;
    let app = App::start(prepared, clock::system()).await?;
    let who = actor();
    match command {
        CasesCommand::List {
            status,
            team,
            assignee,
            category,
            mp,
            overdue,
            due_before,
            format,
        } => {
            let today = app.calendar().local_date(app.clock.now());
            let filter = crate::store::cases::Filter {
                status,
                team,
                assignee,
                category,
                mp,
                overdue_on: overdue.then_some(today),
                due_before,
            };
            let rows = crate::store::cases::list(&mut *app.store.conn().await?, &filter).await?;
            print!("{}", crate::casework::render_list(&rows, format)?);
        }
        CasesCommand::Show { reference } => {
            let text = crate::casework::show(&mut *app.store.conn().await?, &reference).await?;
            print!("{text}");
        }
        CasesCommand::Raw { reference, message } => {
            let mut conn = app.store.conn().await?;
            let case = crate::store::cases::by_reference(&mut conn, &reference)
                .await?
                .with_context(|| format!("There is no case {reference}"))?;
            let all = crate::store::messages::of_case(&mut conn, case.id).await?;
            let chosen = match message {
                Some(id) => all.iter().find(|m| m.id == id),
                None => all.first(),
            }
            .with_context(|| format!("{reference} has no such message"))?;
            let bytes = crate::store::messages::raw(&mut conn, chosen.id).await?;
            std::io::stdout().write_all(&bytes)?;
        }
        CasesCommand::Assign { reference, to } => {
            let case = lifecycle::assign(&app, &reference, &to, &who).await?;
            println!(
                "{reference}: assigned to {} ({}); they are told by mail.",
                to,
                case.team.as_deref().unwrap_or("no team")
            );
        }
        CasesCommand::Recategorise {
            reference,
            category,
            send_topic,
            urgent,
            not_urgent,
        } => {
            let urgent = match (urgent, not_urgent) {
                (true, _) => Some(true),
                (_, true) => Some(false),
                _ => None,
            };
            let case = lifecycle::recategorise(
                &app,
                &reference,
                category.as_deref(),
                send_topic.as_deref(),
                urgent,
                &who,
            )
            .await?;
            println!(
                "{reference}: now {}{}{}.",
                case.category.as_deref().unwrap_or("-"),
                case.send_topic
                    .as_deref()
                    .map(|t| format!(": {t}"))
                    .unwrap_or_default(),
                if case.urgent { ", urgent" } else { "" }
            );
        }
        CasesCommand::Note { reference, text } => {
            lifecycle::note(&app, &reference, &text, &who).await?;
            println!("{reference}: note added.");
        }
        CasesCommand::Reopen { reference } => {
            lifecycle::reopen(&app, &reference, &who).await?;
            println!("{reference}: open again.");
        }
        CasesCommand::Pause { reference, reason } => {
            lifecycle::pause(&app, &reference, &reason, &who).await?;
            println!("{reference}: clocks paused ({reason}).");
        }
        CasesCommand::Resume { reference } => {
            let moved = lifecycle::resume(&app, &reference, &who).await?;
            println!("{reference}: clocks running again.");
            for m in moved {
                println!("  {}: due {} (was {})", m.name, m.to, m.from);
            }
        }
        CasesCommand::Answer { reference, at } => {
            let at = at.as_deref().map(parse_when).transpose()?;
            lifecycle::answer(&app, &reference, at, &who).await?;
            println!("{reference}: answered; reminders stopped.");
        }
        CasesCommand::Close { reference } => {
            lifecycle::close(&app, &reference, &who).await?;
            println!("{reference}: closed.");
        }
        CasesCommand::Hold { reference, reason } => {
            lifecycle::hold(&app, &reference, Some(&reason), &who).await?;
            println!("{reference}: on hold ({reason}); retention keeps it.");
        }
        CasesCommand::Release { reference } => {
            lifecycle::hold(&app, &reference, None, &who).await?;
            println!("{reference}: hold lifted.");
        }
    }
    app.store.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn report(
    config: &Path,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    by: crate::report::By,
    format: crate::casework::Format,
    chart: Option<&Path>,
) -> Result<ExitCode> {
    if to < from {
        bail!("--to {to} is before --from {from}");
    }
    let prepared = prepare(config)?;
    let app = App::start(prepared, clock::system()).await?;
    let (rows, chasers) = {
        let mut conn = app.store.conn().await?;
        crate::store::retention::report_rows(&mut conn).await?
    };
    let report = crate::report::build(&rows, &chasers, &app.calendar(), from, to, by)?;
    print!("{}", crate::casework::render_report(&report, format)?);
    if let Some(path) = chart {
        std::fs::write(path, crate::report::chart(&report))
            .with_context(|| format!("Cannot write {}", path.display()))?;
        eprintln!("Chart written to {}", path.display());
    }
    app.store.close().await;
    Ok(ExitCode::SUCCESS)
}

/// A date (noon, London time) or an RFC 3339 instant.
fn parse_when(s: &str) -> Result<chrono::DateTime<chrono::Utc>> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    let day = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .with_context(|| format!("{s:?} is neither a date (YYYY-MM-DD) nor an RFC 3339 time"))?;
    use chrono::TimeZone;
    chrono_tz::Europe::London
        .from_local_datetime(&day.and_hms_opt(12, 0, 0).unwrap_or_default())
        .earliest()
        .map(|t| t.with_timezone(&chrono::Utc))
        .context("not a time in London")
}

async fn calendar_update(config: &Path, file: &Path) -> Result<ExitCode> {
    let feed =
        std::fs::read_to_string(file).with_context(|| format!("Cannot read {}", file.display()))?;
    let prepared = prepare(config)?;
    let app = App::start(prepared, clock::system()).await?;
    let moves = crate::lifecycle::update_calendar(&app, &feed, &actor()).await?;
    app.store.close().await;
    println!(
        "Bank holidays updated from {}; {} due dates moved.",
        file.display(),
        moves.len()
    );
    for (reference, m) in moves {
        println!("  {reference} {}: {} -> {}", m.name, m.from, m.to);
    }
    Ok(ExitCode::SUCCESS)
}

async fn digest_preview(
    config: &Path,
    weekly: bool,
    manager: Option<&str>,
    html: Option<&Path>,
) -> Result<ExitCode> {
    use crate::digest;
    let prepared = prepare(config)?;
    let app = App::start(prepared, clock::system()).await?;
    let period = if weekly {
        digest::Period::Weekly
    } else {
        digest::Period::Daily
    };
    let managers = digest::managers(&app);
    if managers.is_empty() {
        anyhow::bail!("No team has a manager, so there is no digest to show");
    }
    let now = app.clock.now();
    let mut shown = 0;
    for (address, teams) in managers {
        if manager.is_some_and(|m| m != address) {
            continue;
        }
        let d = digest::build(&app, &address, &teams, period, now).await?;
        println!(
            "To: {address}
Subject: {}

{}",
            d.rendered.subject, d.rendered.text
        );
        if let Some(path) = html {
            let page = d.rendered.html.replace(
                "cid:chart",
                &format!(
                    "{}.svg",
                    path.file_stem().and_then(|s| s.to_str()).unwrap_or("chart")
                ),
            );
            std::fs::write(path, page)
                .with_context(|| format!("Cannot write {}", path.display()))?;
            std::fs::write(path.with_extension("svg"), &d.chart_svg)?;
            println!("(HTML written to {})", path.display());
        }
        shown += 1;
    }
    app.store.close().await;
    if shown == 0 {
        anyhow::bail!("No manager {:?} in the teams", manager.unwrap_or_default());
    }
    Ok(ExitCode::SUCCESS)
}

async fn status(config: &Path, json: bool) -> Result<ExitCode> {
    let prepared = prepare(config)?;
    let app = App::start(prepared, clock::system()).await?;
    let statuses = crate::health::status(&app, None).await?;
    app.store.close().await;
    let when = |t: &Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| {
            crate::store::ts(t)
                .get(..16)
                .unwrap_or("")
                .replace('T', " ")
        })
        .unwrap_or_else(|| "never".into())
    };
    if json {
        for s in &statuses {
            println!("{}", serde_json::to_string(s)?);
        }
    } else {
        let mut table = comfy_table::Table::new();
        table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
        table.set_header([
            "Source",
            "Health",
            "Last good poll (UTC)",
            "Last failure (UTC)",
            "Why",
        ]);
        for s in &statuses {
            table.add_row([
                s.source.clone(),
                if s.ok { "green" } else { "RED" }.to_string(),
                when(&s.last_ok),
                when(&s.last_failure),
                s.failure
                    .clone()
                    .unwrap_or_default()
                    .chars()
                    .take(80)
                    .collect(),
            ]);
        }
        println!("{table}");
    }
    Ok(if statuses.iter().all(|s| s.ok) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn outbox(config: &Path, command: OutboxCommand) -> Result<ExitCode> {
    use crate::store::outbox as ob;
    let store = open_store(config).await?;
    let mut conn = store.conn().await?;
    match command {
        OutboxCommand::List { failed, status } => {
            let status = if failed {
                Some("failed".to_string())
            } else {
                status
            };
            let rows = ob::list(&mut conn, status.as_deref()).await?;
            let mut table = comfy_table::Table::new();
            table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
            table.set_header([
                "Id",
                "Case",
                "Purpose",
                "To",
                "Status",
                "Attempts",
                "Queued",
                "Last error",
            ]);
            for r in &rows {
                table.add_row([
                    r.id.to_string(),
                    r.case_reference.clone().unwrap_or_default(),
                    r.purpose.clone(),
                    r.recipients.join(", "),
                    r.status.clone(),
                    r.attempts.to_string(),
                    r.created_at.get(..16).unwrap_or("").replace('T', " "),
                    r.last_error
                        .clone()
                        .unwrap_or_default()
                        .chars()
                        .take(60)
                        .collect(),
                ]);
            }
            println!("{table}");
            println!("{} mail(s)", rows.len());
            Ok(ExitCode::SUCCESS)
        }
        OutboxCommand::Retry { id } => {
            if ob::retry(&mut conn, id, clock::system().now()).await? {
                println!("Mail {id} is queued again; the daemon sends it on its next round.");
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!(
                    "postroom: mail {id} is not a dead letter or a bounced mail (see postroom outbox list)"
                );
                Ok(ExitCode::FAILURE)
            }
        }
        OutboxCommand::Show { id } => {
            std::io::stdout().write_all(&ob::raw(&mut conn, id).await?)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn check(config: &Path) -> ExitCode {
    match prepare(config) {
        Ok(p) => {
            println!(
                "{}: OK ({} rules, {} MP directory addresses, {} sources)",
                config.display(),
                p.classifier.rules.rules.len(),
                p.classifier.directory.len(),
                p.config.sources.len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The classifier for `classify` and `rules test`: the config's, or the
/// built-in rules with a neutral council, and the given MP directory.
fn classifier(config: Option<&Path>, directory: Option<&Path>) -> Result<Classifier> {
    let directory = match directory {
        Some(path) => Some(Directory::load(path).map_err(|e| {
            anyhow::anyhow!(
                "{}",
                e.iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        })?),
        None => None,
    };
    match config {
        Some(path) => {
            let prepared = prepare(path)?;
            let c = prepared.classifier;
            Ok(match directory {
                Some(d) => Classifier::new(c.rules, d, c.settings),
                None => c,
            })
        }
        None => {
            let rules = app::embedded_rules().map_err(|e| anyhow::anyhow!("{e}"))?;
            let settings = Settings::new("MPE", Vec::new(), None, None, "postroom.invalid")
                .map_err(anyhow::Error::msg)?;
            Ok(Classifier::new(
                rules,
                directory.unwrap_or_default(),
                settings,
            ))
        }
    }
}

fn origin_of(path: &Path) -> Origin {
    let ext = path
        .extension()
        .and_then(|x| x.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "pdf" | "png" | "jpg" | "jpeg" | "tif" | "tiff" => Origin::Letter,
        _ => Origin::Email,
    }
}

async fn classify(with: &ClassifyWith) -> Result<ExitCode> {
    let extractor = Extractor::default();
    let classifier = Arc::new(classifier(
        with.config.config.as_deref(),
        with.directory.as_deref(),
    )?);
    let files = &with.files;
    let mut failed = false;
    let stdout = std::io::stdout();
    for path in files {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("postroom: cannot read {}: {e}", path.display());
                failed = true;
                continue;
            }
        };
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let (_, decision) = ingest::read(
            classifier.clone(),
            &extractor,
            Arc::new(bytes),
            origin_of(path),
            name,
        )
        .await;
        let file = path.display().to_string();
        let mut out = stdout.lock();
        serde_json::to_writer(&mut out, &decision.labels(&file))?;
        writeln!(out)?;
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn rules_check(config: Option<&Path>, rules: Option<&Path>) -> Result<ExitCode> {
    let result = match (rules, config) {
        (Some(dir), _) => crate::classify::Rules::load_dir(dir),
        (None, Some(path)) => {
            let config = Config::load(path).map_err(|e| anyhow::anyhow!("{e}"))?;
            app::load_rules(&config)
        }
        (None, None) => app::embedded_rules(),
    };
    match result {
        Ok(rules) => {
            println!(
                "OK: {} rules and {} extractors in {} files",
                rules.rules.len(),
                rules.extractors.len(),
                rules.files.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            for e in &errors.0 {
                eprintln!("{e}");
            }
            eprintln!("{} error(s)", errors.0.len());
            Ok(ExitCode::FAILURE)
        }
    }
}

async fn rules_test(with: &ClassifyWith) -> Result<ExitCode> {
    let extractor = Extractor::default();
    let classifier = Arc::new(classifier(
        with.config.config.as_deref(),
        with.directory.as_deref(),
    )?);
    let files = &with.files;
    for path in files {
        let bytes =
            std::fs::read(path).with_context(|| format!("Cannot read {}", path.display()))?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let (message, decision) = ingest::read(
            classifier.clone(),
            &extractor,
            Arc::new(bytes),
            origin_of(path),
            name,
        )
        .await;
        println!("{}", path.display());
        println!("  kind            {}", decision.kind);
        println!("  from MP office  {}", decision.from_mp_office);
        println!(
            "  category        {}",
            decision.category.map(|c| c.as_str()).unwrap_or("-")
        );
        println!(
            "  SEND topic      {}",
            decision.send_topic.map(|c| c.as_str()).unwrap_or("-")
        );
        println!("  urgent          {}", decision.urgent);
        println!(
            "  MP              {}",
            decision.mp_name.as_deref().unwrap_or("-")
        );
        println!(
            "  constituency    {}",
            decision.constituency.as_deref().unwrap_or("-")
        );
        println!(
            "  MP reference    {}",
            decision.mp_reference.as_deref().unwrap_or("-")
        );
        println!(
            "  council ref     {}",
            decision.council_reference.as_deref().unwrap_or("-")
        );
        println!("  acknowledge     {}", decision.should_acknowledge);
        if !decision.tags.is_empty() {
            println!("  tags            {}", decision.tags.join(", "));
        }
        for t in &decision.triage {
            println!("  triage          {t}");
        }
        for w in &message.warnings {
            println!("  parse warning   {w}");
        }
        println!("  why:");
        for line in &decision.explanation {
            println!("    {line}");
        }
        println!("  rules matched:  {}", decision.matched_rules.join(", "));
        println!();
    }
    if files.is_empty() {
        bail!("No files given");
    }
    Ok(ExitCode::SUCCESS)
}
