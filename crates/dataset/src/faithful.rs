//! Faithfulness checks for what a teacher model wrote from a passage (strategies B and C): details the
//! passage does not have, an answer far longer than the passage, the persona left in the third
//! person, and talk about the task instead of the persona's words.
//!
//! These are review flags, not verdicts: each rule is cheap and errs on the side of flagging.

use grimoire_store::table::examples::{Message, QualityFlag, Role};

use crate::flags::Persona;

/// Phrases of a model talking about itself or the task, lowercase.
const META_PHRASES: &[&str] = &[
    "as an ai",
    "as a language model",
    "language model",
    "i'm an ai",
    "i am an ai",
    "here is the rewritten",
    "here's the rewritten",
    "here is the retold",
    "here is a first-person",
    "here's a first-person",
    "here is my rewrite",
    "rewritten passage",
    "the passage describes",
    "the passage says",
    "the text does not",
    "the passage does not",
    "in the first person:",
    "first-person account:",
    "i cannot fulfill",
    "i can't fulfill",
    "i cannot help with",
    "i can't help with",
    "i'm sorry, but i can",
    "i am sorry, but i can",
    "i cannot assist",
    "i can't assist",
];

/// Whether a turn is a refusal or talk about the task ("As an AI...", "Here is the rewritten passage:").
pub fn is_meta_talk(text: &str) -> bool {
    let lower = text.to_lowercase().replace('\u{2019}', "'");
    META_PHRASES.iter().any(|p| lower.contains(p))
}

/// Capitalised words that start no name: sentence openers a model may capitalise mid-sentence, and
/// forms of address that are names only together with one.
const NOT_NAMES: &[&str] = &[
    "I", "I'm", "I'd", "I'll", "I've", "Mr", "Mrs", "Miss", "Ms", "Dr", "Sir", "Lady", "Lord",
    "Madam", "Oh", "Ah", "God", "Heaven", "Heavens", "Yes", "No", "My", "Dear",
];

const NUMBER_WORDS: &[&str] = &[
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
    "thirty",
    "forty",
    "fifty",
    "sixty",
    "seventy",
    "eighty",
    "ninety",
    "hundred",
    "thousand",
    "million",
];

/// Names, places and numbers in `output` that `source` does not contain (each once, in order).
///
/// A name is a capitalised word that does not open a sentence; a number is a run of digits or a
/// number word from "two" up. Comparison ignores case and a trailing possessive.
pub fn unsupported_details(output: &str, source: &str) -> Vec<String> {
    let source_words: std::collections::HashSet<String> =
        words(source).map(|(w, _)| normalise(w)).collect();
    let mut found: Vec<String> = Vec::new();
    for (word, sentence_start) in words(output) {
        let bare = word.trim_end_matches("'s").trim_end_matches("\u{2019}s");
        if bare.is_empty() {
            continue;
        }
        let is_number = bare.chars().all(|c| c.is_ascii_digit())
            || NUMBER_WORDS.contains(&bare.to_lowercase().as_str());
        let is_name = !sentence_start
            && bare.chars().next().is_some_and(char::is_uppercase)
            && bare.chars().count() >= 2
            && !NOT_NAMES.contains(&bare);
        if !(is_number || is_name) {
            continue;
        }
        let key = normalise(bare);
        if !source_words.contains(&key) && !found.iter().any(|f| normalise(f) == key) {
            found.push(bare.to_string());
        }
    }
    found
}

fn normalise(word: &str) -> String {
    word.trim_end_matches("'s")
        .trim_end_matches("\u{2019}s")
        .to_lowercase()
}

/// The words of `text` (letters, digits and inner apostrophes), each with whether it opens a sentence.
fn words(text: &str) -> impl Iterator<Item = (&str, bool)> {
    let mut sentence_start = true;
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let is_word = |c: char| c.is_alphanumeric() || c == '\'' || c == '\u{2019}';
    for (i, c) in text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')))
    {
        if is_word(c) {
            start.get_or_insert(i);
            continue;
        }
        if let Some(s) = start.take() {
            let w = text[s..i].trim_matches(|c| c == '\'' || c == '\u{2019}');
            if !w.is_empty() {
                out.push((w, sentence_start));
                sentence_start = false;
            }
        }
        if matches!(
            c,
            '.' | '!' | '?' | '"' | '\u{201c}' | '\u{201d}' | ':' | ';' | '\n' | '(' | '\u{2014}'
        ) {
            sentence_start = true;
        }
    }
    out.into_iter()
}

