//! Configuration: one TOML file, read into a raw serde mirror, then checked
//! into a [`Config`] of ready-to-use values.
//!
//! Every error names the file, the line and what is wrong, and all of them are
//! reported at once. Secrets (passwords, database URLs with credentials) are
//! never read from the TOML itself: a key such as `password_env` or
//! `password_file` names where they are.
//!
//! Relative paths are relative to the folder of the config file.

use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{NaiveDate, NaiveTime};
use chrono_tz::Tz;
use secrecy::SecretString;

use crate::calendar::Division;
use crate::problem::{self};

pub use crate::problem::{Problem as ConfigError, Problems as ConfigErrors};
pub use web::{Oidc, Web, WebRole};

mod casework;
mod check;
mod delivery;
mod load;
mod ops;
mod places;
mod raw;
mod sources;
mod web;

pub use ops::{Keep, Retention};
pub use places::{Need, Place, preflight};

use check::*;

#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from (`None` for the demo's built-in config).
    pub file: Option<PathBuf>,
    /// The places on disk `run` reads and writes, with their lines
    /// (checked by [`preflight`]).
    pub places: Vec<Place>,
    pub council: Council,
    pub database: Database,
    /// `None`: the rules built into the binary.
    pub rules_dir: Option<PathBuf>,
    /// `None`: the templates built into the binary.
    pub templates_dir: Option<PathBuf>,
    /// `None`: an empty directory (no MP offices known).
    pub directory: Option<PathBuf>,
    /// Where attachments and OCR pages are written while mail is read
    /// ([`crate::spool`]).
    pub spool: PathBuf,
    pub sources: Vec<SourceConfig>,
    pub delivery: Delivery,
    pub policy: Policy,
    pub acknowledgements_per_sender_per_hour: u32,
    pub poll_interval: Duration,
    pub shutdown_timeout: Duration,
    /// No successful poll of a source for this long: health red, one alert.
    pub stall_alert: Duration,
    /// Who gets the alert mails (the council's IT team).
    pub admin: Option<String>,
    pub extract: Extract,
    /// Who cases go to, by category.
    pub teams: Vec<Team>,
    /// Where OAuth2 tokens come from, for IMAP and SMTP (XOAUTH2).
    pub oauth: Option<crate::oauth::OAuthConfig>,
    pub reminders: Reminders,
    pub digests: Digests,
    /// Holding-reply phrases, lower case.
    pub holding_phrases: Vec<String>,
    pub webhook: Option<Webhook>,
    /// Where `/healthz`, `/readyz` and `/metrics` are served (loopback).
    pub http: Option<std::net::SocketAddr>,
    /// The caseworkers' workspace in the browser (`[web]`).
    pub web: Option<web::Web>,
    pub retention: Retention,
}

/// Where case events are POSTed, and the key that signs them.
#[derive(Clone)]
pub struct Webhook {
    pub url: String,
    pub secret: SecretString,
    pub events: Vec<String>,
    pub timeout: Duration,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("url", &self.url)
            .field("secret", &"[redacted]")
            .field("events", &self.events)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// A team of caseworkers and the categories of case it takes.
#[derive(Debug, Clone)]
pub struct Team {
    pub name: String,
    pub categories: Vec<crate::case::Category>,
    pub default: bool,
    /// Gets the notices of urgent cases and the digests.
    pub manager: Option<String>,
    /// Caseworkers' addresses, in the order round-robin takes them.
    pub members: Vec<String>,
    pub assign: Assign,
}

/// How a team's new cases are shared among its members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assign {
    /// Each member in turn.
    RoundRobin,
    /// The member with the fewest open cases.
    Caseload,
}

impl Config {
    /// The team a case of `category` goes to: the one whose categories name
    /// it, else the default team.
    pub fn team_for(&self, category: Option<crate::case::Category>) -> Option<&Team> {
        category
            .and_then(|c| self.teams.iter().find(|t| t.categories.contains(&c)))
            .or_else(|| self.teams.iter().find(|t| t.default))
    }

    pub fn team(&self, name: &str) -> Option<&Team> {
        self.teams.iter().find(|t| t.name == name)
    }

