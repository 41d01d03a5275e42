//! The raw form of `postroom.toml`: a serde mirror of the file, with
//! `Spanned` values where a later check needs the line.

use serde::Deserialize;
use toml::Spanned;

mod casework;
mod ops;

pub(super) use casework::*;
pub(super) use ops::*;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) council: RawCouncil,
    #[serde(default)]
    pub(super) database: RawDatabase,
    #[serde(default)]
    pub(super) paths: RawPaths,
    #[serde(default)]
    pub(super) source: Vec<Spanned<RawSource>>,
    #[serde(default)]
    pub(super) delivery: RawDelivery,
    #[serde(default)]
    pub(super) smtp: Option<Spanned<RawSmtp>>,
    #[serde(default)]
    pub(super) policy: RawPolicy,
    #[serde(default)]
    pub(super) limits: RawLimits,
    #[serde(default)]
    pub(super) daemon: RawDaemon,
    #[serde(default)]
    pub(super) extract: RawExtract,
    #[serde(default)]
    pub(super) team: Vec<Spanned<RawTeam>>,
    #[serde(default)]
    pub(super) oauth: Option<Spanned<RawOAuth>>,
    #[serde(default)]
    pub(super) reminders: RawReminders,
    #[serde(default)]
    pub(super) digests: RawDigests,
    #[serde(default)]
    pub(super) answers: RawAnswers,
    #[serde(default)]
    pub(super) webhook: Option<Spanned<RawWebhook>>,
    #[serde(default)]
    pub(super) http: Option<RawHttp>,
    #[serde(default)]
    pub(super) web: Option<Spanned<RawWeb>>,
    #[serde(default)]
    pub(super) retention: RawRetention,
}

/// A JSON POST to the council's CRM when a case is created, assigned,
/// answered or closed, signed with HMAC-SHA256.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWebhook {
    pub(super) url: String,
    #[serde(default)]
    pub(super) secret: Option<toml::Value>,
    #[serde(default)]
    pub(super) secret_env: Option<String>,
    #[serde(default)]
    pub(super) secret_file: Option<String>,
    #[serde(default)]
    pub(super) events: Option<Vec<String>>,
    #[serde(default = "default_webhook_timeout")]
    pub(super) timeout: Spanned<String>,
}

