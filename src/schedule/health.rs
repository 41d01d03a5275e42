//! Never silent: every poll's result is recorded per source, and when no
//! poll of a source has succeeded for `daemon.stall_alert` its health turns
//! red, the log says why, and the admin gets one alert mail (and one more
//! when reading resumes). Peers' users found their intake had stopped days
//! after it did; here the first person to know is the council's IT team.
//!
//! The alert is claimed in the database (`source_health.alerted_at`), so one
//! stall gives one mail however many rounds or instances see it.

use anyhow::Result;
use chrono::{DateTime, Utc};
use serde::Serialize;
use tracing::{error, info, warn};

use crate::app::App;
use crate::compose::Rendered;
use crate::store::health;

/// How a source is doing.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Status {
    pub source: String,
    /// Green: polled successfully within `daemon.stall_alert`.
    pub ok: bool,
    pub last_ok: Option<DateTime<Utc>>,
    pub last_failure: Option<DateTime<Utc>>,
    /// Why the last poll failed (an error message, never mail content).
    pub failure: Option<String>,
    pub alerted_at: Option<DateTime<Utc>>,
}

/// Records a successful poll; if the admin was alerted about a stall, says
/// so in the log and queues the all-clear.
pub async fn poll_ok(app: &App, source: &str) -> Result<()> {
    let now = app.clock.now();
    app.metrics.polled(source, now);
    let mut tx = app.store.begin().await?;
    let alerted = health::poll_ok(&mut tx, source, now).await?;
    if let Some(alerted) = alerted {
        info!(source, since = %alerted, "Reading the source again after a stall.");
        if let Some(admin) = &app.config.admin {
            let rendered = recovered_mail(app, source, alerted, now);
            queue(app, &mut tx, admin, source, &rendered, now).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Records a failed poll and why.
pub async fn poll_failed(app: &App, source: &str, why: &anyhow::Error) -> Result<()> {
    let mut conn = app.store.conn().await?;
    health::poll_failed(&mut conn, source, app.clock.now(), &format!("{why:#}")).await
}

/// Every configured source's health. A source never polled successfully
/// counts from `started` (when the daemon started), or is red at once
/// when `started` is `None` and it has failed.
pub async fn status(app: &App, started: Option<DateTime<Utc>>) -> Result<Vec<Status>> {
    let now = app.clock.now();
    let mut conn = app.store.conn().await?;
    let mut out = Vec::new();
    for source in &app.config.sources {
        let h = health::get(&mut conn, &source.name).await?;
        let (last_ok, last_failure, failure, alerted_at) = match h {
            Some(h) => (h.last_ok, h.last_failure, h.failure, h.alerted_at),
            None => (None, None, None, None),
        };
        let ok = match last_ok.or(started) {
            Some(since) => now - since <= stall(app),
            None => last_failure.is_none(),
        };
        out.push(Status {
            source: source.name.clone(),
            ok,
            last_ok,
            last_failure,
            failure,
            alerted_at,
        });
    }
    Ok(out)
}

/// One round of the watchdog: alerts the admin about every source that has
/// gone red since the last round. Returns the sources alerted about.
pub async fn watch(app: &App, started: DateTime<Utc>) -> Result<Vec<String>> {
    let now = app.clock.now();
    let mut alerted = Vec::new();
    for s in status(app, Some(started)).await? {
        if s.ok || s.alerted_at.is_some() {
            continue;
        }
        let mut tx = app.store.begin().await?;
        if !health::claim_alert(&mut tx, &s.source, now).await? {
            continue;
        }
        let since = s.last_ok.unwrap_or(started);
        let minutes = (now - since).num_minutes();
        error!(
            source = %s.source,
            minutes,
            failure = s.failure.as_deref().unwrap_or("no poll has finished"),
            "No successful poll for longer than daemon.stall_alert: health is red."
        );
        match &app.config.admin {
            Some(admin) => {
                let rendered = stall_mail(app, &s, since, now);
                queue(app, &mut tx, admin, &s.source, &rendered, now).await?;
            }
            None => warn!("No daemon.admin is configured, so nobody is mailed about the stall."),
        }
        tx.commit().await?;
        alerted.push(s.source);
    }
    Ok(alerted)
}

/// Whether postroom runs on this database, as its instances' heartbeats
/// say.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Daemon {
    pub running: bool,
    /// In words: "running: pid 41 on mail1, seen 3 s ago", "stopped on
    /// Monday 30 November 2026 at 17:02", ...
    pub said: String,
    #[serde(serialize_with = "crate::store::ts_format::opt")]
    pub last_seen: Option<DateTime<Utc>>,
}

/// What the instances on record say at `now`: running when one that has
/// not stopped was seen within `gone` (it says so every few seconds); a
/// process that cannot write the database cannot say so either.
pub fn daemon(
    app: &App,
    instances: &[crate::store::outbox::Instance],
    now: DateTime<Utc>,
) -> Daemon {
    let gone = chrono::Duration::from_std(crate::outbox::INSTANCE_GONE).unwrap_or_default();
    let alive: Vec<_> = instances
        .iter()
        .filter(|i| i.stopped_at.is_none() && now - i.seen_at <= gone)
        .collect();
    let last_seen = instances.iter().map(|i| i.seen_at).max();
    if let Some(first) = alive.first() {
        let ago = (now - first.seen_at).num_seconds().max(0);
        let others = match alive.len() {
            1 => String::new(),
            n => format!(" (and {} more instances)", n - 1),
        };
        return Daemon {
            running: true,
            said: format!(
                "running: pid {} on {}, seen {ago} s ago{others}",
                first.pid, first.host
            ),
            last_seen,
        };
    }
    let said = match instances.first() {
        None => "not running: postroom has never run on this database".to_string(),
        Some(i) => match i.stopped_at {
            Some(at) => format!("not running: stopped on {}", local(app, at)),
            None => format!(
                "not running, or unable to write to the database: last seen on {} (pid {} on {})",
                local(app, i.seen_at),
                i.pid,
                i.host
            ),
        },
    };
    Daemon {
        running: false,
        said,
        last_seen,
    }
}

fn stall(app: &App) -> chrono::Duration {
    chrono::Duration::from_std(app.config.stall_alert).unwrap_or(chrono::Duration::MAX)
}

fn local(app: &App, at: DateTime<Utc>) -> String {
    at.with_timezone(&app.config.council.timezone)
        .format("%A %-d %B %Y at %H:%M")
        .to_string()
}

/// "1 minute", "15 minutes".
fn minutes_text(n: i64) -> String {
    if n == 1 {
        "1 minute".into()
    } else {
        format!("{n} minutes")
    }
}

fn stall_mail(app: &App, s: &Status, since: DateTime<Utc>, now: DateTime<Utc>) -> Rendered {
    let minutes = minutes_text((now - since).num_minutes());
    let last = match (&s.last_failure, &s.failure) {
        (Some(at), Some(why)) => format!("The last attempt, on {}, failed: {why}", local(app, *at)),
        _ => "No attempt has finished, successfully or not: the connection may be hanging."
            .to_string(),
    };
    let text = format!(
        "postroom has not read new mail from the source \"{source}\" since {since} \
         ({minutes}; the alert is set at {threshold}).\n\n\
         {last}\n\n\
         Mail that arrives meanwhile is not lost: it stays on the server and is read \
         when postroom can connect again. Until then nothing is acknowledged and no \
         case is opened.\n\n\
         To look into it: `postroom status --config <your postroom.toml>`, and the \
         service's log (journalctl -u postroom).\n\n\
         You will get one more mail when reading resumes, and no other about this stall.\n",
        source = s.source,
        since = local(app, since),
        threshold = minutes_text(stall(app).num_minutes()),
    );
    Rendered {
        subject: format!("postroom: no mail read from \"{}\" for {minutes}", s.source),
        html: text_as_html(&text),
        text,
    }
}

fn recovered_mail(app: &App, source: &str, alerted: DateTime<Utc>, now: DateTime<Utc>) -> Rendered {
    let text = format!(
        "postroom is reading the source \"{source}\" again, as of {}. \
         Mail that arrived during the stall (alerted on {}) is being read now.\n",
        local(app, now),
        local(app, alerted),
    );
    Rendered {
        subject: format!("postroom: reading \"{source}\" again"),
        html: text_as_html(&text),
        text,
    }
}

fn text_as_html(text: &str) -> String {
    let escaped = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    escaped
        .split("\n\n")
        .map(|p| format!("<p>{}</p>", p.trim()))
        .collect::<Vec<_>>()
        .join("\n")
}

async fn queue(
    app: &App,
    tx: &mut crate::store::Tx,
    to: &str,
    source: &str,
    rendered: &Rendered,
    now: DateTime<Utc>,
) -> Result<()> {
    let tag: String = source
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    crate::casework::mail::queue_generated(app, tx, "alert", &tag, to, rendered, now).await?;
    Ok(())
}
