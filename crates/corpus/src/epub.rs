//! EPUB 2 and 3 import: container.xml → package document → spine order → XHTML paragraphs, with
//! chapter titles from the EPUB 3 nav document or the EPUB 2 NCX. Every read is bounded.

use std::collections::HashMap;
use std::io::{Read, Seek};

use crate::book::{Book, SourceFormat};
use crate::error::{CorpusError, Result};
use crate::html::{Block, BlockSink, assemble, heading_level, is_block, is_skipped};

/// Most bytes decompressed from one EPUB, all entries together (a zip bomb stops here).
pub const MAX_DECOMPRESSED_BYTES: u64 = 256 * 1024 * 1024;
/// Most entries an EPUB may hold.
pub const MAX_ENTRIES: usize = 20_000;

struct Archive<R: Read + Seek> {
    zip: zip::ZipArchive<R>,
    budget: u64,
    limit: u64,
}

impl<R: Read + Seek> Archive<R> {
    fn read(&mut self, name: &str) -> Result<Vec<u8>> {
        let mut file = match self.zip.by_name(name) {
            Ok(f) => f,
            Err(zip::result::ZipError::FileNotFound) => return Err(CorpusError::MissingEntry(name.to_owned())),
            Err(e) => return Err(e.into()),
        };
        // The declared size can lie; the `take` below is what actually bounds the read.
        if file.size() > self.budget {
            return Err(CorpusError::DecompressionLimit { limit: self.limit });
        }
        let mut out = Vec::new();
        let mut limited = (&mut file).take(self.budget + 1);
        limited.read_to_end(&mut out).map_err(|source| CorpusError::Io { entry: name.to_owned(), source })?;
        if out.len() as u64 > self.budget {
            return Err(CorpusError::DecompressionLimit { limit: self.limit });
        }
        self.budget -= out.len() as u64;
        Ok(out)
    }

    fn read_text(&mut self, name: &str) -> Result<String> {
        let bytes = self.read(name)?;
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
        let text = String::from_utf8(bytes.to_vec()).map_err(|_| CorpusError::BrokenContent(name.to_owned()))?;
        crate::entities::prepare(text, name)
    }
}

/// Imports an EPUB from its bytes.
pub fn import_epub(bytes: &[u8]) -> Result<Book> {
    import_epub_limited(bytes, MAX_DECOMPRESSED_BYTES)
}

/// Imports an EPUB, decompressing at most `max_decompressed` bytes in all.
pub fn import_epub_limited(bytes: &[u8], max_decompressed: u64) -> Result<Book> {
    crate::encoding::check_size(bytes.len())?;
    let zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))?;
    if zip.len() > MAX_ENTRIES {
        return Err(CorpusError::BadPackage { entry: "archive".into(), reason: "too many entries" });
    }
    for name in zip.file_names() {
        if !is_safe_path(name) {
            return Err(CorpusError::UnsafePath(name.to_owned()));
        }
    }
    let mut ar = Archive { zip, budget: max_decompressed, limit: max_decompressed };
    let container = ar.read_text("META-INF/container.xml")?;
    let opf_path = parse_container(&container)?;
    let opf = ar.read_text(&opf_path)?;
    let pkg = parse_opf(&opf, &opf_path)?;
    let toc = match &pkg.toc {
        // A missing or unreadable table of contents only costs the titles.
        Some(toc) => match ar.read_text(toc) {
            Ok(text) => parse_toc(&text, toc),
            Err(CorpusError::MissingEntry(_) | CorpusError::BrokenContent(_) | CorpusError::EntityDeclarations(_)) => Vec::new(),
            Err(e) => return Err(e),
        },
        None => Vec::new(),
    };
    let mut sections = Vec::new();
    for href in &pkg.spine {
        let xhtml = ar.read_text(href)?;
        let entries: Vec<&TocEntry> = toc.iter().filter(|e| e.path == *href).collect();
        let anchors: Vec<&str> = entries.iter().filter_map(|e| e.fragment.as_deref()).collect();
        let (blocks, marks) = xhtml_blocks(&xhtml, &anchors).ok_or_else(|| CorpusError::BrokenContent(href.clone()))?;
        // The file's own entry titles what comes before its first anchor (all of it when the
        // table of contents points at whole files); each anchor found starts a chapter of its own,
        // and one that is not found points at the file.
        let found = |e: &&&TocEntry| e.fragment.as_ref().is_some_and(|f| marks.iter().any(|(_, id)| id == f));
        let whole = entries.iter().find(|e| !found(e)).map(|e| e.title.clone());
        let mut starts: Vec<(usize, Option<String>)> = vec![(0, whole)];
        for (at, id) in marks {
            let title = entries.iter().find(|e| e.fragment.as_deref() == Some(id.as_str())).map(|e| e.title.clone());
            starts.push((at, title));
        }
        let mut rest = blocks;
        let mut parts = Vec::with_capacity(starts.len());
        for (at, title) in starts.into_iter().rev() {
            parts.push(section(title, rest.split_off(at.min(rest.len()))));
        }
        sections.extend(parts.into_iter().rev());
    }
    assemble(pkg.title, sections, SourceFormat::Epub)
}

