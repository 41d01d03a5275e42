//! Whether a file whose first bytes say PDF, JPEG, PNG or TIFF has the
//! structure of one, checked in process before any tool is started.
//!
//! Magic bytes are easy to come by: a damaged file, a file of another kind
//! renamed, random data behind a header. Rasterising and OCR'ing such a
//! file costs seconds and reads nothing, so a file is handed to a tool only
//! when its structure holds up:
//!
//! - PDF: an `%%EOF` in its last 4 KB (every writer ends a PDF so), or, for
//!   a PDF cut short, at least one `endobj` in it;
//! - JPEG: a chain of marker segments from the start-of-image that reaches
//!   a start-of-frame and then a start-of-scan;
//! - PNG: an `IHDR` chunk, first, whose CRC-32 is right;
//! - TIFF: a first directory that lies inside the file and holds between 1
//!   and 1,000 entries.
//!
//! Random data passes none of these except by a chance of about one in
//! ten thousand or less.

use super::FileKind;
use super::runner::NotRead;

/// Checks `bytes`, a file that [`super::sniff`] took for `kind`.
pub fn check(kind: FileKind, bytes: &[u8]) -> Result<(), NotRead> {
    let whole = match kind {
        FileKind::Pdf => pdf(bytes),
        FileKind::Jpeg => jpeg(bytes),
        FileKind::Png => png(bytes),
        FileKind::Tiff => tiff(bytes),
        FileKind::Zip | FileKind::Other => true,
    };
    if whole {
        Ok(())
    } else {
        Err(NotRead::Skipped(format!(
            "its first bytes say {} but it does not have the structure of one (damaged, or \
             not a document)",
            name(kind)
        )))
    }
}

fn name(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Pdf => "PDF",
        FileKind::Jpeg => "JPEG",
        FileKind::Png => "PNG",
        FileKind::Tiff => "TIFF",
        FileKind::Zip => "zip",
        FileKind::Other => "a file",
    }
}

fn pdf(bytes: &[u8]) -> bool {
    let tail = &bytes[bytes.len().saturating_sub(4096)..];
    memchr::memmem::find(tail, b"%%EOF").is_some()
        || memchr::memmem::find(bytes, b"endobj").is_some()
}

fn jpeg(bytes: &[u8]) -> bool {
    let walk = walk_jpeg(bytes);
    walk.size.is_some() && walk.scan
}

/// What a walk of a JPEG's marker segments found.
#[derive(Debug, Default)]
pub(super) struct JpegWalk {
    /// Width and height, from the first start-of-frame.
    pub size: Option<(u32, u32)>,
    /// Whether a start-of-scan was reached after the frame.
    pub scan: bool,
}

/// Walks the marker segments of `bytes` (all of a file, or its head) from
/// the start-of-image: each is 0xFF, a marker byte and (but for the
/// standalone markers) a big-endian length that covers itself. Stops at
/// the first start-of-scan, or where the chain breaks.
pub(super) fn walk_jpeg(bytes: &[u8]) -> JpegWalk {
    let mut walk = JpegWalk::default();
    if !bytes.starts_with(&[0xff, 0xd8]) {
        return walk;
    }
    let mut i = 2;
    while i + 1 < bytes.len() && bytes[i] == 0xff {
        let marker = bytes[i + 1];
        match marker {
            // Fill bytes before a marker.
            0xff => i += 1,
            // Standalone markers: no length.
            0x01 | 0xd0..=0xd7 => i += 2,
            0x00 | 0xd8 | 0xd9 => break,
            0xda => {
                walk.scan = walk.size.is_some() && i + 4 <= bytes.len();
                break;
            }
            _ => {
                let Some(len) = bytes.get(i + 2..i + 4) else {
                    break;
                };
                let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
                let is_frame =
                    matches!(marker, 0xc0..=0xc3 | 0xc5..=0xc7 | 0xc9..=0xcb | 0xcd..=0xcf);
                if is_frame && walk.size.is_none() && len >= 7 && i + 9 <= bytes.len() {
                    let h = u32::from(u16::from_be_bytes([bytes[i + 5], bytes[i + 6]]));
                    let w = u32::from(u16::from_be_bytes([bytes[i + 7], bytes[i + 8]]));
                    walk.size = Some((w, h));
                }
                if len < 2 || i + 2 + len > bytes.len() {
                    break;
                }
                i += 2 + len;
            }
        }
    }
    walk
}

