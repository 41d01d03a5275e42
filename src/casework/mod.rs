//! What happens to a case, from the message that opens it to the day it
//! closes.
//!
//! ```text
//! (Message, Decision) ──thread──▶ joins a case ──────────────────────▶ Joined
//!                        │
//!                        ├──reply──▶ a council reply answers a case ─▶ Joined
//!                        └──open───▶ triage, reference, clocks,
//!                                    assignment, first mails ─────────▶ Opened
//! a person ──actions──▶ assign · recategorise · pause · resume · answer
//!                       · close · reopen · hold · release · note
//! ```
//!
//! - `thread.rs` finds the case a message belongs to; `open.rs` opens a new
//!   one; `reply.rs` files a caseworker's reply and answers its case.
//! - `actions.rs` is every action a person takes on a case: one function
//!   each, taking who did it and when, writing its event. The command line
//!   calls these, and so will the browser.
//! - `clocks.rs` moves a case's deadlines when its category or the calendar
//!   changes; `assign.rs` picks a new case's team and caseworker;
//!   `mail.rs` writes what postroom mails about a case (acknowledgements,
//!   notices); `webhook.rs` queues a case's events for the council's
//!   webhook; `show.rs` renders cases for people to read.
//!
//! The wing works inside the transaction it is handed and never imports
//! `ingest`: it returns its own small results.

pub mod actions;
pub(crate) mod assign;
pub(crate) mod clocks;
pub(crate) mod export;
pub mod mail;
pub(crate) mod open;
pub(crate) mod reply;
pub mod respond;
pub mod show;
mod show_report;
pub mod strays;
pub(crate) mod thread;
pub(crate) mod webhook;

use chrono::{DateTime, Utc};

use crate::case::Kind;
use crate::classify::Decision;
use crate::parse::Message;

pub use actions::*;
pub use clocks::{Moved, update_calendar};

/// A stored message on its way to a case: what the wing is handed.
#[derive(Debug, Clone, Copy)]
pub struct Arrival<'a> {
    pub message: &'a Message,
    pub decision: &'a Decision,
    /// The stored message's row.
    pub row: i64,
    /// The sender's address, or "" when it has none.
    pub from: &'a str,
    /// Mail from before postroom read the mailbox: filed, runs no clocks,
    /// mails nobody.
    pub history: bool,
    pub received_at: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

/// A new case was opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    pub reference: String,
    pub acknowledged: bool,
    pub triage: bool,
}

/// The message joined an existing case (a chaser, a reply, an automatic
/// reply to the acknowledgement, a bounce, a council reply).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joined {
    pub reference: String,
    pub kind: Kind,
}
