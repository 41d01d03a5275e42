//! `postroom status`: whether postroom runs on this database, how each
//! source is doing, and what the running daemon says is failing now.
//!
//! Three views, one verdict: the instances' heartbeats (a daemon that has
//! stopped, or cannot write the database, stops beating), each source's
//! recorded polls, and, when `[http]` is set, the daemon's own `/readyz`,
//! which knows faults the database could not record (its disk is full).
//! The exit status is 0 only when all three are green.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use serde::Serialize;

use super::prepare;
use crate::app::App;
use crate::clock;
use crate::schedule::health;

/// A fault as the daemon's `/readyz` reports it.
#[derive(Debug, Clone, Serialize)]
struct LiveFault {
    stage: String,
    since: String,
    why: String,
}

/// What the daemon's endpoint said.
#[derive(Debug, Clone, Serialize)]
struct Live {
    url: String,
    /// `None` when nothing answered.
    ready: Option<bool>,
    faults: Vec<LiveFault>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Serialize)]
struct Report {
    ok: bool,
    daemon: health::Daemon,
    sources: Vec<health::Status>,
    #[serde(skip_serializing_if = "Option::is_none")]
    endpoint: Option<Live>,
}

pub(super) async fn status(config: &Path, json: bool) -> Result<ExitCode> {
    let app = App::start(prepare(config)?, clock::system()).await?;
    let now = app.clock.now();
    let mut sources = health::status(&app, None).await?;
    let instances = {
        let mut conn = app.store.conn().await?;
        crate::store::outbox::instances(&mut conn).await?
    };
    app.store.close().await;
    let daemon = health::daemon(&app, &instances, now);
    let endpoint = match app.config.http {
        Some(addr) if daemon.running => Some(readyz(addr).await),
        _ => None,
    };
    // A source the daemon itself finds failing is red, whatever the
    // database could record.
    if let Some(live) = &endpoint {
        for s in &mut sources {
            if let Some(f) = live
                .faults
                .iter()
                .find(|f| f.stage == format!("source {}", s.source))
            {
                s.ok = false;
                s.failure = Some(f.why.clone());
            }
        }
    }
    let ok = daemon.running
        && sources.iter().all(|s| s.ok)
        && endpoint.as_ref().is_none_or(|l| l.ready != Some(false));
    let report = Report {
        ok,
        daemon,
        sources,
        endpoint,
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_text(&report);
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print_text(r: &Report) {
    let when = |t: &Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| {
            crate::store::ts(t)
                .get(..16)
                .unwrap_or("")
                .replace('T', " ")
        })
        .unwrap_or_else(|| "never".into())
    };
    println!(
        "postroom: {}{}",
        if r.daemon.running { "" } else { "RED: " },
        r.daemon.said
    );
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    // Fits a terminal's width (comfy-table asks the terminal itself).
    table.set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
    table.set_header([
        "Source",
        "Health",
        "Last good poll (UTC)",
        "Last failure (UTC)",
        "Why",
    ]);
    for s in &r.sources {
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
    if let Some(live) = &r.endpoint {
        match (live.ready, &live.error) {
            (None, Some(e)) => println!("The daemon's endpoint {} does not answer: {e}", live.url),
            _ if live.faults.is_empty() => {
                println!("The daemon reports no fault ({}).", live.url)
            }
            _ => {
                println!("RED: the daemon reports, now ({}):", live.url);
                for f in &live.faults {
                    println!("  {} (since {}): {}", f.stage, f.since, f.why);
                }
            }
        }
    }
}

/// The daemon's `/readyz` on this machine.
async fn readyz(addr: std::net::SocketAddr) -> Live {
    let url = format!("http://{addr}/readyz");
    // Plain HTTP on loopback; the TLS set-up is only what reqwest needs
    // to build a client.
    let client = crate::tls::client_config(None).and_then(|tls| {
        Ok(reqwest::Client::builder()
            .use_preconfigured_tls((*tls).clone())
            .timeout(std::time::Duration::from_secs(3))
            .no_proxy()
            .build()?)
    });
    let answer = match client {
        Ok(c) => c.get(&url).send().await,
        Err(e) => {
            return Live {
                url,
                ready: None,
                faults: Vec::new(),
                error: Some(e.to_string()),
            };
        }
    };
    let body = match answer {
        Ok(a) => a.json::<serde_json::Value>().await,
        Err(e) => Err(e),
    };
    match body {
        Ok(v) => Live {
            ready: v["ready"].as_bool(),
            faults: v["faults"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|f| LiveFault {
                            stage: f["stage"].as_str().unwrap_or("").into(),
                            since: f["since"].as_str().unwrap_or("").into(),
                            why: f["why"].as_str().unwrap_or("").into(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            error: None,
            url,
        },
        Err(e) => Live {
            url,
            ready: None,
            faults: Vec::new(),
            error: Some(e.without_url().to_string()),
        },
    }
}
