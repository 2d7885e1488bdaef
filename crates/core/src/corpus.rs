//! Books through `grimoire-corpus`: import any format, analyse (chapters, quotations, speakers), keep
//! the person's corrections, and build strategy A examples into the review store.

use std::collections::BTreeMap;

use grimoire_corpus::{Analysis, Corrections, ExampleOptions, QuoteRole, SpeakerCorrection};
use grimoire_store::table::corpus::{BookAnalysis, StoredChapter, StoredCharacter, StoredParagraph, StoredQuote};
use grimoire_store::table::examples::{Message, NewExample, Role, SourceSpan, Strategy};
use grimoire_store::Store;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::{Error, Result};

impl From<grimoire_corpus::CorpusError> for Error {
    fn from(e: grimoire_corpus::CorpusError) -> Self {
        Error::Corpus(e)
    }
}

/// A speaker correction as stored: the corpus's, with the book it was made in. Corrections made
/// before the book was kept have none and apply to every book, as they did.
#[derive(Deserialize)]
struct StoredSpeaker {
    #[serde(default)]
    book_id: Option<i64>,
    #[serde(flatten)]
    correction: SpeakerCorrection,
}

/// The corrections stored in a project. Character corrections hold for every book (a name is the
/// same person throughout a series); a speaker correction only for the book it was made in, since
/// its offsets mean nothing in another.
#[derive(Default)]
pub(crate) struct ProjectCorrections {
    characters: Corrections,
    speakers: Vec<StoredSpeaker>,
}

impl ProjectCorrections {
    /// The corrections of one book, as the analyser takes them.
    pub(crate) fn for_book(&self, book_id: i64) -> Corrections {
        let mut out = self.characters.clone();
        out.speakers = self.speakers.iter().filter(|s| s.book_id.is_none_or(|b| b == book_id)).map(|s| s.correction.clone()).collect();
        out
    }

    /// The names ignored, in the order they were.
    pub(crate) fn ignored(&self) -> Vec<String> {
        self.characters.ignores.iter().map(|i| i.name.clone()).collect()
    }
}

/// The corrections stored in a project.
pub(crate) fn load_corrections(store: &Store) -> Result<ProjectCorrections> {
    let mut out = ProjectCorrections::default();
    for c in store.corrections()? {
        let bad = |source| Error::Json { what: format!("correction {}", c.id), source };
        let chars = &mut out.characters;
        match c.kind.as_str() {
            "speaker" => out.speakers.push(serde_json::from_str(&c.payload).map_err(bad)?),
            "merge" => chars.merges.push(serde_json::from_str(&c.payload).map_err(bad)?),
            "split" => chars.splits.push(serde_json::from_str(&c.payload).map_err(bad)?),
            "rename" => chars.renames.push(serde_json::from_str(&c.payload).map_err(bad)?),
            "ignore" => chars.ignores.push(serde_json::from_str(&c.payload).map_err(bad)?),
            _ => {}
        }
    }
    Ok(out)
}

fn role_name(role: QuoteRole) -> &'static str {
    match role {
        QuoteRole::Speech => "speech",
        QuoteRole::Letter => "letter",
        QuoteRole::ScareQuote => "scare",
        QuoteRole::Thought => "thought",
        QuoteRole::Citation => "citation",
        _ => "other",
    }
}

fn lower<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_lowercase)).unwrap_or_else(|| "unknown".into())
}

/// What the store keeps of one analysis, in characters.
pub(crate) fn to_stored(a: &Analysis) -> BookAnalysis {
    let mut stored = structure(&a.book);
    let map = a.book.char_map();
    let c = |byte: usize| map.char_at(byte) as i64;
    stored.quotes = a
        .quotes
        .iter()
        .zip(&a.attributions)
        .enumerate()
        .map(|(i, (q, att))| StoredQuote {
            id: 0,
            book_id: 0,
            start: c(q.span.start),
            end: c(q.span.end),
            paragraph: q.paragraph as i64,
            role: role_name(q.role).into(),
            speaker: a.speaker_name(i).map(str::to_owned),
            kind: if att.speaker.is_some() { lower(&att.kind) } else { "none".into() },
            confidence: att.confidence,
            reason: att.reason.clone(),
        })
        .collect();
    stored
}

