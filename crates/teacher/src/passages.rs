//! Choosing the passages a teacher retells: narration (outside quotations) that names the persona, or
//! refers to them with a pronoun while they are the last person of their gender named, cut into
//! chunks of whole paragraphs under a size limit. Each chunk keeps its spans in the book.

use grimoire_dataset::Persona;
use grimoire_store::table::corpus::{StoredParagraph, StoredQuote};
use grimoire_store::table::examples::SourceSpan;
use serde::{Deserialize, Serialize};

/// One passage to send to a teacher.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Passage {
    /// The book.
    pub book_id: i64,
    /// The book's title.
    pub book_title: String,
    /// The chapter, from 0.
    pub chapter: i64,
    /// The chapter's title.
    pub chapter_title: Option<String>,
    /// The text: whole paragraphs, a blank line between them.
    pub text: String,
    /// Where each paragraph (or piece of one) lies in the book, in characters.
    pub spans: Vec<SourceSpan>,
}

/// How passages are chosen and cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelectOptions {
    /// The most characters in one passage (a longer paragraph is cut at sentence ends).
    pub max_chars: usize,
    /// Paragraphs with less narration than this (in characters, outside quotations) are skipped:
    /// a speech tag is not a scene.
    pub min_narration: usize,
}

impl Default for SelectOptions {
    fn default() -> Self {
        Self {
            max_chars: 1500,
            min_narration: 120,
        }
    }
}

/// Who the passages are about, and who else could be the "she" or "he" of a sentence.
#[derive(Debug, Clone)]
pub struct Cast {
    /// The persona.
    pub persona: Persona,
    /// `male`, `female` or `unknown` (no pronoun is then followed).
    pub gender: String,
    /// The names that mark a passage as the persona's ([`Cast::new`] leaves out a surname the family
    /// shares).
    pub names: Vec<String>,
    /// Every name of the other characters of the persona's gender.
    pub rivals: Vec<String>,
}

impl Cast {
    /// The persona among `others`: each other character's names (name and aliases) and gender.
    pub fn new(persona: Persona, gender: &str, others: &[(Vec<String>, String)]) -> Self {
        let all = persona.names();
        // "Bennet" alone names Mr. and Mrs. Bennet as often as Elizabeth.
        let shared = |n: &String| {
            others
                .iter()
                .flat_map(|(names, _)| names)
                .any(|o| o != n && last_word(o, n).is_some())
        };
        let mut names: Vec<String> = all.iter().filter(|n| !shared(n)).cloned().collect();
        if names.is_empty() {
            names = all.into_iter().take(1).collect();
        }
        let rivals = others
            .iter()
            .filter(|(_, g)| gender == "unknown" || g == gender)
            .flat_map(|(names, _)| names.iter().cloned())
            .filter(|n| !names.contains(n))
            .collect();
        Self {
            persona,
            gender: gender.to_string(),
            names,
            rivals,
        }
    }
}

/// One book, as the store has it.
#[derive(Debug, Clone, Copy)]
pub struct BookText<'a> {
    /// Its id.
    pub id: i64,
    /// Its title.
    pub title: &'a str,
    /// Its decoded text.
    pub text: &'a str,
    /// Its paragraphs, in order.
    pub paragraphs: &'a [StoredParagraph],
    /// Its quotations, in order.
    pub quotes: &'a [StoredQuote],
    /// Its chapter titles by index.
    pub chapter_titles: &'a [String],
}

fn pronouns(gender: &str) -> &'static [&'static str] {
    match gender {
        "female" => &["she", "her", "hers", "herself"],
        "male" => &["he", "him", "his", "himself"],
        _ => &[],
    }
}

/// The last place `name` occurs in `hay` as a whole word.
fn last_word(hay: &str, name: &str) -> Option<usize> {
    hay.rmatch_indices(name).map(|(at, _)| at).find(|&at| {
        let before = hay[..at].chars().next_back();
        let after = hay[at + name.len()..].chars().next();
        before.is_none_or(|c| !c.is_alphanumeric()) && after.is_none_or(|c| !c.is_alphanumeric())
    })
}

fn has_pronoun(narration: &str, pronouns: &[&str]) -> bool {
    !pronouns.is_empty()
        && narration
            .split(|c: char| !c.is_alphanumeric())
            .any(|w| w.len() <= 7 && pronouns.iter().any(|p| w.eq_ignore_ascii_case(p)))
}