/// Rejects absolute paths, `..` components and backslash tricks.
fn is_safe_path(name: &str) -> bool {
    !name.starts_with('/')
        && !name.contains('\\')
        && !name.contains('\0')
        && !name.split('/').any(|c| c == "..")
        && (name.len() <= 1 || name.as_bytes()[1] != b':')
}

fn xml<'a>(text: &'a str, entry: &str) -> Result<roxmltree::Document<'a>> {
    let opts = roxmltree::ParsingOptions { allow_dtd: true, ..Default::default() };
    roxmltree::Document::parse_with_options(text, opts)
        .map_err(|_| CorpusError::BadPackage { entry: entry.to_owned(), reason: "not well-formed XML" })
}

fn parse_container(text: &str) -> Result<String> {
    let doc = xml(text, "META-INF/container.xml")?;
    doc.descendants()
        .find(|n| n.tag_name().name() == "rootfile")
        .and_then(|n| n.attribute("full-path"))
        .map(percent_decode)
        .filter(|p| is_safe_path(p))
        .ok_or(CorpusError::BadPackage { entry: "META-INF/container.xml".into(), reason: "no rootfile" })
}

struct Package {
    title: Option<String>,
    spine: Vec<String>,
    toc: Option<String>,
}

fn parse_opf(text: &str, opf_path: &str) -> Result<Package> {
    let doc = xml(text, opf_path)?;
    let base = opf_path.rsplit_once('/').map_or("", |(d, _)| d);
    let mut items: HashMap<&str, (String, &str, &str)> = HashMap::new();
    let mut nav = None;
    for n in doc.descendants().filter(|n| n.tag_name().name() == "item") {
        let (Some(id), Some(href)) = (n.attribute("id"), n.attribute("href")) else { continue };
        let path = join(base, href);
        let media = n.attribute("media-type").unwrap_or("");
        let props = n.attribute("properties").unwrap_or("");
        if props.split_whitespace().any(|p| p == "nav") {
            nav = Some(path.clone());
        }
        items.insert(id, (path, media, props));
    }
    let spine_node = doc.descendants().find(|n| n.tag_name().name() == "spine").ok_or(CorpusError::NoSpine)?;
    let ncx = spine_node.attribute("toc").and_then(|id| items.get(id)).map(|i| i.0.clone());
    let mut spine = Vec::new();
    for r in spine_node.children().filter(|n| n.tag_name().name() == "itemref") {
        if r.attribute("linear") == Some("no") {
            continue;
        }
        if let Some((path, media, _)) = r.attribute("idref").and_then(|id| items.get(id)) {
            let path: &String = path;
            if media.contains("html") || media.is_empty() {
                if !is_safe_path(path) {
                    return Err(CorpusError::UnsafePath(path.clone()));
                }
                spine.push(path.clone());
            }
        }
    }
    if spine.is_empty() {
        return Err(CorpusError::NoSpine);
    }
    let title = doc
        .descendants()
        .find(|n| n.tag_name().name() == "title")
        .and_then(|n| n.text())
        .map(crate::html::normalize_ws)
        .filter(|t| !t.is_empty());
    Ok(Package { title, spine, toc: nav.or(ncx) })
}

/// A chapter of the book from the blocks between two table-of-contents anchors: the entry's
/// title, or else its first heading. Headings are titles, not paragraphs, and so is a first
/// paragraph that only repeats the title (Calibre keeps "CHAPTER I." as a `<p>`).
fn section(title: Option<String>, blocks: Vec<Block>) -> (Option<String>, Vec<Block>) {
    let first_heading = blocks.iter().find_map(|b| match b {
        Block::Heading(_, t) => Some(t.clone()),
        Block::Para(_) => None,
    });
    let title = title.or(first_heading);
    let mut blocks: Vec<Block> = blocks.into_iter().filter(|b| !matches!(b, Block::Heading(..))).collect();
    if let (Some(t), Some(Block::Para(p))) = (&title, blocks.first())
        && p == t
    {
        blocks.remove(0);
    }
    (title, blocks)
}

