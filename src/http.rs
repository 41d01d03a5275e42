//! The daemon's HTTP endpoint, on a loopback address (`[http] listen`):
//!
//! - `/healthz`: liveness. 200 while the process's runtime answers.
//! - `/readyz`: 200 when the database answers, no stage of the daemon has
//!   a current fault (see [`crate::faults`]: a database that cannot be
//!   written, a source that cannot be read, ...), and every source has made
//!   progress within `daemon.stall_alert`; else 503, with which part is
//!   down and why. A body in JSON either way; `postroom status` reads it.
//! - `/metrics`: Prometheus text format (see [`crate::metrics`]).
//!
//! Nothing here reveals a message, a case or a person: only states,
//! counts, source names and error classes.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_util::sync::CancellationToken;
use tracing::{error, info};

use crate::app::App;

#[derive(Clone)]
struct Ctx {
    app: Arc<App>,
    started: DateTime<Utc>,
}

/// Binds `addr` and serves until `stop` is cancelled. Binding is done
/// before this returns, so a taken port fails the start.
pub async fn serve(
    app: Arc<App>,
    addr: SocketAddr,
    stop: CancellationToken,
) -> Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("Cannot listen on {addr} (http.listen)"))?;
    let started = app.clock.now();
    let router = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(Ctx { app, started });
    info!(%addr, "Health and metrics endpoint listening.");
    Ok(tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await
        {
            error!(error = %e, "The health and metrics endpoint stopped.");
        }
    }))
}

async fn healthz() -> impl IntoResponse {
    (StatusCode::OK, "ok\n")
}

#[derive(Serialize)]
struct Readiness {
    ready: bool,
    /// The database answers a read.
    database: bool,
    /// The database takes writes: no stage has failed to write it since
    /// its last success.
    storage: bool,
    sources: Vec<SourceReadiness>,
    /// What is failing in this process now, stage by stage (sources, the
    /// delivery worker, the heartbeat, the schedule, the watchdog).
    faults: Vec<crate::faults::Fault>,
}

#[derive(Serialize)]
struct SourceReadiness {
    source: String,
    ready: bool,
    last_ok: Option<DateTime<Utc>>,
    /// Why not ready: the last poll's error, or that none has finished.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

async fn readyz(State(ctx): State<Ctx>) -> impl IntoResponse {
    let database = ctx.app.store.ping().await;
    let mut sources = Vec::new();
    if database {
        match crate::schedule::health::status(&ctx.app, Some(ctx.started)).await {
            Ok(statuses) => {
                for s in statuses {
                    let polled_since_failure = match (s.last_ok, s.last_failure) {
                        (Some(ok), Some(failed)) => ok >= failed,
                        (Some(_), None) => true,
                        (None, _) => false,
                    };
                    let ready = s.ok && polled_since_failure;
                    let reason = (!ready).then(|| match (&s.failure, s.last_ok) {
                        (Some(why), _) if !polled_since_failure => why.clone(),
                        (_, None) => "no poll has finished yet".into(),
                        _ => "no successful poll within daemon.stall_alert".into(),
                    });
                    sources.push(SourceReadiness {
                        source: s.source,
                        ready,
                        last_ok: s.last_ok,
                        reason,
                    });
                }
            }
            Err(e) => error!(error = format!("{e:#}"), "Cannot read the sources' health."),
        }
    }
    let faults = ctx.app.faults.current();
    let storage = !faults.iter().any(|f| f.storage);
    // A source's own fault (recorded in memory even when the database
    // could not record it) makes it not ready.
    for s in &mut sources {
        if let Some(f) = faults
            .iter()
            .find(|f| f.stage == format!("source {}", s.source))
        {
            s.ready = false;
            s.reason = Some(f.why.clone());
        }
    }
    let ready = database
        && faults.is_empty()
        && sources.len() == ctx.app.config.sources.len()
        && sources.iter().all(|s| s.ready);
    let code = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = Readiness {
        ready,
        database,
        storage,
        sources,
        faults,
    };
    (code, axum::Json(body))
}

async fn metrics(State(ctx): State<Ctx>) -> impl IntoResponse {
    let (depth, oldest) = match outbox_figures(&ctx.app).await {
        Ok(f) => f,
        Err(e) => {
            error!(
                error = format!("{e:#}"),
                "Cannot read the outbox for /metrics."
            );
            return (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response();
        }
    };
    let body = ctx.app.metrics.render(depth, oldest);
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

async fn outbox_figures(app: &App) -> Result<(i64, std::time::Duration)> {
    let mut conn = app.store.conn().await?;
    let (depth, oldest) = crate::store::outbox::waiting(&mut conn).await?;
    let age = oldest
        .map(|t| (app.clock.now() - t).to_std().unwrap_or_default())
        .unwrap_or_default();
    Ok((depth, age))
}
