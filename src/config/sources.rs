//! Where mail comes from: the sources (folders, scanned letters, IMAP
//! mailboxes) and the OAuth2 they and SMTP log in with.

use std::path::PathBuf;
use std::time::Duration;

use toml::Spanned;

use super::check::{Checker, is_loopback};
use super::raw::*;
use super::*;

// Long: every source kind's table is checked here in file order, so each
// mistake is reported with its line in one pass.
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
        let need = match (&kind, &done) {
            (SourceKind::EmlDir, None) => Need::Read,
            _ => Need::Write,
        };
        c.place(
            format!("source {:?} path", s.name),
            &path,
            span.clone(),
            need,
        );
        if let Some(done) = &done {
            c.place(
                format!("source {:?} done", s.name),
                done,
                span.clone(),
                Need::CreateAll,
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

// Long: every key of an [source.imap] table is checked here in file order,
// so each mistake is reported with its line in one pass.
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
    let ca_pem = c.read_file(span.clone(), "ca_file", s.ca_file.as_deref());
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
        batch_bytes: s.batch_mb.unwrap_or(16).max(1) << 20,
        ca_pem,
    })
}

// Long: every key of [oauth] is checked here in file order, so each mistake
// is reported with its line in one pass.
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
    let ca_pem = c.read_file(span.clone(), "oauth.ca_file", raw.ca_file.as_deref());
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
