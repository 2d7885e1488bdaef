//! The character roster's "ignore" (and taking it back) and the books' series order. Merge, split,
//! rename and speaker corrections are in `service.rs`; all of them are corrections stored in the
//! project and applied again on every analysis.

use grimoire_store::BookSummary;
use grimoire_store::table::corpus::StoredCharacter;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::service::{ProjectRef, absolute, lock};
use crate::{Error, Result, Service};

/// Input of [`Service::ignore_character`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct IgnoreCharacterInput {
    /// The project folder.
    pub project: String,
    /// The character's name (or an alias).
    pub name: String,
    /// True to ignore it, false to take an earlier "ignore" of this name back.
    pub ignored: bool,
}

/// Input of [`Service::reorder_books`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ReorderBooksInput {
    /// The project folder.
    pub project: String,
    /// Every book's id once, in the new series order.
    pub book_ids: Vec<i64>,
}

impl Service {
    /// Ignores a character (a mis-detected name such as "Sir", or someone not to use), or takes
    /// that back, and analyses the books again. An ignored character is not in the roster and
    /// speaks no line: its quotations go to the next best speaker or to nobody.
    pub fn ignore_character(&self, input: IgnoreCharacterInput) -> Result<Vec<StoredCharacter>> {
        let name = input.name.trim();
        if name.is_empty() {
            return Err(Error::InvalidInput("name the character to ignore".into()));
        }
        if input.ignored {
            return self.correct(&input.project, "ignore", serde_json::json!({ "name": name }));
        }
        let store = self.store(&absolute(&input.project)?)?;
        let store = lock(&store);
        let tx = store.conn().unchecked_transaction().map_err(grimoire_store::Error::from)?;
        let mut found = false;
        for c in store.corrections()?.into_iter().filter(|c| c.kind == "ignore") {
            let ignored: grimoire_corpus::IgnoreCharacter =
                serde_json::from_str(&c.payload).map_err(|source| Error::Json { what: format!("correction {}", c.id), source })?;
            if ignored.name.to_lowercase() == name.to_lowercase() {
                store.correction_delete(c.id)?;
                found = true;
            }
        }
        if !found {
            return Err(Error::InvalidInput(format!("{name:?} is not ignored")));
        }
        crate::corpus::reanalyse(&store, &mut |_, _, _| Ok(()))?;
        tx.commit().map_err(grimoire_store::Error::from)?;
        Ok(store.characters()?)
    }

    /// The names ignored in a project, in the order they were.
    pub fn ignored_characters(&self, input: ProjectRef) -> Result<Vec<String>> {
        let store = self.store(&absolute(&input.path)?)?;
        let corrections = crate::corpus::load_corrections(&lock(&store))?;
        Ok(corrections.ignored())
    }

    /// Puts a project's books in a new series order (extraction and exports follow it).
    pub fn reorder_books(&self, input: ReorderBooksInput) -> Result<Vec<BookSummary>> {
        let store = self.store(&absolute(&input.project)?)?;
        let store = lock(&store);
        let mut known: Vec<i64> = store.books()?.iter().map(|b| b.id).collect();
        let mut given = input.book_ids.clone();
        known.sort_unstable();
        given.sort_unstable();
        if known != given {
            return Err(Error::InvalidInput(format!(
                "a series order lists every book of the project once: {known:?}, got {:?}",
                input.book_ids
            )));
        }
        store.books_reorder(&input.book_ids)?;
        Ok(store.books()?)
    }
}
