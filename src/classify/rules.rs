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
//! Checking collects every error in every file (file, line, rule, what is
//! wrong) rather than stopping at the first, so `postroom rules check` can
//! print them all.

use std::collections::BTreeMap;
use std::path::Path;

use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use serde::Deserialize;
use toml::Spanned;

use crate::case::{Category, Kind, SendTopic};
use crate::message::Origin;
use crate::problem::{self, line_of};

pub use crate::problem::{Problem as RuleError, Problems as RuleErrors};

// ---------------------------------------------------------------------------
// What the rules look at.

/// The text fields a condition can match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextField {
    Subject,
    Body,
    Latest,
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
    fn parse(s: &str) -> Option<SenderRole> {
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
    pub attachments: String,
    pub text: String,
    pub from: String,
    pub from_name: String,
    pub to: String,
    pub cc: String,
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
    fn text(&self, field: TextField) -> TextRef<'_> {
        match field {
            TextField::Subject => TextRef::One(&self.subject),
            TextField::Body => TextRef::One(&self.body),
            TextField::Latest => TextRef::One(&self.latest),
            TextField::Attachments => TextRef::One(&self.attachments),
            TextField::Text => TextRef::One(&self.text),
            TextField::From => TextRef::One(&self.from),
            TextField::FromName => TextRef::One(&self.from_name),
            TextField::To => TextRef::One(&self.to),
            TextField::Cc => TextRef::One(&self.cc),
            TextField::Recipients => TextRef::Two(&self.to, &self.cc),
            TextField::ReplyTo => TextRef::One(&self.reply_to),
            TextField::AttachmentNames => TextRef::One(&self.attachment_names),
            TextField::ContentTypes => TextRef::One(&self.content_types),
        }
    }
}

enum TextRef<'a> {
    One(&'a str),
    Two(&'a str, &'a str),
}

// ---------------------------------------------------------------------------
// The compiled form.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flag {
    HasCouncilReference,
    HasMpReference,
    IsReply,
    RepliesToPostroom,
    HasAttachments,
    MentionsMp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AuthMethod {
    Spf,
    Dkim,
    Dmarc,
}

#[derive(Debug)]
enum Condition {
    All(Vec<Condition>),
    Any(Vec<Condition>),
    Not(Box<Condition>),
    Text(TextField, Matcher),
    Header(String, Matcher),
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

#[derive(Debug, Default)]
struct Matcher {
    any: Option<Regex>,
    any_set: Option<(RegexSet, usize)>,
    all: Vec<Regex>,
    none: Option<Regex>,
    regex: Option<Regex>,
    exists: Option<bool>,
    shorter_than: Option<usize>,
}

impl Matcher {
    fn matches(&self, text: TextRef<'_>) -> bool {
        match text {
            TextRef::One(t) => self.matches_str(t),
            TextRef::Two(a, b) => {
                // Cheap join only when a matcher needs both at once.
                let joined = format!("{a}\n{b}");
                self.matches_str(&joined)
            }
        }
    }

