//! Stage 2b: the text of attachments and letters: PDF text layers, OCR of
//! scans and images, word-processor documents.
//!
//! A file is first checked in process for the structure its first bytes
//! claim ([`structure`]): random data behind a PDF or JPEG header is not
//! handed to any tool. The external tools, the ones the field trusts
//! (poppler-utils' `pdftotext`, `pdfimages` and `pdftoppm`, and Tesseract
//! for OCR), run in child processes with limits (wall time, CPU time,
//! address space, file size, output size), so a crash, a hang or a memory
//! bomb in one is contained: the attachment is marked "not read: why" on
//! the case, and the message is stored and classified on what could be
//! read. DOCX and ODT are read in process by memory-safe crates (zip,
//! quick-xml) with a cap on the XML they inflate ([`document`]).
//!
//! Attachment bytes never stay in memory longer than parsing: the parse stage
//! hands each one over as a temporary file ([`crate::parse::Part::spool`]).

pub mod document;
mod guard;
mod runner;
mod structure;

use std::path::{Path, PathBuf};

use crate::parse::{Message, Part, TextSource};
pub use runner::{Limits, NotRead, run_limited};

/// How extraction runs: where the tools are and how far they may go.
#[derive(Debug, Clone)]
pub struct Extractor {
    pub limits: Limits,
    /// At most this many pages of a scanned PDF are read by OCR.
    pub ocr_pages: u32,
    /// A PDF whose text layer has fewer characters than this is treated as a
    /// scan and read by OCR.
    pub min_text_layer: usize,
    /// Images smaller than this (bytes) are logos and signatures, not scans.
    pub min_image_bytes: usize,
    /// Bounds on parsing the message itself (before extraction).
    pub parse: crate::parse::Limits,
}

impl Default for Extractor {
    fn default() -> Extractor {
        Extractor {
            limits: Limits::default(),
            ocr_pages: 5,
            min_text_layer: 80,
            min_image_bytes: 20 * 1024,
            parse: crate::parse::Limits::default(),
        }
    }
}

/// The files of a folder of at least `min_bytes`, sorted by name.
fn files_in(dir: &Path, min_bytes: usize) -> Result<Vec<PathBuf>, NotRead> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| NotRead::Failed(e.to_string()))?
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.metadata()
                .is_ok_and(|m| m.is_file() && m.len() as usize >= min_bytes)
        })
        .map(|e| e.path())
        .collect();
    files.sort();
    Ok(files)
}

/// What kind of file a part is, by its first bytes (the declared type is
/// often wrong: `application/octet-stream` PDFs are common).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Pdf,
    Png,
    Jpeg,
    Tiff,
    /// A zip container: DOCX, ODT and their kin.
    Zip,
    Other,
}

pub fn sniff(head: &[u8], name: &str) -> FileKind {
    if head.starts_with(b"%PDF-")
        || (head.len() > 1024 && head[..1024].windows(5).any(|w| w == b"%PDF-"))
    {
        return FileKind::Pdf;
    }
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return FileKind::Png;
    }
    if head.starts_with(b"\xff\xd8\xff") {
        return FileKind::Jpeg;
    }
    if head.starts_with(b"II*\0") || head.starts_with(b"MM\0*") {
        return FileKind::Tiff;
    }
    if head.starts_with(b"PK\x03\x04") {
        return FileKind::Zip;
    }
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".pdf") {
        // Named as a PDF but not one: pdftotext will say what is wrong.
        return FileKind::Pdf;
    }
    FileKind::Other
}

impl Extractor {
    /// Reads the text of every part that has a spooled file, in place.
    pub async fn run(&self, message: &mut Message) {
        for part in &mut message.parts {
            let Some(spool) = part.spool.take() else {
                continue;
            };
            self.read_part(part, &spool).await;
            // The temporary file is removed here, when `spool` drops.
        }
    }

