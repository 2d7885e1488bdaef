//! The reviewed data set, above the store: everything that needs rules rather than rows.
//!
//! - [`Review`] adds and edits examples with their quality flags computed ([`flags`]): exact and near
//!   duplicates (a normalised hash and MinHash with LSH bands, [`fingerprint`]), too short or too
//!   long, the persona named in the third person or addressed by name in their own turn, leftover
//!   narration, empty turns, turns in an order Mistral refuses; for what a teacher model wrote from a
//!   passage, details the passage lacks, answers far longer than it, the third person left in, and
//!   talk about the task ([`faithful`]).
//! - [`export_dir`] writes Mistral fine-tuning JSONL from the approved examples, with an optional
//!   system prompt and a seeded train/validation split made by chapter ([`split_by_chapter`]).
//! - [`validate_jsonl`] checks a file against Mistral's rules and reports each failure by line;
//!   [`import_jsonl`] brings such a file in, reporting bad lines and importing the rest.
//! - Tokens are counted through [`TokenCounter`], so that the model runtime can plug its tokenizer in;
//!   [`WhitespaceCounter`] stands in until then.
//!
//! Listing, bulk actions, undo/redo and stats are plain store calls
//! (`grimoire_store::table::examples`); [`parse_filter`] reads the filter expressions the CLI takes.
//! Synchronous and GUI-free: the service layer runs the long calls as jobs.

mod error;
pub mod export;
pub mod faithful;
pub mod filter_expr;
pub mod fingerprint;
pub mod flags;
pub mod import;
pub mod review;
pub mod split;
pub mod tokens;
pub mod validate;

pub use error::{Error, Result};
pub use export::{ExportOptions, ExportReport, Skipped, TRAIN_FILE, VALIDATION_FILE, export_dir, export_to};
pub use filter_expr::parse_filter;
pub use flags::{FlagRules, Persona};
pub use import::{ImportReport, import_jsonl};
pub use review::Review;
pub use split::{Side, split_by_chapter};
pub use tokens::{TokenCounter, WhitespaceCounter};
pub use validate::{Issue, LineIssue, ValidationReport, check_messages, parse_line, validate_jsonl};
