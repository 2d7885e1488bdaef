//! Quality flags: what a reviewer should look at twice. Text rules look at one conversation alone;
//! duplicate rules ask the store for earlier examples with the same fingerprint.

use grimoire_store::Store;
use grimoire_store::table::examples::{Derived, Message, QualityFlag, Role};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::fingerprint::{fingerprint, similarity};
use crate::tokens::TokenCounter;
use crate::validate::{Issue, check_messages};

/// The thresholds behind the flags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct FlagRules {
    /// Fewer tokens than this in all the persona's turns together is too short.
    pub min_assistant_tokens: u32,
    /// More tokens than this in the whole conversation is too long.
    pub max_tokens: u32,
    /// Estimated Jaccard similarity of word 3-shingles from which two examples are near duplicates.
    pub near_duplicate: f64,
    /// At most this many near-duplicate candidates are compared per example.
    pub max_candidates: u32,
}

impl Default for FlagRules {
    fn default() -> Self {
        Self { min_assistant_tokens: 3, max_tokens: 2048, near_duplicate: 0.8, max_candidates: 200 }
    }
}

/// The character the data set trains, and what they are also called.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
pub struct Persona {
    /// Their name as the project knows it ("Elizabeth Bennet").
    pub name: String,
    /// Other names ("Lizzy", "Eliza").
    pub aliases: Vec<String>,
}

/// Honorifics that are part of a name but not a name on their own.
const TITLES: &[&str] = &["mr", "mrs", "miss", "ms", "dr", "sir", "lady", "lord", "madam", "master", "captain", "colonel"];

impl Persona {
    /// Every form of the name to look for: the full name, each part that is not a title, the aliases.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        let mut add = |n: &str| {
            let n = n.trim();
            if n.chars().count() >= 2 && !names.iter().any(|m| m == n) {
                names.push(n.to_string());
            }
        };
        add(&self.name);
        let untitled: Vec<&str> = self
            .name
            .split_whitespace()
            .filter(|p| !TITLES.contains(&bare(p).to_lowercase().as_str()))
            .collect();
        add(&untitled.join(" "));
        for part in self.name.split_whitespace() {
            let bare = part.trim_matches(|c: char| !c.is_alphanumeric());
            if !TITLES.contains(&bare.to_lowercase().as_str()) {
                add(bare);
            }
        }
        for alias in &self.aliases {
            add(alias);
        }
        // Longest first, so "Elizabeth Bennet" is matched before "Elizabeth".
        names.sort_by_key(|n| std::cmp::Reverse(n.len()));
        names
    }
}

const SPEECH_VERBS: &[&str] = &[
    "said", "says", "replied", "replies", "asked", "asks", "cried", "answered", "whispered", "exclaimed", "muttered",
    "shouted", "added", "continued", "observed", "returned", "rejoined", "remarked", "murmured", "sighed", "retorted",
    "laughed", "repeated", "interrupted", "resumed",
];
const PRONOUNS: &[&str] = &["he", "she", "they"];
const CLOSING_QUOTES: &[char] = &['"', '\u{201d}', '\u{2019}', '\''];

fn bare(word: &str) -> &str {
    word.trim_matches(|c: char| !c.is_alphanumeric())
}

fn is_name_like(word: &str) -> bool {
    word != "I" && word.chars().next().is_some_and(char::is_uppercase)
}

/// Narration left in a turn: an inverted speech tag ("said Harry", "replied she"), or a speech tag
/// right after a closing quotation mark (`"No," she said`). "She said nothing" alone is speech.
pub fn has_narration(text: &str) -> bool {
    let words: Vec<&str> = text.split_whitespace().collect();
    for (i, raw) in words.iter().enumerate() {
        let verb = bare(raw).to_lowercase();
        if !SPEECH_VERBS.contains(&verb.as_str()) {
            continue;
        }
        if let Some(next) = words.get(i + 1).map(|w| bare(w)) {
            if PRONOUNS.contains(&next.to_lowercase().as_str()) && !raw.ends_with([',', '.', '!', '?']) {
                return true;
            }
            if is_name_like(next) && !raw.ends_with([',', '.', '!', '?', ':', ';']) {
                return true;
            }
        }
        if i >= 2 {
            let subject = bare(words[i - 1]);
            let before = words[i - 2];
            let tagged = PRONOUNS.contains(&subject.to_lowercase().as_str()) || is_name_like(subject);
            if tagged && before.ends_with(|c: char| CLOSING_QUOTES.contains(&c)) {
                return true;
            }
        }
    }
    false
}