/// A book's chapters and paragraphs in characters, without quotations. Stored at import, it is how
/// an HTML or EPUB book keeps the chapters its markup gave (the text alone no longer shows them).
pub(crate) fn structure(book: &grimoire_corpus::Book) -> BookAnalysis {
    let map = book.char_map();
    let c = |byte: usize| map.char_at(byte) as i64;
    BookAnalysis {
        chapters: book
            .chapters
            .iter()
            .enumerate()
            .map(|(i, ch)| StoredChapter { idx: i as i64, title: ch.title.clone(), start: c(ch.span.start), end: c(ch.span.end) })
            .collect(),
        paragraphs: book
            .paragraphs
            .iter()
            .enumerate()
            .map(|(i, p)| StoredParagraph { idx: i as i64, chapter: p.chapter as i64, start: c(p.span.start), end: c(p.span.end) })
            .collect(),
        quotes: Vec::new(),
    }
}

/// A stored book ready to analyse. Plain text is segmented again (the rules may have improved);
/// HTML and EPUB keep the chapters and paragraphs stored at import, when there are any.
pub(crate) fn stored_book(store: &Store, summary: &grimoire_store::BookSummary) -> Result<grimoire_corpus::Book> {
    let text = store.book(summary.id)?.text;
    let format = match summary.format.as_str() {
        "html" => grimoire_corpus::SourceFormat::Html,
        "epub" => grimoire_corpus::SourceFormat::Epub,
        _ => return Ok(grimoire_corpus::import_text(text)),
    };
    let (chapters, paragraphs) = (store.chapters(summary.id)?, store.paragraphs(summary.id)?);
    if chapters.is_empty() || paragraphs.is_empty() {
        return Ok(grimoire_corpus::import_text(text));
    }
    // Character offsets to byte offsets.
    let bytes: Vec<usize> = text.char_indices().map(|(b, _)| b).chain([text.len()]).collect();
    let b = |c: i64| bytes[(c.max(0) as usize).min(bytes.len() - 1)];
    let span = |start: i64, end: i64| grimoire_corpus::Span::new(b(start), b(end).max(b(start)));
    let paragraphs: Vec<grimoire_corpus::Paragraph> = paragraphs
        .iter()
        .map(|p| grimoire_corpus::Paragraph { span: span(p.start, p.end), chapter: (p.chapter.max(0) as usize).min(chapters.len() - 1) })
        .collect();
    let chapters = chapters
        .iter()
        .enumerate()
        .map(|(i, c)| {
            // Paragraphs are stored in order, so each chapter's are one run (empty for a bare heading).
            let run = paragraphs.partition_point(|p| p.chapter < i)..paragraphs.partition_point(|p| p.chapter <= i);
            grimoire_corpus::Chapter { title: c.title.clone(), span: span(c.start, c.end), paragraphs: run }
        })
        .collect();
    let body = grimoire_corpus::Span::new(0, text.len());
    Ok(grimoire_corpus::Book { title: None, text, body, chapters, paragraphs, format, line_paragraphs: false })
}

/// Merges the characters of every book of a project: the same canonical name is the same person.
pub(crate) fn merge_characters<'a>(analyses: impl Iterator<Item = &'a Analysis>) -> Vec<StoredCharacter> {
    let mut by_name: BTreeMap<String, StoredCharacter> = BTreeMap::new();
    for a in analyses {
        for ch in &a.characters.list {
            if ch.quotes == 0 && ch.mentions < 2 {
                continue;
            }
            let entry = by_name.entry(ch.name.clone()).or_insert_with(|| StoredCharacter {
                name: ch.name.clone(),
                aliases: vec![],
                gender: lower(&ch.gender),
                mentions: 0,
                quotes: 0,
            });
            entry.mentions += ch.mentions as i64;
            entry.quotes += ch.quotes as i64;
            for alias in &ch.aliases {
                if !entry.aliases.contains(alias) {
                    entry.aliases.push(alias.clone());
                }
            }
            if entry.gender == "unknown" {
                entry.gender = lower(&ch.gender);
            }
        }
    }
    let mut list: Vec<_> = by_name.into_values().collect();
    list.sort_by(|a, b| b.quotes.cmp(&a.quotes).then(b.mentions.cmp(&a.mentions)).then(a.name.cmp(&b.name)));
    list
}

