//! Concepts: named lists of words and phrases ("refuse": refuse, decline,
//! turn down, say no), and patterns over them that a rule matches clause by
//! clause ("@refuse @assess": a refusal and an assessment in one clause, in
//! that order, a few words apart).
//!
//! Texts and phrases are read alike by [`crate::classify::words`], so
//! "declined to carry out an assessment", "they refused to assess" and "the
//! council has refused an EHC needs assessment" all meet `@refuse @assess`
//! when `refuse` lists "refuse" and "decline" and `assess` lists "assess".

use std::collections::HashMap;
use std::ops::Range;
use std::sync::LazyLock;

use crate::classify::words::{self, Sym, UNKNOWN, Words};

/// How many words may stand between two items of a pattern.
pub const MAX_GAP: usize = 8;

/// Words that negate their clause, as [`words`] reads them (`n't` is
/// `not`): what `@not` matches.
static NEGATORS: LazyLock<Vec<Sym>> =
    LazyLock::new(|| words::phrase("not no never without nobody none nothing nowhere neither nor"));

/// The compiled concepts of a rule set.
#[derive(Debug, Default)]
pub struct Lexicon {
    names: HashMap<String, usize>,
    /// By concept: its phrases, each a sequence of stems (and whether the
    /// word must be written in capitals).
    phrases: Vec<Vec<Vec<(Sym, bool)>>>,
    /// By first stem: the (concept, phrase) that start with it.
    by_first: Vec<Vec<(usize, usize)>>,
}

impl Lexicon {
    /// Adds a concept; `Err` names what is wrong with it.
    pub fn add(&mut self, name: &str, phrases: &[String]) -> Result<(), String> {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!(
                "the concept name {name:?} must be letters, digits and _"
            ));
        }
        if name == "not" {
            return Err("`not` is built in (the words that negate a clause)".into());
        }
        if self.names.contains_key(name) {
            return Err(format!("the concept {name:?} is defined twice"));
        }
        if phrases.is_empty() {
            return Err(format!("the concept {name:?} lists no words"));
        }
        let index = self.phrases.len();
        let mut list = Vec::with_capacity(phrases.len());
        for p in phrases {
            let stems = words::phrase_cased(p);
            if stems.is_empty() {
                return Err(format!(
                    "the concept {name:?} has a phrase with no words: {p:?}"
                ));
            }
            let first = stems[0].0 as usize;
            if self.by_first.len() <= first {
                self.by_first.resize(first + 1, Vec::new());
            }
            self.by_first[first].push((index, list.len()));
            list.push(stems);
        }
        self.names.insert(name.to_string(), index);
        self.phrases.push(list);
        Ok(())
    }

    /// Compiles a pattern: `@concept`, `@not` and plain words, in order.
    pub fn pattern(&self, text: &str) -> Result<Pattern, String> {
        let mut items = Vec::new();
        for part in text.split_whitespace() {
            if let Some(name) = part.strip_prefix('@') {
                if name == "not" {
                    items.push(Item::Not);
                } else {
                    match self.names.get(name) {
                        Some(&c) => items.push(Item::Concept(c)),
                        None => {
                            return Err(format!("pattern {text:?}: no concept is named {name:?}"));
                        }
                    }
                }
            } else {
                for stem in words::phrase(part) {
                    items.push(Item::Word(stem));
                }
            }
        }
        if items.is_empty() {
            return Err(format!("pattern {text:?} has nothing to match"));
        }
        Ok(Pattern {
            items,
            text: text.to_string(),
        })
    }

    /// Reads a text and finds where each concept occurs in it.
    pub fn read(&self, text: &str) -> Occurrences {
        // The negations are in the vocabulary before any text is read.
        LazyLock::force(&NEGATORS);
        let words = words::words(text);
        let n = words.tokens.len();
        let mut at_start = Vec::with_capacity(n + 1);
        let mut at = Vec::new();
        let mut starts = vec![Vec::new(); self.phrases.len()];
        let mut clause_of = vec![0; n];
        for (ci, clause) in words.clauses.iter().enumerate() {
            for i in clause.clone() {
                clause_of[i] = ci;
                at_start.push(at.len() as u32);
                let sym = words.tokens[i].sym;
                if sym == UNKNOWN {
                    continue;
                }
                let Some(candidates) = self.by_first.get(sym as usize) else {
                    continue;
                };
                for &(concept, phrase) in candidates {
                    let stems = &self.phrases[concept][phrase];
                    let end = i + stems.len();
                    if end <= clause.end
                        && words.tokens[i..end]
                            .iter()
                            .zip(stems)
                            .all(|(t, (stem, upper))| t.sym == *stem && (t.upper || !upper))
                    {
                        at.push((concept as u32, end as u32));
                        let list: &mut Vec<usize> = &mut starts[concept];
                        if list.last() != Some(&i) {
                            list.push(i);
                        }
                    }
                }
            }
        }
        at_start.push(at.len() as u32);
        Occurrences {
            words,
            at_start,
            at,
            starts,
            clause_of,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Concept(usize),
    Word(Sym),
    Not,
}

/// A compiled pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    items: Vec<Item>,
    /// As written, for explanations.
    pub text: String,
}