/// How a name appears in the persona's own turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameUse {
    /// "Elizabeth thinks it unwise": speaking of themselves in the third person.
    ThirdPerson,
    /// "Oh, Elizabeth, ...": addressed by their own name.
    Addressed,
}

/// Every use of the persona's name in `text` that is not the persona introducing themselves.
pub fn name_uses(text: &str, names: &[String]) -> Vec<NameUse> {
    let mut uses = Vec::new();
    let mut taken = vec![false; text.len()];
    for name in names {
        for (at, _) in text.match_indices(name.as_str()) {
            let end = at + name.len();
            if taken[at..end].iter().any(|t| *t) {
                continue;
            }
            let before = &text[..at];
            let after = &text[end..];
            let boundary_before = before.chars().next_back().is_none_or(|c| !c.is_alphanumeric());
            let boundary_after = after.chars().next().is_none_or(|c| !c.is_alphanumeric());
            if !boundary_before || !boundary_after {
                continue;
            }
            taken[at..end].iter_mut().for_each(|t| *t = true);
            let lead = before.trim_end().to_lowercase();
            if ["i am", "i'm", "i\u{2019}m", "my name is", "call me", "me,", "myself,"].iter().any(|p| lead.ends_with(p)) {
                continue;
            }
            let prev = before.trim_end().chars().next_back();
            let next = after.chars().next();
            let sentence_start = prev.is_none_or(|c| matches!(c, '.' | '!' | '?' | '"' | '\u{201c}' | ':'));
            let addressed = (prev == Some(',') && next.is_none_or(|c| matches!(c, ',' | '!' | '?' | '.')))
                || (sentence_start && matches!(next, Some(',' | '!')))
                || lead.ends_with(" dear")
                || lead == "dear";
            uses.push(if addressed { NameUse::Addressed } else { NameUse::ThirdPerson });
        }
    }
    uses
}

/// The flags one conversation earns on its own, and its length in tokens.
pub fn text_flags(
    messages: &[Message],
    persona: Option<&Persona>,
    rules: &FlagRules,
    counter: &dyn TokenCounter,
) -> (Vec<QualityFlag>, u32) {
    let mut flags = Vec::new();
    let mut add = |f: QualityFlag| {
        if !flags.contains(&f) {
            flags.push(f);
        }
    };
    let issues = check_messages(messages);
    if issues.iter().any(|i| matches!(i, Issue::EmptyContent { .. })) {
        add(QualityFlag::EmptyTurn);
    }
    if issues.iter().any(|i| !matches!(i, Issue::EmptyContent { .. })) {
        add(QualityFlag::BadTurnOrder);
    }
    let names = persona.map(Persona::names).unwrap_or_default();
    let mut total = 0u32;
    let mut assistant = 0u32;
    for m in messages {
        let n = counter.count(&m.content);
        total = total.saturating_add(n);
        if m.role != Role::Assistant {
            continue;
        }
        assistant = assistant.saturating_add(n);
        for used in name_uses(&m.content, &names) {
            add(match used {
                NameUse::ThirdPerson => QualityFlag::ThirdPerson,
                NameUse::Addressed => QualityFlag::AddressedByName,
            });
        }
        if has_narration(&m.content) {
            add(QualityFlag::Narration);
        }
        if crate::faithful::is_meta_talk(&m.content) {
            add(QualityFlag::MetaTalk);
        }
    }
    if messages.iter().any(|m| m.role == Role::Assistant) && assistant < rules.min_assistant_tokens {
        add(QualityFlag::TooShort);
    }
    if total > rules.max_tokens {
        add(QualityFlag::TooLong);
    }
    flags.sort_by_key(|f| f.bit());
    (flags, total)
}

