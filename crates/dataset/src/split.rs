//! The train/validation split, made by chapter: every example drawn from one chapter lands on the same
//! side, so no passage of the books feeds both training and validation.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::fingerprint::{fnv, mix};
use crate::{Error, Result};

/// Which file an example goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// `train.jsonl`.
    Train,
    /// `validation.jsonl`.
    Validation,
}

/// What keeps examples together: their chapter, else their book, else nothing (each alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Group {
    /// A chapter of a book.
    Chapter(Option<i64>, i64),
    /// A book whose chapters are unknown.
    Book(i64),
    /// An example with no source (imported ones).
    Alone(i64),
}

impl Group {
    /// The group of an example with this id, book and chapter.
    pub fn of(id: i64, book: Option<i64>, chapter: Option<i64>) -> Self {
        match (book, chapter) {
            (book, Some(chapter)) => Self::Chapter(book, chapter),
            (Some(book), None) => Self::Book(book),
            (None, None) => Self::Alone(id),
        }
    }

    fn key(self, seed: u64) -> u64 {
        let (tag, a, b) = match self {
            Self::Chapter(book, chapter) => (0u8, book.unwrap_or(-1), chapter),
            Self::Book(book) => (1, book, 0),
            Self::Alone(id) => (2, id, 0),
        };
        let h = fnv(fnv(fnv(mix(seed), &[tag]), &a.to_le_bytes()), &b.to_le_bytes());
        mix(h)
    }
}

/// Assigns every example (id, book, chapter) a side so that about `fraction` of them are for
/// validation and no group is split. The same examples and seed always give the same split: groups
/// are visited in an order shuffled by the seed, and one joins validation when that brings the count
/// closer to the target.
pub fn split_by_chapter(
    examples: &[(i64, Option<i64>, Option<i64>)],
    fraction: f64,
    seed: u64,
) -> Result<HashMap<i64, Side>> {
    if !(0.0..1.0).contains(&fraction) {
        return Err(Error::BadFraction(fraction));
    }
    let mut sizes: HashMap<Group, u64> = HashMap::new();
    for &(id, book, chapter) in examples {
        *sizes.entry(Group::of(id, book, chapter)).or_default() += 1;
    }
    let mut groups: Vec<(u64, Group, u64)> = sizes.into_iter().map(|(g, n)| (g.key(seed), g, n)).collect();
    groups.sort_unstable();
    let target = (examples.len() as f64 * fraction).round() as u64;
    let mut validation = std::collections::HashSet::new();
    let mut taken = 0u64;
    for (_, group, size) in groups {
        if (taken + size).abs_diff(target) < taken.abs_diff(target) {
            taken += size;
            validation.insert(group);
        }
    }
    Ok(examples
        .iter()
        .map(|&(id, book, chapter)| {
            let side = if validation.contains(&Group::of(id, book, chapter)) { Side::Validation } else { Side::Train };
            (id, side)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_a_fraction_out_of_range() {
        assert!(matches!(split_by_chapter(&[], 1.0, 1), Err(Error::BadFraction(_))));
        assert!(matches!(split_by_chapter(&[], -0.1, 1), Err(Error::BadFraction(_))));
        assert!(split_by_chapter(&[], 0.0, 1).unwrap().is_empty());
    }

    #[test]
    fn groups_fall_back_to_book_then_to_the_example() {
        assert_eq!(Group::of(5, Some(1), Some(2)), Group::Chapter(Some(1), 2));
        assert_eq!(Group::of(5, Some(1), None), Group::Book(1));
        assert_eq!(Group::of(5, None, None), Group::Alone(5));
    }
}
