//! Outgoing mail: templates rendered into complete RFC 5322 messages.
//!
//! Templates live in `templates/` (built into the binary; a council can point
//! `paths.templates` at its own copy). Each mail is three files: NAME.subject.j2,
//! NAME.txt.j2 and NAME.html.j2 (HTML-escaped). Templates are compiled and
//! test-rendered at start (`postroom check`), with undefined variables an
//! error, so a mistake shows before a mail is due, not when it is.
//!
//! Every outgoing mail gets a Message-ID chosen here, once, when it is
//! queued; headers that mail clients and loop filters expect (RFC 3834
//! `Auto-Submitted`, Exchange's `X-Auto-Response-Suppress`); a plain-text part
//! beside every HTML part; and no header built from incoming text without
//! sanitising it first.

use std::fmt;
use std::path::Path;

use anyhow::{Context, Result, anyhow};
use chrono::{DateTime, Utc};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use rand::Rng;
use serde::Serialize;

mod context;
pub mod replies;

pub use context::*;

/// The mails postroom writes; each has a subject, text and HTML template.
pub const MAILS: &[&str] = &[
    "acknowledgement",
    "assigned",
    "chaser",
    "urgent",
    "reminder",
    "digest",
];

/// The templates built into the binary, as (file name, text).
pub const EMBEDDED: &[(&str, &str)] = &[
    (
        "acknowledgement.subject.j2",
        include_str!("../../templates/acknowledgement.subject.j2"),
    ),
    (
        "acknowledgement.txt.j2",
        include_str!("../../templates/acknowledgement.txt.j2"),
    ),
    (
        "acknowledgement.html.j2",
        include_str!("../../templates/acknowledgement.html.j2"),
    ),
    (
        "assigned.subject.j2",
        include_str!("../../templates/assigned.subject.j2"),
    ),
    (
        "assigned.txt.j2",
        include_str!("../../templates/assigned.txt.j2"),
    ),
    (
        "assigned.html.j2",
        include_str!("../../templates/assigned.html.j2"),
    ),
    (
        "chaser.subject.j2",
        include_str!("../../templates/chaser.subject.j2"),
    ),
    (
        "chaser.txt.j2",
        include_str!("../../templates/chaser.txt.j2"),
    ),
    (
        "chaser.html.j2",
        include_str!("../../templates/chaser.html.j2"),
    ),
    (
        "urgent.subject.j2",
        include_str!("../../templates/urgent.subject.j2"),
    ),
    (
        "urgent.txt.j2",
        include_str!("../../templates/urgent.txt.j2"),
    ),
    (
        "urgent.html.j2",
        include_str!("../../templates/urgent.html.j2"),
    ),
    (
        "reminder.subject.j2",
        include_str!("../../templates/reminder.subject.j2"),
    ),
    (
        "reminder.txt.j2",
        include_str!("../../templates/reminder.txt.j2"),
    ),
    (
        "reminder.html.j2",
        include_str!("../../templates/reminder.html.j2"),
    ),
    (
        "digest.subject.j2",
        include_str!("../../templates/digest.subject.j2"),
    ),
    (
        "digest.txt.j2",
        include_str!("../../templates/digest.txt.j2"),
    ),
    (
        "digest.html.j2",
        include_str!("../../templates/digest.html.j2"),
    ),
];

pub use crate::problem::{Problem as TemplateError, Problems as TemplateErrors};

/// Compiled templates.
pub struct Templates {
    env: Environment<'static>,
    /// Where they came from, for error messages ("built-in" or a folder).
    origin: String,
}

impl fmt::Debug for Templates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Templates")
            .field("origin", &self.origin)
            .finish()
    }
}

