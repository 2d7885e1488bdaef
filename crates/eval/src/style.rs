//! Style figures of a set of replies against the canon: length, vocabulary overlap, and the
//! persona's signature words.
//!
//! Signature words are those over-represented in the persona's lines against everybody else's,
//! by the log-odds ratio with an informative Dirichlet prior (Monroe, Colaresi and Quinn 2008,
//! "Fightin' Words", §3.5.1): the prior is the word's frequency in all the dialogue, so rare words
//! do not top the list by chance, and each word's log-odds is divided by its standard deviation.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::text::words;

/// A word the persona says more than the others do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct SignatureWord {
    /// The word, lower-cased.
    pub word: String,
    /// Log-odds ratio divided by its standard deviation.
    pub z: f64,
    /// Times the persona says it.
    pub persona_count: u64,
    /// Times the others say it.
    pub other_count: u64,
}

/// The `n` words with the highest z-scores among those said at least `min_count` times in all.
/// `prior_size` scales the prior (the total pseudo-count α₀).
pub fn signature_words(
    persona: &[&str],
    others: &[&str],
    n: usize,
    min_count: u64,
    prior_size: f64,
) -> Vec<SignatureWord> {
    let count = |lines: &[&str]| {
        let mut c: HashMap<String, u64> = HashMap::new();
        for l in lines {
            for w in words(l) {
                *c.entry(w).or_default() += 1;
            }
        }
        c
    };
    let (p, o) = (count(persona), count(others));
    let np: u64 = p.values().sum();
    let no: u64 = o.values().sum();
    let total = (np + no).max(1) as f64;
    let vocab: HashSet<&String> = p.keys().chain(o.keys()).collect();
    let mut out: Vec<SignatureWord> = vocab
        .into_iter()
        .filter_map(|w| {
            let (yp, yo) = (
                p.get(w).copied().unwrap_or(0),
                o.get(w).copied().unwrap_or(0),
            );
            if yp + yo < min_count {
                return None;
            }
            let alpha = prior_size * (yp + yo) as f64 / total;
            let lo = |y: u64, n: u64| {
                let y = y as f64 + alpha;
                (y / (n as f64 + prior_size - y)).ln()
            };
            let delta = lo(yp, np) - lo(yo, no);
            let var = 1.0 / (yp as f64 + alpha) + 1.0 / (yo as f64 + alpha);
            Some(SignatureWord {
                word: w.clone(),
                z: delta / var.sqrt(),
                persona_count: yp,
                other_count: yo,
            })
        })
        .collect();
    out.sort_by(|a, b| b.z.total_cmp(&a.z).then_with(|| a.word.cmp(&b.word)));
    out.truncate(n);
    out
}

/// Style figures of one model's replies (or of the canon replies themselves).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct StyleFigures {
    /// Replies measured.
    pub replies: usize,
    /// Mean words per reply.
    pub mean_words: f64,
    /// Mean words of the canon replies to the same prompts (the reference).
    pub canon_mean_words: f64,
    /// Distinct words over all words of the replies.
    pub type_token_ratio: f64,
    /// Jaccard overlap of the replies' vocabulary with the canon replies' vocabulary.
    pub vocab_jaccard: f64,
    /// Mean over prompts of the share of the canon reply's distinct words the reply also uses.
    pub canon_word_recall: f64,
    /// Share of the replies' words that the persona uses somewhere in the books.
    pub in_persona_vocab: f64,
    /// Signature words per 100 words of the replies.
    pub signature_per_100: f64,
}

/// Measures `replies` against `canon` (paired by prompt), with the persona's whole vocabulary
/// from the books and its signature words.
pub fn style_figures(
    replies: &[&str],
    canon: &[&str],
    persona_vocab: &HashSet<String>,
    signature: &[SignatureWord],
) -> StyleFigures {
    let sig: HashSet<&str> = signature.iter().map(|s| s.word.as_str()).collect();
    let rw: Vec<Vec<String>> = replies.iter().map(|r| words(r)).collect();
    let cw: Vec<Vec<String>> = canon.iter().map(|r| words(r)).collect();
    let all: Vec<&String> = rw.iter().flatten().collect();
    let n_words = all.len();
    let types: HashSet<&String> = all.iter().copied().collect();
    let canon_types: HashSet<&String> = cw.iter().flatten().collect();
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    let inter = types.intersection(&canon_types).count() as f64;
    let union = types.union(&canon_types).count() as f64;
    let recall: Vec<f64> = rw
        .iter()
        .zip(&cw)
        .filter(|(_, c)| !c.is_empty())
        .map(|(r, c)| {
            let r: HashSet<&String> = r.iter().collect();
            let c: HashSet<&String> = c.iter().collect();
            c.intersection(&r).count() as f64 / c.len() as f64
        })
        .collect();
    StyleFigures {
        replies: replies.len(),
        mean_words: ratio(n_words as f64, replies.len() as f64),
        canon_mean_words: ratio(
            cw.iter().map(Vec::len).sum::<usize>() as f64,
            canon.len() as f64,
        ),
        type_token_ratio: ratio(types.len() as f64, n_words as f64),
        vocab_jaccard: ratio(inter, union),
        canon_word_recall: ratio(recall.iter().sum(), recall.len() as f64),
        in_persona_vocab: ratio(
            all.iter()
                .filter(|w| persona_vocab.contains(w.as_str()))
                .count() as f64,
            n_words as f64,
        ),
        signature_per_100: 100.0
            * ratio(
                all.iter().filter(|w| sig.contains(w.as_str())).count() as f64,
                n_words as f64,
            ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_words_are_the_persona_s_over_represented_ones() {
        let persona = ["I dearly love a laugh", "I dearly love a walk", "a laugh"];
        let others = ["my nerves", "my poor nerves", "a walk", "a ball"];
        let sig = signature_words(&persona, &others, 3, 2, 10.0);
        assert_eq!(sig[0].word, "dearly");
        assert!(sig.iter().all(|s| s.word != "nerves"));
        let vocab: HashSet<String> = ["i", "dearly", "love", "a", "laugh"]
            .map(String::from)
            .into();
        let f = style_figures(
            &["I dearly love it"],
            &["I dearly love a laugh"],
            &vocab,
            &sig,
        );
        assert_eq!(f.mean_words, 4.0);
        assert_eq!(f.canon_mean_words, 5.0);
        assert!((f.canon_word_recall - 0.6).abs() < 1e-9);
        assert!((f.in_persona_vocab - 0.75).abs() < 1e-9);
    }
}
