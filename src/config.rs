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
use serde::Deserialize;
use toml::Spanned;

use crate::calendar::Division;
use crate::problem::{self, line_of};

pub use crate::problem::{Problem as ConfigError, Problems as ConfigErrors};

// ---------------------------------------------------------------------------
// Raw: a mirror of the file.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    council: RawCouncil,
    #[serde(default)]
    database: RawDatabase,
    #[serde(default)]
    paths: RawPaths,
    #[serde(default)]
    source: Vec<Spanned<RawSource>>,
    #[serde(default)]
    delivery: RawDelivery,
    #[serde(default)]
    smtp: Option<Spanned<RawSmtp>>,
    #[serde(default)]
    policy: RawPolicy,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    daemon: RawDaemon,
    #[serde(default)]
    extract: RawExtract,
    #[serde(default)]
    team: Vec<Spanned<RawTeam>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTeam {
    name: String,
    #[serde(default)]
    categories: Vec<String>,
    /// The team that takes cases no other team's categories cover.
    #[serde(default)]
    default: bool,
    #[serde(default)]
    manager: Option<String>,
    #[serde(default)]
    members: Vec<String>,
    #[serde(default)]
    assign: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExtract {
    #[serde(default = "default_extract_timeout")]
    timeout: Spanned<String>,
    #[serde(default = "default_extract_memory")]
    memory_mb: u64,
    #[serde(default = "default_ocr_pages")]
    ocr_pages: u32,
}

impl Default for RawExtract {
    fn default() -> Self {
        RawExtract {
            timeout: default_extract_timeout(),
            memory_mb: default_extract_memory(),
            ocr_pages: default_ocr_pages(),
        }
    }
}

fn default_extract_timeout() -> Spanned<String> {
    Spanned::new(0..0, "60s".into())
}
fn default_extract_memory() -> u64 {
    1024
}
fn default_ocr_pages() -> u32 {
    5
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCouncil {
    name: String,
    mailbox: Spanned<String>,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    domains: Vec<String>,
    #[serde(default = "default_prefix")]
    reference_prefix: Spanned<String>,
    #[serde(default)]
    legacy_reference: Option<Spanned<String>>,
    #[serde(default)]
    authserv_id: Option<String>,
    #[serde(default)]
    message_id_domain: Option<String>,
    #[serde(default)]
    case_url: Option<String>,
    #[serde(default = "default_tz")]
    timezone: Spanned<String>,
    #[serde(default = "default_division")]
    division: Spanned<String>,
    #[serde(default = "default_cutoff")]
    cutoff: Spanned<String>,
    #[serde(default)]
    closure_days: Vec<Spanned<String>>,
}

fn default_prefix() -> Spanned<String> {
    Spanned::new(0..0, "MPE".into())
}
fn default_tz() -> Spanned<String> {
    Spanned::new(0..0, "Europe/London".into())
}
fn default_division() -> Spanned<String> {
    Spanned::new(0..0, "england-and-wales".into())
}
fn default_cutoff() -> Spanned<String> {
    Spanned::new(0..0, "17:00".into())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDatabase {
    url: Option<Spanned<String>>,
    url_env: Option<Spanned<String>>,
    #[serde(default)]
    max_connections: Option<u32>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPaths {
    rules: Option<Spanned<String>>,
    templates: Option<Spanned<String>>,
    directory: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    name: String,
    kind: String,
    path: String,
    /// For `eml_dir`: "keep" (default) leaves files where they are, "move"
    /// moves each stored file to `done`.
    #[serde(default)]
    after: Option<String>,
    #[serde(default)]
    done: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDelivery {
    #[serde(default = "default_transport")]
    transport: Spanned<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default = "default_retry_for")]
    retry_for: Spanned<String>,
    #[serde(default = "default_max_attempts")]
    max_attempts: u32,
}

impl Default for RawDelivery {
    fn default() -> Self {
        RawDelivery {
            transport: default_transport(),
            path: None,
            retry_for: default_retry_for(),
            max_attempts: default_max_attempts(),
        }
    }
}

fn default_transport() -> Spanned<String> {
    Spanned::new(0..0, "smtp".into())
}
fn default_retry_for() -> Spanned<String> {
    Spanned::new(0..0, "2days".into())
}
fn default_max_attempts() -> u32 {
    30
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSmtp {
    host: String,
    #[serde(default)]
    port: Option<u16>,
    #[serde(default = "default_tls")]
    tls: String,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<toml::Value>,
    #[serde(default)]
    password_env: Option<String>,
    #[serde(default)]
    password_file: Option<String>,
    #[serde(default = "default_smtp_timeout")]
    timeout: String,
    /// A PEM file of CA certificates to trust besides the public ones (a
    /// council's internal CA).
    #[serde(default)]
    ca_file: Option<String>,
}

fn default_tls() -> String {
    "starttls".into()
}
fn default_smtp_timeout() -> String {
    "30s".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    #[serde(default)]
    acknowledge_days: u32,
    #[serde(default = "ten")]
    respond_days: u32,
    #[serde(default = "two")]
    urgent_respond_days: u32,
}

impl Default for RawPolicy {
    fn default() -> Self {
        RawPolicy {
            acknowledge_days: 0,
            respond_days: 10,
            urgent_respond_days: 2,
        }
    }
}

fn ten() -> u32 {
    10
}
fn two() -> u32 {
    2
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    #[serde(default = "default_ack_rate")]
    acknowledgements_per_sender_per_hour: u32,
}

impl Default for RawLimits {
    fn default() -> Self {
        RawLimits {
            acknowledgements_per_sender_per_hour: default_ack_rate(),
        }
    }
}

fn default_ack_rate() -> u32 {
    10
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDaemon {
    #[serde(default = "default_poll")]
    poll_interval: Spanned<String>,
    #[serde(default = "default_shutdown")]
    shutdown_timeout: Spanned<String>,
}

impl Default for RawDaemon {
    fn default() -> Self {
        RawDaemon {
            poll_interval: default_poll(),
            shutdown_timeout: default_shutdown(),
        }
    }
}

fn default_poll() -> Spanned<String> {
    Spanned::new(0..0, "60s".into())
}
fn default_shutdown() -> Spanned<String> {
    Spanned::new(0..0, "30s".into())
}

// ---------------------------------------------------------------------------
// Checked.

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
    pub extract: Extract,
    /// Who cases go to, by category.
    pub teams: Vec<Team>,
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
    /// The post room's folder of scanned letters.
    Letters,
}

#[derive(Debug, Clone)]
pub struct SourceConfig {
    pub name: String,
    pub kind: SourceKind,
    pub path: PathBuf,
    /// Where stored files go (`eml_dir` with `after = "move"`).
    pub done: Option<PathBuf>,
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

#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub acknowledge_days: u32,
    pub respond_days: u32,
    pub urgent_respond_days: u32,
}

struct Checker<'a> {
    file: String,
    text: &'a str,
    base: PathBuf,
    errors: Vec<ConfigError>,
}

impl Checker<'_> {
    fn error_at(&mut self, span: std::ops::Range<usize>, message: impl Into<String>) {
        let line = if span == (0..0) {
            0
        } else {
            line_of(self.text, span.start)
        };
        self.errors
            .push(ConfigError::new(self.file.clone(), line, message));
    }

    fn path(&self, p: &str) -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base.join(p)
        }
    }

    fn duration(&mut self, value: &Spanned<String>, key: &str) -> Duration {
        match humantime::parse_duration(value.get_ref()) {
            Ok(d) => d,
            Err(e) => {
                self.error_at(
                    value.span(),
                    format!(
                        "{key} = {:?} is not a duration such as \"30s\" or \"2days\": {e}",
                        value.get_ref()
                    ),
                );
                Duration::from_secs(1)
            }
        }
    }

    fn secret(
        &mut self,
        env: Option<&str>,
        file: Option<&str>,
        span: std::ops::Range<usize>,
        what: &str,
    ) -> Option<SecretString> {
        match (env, file) {
            (Some(var), None) => match std::env::var(var) {
                Ok(v) if !v.is_empty() => Some(SecretString::from(v)),
                _ => {
                    self.error_at(
                        span,
                        format!("{what}: the environment variable {var} is not set"),
                    );
                    None
                }
            },
            (None, Some(path)) => {
                let path = self.path(path);
                match std::fs::read_to_string(&path) {
                    Ok(v) => Some(SecretString::from(
                        v.trim_end_matches(['\r', '\n']).to_string(),
                    )),
                    Err(e) => {
                        self.error_at(span, format!("{what}: cannot read {}: {e}", path.display()));
                        None
                    }
                }
            }
            (Some(_), Some(_)) => {
                self.error_at(
                    span,
                    format!("{what}: give either the _env or the _file key, not both"),
                );
                None
            }
            (None, None) => None,
        }
    }
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
        };
        let raw: RawConfig = match toml::from_str(text) {
            Ok(raw) => raw,
            Err(e) => return Err(ConfigErrors(vec![problem::from_toml(file, text, &e)])),
        };
        let council = check_council(&mut c, raw.council);
        let database = check_database(&mut c, raw.database);
        let rules_dir = raw.paths.rules.map(|p| c.path(p.get_ref()));
        let templates_dir = raw.paths.templates.map(|p| c.path(p.get_ref()));
        let directory = raw.paths.directory.map(|p| c.path(p.get_ref()));
        let sources = check_sources(&mut c, raw.source);
        let delivery = check_delivery(&mut c, raw.delivery, raw.smtp);
        let poll_interval = c.duration(&raw.daemon.poll_interval, "daemon.poll_interval");
        let shutdown_timeout = c.duration(&raw.daemon.shutdown_timeout, "daemon.shutdown_timeout");
        let teams = check_teams(&mut c, raw.team);
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
            policy: Policy {
                acknowledge_days: raw.policy.acknowledge_days,
                respond_days: raw.policy.respond_days,
                urgent_respond_days: raw.policy.urgent_respond_days,
            },
            acknowledgements_per_sender_per_hour: raw.limits.acknowledgements_per_sender_per_hour,
            poll_interval,
            shutdown_timeout,
            extract,
            teams,
        })
    }
}

