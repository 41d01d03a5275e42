//! Text as a sequence of word forms in clauses: what concept patterns match.
//!
//! The same sentence is written many ways: "hasn't", "has not" and "hasnt";
//! "assess", "assessed" and "assessment"; "organize" and "organise"; a
//! typo'd "asessment". Each word is lower-cased, its contraction expanded,
//! its spelling brought to one British form, and stemmed (Snowball English),
//! so that a rule writes a concept once and meets all its forms.
//!
//! A text is cut into clauses: at the end of a sentence (`.`, `!`, `?`,
//! `;`, `:`), at a blank line, and before the words that turn a sentence
//! round ("but", "however", "although", "though", "whereas", "yet", and
//! "and" after a comma). Negation, tense and "no longer" are read in their
//! own clause only: in "the appeal was lodged last spring, and the hearing
//! is on Thursday", "last spring" says nothing about the hearing.
//!
//! Pure: no IO.

use std::ops::Range;
use std::sync::LazyLock;
use std::sync::atomic::Ordering;

use rust_stemmers::{Algorithm, Stemmer};

#[cfg(test)]
pub use super::vocab::name;
use super::vocab::{GENERATION, intern, known};
pub use super::vocab::{Sym, UNKNOWN};

static STEMMER: LazyLock<Stemmer> = LazyLock::new(|| Stemmer::create(Algorithm::English));

/// One word form and where it stands in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub sym: Sym,
    /// Written all in capitals, with two letters or more (an acronym:
    /// "SEND" is not "send").
    pub upper: bool,
    /// Byte range in the text it was read from.
    pub span: Range<usize>,
}

/// A text's word forms, and its clauses as ranges of them.
#[derive(Debug, Default, Clone)]
pub struct Words {
    pub tokens: Vec<Token>,
    pub clauses: Vec<Range<usize>>,
}

/// Words that begin a new clause.
const TURNS: &[&str] = &[
    "but", "however", "although", "though", "whereas", "yet", "except",
];

/// Contractions written without their apostrophe, as typed in a hurry.
const BARE_NEGATIONS: &[(&str, &str)] = &[
    ("hasnt", "has"),
    ("havent", "have"),
    ("hadnt", "had"),
    ("isnt", "is"),
    ("arent", "are"),
    ("wasnt", "was"),
    ("werent", "were"),
    ("dont", "do"),
    ("doesnt", "does"),
    ("didnt", "did"),
    ("cant", "can"),
    ("cannot", "can"),
    ("couldnt", "could"),
    ("wont", "will"),
    ("wouldnt", "would"),
    ("shouldnt", "should"),
    ("mustnt", "must"),
    ("aint", "is"),
];

/// American spellings and common misspellings, to the British form the
/// rules are written in.
const SPELLINGS: &[(&str, &str)] = &[
    ("program", "programme"),
    ("programs", "programmes"),
    ("center", "centre"),
    ("behavior", "behaviour"),
    ("behavioral", "behavioural"),
    ("neighbor", "neighbour"),
    ("counselor", "counsellor"),
    ("enrollment", "enrolment"),
    ("pediatric", "paediatric"),
    ("pediatrician", "paediatrician"),
    ("judgment", "judgement"),
    ("traveling", "travelling"),
    ("canceled", "cancelled"),
    ("canceling", "cancelling"),
    ("fulfill", "fulfil"),
    ("mold", "mould"),
    ("recieve", "receive"),
    ("recieved", "received"),
    ("asessment", "assessment"),
    ("assesment", "assessment"),
    ("assesed", "assessed"),
    ("asessed", "assessed"),
    ("acomodation", "accommodation"),
    ("accomodation", "accommodation"),
    ("tribunial", "tribunal"),
    ("tribunel", "tribunal"),
    ("houseing", "housing"),
    ("sheduled", "scheduled"),
    ("untill", "until"),
    ("seperate", "separate"),
    ("excludded", "excluded"),
    ("exlcuded", "excluded"),
    ("transprot", "transport"),
    ("evicition", "eviction"),
    ("homless", "homeless"),
    ("saftey", "safety"),
    ("safegaurding", "safeguarding"),
    ("tmrw", "tomorrow"),
    ("tmr", "tomorrow"),
    ("pls", "please"),
    ("plz", "please"),
    ("yrs", "years"),
    ("wks", "weeks"),
    ("mths", "months"),
];