    fn matches_str(&self, text: &str) -> bool {
        if let Some(max) = self.shorter_than
            && text.trim().chars().count() >= max
        {
            return false;
        }
        if let Some(exists) = self.exists
            && exists == text.trim().is_empty()
        {
            return false;
        }
        if let Some(re) = &self.any
            && !re.is_match(text)
        {
            return false;
        }
        if let Some((set, min)) = &self.any_set
            && set.matches(text).iter().count() < *min
        {
            return false;
        }
        if !self.all.iter().all(|re| re.is_match(text)) {
            return false;
        }
        if let Some(re) = &self.none
            && re.is_match(text)
        {
            return false;
        }
        if let Some(re) = &self.regex
            && !re.is_match(text)
        {
            return false;
        }
        true
    }
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
    when: Condition,
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
    input: TextField,
    pattern: Regex,
    /// Values that look like a reference but are not one (`0`, `n/a`, ...).
    reject: Option<Regex>,
}

impl Extractor {
    /// The first value this extractor finds in `facts`, as written, that
    /// `accept` agrees to.
    pub fn find(&self, facts: &Facts, accept: &dyn Fn(&str) -> bool) -> Option<String> {
        let texts: Vec<&str> = match facts.text(self.input) {
            TextRef::One(t) => vec![t],
            TextRef::Two(a, b) => vec![a, b],
        };
        for text in texts {
            for caps in self.pattern.captures_iter(text) {
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
    /// The files it was loaded from, in order.
    pub files: Vec<String>,
}

// ---------------------------------------------------------------------------
// The raw (serde) form, a mirror of the TOML.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    rule: Vec<Spanned<RawRule>>,
    #[serde(default)]
    extract: Vec<Spanned<RawExtract>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    priority: i64,
    #[serde(default = "one")]
    weight: i64,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    when: RawCondition,
    #[serde(default)]
    then: RawActions,
}

fn one() -> i64 {
    1
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawMatcher {
    #[serde(default)]
    any: Option<Vec<String>>,
    /// With `any`: at least this many different phrases must occur.
    #[serde(default)]
    min: Option<usize>,
    #[serde(default)]
    all: Option<Vec<String>>,
    #[serde(default)]
    none: Option<Vec<String>>,
    #[serde(default)]
    regex: Option<String>,
    #[serde(default)]
    exists: Option<bool>,
    /// The text has fewer than this many characters.
    #[serde(default)]
    shorter_than: Option<usize>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAuth {
    spf: Option<OneOrMany>,
    dkim: Option<OneOrMany>,
    dmarc: Option<OneOrMany>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCondition {
    subject: Option<RawMatcher>,
    body: Option<RawMatcher>,
    latest: Option<RawMatcher>,
    attachments: Option<RawMatcher>,
    text: Option<RawMatcher>,
    from: Option<RawMatcher>,
    from_name: Option<RawMatcher>,
    to: Option<RawMatcher>,
    cc: Option<RawMatcher>,
    recipients: Option<RawMatcher>,
    reply_to: Option<RawMatcher>,
    attachment_names: Option<RawMatcher>,
    content_types: Option<RawMatcher>,
    header: Option<BTreeMap<String, RawMatcher>>,
    source: Option<String>,
    sender_role: Option<OneOrMany>,
    auth: Option<RawAuth>,
    has_council_reference: Option<bool>,
    has_mp_reference: Option<bool>,
    is_reply: Option<bool>,
    replies_to_postroom: Option<bool>,
    has_attachments: Option<bool>,
    mentions_mp: Option<bool>,
    event_within_days: Option<i64>,
    kind: Option<OneOrMany>,
    category: Option<OneOrMany>,
    send_topic: Option<OneOrMany>,
    from_mp_office: Option<bool>,
    urgent: Option<bool>,
    all: Option<Vec<RawCondition>>,
    any: Option<Vec<RawCondition>>,
    not: Option<Box<RawCondition>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawActions {
    kind: Option<String>,
    category: Option<String>,
    send_topic: Option<String>,
    urgent: Option<bool>,
    from_mp_office: Option<bool>,
    acknowledge: Option<bool>,
    team: Option<String>,
    assignee: Option<String>,
    policy: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    triage: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExtract {
    name: String,
    field: String,
    #[serde(rename = "in")]
    input: String,
    pattern: String,
    #[serde(default)]
    reject: Option<String>,
}

// ---------------------------------------------------------------------------
// Loading and checking.

impl Rules {
    /// Loads every `*.toml` file of a folder, in file-name order.
    pub fn load_dir(dir: &Path) -> Result<Rules, RuleErrors> {
        let entries = std::fs::read_dir(dir).map_err(|e| {
            RuleErrors(vec![RuleError::new(
                dir.display().to_string(),
                0,
                format!("cannot read the rules folder: {e}"),
            )])
        })?;
        let mut paths: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        paths.sort();
        let mut sources = Vec::new();
        let mut errors = Vec::new();
        for path in paths {
            match std::fs::read_to_string(&path) {
                Ok(text) => sources.push((path.display().to_string(), text)),
                Err(e) => errors.push(RuleError::new(
                    path.display().to_string(),
                    0,
                    format!("cannot read: {e}"),
                )),
            }
        }
        if sources.is_empty() && errors.is_empty() {
            errors.push(RuleError::new(
                dir.display().to_string(),
                0,
                "no rule files (*.toml) in this folder",
            ));
        }
        let loaded = Rules::from_sources(&sources);
        match loaded {
            Ok(rules) if errors.is_empty() => Ok(rules),
            Ok(_) => Err(RuleErrors(errors)),
            Err(RuleErrors(more)) => {
                errors.extend(more);
                Err(RuleErrors(errors))
            }
        }
    }

    /// Compiles rule files given as (file name, text), in the order given.
    pub fn from_sources(sources: &[(String, String)]) -> Result<Rules, RuleErrors> {
        let mut rules = Rules::default();
        let mut errors = Vec::new();
        let mut seen: BTreeMap<String, (String, usize)> = BTreeMap::new();
        for (file, text) in sources {
            rules.files.push(file.clone());
            let raw: RawFile = match toml::from_str(text) {
                Ok(raw) => raw,
                Err(e) => {
                    errors.push(problem::from_toml(file, text, &e));
                    continue;
                }
            };
            for spanned in raw.rule {
                let line = line_of(text, spanned.span().start);
                let raw_rule = spanned.into_inner();
                let mut ctx = Ctx {
                    file,
                    line,
                    rule: Some(raw_rule.name.clone()),
                    errors: &mut errors,
                };
                if raw_rule.name.trim().is_empty() {
                    ctx.error("the rule has no name".into());
                }
                if let Some((other_file, other_line)) = seen.get(&raw_rule.name) {
                    ctx.error(format!(
                        "the name is already used by the rule at {other_file}:{other_line}"
                    ));
                } else {
                    seen.insert(raw_rule.name.clone(), (file.clone(), line));
                }
                if raw_rule.weight < 0 {
                    ctx.error("weight must not be negative".into());
                }
                let when = compile_condition(raw_rule.when, &mut ctx, "when");
                let then = compile_actions(raw_rule.then, &mut ctx);
                if raw_rule.enabled {
                    rules.rules.push(Rule {
                        name: raw_rule.name,
                        description: raw_rule.description,
                        file: file.clone(),
                        line,
                        priority: raw_rule.priority,
                        weight: raw_rule.weight,
                        when,
                        then,
                    });
                }
            }
            for spanned in raw.extract {
                let line = line_of(text, spanned.span().start);
                let raw = spanned.into_inner();
                let mut ctx = Ctx {
                    file,
                    line,
                    rule: Some(raw.name.clone()),
                    errors: &mut errors,
                };
                if let Some(extractor) = compile_extractor(raw, &mut ctx) {
                    rules.extractors.push(extractor);
                }
            }
        }
        if errors.is_empty() {
            Ok(rules)
        } else {
            Err(RuleErrors(errors))
        }
    }
}

struct Ctx<'a> {
    file: &'a str,
    line: usize,
    rule: Option<String>,
    errors: &'a mut Vec<RuleError>,
}

impl Ctx<'_> {
    fn error(&mut self, message: String) {
        self.errors.push(RuleError {
            file: self.file.to_string(),
            line: self.line,
            item: self.rule.as_ref().map(|r| format!("rule {r:?}")),
            message,
        });
    }
}

/// Compiles a regex the way every rule regex is compiled: case-insensitive,
/// `^`/`$` at line ends, with a bound on its compiled size.
pub fn compile_regex(pattern: &str) -> Result<Regex, String> {
    RegexBuilder::new(pattern)
        .case_insensitive(true)
        .multi_line(true)
        .size_limit(4 << 20)
        .build()
        .map_err(|e| e.to_string())
}

/// The regex for a phrase: words separated by any white space, matched on
/// word boundaries where the phrase starts or ends with a word character.
/// A phrase written all in capitals (an acronym: SEND, EHCP, PCN) matches
/// only in capitals, so that "SEND" does not match "please send"; any other
/// phrase matches in any case.
fn phrase_pattern(phrase: &str) -> String {
    let words: Vec<String> = phrase.split_whitespace().map(regex::escape).collect();
    let mut pattern = words.join(r"\s+");
    let letters = phrase.chars().filter(|c| c.is_alphabetic()).count();
    if letters >= 2 && !phrase.chars().any(|c| c.is_lowercase()) {
        pattern = format!("(?-i:{pattern})");
    }
    let word_char = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    if word_char(phrase.trim().chars().next()) {
        pattern.insert_str(0, r"\b");
    }
    if word_char(phrase.trim().chars().last()) {
        pattern.push_str(r"\b");
    }
    pattern
}

fn phrases_regex(phrases: &[String], ctx: &mut Ctx<'_>, at: &str) -> Option<Regex> {
    if phrases.is_empty() || phrases.iter().any(|p| p.trim().is_empty()) {
        ctx.error(format!(
            "{at}: the phrase list is empty or has an empty phrase"
        ));
        return None;
    }
    let pattern = phrases
        .iter()
        .map(|p| phrase_pattern(p))
        .collect::<Vec<_>>()
        .join("|");
    match compile_regex(&format!("(?:{pattern})")) {
        Ok(re) => Some(re),
        Err(e) => {
            ctx.error(format!("{at}: {e}"));
            None
        }
    }
}

fn compile_matcher(raw: RawMatcher, ctx: &mut Ctx<'_>, at: &str) -> Matcher {
    let mut m = Matcher {
        exists: raw.exists,
        shorter_than: raw.shorter_than,
        ..Matcher::default()
    };
    let mut empty = raw.exists.is_none() && raw.shorter_than.is_none();
    if let Some(any) = &raw.any {
        empty = false;
        match raw.min {
            Some(min) if min > 1 => {
                if min > any.len() {
                    ctx.error(format!(
                        "{at}.min is {min} but `any` lists only {} phrases",
                        any.len()
                    ));
                }
                let set = RegexSetBuilder::new(any.iter().map(|p| phrase_pattern(p)))
                    .case_insensitive(true)
                    .multi_line(true)
                    .size_limit(8 << 20)
                    .build();
                match set {
                    Ok(set) => m.any_set = Some((set, min)),
                    Err(e) => ctx.error(format!("{at}.any: {e}")),
                }
            }
            _ => m.any = phrases_regex(any, ctx, &format!("{at}.any")),
        }
    } else if raw.min.is_some() {
        ctx.error(format!("{at}.min needs an `any` list"));
    }
    if let Some(all) = &raw.all {
        empty = false;
        for phrase in all {
            if let Some(re) = phrases_regex(std::slice::from_ref(phrase), ctx, &format!("{at}.all"))
            {
                m.all.push(re);
            }
        }
    }
    if let Some(none) = &raw.none {
        empty = false;
        m.none = phrases_regex(none, ctx, &format!("{at}.none"));
    }
    if let Some(pattern) = &raw.regex {
        empty = false;
        match compile_regex(pattern) {
            Ok(re) => m.regex = Some(re),
            Err(e) => ctx.error(format!("{at}.regex: {e}")),
        }
    }
    if empty {
        ctx.error(format!(
            "{at}: a matcher needs one of any, all, none, regex, exists or shorter_than"
        ));
    }
    m
}

fn parse_list<T>(
    values: OneOrMany,
    parse: impl Fn(&str) -> Option<T>,
    names: &str,
    ctx: &mut Ctx<'_>,
    at: &str,
) -> Vec<T> {
    let mut out = Vec::new();
    for v in values.into_vec() {
        match parse(&v) {
            Some(t) => out.push(t),
            None => ctx.error(format!("{at}: {v:?} is not one of {names}")),
        }
    }
    out
}

fn compile_condition(raw: RawCondition, ctx: &mut Ctx<'_>, at: &str) -> Condition {
    let mut all = Vec::new();
    let text_fields = [
        (raw.subject, TextField::Subject, "subject"),
        (raw.body, TextField::Body, "body"),
        (raw.latest, TextField::Latest, "latest"),
        (raw.attachments, TextField::Attachments, "attachments"),
        (raw.text, TextField::Text, "text"),
        (raw.from, TextField::From, "from"),
        (raw.from_name, TextField::FromName, "from_name"),
        (raw.to, TextField::To, "to"),
        (raw.cc, TextField::Cc, "cc"),
        (raw.recipients, TextField::Recipients, "recipients"),
        (raw.reply_to, TextField::ReplyTo, "reply_to"),
        (
            raw.attachment_names,
            TextField::AttachmentNames,
            "attachment_names",
        ),
        (raw.content_types, TextField::ContentTypes, "content_types"),
    ];
    for (matcher, field, name) in text_fields {
        if let Some(matcher) = matcher {
            all.push(Condition::Text(
                field,
                compile_matcher(matcher, ctx, &format!("{at}.{name}")),
            ));
        }
    }
    for (name, matcher) in raw.header.unwrap_or_default() {
        let compiled = compile_matcher(matcher, ctx, &format!("{at}.header.{name}"));
        all.push(Condition::Header(name.to_ascii_lowercase(), compiled));
    }
    if let Some(source) = raw.source {
        match Origin::parse(&source) {
            Some(o) => all.push(Condition::Source(o)),
            None => ctx.error(format!(
                "{at}.source: {source:?} is not one of email, letter"
            )),
        }
    }
    if let Some(roles) = raw.sender_role {
        let roles = parse_list(
            roles,
            SenderRole::parse,
            "mp, staff, council, unknown",
            ctx,
            &format!("{at}.sender_role"),
        );
        all.push(Condition::SenderRole(roles));
    }
    if let Some(auth) = raw.auth {
        for (values, method, name) in [
            (auth.spf, AuthMethod::Spf, "spf"),
            (auth.dkim, AuthMethod::Dkim, "dkim"),
            (auth.dmarc, AuthMethod::Dmarc, "dmarc"),
        ] {
            if let Some(values) = values {
                let values: Vec<String> = values
                    .into_vec()
                    .into_iter()
                    .map(|v| v.to_ascii_lowercase())
                    .collect();
                if values.is_empty() {
                    ctx.error(format!("{at}.auth.{name} is an empty list"));
                }
                all.push(Condition::Auth(method, values));
            }
        }
    }
    let flags = [
        (raw.has_council_reference, Flag::HasCouncilReference),
        (raw.has_mp_reference, Flag::HasMpReference),
        (raw.is_reply, Flag::IsReply),
        (raw.replies_to_postroom, Flag::RepliesToPostroom),
        (raw.has_attachments, Flag::HasAttachments),
        (raw.mentions_mp, Flag::MentionsMp),
    ];
    for (value, flag) in flags {
        if let Some(value) = value {
            all.push(Condition::Flag(flag, value));
        }
    }
    if let Some(days) = raw.event_within_days {
        all.push(Condition::EventWithinDays(days));
    }
    if let Some(kinds) = raw.kind {
        all.push(Condition::Kind(parse_list(
            kinds,
            Kind::parse,
            &Kind::names(),
            ctx,
            &format!("{at}.kind"),
        )));
    }
    if let Some(categories) = raw.category {
        all.push(Condition::Category(parse_list(
            categories,
            Category::parse,
            &Category::names(),
            ctx,
            &format!("{at}.category"),
        )));
    }
    if let Some(topics) = raw.send_topic {
        all.push(Condition::SendTopic(parse_list(
            topics,
            SendTopic::parse,
            &SendTopic::names(),
            ctx,
            &format!("{at}.send_topic"),
        )));
    }
    if let Some(v) = raw.from_mp_office {
        all.push(Condition::FromMpOffice(v));
    }
    if let Some(v) = raw.urgent {
        all.push(Condition::Urgent(v));
    }
    if let Some(list) = raw.all {
        let inner = list
            .into_iter()
            .enumerate()
            .map(|(i, c)| compile_condition(c, ctx, &format!("{at}.all[{i}]")))
            .collect();
        all.push(Condition::All(inner));
    }
    if let Some(list) = raw.any {
        if list.is_empty() {
            ctx.error(format!("{at}.any is an empty list, which never matches"));
        }
        let inner = list
            .into_iter()
            .enumerate()
            .map(|(i, c)| compile_condition(c, ctx, &format!("{at}.any[{i}]")))
            .collect();
        all.push(Condition::Any(inner));
    }
    if let Some(not) = raw.not {
        all.push(Condition::Not(Box::new(compile_condition(
            *not,
            ctx,
            &format!("{at}.not"),
        ))));
    }
    if all.len() == 1 {
        all.pop().unwrap_or(Condition::All(Vec::new()))
    } else {
        Condition::All(all)
    }
}

fn compile_actions(raw: RawActions, ctx: &mut Ctx<'_>) -> Actions {
    let sets_something = raw.kind.is_some()
        || raw.category.is_some()
        || raw.send_topic.is_some()
        || raw.urgent.is_some()
        || raw.from_mp_office.is_some()
        || raw.acknowledge.is_some()
        || raw.team.is_some()
        || raw.assignee.is_some()
        || raw.policy.is_some()
        || !raw.tags.is_empty()
        || raw.triage.is_some();
    if !sets_something {
        ctx.error("`then` sets nothing".into());
    }
    fn one<T>(
        v: Option<String>,
        parse: impl Fn(&str) -> Option<T>,
        names: String,
        ctx: &mut Ctx<'_>,
        at: &str,
    ) -> Option<T> {
        let v = v?;
        let parsed = parse(&v);
        if parsed.is_none() {
            ctx.error(format!("then.{at}: {v:?} is not one of {names}"));
        }
        parsed
    }

    Actions {
        kind: one(raw.kind, Kind::parse, Kind::names(), ctx, "kind"),
        category: one(
            raw.category,
            Category::parse,
            Category::names(),
            ctx,
            "category",
        ),
        send_topic: one(
            raw.send_topic,
            SendTopic::parse,
            SendTopic::names(),
            ctx,
            "send_topic",
        ),
        urgent: raw.urgent,
        from_mp_office: raw.from_mp_office,
        acknowledge: raw.acknowledge,
        team: raw.team,
        assignee: raw.assignee,
        policy: raw.policy,
        tags: raw.tags,
        triage: raw.triage,
    }
}

fn compile_extractor(raw: RawExtract, ctx: &mut Ctx<'_>) -> Option<Extractor> {
    let field = match raw.field.as_str() {
        "mp_reference" => ExtractField::MpReference,
        "council_reference" => ExtractField::CouncilReference,
        other => {
            ctx.error(format!(
                "field {other:?} is not one of mp_reference, council_reference"
            ));
            return None;
        }
    };
    let Some(input) = TextField::parse(&raw.input) else {
        ctx.error(format!(
            "in = {:?} is not one of {}",
            raw.input,
            TextField::names()
        ));
        return None;
    };
    let pattern = match compile_regex(&raw.pattern) {
        Ok(re) => re,
        Err(e) => {
            ctx.error(format!("pattern: {e}"));
            return None;
        }
    };
    if !pattern.capture_names().any(|n| n == Some("value")) {
        ctx.error("pattern has no group named `value` (write (?P<value>...))".into());
        return None;
    }
    let reject = match raw.reject.as_deref().map(compile_regex) {
        Some(Ok(re)) => Some(re),
        Some(Err(e)) => {
            ctx.error(format!("reject: {e}"));
            return None;
        }
        None => None,
    };
    Some(Extractor {
        name: raw.name,
        field,
        file: ctx.file.to_string(),
        line: ctx.line,
        input,
        pattern,
        reject,
    })
}

// ---------------------------------------------------------------------------
// Evaluation.

/// One vote for a field's value.
#[derive(Debug, Clone)]
struct Vote<T> {
    priority: i64,
    weight: i64,
    order: usize,
    value: T,
}

/// The votes cast for one field, and the rule that says which value wins.
#[derive(Debug, Clone)]
pub struct Votes<T> {
    votes: Vec<Vote<T>>,
}

impl<T> Default for Votes<T> {
    fn default() -> Self {
        Votes { votes: Vec::new() }
    }
}

impl<T: Clone + PartialEq> Votes<T> {
    fn cast(&mut self, priority: i64, weight: i64, order: usize, value: T) {
        self.votes.push(Vote {
            priority,
            weight,
            order,
            value,
        });
    }

    /// The winning value (see the module documentation).
    pub fn winner(&self) -> Option<T> {
        let top = self.votes.iter().map(|v| v.priority).max()?;
        let mut tally: Vec<(T, i64, usize)> = Vec::new();
        for vote in self.votes.iter().filter(|v| v.priority == top) {
            match tally.iter_mut().find(|(value, _, _)| *value == vote.value) {
                Some(entry) => {
                    entry.1 += vote.weight;
                    entry.2 = entry.2.max(vote.order);
                }
                None => tally.push((vote.value.clone(), vote.weight, vote.order)),
            }
        }
        tally
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then(a.2.cmp(&b.2)))
            .map(|(value, _, _)| value)
    }

    /// The rules (by index) that voted for the winning value.
    pub fn winners_rules(&self) -> Vec<usize> {
        let Some(winner) = self.winner() else {
            return Vec::new();
        };
        let top = self.votes.iter().map(|v| v.priority).max().unwrap_or(0);
        self.votes
            .iter()
            .filter(|v| v.priority == top && v.value == winner)
            .map(|v| v.order)
            .collect()
    }
}

/// The votes of every matching rule.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub kind: Votes<Kind>,
    pub category: Votes<Category>,
    pub send_topic: Votes<SendTopic>,
    pub urgent: Votes<bool>,
    pub from_mp_office: Votes<bool>,
    pub acknowledge: Votes<bool>,
    pub team: Votes<String>,
    pub assignee: Votes<String>,
    pub policy: Votes<String>,
    pub tags: Vec<String>,
    pub triage: Vec<String>,
    /// Indexes of the rules that matched, in order.
    pub matched: Vec<usize>,
}

impl Rules {
    /// Runs every rule over `facts`, in order.
    pub fn evaluate(&self, facts: &Facts) -> Tally {
        let mut tally = Tally::default();
        for (i, rule) in self.rules.iter().enumerate() {
            if !eval(&rule.when, facts, &tally) {
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

fn eval(condition: &Condition, facts: &Facts, tally: &Tally) -> bool {
    match condition {
        Condition::All(list) => list.iter().all(|c| eval(c, facts, tally)),
        Condition::Any(list) => list.iter().any(|c| eval(c, facts, tally)),
        Condition::Not(inner) => !eval(inner, facts, tally),
        Condition::Text(field, matcher) => matcher.matches(facts.text(*field)),
        Condition::Header(name, matcher) => {
            let values: Vec<&str> = facts
                .headers
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
                .collect();
            if values.is_empty() {
                // An absent header reads as empty: `exists = false` and `none`
                // match it, `any`, `all` and `exists = true` do not.
                return matcher.matches_str("");
            }
            values.iter().any(|v| matcher.matches_str(v))
        }
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
#[path = "rules_tests.rs"]
mod tests;
