//! The raw tables for running postroom for years: `[http]` and
//! `[retention]`.

use serde::Deserialize;
use toml::Spanned;

/// `[http]`: where `/healthz`, `/readyz` and `/metrics` are served.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::config) struct RawHttp {
    pub(in crate::config) listen: Spanned<String>,
}

/// `[retention]`: how long each class of record is kept. Each council sets
/// its own schedule; the defaults follow the common "closed + 6 years" for
/// case files.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::config) struct RawRetention {
    /// Cases answered or closed more than this long ago are deleted with
    /// their messages (raw bytes, text, attachments), events, deadlines and
    /// mail; an anonymous statistics row stays. "never" keeps them.
    #[serde(default = "default_closed")]
    pub(in crate::config) closed_cases: Spanned<String>,
    /// Messages filed on no case (automatic replies, bounces, junk), from
    /// when postroom stored them.
    #[serde(default = "default_unfiled")]
    pub(in crate::config) unfiled_messages: Spanned<String>,
    /// Postroom's own mail on no case (digests, alerts), from when it was
    /// sent or given up on.
    #[serde(default = "default_unfiled")]
    pub(in crate::config) sent_mail: Spanned<String>,
    /// Local time of the daily run.
    #[serde(default = "default_at")]
    pub(in crate::config) at: Spanned<String>,
}

impl Default for RawRetention {
    fn default() -> Self {
        RawRetention {
            closed_cases: default_closed(),
            unfiled_messages: default_unfiled(),
            sent_mail: default_unfiled(),
            at: default_at(),
        }
    }
}

fn default_closed() -> Spanned<String> {
    Spanned::new(0..0, "6 years".into())
}

fn default_unfiled() -> Spanned<String> {
    Spanned::new(0..0, "1 year".into())
}

fn default_at() -> Spanned<String> {
    Spanned::new(0..0, "02:00".into())
}

/// `[web]`: the caseworkers' workspace in the browser.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::config) struct RawWeb {
    pub(in crate::config) listen: Spanned<String>,
    /// The address people open, behind the council's TLS proxy.
    #[serde(default)]
    pub(in crate::config) public_url: Option<Spanned<String>>,
    #[serde(default = "default_idle")]
    pub(in crate::config) idle_timeout: Spanned<String>,
    #[serde(default = "default_absolute")]
    pub(in crate::config) absolute_timeout: Spanned<String>,
    /// People who see every case and the figures.
    #[serde(default)]
    pub(in crate::config) managers: Vec<Spanned<String>>,
    /// People who see everything, the access audit included.
    #[serde(default)]
    pub(in crate::config) admins: Vec<Spanned<String>>,
    /// Sign-in with the council's identity provider.
    #[serde(default)]
    pub(in crate::config) oidc: Option<Spanned<RawOidc>>,
}

/// `[web.oidc]`: OpenID Connect, authorisation code with PKCE.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::config) struct RawOidc {
    pub(in crate::config) issuer: Spanned<String>,
    pub(in crate::config) client_id: String,
    #[serde(default)]
    pub(in crate::config) client_secret_env: Option<String>,
    #[serde(default)]
    pub(in crate::config) client_secret_file: Option<String>,
    /// The ID token claim that holds the person's address.
    #[serde(default = "default_email_claim")]
    pub(in crate::config) email_claim: String,
    /// The ID token claim that lists the person's groups.
    #[serde(default = "default_groups_claim")]
    pub(in crate::config) groups_claim: String,
    /// Members of these groups are managers, or admins.
    #[serde(default)]
    pub(in crate::config) manager_groups: Vec<String>,
    #[serde(default)]
    pub(in crate::config) admin_groups: Vec<String>,
    /// A PEM file of the CA that signs the provider's certificate, when
    /// it is not a public one.
    #[serde(default)]
    pub(in crate::config) ca_file: Option<String>,
}

fn default_email_claim() -> String {
    "email".into()
}

fn default_groups_claim() -> String {
    "groups".into()
}

fn default_idle() -> Spanned<String> {
    Spanned::new(0..0, "30m".into())
}

fn default_absolute() -> Spanned<String> {
    Spanned::new(0..0, "10h".into())
}
