//! Checking that logo.png really is a PNG: its signature and its IHDR chunk.

use std::io::Read;

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
pub fn check(reader: impl Read) -> Result<PngInfo, String> {
    let mut head = Vec::with_capacity(33);
    reader
        .take(33)
        .read_to_end(&mut head)
        .map_err(|e| format!("it cannot be read: {e}"))?;
    if head.len() < 8 || head[..8] != SIGNATURE {
        return Err(match sniff(&head) {
            Some(kind) => format!("it is {kind}, not a PNG image"),
            None => "it does not start with the PNG signature".to_string(),
        });
    }
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

fn sniff(head: &[u8]) -> Option<&'static str> {
    let kinds: [(&[u8], &str); 6] = [
        (b"\xff\xd8\xff", "a JPEG image"),
        (b"GIF8", "a GIF image"),
        (b"<svg", "an SVG image"),
        (b"<?xml", "an XML (perhaps SVG) file"),
        (b"RIFF", "a RIFF (perhaps WebP) file"),
        (b"\x00\x00\x01\x00", "an ICO icon"),
    ];
    kinds
        .iter()
        .find(|(magic, _)| head.starts_with(magic))
        .map(|(_, kind)| *kind)
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
            check(&b"\xff\xd8\xff\xe0rest"[..]).unwrap_err(),
            "it is a JPEG image, not a PNG image"
        );
        assert!(
            check(&header(0, 8, 6)[..])
                .unwrap_err()
                .contains("impossible size")
        );
        assert!(
            check(&header(1, 3, 6)[..])
                .unwrap_err()
                .contains("no PNG decoder")
        );
        let mut damaged = header(1, 8, 6);
        damaged[22] ^= 1;
        assert!(check(&damaged[..]).unwrap_err().contains("checksum"));
        assert!(
            check(&header(1, 8, 6)[..20])
                .unwrap_err()
                .contains("ends before")
        );
    }
}
