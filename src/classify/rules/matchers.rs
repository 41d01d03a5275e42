//! Matchers: the phrases and regexes a rule tests, written as the council
//! writes them, turned into checked patterns for the per-text `RegexSet`;
//! and `Ctx`, where a rule is being compiled and where its errors go.

use regex::{Regex, RegexBuilder};

use super::RuleError;
use super::concepts::{Lexicon, Pattern};
use super::patterns::{Matcher, PatternTable, Scope};
use super::raw::RawMatcher;

/// Where a rule is being compiled, and where its errors and patterns go.
pub(super) struct Ctx<'a> {
    pub(super) file: &'a str,
    pub(super) line: usize,
    pub(super) rule: Option<String>,
    pub(super) errors: &'a mut Vec<RuleError>,
    /// Where the text patterns of all rules are gathered.
    pub(super) table: &'a mut PatternTable,
    /// The concepts of every rule file.
    pub(super) lexicon: &'a Lexicon,
}

impl Ctx<'_> {
    pub(super) fn error(&mut self, message: String) {
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
pub(super) fn phrase_pattern(phrase: &str) -> String {
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

/// The pattern for a list of phrases (any of them), checked to compile.
pub(super) fn phrases_pattern(phrases: &[String], ctx: &mut Ctx<'_>, at: &str) -> Option<String> {
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
    let pattern = format!("(?:{pattern})");
    checked(pattern, ctx, at)
}

/// `pattern` if it is a valid rule regex, else an error naming where it is.
/// Only parsed here (the errors are the regex crate's own): it is compiled
/// once, with the other patterns of its text, into that text's `RegexSet`.
/// Compiling each one on its own as well took most of the start-up time.
pub(super) fn checked(pattern: String, ctx: &mut Ctx<'_>, at: &str) -> Option<String> {
    let parsed = regex_syntax::ParserBuilder::new()
        .case_insensitive(true)
        .multi_line(true)
        .build()
        .parse(&pattern);
    match parsed {
        Ok(_) => Some(pattern),
        Err(e) => {
            ctx.error(format!("{at}: {e}"));
            None
        }
    }
}

pub(super) fn compile_matcher(
    raw: RawMatcher,
    scope: Scope,
    ctx: &mut Ctx<'_>,
    at: &str,
) -> Matcher {
    let mut m = Matcher::new(scope.clone());
    m.exists = raw.exists;
    m.shorter_than = raw.shorter_than;
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
                for phrase in any {
                    if let Some(p) =
                        phrases_pattern(std::slice::from_ref(phrase), ctx, &format!("{at}.any"))
                    {
                        m.each.push(ctx.table.add(&scope, p));
                    }
                }
                m.min = min;
            }
            _ => {
                m.any = phrases_pattern(any, ctx, &format!("{at}.any"))
                    .map(|p| ctx.table.add(&scope, p))
            }
        }
    } else if raw.min.is_some() {
        ctx.error(format!("{at}.min needs an `any` list"));
    }
    if let Some(all) = &raw.all {
        empty = false;
        for phrase in all {
            if let Some(p) =
                phrases_pattern(std::slice::from_ref(phrase), ctx, &format!("{at}.all"))
            {
                m.all.push(ctx.table.add(&scope, p));
            }
        }
    }
    if let Some(none) = &raw.none {
        empty = false;
        m.none =
            phrases_pattern(none, ctx, &format!("{at}.none")).map(|p| ctx.table.add(&scope, p));
    }
    if let Some(pattern) = &raw.regex {
        empty = false;
        m.regex =
            checked(pattern.clone(), ctx, &format!("{at}.regex")).map(|p| ctx.table.add(&scope, p));
    }
    if let Some(list) = &raw.concepts {
        empty = false;
        if !matches!(scope, Scope::Field(_)) {
            ctx.error(format!(
                "{at}.concepts: concepts match text fields, not headers"
            ));
        }
        m.concepts = concept_patterns(list, ctx, &format!("{at}.concepts"));
    }
    if let Some(list) = &raw.unless {
        if raw.concepts.is_none() {
            ctx.error(format!("{at}.unless needs a `concepts` list"));
        }
        m.unless = concept_patterns(list, ctx, &format!("{at}.unless"));
    }
    if empty {
        ctx.error(format!(
            "{at}: a matcher needs one of any, all, none, regex, concepts, exists or shorter_than"
        ));
    }
    m
}

fn concept_patterns(list: &[String], ctx: &mut Ctx<'_>, at: &str) -> Vec<Pattern> {
    if list.is_empty() {
        ctx.error(format!("{at}: the pattern list is empty"));
    }
    let mut out = Vec::with_capacity(list.len());
    for text in list {
        match ctx.lexicon.pattern(text) {
            Ok(p) => out.push(p),
            Err(e) => ctx.error(format!("{at}: {e}")),
        }
    }
    out
}
