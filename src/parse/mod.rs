//! Stage 2: raw bytes → one normalised [`Message`].
//!
//! mail-parser does the MIME work; this module turns its output into the
//! few things the rest of postroom reads: who sent it, to whom, the subject,
//! the thread headers, the text of the body, and the attachments.
//!
//! Parsing never fails. Its one piece of IO is deliberate: attachment bytes
//! go to temporary files as soon as they are decoded (see [`Part::spool`]),
//! so that a 40 MB attachment is not held in memory twice.
//!
//! Parsing never fails. A message mail-parser cannot make sense of comes back
//! with [`ParseStatus::Unparsed`] and whatever could be salvaged; the caller
//! still stores its bytes and flags it for a person. Two real-world habits
//! that defeat mail-parser are worked around on a *copy* of the bytes (the raw
//! bytes are never touched): bare-CR line endings (classic Mac OS mail, seen
//! in sisimai's `mac/` set) and a first line of blanks before the header block
//! (seen in mailgun/flanker's test mail).

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use mail_parser::MessageParser;

use crate::message::Origin;

mod body;
mod fields;

use fields::*;
pub use fields::{HTML_LAYOUT_LIMIT, clean_message_id, html_to_text, one_line};

/// Text longer than this is cut before classification (a 3 MB body of text
/// says nothing the first megabyte does not).
pub const MAX_TEXT: usize = 1 << 20;
/// How deep forwarded messages inside messages are followed.
pub const MAX_DEPTH: usize = 4;
/// Attachments bigger than this are listed but their bytes are not kept for
/// text extraction.
pub const MAX_ATTACHMENT_BYTES: usize = 64 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseStatus {
    /// mail-parser understood the message.
    Parsed,
    /// Nothing usable came out: stored, and flagged for a person.
    Unparsed,
}

impl ParseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ParseStatus::Parsed => "parsed",
            ParseStatus::Unparsed => "unparsed",
        }
    }
}

/// A display name and an address (lower-cased).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mailbox {
    pub name: String,
    pub address: String,
}

impl Mailbox {
    pub fn domain(&self) -> &str {
        self.address.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
    }
}

/// Where a piece of text came from, so a caseworker can see why a message was
/// classified as it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextSource {
    /// A text attachment, decoded.
    Attachment,
    /// A message forwarded as an attachment (`message/rfc822`).
    Forwarded,
    /// The text layer of a PDF.
    PdfText,
    /// Text read by OCR from an image or a scanned page.
    Ocr,
    /// A word-processor document.
    Document,
}

impl TextSource {
    pub fn as_str(self) -> &'static str {
        match self {
            TextSource::Attachment => "attachment",
            TextSource::Forwarded => "forwarded",
            TextSource::PdfText => "pdf-text",
            TextSource::Ocr => "ocr",
            TextSource::Document => "document",
        }
    }
}

/// An attachment (or a letter's file) and what could be read of it.
#[derive(Debug)]
pub struct Part {
    /// File name, or a description such as "forwarded message".
    pub name: String,
    pub content_type: String,
    pub size: usize,
    pub text: Option<String>,
    pub text_source: Option<TextSource>,
    /// Why no text could be read, when that is the case ("not read: ...").
    pub note: Option<String>,
    /// The decoded bytes in a temporary file (removed when dropped), kept
    /// until text extraction has run. Writing them out at once keeps a large
    /// attachment out of memory.
    pub spool: Option<tempfile::TempPath>,
}

/// One message, normalised.
#[derive(Debug)]
pub struct Message {
    pub origin: Origin,
    pub status: ParseStatus,
    /// What went wrong while parsing, for the case's record.
    pub warnings: Vec<String>,
    /// Without angle brackets.
    pub message_id: Option<String>,
    pub from: Option<Mailbox>,
    pub reply_to: Option<Mailbox>,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
    pub subject: String,
    pub date: Option<DateTime<Utc>>,
    /// When the council's own server received it: the top `Received` hop.
    pub received: Option<DateTime<Utc>>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    /// Message-IDs of messages enclosed in this one (the original inside a
    /// bounce or a forward): how a bounce is matched to the mail it returns.
    pub enclosed_ids: Vec<String>,
    /// Every header as (lower-case name, unfolded raw value), in order.
    pub headers: Vec<(String, String)>,
    /// MIME types of every part, lower case (`multipart/report`, ...).
    pub content_types: Vec<String>,
    /// The text of the message body.
    pub body: String,
    pub parts: Vec<Part>,
}