/// One entry of the table of contents.
#[derive(Debug, PartialEq, Eq)]
struct TocEntry {
    /// The content document, relative to the archive root.
    path: String,
    /// The element id after `#`, when the entry points inside the document.
    fragment: Option<String>,
    title: String,
}

/// The entries of an EPUB 3 nav (its `toc` nav; landmarks and page lists are not chapters) or an
/// EPUB 2 NCX, in reading order.
fn parse_toc(text: &str, toc_path: &str) -> Vec<TocEntry> {
    let mut out = Vec::new();
    let Ok(doc) = xml(text, toc_path) else { return out };
    let base = toc_path.rsplit_once('/').map_or("", |(d, _)| d);
    let mut add = |href: &str, title: String| {
        let (file, fragment) = match href.split_once('#') {
            Some((f, id)) => (f, Some(percent_decode(id)).filter(|id| !id.is_empty())),
            None => (href, None),
        };
        if !title.is_empty() && !file.contains(':') {
            out.push(TocEntry { path: join(base, file), fragment, title });
        }
    };
    let navs: Vec<_> = doc.descendants().filter(|n| n.tag_name().name() == "nav").collect();
    let is_toc = |n: &roxmltree::Node<'_, '_>| n.attributes().any(|a| a.name() == "type" && a.value().split_whitespace().any(|t| t == "toc"));
    let root = navs.iter().find(|n| is_toc(n)).or(navs.first()).copied().unwrap_or_else(|| doc.root());
    for n in root.descendants() {
        match n.tag_name().name() {
            // EPUB 3 nav: <a href="ch1.xhtml#c1">Title</a>
            "a" => {
                if let Some(href) = n.attribute("href") {
                    let t: String = n.descendants().filter(|d| d.is_text()).filter_map(|d| d.text()).collect();
                    add(href, crate::html::normalize_ws(&t));
                }
            }
            // EPUB 2 NCX: <navPoint><navLabel><text>Title</text></navLabel><content src=".."/>
            "navPoint" => {
                let label = n
                    .descendants()
                    .find(|d| d.tag_name().name() == "text")
                    .and_then(|d| d.text())
                    .map(crate::html::normalize_ws)
                    .unwrap_or_default();
                if let Some(src) = n.children().find(|d| d.tag_name().name() == "content").and_then(|d| d.attribute("src")) {
                    add(src, label);
                }
            }
            _ => {}
        }
    }
    out
}

/// Where an anchor (an element id) starts: the index of the first block at or after it.
type Mark = (usize, String);

/// Paragraph blocks of an XHTML document, and the marks of those of `anchors` it holds, in
/// document order. `None` when it is not well-formed XML.
fn xhtml_blocks(text: &str, anchors: &[&str]) -> Option<(Vec<Block>, Vec<Mark>)> {
    let opts = roxmltree::ParsingOptions { allow_dtd: true, ..Default::default() };
    let doc = roxmltree::Document::parse_with_options(text, opts).ok()?;
    let body = doc.descendants().find(|n| n.tag_name().name() == "body")?;
    let mut walker = Walker { sink: BlockSink::default(), anchors: anchors.to_vec(), marks: Vec::new() };
    walker.walk(body, None);
    walker.sink.flush(None);
    Some((walker.sink.blocks, walker.marks))
}

struct Walker<'a> {
    sink: BlockSink,
    /// Anchors not reached yet (an id seen twice starts one chapter).
    anchors: Vec<&'a str>,
    marks: Vec<Mark>,
}

impl Walker<'_> {
    fn walk(&mut self, node: roxmltree::Node<'_, '_>, heading: Option<u8>) {
        for child in node.children() {
            if child.is_text() {
                self.sink.text(child.text().unwrap_or(""));
            } else if child.is_element() {
                let tag = child.tag_name().name();
                if is_skipped(tag) {
                    continue;
                }
                if let Some(i) = child.attribute("id").and_then(|id| self.anchors.iter().position(|a| *a == id)) {
                    self.sink.flush(heading);
                    self.marks.push((self.sink.blocks.len(), self.anchors.swap_remove(i).to_owned()));
                }
                let level = heading_level(tag).or(heading);
                if is_block(tag) {
                    self.sink.flush(heading);
                    self.walk(child, level);
                    self.sink.flush(level);
                } else {
                    self.walk(child, level);
                }
            }
        }
    }
}

