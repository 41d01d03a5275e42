//! The MIME walk: the text body of a message, and each of its parts (text,
//! HTML, forwarded messages to [`MAX_DEPTH`] levels, binaries spooled to
//! temporary files for the extraction stage).

use mail_parser::{MimeHeaders, PartType};

use super::fields::*;
use super::{Limits, MAX_ATTACHMENT_BYTES, MAX_DEPTH, Message, Part, TextSource};

pub(super) fn fill_body(
    message: &mut Message,
    parsed: &mail_parser::Message<'_>,
    depth: usize,
    limits: Limits,
) {
    for part in &parsed.parts {
        if let Some(ct) = part.content_type() {
            let full = match ct.subtype() {
                Some(sub) => format!("{}/{}", ct.ctype(), sub),
                None => ct.ctype().to_string(),
            };
            message.content_types.push(full.to_ascii_lowercase());
        }
    }
    // The text body: each part of it as text, HTML parts (an HTML-only
    // message, or an HTML part without its text alternative) laid out as a
    // reader sees them.
    let mut body = String::new();
    for part in parsed.text_bodies() {
        match &part.body {
            PartType::Text(text) => push_capped(&mut body, text),
            PartType::Html(html) => push_capped(&mut body, &html_to_text(html, limits.html_layout)),
            _ => continue,
        }
        body.push('\n');
    }
    if body.trim().is_empty() {
        for part in parsed.html_bodies() {
            if let PartType::Html(html) = &part.body {
                push_capped(&mut body, &html_to_text(html, limits.html_layout));
                body.push('\n');
            }
        }
    }
    if depth == 0 {
        message.body = body;
    } else {
        message.parts.push(Part {
            name: parsed
                .subject()
                .map(|s| format!("forwarded message: {}", one_line(s)))
                .unwrap_or_else(|| "forwarded message".into()),
            content_type: "message/rfc822".into(),
            size: parsed.raw_message().len(),
            text: Some(body),
            text_source: Some(TextSource::Forwarded),
            note: None,
            spool: None,
        });
    }
    for attachment in parsed.attachments() {
        add_attachment(message, attachment, depth, limits);
    }
}

// Long: one arm per kind of MIME part (text, HTML, attached message,
// binary), each capped and spooled.
fn add_attachment(
    message: &mut Message,
    part: &mail_parser::MessagePart<'_>,
    depth: usize,
    limits: Limits,
) {
    let content_type = part
        .content_type()
        .map(|ct| match ct.subtype() {
            Some(sub) => format!("{}/{}", ct.ctype(), sub),
            None => ct.ctype().to_string(),
        })
        .unwrap_or_else(|| "application/octet-stream".into())
        .to_ascii_lowercase();
    let name = part
        .attachment_name()
        .map(one_line)
        .unwrap_or_else(|| format!("unnamed {content_type}"));
    match &part.body {
        PartType::Message(inner) => {
            if depth + 1 > MAX_DEPTH {
                message.parts.push(Part {
                    name,
                    content_type,
                    size: inner.raw_message().len(),
                    text: None,
                    text_source: None,
                    note: Some(format!(
                        "not read: forwarded more than {MAX_DEPTH} levels deep"
                    )),
                    spool: None,
                });
                return;
            }
            if let Some(id) = inner.message_id().and_then(clean_message_id) {
                message.enclosed_ids.push(id);
            }
            fill_body(message, inner, depth + 1, limits);
        }
        PartType::Text(text) => {
            if content_type == "text/rfc822-headers" {
                message.enclosed_ids.extend(header_message_ids(text));
            }
            message.parts.push(Part {
                name,
                content_type,
                size: text.len(),
                text: Some(capped(text)),
                text_source: Some(TextSource::Attachment),
                note: None,
                spool: None,
            })
        }
        PartType::Html(html) => message.parts.push(Part {
            name,
            content_type,
            size: html.len(),
            text: Some(capped(&html_to_text(html, limits.html_layout))),
            text_source: Some(TextSource::Attachment),
            note: None,
            spool: None,
        }),
        PartType::Binary(bytes) | PartType::InlineBinary(bytes) => {
            let (spool, note) = if bytes.len() > MAX_ATTACHMENT_BYTES {
                (
                    None,
                    Some(format!(
                        "not read: larger than {} MB",
                        MAX_ATTACHMENT_BYTES >> 20
                    )),
                )
            } else {
                spool(bytes)
            };
            message.parts.push(Part {
                name,
                content_type,
                size: bytes.len(),
                text: None,
                text_source: None,
                note,
                spool,
            })
        }
        PartType::Multipart(_) => {}
    }
}

/// Writes an attachment's bytes to a temporary file (mode 0600, removed
/// when the returned path drops) for the extraction stage.
pub(super) fn spool(bytes: &[u8]) -> (Option<tempfile::TempPath>, Option<String>) {
    let written = tempfile::Builder::new()
        .prefix("part-")
        .tempfile_in(crate::spool::dir())
        .and_then(|mut f| {
            std::io::Write::write_all(&mut f, bytes)?;
            Ok(f.into_temp_path())
        });
    match written {
        Ok(path) => (Some(path), None),
        Err(e) => (
            None,
            Some(format!("not read: cannot write a temporary file: {e}")),
        ),
    }
}
