//! Integration tests over committed fixtures: real text from the sample novels, EPUB and HTML made
//! by pandoc, text re-encoded by iconv. Modules mirror `src/`.

use grimoire_corpus::*;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn pride() -> Analysis {
    analyze_bytes(&fixture("pride_ch1-3_gutenberg.txt")).expect("imports")
}

/// The record whose text contains `needle`.
fn quote<'a>(records: &'a [QuoteRecord], needle: &str) -> &'a QuoteRecord {
    records.iter().find(|r| r.text.contains(needle)).unwrap_or_else(|| panic!("no quote with {needle:?}"))
}

mod import {
    use super::*;

    #[test]
    fn gutenberg_boilerplate_is_outside_the_body() {
        let a = pride();
        let body = a.book.slice(a.book.body);
        assert!(body.trim_start().starts_with("CHAPTER I."), "{:?}", &body[..40]);
        assert!(!body.contains("PROJECT GUTENBERG"));
        assert!(a.book.text.starts_with("The Project Gutenberg eBook"), "text stays as read");
        // The quoted "like this" in the license is not a quotation.
        assert!(a.quote_records().iter().all(|r| !r.text.contains("like this")));
    }

    #[test]
    fn chapters_and_paragraph_spans() {
        let a = pride();
        let titles: Vec<&str> = a.book.chapters.iter().map(|c| c.title.as_str()).collect();
        assert_eq!(titles, ["CHAPTER I.", "CHAPTER II.", "CHAPTER III."]);
        let p0 = a.book.slice(a.book.paragraphs[0].span);
        assert!(p0.starts_with("It is a truth universally acknowledged"), "{p0}");
        for p in &a.book.paragraphs {
            assert!(a.book.chapters[p.chapter].span.start <= p.span.start && p.span.end <= a.book.chapters[p.chapter].span.end);
        }
    }

    #[test]
    fn encodings_give_the_same_text_and_char_offsets() {
        let utf8 = analyze_bytes(&fixture("cafe_utf8.txt")).expect("utf8");
        for name in ["cafe_cp1252.txt", "cafe_utf16.txt"] {
            let other = analyze_bytes(&fixture(name)).expect(name);
            assert_eq!(other.book.text, utf8.book.text, "{name}");
            assert_eq!(other.quote_records(), utf8.quote_records(), "{name}");
        }
        let r = utf8.quote_records();
        // Offsets are chars, not bytes: “ and é are multi-byte in UTF-8.
        let chars: Vec<char> = utf8.book.text.chars().collect();
        let second: String = chars[r[1].start..r[1].end].iter().collect();
        assert_eq!(second, "“It is naïve.”");
        assert_eq!(r[1].speaker.as_deref(), Some("Zoë"));
    }

    #[test]
    fn pandoc_epub3_epub2_and_html_import_like_the_text() {
        for (name, book) in [
            ("epub3", import_bytes(&fixture("pride_ch1-3_pandoc.epub")).expect("epub3")),
            ("epub2", import_bytes(&fixture("pride_ch1-3_pandoc_epub2.epub")).expect("epub2")),
            ("html", import_bytes(&fixture("pride_ch1-3_pandoc.html")).expect("html")),
        ] {
            let titles: Vec<&str> = book.chapters.iter().map(|c| c.title.as_str()).filter(|t| t.starts_with("CHAPTER")).collect();
            assert_eq!(titles, ["CHAPTER I.", "CHAPTER II.", "CHAPTER III."], "{name}");
            let a = analyze_book(book);
            let r = a.quote_records();
            // pandoc turned the straight quotes curly; the speech is still found and attributed.
            let q = quote(&r, "But you forget, mama");
            assert_eq!(q.speaker.as_deref(), Some("Elizabeth Bennet"), "{name}");
            assert!((75..=90).contains(&r.len()), "{name}: {} quotes", r.len());
        }
    }

    /// Chapter titles and paragraph counts of a book.
    fn outline(book: &Book) -> Vec<(String, usize)> {
        book.chapters.iter().map(|c| (c.title.clone(), c.paragraphs.len())).collect()
    }