fn check_council(c: &mut Checker<'_>, raw: RawCouncil) -> Council {
    let mailbox = raw.mailbox.get_ref().trim().to_lowercase();
    let mailbox_domain = match mailbox.split_once('@') {
        Some((local, domain)) if !local.is_empty() && domain.contains('.') => domain.to_string(),
        _ => {
            c.error_at(
                raw.mailbox.span(),
                format!(
                    "council.mailbox {:?} is not an email address",
                    raw.mailbox.get_ref()
                ),
            );
            String::new()
        }
    };
    let mut domains: Vec<String> = raw
        .domains
        .iter()
        .map(|d| d.trim().to_lowercase())
        .collect();
    if !mailbox_domain.is_empty() && !domains.contains(&mailbox_domain) {
        domains.push(mailbox_domain.clone());
    }
    let prefix = raw.reference_prefix.get_ref().clone();
    if prefix.is_empty()
        || !prefix
            .chars()
            .all(|ch| ch.is_ascii_uppercase() || ch.is_ascii_digit())
    {
        c.error_at(
            raw.reference_prefix.span(),
            format!("council.reference_prefix {prefix:?} must be capital letters and digits"),
        );
    }
    if let Some(p) = &raw.legacy_reference
        && let Err(e) = crate::classify::rules::compile_regex(p.get_ref())
    {
        c.error_at(p.span(), format!("council.legacy_reference: {e}"));
    }
    let timezone = match raw.timezone.get_ref().parse::<Tz>() {
        Ok(tz) => tz,
        Err(_) => {
            c.error_at(
                raw.timezone.span(),
                format!(
                    "council.timezone {:?} is not a time zone name such as \"Europe/London\"",
                    raw.timezone.get_ref()
                ),
            );
            chrono_tz::Europe::London
        }
    };
    let division = match Division::parse(raw.division.get_ref()) {
        Some(d) => d,
        None => {
            c.error_at(raw.division.span(), format!("council.division {:?} is not one of england-and-wales, scotland, northern-ireland", raw.division.get_ref()));
            Division::EnglandAndWales
        }
    };
    let cutoff = match NaiveTime::parse_from_str(raw.cutoff.get_ref(), "%H:%M") {
        Ok(t) => t,
        Err(_) => {
            c.error_at(
                raw.cutoff.span(),
                format!(
                    "council.cutoff {:?} is not a time such as \"17:00\"",
                    raw.cutoff.get_ref()
                ),
            );
            crate::calendar::default_cutoff()
        }
    };
    let mut closure_days = BTreeSet::new();
    for day in &raw.closure_days {
        match day.get_ref().parse::<NaiveDate>() {
            Ok(d) => {
                closure_days.insert(d);
            }
            Err(_) => c.error_at(
                day.span(),
                format!(
                    "closure day {:?} is not a date such as \"2026-12-29\"",
                    day.get_ref()
                ),
            ),
        }
    }
    Council {
        display_name: raw
            .display_name
            .unwrap_or_else(|| format!("{} MP enquiries", raw.name)),
        name: raw.name,
        case_url: raw.case_url,
        message_id_domain: raw
            .message_id_domain
            .unwrap_or_else(|| mailbox_domain.clone()),
        mailbox,
        domains,
        reference_prefix: prefix,
        legacy_reference: raw.legacy_reference.map(|p| p.into_inner()),
        authserv_id: raw.authserv_id,
        timezone,
        division,
        cutoff,
        closure_days,
    }
}