/// A text read for concepts.
#[derive(Debug, Default)]
pub struct Occurrences {
    pub words: Words,
    /// By token `i`: `at[at_start[i]..at_start[i + 1]]` are the concepts
    /// whose phrase starts there, and where it ends.
    at_start: Vec<u32>,
    at: Vec<(u32, u32)>,
    /// By concept: the tokens where one of its phrases starts, in order.
    starts: Vec<Vec<usize>>,
    /// By token: the index of its clause.
    clause_of: Vec<usize>,
}

impl Occurrences {
    /// Where `item` matches at token `i` (within `clause`), and its end.
    fn item_at(&self, item: &Item, i: usize, clause: &Range<usize>) -> Option<usize> {
        let token = &self.words.tokens[i];
        match item {
            Item::Word(w) => (token.sym == *w).then_some(i + 1),
            Item::Not => NEGATORS.contains(&token.sym).then_some(i + 1),
            Item::Concept(c) => self.at[self.at_start[i] as usize..self.at_start[i + 1] as usize]
                .iter()
                .filter(|(concept, end)| *concept as usize == *c && *end as usize <= clause.end)
                .map(|(_, end)| *end as usize)
                .min(),
        }
    }

    /// The tokens `pattern` matches in `clause`, items from `k` on, starting
    /// at `from` (and, after the first item, at most [`MAX_GAP`] words on).
    fn find_from(
        &self,
        pattern: &Pattern,
        k: usize,
        from: usize,
        clause: &Range<usize>,
    ) -> Option<usize> {
        let Some(item) = pattern.items.get(k) else {
            return Some(from);
        };
        let last = if k == 0 {
            clause.end
        } else {
            (from + MAX_GAP + 1).min(clause.end)
        };
        (from..last).find_map(|i| {
            let end = self.item_at(item, i, clause)?;
            self.find_from(pattern, k + 1, end, clause)
        })
    }

    /// Where `pattern` first matches in one clause: the token range.
    fn find_in(&self, pattern: &Pattern, clause: &Range<usize>) -> Option<Range<usize>> {
        (clause.start..clause.end).find_map(|start| {
            let first = self.item_at(&pattern.items[0], start, clause)?;
            self.find_from(pattern, 1, first, clause)
                .map(|end| start..end)
        })
    }

    /// The tokens where `item` may start a match, in order: a concept's
    /// from the index, a word's or a negation's by a scan.
    fn starts_of<'a>(&'a self, item: &'a Item) -> Box<dyn Iterator<Item = usize> + 'a> {
        match item {
            Item::Concept(c) => Box::new(self.starts.get(*c).into_iter().flatten().copied()),
            Item::Word(w) => Box::new(
                (0..self.words.tokens.len()).filter(move |&i| self.words.tokens[i].sym == *w),
            ),
            Item::Not => Box::new(
                (0..self.words.tokens.len())
                    .filter(move |&i| NEGATORS.contains(&self.words.tokens[i].sym)),
            ),
        }
    }