    #[test]
    fn pandoc_chapter_titles_are_exact() {
        let text = import_bytes(&fixture("pride_ch1-3_gutenberg.txt")).expect("text");
        for name in ["pride_ch1-3_pandoc.epub", "pride_ch1-3_pandoc_epub2.epub"] {
            let book = import_bytes(&fixture(name)).expect(name);
            let titles: Vec<&str> = book.chapters.iter().map(|c| c.title.as_str()).collect();
            assert_eq!(titles, ["CHAPTER I.", "CHAPTER II.", "CHAPTER III."], "{name}");
            assert_eq!(outline(&book), outline(&text), "{name}: the same paragraphs per chapter as the text");
        }
    }

    /// Made by Calibre 6.13 (`ebook-convert`, Debian's package) from the first three chapters of the
    /// sample's text (`sed -n 1,401p assets/sample/PrideAndPrejudice.txt`), with `--title "Pride and
    /// Prejudice" --authors "Jane Austen" --no-default-epub-cover` and chapters found by
    /// `--level1-toc "//h:p[re:test(., '^CHAPTER [IVXLC]+\.$')]"`:
    /// - `pride_ch1-3_calibre.epub`: `--epub-version 3 --dont-split-on-page-breaks`: one XHTML file;
    ///   the nav points at `index.html`, `index.html#calibre_toc_2` and `#calibre_toc_3`.
    /// - `pride_ch1-3_calibre_epub2.epub`: EPUB 2 with `--chapter` (same XPath): one file per
    ///   chapter, an NCX, a manifest listing them in reverse.
    ///
    /// Calibre keeps each "CHAPTER I." as a `<p>`: it is the chapter's title, not a paragraph.
    #[test]
    fn calibre_epubs_import_like_the_text() {
        let text = import_bytes(&fixture("pride_ch1-3_gutenberg.txt")).expect("text");
        for name in ["pride_ch1-3_calibre.epub", "pride_ch1-3_calibre_epub2.epub"] {
            let book = import_bytes(&fixture(name)).expect(name);
            assert_eq!(book.format, SourceFormat::Epub);
            assert_eq!(book.title.as_deref(), Some("Pride and Prejudice"), "{name}");
            let titles: Vec<&str> = book.chapters.iter().map(|c| c.title.as_str()).collect();
            assert_eq!(titles, ["CHAPTER I.", "CHAPTER II.", "CHAPTER III."], "{name}");
            assert_eq!(outline(&book), outline(&text), "{name}: the same paragraphs per chapter as the text");
            let first = |ch: usize| book.slice(book.paragraphs[book.chapters[ch].paragraphs.start].span);
            assert!(first(0).starts_with("It is a truth universally acknowledged"), "{name}: {}", first(0));
            assert!(first(1).starts_with("Mr. Bennet was among the earliest"), "{name}: {}", first(1));
            assert!(first(2).starts_with("Not all that Mrs. Bennet"), "{name}: {}", first(2));
            let r = analyze_book(book).quote_records();
            assert_eq!(quote(&r, "But you forget, mama").speaker.as_deref(), Some("Elizabeth Bennet"), "{name}");
        }
    }

    #[test]
    fn bad_input_gives_clear_errors() {
        assert!(matches!(import_bytes(b""), Err(CorpusError::Empty)));
        assert!(matches!(import_bytes(b"\x00\x01\x02\x03binary\x00"), Err(CorpusError::Binary)));
        let huge = vec![b'a'; (MAX_INPUT_BYTES + 1) as usize];
        assert!(matches!(import_bytes(&huge), Err(CorpusError::TooLarge { .. })));
        // A truncated EPUB.
        let epub = fixture("pride_ch1-3_pandoc.epub");
        assert!(import_bytes(&epub[..epub.len() / 2]).is_err());
        // A zip bomb, as far as this limit is concerned.
        assert!(matches!(import_epub_limited(&epub, 10_000), Err(CorpusError::DecompressionLimit { limit: 10_000 })));
    }
}

mod quotes {
    use super::*;

    #[test]
    fn known_quotes_in_pride_and_prejudice() {
        let a = pride();
        let r = a.quote_records();
        let q = quote(&r, "My dear Mr. Bennet,");
        let chars: Vec<char> = a.book.text.chars().collect();
        assert_eq!(chars[q.start..q.end].iter().collect::<String>(), "\"My dear Mr. Bennet,\"");
        // Interrupted speech gives two segments.
        quote(&r, "have you heard that");
        assert!((78..=90).contains(&r.len()), "{} quotes", r.len());
    }

