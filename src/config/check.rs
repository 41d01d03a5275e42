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
}

impl Checker<'_> {
    pub(super) fn error_at(&mut self, span: std::ops::Range<usize>, message: impl Into<String>) {
        let line = if span == (0..0) {
            0
        } else {
            line_of(self.text, span.start)
        };
        self.errors
            .push(ConfigError::new(self.file.clone(), line, message));
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

pub(super) fn check_sources(
    c: &mut Checker<'_>,
    raw: Vec<Spanned<RawSource>>,
) -> Vec<SourceConfig> {
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
            "imap" => SourceKind::Imap,
            other => {
                c.error_at(
                    span.clone(),
                    format!("source kind {other:?} is not one of maildir, eml_dir, letters, imap"),
                );
                continue;
            }
        };
        if kind == SourceKind::Imap {
            if s.path.is_some() || s.after.is_some() || s.done.is_some() {
                c.error_at(
                    span.clone(),
                    "path, after and done are for folder sources, not imap",
                );
            }
            let imap = check_imap(c, &s, span.clone());
            out.push(SourceConfig {
                name: s.name,
                kind,
                path: PathBuf::new(),
                done: None,
                imap,
            });
            continue;
        }
        let imap_keys = [
            s.host.is_some(),
            s.username.is_some(),
            s.folders.is_some(),
            s.mark.is_some(),
            s.auth.is_some(),
        ];
        if imap_keys.iter().any(|k| *k) {
            c.error_at(
                span.clone(),
                "host, username, folders, mark and auth are for imap sources",
            );
        }
        let Some(path) = s.path.as_deref() else {
            c.error_at(span.clone(), format!("a {} source needs a path", s.kind));
            continue;
        };
        let path = c.path(path);
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
                        .unwrap_or_else(|| path.join("done")),
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
            path,
            done,
            imap: None,
        });
    }
    out
}

fn check_imap(c: &mut Checker<'_>, s: &RawSource, span: std::ops::Range<usize>) -> Option<Imap> {
    let Some(host) = s.host.clone() else {
        c.error_at(span, "an imap source needs a host");
        return None;
    };
    let tls = match s.tls.as_deref().unwrap_or("implicit") {
        "implicit" => Tls::Implicit,
        "starttls" => Tls::StartTls,
        "none" => Tls::None,
        other => {
            c.error_at(
                span.clone(),
                format!("tls = {other:?} is not one of implicit, starttls, none"),
            );
            Tls::Implicit
        }
    };
    if tls == Tls::None && !is_loopback(&host) {
        c.error_at(span.clone(), format!("tls = \"none\" sends the mailbox's password and mail in clear text; it is allowed only to a loopback address, not {host:?}"));
    }
    let Some(username) = s.username.clone() else {
        c.error_at(
            span,
            "an imap source needs a username (for XOAUTH2, the mailbox's address)",
        );
        return None;
    };
    if s.password.is_some() {
        c.error_at(span.clone(), "password: secrets are not read from the config file; use password_env or password_file");
    }
    let auth = match s.auth.as_deref().unwrap_or("password") {
        "password" => match c.secret(
            s.password_env.as_deref(),
            s.password_file.as_deref(),
            span.clone(),
            "imap password",
        ) {
            Some(p) => ImapAuth::Password(p),
            None => {
                if s.password_env.is_none() && s.password_file.is_none() {
                    c.error_at(
                        span.clone(),
                        "auth = \"password\" needs password_env or password_file",
                    );
                }
                ImapAuth::Password(SecretString::from(String::new()))
            }
        },
        "oauth2" => {
            if !c.has_oauth {
                c.error_at(
                    span.clone(),
                    "auth = \"oauth2\" needs an [oauth] table (where tokens come from)",
                );
            }
            ImapAuth::OAuth2
        }
        other => {
            c.error_at(
                span.clone(),
                format!("auth = {other:?} is not one of password, oauth2"),
            );
            ImapAuth::OAuth2
        }
    };
    let folders = s
        .folders
        .clone()
        .unwrap_or_else(|| vec!["INBOX".to_string()]);
    if folders.is_empty() {
        c.error_at(span.clone(), "folders is empty");
    }
    let mark = match (s.mark.as_deref().unwrap_or("flag"), &s.move_to) {
        ("flag", None) => Mark::Flag {
            keyword: s
                .keyword
                .clone()
                .unwrap_or_else(|| "$PostroomStored".into()),
        },
        ("move", Some(to)) => Mark::Move { to: to.clone() },
        ("move", None) => {
            c.error_at(span.clone(), "mark = \"move\" needs move_to (a folder)");
            Mark::Flag {
                keyword: "$PostroomStored".into(),
            }
        }
        ("flag", Some(_)) => {
            c.error_at(span.clone(), "move_to is only used with mark = \"move\"");
            Mark::Flag {
                keyword: "$PostroomStored".into(),
            }
        }
        (other, _) => {
            c.error_at(
                span.clone(),
                format!("mark = {other:?} is not one of flag, move"),
            );
            Mark::Flag {
                keyword: "$PostroomStored".into(),
            }
        }
    };
    if let Mark::Flag { keyword } = &mark
        && (keyword.is_empty()
            || !keyword
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '$' || ch == '_' || ch == '-'))
    {
        c.error_at(
            span.clone(),
            format!("keyword {keyword:?} must be letters, digits, $, _ or -"),
        );
    }
    let since = s
        .since
        .as_deref()
        .and_then(|t| match chrono::DateTime::parse_from_rfc3339(t) {
            Ok(t) => Some(t.with_timezone(&chrono::Utc)),
            Err(_) => {
                c.error_at(
                    span.clone(),
                    format!("since = {t:?} is not a time such as \"2026-01-01T00:00:00Z\""),
                );
                None
            }
        });
    let duration = |c: &mut Checker<'_>, v: &Option<String>, default: u64, key: &str| match v {
        None => Duration::from_secs(default),
        Some(text) => humantime::parse_duration(text).unwrap_or_else(|e| {
            c.error_at(span.clone(), format!("{key} = {text:?}: {e}"));
            Duration::from_secs(default)
        }),
    };
    let idle_timeout = duration(c, &s.idle_timeout, 25 * 60, "idle_timeout");
    let command_timeout = duration(c, &s.command_timeout, 60, "command_timeout");
    let ca_pem = s.ca_file.as_deref().and_then(|f| {
        let path = c.path(f);
        std::fs::read(&path)
            .map_err(|e| {
                c.error_at(
                    span.clone(),
                    format!("ca_file: cannot read {}: {e}", path.display()),
                )
            })
            .ok()
    });
    Some(Imap {
        port: s.port.unwrap_or(match tls {
            Tls::Implicit => 993,
            _ => 143,
        }),
        host,
        tls,
        username,
        auth,
        folders,
        mark,
        since,
        idle: s.idle.unwrap_or(true),
        idle_timeout,
        command_timeout,
        batch_bytes: s.batch_mb.unwrap_or(64).max(1) << 20,
        ca_pem,
    })
}