/// The passages about the cast's persona in one book, in order.
pub fn select(book: &BookText<'_>, cast: &Cast, options: &SelectOptions) -> Vec<Passage> {
    // Character offsets to byte offsets, once per book.
    let bytes: Vec<usize> = book
        .text
        .char_indices()
        .map(|(b, _)| b)
        .chain(std::iter::once(book.text.len()))
        .collect();
    let byte = |c: i64| {
        bytes
            .get(c.max(0) as usize)
            .copied()
            .unwrap_or(book.text.len())
    };
    let names = &cast.names;
    let pronouns = pronouns(&cast.gender);
    let mut selected: Vec<&StoredParagraph> = Vec::new();
    let mut focus = false;
    let mut chapter = -1;
    let mut quotes = book.quotes.iter().peekable();
    for p in book.paragraphs {
        if p.chapter != chapter {
            chapter = p.chapter;
            focus = false;
        }
        // Narration: the paragraph without its quotations.
        let mut narration = String::new();
        let mut at = p.start;
        while let Some(q) = quotes.peek() {
            if q.start >= p.end {
                break;
            }
            let Some(q) = quotes.next() else { break };
            if q.end <= at {
                continue;
            }
            if q.start > at {
                narration.push_str(&book.text[byte(at)..byte(q.start)]);
                narration.push(' ');
            }
            at = at.max(q.end);
        }
        if at < p.end {
            narration.push_str(&book.text[byte(at)..byte(p.end)]);
        }
        let named = names.iter().filter_map(|n| last_word(&narration, n)).max();
        let rival = cast
            .rivals
            .iter()
            .filter_map(|n| last_word(&narration, n))
            .max();
        let referred =
            focus && named.is_none() && rival.is_none() && has_pronoun(&narration, pronouns);
        if (named.is_some() || referred)
            && narration.trim().chars().count() >= options.min_narration
        {
            selected.push(p);
        }
        match (named, rival) {
            (Some(n), Some(r)) => focus = n > r,
            (Some(_), None) => focus = true,
            (None, Some(_)) => focus = false,
            (None, None) => {}
        }
    }
    chunk(book, &selected, options, &byte)
}

fn chunk(
    book: &BookText<'_>,
    selected: &[&StoredParagraph],
    options: &SelectOptions,
    byte: &dyn Fn(i64) -> usize,
) -> Vec<Passage> {
    let mut out: Vec<Passage> = Vec::new();
    let mut last: Option<&StoredParagraph> = None;
    for p in selected {
        let text = book.text[byte(p.start)..byte(p.end)].trim();
        if text.is_empty() {
            continue;
        }
        let pieces = split_long(
            text,
            p.start + leading_chars(&book.text[byte(p.start)..byte(p.end)]),
            options.max_chars,
        );
        for (piece, start, end) in pieces {
            let span = SourceSpan {
                book_id: book.id,
                start,
                end,
            };
            let joins = last.is_some_and(|l| l.chapter == p.chapter && l.idx + 1 >= p.idx)
                && out.last().is_some_and(|o| {
                    o.text.chars().count() + 2 + piece.chars().count() <= options.max_chars
                });
            match out.last_mut() {
                Some(o) if joins => {
                    o.text.push_str("\n\n");
                    o.text.push_str(piece);
                    o.spans.push(span);
                }
                _ => out.push(Passage {
                    book_id: book.id,
                    book_title: book.title.to_string(),
                    chapter: p.chapter,
                    chapter_title: book
                        .chapter_titles
                        .get(p.chapter.max(0) as usize)
                        .cloned()
                        .filter(|t| !t.trim().is_empty()),
                    text: piece.to_string(),
                    spans: vec![span],
                }),
            }
            last = Some(p);
        }
    }
    out
}

fn leading_chars(s: &str) -> i64 {
    (s.chars().count() - s.trim_start().chars().count()) as i64
}

