//! Problems in the files a council edits (config, rules, MP directory,
//! templates), each with the file and line it is on.
//!
//! Loading collects every problem rather than stopping at the first, so
//! `postroom check` and `postroom rules check` can print them all.

use std::fmt;

/// One problem: where it is and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    /// 1-based; 0 when the problem is with the file as a whole.
    pub line: usize,
    /// What in the file it is about (`rule "x"`), when that helps.
    pub item: Option<String>,
    pub message: String,
}

impl Problem {
    pub fn new(file: impl Into<String>, line: usize, message: impl Into<String>) -> Problem {
        Problem {
            file: file.into(),
            line,
            item: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Line 0: about the file as a whole (a table that is missing).
        if self.line == 0 {
            write!(f, "{}: ", self.file)?;
        } else {
            write!(f, "{}:{}: ", self.file, self.line)?;
        }
        if let Some(item) = &self.item {
            write!(f, "{item}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for Problem {}

/// Every problem found, one per line when displayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problems(pub Vec<Problem>);

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}

/// The 1-based line of a byte offset in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// A TOML syntax or shape error as a problem.
pub fn from_toml(file: &str, text: &str, e: &toml::de::Error) -> Problem {
    let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(0);
    Problem::new(file, line, e.message().trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_read_file_line_item_message() {
        let mut p = Problem::new("rules/10.toml", 4, "bad regex");
        assert_eq!(p.to_string(), "rules/10.toml:4: bad regex");
        p.item = Some("rule \"x\"".into());
        assert_eq!(p.to_string(), "rules/10.toml:4: rule \"x\": bad regex");
        assert_eq!(line_of("a\nb\nc", 2), 2);
    }
}