pub(super) fn check_oauth(
    c: &mut Checker<'_>,
    spanned: Spanned<RawOAuth>,
) -> crate::oauth::OAuthConfig {
    use crate::oauth::{Flow, OAuthConfig};
    let span = spanned.span();
    let raw = spanned.into_inner();
    let flow = match raw.flow.as_str() {
        "client_credentials" => Flow::ClientCredentials,
        "refresh_token" => Flow::RefreshToken,
        other => {
            c.error_at(
                span.clone(),
                format!("oauth.flow {other:?} is not one of client_credentials, refresh_token"),
            );
            Flow::ClientCredentials
        }
    };
    if raw.client_secret.is_some() {
        c.error_at(span.clone(), "oauth.client_secret: secrets are not read from the config file; use client_secret_env or client_secret_file");
    }
    let client_secret = c.secret(
        raw.client_secret_env.as_deref(),
        raw.client_secret_file.as_deref(),
        span.clone(),
        "oauth client secret",
    );
    if flow == Flow::ClientCredentials && client_secret.is_none() {
        c.error_at(
            span.clone(),
            "the client_credentials flow needs client_secret_env or client_secret_file",
        );
    }
    let refresh_token_file = raw.refresh_token_file.as_deref().map(|f| c.path(f));
    if flow == Flow::RefreshToken && refresh_token_file.is_none() {
        c.error_at(
            span.clone(),
            "the refresh_token flow needs refresh_token_file (postroom saves rotated tokens there)",
        );
    }
    let token_url = match (&raw.token_url, &raw.tenant) {
        (Some(url), None) => url.clone(),
        (None, Some(tenant)) => {
            format!("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token")
        }
        (Some(_), Some(_)) => {
            c.error_at(
                span.clone(),
                "give oauth.tenant (Microsoft 365) or oauth.token_url, not both",
            );
            String::new()
        }
        (None, None) => {
            c.error_at(
                span.clone(),
                "oauth needs tenant (Microsoft 365) or token_url",
            );
            String::new()
        }
    };
    if !token_url.is_empty() {
        match reqwest::Url::parse(&token_url) {
            Ok(url) if url.scheme() == "https" => {}
            Ok(url) if url.scheme() == "http" && is_loopback(url.host_str().unwrap_or("")) => {}
            Ok(_) => c.error_at(
                span.clone(),
                format!("oauth.token_url {token_url:?} must be https (plain http only to a loopback address)"),
            ),
            Err(e) => c.error_at(span.clone(), format!("oauth.token_url {token_url:?}: {e}")),
        }
    }
    let scope = raw.scope.clone().unwrap_or_else(|| match flow {
        Flow::ClientCredentials => "https://outlook.office365.com/.default".into(),
        Flow::RefreshToken => "https://outlook.office365.com/IMAP.AccessAsUser.All https://outlook.office365.com/SMTP.Send offline_access".into(),
    });
    let ca_pem = raw.ca_file.as_deref().and_then(|f| {
        let path = c.path(f);
        std::fs::read(&path)
            .map_err(|e| {
                c.error_at(
                    span.clone(),
                    format!("oauth.ca_file: cannot read {}: {e}", path.display()),
                )
            })
            .ok()
    });
    OAuthConfig {
        flow,
        token_url,
        client_id: raw.client_id,
        client_secret,
        refresh_token_file,
        scope,
        ca_pem,
    }
}

