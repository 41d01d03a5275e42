//! Checks of the raw config into ready-to-use values, collecting every
//! problem with its line.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{NaiveDate, NaiveTime};
use chrono_tz::Tz;
use secrecy::SecretString;
use toml::Spanned;

use super::raw::*;
use super::*;
use crate::calendar::Division;
use crate::problem::line_of;

pub(super) struct Checker<'a> {
    pub(super) file: String,
    pub(super) text: &'a str,
    pub(super) base: PathBuf,
    pub(super) errors: Vec<ConfigError>,
    /// Whether the file has an `[oauth]` table (XOAUTH2 needs one).
    pub(super) has_oauth: bool,
    /// The places `run` will read and write, as they are named.
    pub(super) places: Vec<Place>,
}

impl Checker<'_> {
    /// Records a place `run` will use, named at `span` (a line of the file).
    pub(super) fn place(
        &mut self,
        what: impl Into<String>,
        path: &Path,
        span: std::ops::Range<usize>,
        need: Need,
    ) {
        let line = if span == (0..0) {
            0
        } else {
            line_of(self.text, span.start)
        };
        self.places.push(Place {
            what: what.into(),
            path: path.to_path_buf(),
            line,
            need,
        });
    }

    /// The span of `key = ` in the `[table]` of the file, for values that
    /// carry no span of their own; `0..0` when it is not written there.
    pub(super) fn key_span(&self, table: &str, key: &str) -> std::ops::Range<usize> {
        let header = format!("[{table}]");
        let mut offset = 0;
        let mut inside = false;
        for line in self.text.split_inclusive('\n') {
            let t = line.trim();
            if t.starts_with('[') {
                inside = t == header;
            } else if inside
                && t.strip_prefix(key)
                    .is_some_and(|rest| rest.trim_start().starts_with('='))
            {
                return offset..offset + line.len();
            }
            offset += line.len();
        }
        0..0
    }

    pub(super) fn error_at(&mut self, span: std::ops::Range<usize>, message: impl Into<String>) {
        let line = if span == (0..0) {
            0
        } else {
            line_of(self.text, span.start)
        };
        self.errors
            .push(ConfigError::new(self.file.clone(), line, message));
    }

    /// The bytes of the file `key` names (relative to the config's folder),
    /// or an error on `span` when it cannot be read.
    pub(super) fn read_file(
        &mut self,
        span: std::ops::Range<usize>,
        key: &str,
        file: Option<&str>,
    ) -> Option<Vec<u8>> {
        let path = self.path(file?);
        std::fs::read(&path)
            .map_err(|e| self.error_at(span, format!("{key}: cannot read {}: {e}", path.display())))
            .ok()
    }

    pub(super) fn path(&self, p: &str) -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base.join(p)
        }
    }

    pub(super) fn duration(&mut self, value: &Spanned<String>, key: &str) -> Duration {
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

    pub(super) fn secret(
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

// Long: every key of [council] is checked here in file order, so each
// mistake is reported with its line in one pass.
pub(super) fn check_council(c: &mut Checker<'_>, raw: RawCouncil) -> Council {
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

pub(super) fn check_database(c: &mut Checker<'_>, raw: RawDatabase) -> Database {
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
                if !path.is_empty() && path != ":memory:" {
                    c.place("database.url", &resolved, url.span(), Need::CreateIn);
                }
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

pub fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The events a webhook can be sent for.
pub const WEBHOOK_EVENTS: [&str; 4] = [
    "case_created",
    "case_assigned",
    "case_answered",
    "case_closed",
];
