//! Checks made in process, on a file's structure, before a tool is asked
//! to read it: cheap, bounded, and enough to keep a hostile file from
//! costing more than a real document would.
//!
//! - A PDF whose compressed stream inflates past [`MAX_INFLATED`] is a
//!   decompression bomb: refused before poppler inflates it in full.
//! - An image past [`MAX_OCR_PIXELS`] is not OCR'd as it is.
//! - An image that is not mostly light (a photo, noise) is not a page of
//!   text: OCR of noise is the slowest thing Tesseract does.

use std::io::Read;
use std::path::Path;

use super::runner::NotRead;

/// The most one compressed PDF stream may inflate to (an A4 page scanned in
/// colour at 600 dpi is about 105 MB).
pub const MAX_INFLATED: u64 = 128 << 20;
/// The most pixels an image may have to be OCR'd (an A4 page at 600 dpi
/// has 35 million).
pub const MAX_OCR_PIXELS: u64 = 36_000_000;

/// Refuses a PDF with a zlib stream that inflates past [`MAX_INFLATED`],
/// and one whose every stream is declared `/FlateDecode` but does not
/// inflate (random data behind a PDF's objects: there is nothing for
/// pdftotext to read or for OCR to see). Streams that are not zlib (JPEG
/// images, plain text) are passed over, and count as content.
// Long: one pass over the streams, three outcomes for each.
pub fn pdf_streams(bytes: &[u8]) -> Result<(), NotRead> {
    let mut at = 0;
    let (mut streams, mut broken) = (0, 0);
    while let Some(found) = find(&bytes[at..], b"stream") {
        let mut start = at + found + b"stream".len();
        at = start;
        // "endstream" contains "stream" too; a stream's data starts after
        // the keyword and its end of line.
        if bytes[..start - b"stream".len()].ends_with(b"end") {
            continue;
        }
        match bytes.get(start..start + 2) {
            Some(b"\r\n") => start += 2,
            Some([b'\n', _]) => start += 1,
            _ => continue,
        }
        streams += 1;
        let (size, whole) = inflated_size(&bytes[start..], MAX_INFLATED);
        if size > MAX_INFLATED {
            return Err(NotRead::TooBig(format!(
                "a compressed part of the PDF inflates to more than {} MB (a decompression bomb)",
                MAX_INFLATED >> 20
            )));
        }
        // The stream's dictionary is just before the keyword.
        let dictionary = &bytes[start.saturating_sub(512)..start];
        let flate = find(dictionary, b"FlateDecode").is_some();
        if flate && !whole {
            broken += 1;
        }
    }
    if streams > 0 && broken == streams {
        return Err(NotRead::Skipped(
            "a PDF whose content does not decompress (damaged, or not a document)".into(),
        ));
    }
    Ok(())
}