    /// Whether the config knows `address` as one of the council's people
    /// who work cases: a member or manager of a `[[team]]`; with no teams
    /// set up, any address at the council's own domains. Cases are assigned,
    /// and notices about them mailed, only to such people.
    pub fn knows_person(&self, address: &str) -> bool {
        if self.teams.is_empty() {
            return crate::classify::at_domains(&self.council.domains, address);
        }
        self.teams.iter().any(|t| {
            t.members.iter().any(|m| m.eq_ignore_ascii_case(address))
                || t.manager
                    .as_deref()
                    .is_some_and(|m| m.eq_ignore_ascii_case(address))
        })
    }
}

/// How far attachment readers may go (see `extract`).
#[derive(Debug, Clone, Copy)]
pub struct Extract {
    /// Wall time of one tool run.
    pub timeout: Duration,
    /// Address space of one tool run.
    pub memory_mb: u64,
    /// Pages of a scanned PDF read by OCR.
    pub ocr_pages: u32,
    /// HTML parts larger than this (bytes) are stripped of tags in one
    /// pass instead of being laid out.
    pub html_layout: usize,
}

#[derive(Debug, Clone)]
pub struct Council {
    pub name: String,
    /// The MP-enquiries mailbox: acknowledgements come from it.
    pub mailbox: String,
    pub display_name: String,
    /// The council's own domains, lower case (the mailbox's included).
    pub domains: Vec<String>,
    pub reference_prefix: String,
    pub legacy_reference: Option<String>,
    pub authserv_id: Option<String>,
    pub message_id_domain: String,
    /// A link to a case in the council's own system, with `{reference}`.
    pub case_url: Option<String>,
    pub timezone: Tz,
    pub division: Division,
    pub cutoff: NaiveTime,
    pub closure_days: BTreeSet<NaiveDate>,
}

#[derive(Clone)]
pub struct Database {
    pub url: SecretString,
    pub max_connections: u32,
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Database")
            .field("url", &"[redacted]")
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceKind {
    Maildir,
    EmlDir,
    Imap,
    /// The post room's folder of scanned letters.
    Letters,
}

#[derive(Debug, Clone)]
pub struct SourceConfig {
    pub name: String,
    pub kind: SourceKind,
    /// The folder of a folder source (empty for IMAP).
    pub path: PathBuf,
    /// Where stored files go (`eml_dir` with `after = "move"`).
    pub done: Option<PathBuf>,
    /// The mailbox of an IMAP source.
    pub imap: Option<Imap>,
}

/// An IMAP mailbox to read.
#[derive(Clone)]
pub struct Imap {
    pub host: String,
    pub port: u16,
    pub tls: Tls,
    /// The login name; for XOAUTH2 the (shared) mailbox's address.
    pub username: String,
    pub auth: ImapAuth,
    pub folders: Vec<String>,
    pub mark: Mark,
    /// Mail that arrived before this is imported as history (no
    /// acknowledgements, no notices); `None`: the moment postroom first
    /// connects.
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    pub idle: bool,
    /// IDLE is re-issued after this (Exchange ends it after about 29 min).
    pub idle_timeout: Duration,
    /// Every IMAP command must complete within this.
    pub command_timeout: Duration,
    /// Most bytes of message bodies fetched in one round.
    pub batch_bytes: u64,
    pub ca_pem: Option<Vec<u8>>,
}

impl fmt::Debug for Imap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Imap")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("folders", &self.folders)
            .finish()
    }
}

#[derive(Clone)]
pub enum ImapAuth {
    Password(SecretString),
    /// SASL XOAUTH2 with a token from `[oauth]`.
    OAuth2,
}

/// What happens on the server to a message once it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mark {
    /// Set \Seen and this keyword (when the server keeps keywords).
    Flag { keyword: String },
    /// Move it to this folder.
    Move { to: String },
}

#[derive(Debug, Clone)]
pub struct Delivery {
    pub transport: Transport,
    /// Temporary failures are retried for this long, then the mail is dead.
    pub retry_for: Duration,
    pub max_attempts: u32,
}

#[derive(Debug, Clone)]
pub enum Transport {
    Smtp(Smtp),
    /// Write each mail as an `.eml` file into a folder (the demo).
    File(PathBuf),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    StartTls,
    Implicit,
    /// Plain text; allowed only to a loopback address.
    None,
}

