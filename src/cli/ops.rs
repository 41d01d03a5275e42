//! The data-protection commands: `retention run` and `export`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use super::{actor, prepare};
use crate::app::App;
use crate::clock;

pub(super) async fn retention(config: &Path, dry_run: bool, json: bool) -> Result<ExitCode> {
    let app = App::start(prepare(config)?, clock::system()).await?;
    let summary = crate::retention::run(&app, dry_run, &actor()).await?;
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
        (Some(reference), _) => crate::export::Subject::Case(reference),
        (None, Some(email)) => crate::export::Subject::Person(email),
        (None, None) => anyhow::bail!("Say --case REF or --person EMAIL"),
    };
    let done = crate::export::export(&app, subject, out).await?;
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
