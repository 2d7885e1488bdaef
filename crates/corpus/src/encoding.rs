//! Turning raw bytes into text: BOM sniffing, UTF-8, and legacy encodings guessed by chardetng.

use crate::error::{CorpusError, Result};

/// Largest file accepted for import (64 MiB: several times the longest novels).
pub const MAX_INPUT_BYTES: u64 = 64 * 1024 * 1024;

/// The encoding a text was decoded from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum TextEncoding {
    /// UTF-8, with or without a byte order mark.
    Utf8,
    /// UTF-16 little endian (BOM required).
    Utf16Le,
    /// UTF-16 big endian (BOM required).
    Utf16Be,
    /// A legacy single-byte encoding guessed from the bytes (windows-1252 and relatives).
    Legacy(&'static str),
}

/// Decodes a text file's bytes. The byte order mark, if any, is dropped; nothing else is changed,
/// so offsets into the returned string are offsets into the text as read.
pub fn decode(bytes: &[u8]) -> Result<(String, TextEncoding)> {
    check_size(bytes.len())?;
    if let Some((enc, bom_len)) = encoding_rs::Encoding::for_bom(bytes) {
        let body = &bytes[bom_len..];
        let (text, _) = enc.decode_without_bom_handling(body);
        let kind = if enc == encoding_rs::UTF_16LE {
            TextEncoding::Utf16Le
        } else if enc == encoding_rs::UTF_16BE {
            TextEncoding::Utf16Be
        } else {
            TextEncoding::Utf8
        };
        let text = text.into_owned();
        return finish(text, kind);
    }
    if looks_binary(bytes) {
        return Err(CorpusError::Binary);
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return finish(text.to_owned(), TextEncoding::Utf8);
    }
    if mostly_utf8(bytes) {
        // A stray bad byte in a UTF-8 book becomes U+FFFD; read as windows-1252, every curly
        // quote and accent of the book would turn into mojibake ("â€œ") instead.
        return finish(String::from_utf8_lossy(bytes).into_owned(), TextEncoding::Utf8);
    }
    let mut detector = chardetng::EncodingDetector::new();
    detector.feed(bytes, true);
    let enc = detector.guess(None, true);
    let (text, _, _) = enc.decode(bytes);
    finish(text.into_owned(), TextEncoding::Legacy(enc.name()))
}

fn finish(text: String, kind: TextEncoding) -> Result<(String, TextEncoding)> {
    if text.trim().is_empty() {
        return Err(CorpusError::Empty);
    }
    if text.contains('\0') {
        return Err(CorpusError::Binary);
    }
    Ok((text, kind))
}

pub(crate) fn check_size(len: usize) -> Result<()> {
    let size = len as u64;
    if size == 0 {
        return Err(CorpusError::Empty);
    }
    if size > MAX_INPUT_BYTES {
        return Err(CorpusError::TooLarge { size, limit: MAX_INPUT_BYTES });
    }
    Ok(())
}

/// Valid multi-byte UTF-8 sequences outnumber invalid bytes ten to one. Legacy text has almost
/// none (an accented letter in windows-1252 is one byte followed by ASCII, which is invalid).
fn mostly_utf8(bytes: &[u8]) -> bool {
    let (mut multibyte, mut invalid) = (0usize, 0usize);
    for chunk in bytes.utf8_chunks() {
        multibyte += chunk.valid().chars().filter(|c| c.len_utf8() > 1).count();
        invalid += chunk.invalid().len();
    }
    multibyte > 0 && invalid * 10 <= multibyte
}

/// NUL bytes or many C0 control characters mean the file is not text (UTF-16 without BOM is
/// rejected here too: it is rare and cannot be told apart reliably).
fn looks_binary(bytes: &[u8]) -> bool {
    let sample = &bytes[..bytes.len().min(64 * 1024)];
    if sample.contains(&0) {
        return true;
    }
    let controls = sample
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x0c))
        .count();
    controls * 100 > sample.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_with_bom_decodes() {
        let mut bytes = vec![0xFF, 0xFE];
        for u in "“Hi,” said Ann.".encode_utf16() {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        let (text, enc) = decode(&bytes).expect("decodes");
        assert_eq!(text, "“Hi,” said Ann.");
        assert_eq!(enc, TextEncoding::Utf16Le);
    }

    #[test]
    fn windows_1252_is_detected() {
        // “Café,” said Zoë — in windows-1252 the curly quotes are 0x93/0x94.
        let bytes = b"\x93Caf\xe9 au lait,\x94 said Zo\xeb. \x93It is na\xefve to think so.\x94 She smiled at the d\xe9j\xe0 vu.";
        let (text, enc) = decode(bytes).expect("decodes");
        assert!(text.starts_with("“Café au lait,” said Zoë."), "{text}");
        assert!(matches!(enc, TextEncoding::Legacy(_)));
    }

    #[test]
    fn a_stray_bad_byte_in_utf8_stays_utf8() {
        let good = "“Café,” said Zoë. “Naïve — déjà vu.”\n".repeat(3);
        let mut bytes = good.as_bytes().to_vec();
        bytes.insert(good.find("said").unwrap_or(0), 0xFF);
        let (text, enc) = decode(&bytes).expect("decodes");
        assert_eq!(enc, TextEncoding::Utf8);
        assert_eq!(text, good.replacen("said", "\u{FFFD}said", 1));
        // Legacy text with a few accents is still legacy, not UTF-8 with holes.
        let (text, enc) = decode(b"Caf\xe9 au lait, na\xefve \xc3\xa9 once.").expect("decodes");
        assert!(matches!(enc, TextEncoding::Legacy(_)), "{text}");
    }

    #[test]
    fn empty_and_binary_are_rejected() {
        assert!(matches!(decode(b""), Err(CorpusError::Empty)));
        assert!(matches!(decode(b"  \n "), Err(CorpusError::Empty)));
        assert!(matches!(decode(b"PK\x03\x04\x00\x00abc"), Err(CorpusError::Binary)));
    }
}
