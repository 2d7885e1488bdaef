//! The Mistral fine-tuning export: approved examples only, one `{"messages":[...]}` per line, split into
//! `train.jsonl` and `validation.jsonl` by chapter.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use grimoire_store::Store;
use grimoire_store::table::examples::{Message, Role};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::split::{Side, split_by_chapter};
use crate::tokens::TokenCounter;
use crate::validate::check_messages;
use crate::{Error, Result};

/// The training file's name.
pub const TRAIN_FILE: &str = "train.jsonl";
/// The validation file's name.
pub const VALIDATION_FILE: &str = "validation.jsonl";

/// How to export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct ExportOptions {
    /// A system prompt given to every example that has none of its own.
    pub system_prompt: Option<String>,
    /// The share of examples held out for validation (0.1 to 0.2 is usual).
    pub val_fraction: f64,
    /// The seed of the split: the same seed and examples give the same files.
    pub seed: u64,
}

impl Default for ExportOptions {
    fn default() -> Self {
        Self { system_prompt: None, val_fraction: 0.1, seed: 0 }
    }
}

/// An approved example left out, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Skipped {
    /// The example.
    pub id: i64,
    /// What Mistral's validator would say about it.
    pub reason: String,
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
pub struct ExportReport {
    /// Lines in `train.jsonl`.
    pub train: u32,
    /// Lines in `validation.jsonl`.
    pub validation: u32,
    /// Tokens in the training lines.
    pub train_tokens: u64,
    /// Tokens in the validation lines.
    pub validation_tokens: u64,
    /// Approved examples that would break Mistral's rules.
    pub skipped: Vec<Skipped>,
}

#[derive(Serialize)]
struct Line<'a> {
    messages: &'a [Message],
}

/// Runs `f` inside a read transaction, so that both passes of the export see the same examples even
/// while a job or a person keeps writing.
fn in_snapshot<T>(store: &Store, f: impl FnOnce() -> Result<T>) -> Result<T> {
    if !store.conn().is_autocommit() {
        return f();
    }
    store.conn().execute_batch("BEGIN DEFERRED").map_err(grimoire_store::Error::from)?;
    let out = f();
    // A read transaction holds nothing worth keeping: end it whatever happened.
    let end = store.conn().execute_batch("COMMIT").map_err(grimoire_store::Error::from);
    let value = out?;
    end?;
    Ok(value)
}

/// Writes the approved examples to `train` and `validation`.
pub fn export_to(
    store: &Store,
    train: &mut dyn Write,
    validation: &mut dyn Write,
    options: &ExportOptions,
    counter: &dyn TokenCounter,
) -> Result<ExportReport> {
    in_snapshot(store, || {
        let sources = store.examples_approved_sources()?;
        let sides = split_by_chapter(&sources, options.val_fraction, options.seed)?;
        let system = options.system_prompt.as_deref().filter(|s| !s.trim().is_empty());
        let mut report = ExportReport::default();
        let mut line = Vec::with_capacity(4096);
        store.examples_for_export(|row| {
            let mut messages = row.messages;
            if let Some(system) = system
                && messages.first().is_none_or(|m| m.role != Role::System)
            {
                messages.insert(0, Message::new(Role::System, system));
            }
            let issues = check_messages(&messages);
            if let Some(first) = issues.first() {
                report.skipped.push(Skipped { id: row.id, reason: first.to_string() });
                return Ok(());
            }
            line.clear();
            serde_json::to_writer(&mut line, &Line { messages: &messages })
                .map_err(|e| Error::Stream(std::io::Error::other(e)))?;
            line.push(b'\n');
            let tokens = u64::from(messages.iter().map(|m| counter.count(&m.content)).sum::<u32>());
            // An example approved between the two passes cannot happen inside the snapshot; should it
            // ever, training is the safe side as its chapter was not seen.
            match sides.get(&row.id).copied().unwrap_or(Side::Train) {
                Side::Validation => {
                    validation.write_all(&line).map_err(Error::Stream)?;
                    report.validation += 1;
                    report.validation_tokens += tokens;
                }
                Side::Train => {
                    train.write_all(&line).map_err(Error::Stream)?;
                    report.train += 1;
                    report.train_tokens += tokens;
                }
            }
            Ok::<(), Error>(())
        })?;
        Ok(report)
    })
}

fn create(path: &Path) -> Result<BufWriter<std::fs::File>> {
    std::fs::File::create(path).map(BufWriter::new).map_err(|source| Error::Io { path: path.to_path_buf(), source })
}

/// Writes `train.jsonl` and `validation.jsonl` into `dir` (created if needed). Each file is written
/// beside its final name and renamed into place, so an interrupted export never leaves half a file.
pub fn export_dir(store: &Store, dir: &Path, options: &ExportOptions, counter: &dyn TokenCounter) -> Result<ExportReport> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Io { path: dir.to_path_buf(), source })?;
    let final_paths = [dir.join(TRAIN_FILE), dir.join(VALIDATION_FILE)];
    let temp: Vec<PathBuf> = final_paths.iter().map(|p| p.with_extension("jsonl.partial")).collect();
    let mut train = create(&temp[0])?;
    let mut validation = create(&temp[1])?;
    let report = export_to(store, &mut train, &mut validation, options, counter)?;
    for (writer, path) in [(train, &temp[0]), (validation, &temp[1])] {
        let file = writer.into_inner().map_err(|e| Error::Io { path: path.clone(), source: e.into_error() })?;
        file.sync_all().map_err(|source| Error::Io { path: path.clone(), source })?;
    }
    for (from, to) in temp.iter().zip(&final_paths) {
        std::fs::rename(from, to).map_err(|source| Error::Io { path: to.clone(), source })?;
    }
    Ok(report)
}