fn check_database(c: &mut Checker<'_>, raw: RawDatabase) -> Database {
    let url = match (&raw.url, &raw.url_env) {
        (Some(url), None) => {
            let value = url.get_ref();
            if let Some(rest) = value.strip_prefix("sqlite:") {
                // Resolve a relative SQLite path against the config folder.
                let path = rest.trim_start_matches("//");
                let (path, query) = path
                    .split_once('?')
                    .map(|(p, q)| (p, Some(q)))
                    .unwrap_or((path, None));
                let resolved = c.path(path);
                let mut url = format!("sqlite://{}", resolved.display());
                if let Some(q) = query {
                    url.push('?');
                    url.push_str(q);
                }
                url
            } else if value.starts_with("postgres://") || value.starts_with("postgresql://") {
                if has_password(value) {
                    c.error_at(url.span(), "database.url holds a password: secrets are not read from the config file; put the whole URL in an environment variable named by database.url_env");
                }
                value.clone()
            } else {
                c.error_at(
                    url.span(),
                    format!("database.url {value:?} is neither sqlite:PATH nor postgres://..."),
                );
                String::new()
            }
        }
        (None, Some(var)) => match std::env::var(var.get_ref()) {
            Ok(v) if !v.is_empty() => v,
            _ => {
                c.error_at(
                    var.span(),
                    format!(
                        "database.url_env: the environment variable {} is not set",
                        var.get_ref()
                    ),
                );
                String::new()
            }
        },
        (Some(url), Some(_)) => {
            c.error_at(
                url.span(),
                "give database.url or database.url_env, not both",
            );
            String::new()
        }
        (None, None) => format!("sqlite://{}", c.path("postroom.sqlite").display()),
    };
    Database {
        url: SecretString::from(url),
        max_connections: raw.max_connections.unwrap_or(5).max(1),
    }
}

