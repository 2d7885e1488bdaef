//! Grimoire's corpus library: reads novels and finds who says what.
//!
//! The pipeline, each stage a plain synchronous function over plain data:
//!
//! 1. **Import** ([`import_bytes`], [`import_text`], [`import_html`], [`import_epub`]): bytes in
//!    UTF-8, UTF-16 (BOM) or a legacy encoding, HTML or EPUB become a [`Book`]: one text with
//!    chapters and paragraphs as exact [`Span`]s. Plain text keeps the file's decoded text as read;
//!    the Project Gutenberg header and footer are only excluded from [`Book::body`].
//! 2. **Quotations** ([`find_quotes`]): every quotation segment, with letters, scare quotes and cited
//!    written words (inscriptions, captions, epigraphs, verse) marked as not speech.
//! 3. **Characters** ([`find_characters`]): names discovered from the text, aliases clustered,
//!    with mention counts and a gender guess.
//! 4. **Attribution** ([`attribute`]): a speaker (or none), a kind, a confidence and a reason per
//!    quotation; a person's [`Corrections`] are applied on top.
//! 5. **Examples** ([`build_examples`]): strategy A dialogue examples for one persona.
//!
//! [`analyze_text`] and [`analyze_book`] run stages 2–4 and give the records the command line
//! prints ([`QuoteRecord`], [`CharacterRecord`]).
//!
//! Offsets: [`Span`]s are byte ranges into [`Book::text`] (cheap to slice); records for the
//! command line carry Unicode scalar offsets ([`Book::char_map`] converts). For plain text,
//! `Book::text` is the decoded file as read (a byte order mark is not text and is dropped); for
//! HTML and EPUB it is the extracted text, paragraphs separated by blank lines.
//!
//! Everything is synchronous and allocation-light: Pride and Prejudice imports and attributes in
//! about 90 ms on one core (`examples/bench.rs`). `examples/score.rs` scores detection and
//! attribution against LitBank.
#![warn(missing_docs)]

mod analysis;
mod attribution;
mod book;
mod characters;
mod corrections;
mod encoding;
mod entities;
mod epub;
mod error;
mod examples;
mod gutenberg;
mod html;
mod import;
mod lexicon;
mod quotes;
mod tokens;

pub use analysis::{Analysis, CharacterRecord, QuoteRecord, analyze_book, analyze_book_with, analyze_bytes, analyze_text};
pub use attribution::{Attribution, AttributionKind, attribute};
pub use book::{Book, Chapter, CharMap, Paragraph, SourceFormat, Span};
pub use characters::{Character, CharacterId, Characters, find_characters};
pub use corrections::{Corrections, IgnoreCharacter, MergeCharacters, RenameCharacter, SpeakerCorrection, SplitCharacter};
pub use encoding::{MAX_INPUT_BYTES, TextEncoding, decode};
pub use epub::{MAX_DECOMPRESSED_BYTES, import_epub, import_epub_limited};
pub use error::{CorpusError, Result};
pub use examples::{Example, ExampleOptions, Message, Role, build_examples};
pub use gutenberg::body_range as gutenberg_body_range;
pub use html::import_html;
pub use import::{import_bytes, import_text, import_text_bytes};
pub use lexicon::Gender;
pub use quotes::{Quote, QuoteRole, QuoteStyle, detect_style, find_quotes};