const FIRST_PERSON: &[&str] = &[
    "i", "me", "my", "mine", "myself", "i'm", "i'd", "i'll", "i've", "we", "us", "our",
];
const THIRD_PERSON: &[&str] = &[
    "she", "her", "hers", "herself", "he", "him", "his", "himself",
];

/// Whether a retelling stayed in the third person: no first-person pronoun and several third-person
/// ones.
pub fn stays_third_person(text: &str) -> bool {
    let mut first = 0;
    let mut third = 0;
    for (w, _) in words(text) {
        let w = w.to_lowercase().replace('\u{2019}', "'");
        if FIRST_PERSON.contains(&w.as_str()) {
            first += 1;
        } else if THIRD_PERSON.contains(&w.as_str()) {
            third += 1;
        }
    }
    first == 0 && third >= 2
}

/// How much longer than the passage the persona's turns may be (in characters) before they are flagged.
pub const MAX_LENGTH_RATIO: f64 = 1.5;

/// The flags of a teacher's conversation measured against the passage it was written from.
pub fn source_flags(
    messages: &[Message],
    source: &str,
    _persona: Option<&Persona>,
) -> Vec<QualityFlag> {
    let mut flags = Vec::new();
    let assistant: Vec<&str> = messages
        .iter()
        .filter(|m| m.role == Role::Assistant)
        .map(|m| m.content.as_str())
        .collect();
    let written: String = messages
        .iter()
        .filter(|m| m.role != Role::System)
        .map(|m| m.content.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    if !unsupported_details(&written, source).is_empty() {
        flags.push(QualityFlag::UnsupportedDetail);
    }
    let answer_chars: usize = assistant.iter().map(|a| a.chars().count()).sum();
    if answer_chars as f64 > source.chars().count() as f64 * MAX_LENGTH_RATIO + 100.0 {
        flags.push(QualityFlag::LongerThanSource);
    }
    if assistant.iter().any(|a| stays_third_person(a)) {
        flags.push(QualityFlag::ThirdPerson);
    }
    if messages
        .iter()
        .any(|m| m.role != Role::System && is_meta_talk(&m.content))
    {
        flags.push(QualityFlag::MetaTalk);
    }
    flags.sort_by_key(|f| f.bit());
    flags
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "Elizabeth walked to Netherfield alone. Her petticoat was six inches deep in mud, \
                          and Mr. Darcy thought her eyes brightened by the exercise.";

    fn conv(user: &str, assistant: &str) -> Vec<Message> {
        vec![
            Message::new(Role::User, user),
            Message::new(Role::Assistant, assistant),
        ]
    }

    #[test]
    fn names_and_numbers_not_in_the_passage() {
        assert!(
            unsupported_details(
                "I walked to Netherfield; my petticoat was six inches deep.",
                SOURCE
            )
            .is_empty()
        );
        assert_eq!(
            unsupported_details("I walked to Pemberley with Jane, seven miles.", SOURCE),
            vec!["Pemberley", "Jane", "seven"]
        );
        assert_eq!(
            unsupported_details("It took 3 hours, and Darcy's look said so.", SOURCE),
            vec!["3"]
        );
        assert!(
            unsupported_details("Walking there, I felt free.", SOURCE).is_empty(),
            "sentence openers are not names"
        );
    }

    #[test]
    fn flags_against_the_source() {
        let ok = conv(
            "Why did you walk to Netherfield?",
            "I walked to Netherfield alone, and I did not mind the mud.",
        );
        assert!(source_flags(&ok, SOURCE, None).is_empty());
        let third = conv(
            "What happened?",
            "She walked to Netherfield alone and her petticoat was muddy.",
        );
        assert_eq!(
            source_flags(&third, SOURCE, None),
            vec![QualityFlag::ThirdPerson]
        );
        let long = conv("Tell me.", &"I walked alone to Netherfield. ".repeat(20));
        assert_eq!(
            source_flags(&long, SOURCE, None),
            vec![QualityFlag::LongerThanSource]
        );
        let meta = conv(
            "Tell me.",
            "Here is the rewritten passage: I walked to Netherfield.",
        );
        assert_eq!(
            source_flags(&meta, SOURCE, None),
            vec![QualityFlag::MetaTalk]
        );
        let invented = conv("Did you see Wickham?", "I saw him at Meryton.");
        assert_eq!(
            source_flags(&invented, SOURCE, None),
            vec![QualityFlag::UnsupportedDetail]
        );
    }

    #[test]
    fn meta_talk() {
        assert!(is_meta_talk("As an AI language model, I cannot"));
        assert!(is_meta_talk("I\u{2019}m sorry, but I can\u{2019}t do that"));
        assert!(!is_meta_talk("I am sorry for my sister's sake."));
    }
}
