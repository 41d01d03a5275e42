//! postroom's integration tests: one binary, real services.
//!
//! SQLite files and PostgreSQL databases are fresh per test; the SMTP server
//! is a real aiosmtpd process. A test that needs a service fails when the
//! service is missing: it never passes by skipping. See tests/run-all.sh for
//! the set-up.

mod harness;

mod browser;
mod cli;
mod faults;
mod hostile;
mod imap;
mod letters;
mod oauth;
mod ops;
mod outbox;
mod paraphrase;
mod pipeline;
mod realworld;
mod report;
mod retention;
mod rules;
mod schedule;
mod service;
mod store;
mod web;
mod web_audit;
mod web_figures;
mod web_pages;
mod web_reply;
mod web_search;
mod web_signin;
mod web_strays;
mod webhook;