    #[test]
    fn british_single_quotes_with_apostrophes() {
        let a = analyze_bytes(&fixture("alice_ch1_british.txt")).expect("alice");
        assert_eq!(detect_style(&a.book), QuoteStyle::Single);
        let r = a.quote_records();
        // Apostrophes (wouldn’t, that’s) never open or close a quotation.
        let q = quote(&r, "Well!");
        assert!(q.text.starts_with('‘'), "{}", q.text);
        assert!(r.iter().all(|q| q.text.starts_with('‘')), "every quotation starts with an opening mark");
        let wouldnt = quote(&r, "wouldn’t say anything");
        assert!(wouldnt.text.ends_with('’'));
        assert!(r.len() >= 15, "{} quotes", r.len());
    }
}

mod characters {
    use super::*;

    #[test]
    fn lizzy_is_elizabeth_and_the_bennets_are_apart() {
        let a = pride();
        let c = a.character_records();
        let eliz = c.iter().find(|c| c.name == "Elizabeth Bennet").expect("Elizabeth");
        assert!(eliz.aliases.iter().any(|a| a == "Lizzy"), "{:?}", eliz.aliases);
        assert!(eliz.aliases.iter().any(|a| a == "Elizabeth"));
        assert_eq!(eliz.gender, Gender::Female);
        let mr = c.iter().find(|c| c.name == "Mr. Bennet").expect("Mr. Bennet");
        assert_eq!(mr.gender, Gender::Male);
        assert!(c.iter().any(|c| c.name == "Mrs. Bennet"));
        // "Miss Bennet" is the eldest sister by convention, not Elizabeth.
        assert!(!eliz.aliases.iter().any(|a| a == "Miss Bennet"));
        let darcy = c.iter().find(|c| c.name == "Mr. Darcy").expect("Darcy");
        assert_eq!(darcy.gender, Gender::Male);
        // Every speaker is a listed character.
        for q in a.quote_records() {
            if let Some(s) = q.speaker {
                assert!(c.iter().any(|c| c.name == s), "{s}");
            }
        }
    }
}

mod attribution {
    use super::*;

    #[test]
    fn tags_pronouns_and_relations() {
        let r = pride().quote_records();
        let q = quote(&r, "But you forget, mama");
        assert_eq!((q.speaker.as_deref(), q.kind), (Some("Elizabeth Bennet"), AttributionKind::Explicit));
        // "replied he" → Mr. Bennet
        let q = quote(&r, "They have none of them much to recommend them");
        assert_eq!((q.speaker.as_deref(), q.kind), (Some("Mr. Bennet"), AttributionKind::Anaphoric));
        // "returned she" → Mrs. Bennet
        let q = quote(&r, "But it is,");
        assert_eq!(q.speaker.as_deref(), Some("Mrs. Bennet"));
        // "said his lady" → the wife of Mr. Bennet
        let q = quote(&r, "My dear Mr. Bennet,");
        assert_eq!(q.speaker.as_deref(), Some("Mrs. Bennet"));
        // "said her father" → Mr. Bennet
        let q = quote(&r, "Kitty has no discretion");
        assert_eq!(q.speaker.as_deref(), Some("Mr. Bennet"));
        // the interrupting tag covers both segments
        let q = quote(&r, "since we are not to visit");
        assert_eq!(q.speaker.as_deref(), Some("Mrs. Bennet"));
        // introduced by the previous paragraph: "he suddenly addressed her with,"
        let q = quote(&r, "I hope Mr. Bingley will like it");
        assert_eq!(q.speaker.as_deref(), Some("Mr. Bennet"));
        // "said he" after a Bingley paragraph
        let q = quote(&r, "Come, Darcy,");
        assert_eq!(q.speaker.as_deref(), Some("Mr. Bingley"));
    }

    #[test]
    fn confidence_in_range_and_unattributed_stay_none() {
        let a = analyze_text("The night was still.\n\n“Who goes there?”\n\nNo answer came.");
        let r = a.quote_records();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].speaker, None);
        for q in pride().quote_records() {
            assert!((0.0..=1.0).contains(&q.confidence));
            assert_eq!(q.speaker.is_none(), q.confidence == 0.0);
        }
    }
}

mod corrections {
    use super::*;

