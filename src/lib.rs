//! postroom: the intake daemon for a UK council's MP-enquiries mailbox.
//!
//! The modules follow the flow of a message:
//!
//! ```text
//! source ──▶ read ──▶ ingest ──▶ casework ──▶ outbox ──▶ SMTP, webhook
//!                                   ▲
//!                        schedule ──┘ (reminders, digests, retention, watchdog)
//! ```
//!
//! - The flow: [`source`] (IMAP, folders, letters) yields raw messages;
//!   [`read`] turns bytes into a [`parse::Message`] and a
//!   [`classify::Decision`]; [`ingest`] stores a batch in one transaction
//!   and hands each message to [`casework`], which finds or opens its case
//!   and queues the mail; [`outbox`] sends it. [`schedule`] runs beside, by
//!   the clock. All SQL is in [`store`].
//! - The edges: [`cli`] (the `postroom` command, with `demo` and `eval`),
//!   [`daemon`] (the supervisor and its loops), `http` (health and
//!   metrics), [`web`] (the caseworkers' workspace in the browser).
//! - The base: [`config`], [`classify`], [`parse`], [`extract`],
//!   [`calendar`], [`deadlines`], [`compose`], [`report`], the domain's
//!   words in [`case`], and [`clock`], the only reader of the wall clock.
//!
//! ARCHITECTURE.md has the code map and the invariants.

pub mod app;
pub mod calendar;
pub mod case;
pub mod casework;
pub mod classify;
pub mod cli;
pub mod clock;
pub mod compose;
pub mod config;
pub mod daemon;
pub mod deadlines;
pub mod extract;
pub mod faults;
mod http;
pub mod ingest;
pub mod message;
mod metrics;
mod oauth;
pub mod outbox;
pub mod parse;
mod problem;
pub mod read;
pub mod report;
pub mod schedule;
pub mod source;
pub mod spool;
pub mod store;
pub mod telemetry;
mod tls;
pub mod web;