fn has_password(url: &str) -> bool {
    let after_scheme = url.split_once("://").map(|(_, r)| r).unwrap_or("");
    let authority = after_scheme.split(['/', '?']).next().unwrap_or("");
    authority
        .rsplit_once('@')
        .is_some_and(|(userinfo, _)| userinfo.contains(':'))
}

fn check_sources(c: &mut Checker<'_>, raw: Vec<Spanned<RawSource>>) -> Vec<SourceConfig> {
    let mut out: Vec<SourceConfig> = Vec::new();
    for spanned in raw {
        let span = spanned.span();
        let s = spanned.into_inner();
        if out.iter().any(|o| o.name == s.name) {
            c.error_at(span.clone(), format!("two sources are named {:?}", s.name));
        }
        if s.name.is_empty()
            || !s
                .name
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
        {
            c.error_at(
                span.clone(),
                format!("source name {:?} must be letters, digits, - or _", s.name),
            );
        }
        let kind = match s.kind.as_str() {
            "maildir" => SourceKind::Maildir,
            "eml_dir" => SourceKind::EmlDir,
            "letters" => SourceKind::Letters,
            other => {
                c.error_at(
                    span.clone(),
                    format!("source kind {other:?} is not one of maildir, eml_dir, letters"),
                );
                continue;
            }
        };
        let done = match (s.after.as_deref(), &s.done) {
            // Letters always move on, to `done` or to PATH/done.
            _ if kind == SourceKind::Letters => {
                if s.after.is_some() {
                    c.error_at(span.clone(), "a letters source always moves stored files to `done`; `after` does not apply");
                }
                Some(
                    s.done
                        .as_deref()
                        .map(|d| c.path(d))
                        .unwrap_or_else(|| c.path(&s.path).join("done")),
                )
            }
            (None | Some("keep"), None) => None,
            (Some("move"), Some(done)) => Some(c.path(done)),
            (Some("move"), None) => {
                c.error_at(span.clone(), "after = \"move\" needs a `done` folder");
                None
            }
            (None | Some("keep"), Some(_)) => {
                c.error_at(span.clone(), "`done` is only used with after = \"move\"");
                None
            }
            (Some(other), _) => {
                c.error_at(
                    span.clone(),
                    format!("after = {other:?} is not one of keep, move"),
                );
                None
            }
        };
        if kind == SourceKind::Maildir && done.is_some() {
            c.error_at(
                span.clone(),
                "a maildir source files stored mail under cur/; `after` does not apply",
            );
        }
        out.push(SourceConfig {
            name: s.name,
            kind,
            path: c.path(&s.path),
            done,
        });
    }
    out
}