/// Irregular past forms, to the verb a rule writes ("told" meets "tell").
/// The forms of "be" and "have" stay apart: tense is read from them.
const IRREGULAR: &[(&str, &str)] = &[
    ("said", "say"),
    ("told", "tell"),
    ("sent", "send"),
    ("left", "leave"),
    ("found", "find"),
    ("came", "come"),
    ("went", "go"),
    ("gone", "go"),
    ("took", "take"),
    ("taken", "take"),
    ("gave", "give"),
    ("given", "give"),
    ("kept", "keep"),
    ("held", "hold"),
    ("made", "make"),
    ("paid", "pay"),
    ("brought", "bring"),
    ("fell", "fall"),
    ("fallen", "fall"),
    ("felt", "feel"),
    ("lost", "lose"),
    ("met", "meet"),
    ("ran", "run"),
    ("slept", "sleep"),
    ("spoke", "speak"),
    ("spoken", "speak"),
    ("stood", "stand"),
    ("wrote", "write"),
    ("written", "write"),
    ("saw", "see"),
    ("seen", "see"),
    ("got", "get"),
    ("gotten", "get"),
    ("began", "begin"),
    ("begun", "begin"),
    ("broke", "break"),
    ("broken", "break"),
    ("threw", "throw"),
    ("thrown", "throw"),
    ("knew", "know"),
    ("known", "know"),
    ("thought", "think"),
    ("meant", "mean"),
    ("fled", "flee"),
    ("hurt", "hurt"),
    ("stuck", "stick"),
    ("shut", "shut"),
    ("withdrew", "withdraw"),
    ("withdrawn", "withdraw"),
    ("undertook", "undertake"),
    ("undertaken", "undertake"),
];

/// The stems of one word as written (after lower-casing): usually one,
/// two for a contraction ("hasn't" → "has", "not").
fn forms(word: &str, out: &mut Vec<String>) {
    let word = word.trim_matches('\'');
    if word.is_empty() {
        return;
    }
    if let Some(base) = word.strip_suffix("n't") {
        let base = match base {
            "ca" => "can",
            "wo" => "will",
            "sha" => "shall",
            other => other,
        };
        if !base.is_empty() {
            out.push(stem(base));
        }
        out.push("not".into());
        return;
    }
    for (suffix, expansion) in [
        ("'re", Some("are")),
        ("'ve", Some("have")),
        ("'ll", Some("will")),
        ("'m", Some("am")),
        ("'d", Some("would")),
        ("'s", None),
    ] {
        if let Some(base) = word.strip_suffix(suffix) {
            out.push(stem(base));
            if let Some(e) = expansion {
                out.push(e.into());
            }
            return;
        }
    }
    if let Some((_, base)) = BARE_NEGATIONS.iter().find(|(w, _)| *w == word) {
        out.push(stem(base));
        out.push("not".into());
        return;
    }
    out.push(stem(word));
}

/// The numbered forms of one lower-case word (one, or two for a
/// contraction).
#[derive(Debug, Clone, Copy)]
struct Forms {
    syms: [Sym; 2],
    len: u8,
}

/// The numbered forms of the words a thread has read since the vocabulary
/// last grew (most words of a mailbox recur), at most 16,384 of them (per thread:
/// the readers run on several).
#[derive(Default)]
struct Cache {
    generation: u64,
    forms: foldhash::HashMap<Box<str>, Forms>,
    buf: Vec<String>,
}

impl Cache {
    /// Starts afresh when the vocabulary has grown or the cache is full.
    fn check(&mut self) {
        let generation = GENERATION.load(Ordering::Acquire);
        if self.generation != generation || self.forms.len() >= 16_384 {
            self.forms.clear();
            self.generation = generation;
        }
    }

    /// The forms of a word as written (lower case).
    fn get(&mut self, word: &str) -> Forms {
        if let Some(f) = self.forms.get(word) {
            return *f;
        }
        self.buf.clear();
        forms(word, &mut self.buf);
        let mut f = Forms {
            syms: [UNKNOWN; 2],
            len: 0,
        };
        for stem in self.buf.iter().take(2) {
            f.syms[f.len as usize] = known(stem);
            f.len += 1;
        }
        self.forms.insert(word.into(), f);
        f
    }
}

thread_local! {
    static CACHE: std::cell::RefCell<Cache> = std::cell::RefCell::new(Cache::default());
}

/// The stem of one lower-case word, with its spelling made British.
fn stem(word: &str) -> String {
    static TO_BASE: LazyLock<std::collections::HashMap<&'static str, &'static str>> =
        LazyLock::new(|| SPELLINGS.iter().chain(IRREGULAR).copied().collect());
    let word = TO_BASE.get(word).copied().unwrap_or(word);
    // -ize to -ise ("organized", "prioritization"), in words long enough
    // not to be "size" or "prize". Texts and phrases are read alike, so a
    // word this changes by mistake still meets itself.
    let british;
    let word = match word.rfind("iz") {
        Some(at)
            if word.len() >= 7
                && matches!(word.as_bytes().get(at + 2), Some(b'e' | b'i' | b'a')) =>
        {
            british = format!("{}is{}", &word[..at], &word[at + 2..]);
            british.as_str()
        }
        _ => word,
    };
    STEMMER.stem(word).into_owned()
}

/// Reads `text` into word forms and clauses; stems no rule uses are
/// [`UNKNOWN`].
pub fn words(text: &str) -> Words {
    read(text, false)
}

/// Reads `text`; with `intern_all`, every stem is numbered (a rule's text).
fn read(text: &str, intern_all: bool) -> Words {
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        cache.check();
        read_with(text, intern_all, &mut cache)
    })
}