    #[test]
    fn corrections_survive_reextraction() {
        let bytes = fixture("pride_ch1-3_gutenberg.txt");
        let plain = pride();
        let target = quote(&plain.quote_records(), "When is your next ball").clone();
        let corrections = Corrections {
            speakers: vec![SpeakerCorrection { start: target.start, end: target.end, speaker: Some("Kitty".into()) }],
            merges: vec![MergeCharacters { names: vec!["Miss Bennet".into()], into: "Jane".into() }],
            splits: vec![],
            renames: vec![RenameCharacter { from: "Elizabeth Bennet".into(), to: "Lizzy Bennet".into() }],
            ignores: vec![],
        };
        let book = import_bytes(&bytes).expect("imports");
        let a = analyze_book_with(book, &corrections);
        let r = a.quote_records();
        let q = quote(&r, "When is your next ball");
        assert_eq!((q.speaker.as_deref(), q.confidence), (Some("Kitty"), 1.0));
        let c = a.character_records();
        assert!(!c.iter().any(|c| c.name == "Miss Bennet"));
        let jane = c.iter().find(|c| c.name == "Jane").expect("Jane");
        assert!(jane.aliases.iter().any(|a| a == "Miss Bennet"));
        assert_eq!(quote(&r, "But you forget, mama").speaker.as_deref(), Some("Lizzy Bennet"));
    }

    #[test]
    fn an_ignored_character_speaks_no_more_and_its_quotes_stay() {
        let plain = pride();
        let before = plain.quote_records();
        let bingleys: Vec<&QuoteRecord> = before.iter().filter(|q| q.speaker.as_deref() == Some("Mr. Bingley")).collect();
        assert!(bingleys.len() >= 5, "{} quotes by Mr. Bingley", bingleys.len());
        // Named by an alias; the correction is data and is applied again on every fresh analysis.
        let corrections = Corrections { ignores: vec![IgnoreCharacter { name: "Bingley".into() }], ..Corrections::default() };
        let stored: Corrections = serde_json::from_str(&serde_json::to_string(&corrections).expect("serialises")).expect("reads back");
        for _ in 0..2 {
            let a = analyze_book_with(import_bytes(&fixture("pride_ch1-3_gutenberg.txt")).expect("imports"), &stored);
            assert!(a.characters.find("Mr. Bingley").is_none() && a.characters.find("Bingley").is_none());
            assert!(!a.character_records().iter().any(|c| c.name == "Mr. Bingley"));
            let after = a.quote_records();
            // Not one quotation is dropped: each of Bingley's goes to somebody else or to nobody.
            assert_eq!(after.iter().map(|q| (q.start, q.end)).collect::<Vec<_>>(), before.iter().map(|q| (q.start, q.end)).collect::<Vec<_>>());
            for q in &bingleys {
                let now = after.iter().find(|r| r.start == q.start).expect("still a quotation");
                assert_ne!(now.speaker.as_deref(), Some("Mr. Bingley"));
                assert_eq!(now.speaker.is_none(), now.confidence == 0.0);
            }
            // Everyone else keeps their lines.
            assert_eq!(quote(&after, "But you forget, mama").speaker.as_deref(), Some("Elizabeth Bennet"));
        }
        // Corrections stored before ignoring existed still read.
        let old: Corrections = serde_json::from_str(r#"{"speakers":[],"merges":[],"splits":[],"renames":[]}"#).expect("old corrections read");
        assert!(old.is_empty());
    }

    #[test]
    fn split_moves_an_alias_out() {
        let book = import_bytes(&fixture("pride_ch1-3_gutenberg.txt")).expect("imports");
        let corrections = Corrections { splits: vec![SplitCharacter { alias: "Lizzy".into(), new_name: "Lizzy".into() }], ..Corrections::default() };
        let a = analyze_book_with(book, &corrections);
        let c = a.character_records();
        let eliz = c.iter().find(|c| c.name == "Elizabeth Bennet").expect("Elizabeth");
        assert!(!eliz.aliases.iter().any(|a| a == "Lizzy"));
        assert!(a.characters.find("Lizzy") != a.characters.find("Elizabeth"));
    }
}

mod examples {
    use super::*;