/// Cuts a paragraph longer than `max` characters at sentence ends (or, for one endless sentence, at
/// a space), with each piece's character span.
fn split_long(text: &str, start: i64, max: usize) -> Vec<(&str, i64, i64)> {
    let max = max.max(80);
    let mut out = Vec::new();
    let mut rest = text;
    let mut at = start;
    while rest.chars().count() > max {
        let limit = rest
            .char_indices()
            .nth(max)
            .map(|(b, _)| b)
            .unwrap_or(rest.len());
        let window = &rest[..limit];
        let cut = window
            .rmatch_indices(['.', '!', '?'])
            .map(|(i, _)| i + 1)
            .find(|&i| i > limit / 3 && rest[i..].starts_with(char::is_whitespace))
            .or_else(|| window.rfind(' '))
            .unwrap_or(limit);
        let piece = rest[..cut].trim_end();
        let n = piece.chars().count() as i64;
        out.push((piece, at, at + n));
        let skipped = rest[..cut].chars().count() as i64;
        let next = rest[cut..].trim_start();
        at += skipped + (rest[cut..].chars().count() - next.chars().count()) as i64;
        rest = next;
    }
    if !rest.is_empty() {
        out.push((rest, at, at + rest.chars().count() as i64));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn para(text: &str, from: usize, idx: i64, chapter: i64) -> StoredParagraph {
        let start = text[..from].chars().count() as i64;
        let len = text[from..]
            .split("\n\n")
            .next()
            .unwrap_or("")
            .chars()
            .count() as i64;
        StoredParagraph {
            idx,
            chapter,
            start,
            end: start + len,
        }
    }

    fn cast() -> Cast {
        let others = [
            (
                vec!["Jane".to_string(), "Jane Bennet".to_string()],
                "female".to_string(),
            ),
            (vec!["Mr. Bennet".into()], "male".into()),
        ];
        let cast = Cast::new(
            Persona {
                name: "Elizabeth Bennet".into(),
                aliases: vec!["Lizzy".into()],
            },
            "female",
            &others,
        );
        assert_eq!(
            cast.names,
            vec!["Elizabeth Bennet", "Elizabeth", "Lizzy"],
            "the family name is not hers alone"
        );
        assert_eq!(cast.rivals, vec!["Jane", "Jane Bennet"]);
        cast
    }

    #[test]
    fn narration_naming_or_following_the_persona_is_chosen_in_chunks() {
        let paras = [
            "Elizabeth walked on alone, crossing field after field at a quick pace, jumping over stiles and springing over puddles.",
            "She found herself at last within view of the house, with weary ankles, dirty stockings, and a face glowing with warmth.",
            "\"I am glad,\" said Jane, and Jane went upstairs to rest, tired from the long fever and the many days in bed upstairs.",
            "She slept until noon, and nobody in the household disturbed her, for the apothecary had ordered perfect quiet for her.",
            "\"Lizzy,\" cried her mother. \"Lizzy, where have you been all this while, and what have you done with your petticoat?\"",
        ];
        let text = paras.join("\n\n");
        let mut offsets = Vec::new();
        let mut at = 0;
        for p in &paras {
            offsets.push(at);
            at += p.len() + 2;
        }
        let paragraphs: Vec<_> = offsets
            .iter()
            .enumerate()
            .map(|(i, &o)| para(&text, o, i as i64, 0))
            .collect();
        let q4 = offsets[4] as i64;
        let second = paras[4].find("\"Lizzy, where").unwrap() as i64;
        let quotes = vec![
            StoredQuote {
                id: 1,
                book_id: 1,
                start: offsets[2] as i64,
                end: offsets[2] as i64 + 11,
                paragraph: 2,
                role: "speech".into(),
                speaker: None,
                kind: "none".into(),
                confidence: 0.0,
                reason: String::new(),
            },
            StoredQuote {
                id: 2,
                book_id: 1,
                start: q4,
                end: q4 + 8,
                paragraph: 4,
                role: "speech".into(),
                speaker: None,
                kind: "none".into(),
                confidence: 0.0,
                reason: String::new(),
            },
            StoredQuote {
                id: 3,
                book_id: 1,
                start: q4 + second,
                end: q4 + paras[4].len() as i64,
                paragraph: 4,
                role: "speech".into(),
                speaker: None,
                kind: "none".into(),
                confidence: 0.0,
                reason: String::new(),
            },
        ];
        let book = BookText {
            id: 1,
            title: "P&P",
            text: &text,
            paragraphs: &paragraphs,
            quotes: &quotes,
            chapter_titles: &["Chapter 1".into()],
        };
        let options = SelectOptions {
            max_chars: 400,
            min_narration: 60,
        };
        let passages = select(&book, &cast(), &options);
        // 1 names her, 2 follows with "She"; 3 names Jane, so 4's "She" is Jane; 5 is all speech.
        assert_eq!(passages.len(), 1, "{passages:#?}");
        assert_eq!(passages[0].spans.len(), 2);
        assert_eq!(passages[0].text, format!("{}\n\n{}", paras[0], paras[1]));
        let span = passages[0].spans[1];
        let chars: Vec<char> = text.chars().collect();
        assert_eq!(
            chars[span.start as usize..span.end as usize]
                .iter()
                .collect::<String>(),
            paras[1]
        );
        assert_eq!(passages[0].chapter_title.as_deref(), Some("Chapter 1"));
        // A smaller limit keeps the paragraphs apart.
        let small = select(
            &book,
            &cast(),
            &SelectOptions {
                max_chars: 150,
                min_narration: 60,
            },
        );
        assert_eq!(small.len(), 2);
    }

    #[test]
    fn long_paragraphs_are_cut_at_sentence_ends_with_exact_spans() {
        let text = "One sentence here is long enough. Another sentence follows it closely! And a third one ends the paragraph?";
        let pieces = split_long(text, 10, 80);
        assert!(pieces.len() >= 2, "{pieces:?}");
        let chars: Vec<char> = text.chars().collect();
        for (piece, start, end) in &pieces {
            assert!(piece.chars().count() <= 80);
            assert_eq!(
                &chars[(*start - 10) as usize..(*end - 10) as usize]
                    .iter()
                    .collect::<String>(),
                piece
            );
        }
        assert!(pieces[0].0.ends_with('.') || pieces[0].0.ends_with('!'));
    }
}