impl Message {
    fn empty(origin: Origin) -> Message {
        Message {
            origin,
            status: ParseStatus::Parsed,
            warnings: Vec::new(),
            message_id: None,
            from: None,
            reply_to: None,
            to: Vec::new(),
            cc: Vec::new(),
            subject: String::new(),
            date: None,
            received: None,
            in_reply_to: Vec::new(),
            references: Vec::new(),
            enclosed_ids: Vec::new(),
            headers: Vec::new(),
            content_types: Vec::new(),
            body: String::new(),
            parts: Vec::new(),
        }
    }

    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The text of all attachments that could be read, joined.
    pub fn attachment_text(&self) -> String {
        let mut out = String::new();
        for part in &self.parts {
            if let Some(text) = &part.text {
                out.push_str(text);
                out.push('\n');
            }
        }
        out
    }

    /// A message made from a letter's file (a PDF or an image); its text is
    /// filled in by the extraction stage.
    pub fn letter(file_name: &str, content_type: &str, bytes: &[u8]) -> Message {
        let mut message = Message::empty(Origin::Letter);
        let (spool, note) = body::spool(bytes);
        message.parts.push(Part {
            name: file_name.to_string(),
            content_type: content_type.to_string(),
            size: bytes.len(),
            text: None,
            text_source: None,
            note,
            spool,
        });
        message
    }
}

/// Bounds on the work parsing does, from `[extract]` in the config.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// HTML larger than this (bytes) gets the one-pass tag strip instead of
    /// the layout converter; see [`html_to_text`].
    pub html_layout: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            html_layout: fields::HTML_LAYOUT_LIMIT,
        }
    }
}

/// Parses an email with the default [`Limits`]. Never fails; see the
/// module documentation.
pub fn parse_email(raw: &[u8]) -> Message {
    parse_email_within(raw, Limits::default())
}

/// The HTML the sender wrote for the message's own body (not an
/// attachment's, not a forwarded message's), as it arrived: `None` when
/// the body has no HTML part or the bytes are not a message. For showing
/// it sanitised, never raw.
pub fn html_body(raw: &[u8]) -> Option<String> {
    let normalised = normalise_for_parsing(raw, &mut Vec::new());
    let parsed = MessageParser::default().parse(normalised.as_ref())?;
    let html: Vec<&str> = parsed
        .html_bodies()
        .filter_map(|p| match &p.body {
            mail_parser::PartType::Html(h) => Some(h.as_ref()),
            _ => None,
        })
        .collect();
    (!html.is_empty()).then(|| html.join("\n"))
}

/// Parses an email within `limits`. Never fails.
pub fn parse_email_within(raw: &[u8], limits: Limits) -> Message {
    let mut message = Message::empty(Origin::Email);
    let normalised = normalise_for_parsing(raw, &mut message.warnings);
    let parser = MessageParser::default();
    let Some(parsed) = parser.parse(normalised.as_ref()) else {
        message.status = ParseStatus::Unparsed;
        message
            .warnings
            .push("mail-parser could not find a message in these bytes".into());
        message.body = lossy_text(raw);
        return message;
    };
    const KNOWN: &[&str] = &[
        "from",
        "sender",
        "to",
        "cc",
        "subject",
        "date",
        "message-id",
        "received",
        "return-path",
        "content-type",
        "mime-version",
        "reply-to",
        "in-reply-to",
        "references",
    ];
    let known = parsed
        .headers()
        .iter()
        .any(|h| KNOWN.iter().any(|k| h.name().eq_ignore_ascii_case(k)));
    if !known {
        message.status = ParseStatus::Unparsed;
        message
            .warnings
            .push("no header fields of a mail message found".into());
    }
    if ends_inside_header(normalised.as_ref()) {
        // Cut off in transfer or on disk: what it asks, and who for, may be
        // in what is missing. Read as far as it goes, never answered
        // automatically.
        message.status = ParseStatus::Unparsed;
        message
            .warnings
            .push("the file ends inside its header: a message cut off, not a whole one".into());
    }
    fill_headers(&mut message, &parsed);
    body::fill_body(&mut message, &parsed, 0, limits);
    message
}

