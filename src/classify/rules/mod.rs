//! The rule language: TOML files under `rules/`, checked and compiled once.
//!
//! A rule file holds `[[rule]]` tables (a name, conditions under `when`,
//! actions under `then`) and `[[extract]]` tables (patterns that pull a value
//! such as the MP office's reference out of the text). Files load in
//! file-name order, so a council adds `rules/50-local.toml` without touching
//! the defaults. The language is documented in `rules/README.md`.
//!
//! How conflicts resolve, for each decided field: among the matching rules
//! that set the field, only those with the highest `priority` count; among
//! them, each value's `weight`s are added up and the heaviest value wins; a tie
//! goes to the value set by the rule loaded last.
//!
//! Text conditions are matched through one `RegexSet` per text (see
//! [`patterns`]), so a message is scanned once per field, not once per rule.
//!
//! Checking collects every error in every file (file, line, rule, what is
//! wrong) rather than stopping at the first, so `postroom rules check` can
//! print them all.

mod compile;
pub(crate) mod concepts;
mod matchers;
mod patterns;
mod raw;
mod votes;

use regex::Regex;

use crate::case::{Category, Kind, SendTopic};
use crate::message::Origin;
pub use crate::problem::{Problem as RuleError, Problems as RuleErrors};
pub use matchers::compile_regex;
use patterns::{Hits, Matcher, Patterns};
pub use votes::{Tally, Votes};

// ---------------------------------------------------------------------------
// What the rules look at.

/// The text fields a condition can match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextField {
    Subject,
    Body,
    Latest,
    /// `latest` and `attachments`: what the sender wrote now (with the
    /// forwarded text, when the message forwards one).
    Own,
    /// The sentences of `own` that ask for something.
    Request,
    /// The body below `latest`: the quoted or forwarded messages.
    Quoted,
    Attachments,
    Text,
    From,
    FromName,
    To,
    Cc,
    Recipients,
    ReplyTo,
    AttachmentNames,
    ContentTypes,
}

impl TextField {
    const NAMES: &'static [(&'static str, TextField)] = &[
        ("subject", TextField::Subject),
        ("body", TextField::Body),
        ("latest", TextField::Latest),
        ("own", TextField::Own),
        ("request", TextField::Request),
        ("quoted", TextField::Quoted),
        ("attachments", TextField::Attachments),
        ("text", TextField::Text),
        ("from", TextField::From),
        ("from_name", TextField::FromName),
        ("to", TextField::To),
        ("cc", TextField::Cc),
        ("recipients", TextField::Recipients),
        ("reply_to", TextField::ReplyTo),
        ("attachment_names", TextField::AttachmentNames),
        ("content_types", TextField::ContentTypes),
    ];

    /// How many text fields there are.
    pub(crate) const COUNT: usize = Self::NAMES.len();

    /// This field's place in [`TextField::NAMES`].
    pub(crate) fn index(self) -> usize {
        Self::NAMES
            .iter()
            .position(|(_, f)| *f == self)
            .unwrap_or(0)
    }

    /// The name rules use for this field.
    pub fn name(self) -> &'static str {
        Self::NAMES[self.index()].0
    }

    pub fn parse(name: &str) -> Option<TextField> {
        Self::NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, f)| *f)
    }

    pub fn names() -> String {
        Self::NAMES
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// What the directory and config say of the sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SenderRole {
    /// The MP's own address.
    Mp,
    /// An address of the MP's office.
    Staff,
    /// One of the council's own domains.
    Council,
    Unknown,
}

impl SenderRole {
    pub(crate) fn parse(s: &str) -> Option<SenderRole> {
        match s {
            "mp" => Some(SenderRole::Mp),
            "staff" => Some(SenderRole::Staff),
            "council" => Some(SenderRole::Council),
            "unknown" => Some(SenderRole::Unknown),
            _ => None,
        }
    }
}

/// Results of sender authentication, from the trusted `Authentication-Results`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthResults {
    pub spf: Option<String>,
    pub dkim: Option<String>,
    pub dmarc: Option<String>,
}

/// Everything the rules can test, computed once per message by
/// [`super::features`].
#[derive(Debug, Clone)]
pub struct Facts {
    pub source: Origin,
    pub subject: String,
    pub body: String,
    pub latest: String,
    /// `latest` then `attachments` (the whole body for a forward).
    pub own: String,
    /// The sentences of `own` that ask for something, one per line.
    pub request: String,
    /// The body below `latest`.
    pub quoted: String,
    pub attachments: String,
    pub text: String,
    pub from: String,
    pub from_name: String,
    pub to: String,
    pub cc: String,
    /// `to` and `cc`, one address per line.
    pub recipients: String,
    pub reply_to: String,
    pub attachment_names: String,
    pub content_types: String,
    /// (lower-case name, value) in message order.
    pub headers: Vec<(String, String)>,
    pub sender_role: SenderRole,
    pub auth: AuthResults,
    pub has_council_reference: bool,
    pub has_mp_reference: bool,
    pub is_reply: bool,
    pub replies_to_postroom: bool,
    pub has_attachments: bool,
    pub mentions_mp: bool,
    /// Days from the message's date to the nearest dated event it mentions
    /// (hearing, deadline, ...), when there is one.
    pub event_within_days: Option<i64>,
}