/// How many bytes a zlib stream at the start of `data` inflates to,
/// counting no further than just past `cap`, and whether it inflated to
/// its end without an error; (0, false) when it is not zlib.
fn inflated_size(data: &[u8], cap: u64) -> (u64, bool) {
    // A zlib header: deflate, and a check that makes it a multiple of 31.
    if data.len() < 2
        || data[0] & 0x0f != 8
        || (u16::from(data[0]) << 8 | u16::from(data[1])) % 31 != 0
    {
        return (0, false);
    }
    let mut decoder = flate2::read::ZlibDecoder::new(data);
    let mut buf = vec![0u8; 256 << 10];
    let mut total = 0u64;
    loop {
        match decoder.read(&mut buf) {
            Ok(0) => return (total, true),
            Err(_) => return (total, false),
            Ok(n) => {
                total += n as u64;
                if total > cap {
                    return (total, false);
                }
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}

/// Whether an image file may be OCR'd: not over [`MAX_OCR_PIXELS`] and,
/// for the raw images that poppler writes (PNM), mostly light, as a page of
/// text is. Other formats are checked for size from their header only.
pub fn ocr_worthy(path: &Path) -> Result<(), NotRead> {
    let mut head = vec![0u8; 64 << 10];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|e| NotRead::Failed(e.to_string()))?;
    head.truncate(n);
    let Some((width, height)) = dimensions(&head) else {
        return Ok(());
    };
    let pixels = u64::from(width) * u64::from(height);
    if pixels > MAX_OCR_PIXELS {
        return Err(NotRead::TooBig(format!(
            "an image of {width} × {height} pixels, more than a page scanned at 600 dpi"
        )));
    }
    if head.starts_with(b"P5") || head.starts_with(b"P6") {
        let light = pnm_light_fraction(path, &head)?;
        if light < 0.5 {
            return Err(NotRead::Skipped(format!(
                "an image that is not a page of text (only {:.0}% of it is light)",
                light * 100.0
            )));
        }
    }
    Ok(())
}

/// Width and height from a PNM, PNG or JPEG header.
fn dimensions(head: &[u8]) -> Option<(u32, u32)> {
    if head.starts_with(b"P5") || head.starts_with(b"P6") {
        let (w, h, _, _) = pnm_header(head)?;
        return Some((w, h));
    }
    if head.starts_with(b"\x89PNG\r\n\x1a\n") && head.len() >= 24 {
        let w = u32::from_be_bytes(head[16..20].try_into().ok()?);
        let h = u32::from_be_bytes(head[20..24].try_into().ok()?);
        return Some((w, h));
    }
    // The first start-of-frame marker holds the size.
    super::structure::walk_jpeg(head).size
}

/// A binary PNM's width, height, maximum value and where its pixels start.
fn pnm_header(head: &[u8]) -> Option<(u32, u32, u32, usize)> {
    let mut fields = Vec::new();
    let mut i = 2;
    while fields.len() < 3 && i < head.len() {
        match head[i] {
            b'#' => {
                while i < head.len() && head[i] != b'\n' {
                    i += 1;
                }
            }
            c if c.is_ascii_whitespace() => i += 1,
            _ => {
                let start = i;
                while i < head.len() && head[i].is_ascii_digit() {
                    i += 1;
                }
                fields.push(std::str::from_utf8(&head[start..i]).ok()?.parse().ok()?);
                if i == start {
                    return None;
                }
            }
        }
    }
    // One whitespace byte ends the header.
    (fields.len() == 3).then(|| (fields[0], fields[1], fields[2], i + 1))
}

/// The fraction of a PNM's pixels, sampled evenly, that are light (at least
/// three quarters of white).
fn pnm_light_fraction(path: &Path, head: &[u8]) -> Result<f64, NotRead> {
    use std::io::{Seek, SeekFrom};
    let Some((w, h, max, start)) = pnm_header(head) else {
        return Ok(1.0);
    };
    let channels: u64 = if head.starts_with(b"P6") { 3 } else { 1 };
    let depth: u64 = if max > 255 { 2 } else { 1 };
    let pixels = u64::from(w) * u64::from(h);
    if pixels == 0 {
        return Ok(1.0);
    }
    let mut f = std::fs::File::open(path).map_err(|e| NotRead::Failed(e.to_string()))?;
    let samples = pixels.min(4096);
    let step = pixels / samples;
    let mut light = 0u64;
    let mut px = vec![0u8; (channels * depth) as usize];
    for k in 0..samples {
        let offset = start as u64 + k * step * channels * depth;
        if f.seek(SeekFrom::Start(offset)).is_err() || f.read_exact(&mut px).is_err() {
            break;
        }
        // The first byte of each channel is enough to tell light from dark.
        let sum: u64 = px
            .iter()
            .step_by(depth as usize)
            .map(|b| u64::from(*b))
            .sum();
        if sum * 4 >= 3 * 255 * channels {
            light += 1;
        }
    }
    Ok(light as f64 / samples as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zlib(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn a_stream_that_inflates_past_the_cap_is_counted_only_to_the_cap() {
        let small = zlib(b"BT /F1 12 Tf (Dear Sir) Tj ET");
        assert_eq!(inflated_size(&small, 100), (29, true));
        let big = zlib(&vec![0u8; 4 << 20]);
        let (n, whole) = inflated_size(&big, 1 << 20);
        assert!(n > 1 << 20 && n < 2 << 20 && !whole, "{n}");
        assert_eq!(inflated_size(b"\xff\xd8\xff\xe0 a jpeg", 100), (0, false));
        assert!(
            !inflated_size(&small[..small.len() / 2], 100).1,
            "cut short"
        );
    }

    #[test]
    fn a_pdf_bomb_is_refused_and_an_ordinary_pdf_passes() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, stream: &[u8]| {
            let mut pdf = b"%PDF-1.4\n4 0 obj <</Length 9/Filter/FlateDecode>>stream\n".to_vec();
            pdf.extend_from_slice(stream);
            pdf.extend_from_slice(b"\nendstream endobj\n%%EOF\n");
            let path = dir.path().join(name);
            std::fs::write(&path, pdf).unwrap();
            path
        };
        let ok = write("ok.pdf", &zlib(b"BT (hello) Tj ET"));
        assert_eq!(pdf_streams(&std::fs::read(ok).unwrap()), Ok(()));
        let bomb = write(
            "bomb.pdf",
            &zlib(&vec![0u8; (MAX_INFLATED + (1 << 20)) as usize]),
        );
        assert!(matches!(
            pdf_streams(&std::fs::read(bomb).unwrap()),
            Err(NotRead::TooBig(_))
        ));
        // Declared FlateDecode, but random bytes: nothing to read.
        let mut noise = vec![0x78, 0x9c];
        noise.extend((0u32..50_000).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
        let damaged = write("damaged.pdf", &noise);
        assert!(matches!(
            pdf_streams(&std::fs::read(damaged).unwrap()),
            Err(NotRead::Skipped(_))
        ));
    }

    #[test]
    fn noise_is_not_a_page_and_a_white_page_with_words_is() {
        let dir = tempfile::tempdir().unwrap();
        let (w, h) = (200u32, 100u32);
        let mut page = format!("P5\n# poppler\n{w} {h}\n255\n").into_bytes();
        // White, with a band of black "text" across a fifth of it.
        page.extend((0..w * h).map(|i| if (i / w) % 5 == 0 { 0 } else { 250 }));
        std::fs::write(dir.path().join("page.pgm"), &page).unwrap();
        assert_eq!(ocr_worthy(&dir.path().join("page.pgm")), Ok(()));
        let mut noise = format!("P5\n{w} {h}\n255\n").into_bytes();
        noise.extend((0..w * h).map(|i| (i.wrapping_mul(2_654_435_761) >> 7) as u8));
        std::fs::write(dir.path().join("noise.pgm"), &noise).unwrap();
        assert!(matches!(
            ocr_worthy(&dir.path().join("noise.pgm")),
            Err(NotRead::Skipped(_))
        ));
        let huge = b"P5\n7000 7000\n255\n".to_vec();
        std::fs::write(dir.path().join("huge.pgm"), &huge).unwrap();
        assert!(matches!(
            ocr_worthy(&dir.path().join("huge.pgm")),
            Err(NotRead::TooBig(_))
        ));
    }
}
