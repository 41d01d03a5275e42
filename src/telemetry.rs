//! Logging: tracing to stderr, human text by default or JSON lines.
//!
//! The level comes from `POSTROOM_LOG` (`info` when unset; any
//! `tracing_subscriber::EnvFilter` directive works). Log lines carry ids
//! (case references, message row ids, outbox ids, source names), never
//! message bodies, names of people or secrets.

use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Installs the subscriber once; later calls do nothing. `default` is the
/// level when `POSTROOM_LOG` is not set.
pub fn init(format: LogFormat, default: &str) {
    let filter =
        EnvFilter::try_from_env("POSTROOM_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