/// Analyses every book of the project again with the stored corrections and replaces quotes and
/// characters. Call inside a transaction. Returns the analyses (for extraction).
pub(crate) fn reanalyse(store: &Store, progress: &mut dyn FnMut(u64, u64, &str) -> Result<()>) -> Result<Vec<(i64, Analysis)>> {
    let corrections = load_corrections(store)?;
    let books = store.books()?;
    let total = books.len() as u64;
    let mut analyses = Vec::with_capacity(books.len());
    for (i, summary) in books.iter().enumerate() {
        progress(i as u64, total, &format!("analysing {}", summary.title))?;
        let book = stored_book(store, summary)?;
        let analysis = grimoire_corpus::analyze_book_with(book, &corrections.for_book(summary.id));
        store.analysis_replace(summary.id, &to_stored(&analysis))?;
        analyses.push((summary.id, analysis));
    }
    store.characters_replace(&merge_characters(analyses.iter().map(|(_, a)| a)))?;
    progress(total, total, "analysed")?;
    Ok(analyses)
}

/// Options of strategy A, as the UI and the CLI set them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ExtractOptions {
    /// How many lines said before the persona's make up the user turn.
    pub context_turns: u32,
    /// Persona lines shorter than this many characters are skipped.
    pub min_chars: u32,
    /// Put the narration that sets the scene into the user turn.
    pub narration: bool,
    /// Also make whole scenes into multi-turn conversations.
    pub scenes: bool,
    /// The system prompt given to every example (none when empty).
    pub system_prompt: Option<String>,
    /// Persona lines attributed with less confidence than this (0 to 1) are left out. The default,
    /// 0.6, takes tags, beats, continuity, two-person exchanges that the tags on both sides
    /// confirm or that run long, and alternation where only two have spoken, and leaves out the
    /// guesses that are right about half the time or less (alternation among several speakers, a
    /// party named in the narration, a turn right after one tag).
    #[serde(default = "default_min_confidence")]
    pub min_confidence: f32,
}

fn default_min_confidence() -> f32 {
    ExampleOptions::default().min_confidence
}

impl Default for ExtractOptions {
    fn default() -> Self {
        let d = ExampleOptions::default();
        Self {
            context_turns: d.context_turns as u32,
            min_chars: d.min_chars as u32,
            narration: d.narration,
            scenes: d.scenes,
            system_prompt: None,
            min_confidence: d.min_confidence,
        }
    }
}

/// What an extraction produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ExtractResult {
    /// Examples added to the review store.
    pub added: u32,
    /// Examples already there (the same turns from the same passage).
    pub skipped: u32,
}