/// Whether `raw` has no blank line that ends a header block: every whole
/// message has one, even with an empty body.
fn ends_inside_header(raw: &[u8]) -> bool {
    let head = &raw[..raw.len().min(1 << 20)];
    let ended = head.windows(2).any(|w| w == b"\n\n") || head.windows(3).any(|w| w == b"\n\r\n");
    !ended && raw.len() <= 1 << 20
}

/// Returns the bytes mail-parser should see: the raw bytes themselves when
/// they are ordinary, else a repaired copy.
fn normalise_for_parsing<'a>(raw: &'a [u8], warnings: &mut Vec<String>) -> Cow<'a, [u8]> {
    let mut bytes: Cow<'a, [u8]> = Cow::Borrowed(raw);
    let has_bare_cr =
        raw.windows(2).any(|w| w[0] == b'\r' && w[1] != b'\n') || raw.last() == Some(&b'\r');
    if has_bare_cr {
        warnings.push("bare CR line endings; parsed a copy with LF".into());
        let mut out = Vec::with_capacity(raw.len() + raw.len() / 32);
        let mut i = 0;
        while i < raw.len() {
            if raw[i] == b'\r' && raw.get(i + 1) != Some(&b'\n') {
                out.push(b'\n');
            } else {
                out.push(raw[i]);
            }
            i += 1;
        }
        bytes = Cow::Owned(out);
    }
    // Leading lines of nothing but blanks hide the header block.
    let mut start = 0;
    loop {
        let rest = &bytes[start..];
        let line_end = rest.iter().position(|&b| b == b'\n');
        match line_end {
            Some(end)
                if rest[..end]
                    .iter()
                    .all(|b| matches!(b, b' ' | b'\t' | b'\r')) =>
            {
                if end == 0 || (end == 1 && rest[0] == b'\r') {
                    // A truly empty first line means "no headers"; leave it.
                    break;
                }
                start += end + 1;
            }
            _ => break,
        }
    }
    if start > 0 {
        warnings.push("leading blank lines before the header block; skipped in parsing".into());
        bytes = match bytes {
            Cow::Borrowed(b) => Cow::Borrowed(&b[start..]),
            Cow::Owned(v) => Cow::Owned(v[start..].to_vec()),
        };
    }
    bytes
}

fn fill_headers(message: &mut Message, parsed: &mail_parser::Message<'_>) {
    message.message_id = parsed.message_id().and_then(clean_message_id);
    message.from = parsed.from().and_then(first_mailbox);
    message.reply_to = parsed.reply_to().and_then(first_mailbox);
    message.to = parsed.to().map(all_mailboxes).unwrap_or_default();
    message.cc = parsed.cc().map(all_mailboxes).unwrap_or_default();
    message.subject = parsed.subject().map(one_line).unwrap_or_default();
    message.date = parsed.date().and_then(to_chrono);
    message.received = parsed
        .received_all()
        .next()
        .and_then(|r| r.date.as_ref())
        .and_then(to_chrono);
    message.in_reply_to = id_list(parsed.in_reply_to());
    message.references = id_list(parsed.references());
    message.headers = parsed
        .headers_raw()
        .map(|(name, value)| (name.to_ascii_lowercase(), unfold(value)))
        .collect();
}

#[cfg(test)]
mod tests;
