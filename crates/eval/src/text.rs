//! Dialogue lines and the word tokenisation every figure uses.

use grimoire_corpus::{Analysis, QuoteRole};
use serde::{Deserialize, Serialize};

/// One line of a book's dialogue and who says it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    /// The speaker's canonical name, `None` when the attribution could not tell.
    pub speaker: Option<String>,
    /// The spoken text, without its quotation marks.
    pub text: String,
    /// How sure the attribution is, 0 to 1.
    pub confidence: f32,
}

/// Every speech of an analysed book with its speaker: the quotation segments of one paragraph
/// that the same speaker says in a row (`"My dear," said she, "..."`) make one line, whose
/// confidence is the lowest of its segments'.
pub fn lines_from_analysis(analysis: &Analysis) -> Vec<Line> {
    let mut out: Vec<Line> = Vec::new();
    let mut last: Option<(usize, Option<String>)> = None;
    for (i, q) in analysis.quotes.iter().enumerate() {
        if q.role != QuoteRole::Speech {
            continue;
        }
        let text = analysis.book.slice(q.inner).trim();
        if text.is_empty() {
            continue;
        }
        let speaker = analysis.speaker_name(i).map(str::to_owned);
        let confidence = analysis.attributions.get(i).map_or(0.0, |a| a.confidence);
        let key = (q.paragraph, speaker.clone());
        match out.last_mut() {
            Some(line) if last.as_ref() == Some(&key) && speaker.is_some() => {
                line.text.push(' ');
                line.text.push_str(text);
                line.confidence = line.confidence.min(confidence);
            }
            _ => out.push(Line {
                speaker,
                text: text.to_owned(),
                confidence,
            }),
        }
        last = Some(key);
    }
    out
}

/// Whether `speaker` is the persona: the same name, or one of `aliases`, case and spacing aside.
pub fn same_person(speaker: &str, persona: &str, aliases: &[String]) -> bool {
    let norm = |s: &str| {
        s.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    let s = norm(speaker);
    s == norm(persona) || aliases.iter().any(|a| norm(a) == s)
}

/// Lower-cased words: runs of letters, digits and inner apostrophes (`don't`, `Bennet’s`);
/// curly apostrophes become straight ones.
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_alphanumeric() {
            cur.extend(c.to_lowercase());
        } else if (c == '\'' || c == '’')
            && !cur.is_empty()
            && chars.peek().is_some_and(|n| n.is_alphanumeric())
        {
            cur.push('\'');
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Text reduced to its words joined by single spaces: how lines are compared for equality.
pub fn normalise(text: &str) -> String {
    words(text).join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_keep_inner_apostrophes_only() {
        assert_eq!(
            words("“Don’t you—'tis Mr. Darcy's!”"),
            vec!["don't", "you", "tis", "mr", "darcy's"]
        );
        assert!(same_person("Elizabeth  Bennet", "elizabeth bennet", &[]));
        assert!(same_person("Lizzy", "Elizabeth Bennet", &["Lizzy".into()]));
    }
}
