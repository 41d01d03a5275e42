//! `postroom demo`: the whole pipeline on a bundled sample mailbox, with no
//! set-up at all.
//!
//! It writes a small council's config, MP directory and mailbox (the files
//! under `examples/`, built into the binary) into a folder, runs one pass of
//! the daemon over them on SQLite with the folder transport, and prints the
//! cases it opened. The folder stays behind so a newcomer can look at the
//! database, the acknowledgements (`outbox/*.eml`) and the config, and run
//! `postroom run --once --config <dir>/postroom.toml` again.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};

use crate::app::{App, Prepared};
use crate::config::Config;
use crate::ingest::Outcome;
use crate::store::cases;
use crate::{clock, daemon};

/// The sample mailbox, as (file name, bytes).
pub const SAMPLE_MAILBOX: &[(&str, &[u8])] = &[
    (
        "01-ehc-needs-assessment.eml",
        include_bytes!("../../examples/mailbox/01-ehc-needs-assessment.eml"),
    ),
    (
        "02-send-transport-urgent.eml",
        include_bytes!("../../examples/mailbox/02-send-transport-urgent.eml"),
    ),
    (
        "03-housing-damp.eml",
        include_bytes!("../../examples/mailbox/03-housing-damp.eml"),
    ),
    (
        "04-adult-care-package.eml",
        include_bytes!("../../examples/mailbox/04-adult-care-package.eml"),
    ),
    (
        "05-chaser-on-ehc.eml",
        include_bytes!("../../examples/mailbox/05-chaser-on-ehc.eml"),
    ),
    (
        "06-out-of-office.eml",
        include_bytes!("../../examples/mailbox/06-out-of-office.eml"),
    ),
    (
        "07-bounce.eml",
        include_bytes!("../../examples/mailbox/07-bounce.eml"),
    ),
    (
        "08-newsletter.eml",
        include_bytes!("../../examples/mailbox/08-newsletter.eml"),
    ),
    (
        "09-parent-direct.eml",
        include_bytes!("../../examples/mailbox/09-parent-direct.eml"),
    ),
    (
        "10-spoof.eml",
        include_bytes!("../../examples/mailbox/10-spoof.eml"),
    ),
    (
        "11-annual-review.eml",
        include_bytes!("../../examples/mailbox/11-annual-review.eml"),
    ),
    (
        "12-unreadable.eml",
        include_bytes!("../../examples/mailbox/12-unreadable.eml"),
    ),
    (
        "13-forwarded-school-place.eml",
        include_bytes!("../../examples/mailbox/13-forwarded-school-place.eml"),
    ),
    (
        "14-reply-housing.eml",
        include_bytes!("../../examples/mailbox/14-reply-housing.eml"),
    ),
];

/// The sample council's MP directory.
pub const SAMPLE_DIRECTORY: &str = include_str!("../../examples/mps.csv");

/// The demo's config; paths are relative to the demo folder.
pub const DEMO_CONFIG: &str = r#"# Written by `postroom demo`. Run it again with:
#   postroom run --once --config postroom.toml
[council]
name = "Wexcombe Borough Council"
mailbox = "mpenquiries@wexcombe.gov.uk"
authserv_id = "mx1.wexcombe.gov.uk"

[database]
url = "sqlite:postroom.sqlite"

[paths]
directory = "mps.csv"

[[source]]
name = "demo"
kind = "eml_dir"
path = "mailbox"

[delivery]
transport = "file"
path = "outbox"

[[team]]
name = "SEND"
categories = ["send"]
manager = "send.manager@wexcombe.gov.uk"
members = ["a.shah@wexcombe.gov.uk", "b.okoro@wexcombe.gov.uk"]

[[team]]
name = "Corporate"
default = true
manager = "casework.manager@wexcombe.gov.uk"
members = ["c.lewis@wexcombe.gov.uk"]

# The workspace: `postroom demo` serves it with the local sign-in, on this
# machine only.
[web]
listen = "127.0.0.1:8080"
managers = ["head.of.service@wexcombe.gov.uk"]
admins = ["it.team@wexcombe.gov.uk"]
"#;

/// `postroom demo`'s options.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder for the demo's database, mailbox and outbox.
    #[arg(long, default_value = "postroom-demo")]
    pub dir: std::path::PathBuf,
    /// Where the workspace is served (a loopback address).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// Print the cases and stop, without serving the workspace.
    #[arg(long)]
    pub no_workspace: bool,
}

/// The demo's clock: the morning after the last sample message, so that
/// reminders and digests show what they would on that day, whenever the
/// demo runs.
pub const DEMO_NOW: &str = "2026-11-18T10:00:00Z";

/// A file that marks a folder as the demo's, so it may be replaced.
const MARKER: &str = ".postroom-demo";