fn check_delivery(
    c: &mut Checker<'_>,
    raw: RawDelivery,
    smtp: Option<Spanned<RawSmtp>>,
) -> Delivery {
    let retry_for = c.duration(&raw.retry_for, "delivery.retry_for");
    let transport = match raw.transport.get_ref().as_str() {
        "file" => match raw.path {
            Some(p) => Transport::File(c.path(&p)),
            None => {
                c.error_at(
                    raw.transport.span(),
                    "delivery.transport = \"file\" needs delivery.path",
                );
                Transport::File(PathBuf::new())
            }
        },
        "smtp" => match smtp {
            Some(smtp) => Transport::Smtp(check_smtp(c, smtp)),
            None => {
                c.error_at(
                    raw.transport.span(),
                    "delivery.transport = \"smtp\" needs an [smtp] table",
                );
                Transport::File(PathBuf::new())
            }
        },
        other => {
            c.error_at(
                raw.transport.span(),
                format!("delivery.transport {other:?} is not one of smtp, file"),
            );
            Transport::File(PathBuf::new())
        }
    };
    Delivery {
        transport,
        retry_for,
        max_attempts: raw.max_attempts.max(1),
    }
}

fn check_smtp(c: &mut Checker<'_>, spanned: Spanned<RawSmtp>) -> Smtp {
    let span = spanned.span();
    let raw = spanned.into_inner();
    if raw.password.is_some() {
        c.error_at(span.clone(), "smtp.password: secrets are not read from the config file; use smtp.password_env or smtp.password_file");
    }
    let tls = match raw.tls.as_str() {
        "starttls" => Tls::StartTls,
        "implicit" => Tls::Implicit,
        "none" => Tls::None,
        other => {
            c.error_at(
                span.clone(),
                format!("smtp.tls {other:?} is not one of starttls, implicit, none"),
            );
            Tls::StartTls
        }
    };
    if tls == Tls::None && !is_loopback(&raw.host) {
        c.error_at(span.clone(), format!("smtp.tls = \"none\" sends mail in clear text; it is allowed only to a loopback address, not {:?}", raw.host));
    }
    let password = c.secret(
        raw.password_env.as_deref(),
        raw.password_file.as_deref(),
        span.clone(),
        "smtp password",
    );
    if password.is_some() && raw.username.is_none() {
        c.error_at(span.clone(), "an SMTP password needs smtp.username");
    }
    let timeout = match humantime::parse_duration(&raw.timeout) {
        Ok(t) => t,
        Err(e) => {
            c.error_at(span.clone(), format!("smtp.timeout {:?}: {e}", raw.timeout));
            Duration::from_secs(30)
        }
    };
    let port = raw.port.unwrap_or(match tls {
        Tls::Implicit => 465,
        Tls::StartTls => 587,
        Tls::None => 25,
    });
    let ca_pem = raw.ca_file.as_deref().and_then(|f| {
        let path = c.path(f);
        std::fs::read(&path)
            .map_err(|e| {
                c.error_at(
                    span.clone(),
                    format!("smtp.ca_file: cannot read {}: {e}", path.display()),
                )
            })
            .ok()
    });
    Smtp {
        host: raw.host,
        port,
        tls,
        ca_pem,
        username: raw.username,
        password,
        timeout,
    }
}