/// A rendered mail body.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Templates {
    pub fn embedded() -> Result<Templates, TemplateErrors> {
        let files = EMBEDDED
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect();
        Templates::from_files("templates (built-in)", files)
    }

    /// The council's own templates. A mail whose three files are all
    /// missing (one added in a newer postroom) uses the built-in ones; one
    /// with only some of its files is an error.
    pub fn load_dir(dir: &Path) -> Result<Templates, TemplateErrors> {
        let mut files = Vec::new();
        let mut errors = Vec::new();
        for mail in MAILS {
            let exts = ["subject.j2", "txt.j2", "html.j2"];
            if exts
                .iter()
                .all(|ext| !dir.join(format!("{mail}.{ext}")).exists())
            {
                files.extend(
                    EMBEDDED
                        .iter()
                        .filter(|(n, _)| n.starts_with(&format!("{mail}.")))
                        .map(|(n, t)| (n.to_string(), t.to_string())),
                );
                continue;
            }
            for ext in exts {
                let name = format!("{mail}.{ext}");
                let path = dir.join(&name);
                match std::fs::read_to_string(&path) {
                    Ok(text) => files.push((name, text)),
                    Err(e) => errors.push(TemplateError::new(
                        path.display().to_string(),
                        0,
                        format!("cannot read the template: {e}"),
                    )),
                }
            }
        }
        if !errors.is_empty() {
            return Err(TemplateErrors(errors));
        }
        Templates::from_files(&dir.display().to_string(), files)
    }

    fn from_files(origin: &str, files: Vec<(String, String)>) -> Result<Templates, TemplateErrors> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html.j2") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        env.set_keep_trailing_newline(true);
        let mut errors = Vec::new();
        for (name, text) in files {
            if let Err(e) = env.add_template_owned(name.clone(), text) {
                errors.push(template_error(origin, &name, &e));
            }
        }
        let templates = Templates {
            env,
            origin: origin.to_string(),
        };
        if errors.is_empty() {
            errors = templates.check();
        }
        if errors.is_empty() {
            Ok(templates)
        } else {
            Err(TemplateErrors(errors))
        }
    }

    /// Renders every mail with a sample context, to find what would fail.
    fn check(&self) -> Vec<TemplateError> {
        let mut errors = Vec::new();
        for mail in MAILS {
            let ctx = sample_for(mail);
            for ext in ["subject.j2", "txt.j2", "html.j2"] {
                let name = format!("{mail}.{ext}");
                let result = self.env.get_template(&name).and_then(|t| t.render(&ctx));
                if let Err(e) = result {
                    errors.push(template_error(&self.origin, &name, &e));
                }
            }
        }
        errors
    }

    pub fn render(&self, mail: &str, ctx: &impl Serialize) -> Result<Rendered> {
        let render = |ext: &str| -> Result<String> {
            let name = format!("{mail}.{ext}");
            self.env
                .get_template(&name)
                .and_then(|t| t.render(ctx))
                .map_err(|e| anyhow!("{}", template_error(&self.origin, &name, &e)))
        };
        Ok(Rendered {
            subject: clean_header_text(&render("subject.j2")?),
            text: render("txt.j2")?,
            html: render("html.j2")?,
        })
    }
}

fn template_error(origin: &str, name: &str, e: &minijinja::Error) -> TemplateError {
    let mut message = e.kind().to_string();
    if let Some(detail) = e.detail() {
        message.push_str(": ");
        message.push_str(detail);
    }
    TemplateError::new(format!("{origin}/{name}"), e.line().unwrap_or(0), message)
}

/// A few lines of an enquiry for a notice to a caseworker: its text with
/// the greeting left out and white space folded, cut at a word before
/// `max` characters.
pub fn summary(text: &str, max: usize) -> Option<String> {
    let mut t = crate::parse::one_line(text);
    if t.to_lowercase().starts_with("dear ")
        && let Some(i) = t.find(',').filter(|i| *i < 60)
    {
        t = t[i + 1..].trim_start().to_string();
    }
    if t.is_empty() {
        return None;
    }
    if t.chars().count() <= max {
        return Some(t);
    }
    let cut: String = t.chars().take(max).collect();
    let cut = match cut.rfind(' ') {
        Some(i) if i > max / 2 => &cut[..i],
        _ => cut.as_str(),
    };
    Some(format!(
        "{}…",
        cut.trim_end_matches(|c: char| c.is_ascii_punctuation() || c == ' ')
    ))
}

