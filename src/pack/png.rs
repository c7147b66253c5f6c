//! Checking logo.png: a PNG is checked to its IHDR chunk; another image format under that
//! name is told apart (browsers, and so Palette, show it), and anything else is no image.

use std::io::Read;

/// How many bytes are read to tell the image format: enough for an SVG's XML prologue.
const SNIFF_BYTES: u64 = 4096;

/// Why logo.png is not a well-formed PNG image.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogoError {
    /// It is an image of another format, such as "a JPEG image", whose header is whole.
    OtherFormat(&'static str),
    /// It is no usable image; the text says why.
    Invalid(String),
}

const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];

/// The size of a well-formed PNG image, from its IHDR chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PngInfo {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// Reads the PNG signature and IHDR chunk from `reader`; the error says what is wrong.
pub fn check(reader: impl Read) -> Result<PngInfo, LogoError> {
    let mut head = Vec::with_capacity(SNIFF_BYTES as usize);
    reader
        .take(SNIFF_BYTES)
        .read_to_end(&mut head)
        .map_err(|e| LogoError::Invalid(format!("it cannot be read: {e}")))?;
    if head.len() < 8 || head[..8] != SIGNATURE {
        return Err(match sniff(&head) {
            Some(Sniffed::Whole(kind)) => LogoError::OtherFormat(kind),
            Some(Sniffed::Cut(kind)) => {
                LogoError::Invalid(format!("it starts as {kind}, but its header is cut short"))
            }
            None => LogoError::Invalid(
                "it starts with neither the PNG signature nor that of another image format"
                    .to_string(),
            ),
        });
    }
    check_ihdr(&head).map_err(LogoError::Invalid)
}

fn check_ihdr(head: &[u8]) -> Result<PngInfo, String> {
    if head.len() < 33 {
        return Err("it ends before its IHDR chunk".to_string());
    }
    let length = u32::from_be_bytes([head[8], head[9], head[10], head[11]]);
    if length != 13 || &head[12..16] != b"IHDR" {
        return Err("its first chunk is not a 13-byte IHDR chunk".to_string());
    }
    let data = &head[16..29];
    let width = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
    let height = u32::from_be_bytes([data[4], data[5], data[6], data[7]]);
    let (depth, color, compression, filter, interlace) =
        (data[8], data[9], data[10], data[11], data[12]);
    if width == 0 || height == 0 || width > i32::MAX as u32 || height > i32::MAX as u32 {
        return Err(format!(
            "its IHDR gives an impossible size {width}×{height}"
        ));
    }
    let depth_ok = match color {
        0 => matches!(depth, 1 | 2 | 4 | 8 | 16),
        3 => matches!(depth, 1 | 2 | 4 | 8),
        2 | 4 | 6 => matches!(depth, 8 | 16),
        _ => false,
    };
    if !depth_ok || compression != 0 || filter != 0 || interlace > 1 {
        return Err("its IHDR chunk holds values no PNG decoder accepts".to_string());
    }
    let mut crc = flate2::Crc::new();
    crc.update(&head[12..29]);
    let stored = u32::from_be_bytes([head[29], head[30], head[31], head[32]]);
    if crc.sum() != stored {
        return Err("its IHDR checksum is wrong, so the file is damaged".to_string());
    }
    Ok(PngInfo { width, height })
}

