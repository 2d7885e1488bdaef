//! Importing Mistral JSONL made elsewhere: each good line becomes a pending example of strategy
//! "imported"; each bad line is reported with its number and reason, and the rest still imports.

use std::io::BufRead;

use grimoire_store::table::examples::{NewExample, Strategy};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::Result;
use crate::review::Review;
use crate::validate::{Issue, LineIssue, for_each_line, parse_line};

/// Lines inserted per transaction: large enough to be fast, small enough that a generation job
/// writing at the same time is never kept waiting long.
const BATCH: usize = 500;

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
pub struct ImportReport {
    /// Conversations read (blank lines are not counted).
    pub lines: u32,
    /// The ids of the new examples, in file order.
    pub imported: Vec<i64>,
    /// Every broken rule on the lines left out.
    pub issues: Vec<LineIssue>,
}

/// Reads Mistral JSONL from `reader` and adds every good line to the store as a pending imported
/// example (flags computed as for any other); `tag`, when given, goes on every imported example.
pub fn import_jsonl(review: &Review<'_>, reader: impl BufRead, tag: Option<&str>) -> Result<ImportReport> {
    let mut report = ImportReport::default();
    let mut batch = Vec::with_capacity(BATCH);
    for_each_line(reader, |line, text| {
        report.lines += 1;
        match text.map_err(|detail| vec![Issue::NotJson { detail }]).and_then(parse_line) {
            Ok(messages) => {
                let mut new = NewExample::new(Strategy::Imported, messages);
                new.tags.extend(tag.map(str::to_string));
                batch.push(new);
                if batch.len() >= BATCH {
                    report.imported.extend(review.insert_many(std::mem::take(&mut batch))?);
                }
            }
            Err(issues) => report.issues.extend(issues.into_iter().map(|issue| LineIssue { line, issue })),
        }
        Ok(())
    })?;
    report.imported.extend(review.insert_many(batch)?);
    Ok(report)
}
