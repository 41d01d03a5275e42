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
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{NaiveDate, NaiveTime};
use chrono_tz::Tz;
use secrecy::SecretString;

use crate::calendar::Division;
use crate::problem::{self};

pub use crate::problem::{Problem as ConfigError, Problems as ConfigErrors};

mod casework;
mod check;
mod delivery;
mod ops;
mod raw;
mod sources;

pub use ops::{Keep, Retention};

use casework::*;
use check::*;
use delivery::*;
use raw::RawConfig;
use sources::*;

#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from (`None` for the demo's built-in config).
    pub file: Option<PathBuf>,
    pub council: Council,
    pub database: Database,
    /// `None`: the rules built into the binary.
    pub rules_dir: Option<PathBuf>,
    /// `None`: the templates built into the binary.
    pub templates_dir: Option<PathBuf>,
    /// `None`: an empty directory (no MP offices known).
    pub directory: Option<PathBuf>,
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

impl Config {
    /// Reads and checks a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors(vec![ConfigError::new(
                path.display().to_string(),
                0,
                format!("cannot read the config file: {e}"),
            )])
        })?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut config = Config::parse(&path.display().to_string(), &text, &base)?;
        config.file = Some(path.to_path_buf());
        Ok(config)
    }

    /// Checks config text; `file` names it in errors, `base` resolves paths.
    pub fn parse(file: &str, text: &str, base: &Path) -> Result<Config, ConfigErrors> {
        let mut c = Checker {
            file: file.to_string(),
            text,
            base: base.to_path_buf(),
            errors: Vec::new(),
            has_oauth: false,
        };
        let raw: RawConfig = match toml::from_str(text) {
            Ok(raw) => raw,
            Err(e) => return Err(ConfigErrors(vec![problem::from_toml(file, text, &e)])),
        };
        c.has_oauth = raw.oauth.is_some();
        let council = check_council(&mut c, raw.council);
        let database = check_database(&mut c, raw.database);
        let rules_dir = raw.paths.rules.map(|p| c.path(p.get_ref()));
        let templates_dir = raw.paths.templates.map(|p| c.path(p.get_ref()));
        let directory = raw.paths.directory.map(|p| c.path(p.get_ref()));
        let sources = check_sources(&mut c, raw.source);
        let delivery = check_delivery(&mut c, raw.delivery, raw.smtp);
        let poll_interval = c.duration(&raw.daemon.poll_interval, "daemon.poll_interval");
        let shutdown_timeout = c.duration(&raw.daemon.shutdown_timeout, "daemon.shutdown_timeout");
        let stall_alert = c.duration(&raw.daemon.stall_alert, "daemon.stall_alert");
        let admin = raw.daemon.admin.map(|a| {
            let span = a.span();
            let a = a.into_inner();
            if a.parse::<lettre::Address>().is_err() {
                c.error_at(span, format!("daemon.admin {a:?} is not an email address"));
            }
            a
        });
        let teams = check_teams(&mut c, raw.team);
        let policy = check_policy(&mut c, raw.policy, council.division);
        let reminders = check_reminders(&mut c, raw.reminders);
        let digests = check_digests(&mut c, raw.digests, reminders.hours);
        let webhook = raw.webhook.and_then(|w| check_webhook(&mut c, w));
        let oauth = raw.oauth.map(|o| check_oauth(&mut c, o));
        let http = raw.http.and_then(|h| ops::check_http(&mut c, h));
        let retention = ops::check_retention(&mut c, raw.retention);
        let extract = Extract {
            timeout: c.duration(&raw.extract.timeout, "extract.timeout"),
            memory_mb: raw.extract.memory_mb.max(64),
            ocr_pages: raw.extract.ocr_pages,
        };
        if !c.errors.is_empty() {
            return Err(ConfigErrors(c.errors));
        }
        Ok(Config {
            file: None,
            council,
            database,
            rules_dir,
            templates_dir,
            directory,
            sources,
            delivery,
            policy,
            acknowledgements_per_sender_per_hour: raw.limits.acknowledgements_per_sender_per_hour,
            poll_interval,
            shutdown_timeout,
            stall_alert,
            admin,
            reminders,
            digests,
            webhook,
            http,
            retention,
            holding_phrases: raw
                .answers
                .holding_phrases
                .iter()
                .map(|p| p.trim().to_lowercase())
                .filter(|p| !p.is_empty())
                .collect(),
            extract,
            teams,
            oauth,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "[council]\nname = \"Exampleshire Council\"\nmailbox = \"mpenquiries@exampleshire.gov.uk\"\n";

    fn parse(text: &str) -> Result<Config, ConfigErrors> {
        Config::parse("postroom.toml", text, Path::new("/etc/postroom"))
    }

    #[test]
    fn a_minimal_config_gets_the_documented_defaults() {
        let c = parse(&format!(
            "{MINIMAL}[delivery]\ntransport = \"file\"\npath = \"out\"\n"
        ))
        .unwrap();
        assert_eq!(c.council.domains, vec!["exampleshire.gov.uk"]);
        assert_eq!(c.council.reference_prefix, "MPE");
        assert_eq!(c.council.message_id_domain, "exampleshire.gov.uk");
        assert_eq!(c.policy.respond_days, 10);
        assert_eq!(c.policy.urgent_respond_days, 2);
        assert!(
            matches!(&c.delivery.transport, Transport::File(p) if p == Path::new("/etc/postroom/out"))
        );
        use secrecy::ExposeSecret;
        assert_eq!(
            c.database.url.expose_secret(),
            "sqlite:///etc/postroom/postroom.sqlite"
        );
    }

    #[test]
    fn every_error_is_reported_with_its_line() {
        let text = format!(
            "{MINIMAL}cutoff = \"5pm\"\n\n[database]\nurl = \"postgres://app:hunter2@db/postroom\"\n\n[[source]]\nname = \"in\"\nkind = \"pop3\"\npath = \"x\"\n\n[smtp]\nhost = \"smtp.example.org\"\ntls = \"none\"\npassword = \"hunter2\"\n"
        );
        let errors = parse(&text).unwrap_err().0;
        let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(errors.len(), 5, "{text:#?}");
        assert!(
            text[0].starts_with("postroom.toml:4: council.cutoff"),
            "{}",
            text[0]
        );
        assert!(
            text[1].starts_with("postroom.toml:7: database.url holds a password"),
            "{}",
            text[1]
        );
        assert!(text[2].contains("pop3"), "{}", text[2]);
        assert!(
            text.iter()
                .any(|t| t.contains("smtp.password: secrets are not read"))
        );
        assert!(text.iter().any(|t| t.contains("clear text")));
        assert!(
            !text.iter().any(|t| t.contains("hunter2")),
            "errors must not echo secrets"
        );
    }

    #[test]
    fn an_endpoint_off_loopback_and_a_bad_retention_period_are_refused_with_their_lines() {
        let lines_before = MINIMAL.lines().count();
        let text = format!(
            "{MINIMAL}\n[http]\nlisten = \"0.0.0.0:9187\"\n\n[retention]\nclosed_cases = \"6 fortnights\"\nat = \"25:00\"\n"
        );
        let errors: Vec<String> = parse(&text)
            .unwrap_err()
            .0
            .iter()
            .map(|e| e.to_string())
            .collect();
        let at = |n: usize, what: &str| {
            errors.iter().any(|e| {
                e.starts_with(&format!("postroom.toml:{}:", lines_before + n)) && e.contains(what)
            })
        };
        assert!(at(3, "not a loopback address"), "{errors:#?}");
        assert!(at(6, "retention.closed_cases"), "{errors:#?}");
        assert!(at(7, "retention.at"), "{errors:#?}");

        let text = format!(
            "{MINIMAL}\n[http]\nlisten = \"127.0.0.1:9187\"\n\n[retention]\nclosed_cases = \"never\"\nsent_mail = \"90 days\"\n\n\
             [delivery]\ntransport = \"file\"\npath = \"out\"\n"
        );
        let config = parse(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.http, Some("127.0.0.1:9187".parse().unwrap()));
        assert_eq!(config.retention.closed_cases, Keep::Forever);
        assert_eq!(config.retention.sent_mail, Keep::Days(90));
        assert_eq!(config.retention.unfiled_messages, Keep::Months(12));
    }

    #[test]
    fn imap_and_oauth_mistakes_are_refused_with_their_lines() {
        let text = format!(
            "{MINIMAL}\n[[source]]\nname = \"mailbox\"\nkind = \"imap\"\nhost = \"outlook.office365.com\"\ntls = \"none\"\n\
             username = \"mp@exampleshire.gov.uk\"\nauth = \"oauth2\"\n\n[daemon]\nadmin = \"not an address\"\n\n\
             [delivery]\ntransport = \"file\"\npath = \"out\"\n"
        );
        let errors = parse(&text).unwrap_err().0;
        let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert!(
            text.iter()
                .any(|e| e.starts_with("postroom.toml:5:") && e.contains("clear text")),
            "{text:#?}"
        );
        assert!(
            text.iter()
                .any(|e| e.starts_with("postroom.toml:5:") && e.contains("[oauth]")),
            "{text:#?}"
        );
        assert!(
            text.iter()
                .any(|e| e.starts_with("postroom.toml:14:") && e.contains("daemon.admin")),
            "{text:#?}"
        );

        let text = format!(
            "{MINIMAL}\n[oauth]\nflow = \"client_credentials\"\ntoken_url = \"http://login.example.org/token\"\n\
             client_id = \"abc\"\nclient_secret = \"hunter2\"\n\n[delivery]\ntransport = \"file\"\npath = \"out\"\n"
        );
        let errors = parse(&text).unwrap_err().0;
        let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert!(
            text.iter().any(|e| e.contains("must be https")),
            "{text:#?}"
        );
        assert!(
            text.iter().any(|e| e.contains("client_secret_env")),
            "{text:#?}"
        );
        assert!(text.iter().all(|e| !e.contains("hunter2")), "{text:#?}");
        assert!(
            text.iter().all(|e| e.starts_with("postroom.toml:5:")),
            "{text:#?}"
        );
    }

    #[test]
    fn a_microsoft_365_mailbox_needs_only_the_tenant_and_client() {
        // SAFETY: a name no other test uses.
        unsafe { std::env::set_var("POSTROOM_UNIT_M365_SECRET", "s") };
        let c = parse(&format!(
            "{MINIMAL}\n[[source]]\nname = \"mailbox\"\nkind = \"imap\"\nhost = \"outlook.office365.com\"\n\
             username = \"mp@exampleshire.gov.uk\"\nauth = \"oauth2\"\n\n[oauth]\nflow = \"client_credentials\"\n\
             tenant = \"exampleshire.onmicrosoft.com\"\nclient_id = \"abc\"\nclient_secret_env = \"POSTROOM_UNIT_M365_SECRET\"\n\n\
             [delivery]\ntransport = \"file\"\npath = \"out\"\n"
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        let oauth = c.oauth.unwrap();
        assert_eq!(
            oauth.token_url,
            "https://login.microsoftonline.com/exampleshire.onmicrosoft.com/oauth2/v2.0/token"
        );
        assert_eq!(oauth.scope, "https://outlook.office365.com/.default");
        let imap = c.sources[0].imap.as_ref().unwrap();
        assert_eq!(imap.port, 993);
        assert_eq!(imap.tls, Tls::Implicit);
        assert_eq!(c.stall_alert, Duration::from_secs(15 * 60));
    }

    #[test]
    fn unknown_keys_are_refused_with_their_line() {
        let errors = parse(&format!("{MINIMAL}\n[polcy]\nrespond_days = 5\n"))
            .unwrap_err()
            .0;
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].line, 5, "{}", errors[0]);
        assert!(errors[0].message.contains("polcy"));
    }

    #[test]
    fn secrets_come_from_the_environment() {
        // SAFETY: this test is the only one that touches this variable.
        unsafe { std::env::set_var("POSTROOM_TEST_SMTP_PW", "s3cret") };
        let c = parse(&format!(
            "{MINIMAL}[smtp]\nhost = \"127.0.0.1\"\nport = 2525\ntls = \"none\"\nusername = \"u\"\npassword_env = \"POSTROOM_TEST_SMTP_PW\"\n"
        ))
        .unwrap();
        let Transport::Smtp(smtp) = &c.delivery.transport else {
            panic!()
        };
        use secrecy::ExposeSecret;
        assert_eq!(smtp.password.as_ref().unwrap().expose_secret(), "s3cret");
        assert!(!format!("{smtp:?}").contains("s3cret"));
        let missing = parse(&format!("{MINIMAL}[smtp]\nhost = \"h.example\"\nusername = \"u\"\npassword_env = \"POSTROOM_TEST_UNSET_VAR\"\n")).unwrap_err();
        assert!(
            missing
                .to_string()
                .contains("POSTROOM_TEST_UNSET_VAR is not set")
        );
    }
}