fn check_teams(c: &mut Checker<'_>, raw: Vec<Spanned<RawTeam>>) -> Vec<Team> {
    let mut teams: Vec<Team> = Vec::new();
    for spanned in raw {
        let span = spanned.span();
        let t = spanned.into_inner();
        if t.name.trim().is_empty() {
            c.error_at(span.clone(), "a team needs a name");
        }
        if teams.iter().any(|o| o.name == t.name) {
            c.error_at(span.clone(), format!("two teams are named {:?}", t.name));
        }
        let mut categories = Vec::new();
        for cat in &t.categories {
            match crate::case::Category::parse(cat) {
                Some(category) => {
                    if let Some(other) = teams.iter().find(|o| o.categories.contains(&category)) {
                        c.error_at(
                            span.clone(),
                            format!("category {cat:?} is already the team {:?}'s", other.name),
                        );
                    }
                    categories.push(category);
                }
                None => c.error_at(
                    span.clone(),
                    format!(
                        "category {cat:?} is not one of {}",
                        crate::case::Category::names()
                    ),
                ),
            }
        }
        if t.default && teams.iter().any(|o| o.default) {
            c.error_at(span.clone(), "only one team can be the default");
        }
        for address in t.members.iter().chain(&t.manager) {
            if address.parse::<lettre::Address>().is_err() {
                c.error_at(span.clone(), format!("{address:?} is not an email address"));
            }
        }
        let assign = match t.assign.as_deref() {
            None | Some("round_robin") => Assign::RoundRobin,
            Some("caseload") => Assign::Caseload,
            Some(other) => {
                c.error_at(
                    span.clone(),
                    format!("assign = {other:?} is not one of round_robin, caseload"),
                );
                Assign::RoundRobin
            }
        };
        teams.push(Team {
            name: t.name,
            categories,
            default: t.default,
            manager: t.manager.map(|m| m.to_lowercase()),
            members: t.members.into_iter().map(|m| m.to_lowercase()).collect(),
            assign,
        });
    }
    teams
}

pub fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
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
