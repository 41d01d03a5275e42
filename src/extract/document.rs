//! Word-processor documents: the text of DOCX (`word/document.xml`) and ODT
//! (`content.xml`) files.
//!
//! Read in process, on a blocking thread, by memory-safe crates (zip,
//! quick-xml): at most [`MAX_XML`] bytes of decompressed XML, so a zip bomb
//! stops here with an error instead of filling the memory; time is linear
//! in that size. A panic in either crate is caught and makes the file "not
//! read", nothing more.

use std::io::Read;

use super::runner::NotRead;

use anyhow::{Context, Result, bail};
use quick_xml::events::Event;

/// The most decompressed XML read from one document.
pub const MAX_XML: u64 = 64 << 20;

/// The text of a DOCX or ODT file, read on a blocking thread.
pub async fn read(bytes: Vec<u8>) -> Result<String, NotRead> {
    let task =
        tokio::task::spawn_blocking(move || std::panic::catch_unwind(|| extract_document(&bytes)));
    match task.await {
        Ok(Ok(Ok(text))) => Ok(text),
        Ok(Ok(Err(e))) => Err(NotRead::Failed(format!("{e:#}"))),
        Ok(Err(_)) | Err(_) => Err(NotRead::Failed(
            "the document reader failed on this file".into(),
        )),
    }
}

/// The text of a DOCX or ODT file, paragraphs on lines of their own.
pub fn extract_document(bytes: &[u8]) -> Result<String> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .context("not a zip file (DOCX and ODT are zip files)")?;
    let entry = ["word/document.xml", "content.xml"]
        .into_iter()
        .find(|name| archive.index_for_name(name).is_some())
        .context("neither a DOCX (word/document.xml) nor an ODT (content.xml)")?;
    let mut xml = Vec::new();
    archive
        .by_name(entry)
        .with_context(|| format!("cannot read {entry}"))?
        .take(MAX_XML + 1)
        .read_to_end(&mut xml)
        .with_context(|| format!("cannot decompress {entry}"))?;
    if xml.len() as u64 > MAX_XML {
        bail!(
            "the document's text is larger than {} MB once decompressed",
            MAX_XML >> 20
        );
    }
    xml_text(&xml)
}

/// Text of the elements of a document XML: paragraphs, headings, line
/// breaks and table rows become new lines, tabs become tabs.
pub fn xml_text(xml: &[u8]) -> Result<String> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    // A stray `&` in a hand-made document is text, as a word processor
    // would show it, not a reason to lose the document.
    reader.config_mut().allow_dangling_amp = true;
    let mut out = String::new();
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Text(t)) => {
                let text: &str = &t;
                // White space with a line break between tags is the XML's
                // own layout, not the document's text.
                if !(text.contains('\n') && text.trim().is_empty()) {
                    out.push_str(text);
                }
            }
            // Entities (`&amp;`, `&#233;`) come as events of their own; an
            // entity the XML does not define is left out.
            Ok(Event::GeneralRef(r)) => match r.resolve_char_ref() {
                Ok(Some(c)) => out.push(c),
                Ok(None) => out.push_str(quick_xml::escape::resolve_xml_entity(&r).unwrap_or("")),
                Err(_) => {}
            },
            Ok(Event::Empty(e)) => match e.local_name().as_ref() {
                "br" | "line-break" | "cr" => out.push('\n'),
                "tab" => out.push('\t'),
                "s" => out.push(' '),
                _ => {}
            },
            Ok(Event::End(e)) => {
                if matches!(e.local_name().as_ref(), "p" | "h" | "tr") {
                    out.push('\n');
                }
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => bail!("damaged XML at byte {}: {e}", reader.buffer_position()),
        }
        buf.clear();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docx_paragraphs_become_lines() {
        let xml = br#"<?xml version="1.0"?><w:document xmlns:w="x"><w:body>
<w:p><w:r><w:t>Dear Sir,</w:t></w:r></w:p>
<w:p><w:r><w:t xml:space="preserve">My son&apos;s &#x2014; </w:t></w:r><w:r><w:t>EHCP</w:t></w:r><w:r><w:tab/><w:t>is late.</w:t></w:r></w:p>
</w:body></w:document>"#;
        assert_eq!(
            xml_text(xml).unwrap().trim(),
            "Dear Sir,\nMy son's \u{2014} EHCP\tis late."
        );
    }

    #[test]
    fn damaged_xml_is_an_error_not_a_panic() {
        assert!(xml_text(b"<w:p><w:t>unclosed &bogus; </w:p></w:x>").is_err());
    }
}