/// Text safe to put in a header: no control characters (so no CR/LF header
/// injection), folded white space, at most 200 characters.
pub fn clean_header_text(s: &str) -> String {
    let one = crate::parse::one_line(s);
    one.chars().take(200).collect()
}

/// A subject with its reply and forward prefixes removed.
pub fn base_subject(subject: &str) -> String {
    let mut s = clean_header_text(subject);
    loop {
        let lower = s.to_ascii_lowercase();
        let cut = ["re:", "fw:", "fwd:", "aw:", "sv:", "re :", "fw :"]
            .iter()
            .find(|p| lower.starts_with(*p))
            .map(|p| p.len());
        match cut {
            Some(n) => s = s[n..].trim_start().to_string(),
            None => return s,
        }
    }
}

/// A new Message-ID for an outgoing mail of `purpose` about case `reference`
/// (without angle brackets). The `postroom.` prefix lets postroom recognise
/// replies to, and bounces of, its own mail.
pub fn message_id(purpose: &str, reference: &str, domain: &str) -> String {
    let nonce: u64 = rand::rng().random();
    format!(
        "postroom.{purpose}.{}.{nonce:016x}@{domain}",
        reference.to_ascii_lowercase()
    )
}

/// Everything needed to build one outgoing mail.
#[derive(Debug, Clone)]
pub struct Outgoing<'a> {
    pub from: &'a Mailbox,
    pub to: &'a str,
    pub rendered: &'a Rendered,
    pub message_id: &'a str,
    pub in_reply_to: Option<&'a str>,
    pub references: &'a [String],
    /// RFC 3834: `auto-replied` for acknowledgements, `auto-generated` for
    /// notifications and digests.
    pub auto_submitted: &'a str,
    pub case_reference: Option<&'a str>,
    pub date: DateTime<Utc>,
}

/// Builds the complete message bytes.
pub fn build(m: &Outgoing<'_>) -> Result<Vec<u8>> {
    let to: Mailbox =
        m.to.parse()
            .with_context(|| "The recipient address is not valid".to_string())?;
    let mut builder = lettre::Message::builder()
        .from(m.from.clone())
        .to(to)
        .subject(m.rendered.subject.clone())
        .date(m.date.into())
        .message_id(Some(format!("<{}>", m.message_id)))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            m.auto_submitted.to_string(),
        ));
    // A person's reply may be answered by an out-of-office; a generated
    // mail asks servers not to.
    if m.auto_submitted != "no" {
        builder = builder.raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("X-Auto-Response-Suppress"),
            "All".to_string(),
        ));
    }
    if let Some(reference) = m.case_reference {
        builder = builder.raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("X-Postroom-Case"),
            clean_header_text(reference),
        ));
    }
    // Only ids that survived `parse::clean_message_id` reach here; check
    // again, since a header is the one place where a stray CR/LF does harm.
    let safe = |id: &&str| crate::parse::clean_message_id(id).as_deref() == Some(*id);
    if let Some(id) = m.in_reply_to.filter(safe) {
        builder = builder.in_reply_to(format!("<{id}>"));
    }
    let references: Vec<String> = m
        .references
        .iter()
        .map(String::as_str)
        .filter(safe)
        .rev()
        .take(20)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .map(|id| format!("<{id}>"))
        .collect();
    if !references.is_empty() {
        builder = builder.references(references.join(" "));
    }
    let text = SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .body(m.rendered.text.clone());
    let html = SinglePart::builder()
        .header(ContentType::TEXT_HTML)
        .body(m.rendered.html.clone());
    let body = MultiPart::alternative().singlepart(text).singlepart(html);
    let message = builder.multipart(body).context("Cannot build the mail")?;
    Ok(message.formatted())
}

#[cfg(test)]
mod tests;
