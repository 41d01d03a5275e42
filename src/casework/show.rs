//! What caseworkers and managers read about cases on the command line:
//! a filtered list (table, JSON or CSV) and one case in full (facts,
//! messages with their text, attachments, deadlines, the timeline).

use std::fmt::Write as _;

use anyhow::{Context, Result};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};

use crate::case::Status;
use crate::store::cases::{self, CaseRow};
use crate::store::{Conn, deadlines, messages, ts};

/// How `cases list` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

/// Renders cases as a table, a JSON array or CSV (one row per case, every
/// field).
pub fn render_list(rows: &[CaseRow], format: Format) -> Result<String> {
    match format {
        Format::Json => Ok(serde_json::to_string_pretty(rows)? + "\n"),
        Format::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            for r in rows {
                w.serialize(r)?;
            }
            if rows.is_empty() {
                // The header alone, so that a spreadsheet still sees columns.
                w.write_record(CSV_HEADER)?;
            }
            Ok(String::from_utf8(w.into_inner()?)?)
        }
        Format::Table => {
            let mut table = Table::new();
            table.load_preset(UTF8_FULL_CONDENSED);
            table.set_header([
                "Reference",
                "Received",
                "Status",
                "Service",
                "Urgent",
                "MP",
                "Reply due",
                "Assigned to",
            ]);
            for c in rows {
                let service = match (c.category, c.send_topic) {
                    (Some(cat), Some(topic)) => format!("{cat}: {topic}"),
                    (Some(cat), None) => cat.to_string(),
                    _ => "-".into(),
                };
                let status = match (&c.paused_at, &c.triage_reason) {
                    (Some(_), _) => format!("{} (paused)", c.status),
                    (None, Some(_)) if c.status == Status::Triage => "triage".into(),
                    _ => c.status.to_string(),
                };
                table.add_row([
                    c.reference.clone(),
                    c.received_at.format("%Y-%m-%d").to_string(),
                    status,
                    service,
                    if c.urgent {
                        "yes".into()
                    } else {
                        String::new()
                    },
                    c.mp_name.clone().unwrap_or_else(|| "-".into()),
                    c.response_due.map(|d| d.to_string()).unwrap_or_default(),
                    c.assignee.clone().unwrap_or_default(),
                ]);
            }
            let n = rows.len();
            Ok(format!(
                "{table}\n{n} {}\n",
                if n == 1 { "case" } else { "cases" }
            ))
        }
    }
}

const CSV_HEADER: [&str; 26] = [
    "id",
    "reference",
    "status",
    "kind",
    "triage_reason",
    "category",
    "send_topic",
    "urgent",
    "from_mp_office",
    "mp_name",
    "constituency",
    "mp_reference",
    "correspondent",
    "subject",
    "team",
    "assignee",
    "received_at",
    "acknowledge_due",
    "response_due",
    "acknowledged_at",
    "answered_at",
    "closed_at",
    "paused_at",
    "pause_reason",
    "policy",
    "created_at",
];

/// One case in full, for a person to read.
// Long: one case in full is printed section by section, as a person reads
// it.
pub async fn show(conn: &mut Conn, reference: &str) -> Result<String> {
    let case = cases::by_reference(conn, reference)
        .await?
        .with_context(|| format!("There is no case {reference}"))?;
    let mut out = String::new();
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let or_dash = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    writeln!(out, "{}  {}", case.reference, case.subject)?;
    writeln!(out, "  status          {}", case.status)?;
    if let Some(why) = &case.triage_reason {
        writeln!(out, "  triage          {why}")?;
    }
    if let Some(since) = &case.paused_at {
        writeln!(
            out,
            "  paused          since {}: {}",
            ts(*since),
            opt(&case.pause_reason)
        )?;
    }
    writeln!(out, "  kind            {}", case.kind)?;
    writeln!(
        out,
        "  service         {}{}",
        or_dash(case.category.map(|c| c.to_string())),
        case.send_topic
            .map(|t| format!(": {t}"))
            .unwrap_or_default()
    )?;
    writeln!(
        out,
        "  urgent          {}",
        if case.urgent { "yes" } else { "no" }
    )?;
    writeln!(
        out,
        "  MP              {} ({}){}",
        opt(&case.mp_name),
        opt(&case.constituency),
        if case.from_mp_office {
            ""
        } else {
            ", not from an MP office"
        }
    )?;
    writeln!(out, "  MP reference    {}", opt(&case.mp_reference))?;
    writeln!(out, "  correspondent   {}", case.correspondent)?;
    writeln!(
        out,
        "  team, assignee  {}, {}",
        opt(&case.team),
        opt(&case.assignee)
    )?;
    writeln!(out, "  received        {}", ts(case.received_at))?;
    writeln!(
        out,
        "  acknowledged    {} (due {})",
        or_dash(case.acknowledged_at.map(ts)),
        or_dash(case.acknowledge_due.map(|d| d.to_string()))
    )?;
    writeln!(
        out,
        "  answered        {} (due {})",
        or_dash(case.answered_at.map(ts)),
        or_dash(case.response_due.map(|d| d.to_string()))
    )?;
    if let Some(closed) = &case.closed_at {
        writeln!(out, "  closed          {}", ts(*closed))?;
    }

    let clocks = deadlines::for_case(conn, case.id).await?;
    if !clocks.is_empty() {
        writeln!(out, "\nDeadlines")?;
        for d in clocks {
            writeln!(
                out,
                "  {}  {}{}",
                d.due_on,
                d.name,
                match (&d.met_at, d.next_on) {
                    (Some(at), _) => format!("  (met {at})"),
                    (None, Some(next)) => format!("  (next reminder {next})"),
                    (None, None) => String::new(),
                }
            )?;
        }
    }

    writeln!(out, "\nMessages")?;
    for m in messages::of_case(conn, case.id).await? {
        writeln!(
            out,
            "  #{} {}  from {}  via {}  [{}{}]",
            m.id,
            m.received_at,
            m.from_address,
            m.source,
            m.kind,
            if m.parse_status == "ok" {
                String::new()
            } else {
                format!(", {}", m.parse_status)
            }
        )?;
        writeln!(out, "    subject: {}", m.subject)?;
        if let Ok(decision) = serde_json::from_str::<serde_json::Value>(&m.decision)
            && let Some(rules) = decision.get("matched_rules").and_then(|r| r.as_array())
        {
            let names: Vec<&str> = rules.iter().filter_map(|r| r.as_str()).collect();
            writeln!(out, "    rules: {}", names.join(", "))?;
        }
        for p in messages::parts(conn, m.id).await? {
            writeln!(
                out,
                "    {} ({}, {} bytes){}{}",
                p.name,
                p.content_type,
                p.size,
                p.text_source
                    .as_deref()
                    .map(|s| format!(", text from {s}"))
                    .unwrap_or_default(),
                p.note
                    .as_deref()
                    .map(|n| format!(", {n}"))
                    .unwrap_or_default()
            )?;
            if let Some(text) = &p.text {
                for line in text.lines().filter(|l| !l.trim().is_empty()).take(40) {
                    writeln!(out, "      | {line}")?;
                }
            }
        }
    }

    writeln!(out, "\nTimeline")?;
    for e in cases::events(conn, case.id).await? {
        writeln!(
            out,
            "  {}  {:<16} {:<24} {}",
            e.at, e.kind, e.actor, e.detail
        )?;
    }
    Ok(out)
}

pub use super::show_report::render_report;
