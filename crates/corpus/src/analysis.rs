//! The whole pipeline in one call, and the records the command line prints.

use serde::{Deserialize, Serialize};

use crate::attribution::{Attribution, AttributionKind, attribute};
use crate::book::Book;
use crate::characters::{CharacterId, Characters, find_characters};
use crate::corrections::Corrections;
use crate::error::Result;
use crate::lexicon::Gender;
use crate::quotes::{Quote, find_quotes};

/// A book with its quotations, characters and attributions.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Analysis {
    /// The imported book.
    pub book: Book,
    /// Every quotation segment, speech or not, in text order.
    pub quotes: Vec<Quote>,
    /// The characters found (after corrections).
    pub characters: Characters,
    /// One attribution per entry of `quotes`.
    pub attributions: Vec<Attribution>,
}

/// One line of `grimoire quotes FILE --json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuoteRecord {
    /// Start, in Unicode scalar values into the decoded text as read (quote mark included).
    pub start: usize,
    /// End (exclusive), in Unicode scalar values.
    pub end: usize,
    /// The text from `start` to `end`.
    pub text: String,
    /// The speaker's [`CharacterRecord::name`], or `None`.
    pub speaker: Option<String>,
    /// How the speaker was found.
    pub kind: AttributionKind,
    /// 0 to 1.
    pub confidence: f32,
}

/// One line of `grimoire characters FILE --json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CharacterRecord {
    /// The name speakers are reported by.
    pub name: String,
    /// Other names of the same character.
    pub aliases: Vec<String>,
    /// Speech quotations attributed to the character.
    pub quotes: usize,
    /// Gender guess.
    pub gender: Gender,
}

/// Imports plain text and analyses it.
pub fn analyze_text(text: &str) -> Analysis {
    analyze_book(crate::import::import_text(text.to_owned()))
}

/// Imports any supported file (text, HTML, EPUB) and analyses it.
pub fn analyze_bytes(bytes: &[u8]) -> Result<Analysis> {
    Ok(analyze_book(crate::import::import_bytes(bytes)?))
}

/// Analyses an imported book.
pub fn analyze_book(book: Book) -> Analysis {
    analyze_book_with(book, &Corrections::default())
}

/// Analyses an imported book and applies a person's corrections on top.
pub fn analyze_book_with(book: Book, corrections: &Corrections) -> Analysis {
    let quotes = find_quotes(&book);
    let mut characters = find_characters(&book, &quotes);
    corrections.apply_to_characters(&mut characters, &book.text);
    let mut attributions = attribute(&book, &quotes, &characters);
    if !corrections.speakers.is_empty() {
        let map = book.char_map();
        for c in &corrections.speakers {
            let best = quotes
                .iter()
                .enumerate()
                .map(|(i, q)| {
                    let (s, e) = (map.char_at(q.span.start), map.char_at(q.span.end));
                    (i, e.min(c.end).saturating_sub(s.max(c.start)))
                })
                .filter(|&(_, overlap)| overlap > 0)
                .max_by_key(|&(_, overlap)| overlap);
            if let Some((i, _)) = best {
                let speaker = c.speaker.as_deref().and_then(|n| characters.find(n));
                attributions[i] = Attribution {
                    speaker,
                    kind: AttributionKind::Explicit,
                    confidence: 1.0,
                    reason: "corrected by hand".into(),
                    addressee: attributions[i].addressee,
                };
            }
        }
    }
    for c in &mut characters.list {
        c.quotes = 0;
    }
    for (q, a) in quotes.iter().zip(&attributions) {
        if q.role.is_voiced()
            && let Some(s) = a.speaker
            && let Some(c) = characters.list.get_mut(s.0 as usize) {
                c.quotes += 1;
            }
    }
    Analysis { book, quotes, characters, attributions }
}

impl Analysis {
    /// The speaker's name for quote `i`.
    pub fn speaker_name(&self, i: usize) -> Option<&str> {
        let id = self.attributions.get(i)?.speaker?;
        self.characters.get(id).map(|c| c.name.as_str())
    }

    /// Speech quotations as command-line records.
    pub fn quote_records(&self) -> Vec<QuoteRecord> {
        let map = self.book.char_map();
        self.quotes
            .iter()
            .zip(&self.attributions)
            .enumerate()
            .filter(|(_, (q, _))| q.role.is_voiced())
            .map(|(i, (q, a))| QuoteRecord {
                start: map.char_at(q.span.start),
                end: map.char_at(q.span.end),
                text: self.book.slice(q.span).to_owned(),
                speaker: self.speaker_name(i).map(str::to_owned),
                kind: a.kind,
                confidence: a.confidence,
            })
            .collect()
    }

    /// Characters as command-line records: everyone who speaks, or is named at least twice,
    /// most quoted first. Every speaker in [`Analysis::quote_records`] is among them.
    pub fn character_records(&self) -> Vec<CharacterRecord> {
        let mut list: Vec<&crate::Character> = self.characters.list.iter().filter(|c| c.quotes > 0 || c.mentions >= 2).collect();
        list.sort_by(|a, b| b.quotes.cmp(&a.quotes).then(b.mentions.cmp(&a.mentions)).then(a.name.cmp(&b.name)));
        list.into_iter()
            .map(|c| CharacterRecord { name: c.name.clone(), aliases: c.aliases.clone(), quotes: c.quotes, gender: c.gender })
            .collect()
    }

    /// The character with the most speech quotations (the natural persona).
    pub fn top_speaker(&self) -> Option<CharacterId> {
        self.characters.list.iter().filter(|c| c.quotes > 0).max_by_key(|c| c.quotes).map(|c| c.id)
    }
}