pub(super) fn check_delivery(
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

pub(super) fn check_smtp(c: &mut Checker<'_>, spanned: Spanned<RawSmtp>) -> Smtp {
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
    let oauth2 = match raw.auth.as_deref() {
        None | Some("password") => false,
        Some("oauth2") => true,
        Some(other) => {
            c.error_at(
                span.clone(),
                format!("smtp.auth {other:?} is not one of password, oauth2"),
            );
            false
        }
    };
    if oauth2 && !c.has_oauth {
        c.error_at(
            span.clone(),
            "smtp.auth = \"oauth2\" needs an [oauth] table (where tokens come from)",
        );
    }
    if oauth2 && raw.username.is_none() {
        c.error_at(
            span.clone(),
            "smtp.auth = \"oauth2\" needs smtp.username (the mailbox that sends)",
        );
    }
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
        oauth2,
        port,
        tls,
        ca_pem,
        username: raw.username,
        password,
        timeout,
    }
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

pub(super) fn check_webhook(
    c: &mut Checker<'_>,
    spanned: Spanned<super::raw::RawWebhook>,
) -> Option<super::Webhook> {
    let span = spanned.span();
    let raw = spanned.into_inner();
    if raw.secret.is_some() {
        c.error_at(span.clone(), "webhook.secret: secrets are not read from the config file; use webhook.secret_env or webhook.secret_file");
    }
    let url = match reqwest::Url::parse(&raw.url) {
        Ok(u) => u,
        Err(e) => {
            c.error_at(span, format!("webhook.url {:?} is not a URL: {e}", raw.url));
            return None;
        }
    };
    let host = url
        .host_str()
        .unwrap_or("")
        .trim_matches(['[', ']'])
        .to_string();
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&host) => {}
        "http" => c.error_at(
            span.clone(),
            format!("webhook.url: case data goes over HTTPS only; plain http is allowed only to a loopback address, not {host:?}"),
        ),
        other => c.error_at(span.clone(), format!("webhook.url: {other:?} is not http or https")),
    }
    let secret = c.secret(
        raw.secret_env.as_deref(),
        raw.secret_file.as_deref(),
        span.clone(),
        "webhook secret",
    );
    if secret.is_none() && raw.secret_env.is_none() && raw.secret_file.is_none() {
        c.error_at(
            span.clone(),
            "webhook needs secret_env or secret_file (the HMAC key the receiver checks)",
        );
    }
    let events = match raw.events {
        None => WEBHOOK_EVENTS.iter().map(|e| e.to_string()).collect(),
        Some(list) => {
            for e in &list {
                if !WEBHOOK_EVENTS.contains(&e.as_str()) {
                    c.error_at(
                        span.clone(),
                        format!(
                            "webhook.events: {e:?} is not one of {}",
                            WEBHOOK_EVENTS.join(", ")
                        ),
                    );
                }
            }
            list
        }
    };
    let timeout = c.duration(&raw.timeout, "webhook.timeout");
    Some(super::Webhook {
        url: url.to_string(),
        secret: secret?,
        events,
        timeout,
    })
}
