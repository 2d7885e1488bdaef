//! Format detection and the import entry points.

use crate::book::{Book, SourceFormat, Span};
use crate::encoding::{TextEncoding, decode};
use crate::error::Result;

/// Imports a file's bytes, detecting EPUB (zip), HTML or plain text.
pub fn import_bytes(bytes: &[u8]) -> Result<Book> {
    crate::encoding::check_size(bytes.len())?;
    if bytes.starts_with(b"PK\x03\x04") {
        return crate::epub::import_epub(bytes);
    }
    let (text, _) = decode(bytes)?;
    if looks_like_html(&text) {
        return crate::html::import_html(&text);
    }
    Ok(import_text(text))
}

/// Decodes and imports a plain-text file, returning the encoding it was read in.
pub fn import_text_bytes(bytes: &[u8]) -> Result<(Book, TextEncoding)> {
    let (text, enc) = decode(bytes)?;
    Ok((import_text(text), enc))
}

/// Imports already-decoded plain text. Gutenberg boilerplate is excluded from [`Book::body`] but
/// kept in [`Book::text`], so spans are offsets into the text as read.
pub fn import_text(text: String) -> Book {
    let r = crate::gutenberg::body_range(&text);
    crate::book::segment_text(text, Span::new(r.start, r.end), SourceFormat::Text, None)
}

fn looks_like_html(text: &str) -> bool {
    let head: String = text.trim_start().chars().take(512).collect::<String>().to_ascii_lowercase();
    head.starts_with("<!doctype html") || head.starts_with("<html") || (head.starts_with("<?xml") && head.contains("<html"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::CorpusError;

    #[test]
    fn detects_formats() {
        let b = import_bytes(b"<!DOCTYPE html><html><body><p>Hi there.</p></body></html>").expect("html");
        assert_eq!(b.format, SourceFormat::Html);
        let b = import_bytes("Just “text”.\n".as_bytes()).expect("text");
        assert_eq!(b.format, SourceFormat::Text);
        assert!(matches!(import_bytes(b""), Err(CorpusError::Empty)));
    }
}
