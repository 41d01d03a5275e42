//! The caseworkers' and managers' commands: `cases`, `report`, `calendar
//! update` and `digest --preview`.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use super::{CasesCommand, actor, prepare};
use crate::app::App;
use crate::clock;

// Long: one arm per `postroom cases` subcommand, each a call to one casework
// action and its printed answer.
pub(super) async fn cases(config: &Path, command: CasesCommand) -> Result<ExitCode> {
    use crate::casework;
    let prepared = prepare(config)?;
    let app = App::start(prepared, clock::system()).await?;
    let who = actor();
    let now = app.clock.now();
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
            // A filter that can match nothing is a mistake, not "0 cases".
            if let Some(s) = &status
                && crate::case::Status::parse(s).is_none()
            {
                anyhow::bail!("{s:?} is not a status: {}", crate::case::Status::names());
            }
            if let Some(c) = &category
                && crate::case::Category::parse(c).is_none()
            {
                anyhow::bail!(
                    "{c:?} is not a category: {}",
                    crate::case::Category::names()
                );
            }
            if let Some(t) = &team
                && app.config.team(t).is_none()
            {
                let names: Vec<&str> = app.config.teams.iter().map(|t| t.name.as_str()).collect();
                anyhow::bail!("{t:?} is not a team of the config: {}", names.join(", "));
            }
            let today = app.calendar().local_date(app.clock.now());
            let filter = crate::store::lists::Filter {
                status,
                team,
                assignee,
                category,
                mp,
                overdue_on: overdue.then_some(today),
                due_before,
            };
            let rows = crate::store::lists::list(&mut *app.store.conn().await?, &filter).await?;
            print!("{}", crate::casework::show::render_list(&rows, format)?);
        }
        CasesCommand::Show { reference } => {
            let text =
                crate::casework::show::show(&mut *app.store.conn().await?, &reference).await?;
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
            let case = casework::assign(&app, &reference, &to, &who, now).await?;
            println!(
                "{reference}: assigned to {} ({}); they are told by mail.",
                to,
                case.team.as_deref().unwrap_or("no team")
            );
        }
        CasesCommand::Recategorise {
            reference,
            kind,
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
            let correction = casework::Correction {
                kind: kind.as_deref(),
                category: category.as_deref(),
                send_topic: send_topic.as_deref(),
                urgent,
            };
            let case = casework::recategorise(&app, &reference, &correction, &who, now).await?;
            println!(
                "{reference}: now {}{}{}.",
                case.category.map_or("-", |c| c.as_str()),
                case.send_topic
                    .map(|t| format!(": {t}"))
                    .unwrap_or_default(),
                if case.urgent { ", urgent" } else { "" }
            );
        }
        CasesCommand::Note { reference, text } => {
            casework::note(&app, &reference, &text, &who, now).await?;
            println!("{reference}: note added.");
        }
        CasesCommand::Reopen { reference } => {
            casework::reopen(&app, &reference, &who, now).await?;
            println!("{reference}: open again.");
        }
        CasesCommand::Pause { reference, reason } => {
            casework::pause(&app, &reference, &reason, &who, now).await?;
            println!("{reference}: clocks paused ({reason}).");
        }
        CasesCommand::Resume { reference } => {
            let moved = casework::resume(&app, &reference, &who, now).await?;
            println!("{reference}: clocks running again.");
            for m in moved {
                println!("  {}: due {} (was {})", m.name, m.to, m.from);
            }
        }
        CasesCommand::Answer { reference, at } => {
            let at = at
                .as_deref()
                .map(|s| crate::casework::actions::given_time(s, now))
                .transpose()?;
            casework::answer(&app, &reference, at, &who, now).await?;
            println!("{reference}: answered; reminders stopped.");
        }
        CasesCommand::Close { reference } => {
            casework::close(&app, &reference, &who, now).await?;
            println!("{reference}: closed.");
        }
        CasesCommand::Hold { reference, reason } => {
            casework::hold(&app, &reference, Some(&reason), &who, now).await?;
            println!("{reference}: on hold ({reason}); retention keeps it.");
        }
        CasesCommand::Release { reference } => {
            casework::release(&app, &reference, &who, now).await?;
            println!("{reference}: hold lifted.");
        }
    }
    app.store.close().await;
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn report(
    config: &Path,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    by: crate::report::By,
    format: crate::casework::show::Format,
    chart: Option<&Path>,
) -> Result<ExitCode> {
    if to < from {
        bail!("--to {to} is before --from {from}");
    }
    let prepared = prepare(config)?;
    let app = App::start(prepared, clock::system()).await?;
    let calendar = app.calendar();
    let today = calendar.local_date(app.clock.now());
    let report =
        crate::report::of_store(&app.store, &calendar, (from, to), by, today, None).await?;
    print!("{}", crate::casework::show::render_report(&report, format)?);
    if let Some(path) = chart {
        std::fs::write(path, crate::report::chart(&report))
            .with_context(|| format!("Cannot write {}", path.display()))?;
        eprintln!("Chart written to {}", path.display());
    }
    app.store.close().await;
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn accuracy(
    config: &Path,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    format: crate::casework::show::Format,
) -> Result<ExitCode> {
    use crate::casework::show::Format;
    if to < from {
        bail!("--to {to} is before --from {from}");
    }
    let prepared = prepare(config)?;
    let app = App::start(prepared, clock::system()).await?;
    let (rows, corrections) = {
        let mut conn = app.store.conn().await?;
        (
            crate::store::cases::all(&mut conn).await?,
            crate::store::figures::corrections(&mut conn).await?,
        )
    };
    app.store.close().await;
    let accuracy = crate::report::accuracy::build(&rows, &corrections, from, to);
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&accuracy)?),
        Format::Table => print!("{}", crate::report::accuracy::render(&accuracy)),
        Format::Csv => bail!("--accuracy prints a table or JSON (--format table or json)"),
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn calendar_update(config: &Path, file: &Path) -> Result<ExitCode> {
    let feed =
        std::fs::read_to_string(file).with_context(|| format!("Cannot read {}", file.display()))?;
    let prepared = prepare(config)?;
    let app = App::start(prepared, clock::system()).await?;
    let moves = crate::casework::update_calendar(&app, &feed, &actor()).await?;
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

pub(super) async fn digest_preview(
    config: &Path,
    weekly: bool,
    manager: Option<&str>,
    html: Option<&Path>,
) -> Result<ExitCode> {
    use crate::schedule::digest;
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
            std::fs::write(path, &d.rendered.html)
                .with_context(|| format!("Cannot write {}", path.display()))?;
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

#[cfg(test)]
mod tests {
    use crate::casework::actions::given_time as parse_when;

    #[test]
    fn a_day_is_noon_in_london_but_never_later_than_now() {
        let now = "2026-12-01T09:30:00Z".parse().unwrap();
        assert_eq!(parse_when("2026-12-01", now).unwrap(), now);
        assert_eq!(
            parse_when("2026-11-30", now).unwrap().to_rfc3339(),
            "2026-11-30T12:00:00+00:00"
        );
        assert_eq!(
            parse_when("2026-07-01", now).unwrap().to_rfc3339(),
            "2026-07-01T11:00:00+00:00"
        );
        assert!(parse_when("yesterday", now).is_err());
    }
}