impl Facts {
    /// The text of a field.
    pub fn field(&self, field: TextField) -> &str {
        match field {
            TextField::Subject => &self.subject,
            TextField::Body => &self.body,
            TextField::Latest => &self.latest,
            TextField::Own => &self.own,
            TextField::Request => &self.request,
            TextField::Quoted => &self.quoted,
            TextField::Attachments => &self.attachments,
            TextField::Text => &self.text,
            TextField::From => &self.from,
            TextField::FromName => &self.from_name,
            TextField::To => &self.to,
            TextField::Cc => &self.cc,
            TextField::Recipients => &self.recipients,
            TextField::ReplyTo => &self.reply_to,
            TextField::AttachmentNames => &self.attachment_names,
            TextField::ContentTypes => &self.content_types,
        }
    }
}

// ---------------------------------------------------------------------------
// The compiled form.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flag {
    HasCouncilReference,
    HasMpReference,
    IsReply,
    RepliesToPostroom,
    HasAttachments,
    MentionsMp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthMethod {
    Spf,
    Dkim,
    Dmarc,
}

#[derive(Debug)]
pub(crate) enum Condition {
    All(Vec<Condition>),
    Any(Vec<Condition>),
    Not(Box<Condition>),
    /// A text field or a header, through the pattern sets.
    Match(Matcher),
    Source(Origin),
    SenderRole(Vec<SenderRole>),
    Auth(AuthMethod, Vec<String>),
    Flag(Flag, bool),
    EventWithinDays(i64),
    Kind(Vec<Kind>),
    Category(Vec<Category>),
    SendTopic(Vec<SendTopic>),
    FromMpOffice(bool),
    Urgent(bool),
}

/// What a rule does when it matches.
#[derive(Debug, Default, Clone)]
pub struct Actions {
    pub kind: Option<Kind>,
    pub category: Option<Category>,
    pub send_topic: Option<SendTopic>,
    pub urgent: Option<bool>,
    pub from_mp_office: Option<bool>,
    pub acknowledge: Option<bool>,
    pub team: Option<String>,
    pub assignee: Option<String>,
    pub policy: Option<String>,
    pub tags: Vec<String>,
    pub triage: Option<String>,
}

#[derive(Debug)]
pub struct Rule {
    pub name: String,
    pub description: Option<String>,
    pub file: String,
    pub line: usize,
    pub priority: i64,
    pub weight: i64,
    pub(crate) when: Condition,
    pub then: Actions,
}

/// The fields an extractor can fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtractField {
    MpReference,
    CouncilReference,
}

#[derive(Debug)]
pub struct Extractor {
    pub name: String,
    pub field: ExtractField,
    pub file: String,
    pub line: usize,
    pub(crate) input: TextField,
    pub(crate) pattern: Regex,
    /// Values that look like a reference but are not one (`0`, `n/a`, ...).
    pub(crate) reject: Option<Regex>,
}

impl Extractor {
    /// The first value this extractor finds in `facts`, as written, that
    /// `accept` agrees to.
    pub fn find(&self, facts: &Facts, accept: &dyn Fn(&str) -> bool) -> Option<String> {
        {
            for caps in self.pattern.captures_iter(facts.field(self.input)) {
                let Some(value) = caps.name("value") else {
                    continue;
                };
                let value = value.as_str().trim();
                if value.is_empty() {
                    continue;
                }
                if self.reject.as_ref().is_some_and(|re| re.is_match(value)) || !accept(value) {
                    continue;
                }
                return Some(value.to_string());
            }
        }
        None
    }
}

/// A compiled rule set.
#[derive(Debug, Default)]
pub struct Rules {
    pub rules: Vec<Rule>,
    pub extractors: Vec<Extractor>,
    /// Every text pattern of every rule, one set per scope.
    pub(crate) patterns: Patterns,
    /// The concepts the rules' patterns use.
    pub(crate) lexicon: concepts::Lexicon,
    /// The files it was loaded from, in order.
    pub files: Vec<String>,
}

impl Rules {
    /// Runs every rule over `facts`, in order.
    pub fn evaluate(&self, facts: &Facts) -> Tally {
        let mut tally = Tally::default();
        let hits = Hits::new(&self.patterns, &self.lexicon, facts);
        for (i, rule) in self.rules.iter().enumerate() {
            if !eval(&rule.when, facts, &hits, &tally) {
                continue;
            }
            tally.matched.push(i);
            let (p, w) = (rule.priority, rule.weight);
            let a = &rule.then;
            if let Some(v) = a.kind {
                tally.kind.cast(p, w, i, v);
            }
            if let Some(v) = a.category {
                tally.category.cast(p, w, i, v);
            }
            if let Some(v) = a.send_topic {
                tally.send_topic.cast(p, w, i, v);
            }
            if let Some(v) = a.urgent {
                tally.urgent.cast(p, w, i, v);
            }
            if let Some(v) = a.from_mp_office {
                tally.from_mp_office.cast(p, w, i, v);
            }
            if let Some(v) = a.acknowledge {
                tally.acknowledge.cast(p, w, i, v);
            }
            if let Some(v) = &a.team {
                tally.team.cast(p, w, i, v.clone());
            }
            if let Some(v) = &a.assignee {
                tally.assignee.cast(p, w, i, v.clone());
            }
            if let Some(v) = &a.policy {
                tally.policy.cast(p, w, i, v.clone());
            }
            for tag in &a.tags {
                if !tally.tags.contains(tag) {
                    tally.tags.push(tag.clone());
                }
            }
            if let Some(reason) = &a.triage {
                tally.triage.push(reason.clone());
            }
        }
        tally
    }

