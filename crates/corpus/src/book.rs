//! The book model every importer produces: one text, with chapters and paragraphs as exact spans.

use serde::{Deserialize, Serialize};

/// A half-open byte range `start..end` into [`Book::text`] (always on `char` boundaries).
/// [`Book::char_offset`] turns either end into a Unicode scalar offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end`.
    pub const fn new(start: usize, end: usize) -> Self {
        Self { start, end }
    }
    /// Length in bytes.
    pub const fn len(&self) -> usize {
        self.end.saturating_sub(self.start)
    }
    /// True when the span covers nothing.
    pub const fn is_empty(&self) -> bool {
        self.end <= self.start
    }
    /// True when the two spans share at least one byte.
    pub const fn overlaps(&self, other: &Span) -> bool {
        self.start < other.end && other.start < self.end
    }
}

/// Where a book came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum SourceFormat {
    /// Plain text; [`Book::text`] is the decoded file exactly as read.
    Text,
    /// HTML; [`Book::text`] is the extracted text, paragraphs separated by blank lines.
    Html,
    /// EPUB 2 or 3; [`Book::text`] is the extracted text of the spine in order.
    Epub,
}

/// A chapter: a title and the paragraphs under it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chapter {
    /// The heading as written ("CHAPTER I.") or the table-of-contents title.
    pub title: String,
    /// From the heading (or first paragraph) to the end of the last paragraph.
    pub span: Span,
    /// Index range into [`Book::paragraphs`].
    pub paragraphs: std::ops::Range<usize>,
}

/// A paragraph of running text (headings are not paragraphs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Paragraph {
    /// The paragraph's text, trimmed of surrounding whitespace.
    pub span: Span,
    /// Index into [`Book::chapters`]; books without headings have one untitled chapter.
    pub chapter: usize,
}

/// An imported book.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Book {
    /// Title from the metadata, when the format has one.
    pub title: Option<String>,
    /// The text every span points into.
    pub text: String,
    /// The part of `text` that is the book (Gutenberg header and footer excluded).
    pub body: Span,
    /// Chapters in reading order.
    pub chapters: Vec<Chapter>,
    /// Paragraphs in reading order.
    pub paragraphs: Vec<Paragraph>,
    /// The source format.
    pub format: SourceFormat,
    /// True when the text has no blank lines, so each line was taken as a paragraph (one
    /// paragraph per line, or one sentence per line as in tokenized corpora). Quotations may
    /// then run on across line ends.
    pub line_paragraphs: bool,
}

impl Book {
    /// The text of a span.
    pub fn slice(&self, span: Span) -> &str {
        self.text.get(span.start..span.end).unwrap_or("")
    }

    /// Converts a byte offset into `text` to an offset in Unicode scalar values.
    pub fn char_offset(&self, byte: usize) -> usize {
        let byte = byte.min(self.text.len());
        self.text.get(..byte).map_or(0, |s| s.chars().count())
    }

    /// A reusable byte → char offset converter for many lookups.
    pub fn char_map(&self) -> CharMap {
        CharMap::new(&self.text)
    }
}

/// Converts byte offsets to char offsets in O(1) after one pass over the text.
#[derive(Debug, Clone)]
pub struct CharMap {
    /// `None` for ASCII text, where the two are equal.
    table: Option<Vec<u32>>,
    len: usize,
}

impl CharMap {
    /// Builds the map for `text`.
    pub fn new(text: &str) -> Self {
        if text.is_ascii() {
            return Self { table: None, len: text.len() };
        }
        let mut table = Vec::with_capacity(text.len() + 1);
        let mut n = 0u32;
        for ch in text.chars() {
            for _ in 0..ch.len_utf8() {
                table.push(n);
            }
            n += 1;
        }
        table.push(n);
        Self { table: Some(table), len: text.len() }
    }

    /// The char offset of a byte offset (clamped to the text).
    pub fn char_at(&self, byte: usize) -> usize {
        let byte = byte.min(self.len);
        match &self.table {
            None => byte,
            Some(t) => t.get(byte).copied().unwrap_or(0) as usize,
        }
    }
}

