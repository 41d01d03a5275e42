//! Which MP a message names: "Jane Smith MP", "on behalf of Jane Smith",
//! "Member of Parliament for <constituency>".
//!
//! One automaton over every MP's name and constituency, built when the
//! directory is loaded, finds them all in one pass over the text, so the
//! cost of reading a message does not grow with the size of the directory
//! (650 MPs in the House of Commons). Text and names are compared folded:
//! lower case, accents typed or not ("Siobhán" or "Siobhan"), any run of
//! white space as one space. Each place a name or constituency is found is
//! then checked against the words around it.

use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::Regex;

use super::directory::Directory;

/// What a pattern of the automaton is.
#[derive(Debug, Clone, Copy)]
enum Form {
    /// An MP's name: a mention when followed by "MP" or preceded by "on
    /// behalf of".
    Name,
    /// A constituency: a mention when preceded by "Member of Parliament
    /// for" or "MP for".
    Constituency,
}

/// The MPs of a directory, as the text of a message names them.
#[derive(Debug, Clone)]
pub struct Mentions {
    automaton: Option<AhoCorasick>,
    /// For each pattern of the automaton: the MP's index in the directory,
    /// and what the pattern is.
    targets: Vec<(usize, Form)>,
}

impl Mentions {
    pub fn new(directory: &Directory) -> Mentions {
        let mut patterns = Vec::new();
        let mut targets = Vec::new();
        for (i, mp) in directory.mps().iter().enumerate() {
            for (text, form) in [
                (&mp.name, Form::Name),
                (&mp.constituency, Form::Constituency),
            ] {
                let folded = fold(text);
                if folded.trim().is_empty() {
                    continue;
                }
                patterns.push(folded.trim().to_string());
                targets.push((i, form));
            }
        }
        let automaton = (!patterns.is_empty()).then(|| {
            AhoCorasickBuilder::new()
                .match_kind(MatchKind::Standard)
                .build(&patterns)
                .expect("names of a directory make an automaton")
        });
        Mentions { automaton, targets }
    }

    /// The directory index of the MP named first in `text`, if any.
    pub fn first(&self, text: &str) -> Option<usize> {
        let automaton = self.automaton.as_ref()?;
        let folded = fold(text);
        automaton
            .find_overlapping_iter(&folded)
            .filter_map(|m| {
                let (mp, form) = self.targets[m.pattern().as_usize()];
                mention_start(&folded, m.start(), m.end(), form).map(|start| (start, mp))
            })
            .min()
            .map(|(_, mp)| mp)
    }
}

/// Where the mention of a name or constituency found at `start..end` of
/// folded text begins (its introducing words included), if the words
/// around it make it one.
fn mention_start(text: &str, start: usize, end: usize, form: Form) -> Option<usize> {
    let before = &text[..start];
    let after = &text[end..];
    if !is_boundary(before.chars().next_back()) || !is_boundary(after.chars().next()) {
        return None;
    }
    // Introducing words are in the last 60 bytes before the name.
    let mut from = start.saturating_sub(60);
    while !text.is_char_boundary(from) {
        from -= 1;
    }
    let window = &text[from..start];
    match form {
        Form::Name => {
            if let Some(rest) = after
                .strip_prefix(" mp")
                .or_else(|| after.strip_prefix(" m.p."))
                && is_boundary(rest.chars().next())
            {
                return Some(start);
            }
            ON_BEHALF_OF.find(window).map(|m| from + m.start())
        }
        Form::Constituency => MEMBER_FOR.find(window).map(|m| from + m.start()),
    }
}

/// "on behalf of", then any titles, right before a name (folded text).
static ON_BEHALF_OF: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\bon behalf of (?:the )?(?:rt\.? ?)?(?:hon\.? )?(?:(?:dr|mr|mrs|ms|miss|sir|dame)\.? )?$",
    )
    .unwrap()
});

/// "Member of Parliament for" or "MP for" right before a constituency.
static MEMBER_FOR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(?:member of parliament|mp) for $").unwrap());

fn is_boundary(c: Option<char>) -> bool {
    c.is_none_or(|c| !c.is_alphanumeric())
}

/// Lower case, accents folded (deunicode), each run of white space one
/// space.
fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    let mut push = |c: char, out: &mut String| {
        if c.is_whitespace() {
            if !space {
                out.push(' ');
            }
            space = true;
        } else {
            out.push(c.to_ascii_lowercase());
            space = false;
        }
    };
    for c in text.chars() {
        if c.is_ascii() || c.is_whitespace() {
            push(c, &mut out);
        } else {
            match deunicode::deunicode_char(c) {
                Some(ascii) => ascii.chars().for_each(|a| push(a, &mut out)),
                None => push(c, &mut out),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directory(rows: &str) -> Directory {
        Directory::parse("mps.csv", &format!("name,constituency,email,role\n{rows}")).unwrap()
    }

    #[test]
    fn mp_mentions_tolerate_accents_titles_case_and_line_breaks() {
        let d = directory("Siobhán Gallagher,Fenley and Ashcombe,s@parliament.uk,mp\n");
        let m = Mentions::new(&d);
        assert_eq!(m.first("writing on behalf of Siobhan Gallagher"), Some(0));
        assert_eq!(
            m.first("on behalf of the Rt Hon. Dame SIOBHÁN GALLAGHER"),
            Some(0)
        );
        assert_eq!(m.first("Yours,\nSiobhán\n  Gallagher MP"), Some(0));
        assert_eq!(m.first("Siobhan Gallagher M.P., writes"), Some(0));
        assert_eq!(
            m.first("Member of Parliament for Fenley and\r\nAshcombe"),
            Some(0)
        );
        assert_eq!(m.first("the MP for fenley and ashcombe asked"), Some(0));
        assert_eq!(m.first("I met Siobhan Gallagher at the shop"), None);
        assert_eq!(m.first("Siobhan Gallaghers MP"), None, "a longer word");
        assert_eq!(m.first("Siobhan Gallagher MPs"), None);
        assert_eq!(m.first("Fenley and Ashcombe council"), None);
        assert_eq!(m.first(""), None);
    }

    #[test]
    fn the_mp_named_first_wins_and_an_empty_directory_names_none() {
        let d = directory(
            "Ann Example,Northtown,ann@parliament.uk,mp\nBo Sample,Southvale,bo@parliament.uk,mp\n",
        );
        let m = Mentions::new(&d);
        let text = "On behalf of Bo Sample, copied to Ann Example MP";
        assert_eq!(m.first(text), Some(1));
        assert_eq!(m.first("Ann Example MP and Bo Sample MP"), Some(0));
        // Non-ASCII text around the names does not shift the positions.
        assert_eq!(
            m.first("Ünïcödé… MP for Southvale, then Ann Example MP"),
            Some(1)
        );
        assert_eq!(
            Mentions::new(&Directory::empty()).first("Ann Example MP"),
            None
        );
    }

    #[test]
    fn one_name_inside_another_is_read_as_the_longer_one() {
        let d = directory(
            "Ann Example,Northtown,ann@parliament.uk,mp\nJo Ann Example,Eastby,jo@parliament.uk,mp\n",
        );
        let m = Mentions::new(&d);
        // "Ann Example MP" is in "Jo Ann Example MP", at a later start: the
        // earliest mention is Jo Ann Example's.
        assert_eq!(m.first("Yours, Jo Ann Example MP"), Some(1));
        assert_eq!(m.first("Yours, Ann Example MP"), Some(0));
    }
}