    async fn read_part(&self, part: &mut Part, path: &Path) {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) => {
                part.note = Some(format!("not read: {e}"));
                return;
            }
        };
        let kind = sniff(&bytes[..bytes.len().min(2048)], &part.name);
        if let Err(why) = structure::check(kind, &bytes) {
            part.note = Some(format!("not read: {why}"));
            return;
        }
        let result = match kind {
            FileKind::Pdf => self.pdf(path, &bytes).await,
            FileKind::Png | FileKind::Jpeg | FileKind::Tiff => {
                if part.size < self.min_image_bytes {
                    Err(NotRead::Skipped(
                        "a small image (a logo or signature), not a scan".into(),
                    ))
                } else {
                    self.ocr_image(path).await.map(|t| (t, TextSource::Ocr))
                }
            }
            FileKind::Zip => document::read(bytes)
                .await
                .map(|t| (t, TextSource::Document)),
            FileKind::Other => Err(NotRead::Skipped(format!(
                "no text reader for {}",
                part.content_type
            ))),
        };
        match result {
            Ok((text, source)) => {
                part.text = Some(text);
                part.text_source = Some(source);
            }
            Err(NotRead::Skipped(why)) => part.note = Some(format!("not read: {why}")),
            Err(e) => part.note = Some(format!("not read: {e}")),
        }
    }

    /// A PDF's text layer, or OCR of its pages when it has none.
    async fn pdf(&self, path: &Path, bytes: &[u8]) -> Result<(String, TextSource), NotRead> {
        guard::pdf_streams(bytes)?;
        let bytes = run_limited(
            "pdftotext",
            &["-enc", "UTF-8", "-nopgbrk", "-l", "30"],
            &[path.as_os_str(), "-".as_ref()],
            &self.limits,
        )
        .await?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if text.chars().filter(|c| !c.is_whitespace()).count() >= self.min_text_layer {
            return Ok((text, TextSource::PdfText));
        }
        self.ocr_pdf(path).await.map(|t| (t, TextSource::Ocr))
    }

    /// OCR of a scanned PDF. A scanner's PDF holds one image per page, so
    /// the images are taken out as they are (`pdfimages -j`: no decoding, no
    /// scaling) and read; only a PDF with no usable image is rasterised
    /// (`pdftoppm`), which is several times slower.
    async fn ocr_pdf(&self, path: &Path) -> Result<String, NotRead> {
        let dir = tempfile::Builder::new()
            .prefix("ocr-")
            .tempdir_in(crate::spool::dir())
            .map_err(|e| NotRead::Failed(format!("no temporary folder: {e}")))?;
        let pages = self.ocr_pages.to_string();
        let prefix = dir.path().join("img");
        run_limited(
            "pdfimages",
            &["-j", "-l", &pages],
            &[path.as_os_str(), prefix.as_os_str()],
            &self.limits,
        )
        .await?;
        let images = files_in(dir.path(), self.min_image_bytes)?;
        if !images.is_empty() {
            // The scan's own images, read once: a page that reads as
            // little text is not read again by rasterising it.
            let mut text = String::new();
            for image in &images {
                text.push_str(&self.ocr_image(image).await?);
                text.push('\n');
            }
            return Ok(text);
        }
        let prefix = dir.path().join("page");
        run_limited(
            "pdftoppm",
            // Grey PGM, its longest side at most 3300 pixels (A4 at 280 dpi),
            // whatever size the page claims.
            &["-r", "200", "-gray", "-scale-to", "3300", "-l", &pages],
            &[path.as_os_str(), prefix.as_os_str()],
            &self.limits,
        )
        .await?;
        let pages: Vec<PathBuf> = files_in(dir.path(), 0)?
            .into_iter()
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("page"))
            })
            .collect();
        if pages.is_empty() {
            return Err(NotRead::Failed("the PDF has no pages".into()));
        }
        let mut text = String::new();
        for page in &pages {
            text.push_str(&self.ocr_image(page).await?);
            text.push('\n');
        }
        Ok(text)
    }

    async fn ocr_image(&self, path: &Path) -> Result<String, NotRead> {
        guard::ocr_worthy(path)?;
        let bytes = run_limited(
            "tesseract",
            &[],
            &[
                path.as_os_str(),
                "stdout".as_ref(),
                "-l".as_ref(),
                "eng".as_ref(),
            ],
            &self.limits,
        )
        .await?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// The text of a letter's file (a PDF or an image): the whole of a
    /// letter's message.
    pub async fn letter(&self, message: &mut Message) {
        self.run(message).await;
        if let Some(part) = message.parts.first()
            && let Some(text) = &part.text
        {
            message.body = text.clone();
        }
    }
}