pub(super) fn default_webhook_timeout() -> Spanned<String> {
    Spanned::new(0..0, "10s".into())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawExtract {
    #[serde(default = "default_extract_timeout")]
    pub(super) timeout: Spanned<String>,
    #[serde(default = "default_extract_memory")]
    pub(super) memory_mb: u64,
    #[serde(default = "default_ocr_pages")]
    pub(super) ocr_pages: u32,
    #[serde(default = "default_html_layout_kb")]
    pub(super) html_layout_kb: Spanned<u64>,
}

impl Default for RawExtract {
    fn default() -> Self {
        RawExtract {
            timeout: default_extract_timeout(),
            memory_mb: default_extract_memory(),
            ocr_pages: default_ocr_pages(),
            html_layout_kb: default_html_layout_kb(),
        }
    }
}

pub(super) fn default_extract_timeout() -> Spanned<String> {
    Spanned::new(0..0, "60s".into())
}
pub(super) fn default_extract_memory() -> u64 {
    1024
}
pub(super) fn default_ocr_pages() -> u32 {
    5
}
pub(super) fn default_html_layout_kb() -> Spanned<u64> {
    Spanned::new(0..0, (crate::parse::HTML_LAYOUT_LIMIT >> 10) as u64)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCouncil {
    pub(super) name: String,
    pub(super) mailbox: Spanned<String>,
    #[serde(default)]
    pub(super) display_name: Option<String>,
    #[serde(default)]
    pub(super) domains: Vec<String>,
    #[serde(default = "default_prefix")]
    pub(super) reference_prefix: Spanned<String>,
    #[serde(default)]
    pub(super) legacy_reference: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) authserv_id: Option<String>,
    #[serde(default)]
    pub(super) message_id_domain: Option<String>,
    #[serde(default)]
    pub(super) case_url: Option<String>,
    #[serde(default = "default_tz")]
    pub(super) timezone: Spanned<String>,
    #[serde(default = "default_division")]
    pub(super) division: Spanned<String>,
    #[serde(default = "default_cutoff")]
    pub(super) cutoff: Spanned<String>,
    #[serde(default)]
    pub(super) closure_days: Vec<Spanned<String>>,
}

pub(super) fn default_prefix() -> Spanned<String> {
    Spanned::new(0..0, "MPE".into())
}
pub(super) fn default_tz() -> Spanned<String> {
    Spanned::new(0..0, "Europe/London".into())
}
pub(super) fn default_division() -> Spanned<String> {
    Spanned::new(0..0, "england-and-wales".into())
}
pub(super) fn default_cutoff() -> Spanned<String> {
    Spanned::new(0..0, "17:00".into())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDatabase {
    pub(super) url: Option<Spanned<String>>,
    pub(super) url_env: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) max_connections: Option<u32>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPaths {
    pub(super) rules: Option<Spanned<String>>,
    pub(super) templates: Option<Spanned<String>>,
    pub(super) directory: Option<Spanned<String>>,
    pub(super) spool: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSource {
    pub(super) name: String,
    pub(super) kind: String,
    #[serde(default)]
    pub(super) path: Option<String>,
    // IMAP.
    #[serde(default)]
    pub(super) host: Option<String>,
    #[serde(default)]
    pub(super) port: Option<u16>,
    #[serde(default)]
    pub(super) tls: Option<String>,
    #[serde(default)]
    pub(super) username: Option<String>,
    #[serde(default)]
    pub(super) auth: Option<String>,
    #[serde(default)]
    pub(super) password: Option<toml::Value>,
    #[serde(default)]
    pub(super) password_env: Option<String>,
    #[serde(default)]
    pub(super) password_file: Option<String>,
    #[serde(default)]
    pub(super) folders: Option<Vec<String>>,
    #[serde(default)]
    pub(super) mark: Option<String>,
    #[serde(default)]
    pub(super) move_to: Option<String>,
    #[serde(default)]
    pub(super) keyword: Option<String>,
    #[serde(default)]
    pub(super) since: Option<String>,
    #[serde(default)]
    pub(super) idle: Option<bool>,
    #[serde(default)]
    pub(super) idle_timeout: Option<String>,
    #[serde(default)]
    pub(super) command_timeout: Option<String>,
    #[serde(default)]
    pub(super) batch_mb: Option<u64>,
    #[serde(default)]
    pub(super) ca_file: Option<String>,
    /// For `eml_dir`: "keep" (default) leaves files where they are, "move"
    /// moves each stored file to `done`.
    #[serde(default)]
    pub(super) after: Option<String>,
    #[serde(default)]
    pub(super) done: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDelivery {
    #[serde(default = "default_transport")]
    pub(super) transport: Spanned<String>,
    #[serde(default)]
    pub(super) path: Option<String>,
    #[serde(default = "default_retry_for")]
    pub(super) retry_for: Spanned<String>,
    #[serde(default = "default_max_attempts")]
    pub(super) max_attempts: u32,
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

pub(super) fn default_transport() -> Spanned<String> {
    Spanned::new(0..0, "smtp".into())
}
pub(super) fn default_retry_for() -> Spanned<String> {
    Spanned::new(0..0, "2days".into())
}
pub(super) fn default_max_attempts() -> u32 {
    30
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSmtp {
    pub(super) host: String,
    /// "password" (default when a password is given) or "oauth2".
    #[serde(default)]
    pub(super) auth: Option<String>,
    #[serde(default)]
    pub(super) port: Option<u16>,
    #[serde(default = "default_tls")]
    pub(super) tls: String,
    #[serde(default)]
    pub(super) username: Option<String>,
    #[serde(default)]
    pub(super) password: Option<toml::Value>,
    #[serde(default)]
    pub(super) password_env: Option<String>,
    #[serde(default)]
    pub(super) password_file: Option<String>,
    #[serde(default = "default_smtp_timeout")]
    pub(super) timeout: String,
    /// A PEM file of CA certificates to trust besides the public ones (a
    /// council's internal CA).
    #[serde(default)]
    pub(super) ca_file: Option<String>,
}

pub(super) fn default_tls() -> String {
    "starttls".into()
}
pub(super) fn default_smtp_timeout() -> String {
    "30s".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    #[serde(default = "default_ack_rate")]
    pub(super) acknowledgements_per_sender_per_hour: u32,
}

impl Default for RawLimits {
    fn default() -> Self {
        RawLimits {
            acknowledgements_per_sender_per_hour: default_ack_rate(),
        }
    }
}

pub(super) fn default_ack_rate() -> u32 {
    10
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDaemon {
    #[serde(default = "default_poll")]
    pub(super) poll_interval: Spanned<String>,
    #[serde(default = "default_shutdown")]
    pub(super) shutdown_timeout: Spanned<String>,
    /// No successful poll of a source for this long: health red, one alert.
    #[serde(default = "default_stall_alert")]
    pub(super) stall_alert: Spanned<String>,
    /// Who gets the alert mails (the council's IT team).
    #[serde(default)]
    pub(super) admin: Option<Spanned<String>>,
}

impl Default for RawDaemon {
    fn default() -> Self {
        RawDaemon {
            poll_interval: default_poll(),
            shutdown_timeout: default_shutdown(),
            stall_alert: default_stall_alert(),
            admin: None,
        }
    }
}

pub(super) fn default_poll() -> Spanned<String> {
    Spanned::new(0..0, "60s".into())
}
pub(super) fn default_stall_alert() -> Spanned<String> {
    Spanned::new(0..0, "15m".into())
}
pub(super) fn default_shutdown() -> Spanned<String> {
    Spanned::new(0..0, "30s".into())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOAuth {
    pub(super) flow: String,
    #[serde(default)]
    pub(super) tenant: Option<String>,
    #[serde(default)]
    pub(super) token_url: Option<String>,
    pub(super) client_id: String,
    #[serde(default)]
    pub(super) client_secret: Option<toml::Value>,
    #[serde(default)]
    pub(super) client_secret_env: Option<String>,
    #[serde(default)]
    pub(super) client_secret_file: Option<String>,
    #[serde(default)]
    pub(super) refresh_token_file: Option<String>,
    #[serde(default)]
    pub(super) scope: Option<String>,
    #[serde(default)]
    pub(super) ca_file: Option<String>,
}