/// Everything the store keeps about a conversation's text: text flags, duplicate flags against the
/// examples already stored (other than `exclude`, the example being edited), length and fingerprint.
pub fn derive(
    store: &Store,
    messages: &[Message],
    persona: Option<&Persona>,
    exclude: Option<i64>,
    rules: &FlagRules,
    counter: &dyn TokenCounter,
) -> crate::Result<Derived> {
    let (mut flags, token_len) = text_flags(messages, persona, rules, counter);
    let fp = fingerprint(messages);
    let mut duplicate_of = None;
    if !fp.bands.is_empty() {
        if let Some(id) = store.example_exact_duplicate(fp.exact, exclude)? {
            flags.push(QualityFlag::ExactDuplicate);
            duplicate_of = Some(id);
        } else {
            let candidates = store.example_band_candidates(&fp.bands, exclude, rules.max_candidates as usize)?;
            if let Some((id, _)) =
                candidates.iter().find(|(_, sig)| similarity(&fp.signature, sig) >= rules.near_duplicate)
            {
                flags.push(QualityFlag::NearDuplicate);
                duplicate_of = Some(*id);
            }
        }
    }
    flags.sort_by_key(|f| f.bit());
    Ok(Derived { flags, duplicate_of, token_len, fingerprint: Some(fp) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::WhitespaceCounter;

    fn lizzy() -> Persona {
        Persona { name: "Miss Elizabeth Bennet".into(), aliases: vec!["Lizzy".into()] }
    }

    fn flags_of(assistant: &str) -> Vec<QualityFlag> {
        let messages = vec![Message::new(Role::User, "Tell me."), Message::new(Role::Assistant, assistant)];
        text_flags(&messages, Some(&lizzy()), &FlagRules::default(), &WhitespaceCounter).0
    }

    #[test]
    fn persona_names_drop_titles_and_try_the_longest_first() {
        assert_eq!(lizzy().names(), vec!["Miss Elizabeth Bennet", "Elizabeth Bennet", "Elizabeth", "Bennet", "Lizzy"]);
    }

    #[test]
    fn third_person_and_being_addressed_by_name() {
        assert_eq!(flags_of("Elizabeth thinks it most unwise to go."), vec![QualityFlag::ThirdPerson]);
        assert_eq!(flags_of("That was Lizzy's idea, not mine at all."), vec![QualityFlag::ThirdPerson]);
        assert_eq!(flags_of("Oh, Lizzy, you must not say so."), vec![QualityFlag::AddressedByName]);
        assert_eq!(flags_of("Elizabeth, come here at once please."), vec![QualityFlag::AddressedByName]);
        assert!(flags_of("I am Elizabeth Bennet, and I will not.").is_empty());
        assert!(flags_of("My name is Elizabeth and I walk everywhere.").is_empty());
        assert!(flags_of("Elizabethan manners are not mine to judge.").is_empty(), "whole words only");
    }

    #[test]
    fn leftover_narration() {
        assert!(has_narration("I shall not, said Harry, and left."));
        assert!(has_narration("\"No,\" she replied. \"Never.\""));
        assert!(has_narration("\u{201c}Indeed!\u{201d} cried Mrs Bennet."));
        assert!(!has_narration("She said nothing to me about it."));
        assert!(!has_narration("I said no, and I meant it."));
        assert!(!has_narration("You said you would come."));
        assert_eq!(flags_of("I shall not go, replied she, at all."), vec![QualityFlag::Narration]);
    }

    #[test]
    fn length_and_shape() {
        assert_eq!(flags_of("No."), vec![QualityFlag::TooShort]);
        assert_eq!(flags_of("  "), vec![QualityFlag::TooShort, QualityFlag::EmptyTurn]);
        let rules = FlagRules { max_tokens: 5, ..Default::default() };
        let long = vec![Message::new(Role::User, "one two three"), Message::new(Role::Assistant, "four five six")];
        assert_eq!(text_flags(&long, None, &rules, &WhitespaceCounter), (vec![QualityFlag::TooLong], 6));
        let backwards = vec![Message::new(Role::Assistant, "I speak first here."), Message::new(Role::User, "Then I.")];
        assert_eq!(text_flags(&backwards, None, &FlagRules::default(), &WhitespaceCounter).0, vec![QualityFlag::BadTurnOrder]);
    }
}