#[derive(Clone)]
pub struct Smtp {
    pub host: String,
    pub port: u16,
    pub tls: Tls,
    /// XOAUTH2 with a token from `[oauth]` instead of the password.
    pub oauth2: bool,
    /// Extra CA certificates (PEM), read at start.
    pub ca_pem: Option<Vec<u8>>,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    pub timeout: Duration,
}

impl fmt::Debug for Smtp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Smtp")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

#[derive(Debug, Clone)]
pub struct Policy {
    pub acknowledge_days: u32,
    pub respond_days: u32,
    pub urgent_respond_days: u32,
    /// Targets for some cases; the first that matches wins.
    pub rules: Vec<PolicyRule>,
    /// Statutory clocks that run from a request date the message states.
    pub milestones: Vec<Milestone>,
}

/// Targets for the cases a rule matches (by name, when a classification
/// rule sets `then.policy`, or by category, SEND topic and urgency).
#[derive(Debug, Clone)]
pub struct PolicyRule {
    pub name: String,
    pub categories: Vec<crate::case::Category>,
    pub send_topics: Vec<crate::case::SendTopic>,
    pub urgent: Option<bool>,
    pub acknowledge_days: Option<u32>,
    pub respond_days: Option<u32>,
    pub urgent_respond_days: Option<u32>,
}

/// A statutory SEND clock: `weeks` calendar weeks from the request date.
#[derive(Debug, Clone)]
pub struct Milestone {
    pub name: String,
    pub regulation: Option<String>,
    pub weeks: u32,
    pub send_topics: Vec<crate::case::SendTopic>,
}

/// The targets that apply to one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Targets {
    /// The policy rule that set them (`None`: the defaults).
    pub policy: Option<String>,
    pub acknowledge_days: u32,
    pub respond_days: u32,
}

impl Policy {
    /// The targets for a case: the rule a classification named, else the
    /// first rule whose categories, topics and urgency all match, else the
    /// defaults.
    pub fn targets(
        &self,
        named: Option<&str>,
        category: Option<crate::case::Category>,
        send_topic: Option<crate::case::SendTopic>,
        urgent: bool,
    ) -> Targets {
        let matches = |r: &&PolicyRule| {
            (r.categories.is_empty() || category.is_some_and(|c| r.categories.contains(&c)))
                && (r.send_topics.is_empty()
                    || send_topic.is_some_and(|t| r.send_topics.contains(&t)))
                && r.urgent.is_none_or(|u| u == urgent)
        };
        let rule = named
            .and_then(|n| self.rules.iter().find(|r| r.name == n))
            .or_else(|| self.rules.iter().find(matches));
        let respond = |r: Option<&PolicyRule>| match (urgent, r) {
            (true, Some(r)) => r.urgent_respond_days.unwrap_or(self.urgent_respond_days),
            (false, Some(r)) => r.respond_days.unwrap_or(self.respond_days),
            (true, None) => self.urgent_respond_days,
            (false, None) => self.respond_days,
        };
        Targets {
            policy: rule.map(|r| r.name.clone()),
            acknowledge_days: rule
                .and_then(|r| r.acknowledge_days)
                .unwrap_or(self.acknowledge_days),
            respond_days: respond(rule),
        }
    }
}

/// Who hears about a deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    /// The case's caseworker (its team's manager when nobody holds it).
    Caseworker,
    /// The manager of the case's team.
    Manager,
    Address(String),
}

/// One rung of the ladder for deadlines that have passed.
#[derive(Debug, Clone)]
pub struct Escalation {
    /// Working days after the due date (1: the first working day after).
    pub after: u32,
    pub to: Vec<Recipient>,
}

/// When people are reminded of deadlines.
#[derive(Debug, Clone)]
pub struct Reminders {
    /// Working days before a due date that the caseworker hears of it.
    pub before: Vec<u32>,
    /// And on the day itself.
    pub on_the_day: bool,
    pub overdue: Vec<Escalation>,
    /// Local times between which reminders and digests go out, on
    /// working days.
    pub hours: (NaiveTime, NaiveTime),
}

/// When managers get digests.
#[derive(Debug, Clone)]
pub struct Digests {
    /// Local time of the daily digest, on working days.
    pub daily: Option<NaiveTime>,
    /// Day and local time of the weekly digest (on the next working day
    /// when that day is not one).
    pub weekly: Option<(chrono::Weekday, NaiveTime)>,
    pub due_within_days: u32,
}

#[cfg(test)]
mod tests;