fn join(base: &str, href: &str) -> String {
    let href = percent_decode(href);
    let mut parts: Vec<&str> = if base.is_empty() { Vec::new() } else { base.split('/').collect() };
    for c in href.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    parts.join("/")
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len()
            && let Some(v) = std::str::from_utf8(&b[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_owned())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    /// Builds an EPUB in memory from (name, content) pairs.
    pub(crate) fn make_epub(entries: &[(&str, &str)]) -> Vec<u8> {
        let mut buf = std::io::Cursor::new(Vec::new());
        {
            let mut w = zip::ZipWriter::new(&mut buf);
            let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
            for (name, content) in entries {
                w.start_file(*name, opts).expect("start");
                w.write_all(content.as_bytes()).expect("write");
            }
            w.finish().expect("finish");
        }
        buf.into_inner()
    }

    pub(crate) const CONTAINER: &str = r#"<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>"#;
    pub(crate) const OPF: &str = r#"<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Tiny</dc:title></metadata><manifest><item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/><item id="c2" href="text/ch2.xhtml" media-type="application/xhtml+xml"/><item id="c1" href="text/ch1.xhtml" media-type="application/xhtml+xml"/></manifest><spine><itemref idref="c1"/><itemref idref="c2"/></spine></package>"#;
    pub(crate) const NAV: &str = r#"<html xmlns="http://www.w3.org/1999/xhtml"><body><nav><ol><li><a href="text/ch1.xhtml">One</a></li><li><a href="text/ch2.xhtml#x">Two</a></li></ol></nav></body></html>"#;
    pub(crate) const CH1: &str = r#"<html xmlns="http://www.w3.org/1999/xhtml"><body><h1>I</h1><p>“Hello,” said Ann.</p></body></html>"#;
    pub(crate) const CH2: &str = r#"<html xmlns="http://www.w3.org/1999/xhtml"><body><p>Second <em>chapter</em>.</p></body></html>"#;

    #[test]
    fn spine_order_and_nav_titles() {
        let e = make_epub(&[
            ("mimetype", "application/epub+zip"),
            ("META-INF/container.xml", CONTAINER),
            ("OEBPS/content.opf", OPF),
            ("OEBPS/nav.xhtml", NAV),
            ("OEBPS/text/ch1.xhtml", CH1),
            ("OEBPS/text/ch2.xhtml", CH2),
        ]);
        let b = import_epub(&e).expect("imports");
        assert_eq!(b.title.as_deref(), Some("Tiny"));
        assert_eq!(b.chapters.iter().map(|c| c.title.as_str()).collect::<Vec<_>>(), ["One", "Two"]);
        assert_eq!(b.slice(b.paragraphs[0].span), "“Hello,” said Ann.");
        assert_eq!(b.slice(b.paragraphs[1].span), "Second chapter.");
    }

    #[test]
    fn a_nav_fragment_starts_a_chapter_inside_a_file() {
        // Landmarks and the page list come first; only the toc nav makes chapters.
        let nav = r##"<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops"><body>
            <nav epub:type="landmarks"><ol><li><a epub:type="bodymatter" href="text/ch1.xhtml">Begin</a></li></ol></nav>
            <nav epub:type="page-list"><ol><li><a href="text/ch1.xhtml#p7">7</a></li></ol></nav>
            <nav epub:type="toc"><ol><li><a href="text/ch1.xhtml">One</a></li><li><a href="text/ch1.xhtml#two">Two</a>
              <ol><li><a href="text/ch1.xhtml#three">Three</a></li></ol></li><li><a href="text/ch2.xhtml#nowhere">Four</a></li></ol></nav></body></html>"##;
        let ch1 = r#"<html xmlns="http://www.w3.org/1999/xhtml"><body><p>One</p><p>First <span id="p7"/>page.</p>
            <section id="two"><h2>II</h2><p>Second.</p><p id="three">Two</p><p>Third.</p></section></body></html>"#;
        let e = make_epub(&[
            ("META-INF/container.xml", CONTAINER),
            ("OEBPS/content.opf", OPF),
            ("OEBPS/nav.xhtml", nav),
            ("OEBPS/text/ch1.xhtml", ch1),
            ("OEBPS/text/ch2.xhtml", CH2),
        ]);
        let b = import_epub(&e).expect("imports");
        let outline: Vec<(&str, Vec<&str>)> =
            b.chapters.iter().map(|c| (c.title.as_str(), b.paragraphs[c.paragraphs.clone()].iter().map(|p| b.slice(p.span)).collect())).collect();
        assert_eq!(
            outline,
            [
                // A first paragraph that only repeats the title is the title; "Two" in "Three" is text.
                ("One", vec!["First page."]),
                ("Two", vec!["Second."]),
                ("Three", vec!["Two", "Third."]),
                // An anchor that is not in the file points at the file.
                ("Four", vec!["Second chapter."]),
            ]
        );
    }

    #[test]
    fn xhtml_11_named_entities_import_and_entity_bombs_do_not() {
        let doctype = r#"<?xml version="1.0" encoding="utf-8"?><!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.1//EN" "http://www.w3.org/TR/xhtml11/DTD/xhtml11.dtd">"#;
        let ch1 = format!(r#"{doctype}<html xmlns="http://www.w3.org/1999/xhtml"><body><p>&ldquo;Wait&nbsp;&mdash; it&rsquo;s Ann,&rdquo; said Bob&hellip; &amp; left.</p></body></html>"#);
        let e = make_epub(&[("META-INF/container.xml", CONTAINER), ("OEBPS/content.opf", OPF), ("OEBPS/text/ch1.xhtml", &ch1), ("OEBPS/text/ch2.xhtml", CH2)]);
        let b = import_epub(&e).expect("imports");
        assert_eq!(b.slice(b.paragraphs[0].span), "“Wait — it’s Ann,” said Bob… & left.");
        // Billion laughs: 1 KB that an expanding parser would grow past memory.
        let mut decls = String::from(r#"<!ENTITY l0 "lol">"#);
        for i in 1..10 {
            decls.push_str(&format!(r#"<!ENTITY l{i} "{}">"#, format!("&l{};", i - 1).repeat(10)));
        }
        let bomb = format!(r#"<?xml version="1.0"?><!DOCTYPE html [{decls}]><html xmlns="http://www.w3.org/1999/xhtml"><body><p>&l9;</p></body></html>"#);
        let e = make_epub(&[("META-INF/container.xml", CONTAINER), ("OEBPS/content.opf", OPF), ("OEBPS/text/ch1.xhtml", &bomb), ("OEBPS/text/ch2.xhtml", CH2)]);
        assert!(matches!(import_epub(&e), Err(CorpusError::EntityDeclarations(f)) if f == "OEBPS/text/ch1.xhtml"));
    }

    #[test]
    fn bad_epubs_give_clear_errors() {
        let evil = make_epub(&[("../../x", "boom"), ("META-INF/container.xml", CONTAINER)]);
        assert!(matches!(import_epub(&evil), Err(CorpusError::UnsafePath(_))));
        let no_spine = OPF.replace("<itemref idref=\"c1\"/><itemref idref=\"c2\"/>", "");
        let e = make_epub(&[("META-INF/container.xml", CONTAINER), ("OEBPS/content.opf", &no_spine)]);
        assert!(matches!(import_epub(&e), Err(CorpusError::NoSpine)));
        let e = make_epub(&[
            ("META-INF/container.xml", CONTAINER),
            ("OEBPS/content.opf", OPF),
            ("OEBPS/text/ch1.xhtml", "<html><body><p>unclosed</body>"),
            ("OEBPS/text/ch2.xhtml", CH2),
        ]);
        assert!(matches!(import_epub(&e), Err(CorpusError::BrokenContent(_))));
        assert!(matches!(import_epub(b"not a zip"), Err(CorpusError::Zip(_))));
    }

    #[test]
    fn zip_bomb_is_bounded() {
        let zeros = "0".repeat(1_000_000);
        let e = make_epub(&[
            ("META-INF/container.xml", CONTAINER),
            ("OEBPS/content.opf", OPF),
            ("OEBPS/text/ch1.xhtml", &zeros),
        ]);
        assert!(e.len() < 100_000, "compressed well");
        assert!(matches!(import_epub_limited(&e, 200_000), Err(CorpusError::DecompressionLimit { limit: 200_000 })));
    }

    #[test]
    fn unsafe_paths() {
        assert!(!is_safe_path("../../x"));
        assert!(!is_safe_path("/etc/passwd"));
        assert!(!is_safe_path("a/../../b"));
        assert!(is_safe_path("OEBPS/text/ch1.xhtml"));
        assert_eq!(join("OEBPS/text", "../img/a%20b.png"), "OEBPS/img/a b.png");
    }
}
