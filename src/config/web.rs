//! `[web]`: the caseworkers' workspace in the browser (see [`crate::web`]),
//! and who may use it in which role.

use std::net::SocketAddr;
use std::time::Duration;

use toml::Spanned;

use super::Config;
use super::check::{Checker, is_loopback};
use super::raw::RawWeb;

#[derive(Debug, Clone)]
pub struct Web {
    pub listen: SocketAddr,
    /// The address people open, without a trailing slash: links in mail,
    /// the sign-in redirect. `https` behind the council's proxy.
    pub public_url: String,
    /// The cookie is `Secure` and HSTS is sent: the public address is
    /// `https`.
    pub secure: bool,
    /// A session unused this long ends.
    pub idle_timeout: Duration,
    /// A session ends this long after sign-in, used or not.
    pub absolute_timeout: Duration,
    pub managers: Vec<String>,
    pub admins: Vec<String>,
    /// The local sign-in as any person the config names, for `postroom
    /// demo` and trials: only on a loopback address with no identity
    /// provider, shown as such.
    pub local_sign_in: bool,
    pub oidc: Option<Oidc>,
}

/// Sign-in with the council's identity provider (OpenID Connect).
#[derive(Clone)]
pub struct Oidc {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<secrecy::SecretString>,
    pub email_claim: String,
    pub groups_claim: String,
    pub manager_groups: Vec<String>,
    pub admin_groups: Vec<String>,
    pub ca_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// What a person may do in the workspace. Later roles include the
/// earlier ones' rights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WebRole {
    /// Their teams' cases and the cases assigned to them.
    Caseworker,
    /// Their teams' cases, reassigning among the team.
    TeamLead,
    /// Every case, and the figures.
    Manager,
    /// Everything, the access audit included.
    Admin,
}

impl WebRole {
    pub fn label(self) -> &'static str {
        match self {
            WebRole::Caseworker => "caseworker",
            WebRole::TeamLead => "team lead",
            WebRole::Manager => "manager",
            WebRole::Admin => "admin",
        }
    }

    /// Sees every case, whatever its team.
    pub fn sees_all(self) -> bool {
        self >= WebRole::Manager
    }
}

impl Config {
    /// The role `email` has in the workspace and the teams it works in,
    /// from the config alone: `None` for someone postroom does not know.
    pub fn web_role(&self, email: &str) -> Option<(WebRole, Vec<String>)> {
        self.web_role_in(email, &[])
    }

    /// As [`Config::web_role`], for someone the identity provider says is
    /// in `groups` (`web.oidc.manager_groups`, `admin_groups`).
    pub fn web_role_in(&self, email: &str, groups: &[String]) -> Option<(WebRole, Vec<String>)> {
        let oidc = self.web.as_ref().and_then(|w| w.oidc.as_ref());
        let in_any = |names: &[String]| names.iter().any(|n| groups.contains(n));
        let is = |list: &[String]| list.iter().any(|a| a.eq_ignore_ascii_case(email));
        let led: Vec<String> = self
            .teams
            .iter()
            .filter(|t| {
                t.manager
                    .as_deref()
                    .is_some_and(|m| m.eq_ignore_ascii_case(email))
            })
            .map(|t| t.name.clone())
            .collect();
        let member: Vec<String> = self
            .teams
            .iter()
            .filter(|t| is(&t.members) && !led.contains(&t.name))
            .map(|t| t.name.clone())
            .collect();
        let teams: Vec<String> = led.iter().chain(&member).cloned().collect();
        let web = self.web.as_ref()?;
        let admin = is(&web.admins)
            || oidc.is_some_and(|o| in_any(&o.admin_groups))
            || self
                .admin
                .as_deref()
                .is_some_and(|a| a.eq_ignore_ascii_case(email));
        let role = if admin {
            WebRole::Admin
        } else if is(&web.managers) || oidc.is_some_and(|o| in_any(&o.manager_groups)) {
            WebRole::Manager
        } else if !led.is_empty() {
            WebRole::TeamLead
        } else if !member.is_empty() {
            WebRole::Caseworker
        } else {
            return None;
        };
        Some((role, teams))
    }

    /// Everyone who has a role in the workspace, for the local sign-in.
    pub fn web_people(&self) -> Vec<String> {
        let mut people: Vec<String> = Vec::new();
        let web = self
            .web
            .iter()
            .flat_map(|w| w.admins.iter().chain(&w.managers));
        let teams = self
            .teams
            .iter()
            .flat_map(|t| t.manager.iter().chain(&t.members));
        for p in self.admin.iter().chain(web).chain(teams) {
            if !people.iter().any(|o| o.eq_ignore_ascii_case(p)) {
                people.push(p.clone());
            }
        }
        people
    }
}

