//! A person's corrections, applied on top of a fresh extraction so they survive re-extraction.
//! Pure data: storing them is the store's job.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::characters::{Character, CharacterId, Characters};
use crate::lexicon::Gender;

/// "This quotation is said by …" (or by nobody). Offsets are chars, as in [`crate::QuoteRecord`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpeakerCorrection {
    /// Start of the quotation, in chars into the decoded text.
    pub start: usize,
    /// End of the quotation, in chars.
    pub end: usize,
    /// The speaker's name as [`crate::CharacterRecord::name`] gives it; `None` for "not speech / nobody".
    pub speaker: Option<String>,
}

/// "These characters are one": every name in `names` joins `into`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeCharacters {
    /// Names or aliases of the characters to merge away.
    pub names: Vec<String>,
    /// Name or alias of the character that remains.
    pub into: String,
}

/// "This alias is someone else": `alias` leaves its character and becomes `new_name`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitCharacter {
    /// The alias to move (e.g. "Miss Bennet").
    pub alias: String,
    /// The new character's name.
    pub new_name: String,
}

/// "Call this character …".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenameCharacter {
    /// Current name or alias.
    pub from: String,
    /// New display name.
    pub to: String,
}

/// "This is not a character" (a mis-detected name such as "Sir") or "not one to use": the
/// character and its mentions are dropped before attribution, so its quotations go to whoever is
/// next best, or to nobody. They stay quotations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IgnoreCharacter {
    /// Name or alias of the character.
    pub name: String,
}

/// Everything a person corrected for one book.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Corrections {
    /// Quotation speakers set by hand.
    pub speakers: Vec<SpeakerCorrection>,
    /// Characters merged.
    pub merges: Vec<MergeCharacters>,
    /// Aliases split off into their own characters.
    pub splits: Vec<SplitCharacter>,
    /// Characters renamed.
    pub renames: Vec<RenameCharacter>,
    /// Characters ignored (corrections stored before ignoring existed have none).
    #[serde(default)]
    pub ignores: Vec<IgnoreCharacter>,
}

impl Corrections {
    /// True when there is nothing to apply.
    pub fn is_empty(&self) -> bool {
        self.speakers.is_empty() && self.merges.is_empty() && self.splits.is_empty() && self.renames.is_empty() && self.ignores.is_empty()
    }

    /// Applies splits, then merges, then renames, then ignores (so an ignored name may be one a
    /// rename gave). Corrections naming unknown characters are skipped (the text may have changed
    /// since they were made).
    pub(crate) fn apply_to_characters(&self, chars: &mut Characters, text: &str) {
        for s in &self.splits {
            let Some(from) = chars.find(&s.alias) else { continue };
            let new_id = CharacterId(chars.list.len() as u32);
            let gender = chars.get(from).map_or(Gender::Unknown, |c| c.gender);
            let mut moved = 0;
            for m in chars.mentions.iter_mut().filter(|m| m.character == from) {
                if text.get(m.span.start..m.span.end) == Some(s.alias.as_str()) {
                    m.character = new_id;
                    moved += 1;
                }
            }
            if let Some(c) = chars.list.get_mut(from.0 as usize) {
                c.aliases.retain(|a| *a != s.alias);
                c.mentions = c.mentions.saturating_sub(moved);
                if c.name == s.alias
                    && let Some(a) = c.aliases.first().cloned() {
                        c.name = a;
                    }
            }
            let aliases = if s.alias == s.new_name { Vec::new() } else { vec![s.alias.clone()] };
            chars.list.push(Character { id: new_id, name: s.new_name.clone(), aliases, gender, mentions: moved, quotes: 0 });
            chars.reindex();
        }
        for m in &self.merges {
            let Some(into) = chars.find(&m.into) else { continue };
            let from: Vec<CharacterId> = m.names.iter().filter_map(|n| chars.find(n)).filter(|&id| id != into).collect();
            if from.is_empty() {
                continue;
            }
            let mut extra = Vec::new();
            let mut count = 0;
            for id in &from {
                if let Some(c) = chars.get(*id) {
                    extra.push(c.name.clone());
                    extra.extend(c.aliases.iter().cloned());
                    count += c.mentions;
                }
            }
            if let Some(c) = chars.list.get_mut(into.0 as usize) {
                c.aliases.extend(extra);
                c.aliases.sort();
                c.aliases.dedup();
                c.mentions += count;
            }
            for mention in chars.mentions.iter_mut() {
                if from.contains(&mention.character) {
                    mention.character = into;
                }
            }
            remove(chars, &from);
        }
        for r in &self.renames {
            let Some(id) = chars.find(&r.from) else { continue };
            if let Some(c) = chars.list.get_mut(id.0 as usize) {
                let old = std::mem::replace(&mut c.name, r.to.clone());
                c.aliases.retain(|a| *a != r.to);
                c.aliases.push(old);
            }
            chars.reindex();
        }
        let ignored: Vec<CharacterId> = self.ignores.iter().filter_map(|i| chars.find(&i.name)).collect();
        if !ignored.is_empty() {
            remove(chars, &ignored);
        }
    }
}

/// Removes characters and renumbers the rest (mentions follow).
fn remove(chars: &mut Characters, gone: &[CharacterId]) {
    let mut map: HashMap<CharacterId, CharacterId> = HashMap::new();
    let mut list = Vec::new();
    for c in chars.list.drain(..) {
        if gone.contains(&c.id) {
            continue;
        }
        map.insert(c.id, CharacterId(list.len() as u32));
        list.push(c);
    }
    chars.list = list;
    chars.mentions.retain_mut(|m| match map.get(&m.character) {
        Some(&n) => {
            m.character = n;
            true
        }
        None => false,
    });
    chars.reindex();
}
