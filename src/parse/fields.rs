//! The small conversions parsing is made of: header values to mailboxes,
//! Message-IDs and dates; HTML to text; text capped at [`super::MAX_TEXT`].

use chrono::{DateTime, TimeZone, Utc};
use mail_parser::{Address, HeaderValue};

use super::{MAX_TEXT, Mailbox};

/// The default for `[extract] html_layout_kb`: HTML up to this size is laid
/// out as a reader sees it (html2text, which builds the whole document in
/// memory: about 40 bytes for each byte of a long single-line part); larger
/// HTML gets a one-pass tag strip, in time and memory proportional to its
/// size. Mail is rarely over 100 KB of HTML.
pub const HTML_LAYOUT_LIMIT: usize = 1 << 20;

/// Readable text from HTML: block elements become line breaks, entities are
/// decoded, scripts and styles dropped. HTML over `layout_limit` bytes is
/// stripped of its tags in one pass instead of being laid out.
pub fn html_to_text(html: &str, layout_limit: usize) -> String {
    if html.len() > layout_limit {
        // mail-parser's converter is a single pass over the text.
        return mail_parser::decoders::html::html_to_text(html);
    }
    // html2text lays out paragraphs and lists as a reader sees them; raw
    // mode puts table cells (layout tables, mostly) on lines of their own
    // instead of drawing the table, and a wide line keeps sentences whole. Should it ever fail,
    // mail-parser's plainer conversion still gives the words.
    html2text::config::plain_no_decorate()
        .raw_mode(true)
        .no_table_borders()
        .string_from_read(html.as_bytes(), 400)
        .unwrap_or_else(|_| mail_parser::decoders::html::html_to_text(html))
}

/// Message-IDs named by `Message-ID:` lines of a header block given as text.
pub(super) fn header_message_ids(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("message-id")
                .then(|| clean_message_id(value))
                .flatten()
        })
        .collect()
}

pub(super) fn first_mailbox(address: &Address<'_>) -> Option<Mailbox> {
    address.iter().find_map(to_mailbox)
}

pub(super) fn all_mailboxes(address: &Address<'_>) -> Vec<Mailbox> {
    address.iter().filter_map(to_mailbox).collect()
}

pub(super) fn to_mailbox(addr: &mail_parser::Addr<'_>) -> Option<Mailbox> {
    let address = addr.address()?.trim().to_lowercase();
    if address.is_empty() {
        return None;
    }
    Some(Mailbox {
        name: addr.name().map(one_line).unwrap_or_default(),
        address,
    })
}

pub(super) fn id_list(value: &HeaderValue<'_>) -> Vec<String> {
    match value {
        HeaderValue::Text(t) => clean_message_id(t).into_iter().collect(),
        HeaderValue::TextList(list) => list.iter().filter_map(|t| clean_message_id(t)).collect(),
        _ => Vec::new(),
    }
}

/// A message id as postroom keeps it: no brackets, no white space, no control
/// characters, at most 998 bytes (RFC 5322's line limit).
pub fn clean_message_id(id: &str) -> Option<String> {
    let id = id.trim().trim_start_matches('<').trim_end_matches('>');
    if id.is_empty()
        || id.len() > 998
        || id
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
    {
        return None;
    }
    Some(id.to_string())
}

pub(super) fn to_chrono(date: &mail_parser::DateTime) -> Option<DateTime<Utc>> {
    if !date.is_valid() {
        return None;
    }
    Utc.timestamp_opt(date.to_timestamp(), 0).single()
}

/// Collapses folding and control characters so a header value is one line.
pub fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars() {
        if c.is_whitespace() || c.is_control() {
            space = !out.is_empty();
        } else {
            if space {
                out.push(' ');
                space = false;
            }
            out.push(c);
        }
    }
    out
}

pub(super) fn unfold(value: &str) -> String {
    one_line(value)
}

pub(super) fn push_capped(out: &mut String, text: &str) {
    let room = MAX_TEXT.saturating_sub(out.len());
    out.push_str(truncate_at_char(text, room));
}

pub(super) fn capped(text: &str) -> String {
    truncate_at_char(text, MAX_TEXT).to_string()
}

pub(super) fn truncate_at_char(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

pub(super) fn lossy_text(raw: &[u8]) -> String {
    let raw = &raw[..raw.len().min(MAX_TEXT)];
    String::from_utf8_lossy(raw).replace('\0', " ")
}
