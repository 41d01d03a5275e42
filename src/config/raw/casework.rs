//! The raw casework tables: `[[team]]`, `[policy]`, `[reminders]`,
//! `[digests]`, `[answers]`.

use serde::Deserialize;
use toml::Spanned;

/// How postroom tells a caseworker's reply to the MP office (copied to the
/// mailbox) that answers the case from a holding reply.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::config) struct RawAnswers {
    /// Words that make a reply a holding (interim) reply; so does
    /// `[holding]` in its subject.
    #[serde(default = "default_holding_phrases")]
    pub(in crate::config) holding_phrases: Vec<String>,
}

impl Default for RawAnswers {
    fn default() -> Self {
        RawAnswers {
            holding_phrases: default_holding_phrases(),
        }
    }
}

pub(in crate::config) fn default_holding_phrases() -> Vec<String> {
    [
        "holding reply",
        "holding response",
        "interim reply",
        "interim response",
        "full response will follow",
        "full reply will follow",
        "will respond in full",
        "will reply in full",
        "respond more fully",
        "write again once",
        "write to you again",
        "provide a full response",
        "provide a full reply",
    ]
    .map(String::from)
    .to_vec()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::config) struct RawTeam {
    pub(in crate::config) name: String,
    #[serde(default)]
    pub(in crate::config) categories: Vec<String>,
    /// The team that takes cases no other team's categories cover.
    #[serde(default)]
    pub(in crate::config) default: bool,
    #[serde(default)]
    pub(in crate::config) manager: Option<String>,
    #[serde(default)]
    pub(in crate::config) members: Vec<String>,
    #[serde(default)]
    pub(in crate::config) assign: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::config) struct RawPolicy {
    #[serde(default)]
    pub(in crate::config) acknowledge_days: u32,
    #[serde(default = "ten")]
    pub(in crate::config) respond_days: u32,
    #[serde(default = "two")]
    pub(in crate::config) urgent_respond_days: u32,
    /// Targets for some cases: the first rule that matches wins.
    #[serde(default)]
    pub(in crate::config) rule: Vec<Spanned<RawPolicyRule>>,
    /// Statutory SEND milestones; England's by default.
    #[serde(default)]
    pub(in crate::config) milestone: Option<Vec<Spanned<RawMilestone>>>,
}

impl Default for RawPolicy {
    fn default() -> Self {
        RawPolicy {
            acknowledge_days: 0,
            respond_days: 10,
            urgent_respond_days: 2,
            rule: Vec::new(),
            milestone: None,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::config) struct RawPolicyRule {
    pub(in crate::config) name: String,
    #[serde(default)]
    pub(in crate::config) categories: Vec<String>,
    #[serde(default)]
    pub(in crate::config) send_topics: Vec<String>,
    #[serde(default)]
    pub(in crate::config) urgent: Option<bool>,
    #[serde(default)]
    pub(in crate::config) acknowledge_days: Option<u32>,
    #[serde(default)]
    pub(in crate::config) respond_days: Option<u32>,
    #[serde(default)]
    pub(in crate::config) urgent_respond_days: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::config) struct RawMilestone {
    pub(in crate::config) name: String,
    #[serde(default)]
    pub(in crate::config) regulation: Option<String>,
    pub(in crate::config) weeks: u32,
    pub(in crate::config) send_topics: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::config) struct RawReminders {
    /// Working days before each due date that the caseworker is reminded.
    #[serde(default = "default_before")]
    pub(in crate::config) before: Vec<u32>,
    #[serde(default = "yes")]
    pub(in crate::config) on_the_day: bool,
    #[serde(default)]
    pub(in crate::config) overdue: Option<Vec<Spanned<RawEscalation>>>,
    /// Reminders and digests go out only between these local times, on
    /// working days (digest times must fall inside).
    #[serde(default = "default_hours")]
    pub(in crate::config) hours: Spanned<String>,
}

impl Default for RawReminders {
    fn default() -> Self {
        RawReminders {
            before: default_before(),
            on_the_day: true,
            overdue: None,
            hours: default_hours(),
        }
    }
}

pub(in crate::config) fn default_before() -> Vec<u32> {
    vec![2]
}

pub(in crate::config) fn yes() -> bool {
    true
}

pub(in crate::config) fn default_hours() -> Spanned<String> {
    Spanned::new(0..0, "08:00-18:00".into())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::config) struct RawEscalation {
    /// Working days after the due date (1: the first working day after).
    pub(in crate::config) after: u32,
    /// "caseworker", "manager", or addresses.
    pub(in crate::config) to: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::config) struct RawDigests {
    /// Local time of the daily digest on working days ("" for none).
    #[serde(default = "default_daily")]
    pub(in crate::config) daily: Spanned<String>,
    /// Day and time of the weekly digest ("monday 08:30"; "" for none).
    #[serde(default = "default_weekly")]
    pub(in crate::config) weekly: Spanned<String>,
    /// "Due soon" means within this many working days.
    #[serde(default = "default_due_soon")]
    pub(in crate::config) due_within_days: u32,
}

impl Default for RawDigests {
    fn default() -> Self {
        RawDigests {
            daily: default_daily(),
            weekly: default_weekly(),
            due_within_days: default_due_soon(),
        }
    }
}

pub(in crate::config) fn default_daily() -> Spanned<String> {
    Spanned::new(0..0, "08:30".into())
}

pub(in crate::config) fn default_weekly() -> Spanned<String> {
    Spanned::new(0..0, "monday 08:30".into())
}

pub(in crate::config) fn default_due_soon() -> u32 {
    5
}

pub(in crate::config) fn ten() -> u32 {
    10
}

pub(in crate::config) fn two() -> u32 {
    2
}