pub(super) fn check_web(c: &mut Checker<'_>, raw: Spanned<RawWeb>) -> Option<Web> {
    let table = raw.span();
    let raw = raw.into_inner();
    let listen = match raw.listen.get_ref().parse::<SocketAddr>() {
        Ok(a) => Some(a),
        Err(e) => {
            c.error_at(
                raw.listen.span(),
                format!(
                    "web.listen = {:?} is not an address and port such as \"127.0.0.1:8080\": {e}",
                    raw.listen.get_ref()
                ),
            );
            None
        }
    };
    let public_url = match (&raw.public_url, listen) {
        (Some(u), _) => public_url(c, u),
        (None, Some(a)) if a.ip().is_loopback() => Some(format!("http://{a}")),
        (None, _) => {
            c.error_at(
                raw.listen.span(),
                "web.public_url is missing: a workspace off this machine is opened through the council's TLS proxy, at an https address such as \"https://postroom.example.gov.uk\"",
            );
            None
        }
    };
    let idle_timeout = c.duration(&raw.idle_timeout, "web.idle_timeout");
    let absolute_timeout = c.duration(&raw.absolute_timeout, "web.absolute_timeout");
    if idle_timeout > absolute_timeout {
        c.error_at(
            raw.idle_timeout.span(),
            "web.idle_timeout is longer than web.absolute_timeout",
        );
    }
    let managers = people(c, raw.managers, "web.managers");
    let admins = people(c, raw.admins, "web.admins");
    let oidc = raw.oidc.map(|o| oidc(c, o));
    let (listen, public_url) = (listen?, public_url?);
    let loopback = listen.ip().is_loopback() && url_host_is_loopback(&public_url);
    if !loopback && oidc.is_none() {
        // Sign-in with the council's identity provider is the only way in
        // off this machine; until it is configured, refuse to serve there.
        c.error_at(
            table,
            "[web] is served off this machine but names no identity provider: only the local sign-in exists, and it is for loopback addresses",
        );
        return None;
    }
    Some(Web {
        listen,
        secure: public_url.starts_with("https://"),
        public_url,
        idle_timeout,
        absolute_timeout,
        managers,
        admins,
        local_sign_in: loopback && oidc.is_none(),
        oidc: oidc.flatten(),
    })
}

fn oidc(c: &mut Checker<'_>, raw: Spanned<super::raw::RawOidc>) -> Option<Oidc> {
    let span = raw.span();
    let raw = raw.into_inner();
    let issuer = raw
        .issuer
        .get_ref()
        .trim()
        .trim_end_matches('/')
        .to_string();
    let host = issuer
        .strip_prefix("http://")
        .map(|r| r.split(['/', ':']).next().unwrap_or(""));
    if !issuer.starts_with("https://") && !host.is_some_and(is_loopback) {
        c.error_at(
            raw.issuer.span(),
            format!("web.oidc.issuer = {issuer:?} is not an https address such as \"https://login.microsoftonline.com/<tenant id>/v2.0\""),
        );
    }
    if raw.client_id.trim().is_empty() {
        c.error_at(span.clone(), "web.oidc.client_id is empty");
    }
    let client_secret = c.secret(
        raw.client_secret_env.as_deref(),
        raw.client_secret_file.as_deref(),
        span.clone(),
        "web.oidc.client_secret",
    );
    let ca_pem = raw.ca_file.and_then(|f| {
        let path = c.path(&f);
        std::fs::read(&path)
            .map_err(|e| {
                c.error_at(
                    span.clone(),
                    format!("web.oidc.ca_file: cannot read {}: {e}", path.display()),
                )
            })
            .ok()
    });
    Some(Oidc {
        issuer,
        client_id: raw.client_id.trim().to_string(),
        client_secret,
        email_claim: raw.email_claim,
        groups_claim: raw.groups_claim,
        manager_groups: raw.manager_groups,
        admin_groups: raw.admin_groups,
        ca_pem,
    })
}

fn public_url(c: &mut Checker<'_>, u: &Spanned<String>) -> Option<String> {
    let url = u.get_ref().trim().trim_end_matches('/').to_string();
    let Some((scheme, rest)) = url.split_once("://") else {
        c.error_at(
            u.span(),
            format!("web.public_url = {url:?} is not an address such as \"https://postroom.example.gov.uk\""),
        );
        return None;
    };
    let host = rest.split(['/', ':']).next().unwrap_or("");
    match scheme {
        "https" if !host.is_empty() => Some(url),
        "http" if is_loopback(host) => Some(url),
        "http" => {
            c.error_at(
                u.span(),
                format!("web.public_url = {url:?}: the workspace shows children's health records, so it is opened over https (through the council's TLS proxy)"),
            );
            None
        }
        _ => {
            c.error_at(
                u.span(),
                format!("web.public_url = {url:?} is not an https address"),
            );
            None
        }
    }
}

fn url_host_is_loopback(url: &str) -> bool {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let authority = rest.split('/').next().unwrap_or("");
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => authority,
    };
    is_loopback(host)
}

fn people(c: &mut Checker<'_>, raw: Vec<Spanned<String>>, key: &str) -> Vec<String> {
    raw.into_iter()
        .filter_map(|p| {
            let span = p.span();
            let p = p.into_inner().trim().to_string();
            if p.parse::<lettre::Address>().is_err() {
                c.error_at(span, format!("{key}: {p:?} is not an email address"));
                return None;
            }
            Some(p)
        })
        .collect()
}
