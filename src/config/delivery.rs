//! Where mail goes: the delivery transport, the SMTP server and the
//! webhook.

use std::path::PathBuf;
use std::time::Duration;

use toml::Spanned;

use super::check::{Checker, is_loopback};
use super::raw::*;
use super::*;

pub(super) fn check_delivery(
    c: &mut Checker<'_>,
    raw: RawDelivery,
    smtp: Option<Spanned<RawSmtp>>,
) -> Delivery {
    let retry_for = c.duration(&raw.retry_for, "delivery.retry_for");
    let transport = match raw.transport.get_ref().as_str() {
        "file" => match raw.path {
            Some(p) => {
                let dir = c.path(&p);
                let span = c.key_span("delivery", "path");
                c.place("delivery.path", &dir, span, Need::CreateAll);
                Transport::File(dir)
            }
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
    let ca_pem = c.read_file(span.clone(), "smtp.ca_file", raw.ca_file.as_deref());
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