    #[test]
    fn strategy_a_for_mrs_bennet() {
        let a = pride();
        let persona = a.characters.find("Mrs. Bennet").expect("Mrs. Bennet");
        let opts = ExampleOptions { narration: true, ..ExampleOptions::default() };
        let ex = build_examples(&a, persona, &opts);
        let lines: Vec<&Example> = ex.iter().filter(|e| !e.scene).collect();
        assert!(lines.len() >= 10, "{} line examples", lines.len());
        // The interrupting narration ("said her mother resentfully") is removed.
        let e = lines.iter().find(|e| e.messages[1].content.starts_with("We are not in a way")).expect("example");
        assert_eq!(e.messages[1].content, "We are not in a way to know _what_ Mr. Bingley likes, since we are not to visit.");
        assert!(e.messages[0].content.contains("I hope Mr. Bingley will like it"));
        // Every message points back into the book.
        for e in &ex {
            for m in &e.messages {
                assert!(!m.spans.is_empty());
                assert!(m.spans.iter().all(|s| s.end <= a.book.text.len()));
            }
            assert_eq!(e.messages[0].role, Role::User);
        }
        assert!(ex.iter().any(|e| e.scene && e.messages.len() >= 4));
        let strict = build_examples(&a, persona, &ExampleOptions { min_chars: 200, ..ExampleOptions::default() });
        assert!(strict.iter().filter(|e| !e.scene).count() < lines.len());
    }
}

mod robustness {
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::TestCaseError;
    use std::io::Write;

    /// Builds a zip archive from (name, content) pairs.
    fn zipped(entries: &[(&str, &str)]) -> Vec<u8> {
        let mut buf = std::io::Cursor::new(Vec::new());
        let mut w = zip::ZipWriter::new(&mut buf);
        for (name, content) in entries {
            w.start_file(*name, zip::write::SimpleFileOptions::default()).expect("start");
            w.write_all(content.as_bytes()).expect("write");
        }
        w.finish().expect("finish");
        buf.into_inner()
    }

    /// A book's spans are inside its text, chapters own consecutive paragraphs, all of them.
    fn well_formed(book: &Book) -> std::result::Result<(), TestCaseError> {
        let mut next = 0;
        for (i, c) in book.chapters.iter().enumerate() {
            prop_assert_eq!(c.paragraphs.start, next);
            next = c.paragraphs.end;
            for p in &book.paragraphs[c.paragraphs.clone()] {
                prop_assert_eq!(p.chapter, i);
                prop_assert!(c.span.start <= p.span.start && p.span.end <= c.span.end);
                prop_assert!(book.text.get(p.span.start..p.span.end).is_some_and(|t| !t.trim().is_empty()));
            }
        }
        prop_assert_eq!(next, book.paragraphs.len());
        Ok(())
    }

    /// The text runs through the whole pipeline, and every quotation record lies inside it.
    fn records_within(s: &str) -> std::result::Result<(), TestCaseError> {
        let a = analyze_text(s);
        for r in a.quote_records() {
            prop_assert!(r.start <= r.end);
            prop_assert!(r.end <= s.chars().count());
        }
        Ok(())
    }

    /// Lines for `attribution_rules_never_panic`.
    const LINES: &[&str] = &[
        "Tom Jones met Ann Smith at the gate .",
        "“ Where are you going ? ”",
        "said Ann .",
        "he asked .",
        "she said , gently , “ Edith ! ”",
        "“ That is a fine horse , ” he said to Ann “ But it is lame . ”",
        "“ Very well , I will stay . ”",
        "“Well, I never,” said one.",
        "As he entered his eyes fell upon the stick in Tom Jones's hand .",
        "“ I am so very glad , ” said he .",
        "The rain fell . Nobody moved .",
        "“Boo!” said a voice.",
        "“ TOM ! ”",
        "“",
        "”",
        "",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn text_pipeline_never_panics(s in "(\\PC|[\"'“”‘’\\n ]){0,400}") {
            records_within(&s)?;
        }

        /// The same over the pieces the quotation rules look for: italics, captions, headings,
        /// dashes, tags, notes that say, words not said.
        #[test]
        fn quotation_rules_never_panic(s in "([\"'“”‘’_\\[\\]—\n ,.:;!?-]|Illustration|CHAPTER I\\.|said|cried out|it said|to say|wrote|inscription|than|Of|And|Boils|[a-zA-Zé]{1,6}){0,300}") {
            records_within(&s)?;
        }

        /// Lines as the attribution rules read them, one sentence per line or in paragraphs: tags
        /// on lines of their own, names owned or after "he", answers, crowds, visitors.
        #[test]
        fn attribution_rules_never_panic(
            lines in proptest::collection::vec(prop_oneof![
                proptest::sample::select(LINES).prop_map(str::to_owned),
                "[A-Za-z ,.!?“”']{0,30}",
            ], 0..60),
            sep in prop_oneof![Just("\n"), Just("\n\n")],
        ) {
            records_within(&lines.join(sep))?;
        }

        #[test]
        fn bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = analyze_bytes(&b);
        }

