//! Book import as a job: every file of one request lands in one transaction, or none does.

use std::path::{Path, PathBuf};

use grimoire_store::NewBook;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use ts_rs::TS;

use crate::jobs::JobContext;
use crate::models::hex;
use crate::{Error, Result};

/// The largest book file accepted (a whole fantasy series in plain text is about 10 MB).
pub const MAX_BOOK_BYTES: u64 = 64 << 20;

/// A book to import: a file on disk, or bytes that ship with Grimoire (the sample).
#[derive(Debug, Clone)]
pub(crate) enum BookSource {
    File(PathBuf),
    Bundled { name: &'static str, bytes: &'static [u8] },
}

impl BookSource {
    fn label(&self) -> String {
        match self {
            Self::File(p) => p.display().to_string(),
            Self::Bundled { name, .. } => format!("sample:{name}"),
        }
    }

    fn read(&self) -> Result<Vec<u8>> {
        match self {
            Self::Bundled { bytes, .. } => Ok(bytes.to_vec()),
            Self::File(path) => {
                let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
                    std::io::ErrorKind::NotFound => Error::NotFound(path.clone()),
                    _ => Error::io(path, e),
                })?;
                if !meta.is_file() {
                    return Err(Error::InvalidInput(format!("{} is not a file", path.display())));
                }
                if meta.len() > MAX_BOOK_BYTES {
                    return Err(Error::InvalidInput(format!(
                        "{} is {} MB; Grimoire imports books up to {} MB",
                        path.display(),
                        meta.len() >> 20,
                        MAX_BOOK_BYTES >> 20
                    )));
                }
                std::fs::read(path).map_err(|e| Error::io(path, e))
            }
        }
    }

    fn title(&self) -> String {
        let stem = match self {
            Self::File(p) => p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
            Self::Bundled { name, .. } => Path::new(name).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
        };
        split_camel(&stem.replace(['_', '-'], " "))
    }
}

/// "PrideAndPrejudice" → "Pride And Prejudice".
fn split_camel(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let mut prev_lower = false;
    for c in s.chars() {
        if c.is_uppercase() && prev_lower {
            out.push(' ');
        }
        prev_lower = c.is_lowercase();
        out.push(c);
    }
    out
}

/// What an import produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ImportResult {
    /// The new books' ids, in order.
    pub book_ids: Vec<i64>,
    /// Files skipped because the same content is already in the project.
    pub skipped: Vec<String>,
}

fn format_name(format: grimoire_corpus::SourceFormat) -> &'static str {
    match format {
        grimoire_corpus::SourceFormat::Html => "html",
        grimoire_corpus::SourceFormat::Epub => "epub",
        _ => "txt",
    }
}

pub(crate) fn run(ctx: &mut JobContext, sources: &[BookSource]) -> Result<serde_json::Value> {
    let total = sources.len() as u64 + 1;
    let mut prepared = Vec::with_capacity(sources.len());
    for (i, source) in sources.iter().enumerate() {
        let label = source.label();
        ctx.progress(i as u64, total, &format!("reading {label}"))?;
        let bytes = source.read()?;
        let sha = hex(&Sha256::digest(&bytes));
        let book = grimoire_corpus::import_bytes(&bytes).map_err(|e| Error::InvalidInput(format!("{label}: {e}")))?;
        prepared.push((source.clone(), label, sha, book));
    }
    ctx.progress(sources.len() as u64, total, "analysing quotations and speakers")?;
    let store = ctx.store();
    let tx = store.conn().unchecked_transaction().map_err(grimoire_store::Error::from)?;
    let mut result = ImportResult { book_ids: vec![], skipped: vec![] };
    for (source, label, sha, book) in &prepared {
        if store.book_by_sha256(sha)?.is_some() {
            result.skipped.push(label.clone());
            continue;
        }
        let title = book.title.clone().filter(|t| !t.trim().is_empty()).unwrap_or_else(|| source.title());
        let format = format_name(book.format);
        let new = NewBook { title: &title, author: None, source_path: label, format, sha256: sha, text: &book.text };
        let id = store.book_insert(&new)?;
        if book.format != grimoire_corpus::SourceFormat::Text {
            // The chapters the markup gave; the analysis below starts from them.
            store.analysis_replace(id, &crate::corpus::structure(book))?;
        }
        result.book_ids.push(id);
    }
    if !result.book_ids.is_empty() {
        crate::corpus::reanalyse(store, &mut |_, _, _| Ok(()))?;
    }
    ctx.check_cancelled()?;
    tx.commit().map_err(grimoire_store::Error::from)?;
    ctx.progress(total, total, "imported")?;
    serde_json::to_value(&result).map_err(|source| Error::Json { what: "import result".into(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_from_file_names() {
        assert_eq!(BookSource::File("/x/PrideAndPrejudice.txt".into()).title(), "Pride And Prejudice");
        assert_eq!(BookSource::File("/x/the_sign-of_four.txt".into()).title(), "the sign of four");
    }

}
