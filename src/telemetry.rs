//! Logging: tracing to stderr, human text by default or JSON lines.
//!
//! The level comes from `POSTROOM_LOG` (`info` when unset; any
//! `tracing_subscriber::EnvFilter` directive works). Log lines carry ids
//! (case references, message row ids, outbox ids, source names), never
//! message bodies, names of people or secrets; the libraries that would log
//! wire data are held at info (see [`WIRE_LOGGERS`]).

use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Libraries that log what goes over the wire at debug or trace: IMAP
/// commands (LOGIN with its password, AUTHENTICATE with its token), SMTP
/// transcripts, HTTP requests to the token endpoint, message bytes. They
/// are held at info whatever `POSTROOM_LOG` says, so that no level ever
/// writes a secret or a message to the log.
const WIRE_LOGGERS: &[&str] = &[
    "async_imap",
    "imap_proto",
    "lettre",
    "hyper",
    "hyper_util",
    "h2",
    "reqwest",
    "rustls",
    "tokio_rustls",
];

/// Installs the subscriber once; later calls do nothing. `default` is the
/// level when `POSTROOM_LOG` is not set.
pub fn init(format: LogFormat, default: &str) {
    let mut filter =
        EnvFilter::try_from_env("POSTROOM_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    for target in WIRE_LOGGERS {
        if let Ok(directive) = format!("{target}=info").parse() {
            filter = filter.add_directive(directive);
        }
    }
    // Colour only for a person at a terminal: a log file or the journal
    // gets plain text, not escape codes.
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
