//! postroom: the intake daemon for a UK council's MP-enquiries mailbox.
//!
//! A message flows through one module per stage:
//!
//! ```text
//! source ──▶ parse ──▶ classify ──▶ ingest (store + outbox, one transaction) ──▶ outbox worker ──▶ SMTP
//! ```
//!
//! - [`source`]: where raw messages come from (Maildir, a folder of `.eml`).
//! - [`parse`]: mail-parser into one normalised [`parse::Message`].
//! - [`classify`]: the council's rules decide what it is and who it is from.
//! - [`ingest`]: stores the message, writes its case and queues its
//!   acknowledgement in one transaction ([`store`] holds all the SQL).
//! - [`outbox`]: the delivery worker that sends what was queued.
//!
//! See ARCHITECTURE.md for the code map and the invariants.

pub mod app;
pub mod calendar;
pub mod case;
pub mod casework;
pub mod chart;
pub mod classify;
pub mod cli;
pub mod clock;
pub mod compose;
pub mod config;
pub mod daemon;
pub mod deadlines;
pub mod demo;
pub mod eval;
pub mod export;
pub mod extract;
pub mod http;
pub mod ingest;
pub mod message;
pub mod metrics;
pub mod oauth;
pub mod outbox;
pub mod parse;
pub mod problem;
pub mod read;
pub mod report;
pub mod schedule;
pub mod source;
pub mod store;
pub mod telemetry;
pub mod tls;
