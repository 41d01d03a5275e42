//! The IT team's commands: `outbox` (what is queued, sent or dead), and
//! the data-protection ones, `retention run`, `export` and `audit` (who
//! looked at what in the workspace); `status` is in `status.rs`.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use super::{OutboxCommand, actor, open_store, prepare};
use crate::app::App;
use crate::clock;

/// `postroom audit`: who viewed, downloaded, signed in, was turned away.
#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    #[command(flatten)]
    config: super::ConfigFile,
    /// Only the accesses to this case.
    #[arg(long, conflicts_with = "who")]
    case: Option<String>,
    /// Only this person's accesses.
    #[arg(long)]
    who: Option<String>,
    /// At most this many lines, newest first.
    #[arg(long, default_value_t = 100)]
    limit: i64,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    json: bool,
}

pub(super) async fn audit(args: AuditArgs) -> Result<ExitCode> {
    use crate::store::web::{Of, accesses};
    let store = open_store(&args.config.config).await?;
    let mut conn = store.conn().await?;
    let case = args.case.as_deref().map(str::to_uppercase);
    let of = match (&case, &args.who) {
        (Some(c), _) => Of::Case(c),
        (None, Some(w)) => Of::Person(w),
        (None, None) => Of::Everyone,
    };
    let lines = accesses(&mut conn, of, args.limit.max(1)).await?;
    drop(conn);
    store.close().await;
    let mut out = std::io::stdout().lock();
    if args.json {
        for l in &lines {
            writeln!(out, "{}", serde_json::to_string(l)?)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header(["When", "Who", "What", "Case", "Detail"]);
    for l in &lines {
        table.add_row([
            l.at.clone(),
            l.who.clone(),
            l.action.replace('_', " "),
            l.reference.clone().unwrap_or_default(),
            l.detail.clone(),
        ]);
    }
    writeln!(
        out,
        "{table}\n{} accesses shown, newest first.",
        lines.len()
    )?;
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn retention(config: &Path, dry_run: bool, json: bool) -> Result<ExitCode> {
    let app = App::start(prepare(config)?, clock::system()).await?;
    let summary = crate::schedule::retention::run(&app, dry_run, &actor()).await?;
    app.store.close().await;
    if json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
        return Ok(ExitCode::SUCCESS);
    }
    let c = summary.counts;
    let (verb, head) = if dry_run {
        ("would delete", "Dry run: nothing was deleted.\n")
    } else {
        ("deleted", "")
    };
    let before = |d: Option<chrono::NaiveDate>| {
        d.map(|d| format!("before {d}"))
            .unwrap_or_else(|| "never (kept for ever)".into())
    };
    print!("{head}");
    println!(
        "Cases answered or closed {}: {verb} {} (with {} messages); an anonymous statistics row stays for each.",
        before(summary.closed_before),
        c.cases,
        c.messages
    );
    println!(
        "Messages on no case stored {}: {verb} {}.",
        before(summary.unfiled_before),
        c.unfiled_messages
    );
    println!(
        "postroom's own mail on no case sent {}: {verb} {}.",
        before(summary.sent_before),
        c.sent_mail
    );
    for reference in &summary.cases {
        println!("  {reference}");
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn export(
    config: &Path,
    case: Option<String>,
    person: Option<String>,
    out: &Path,
) -> Result<ExitCode> {
    let app = App::start(prepare(config)?, clock::system()).await?;
    let subject = match (&case, &person) {
        (Some(reference), _) => crate::casework::export::Subject::Case(reference),
        (None, Some(email)) => crate::casework::export::Subject::Person(email),
        (None, None) => anyhow::bail!("Say --case REF or --person EMAIL"),
    };
    let done = crate::casework::export::export(&app, subject, out).await?;
    app.store.close().await;
    println!(
        "{}: {} cases, {} messages on them, {} on no case, {} mails sent by postroom.",
        out.display(),
        done.cases.len(),
        done.messages,
        done.unfiled,
        done.sent
    );
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn outbox(config: &Path, command: OutboxCommand) -> Result<ExitCode> {
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

/// `postroom check`: the config, rules, directory and templates, and the
/// folders `run` will read and write on this machine.
pub(super) fn check(config: &Path) -> ExitCode {
    // What `run` would hit on this machine: folders missing, or not
    // writable by this user.
    let prepared = prepare(config).map(|p| {
        let problems = crate::config::preflight(&p.config);
        (p, problems)
    });
    match prepared {
        Ok((_, problems)) if !problems.is_empty() => {
            for problem in problems {
                eprintln!("{problem}");
            }
            ExitCode::FAILURE
        }
        Ok((p, _)) => {
            println!(
                "{}: OK ({} rules, {} MP directory addresses, {} sources)",
                config.display(),
                p.classifier.rules.rules.len(),
                p.classifier.directory.len(),
                p.config.sources.len()
            );
            // Where it will write: what a service unit or a container
            // must leave writable.
            for place in &p.config.places {
                let verb = match place.need {
                    crate::config::Need::Read => "reads",
                    _ => "writes",
                };
                println!(
                    "  {verb} {} ({}, line {})",
                    place.path.display(),
                    place.what,
                    place.line
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e:#}");
            ExitCode::FAILURE
        }
    }
}