        #[test]
        fn html_never_panics(s in "(<[a-z/!?]{0,6}( id=\"[ab]\")?>|&[a-z#0-9]{0,5};?|\\PC|[\"“”‘’\n ]){0,200}") {
            for book in [import_html(&s), import_bytes(format!("<!DOCTYPE html><html><body>{s}").as_bytes())].into_iter().flatten() {
                well_formed(&book)?;
            }
        }

        /// EPUBs whose nav and chapter are random but plausible: entries pointing at files, at
        /// fragments that are there or not, outside the book; elements with those ids anywhere,
        /// nested or not, the XHTML sometimes cut short.
        #[test]
        fn generated_epub_never_panics(
            hrefs in proptest::collection::vec(("(ch1|ch2|nav|x/../ch1|/etc|http://e)\\.xhtml(#[abc]?)?", "[A-Za-z ]{0,8}"), 0..6),
            body in proptest::collection::vec(("(p|div|section|h1|h2|span|a|nav|br)", "( id=\"[abc]\")?", "[a-z“” ]{0,12}", any::<bool>()), 0..12),
            cut in any::<proptest::sample::Index>(),
            truncate in any::<bool>(),
        ) {
            let nav: String = hrefs.iter().map(|(h, t)| format!("<li><a href=\"{h}\">{t}</a></li>")).collect();
            let nav = format!(r#"<html xmlns="http://www.w3.org/1999/xhtml"><body><nav><ol>{nav}</ol></nav></body></html>"#);
            let mut inner = String::new();
            let mut open = Vec::new();
            for (tag, id, text, nest) in &body {
                inner.push_str(&format!("<{tag}{id}>{text}"));
                if *nest { open.push(tag.clone()) } else { inner.push_str(&format!("</{tag}>")) }
            }
            while let Some(tag) = open.pop() {
                inner.push_str(&format!("</{tag}>"));
            }
            let mut ch1 = format!(r#"<html xmlns="http://www.w3.org/1999/xhtml"><body>{inner}</body></html>"#);
            if truncate {
                let at = cut.index(ch1.len());
                let at = (0..=at).rev().find(|&i| ch1.is_char_boundary(i)).unwrap_or(0);
                ch1.truncate(at);
            }
            let ch2 = r#"<html xmlns="http://www.w3.org/1999/xhtml"><body><p id="a">Two.</p></body></html>"#;
            let opf = r#"<package xmlns="http://www.idpf.org/2007/opf" version="3.0"><manifest><item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/><item id="c1" href="ch1.xhtml" media-type="application/xhtml+xml"/><item id="c2" href="ch2.xhtml" media-type="application/xhtml+xml"/></manifest><spine><itemref idref="c1"/><itemref idref="c2"/></spine></package>"#;
            let container = r#"<container xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile full-path="content.opf"/></rootfiles></container>"#;
            let e = zipped(&[("META-INF/container.xml", container), ("content.opf", opf), ("nav.xhtml", &nav), ("ch1.xhtml", &ch1), ("ch2.xhtml", ch2)]);
            if let Ok(book) = import_epub(&e) {
                well_formed(&book)?;
                prop_assert!(book.slice(book.paragraphs[book.paragraphs.len() - 1].span).ends_with("Two."));
            }
        }

        #[test]
        fn mangled_epub_never_panics(pos in 0usize..14_000, len in 1usize..64, byte in any::<u8>()) {
            let mut e = fixture("pride_ch1-3_pandoc.epub");
            let start = pos.min(e.len() - 1);
            let end = (start + len).min(e.len());
            for b in &mut e[start..end] {
                *b ^= byte;
            }
            let _ = import_epub(&e);
        }
    }
}