/// What the first bytes of a file that is not a PNG say it is.
enum Sniffed {
    /// An image of this format, with its header whole.
    Whole(&'static str),
    /// The start of an image of this format, cut before its header ends.
    Cut(&'static str),
}

fn sniff(head: &[u8]) -> Option<Sniffed> {
    let be16 = |i: usize| u16::from_be_bytes([head[i], head[i + 1]]);
    let le16 = |i: usize| u16::from_le_bytes([head[i], head[i + 1]]);
    let whole = |kind, ok: bool| {
        Some(if ok {
            Sniffed::Whole(kind)
        } else {
            Sniffed::Cut(kind)
        })
    };
    if head.starts_with(b"\xff\xd8\xff") {
        // A JPEG's SOI is followed by a marker segment: FF, a marker, a length of two or more.
        return whole("a JPEG image", head.len() >= 6 && be16(4) >= 2);
    }
    if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        // The logical screen descriptor gives a size.
        return whole(
            "a GIF image",
            head.len() >= 13 && le16(6) > 0 && le16(8) > 0,
        );
    }
    if head.starts_with(b"RIFF") && head.get(8..12) == Some(b"WEBP") {
        return whole(
            "a WebP image",
            head.get(12..15) == Some(b"VP8") && head.len() >= 20,
        );
    }
    if head.get(4..8) == Some(b"ftyp") && matches!(head.get(8..12), Some(b"avif" | b"avis")) {
        return whole("an AVIF image", true);
    }
    if head.starts_with(b"\x00\x00\x01\x00") {
        // An icon directory with at least one 16-byte entry.
        return whole("an ICO icon", head.len() >= 22 && le16(4) > 0);
    }
    if head.starts_with(b"BM") && head.len() >= 18 {
        // The DIB header's size tells a bitmap from text that starts with "BM".
        let dib = u32::from_le_bytes([head[14], head[15], head[16], head[17]]);
        if matches!(dib, 12 | 40 | 52 | 56 | 108 | 124) {
            return whole("a BMP image", head.len() >= 14 + dib as usize);
        }
    }
    let text = std::str::from_utf8(head)
        .or_else(|e| std::str::from_utf8(&head[..e.valid_up_to()]))
        .unwrap_or("");
    let text = text.trim_start_matches('\u{feff}').trim_start();
    let prologue = ["<?xml", "<!DOCTYPE svg", "<!--"];
    if text.starts_with("<svg")
        || (prologue.iter().any(|p| text.starts_with(p)) && text.contains("<svg"))
    {
        return whole("an SVG image", text.contains('>'));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 1×1 grey PNG's first 33 bytes.
    fn header(width: u32, depth: u8, color: u8) -> Vec<u8> {
        let mut v = SIGNATURE.to_vec();
        v.extend(13u32.to_be_bytes());
        let mut chunk = b"IHDR".to_vec();
        chunk.extend(width.to_be_bytes());
        chunk.extend(1u32.to_be_bytes());
        chunk.extend([depth, color, 0, 0, 0]);
        let mut crc = flate2::Crc::new();
        crc.update(&chunk);
        v.extend(&chunk);
        v.extend(crc.sum().to_be_bytes());
        v
    }

    fn invalid(bytes: &[u8]) -> String {
        match check(bytes) {
            Err(LogoError::Invalid(why)) => why,
            other => panic!("not refused as invalid: {other:?}"),
        }
    }

    #[test]
    fn tells_other_image_formats_from_what_is_no_image() {
        let mut gif = b"GIF89a".to_vec();
        gif.extend([16, 0, 16, 0, 0, 0, 0]);
        let mut webp = b"RIFF\x10\x00\x00\x00WEBPVP8 ".to_vec();
        webp.extend([0; 8]);
        let mut bmp = b"BM".to_vec();
        bmp.extend([0; 12]);
        bmp.extend(40u32.to_le_bytes());
        bmp.extend([0; 36]);
        let svg =
            b"\xef\xbb\xbf<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"/>";
        for (bytes, kind) in [
            (&gif[..], "a GIF image"),
            (&webp[..], "a WebP image"),
            (&bmp[..], "a BMP image"),
            (&svg[..], "an SVG image"),
            (&b"\x00\x00\x00\x1cftypavif\x00\x00"[..], "an AVIF image"),
            (&b"\x00\x00\x01\x00\x01\x00\x10\x10\x00\x00\x01\x00\x20\x00\x68\x04\x00\x00\x16\x00\x00\x00"[..], "an ICO icon"),
        ] {
            assert_eq!(check(bytes), Err(LogoError::OtherFormat(kind)), "{kind}");
        }
        assert!(invalid(b"GIF89a").contains("a GIF image, but its header is cut short"));
        assert!(invalid(b"\xff\xd8\xff").contains("JPEG"));
        assert!(invalid(b"BMW owners club\n").contains("neither"));
        assert!(invalid(b"<html><body>logo</body></html>").contains("neither"));
        assert!(invalid(b"").contains("neither"));
    }

    #[test]
    fn accepts_a_valid_header() {
        assert_eq!(
            check(&header(3, 8, 6)[..]),
            Ok(PngInfo {
                width: 3,
                height: 1
            })
        );
    }

    #[test]
    fn rejects_what_is_not_a_png() {
        assert_eq!(
            check(&b"\xff\xd8\xff\xe0\x00\x10JFIF"[..]).unwrap_err(),
            LogoError::OtherFormat("a JPEG image")
        );
        assert!(invalid(&header(0, 8, 6)).contains("impossible size"));
        assert!(invalid(&header(1, 3, 6)).contains("no PNG decoder"));
        let mut damaged = header(1, 8, 6);
        damaged[22] ^= 1;
        assert!(invalid(&damaged).contains("checksum"));
        assert!(invalid(&header(1, 8, 6)[..20]).contains("ends before"));
    }
}
