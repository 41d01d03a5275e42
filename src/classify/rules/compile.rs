//! Loading and checking rule files: their raw form (`raw.rs`) compiled into
//! [`Rules`], with every error's file, line and rule.

use std::collections::BTreeMap;
use std::path::Path;

use super::matchers::*;
use super::patterns::{PatternTable, Scope};
use super::raw::*;
use super::{
    Actions, AuthMethod, Condition, ExtractField, Extractor, Flag, Rule, RuleError, RuleErrors,
    Rules, SenderRole, TextField,
};
use crate::case::{Category, Kind, SendTopic};
use crate::message::Origin;
use crate::problem::{self, line_of};

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
        let mut table = PatternTable::default();
        let mut seen: BTreeMap<String, (String, usize)> = BTreeMap::new();
        // First every file's concepts, so that a rule in any file can use a
        // concept from any other.
        let mut parsed = Vec::with_capacity(sources.len());
        for (file, text) in sources {
            rules.files.push(file.clone());
            match toml::from_str::<RawFile>(text) {
                Ok(mut raw) => {
                    for spanned in std::mem::take(&mut raw.concept) {
                        let line = line_of(text, spanned.span().start);
                        let concept = spanned.into_inner();
                        if let Err(e) = rules.lexicon.add(&concept.name, &concept.words) {
                            errors.push(RuleError {
                                file: file.clone(),
                                line,
                                item: Some(format!("concept {:?}", concept.name)),
                                message: e,
                            });
                        }
                    }
                    parsed.push((file, text, raw));
                }
                Err(e) => errors.push(problem::from_toml(file, text, &e)),
            }
        }
        for (file, text, raw) in parsed {
            for spanned in raw.rule {
                let line = line_of(text, spanned.span().start);
                let raw_rule = spanned.into_inner();
                let mut ctx = Ctx {
                    file,
                    line,
                    rule: Some(raw_rule.name.clone()),
                    errors: &mut errors,
                    table: &mut table,
                    lexicon: &rules.lexicon,
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
                    table: &mut table,
                    lexicon: &rules.lexicon,
                };
                if let Some(extractor) = compile_extractor(raw, &mut ctx) {
                    rules.extractors.push(extractor);
                }
            }
        }
        if !errors.is_empty() {
            return Err(RuleErrors(errors));
        }
        match table.build() {
            Ok(patterns) => rules.patterns = patterns,
            Err(e) => {
                let file = sources.first().map(|(f, _)| f.clone()).unwrap_or_default();
                return Err(RuleErrors(vec![RuleError::new(file, 0, e)]));
            }
        }
        Ok(rules)
    }
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

// Long: one arm per condition of the rule language, each with its own check
// and error; split, the arms would only pass the same context around.
fn compile_condition(raw: RawCondition, ctx: &mut Ctx<'_>, at: &str) -> Condition {
    let mut all = Vec::new();
    let text_fields = [
        (raw.subject, TextField::Subject, "subject"),
        (raw.body, TextField::Body, "body"),
        (raw.latest, TextField::Latest, "latest"),
        (raw.own, TextField::Own, "own"),
        (raw.request, TextField::Request, "request"),
        (raw.quoted, TextField::Quoted, "quoted"),
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
            let at = format!("{at}.{name}");
            all.push(Condition::Match(compile_matcher(
                matcher,
                Scope::Field(field),
                ctx,
                &at,
            )));
        }
    }
    for (name, matcher) in raw.header.unwrap_or_default() {
        let at = format!("{at}.header.{name}");
        let scope = Scope::Header(name.to_ascii_lowercase());
        all.push(Condition::Match(compile_matcher(matcher, scope, ctx, &at)));
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