/// Splits plain text into paragraphs and chapters.
pub(crate) fn segment_text(text: String, body: Span, format: SourceFormat, title: Option<String>) -> Book {
    let region = &text[body.start..body.end];
    let trimmed_region = region.trim();
    let blank_lines = trimmed_region.split('\n').filter(|l| l.trim().is_empty()).count();
    let lines = trimmed_region.split('\n').count();
    // Gutenberg texts have a blank line every few lines; a text without any is one paragraph per line.
    let line_paragraphs = lines > 3 && blank_lines * 50 < lines;
    let mut blocks: Vec<Span> = Vec::new();
    let mut offset = body.start;
    let mut current: Option<Span> = None;
    for line in region.split_inclusive('\n') {
        let trimmed = line.trim();
        let line_start = offset;
        offset += line.len();
        if trimmed.is_empty() {
            if let Some(b) = current.take() {
                blocks.push(b);
            }
            continue;
        }
        let lead = line.len() - line.trim_start().len();
        let s = line_start + lead;
        let e = s + trimmed.len();
        let indented = lead >= 2 && !line_paragraphs;
        match current.as_mut() {
            Some(b) if !line_paragraphs && !indented && !is_heading(&text[b.start..b.end]) && !is_heading(trimmed) => b.end = e,
            _ => {
                if let Some(b) = current.take() {
                    blocks.push(b);
                }
                current = Some(Span::new(s, e));
            }
        }
    }
    if let Some(b) = current.take() {
        blocks.push(b);
    }
    let mut chapters: Vec<Chapter> = Vec::new();
    let mut paragraphs: Vec<Paragraph> = Vec::new();
    for b in blocks {
        let t = &text[b.start..b.end];
        if is_heading(t) {
            if let Some(last) = chapters.last_mut() {
                last.paragraphs.end = paragraphs.len();
            }
            chapters.push(Chapter { title: t.to_owned(), span: b, paragraphs: paragraphs.len()..paragraphs.len() });
            continue;
        }
        if chapters.is_empty() {
            chapters.push(Chapter { title: String::new(), span: b, paragraphs: 0..0 });
        }
        let chapter = chapters.len() - 1;
        paragraphs.push(Paragraph { span: b, chapter });
        if let Some(c) = chapters.last_mut() {
            c.span.end = b.end;
            c.paragraphs.end = paragraphs.len();
        }
    }
    Book { title, text, body, chapters, paragraphs, format, line_paragraphs }
}

const HEADING_WORDS: [&str; 6] = ["chapter", "book", "part", "volume", "stave", "letter"];

/// "CHAPTER I.", "Chapter 12", "CHAPTER XIV. The Letter", "IV.", "BOOK THE FIRST".
pub(crate) fn is_heading(t: &str) -> bool {
    let t = t.trim();
    if t.is_empty() || t.len() > 80 || t.contains('\n') && t.lines().count() > 2 {
        return false;
    }
    let mut words = t.split_whitespace();
    let first = words.next().unwrap_or("");
    let first_clean = first.trim_matches(|c: char| !c.is_alphanumeric());
    if HEADING_WORDS.iter().any(|w| first_clean.eq_ignore_ascii_case(w)) {
        let second = words.next().unwrap_or("").trim_matches(|c: char| !c.is_alphanumeric());
        return is_roman(second) || second.chars().all(|c| c.is_ascii_digit()) && !second.is_empty() || is_number_word(second) || second.eq_ignore_ascii_case("the");
    }
    // A lone roman numeral line: "IV." or "XII"
    words.next().is_none() && is_roman(first_clean) && first_clean.len() <= 8 && first_clean.chars().all(|c| c.is_ascii_uppercase())
        && first_clean != "I"
        || t == "I." || t == "I"
}

fn is_roman(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| matches!(c.to_ascii_uppercase(), 'I' | 'V' | 'X' | 'L' | 'C' | 'D' | 'M'))
}

fn is_number_word(s: &str) -> bool {
    const W: [&str; 20] = [
        "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "first",
        "second", "third", "fourth", "fifth", "sixth", "last", "thirteen",
    ];
    W.iter().any(|w| s.eq_ignore_ascii_case(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(t: &str) -> Book {
        segment_text(t.to_owned(), Span::new(0, t.len()), SourceFormat::Text, None)
    }

    #[test]
    fn chapters_and_paragraphs_keep_spans() {
        let t = "CHAPTER I.\n\n\nIt is a truth\nuniversally known.\n\n\"Hi,\" said he.\n\nChapter 2.\n\nNext one.\n";
        let b = seg(t);
        assert_eq!(b.chapters.len(), 2);
        assert_eq!(b.chapters[0].title, "CHAPTER I.");
        assert_eq!(b.chapters[1].title, "Chapter 2.");
        assert_eq!(b.paragraphs.len(), 3);
        assert_eq!(b.slice(b.paragraphs[0].span), "It is a truth\nuniversally known.");
        assert_eq!(b.paragraphs[2].chapter, 1);
        assert!(!b.line_paragraphs);
    }

    #[test]
    fn headings() {
        assert!(is_heading("CHAPTER XIV. The Letter"));
        assert!(is_heading("Chapter 12"));
        assert!(is_heading("IV."));
        assert!(!is_heading("I went home."));
        assert!(!is_heading("Chapters of my life were long and dull."));
    }

    #[test]
    fn char_map_counts_scalars() {
        let m = CharMap::new("a“b”c");
        assert_eq!(m.char_at(0), 0);
        assert_eq!(m.char_at(1), 1);
        assert_eq!(m.char_at(4), 2);
        assert_eq!(m.char_at(9), 5);
    }
}
