//! `postroom report` as text: the figures, the periods' table, the
//! breakdowns, and what the managers' figures add.

use std::fmt::Write;

use anyhow::Result;
use comfy_table::Table;
use comfy_table::presets::UTF8_FULL_CONDENSED;

use super::show::Format;

/// Renders a report: a readable summary and tables, the periods as CSV, or
/// everything as JSON.
// Long: the report is printed table by table, in the order a committee reads
// it.
pub fn render_report(r: &crate::report::Report, format: Format) -> Result<String> {
    let opt = |v: Option<f64>| v.map(|v| format!("{v}")).unwrap_or_else(|| "-".into());
    match format {
        Format::Json => Ok(serde_json::to_string_pretty(r)? + "\n"),
        Format::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            for p in r.periods.iter().chain(std::iter::once(&r.total)) {
                w.serialize(p)?;
            }
            Ok(String::from_utf8(w.into_inner()?)?)
        }
        Format::Table => {
            let mut out = String::new();
            let t = &r.total;
            writeln!(out, "MP referrals received {} to {}", r.from, r.to)?;
            writeln!(
                out,
                "  received             {} ({} from MP offices)",
                t.received, t.from_mp_offices
            )?;
            writeln!(
                out,
                "  acknowledged         {}: median {} h, 90th percentile {} h",
                t.acknowledged,
                opt(t.acknowledge_hours_median),
                opt(t.acknowledge_hours_p90)
            )?;
            writeln!(
                out,
                "  answered             {}: median {} working days, 90th percentile {}",
                t.answered,
                opt(t.response_working_days_median),
                opt(t.response_working_days_p90)
            )?;
            writeln!(
                out,
                "  answered in time     {} ({}%)",
                t.answered_in_time,
                opt(t.answered_in_time_percent)
            )?;
            writeln!(
                out,
                "  open at the end      {1} ({2} overdue on {0})",
                r.to, t.open_at_end, t.overdue_at_end
            )?;
            writeln!(
                out,
                "  chasers              {} ({} per case)",
                t.chasers,
                opt(t.chasers_per_case)
            )?;
            match &r.trend {
                Some(tr) => {
                    writeln!(
                        out,
                        "  trend                {:+}% a year ({:+} referrals a {} by least squares)",
                        tr.change_per_year_percent,
                        tr.slope_per_period,
                        match r.by {
                            crate::report::By::Month => "month",
                            crate::report::By::Week => "week",
                        }
                    )?;
                    writeln!(
                        out,
                        "                       {:+} a month (95% interval {:+} to {:+}): {}; {} over the range",
                        tr.slope_per_month,
                        tr.slope_per_month_low,
                        tr.slope_per_month_high,
                        if tr.significant {
                            "a real change, not noise"
                        } else {
                            "could be noise"
                        },
                        tr.change_over_range_percent
                            .map_or("-".to_string(), |c| format!("{c:+}%"))
                    )?;
                }
                None => writeln!(out, "  trend                - (fewer than three periods)")?,
            }
            let mut table = Table::new();
            table.load_preset(UTF8_FULL_CONDENSED);
            table.set_header([
                "Period",
                "Received",
                "Answered",
                "In time %",
                "Median days",
                "P90 days",
                "Open at end",
                "Overdue at end",
                "Chasers/case",
            ]);
            for p in &r.periods {
                table.add_row([
                    p.period.clone(),
                    p.received.to_string(),
                    p.answered.to_string(),
                    opt(p.answered_in_time_percent),
                    opt(p.response_working_days_median),
                    opt(p.response_working_days_p90),
                    p.open_at_end.to_string(),
                    p.overdue_at_end.to_string(),
                    opt(p.chasers_per_case),
                ]);
            }
            writeln!(out, "\n{table}")?;
            let breakdown = |out: &mut String,
                             title: &str,
                             m: &std::collections::BTreeMap<String, usize>|
             -> Result<()> {
                if m.is_empty() {
                    return Ok(());
                }
                let mut v: Vec<(&String, &usize)> = m.iter().collect();
                v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
                writeln!(out, "\n{title}")?;
                for (k, n) in v {
                    writeln!(out, "  {n:>6}  {k}")?;
                }
                Ok(())
            };
            let years: std::collections::BTreeMap<String, usize> = r
                .per_year
                .iter()
                .map(|(y, n)| (y.to_string(), *n))
                .collect();
            breakdown(&mut out, "By year", &years)?;
            breakdown(&mut out, "By MP", &r.by_mp)?;
            breakdown(&mut out, "By constituency", &r.by_constituency)?;
            breakdown(&mut out, "By category", &r.by_category)?;
            breakdown(&mut out, "By SEND topic", &r.by_send_topic)?;
            more_of_report(&mut out, r)?;
            Ok(out)
        }
    }
}

/// What the managers' figures add to the report's tables: in target by
/// service and team, chasers by MP office, what is open now and the
/// statutory SEND clocks.
fn more_of_report(out: &mut String, r: &crate::report::Report) -> Result<()> {
    let table = |header: &[&str], rows: Vec<Vec<String>>| {
        let mut t = Table::new();
        t.load_preset(UTF8_FULL_CONDENSED);
        t.set_header(header.to_vec());
        for row in rows {
            t.add_row(row);
        }
        t
    };
    let shares =
        |v: &[crate::report::now::Share]| v.iter().map(|s| s.cells(s.name.clone(), "-")).collect();
    let in_target = [
        "",
        "Received",
        "Acknowledged in target",
        "Answered",
        "Answered in time",
        "In time %",
    ];
    for (title, first, v) in [
        ("In target by service", "Service", &r.in_target_by_service),
        ("In target by team", "Team", &r.in_target_by_team),
    ] {
        let mut header = in_target;
        header[0] = first;
        writeln!(out, "\n{title}\n{}", table(&header, shares(v)))?;
    }
    let chased = r.chasers_by_mp.iter().map(|c| c.cells("-")).collect();
    writeln!(
        out,
        "\nChasers by MP office\n{}",
        table(&["MP", "Cases", "Chasers", "Per case"], chased)
    )?;
    let n = &r.now;
    let today = n.today.map(|d| d.to_string()).unwrap_or_default();
    writeln!(
        out,
        "\nOpen now ({today}): {} ({} overdue, {} unassigned, {} paused)",
        n.open, n.overdue, n.unassigned, n.paused
    )?;
    let loads = |v: &[crate::report::now::Load]| v.iter().map(|l| l.cells()).collect();
    let header = ["", "Open", "Overdue", "Unassigned", "Paused"];
    for (first, v) in [("Team", &n.by_team), ("Caseworker", &n.by_caseworker)] {
        let mut h = header;
        h[0] = first;
        writeln!(out, "{}", table(&h, loads(v)))?;
    }
    for (why, k) in &n.paused_why {
        writeln!(
            out,
            "  paused: {k:>4}  {}",
            if why.is_empty() {
                "(no reason given)"
            } else {
                why
            }
        )?;
    }
    let waits = n.waiting.iter().map(|w| w.cells("-")).collect();
    writeln!(
        out,
        "{}",
        table(&["Waiting", "Cases", "Median days", "Oldest days"], waits)
    )?;
    let clocks = n.clocks.iter().map(|c| c.cells()).collect();
    writeln!(
        out,
        "\nStatutory SEND clocks\n{}",
        table(
            &["Clock", "Due in 10 working days", "Missed in the range"],
            clocks
        )
    )?;
    Ok(())
}