/// Builds strategy A examples for `persona` from every book and adds them to the review store as
/// pending, each with its source spans.
pub(crate) fn extract(
    store: &Store,
    model_dir: &std::path::Path,
    persona: &str,
    options: &ExtractOptions,
    progress: &mut dyn FnMut(u64, u64, &str) -> Result<()>,
) -> Result<ExtractResult> {
    let tx = store.conn().unchecked_transaction().map_err(grimoire_store::Error::from)?;
    let analyses = reanalyse(store, progress)?;
    let opts = ExampleOptions {
        context_turns: options.context_turns.max(1) as usize,
        min_chars: options.min_chars as usize,
        narration: options.narration,
        scenes: options.scenes,
        min_confidence: options.min_confidence.clamp(0.0, 1.0),
    };
    let mut result = ExtractResult { added: 0, skipped: 0 };
    let mut found_persona = false;
    // Through grimoire-dataset so that every example gets its flags (duplicates included) on insert.
    let review = crate::review::review_for(store, model_dir)?;
    for (book_id, a) in &analyses {
        let Some(id) = a.characters.find(persona) else { continue };
        found_persona = true;
        let map = a.book.char_map();
        let examples = grimoire_corpus::build_examples(a, id, &opts);
        for ex in &examples {
            let mut messages = Vec::with_capacity(ex.messages.len() + 1);
            if let Some(system) = options.system_prompt.as_deref().filter(|s| !s.trim().is_empty()) {
                messages.push(Message::new(Role::System, system));
            }
            for m in &ex.messages {
                let role = match m.role {
                    grimoire_corpus::Role::User => Role::User,
                    grimoire_corpus::Role::Assistant => Role::Assistant,
                };
                messages.push(Message::new(role, m.content.clone()));
            }
            let spans: Vec<SourceSpan> = ex
                .messages
                .iter()
                .flat_map(|m| m.spans.iter())
                .map(|s| SourceSpan { book_id: *book_id, start: map.char_at(s.start) as i64, end: map.char_at(s.end) as i64 })
                .collect();
            let chapter = a.book.paragraphs.iter().find(|p| p.span.overlaps(&ex.source)).map(|p| p.chapter as i64);
            let mut new = NewExample::new(Strategy::A, messages);
            new.persona = Some(persona.to_string());
            new.spans = spans;
            new.book_id = Some(*book_id);
            new.chapter = chapter;
            new.tags = if ex.scene { vec!["scene".into()] } else { vec![] };
            if store.example_with_spans_exists(Strategy::A.as_str(), &new.spans)? {
                result.skipped += 1;
            } else {
                review.insert(new)?;
                result.added += 1;
            }
        }
    }
    if !found_persona {
        return Err(Error::InvalidInput(format!(
            "no character called {persona:?} speaks in this project's books; `grimoire characters` lists them"
        )));
    }
    tx.commit().map_err(grimoire_store::Error::from)?;
    Ok(result)
}

/// The quotations and characters of one file, outside any project (`grimoire quotes|characters`).
pub fn analyse_file(path: &std::path::Path) -> Result<(Vec<grimoire_corpus::QuoteRecord>, Vec<grimoire_corpus::CharacterRecord>)> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::NotFound(path.to_path_buf()),
        _ => Error::io(path, e),
    })?;
    if meta.len() > crate::MAX_BOOK_BYTES {
        return Err(Error::InvalidInput(format!("{} is larger than the {} MB a book may be", path.display(), crate::MAX_BOOK_BYTES >> 20)));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let analysis = grimoire_corpus::analyze_bytes(&bytes)?;
    Ok((analysis.quote_records(), analysis.character_records()))
}

/// Strategy A conversations of everybody but `persona`, for a control run: the same books' voice
/// without the persona. Each is `(role, text)` turns, user first; at most `limit`, picked evenly
/// across the books' speakers in a seeded order.
pub(crate) fn others_conversations(store: &Store, persona: &str, limit: usize, seed: u64) -> Result<Vec<Vec<(Role, String)>>> {
    let analyses = reanalyse(store, &mut |_, _, _| Ok(()))?;
    let opts = ExampleOptions { scenes: false, ..ExampleOptions::default() };
    let mut all = Vec::new();
    for (_, a) in &analyses {
        let skip = a.characters.find(persona);
        for c in &a.characters.list {
            if Some(c.id) == skip || c.quotes < 5 {
                continue;
            }
            for ex in grimoire_corpus::build_examples(a, c.id, &opts) {
                let turns = ex
                    .messages
                    .iter()
                    .map(|m| {
                        let role = match m.role {
                            grimoire_corpus::Role::User => Role::User,
                            grimoire_corpus::Role::Assistant => Role::Assistant,
                        };
                        (role, m.content.clone())
                    })
                    .collect();
                all.push(turns);
            }
        }
    }
    // A seeded shuffle (SplitMix64 keys), so the same control data comes out every time.
    let key = |i: usize| {
        let mut z = seed.wrapping_add((i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let mut order: Vec<usize> = (0..all.len()).collect();
    order.sort_by_key(|&i| key(i));
    let mut taken: Vec<Option<Vec<(Role, String)>>> = all.into_iter().map(Some).collect();
    Ok(order.into_iter().take(limit).filter_map(|i| taken[i].take()).collect())
}
