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
pub mod assign;
pub mod clocks;
pub mod mail;
pub mod show;
pub mod webhook;

pub use actions::*;
pub use clocks::{Moved, update_calendar};
