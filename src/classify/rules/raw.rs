//! The raw (serde) form of a rule file, a mirror of the TOML, with
//! `Spanned` values where an error needs its line.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFile {
    #[serde(default)]
    pub(super) rule: Vec<Spanned<RawRule>>,
    #[serde(default)]
    pub(super) extract: Vec<Spanned<RawExtract>>,
    #[serde(default)]
    pub(super) concept: Vec<Spanned<RawConcept>>,
}

/// A named list of words and phrases that patterns refer to as `@name`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConcept {
    pub(super) name: String,
    /// For people; not used.
    #[serde(default)]
    #[allow(dead_code)]
    pub(super) description: Option<String>,
    pub(super) words: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRule {
    pub(super) name: String,
    #[serde(default)]
    pub(super) description: Option<String>,
    #[serde(default)]
    pub(super) priority: i64,
    #[serde(default = "one")]
    pub(super) weight: i64,
    #[serde(default = "yes")]
    pub(super) enabled: bool,
    #[serde(default)]
    pub(super) when: RawCondition,
    #[serde(default)]
    pub(super) then: RawActions,
}

pub(super) fn one() -> i64 {
    1
}

pub(super) fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub(super) fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMatcher {
    #[serde(default)]
    pub(super) any: Option<Vec<String>>,
    /// With `any`: at least this many different phrases must occur.
    #[serde(default)]
    pub(super) min: Option<usize>,
    #[serde(default)]
    pub(super) all: Option<Vec<String>>,
    #[serde(default)]
    pub(super) none: Option<Vec<String>>,
    #[serde(default)]
    pub(super) regex: Option<String>,
    #[serde(default)]
    pub(super) exists: Option<bool>,
    /// The text has fewer than this many characters.
    #[serde(default)]
    pub(super) shorter_than: Option<usize>,
    /// Concept patterns ("@refuse @assess"): one of them matches in a clause.
    #[serde(default)]
    pub(super) concepts: Option<Vec<String>>,
    /// With `concepts`: a clause where one of these matches does not count.
    #[serde(default)]
    pub(super) unless: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAuth {
    pub(super) spf: Option<OneOrMany>,
    pub(super) dkim: Option<OneOrMany>,
    pub(super) dmarc: Option<OneOrMany>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCondition {
    pub(super) subject: Option<RawMatcher>,
    pub(super) body: Option<RawMatcher>,
    pub(super) latest: Option<RawMatcher>,
    pub(super) own: Option<RawMatcher>,
    pub(super) request: Option<RawMatcher>,
    pub(super) quoted: Option<RawMatcher>,
    pub(super) attachments: Option<RawMatcher>,
    pub(super) text: Option<RawMatcher>,
    pub(super) from: Option<RawMatcher>,
    pub(super) from_name: Option<RawMatcher>,
    pub(super) to: Option<RawMatcher>,
    pub(super) cc: Option<RawMatcher>,
    pub(super) recipients: Option<RawMatcher>,
    pub(super) reply_to: Option<RawMatcher>,
    pub(super) attachment_names: Option<RawMatcher>,
    pub(super) content_types: Option<RawMatcher>,
    pub(super) header: Option<BTreeMap<String, RawMatcher>>,
    pub(super) source: Option<String>,
    pub(super) sender_role: Option<OneOrMany>,
    pub(super) auth: Option<RawAuth>,
    pub(super) has_council_reference: Option<bool>,
    pub(super) has_mp_reference: Option<bool>,
    pub(super) is_reply: Option<bool>,
    pub(super) replies_to_postroom: Option<bool>,
    pub(super) has_attachments: Option<bool>,
    pub(super) mentions_mp: Option<bool>,
    pub(super) event_within_days: Option<i64>,
    pub(super) kind: Option<OneOrMany>,
    pub(super) category: Option<OneOrMany>,
    pub(super) send_topic: Option<OneOrMany>,
    pub(super) from_mp_office: Option<bool>,
    pub(super) urgent: Option<bool>,
    pub(super) all: Option<Vec<RawCondition>>,
    pub(super) any: Option<Vec<RawCondition>>,
    pub(super) not: Option<Box<RawCondition>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawActions {
    pub(super) kind: Option<String>,
    pub(super) category: Option<String>,
    pub(super) send_topic: Option<String>,
    pub(super) urgent: Option<bool>,
    pub(super) from_mp_office: Option<bool>,
    pub(super) acknowledge: Option<bool>,
    pub(super) team: Option<String>,
    pub(super) assignee: Option<String>,
    pub(super) policy: Option<String>,
    #[serde(default)]
    pub(super) tags: Vec<String>,
    pub(super) triage: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawExtract {
    pub(super) name: String,
    /// For people; not used.
    #[serde(default)]
    #[allow(dead_code)]
    pub(super) description: Option<String>,
    pub(super) field: String,
    #[serde(rename = "in")]
    pub(super) input: String,
    pub(super) pattern: String,
    #[serde(default)]
    pub(super) reject: Option<String>,
}