    /// Why a rule matched `facts`: what each of its conditions found, one
    /// line each ("own: «has not been in school» (@not @attend @school)").
    pub fn evidence(&self, rule: &Rule, facts: &Facts) -> Vec<String> {
        let hits = Hits::new(&self.patterns, &self.lexicon, facts);
        let mut out = Vec::new();
        collect_evidence(&rule.when, facts, &hits, &mut out);
        out
    }

    /// The value of the first extractor for `field` that finds one that
    /// `accept` agrees to.
    pub fn extract(
        &self,
        field: ExtractField,
        facts: &Facts,
        accept: &dyn Fn(&str) -> bool,
    ) -> Option<(String, &Extractor)> {
        self.extractors
            .iter()
            .filter(|e| e.field == field)
            .find_map(|e| e.find(facts, accept).map(|v| (v, e)))
    }
}

fn collect_evidence(condition: &Condition, facts: &Facts, hits: &Hits<'_>, out: &mut Vec<String>) {
    match condition {
        Condition::All(list) | Condition::Any(list) => {
            for c in list {
                collect_evidence(c, facts, hits, out);
            }
        }
        Condition::Match(m) => out.extend(m.evidence(hits)),
        Condition::EventWithinDays(days) => {
            if let Some(d) = facts.event_within_days.filter(|d| d <= days) {
                out.push(format!(
                    "a dated event {d} days after the message was written"
                ));
            }
        }
        _ => {}
    }
}

impl Actions {
    /// What a rule votes for, as a rule writes it: `urgent = true`.
    pub fn votes(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut put = |name: &str, value: Option<String>| {
            if let Some(v) = value {
                out.push(format!("{name} = {v}"));
            }
        };
        put("kind", self.kind.map(|v| v.to_string()));
        put("category", self.category.map(|v| v.to_string()));
        put("send_topic", self.send_topic.map(|v| v.to_string()));
        put("urgent", self.urgent.map(|v| v.to_string()));
        put("from_mp_office", self.from_mp_office.map(|v| v.to_string()));
        put("acknowledge", self.acknowledge.map(|v| v.to_string()));
        put("team", self.team.clone());
        put("assignee", self.assignee.clone());
        put("policy", self.policy.clone());
        put("triage", self.triage.clone());
        out
    }
}

fn eval(condition: &Condition, facts: &Facts, hits: &Hits<'_>, tally: &Tally) -> bool {
    match condition {
        Condition::All(list) => list.iter().all(|c| eval(c, facts, hits, tally)),
        Condition::Any(list) => list.iter().any(|c| eval(c, facts, hits, tally)),
        Condition::Not(inner) => !eval(inner, facts, hits, tally),
        Condition::Match(matcher) => matcher.matches(hits),
        Condition::Source(origin) => facts.source == *origin,
        Condition::SenderRole(roles) => roles.contains(&facts.sender_role),
        Condition::Auth(method, values) => {
            let result = match method {
                AuthMethod::Spf => &facts.auth.spf,
                AuthMethod::Dkim => &facts.auth.dkim,
                AuthMethod::Dmarc => &facts.auth.dmarc,
            };
            let result = result.as_deref().unwrap_or("none");
            values.iter().any(|v| v == result)
        }
        Condition::Flag(flag, want) => {
            let have = match flag {
                Flag::HasCouncilReference => facts.has_council_reference,
                Flag::HasMpReference => facts.has_mp_reference,
                Flag::IsReply => facts.is_reply,
                Flag::RepliesToPostroom => facts.replies_to_postroom,
                Flag::HasAttachments => facts.has_attachments,
                Flag::MentionsMp => facts.mentions_mp,
            };
            have == *want
        }
        Condition::EventWithinDays(days) => facts.event_within_days.is_some_and(|d| d <= *days),
        Condition::Kind(kinds) => tally.kind.winner().is_some_and(|k| kinds.contains(&k)),
        Condition::Category(cats) => tally.category.winner().is_some_and(|c| cats.contains(&c)),
        Condition::SendTopic(topics) => tally
            .send_topic
            .winner()
            .is_some_and(|t| topics.contains(&t)),
        Condition::FromMpOffice(want) => tally.from_mp_office.winner().unwrap_or(false) == *want,
        Condition::Urgent(want) => tally.urgent.winner().unwrap_or(false) == *want,
    }
}

#[cfg(test)]
mod tests;