// Long: one pass over the bytes, cutting words and clauses as it goes.
fn read_with(text: &str, intern_all: bool, cache: &mut Cache) -> Words {
    let mut tokens = Vec::new();
    let mut clauses = Vec::new();
    let mut clause_start = 0;
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut forms_buf = Vec::new();
    let mut word = String::new();
    let mut after_comma = false;
    let close = |tokens: &Vec<Token>, clauses: &mut Vec<Range<usize>>, start: &mut usize| {
        if tokens.len() > *start {
            clauses.push(*start..tokens.len());
        }
        *start = tokens.len();
    };
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_alphanumeric() {
            let start = i;
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric()
                    || bytes[i] == b'\''
                        && bytes.get(i + 1).is_some_and(|b| b.is_ascii_alphabetic()))
            {
                i += 1;
            }
            let written = &text[start..i];
            let upper = written.bytes().filter(|b| b.is_ascii_alphabetic()).count() >= 2
                && !written.bytes().any(|b| b.is_ascii_lowercase());
            word.clear();
            word.push_str(written);
            word.make_ascii_lowercase();
            if TURNS.contains(&word.as_str()) || (after_comma && word == "and") {
                close(&tokens, &mut clauses, &mut clause_start);
            }
            after_comma = false;
            let mut push = |sym| {
                tokens.push(Token {
                    sym,
                    upper,
                    span: start..i,
                })
            };
            if intern_all {
                forms_buf.clear();
                forms(&word, &mut forms_buf);
                for stem in forms_buf.drain(..) {
                    push(intern(stem));
                }
            } else {
                let f = cache.get(&word);
                for &sym in &f.syms[..f.len as usize] {
                    push(sym);
                }
            }
            continue;
        }
        match c {
            b'.' | b'!' | b'?' | b';' | b':' => {
                // "No. 5566" and "3.5" are not the end of a sentence.
                let next = bytes.get(i + 1).copied();
                let decimal = c == b'.'
                    && next.is_some_and(|n| n.is_ascii_digit())
                    && i > 0
                    && bytes[i - 1].is_ascii_digit();
                if !decimal {
                    close(&tokens, &mut clauses, &mut clause_start);
                }
                after_comma = false;
            }
            b',' => after_comma = true,
            b'\n' => {
                // A blank line ends a clause; a wrapped line does not.
                let rest = &bytes[i + 1..];
                let blank = rest
                    .iter()
                    .take_while(|b| **b != b'\n')
                    .all(|b| b.is_ascii_whitespace());
                if blank {
                    close(&tokens, &mut clauses, &mut clause_start);
                }
            }
            _ => {}
        }
        i += 1;
    }
    close(&tokens, &mut clauses, &mut clause_start);
    Words { tokens, clauses }
}

/// The stems of a phrase as a rule writes it, read the way [`words`] reads
/// a text ("hasn't started" → `has not start`), numbered.
pub fn phrase(text: &str) -> Vec<Sym> {
    read(text, true).tokens.into_iter().map(|t| t.sym).collect()
}

/// Like [`phrase`], with whether each word was written in capitals (an
/// acronym in a concept matches only in capitals).
pub fn phrase_cased(text: &str) -> Vec<(Sym, bool)> {
    read(text, true)
        .tokens
        .into_iter()
        .map(|t| (t.sym, t.upper))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stems(text: &str) -> Vec<String> {
        phrase(text).into_iter().map(name).collect()
    }

    #[test]
    fn forms_of_one_word_meet() {
        assert_eq!(stems("assessed"), stems("assessment"));
        assert_eq!(stems("assess"), stems("asessment"));
        assert_eq!(stems("hasn't started"), stems("has not starting"));
        assert_eq!(stems("hasnt started"), stems("has not started"));
        assert_eq!(stems("can't cope"), stems("cannot cope"));
        assert_eq!(stems("won't"), vec!["will", "not"]);
        assert_eq!(stems("organized"), stems("organised"));
        assert_eq!(stems("behavior"), stems("behaviour"));
        assert_eq!(stems("Evicted"), stems("evicting"));
        assert_eq!(stems("she's"), stems("she"));
    }

    #[test]
    fn clauses_end_at_sentences_and_turns() {
        let text = "The appeal was lodged last spring, and the hearing is on Thursday. He was excluded but is back now\nand happy.\n\nNew paragraph";
        phrase(text);
        let w = words(text);
        let clause = |i: usize| -> Vec<String> {
            w.tokens[w.clauses[i].clone()]
                .iter()
                .map(|t| name(t.sym))
                .collect()
        };
        assert_eq!(w.clauses.len(), 5);
        assert_eq!(clause(0), stems("The appeal was lodged last spring"));
        assert_eq!(clause(1), stems("and the hearing is on Thursday"));
        assert_eq!(clause(3), stems("but is back now and happy"));
        assert_eq!(clause(4), stems("New paragraph"));
        // Spans point back into the text.
        let t = &w.tokens[1];
        assert_eq!(t.span, 4..10);
    }

    #[test]
    fn numbers_and_references_are_not_sentence_ends() {
        let w = words("Casework no. 556677 and 3.5 hours");
        assert_eq!(w.clauses.len(), 2);
        let w = words("It costs 3.5 pounds");
        assert_eq!(w.clauses.len(), 1);
    }
}