    /// The first clause where one of `any` matches and none of `unless`
    /// does: the byte range of the match in the text, and the pattern.
    /// Only the clauses where a pattern's first item occurs are tried.
    pub fn first<'p>(
        &self,
        any: &'p [Pattern],
        unless: &[Pattern],
    ) -> Option<(Range<usize>, &'p Pattern)> {
        let mut best: Option<(usize, Range<usize>, &'p Pattern)> = None;
        for pattern in any {
            for start in self.starts_of(&pattern.items[0]) {
                let ci = self.clause_of[start];
                if best.as_ref().is_some_and(|b| b.0 <= ci) {
                    break;
                }
                let clause = &self.words.clauses[ci];
                let Some(first) = self.item_at(&pattern.items[0], start, clause) else {
                    continue;
                };
                let Some(end) = self.find_from(pattern, 1, first, clause) else {
                    continue;
                };
                if unless.iter().any(|u| self.find_in(u, clause).is_some()) {
                    continue;
                }
                best = Some((ci, start..end, pattern));
                break;
            }
        }
        let (_, tokens, pattern) = best?;
        let t = &self.words.tokens;
        Some((
            t[tokens.start].span.start..t[tokens.end - 1].span.end,
            pattern,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lexicon() -> Lexicon {
        let mut l = Lexicon::default();
        let add = |l: &mut Lexicon, name: &str, words: &[&str]| {
            l.add(
                name,
                &words.iter().map(|w| w.to_string()).collect::<Vec<_>>(),
            )
            .unwrap()
        };
        add(
            &mut l,
            "refuse",
            &["refuse", "decline", "turn down", "say no"],
        );
        add(&mut l, "assess", &["assess", "needs assessment", "EHCNA"]);
        add(&mut l, "send", &["SEND", "special needs"]);
        add(&mut l, "start", &["start", "begin", "get going"]);
        add(&mut l, "over", &["no longer", "back in school"]);
        l
    }

    fn matches(l: &Lexicon, pattern: &str, text: &str) -> Option<String> {
        let p = l.pattern(pattern).unwrap();
        let occ = l.read(text);
        occ.first(std::slice::from_ref(&p), &[])
            .map(|(r, _)| text[r].to_string())
    }

    #[test]
    fn one_concept_in_many_wordings() {
        let l = lexicon();
        for text in [
            "They refused to assess him.",
            "The council declined to carry out an assessment",
            "the LA has turned down our request for an EHC needs assessment",
            "they said no to assessing her",
        ] {
            assert!(matches(&l, "@refuse @assess", text).is_some(), "{text}");
        }
        assert_eq!(
            matches(
                &l,
                "@assess @not @start",
                "The assessment still hasn't started."
            ),
            Some("assessment still hasn't started".into())
        );
        // Too far apart, in another clause, or in the other order.
        assert!(matches(&l, "@refuse @assess", "They refused. We will assess it").is_none());
        assert!(matches(&l, "@refuse @assess", "The assessment was refused").is_none());
        assert!(
            matches(
                &l,
                "@refuse @assess",
                "They refused one two three four five six seven eight nine ten to assess"
            )
            .is_none()
        );
    }

    #[test]
    fn acronyms_match_only_in_capitals() {
        let l = lexicon();
        assert!(matches(&l, "@send", "His SEND needs").is_some());
        assert!(matches(&l, "@send", "Please send the plan").is_none());
        assert!(matches(&l, "@send", "His Special Needs").is_some());
    }

    #[test]
    fn unless_vetoes_only_its_own_clause() {
        let l = lexicon();
        let any = [l.pattern("@assess").unwrap()];
        let unless = [l.pattern("@over").unwrap()];
        let occ = l.read("She no longer needs an assessment.");
        assert!(occ.first(&any, &unless).is_none());
        let occ = l.read("She is back in school. The assessment is late.");
        assert!(occ.first(&any, &unless).is_some());
    }

    #[test]
    fn bad_patterns_and_concepts_are_refused() {
        let mut l = lexicon();
        assert!(l.pattern("@nosuch thing").unwrap_err().contains("nosuch"));
        assert!(
            l.add("refuse", &["x".into()])
                .unwrap_err()
                .contains("twice")
        );
        assert!(l.add("not", &["x".into()]).is_err());
        assert!(l.add("empty", &[]).is_err());
        assert!(l.pattern("   ").is_err());
    }
}