fn png(bytes: &[u8]) -> bool {
    // Signature (8), length (4), "IHDR" (4), 13 bytes of data, CRC (4).
    if bytes.len() < 33 || &bytes[8..16] != b"\0\0\0\x0dIHDR" {
        return false;
    }
    let crc = u32::from_be_bytes([bytes[29], bytes[30], bytes[31], bytes[32]]);
    crc32fast::hash(&bytes[12..29]) == crc
}

fn tiff(bytes: &[u8]) -> bool {
    let little = bytes.starts_with(b"II*\0");
    let u16_at = |at: usize| -> Option<usize> {
        let b: [u8; 2] = bytes.get(at..at + 2)?.try_into().ok()?;
        Some(usize::from(if little {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        }))
    };
    let u32_at = |at: usize| -> Option<usize> {
        let b: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
        usize::try_from(if little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
        .ok()
    };
    let Some(first) = u32_at(4) else {
        return false;
    };
    if first < 8 {
        return false;
    }
    match u16_at(first) {
        Some(entries) => (1..=1000).contains(&entries) && first + 2 + 12 * entries <= bytes.len(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes that look random: no structure a reader could find.
    fn noise(n: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
    }

    fn behind(magic: &[u8], seed: u64) -> Vec<u8> {
        let mut v = magic.to_vec();
        v.extend(noise(200 << 10, seed));
        v
    }

    #[test]
    fn random_data_behind_magic_bytes_is_refused_for_every_kind() {
        for seed in 1..40 {
            for (kind, magic) in [
                (FileKind::Pdf, &b"%PDF-1.7\n"[..]),
                (FileKind::Jpeg, &b"\xff\xd8\xff\xe0"[..]),
                (FileKind::Png, &b"\x89PNG\r\n\x1a\n"[..]),
                (FileKind::Tiff, &b"II*\0"[..]),
                (FileKind::Tiff, &b"MM\0*"[..]),
            ] {
                let bytes = behind(magic, seed);
                assert!(
                    matches!(check(kind, &bytes), Err(NotRead::Skipped(_))),
                    "{kind:?} seed {seed}"
                );
            }
        }
    }

    #[test]
    fn files_with_the_structure_of_their_kind_pass() {
        let pdf = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n";
        assert_eq!(check(FileKind::Pdf, pdf), Ok(()));
        // Cut short (no %%EOF) but with objects: poppler may still read it.
        assert_eq!(check(FileKind::Pdf, &pdf[..30]), Ok(()));

        // SOI, an APP0 segment, a frame (SOF0), a scan (SOS).
        let mut jpeg = vec![0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10];
        jpeg.extend(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
        jpeg.extend([0xff, 0xc0, 0x00, 0x0b, 8, 0, 16, 0, 16, 1, 1, 0x11, 0]);
        jpeg.extend([0xff, 0xda, 0x00, 0x08, 1, 1, 0, 0, 0x3f, 0, 0x12, 0x34]);
        jpeg.extend([0xff, 0xd9]);
        assert_eq!(check(FileKind::Jpeg, &jpeg), Ok(()));
        assert_eq!(walk_jpeg(&jpeg).size, Some((16, 16)));
        // A scan with no frame before it is not a JPEG.
        let mut no_frame = jpeg[..20].to_vec();
        no_frame.extend(&jpeg[33..]);
        assert!(check(FileKind::Jpeg, &no_frame).is_err());

        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend([0, 0, 0, 16, 0, 0, 0, 16, 8, 0, 0, 0, 0]);
        let crc = crc32fast::hash(&png[12..29]);
        png.extend(crc.to_be_bytes());
        assert_eq!(check(FileKind::Png, &png), Ok(()));
        png[20] ^= 1;
        assert!(check(FileKind::Png, &png).is_err(), "a wrong CRC");

        // Header, then a directory of one entry at offset 8.
        let mut tiff = b"II*\0\x08\0\0\0\x01\0".to_vec();
        tiff.extend([0u8; 12 + 4]);
        assert_eq!(check(FileKind::Tiff, &tiff), Ok(()));
        let mut big_endian = b"MM\0*\0\0\0\x08\0\x01".to_vec();
        big_endian.extend([0u8; 16]);
        assert_eq!(check(FileKind::Tiff, &big_endian), Ok(()));
    }
}