/// Writes the demo folder: config (its workspace on `listen`), directory,
/// mailbox.
pub fn write_folder(dir: &Path, listen: std::net::SocketAddr) -> Result<()> {
    if !listen.ip().is_loopback() {
        bail!("--listen {listen}: the demo's local sign-in is served on a loopback address only");
    }
    if dir.exists() {
        if !dir.join(MARKER).exists() {
            let empty = std::fs::read_dir(dir)?.next().is_none();
            if !empty {
                bail!(
                    "{} exists and is not a postroom demo folder; choose another with --dir",
                    dir.display()
                );
            }
        }
        std::fs::remove_dir_all(dir).with_context(|| format!("Cannot clear {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir.join("mailbox"))
        .with_context(|| format!("Cannot create {}", dir.display()))?;
    std::fs::write(dir.join(MARKER), "")?;
    let config = DEMO_CONFIG.replace("127.0.0.1:8080", &listen.to_string());
    std::fs::write(dir.join("postroom.toml"), config)?;
    std::fs::write(dir.join("mps.csv"), SAMPLE_DIRECTORY)?;
    for (name, bytes) in SAMPLE_MAILBOX {
        std::fs::write(dir.join("mailbox").join(name), bytes)?;
    }
    Ok(())
}

// Long: the demo prints its table of cases and its summary of mail line by
// line.
pub async fn run(args: &Args) -> Result<()> {
    let dir = args.dir.as_path();
    write_folder(dir, args.listen)?;
    let config = Config::load(&dir.join("postroom.toml")).map_err(|e| anyhow::anyhow!("{e}"))?;
    let prepared = Prepared::new(config).map_err(|p| anyhow::anyhow!("{p}"))?;
    let now = chrono::DateTime::parse_from_rfc3339(DEMO_NOW)?.with_timezone(&chrono::Utc);
    let app = App::start(prepared, clock::FixedClock::new(now)).await?;
    println!(
        "The demo's clock reads {} (London), the morning after the last sample message arrived.\n",
        crate::casework::mail::long_date(app.calendar().local_date(now))
    );
    let (outcomes, totals) = daemon::run_once(&app).await?;

    let rows = cases::all(&mut *app.store.conn().await?).await?;
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    table.set_header([
        "Reference",
        "Received",
        "MP",
        "Service",
        "Urgent",
        "Reply due",
        "Assigned to",
        "Status",
    ]);
    let today = app
        .clock
        .now()
        .with_timezone(&app.calendar().tz())
        .date_naive();
    for c in &rows {
        let service = match (c.category, c.send_topic) {
            (Some(cat), Some(topic)) => format!("{cat}: {topic}"),
            (Some(cat), None) => cat.to_string(),
            _ => "-".into(),
        };
        table.add_row([
            c.reference.clone(),
            c.received_at.format("%Y-%m-%d").to_string(),
            c.mp_name.clone().unwrap_or_else(|| "-".into()),
            service,
            if c.urgent {
                "yes".into()
            } else {
                String::new()
            },
            c.response_due.map(|d| d.to_string()).unwrap_or_default(),
            c.assignee.clone().unwrap_or_default(),
            match &c.triage_reason {
                Some(reason) => format!("triage: {reason}"),
                None if c.status == crate::case::Status::Open
                    && c.response_due.is_some_and(|due| due < today) =>
                {
                    "open, overdue".into()
                }
                None => c.status.to_string(),
            },
        ]);
    }
    println!("{table}");

    let count = |f: &dyn Fn(&Outcome) -> bool| outcomes.iter().filter(|o| f(o)).count();
    let opened = count(&|o| matches!(o, Outcome::Opened { .. }));
    let acked = count(&|o| {
        matches!(
            o,
            Outcome::Opened {
                acknowledged: true,
                ..
            }
        )
    });
    let joined = count(&|o| matches!(o, Outcome::Joined { .. }));
    let filed = count(&|o| matches!(o, Outcome::Filed { .. }));
    println!(
        "{} messages read: {opened} cases opened ({acked} acknowledged), {joined} filed on their case \
         (chasers, automatic replies, bounces, replies), {filed} stored without a case (junk).",
        outcomes.len()
    );
    let sent = crate::store::outbox::list(&mut *app.store.conn().await?, Some("sent")).await?;
    let of = |purpose: &str| sent.iter().filter(|m| m.purpose == purpose).count();
    println!(
        "{} mails written to {}: {} acknowledgements to MP offices, {} notices to caseworkers and managers, \
         {} reminders of deadlines, {} digests for managers.",
        totals.sent,
        dir.join("outbox").display(),
        of("acknowledgement"),
        of("notification"),
        of("reminder"),
        of("digest"),
    );
    println!(
        "Database: {}    Config: {}",
        dir.join("postroom.sqlite").display(),
        dir.join("postroom.toml").display()
    );
    if !args.no_workspace {
        serve(Arc::new(app)).await?;
    } else {
        app.store.close().await;
    }
    Ok(())
}

/// Serves the workspace on the demo's cases until Ctrl-C (or SIGTERM).
async fn serve(app: Arc<App>) -> Result<()> {
    let stop = tokio_util::sync::CancellationToken::new();
    let servers = crate::web::serve(app.clone(), stop.clone()).await?;
    if let Some(web) = &app.config.web {
        println!(
            "\nThe workspace: {}/ (sign in as any of the demo's people; this machine only). Ctrl-C stops it.",
            web.public_url
        );
    }
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r?,
        _ = term.recv() => {}
    }
    stop.cancel();
    for s in servers {
        let _ = s.await;
    }
    app.store.close().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_message_is_built_in() {
        let mut on_disk: Vec<String> =
            std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/mailbox"))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
        on_disk.sort();
        let built_in: Vec<&str> = SAMPLE_MAILBOX.iter().map(|(n, _)| *n).collect();
        assert_eq!(on_disk, built_in);
    }
}
