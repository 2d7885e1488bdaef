//! HTML import: block-level elements become paragraphs, top-level headings start chapters.

use crate::book::{Book, Chapter, Paragraph, SourceFormat, Span};
use crate::error::{CorpusError, Result};

/// A block of text pulled from markup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Block {
    /// A heading with its level (1 = h1).
    Heading(u8, String),
    /// A paragraph of running text.
    Para(String),
}

const BLOCK_TAGS: [&str; 22] = [
    "p", "div", "li", "ul", "ol", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article",
    "table", "tr", "td", "dd", "dt", "body", "header",
];
const SKIP_TAGS: [&str; 7] = ["script", "style", "head", "nav", "template", "noscript", "title"];

pub(crate) fn is_block(tag: &str) -> bool {
    BLOCK_TAGS.contains(&tag) || tag == "footer" || tag == "aside" || tag == "figure" || tag == "hr" || tag == "br"
}

pub(crate) fn is_skipped(tag: &str) -> bool {
    SKIP_TAGS.contains(&tag)
}

pub(crate) fn heading_level(tag: &str) -> Option<u8> {
    match tag {
        "h1" => Some(1),
        "h2" => Some(2),
        "h3" => Some(3),
        "h4" => Some(4),
        "h5" => Some(5),
        "h6" => Some(6),
        _ => None,
    }
}

/// Collapses runs of whitespace to one space.
pub(crate) fn normalize_ws(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for w in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

/// Accumulates inline text and flushes it as blocks at block boundaries.
#[derive(Default)]
pub(crate) struct BlockSink {
    pub blocks: Vec<Block>,
    buf: String,
}

impl BlockSink {
    pub fn text(&mut self, t: &str) {
        self.buf.push_str(t);
    }
    pub fn flush(&mut self, heading: Option<u8>) {
        let t = normalize_ws(&self.buf);
        self.buf.clear();
        if t.is_empty() {
            return;
        }
        self.blocks.push(match heading {
            Some(l) => Block::Heading(l, t),
            None => Block::Para(t),
        });
    }
}

fn walk(node: ego_tree::NodeRef<'_, scraper::Node>, sink: &mut BlockSink, heading: Option<u8>) {
    for child in node.children() {
        match child.value() {
            scraper::Node::Text(t) => sink.text(t),
            scraper::Node::Element(e) => {
                let tag = e.name();
                if is_skipped(tag) {
                    continue;
                }
                let level = heading_level(tag).or(heading);
                if is_block(tag) {
                    sink.flush(heading);
                    walk(child, sink, level);
                    sink.flush(level);
                } else {
                    walk(child, sink, level);
                }
            }
            _ => {}
        }
    }
}

/// Extracts blocks from an HTML document (lenient: any input parses).
pub(crate) fn html_blocks(html: &str) -> (Option<String>, Vec<Block>) {
    let doc = scraper::Html::parse_document(html);
    let title = scraper::Selector::parse("title")
        .ok()
        .and_then(|s| doc.select(&s).next().map(|t| normalize_ws(&t.text().collect::<String>())))
        .filter(|t| !t.is_empty());
    let mut sink = BlockSink::default();
    walk(doc.tree.root(), &mut sink, None);
    sink.flush(None);
    (title, sink.blocks)
}

/// Imports an HTML document: chapters start at headings of the highest level used.
pub fn import_html(html: &str) -> Result<Book> {
    crate::encoding::check_size(html.len())?;
    let (title, blocks) = html_blocks(html);
    let top = blocks.iter().filter_map(|b| if let Block::Heading(l, _) = b { Some(*l) } else { None }).min();
    let mut sections: Vec<(Option<String>, Vec<Block>)> = vec![(None, Vec::new())];
    for b in blocks {
        match b {
            Block::Heading(l, t) if Some(l) == top => sections.push((Some(t), Vec::new())),
            other => {
                if let Some(last) = sections.last_mut() {
                    last.1.push(other);
                }
            }
        }
    }
    assemble(title, sections, SourceFormat::Html)
}

/// Builds a book from titled sections of blocks; the text is the paragraphs joined by blank lines.
pub(crate) fn assemble(title: Option<String>, sections: Vec<(Option<String>, Vec<Block>)>, format: SourceFormat) -> Result<Book> {
    let mut text = String::new();
    let mut chapters = Vec::new();
    let mut paragraphs = Vec::new();
    for (heading, blocks) in sections {
        if !blocks.iter().any(|b| matches!(b, Block::Para(_))) {
            continue;
        }
        let chapter_start = text.len();
        if let Some(h) = &heading {
            push_block(&mut text, h);
        }
        let first = paragraphs.len();
        for b in blocks {
            let t = match b {
                Block::Para(t) | Block::Heading(_, t) => t,
            };
            let span = push_block(&mut text, &t);
            paragraphs.push(Paragraph { span, chapter: chapters.len() });
        }
        chapters.push(Chapter {
            title: heading.unwrap_or_default(),
            span: Span::new(chapter_start, text.len()),
            paragraphs: first..paragraphs.len(),
        });
    }
    if paragraphs.is_empty() {
        return Err(CorpusError::NoText);
    }
    let body = Span::new(0, text.len());
    Ok(Book { title, text, body, chapters, paragraphs, format, line_paragraphs: false })
}

fn push_block(text: &mut String, t: &str) -> Span {
    if !text.is_empty() {
        text.push_str("\n\n");
    }
    let start = text.len();
    text.push_str(t);
    Span::new(start, text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_to_chapters() {
        let html = "<html><head><title>T</title><style>p{}</style></head><body><h1>Chapter 1</h1><p>“Hi,” said <i>Ann</i>.</p><p>Bye.</p><h1>Chapter 2</h1><div><p>Two</p></div></body></html>";
        let b = import_html(html).expect("imports");
        assert_eq!(b.title.as_deref(), Some("T"));
        assert_eq!(b.chapters.len(), 2);
        assert_eq!(b.chapters[0].title, "Chapter 1");
        assert_eq!(b.slice(b.paragraphs[0].span), "“Hi,” said Ann.");
        assert_eq!(b.slice(b.paragraphs[2].span), "Two");
    }

    #[test]
    fn empty_html_is_an_error() {
        assert!(matches!(import_html("<html><body><script>x</script></body></html>"), Err(CorpusError::NoText)));
    }
}
