//! The persona classifier: does a line sound like the persona or like somebody else in the same
//! books?
//!
//! Logistic regression over hashed sparse features (lower-cased word unigrams and bigrams, the
//! first word, punctuation marks, a length bucket), trained on the book's own dialogue with the
//! two classes weighted equally, so a probability over 0.5 means "more like the persona than like
//! the others" whatever the share of persona lines. Training is plain SGD with a decaying step
//! and L2 on the touched weights, in a seeded order, so the same lines give the same model.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::text::words;

/// Hashed feature space (2^18 weights, 1 MB).
const DIM_BITS: u32 = 18;

/// Training settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClassifierOptions {
    /// Passes over the training lines.
    pub epochs: usize,
    /// First step size.
    pub learning_rate: f64,
    /// L2 penalty.
    pub l2: f64,
    /// Lines with fewer words are left out (too short to tell anyone by).
    pub min_words: usize,
    /// Cross-validation folds used to measure accuracy.
    pub folds: usize,
    /// Seed of the split and the order.
    pub seed: u64,
}

impl Default for ClassifierOptions {
    fn default() -> Self {
        ClassifierOptions {
            epochs: 10,
            learning_rate: 0.02,
            l2: 1e-3,
            min_words: 4,
            folds: 5,
            seed: 7,
        }
    }
}

/// How well the classifier tells the persona's lines from the others' on lines it did not see.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ClassifierReport {
    /// Persona lines (each held out once).
    pub persona_lines: usize,
    /// Other characters' lines (each held out once).
    pub other_lines: usize,
    /// Cross-validation folds.
    pub folds: usize,
    /// Share of held-out lines classified right.
    pub accuracy: f64,
    /// Mean of the two recalls (0.5 is chance whatever the class balance).
    pub balanced_accuracy: f64,
    /// Held-out persona lines judged to be the persona.
    pub persona_recall: f64,
    /// Held-out other lines judged not to be the persona.
    pub other_recall: f64,
}

/// A trained classifier.
#[derive(Debug, Clone)]
pub struct PersonaClassifier {
    weights: Vec<f32>,
    bias: f64,
}

fn fnv1a(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h ^= 0x1f;
            h = h.wrapping_mul(0x100_0000_01b3);
        }
        for b in p.bytes() {
            h ^= b as u64;
            h = h.wrapping_mul(0x100_0000_01b3);
        }
    }
    h
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The sparse feature vector of a text: hashed indices, each with value 1/√n.
fn features(text: &str) -> Vec<(usize, f32)> {
    let mask = (1u64 << DIM_BITS) - 1;
    let w = words(text);
    let mut idx: Vec<usize> = Vec::with_capacity(2 * w.len() + 8);
    let mut add = |parts: &[&str]| idx.push((fnv1a(parts) & mask) as usize);
    for t in &w {
        add(&["w", t]);
    }
    for pair in w.windows(2) {
        add(&["b", &pair[0], &pair[1]]);
    }
    if let Some(first) = w.first() {
        add(&["first", first]);
    }
    for (mark, name) in [
        ('!', "!"),
        ('?', "?"),
        (';', ";"),
        ('—', "dash"),
        ('-', "dash"),
        (',', ","),
    ] {
        if text.contains(mark) {
            add(&["p", name]);
        }
    }
    let bucket = (usize::BITS - w.len().leading_zeros()).to_string();
    add(&["len", &bucket]);
    idx.sort_unstable();
    idx.dedup();
    let v = 1.0 / (idx.len().max(1) as f32).sqrt();
    idx.into_iter().map(|i| (i, v)).collect()
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

impl PersonaClassifier {
    /// Trains on `(text, is_persona)` samples, both classes weighted equally.
    pub fn train(samples: &[(&str, bool)], options: &ClassifierOptions) -> Self {
        let feats: Vec<Vec<(usize, f32)>> = samples.iter().map(|(t, _)| features(t)).collect();
        let n_pos = samples.iter().filter(|s| s.1).count().max(1) as f64;
        let n_neg = samples.iter().filter(|s| !s.1).count().max(1) as f64;
        let n = samples.len() as f64;
        let (w_pos, w_neg) = (n / (2.0 * n_pos), n / (2.0 * n_neg));
        let mut weights = vec![0f32; 1 << DIM_BITS];
        let mut bias = 0.0f64;
        let mut order: Vec<usize> = (0..samples.len()).collect();
        let mut rng = options.seed ^ 0x5eed;
        let mut t = 0usize;
        for _ in 0..options.epochs {
            for i in (1..order.len()).rev() {
                let j = (splitmix(&mut rng) % (i as u64 + 1)) as usize;
                order.swap(i, j);
            }
            for &k in &order {
                t += 1;
                let lr = options.learning_rate / (1.0 + t as f64 / n.max(1.0)).sqrt();
                let x = &feats[k];
                let z = bias + x.iter().map(|&(i, v)| (weights[i] * v) as f64).sum::<f64>();
                let (y, cw) = if samples[k].1 {
                    (1.0, w_pos)
                } else {
                    (0.0, w_neg)
                };
                let g = (sigmoid(z) - y) * cw;
                for &(i, v) in x {
                    let w = weights[i] as f64;
                    weights[i] = (w - lr * (g * v as f64 + options.l2 * w)) as f32;
                }
                bias -= lr * g * 0.1;
            }
        }
        PersonaClassifier { weights, bias }
    }

    /// The probability that `text` is the persona's, under equal class priors.
    pub fn probability(&self, text: &str) -> f64 {
        let z = self.bias
            + features(text)
                .iter()
                .map(|&(i, v)| (self.weights[i] * v) as f64)
                .sum::<f64>();
        sigmoid(z)
    }

    /// Whether `text` is judged to be the persona's.
    pub fn is_persona(&self, text: &str) -> bool {
        self.probability(text) > 0.5
    }

    /// Measures the classifier by k-fold cross-validation (lines shorter than `min_words`
    /// dropped; folds by a seeded hash of the text, so a line repeated in the book never sits
    /// on both sides), then trains on all of them. Returns the model trained on all lines and
    /// the held-out report summed over the folds.
    pub fn fit(samples: &[(&str, bool)], options: &ClassifierOptions) -> (Self, ClassifierReport) {
        let kept: Vec<(&str, bool)> = samples
            .iter()
            .copied()
            .filter(|(t, _)| words(t).len() >= options.min_words)
            .collect();
        let folds = options.folds.max(2) as u64;
        let seed = options.seed.to_string();
        let fold_of: Vec<u64> = kept.iter().map(|s| fnv1a(&[&seed, s.0]) % folds).collect();
        let (mut tp, mut tn, mut pos, mut neg) = (0usize, 0usize, 0usize, 0usize);
        for f in 0..folds {
            let train: Vec<(&str, bool)> = kept
                .iter()
                .zip(&fold_of)
                .filter(|(_, k)| **k != f)
                .map(|(s, _)| *s)
                .collect();
            let model = PersonaClassifier::train(&train, options);
            for (s, _) in kept.iter().zip(&fold_of).filter(|(_, k)| **k == f) {
                let said = model.is_persona(s.0);
                if s.1 {
                    pos += 1;
                    tp += said as usize;
                } else {
                    neg += 1;
                    tn += !said as usize;
                }
            }
        }
        let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let persona_recall = ratio(tp, pos);
        let other_recall = ratio(tn, neg);
        let report = ClassifierReport {
            persona_lines: pos,
            other_lines: neg,
            folds: folds as usize,
            accuracy: ratio(tp + tn, pos + neg),
            balanced_accuracy: (persona_recall + other_recall) / 2.0,
            persona_recall,
            other_recall,
        };
        (PersonaClassifier::train(&kept, options), report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_a_separable_toy_set() {
        let mut samples = Vec::new();
        for i in 0..60 {
            samples.push((
                if i % 2 == 0 {
                    "I dearly love a laugh, indeed"
                } else {
                    "upon my word, I dearly love a walk"
                },
                true,
            ));
            samples.push((
                if i % 2 == 0 {
                    "my nerves, my poor nerves"
                } else {
                    "you have no compassion for my nerves"
                },
                false,
            ));
        }
        let c = PersonaClassifier::train(&samples, &ClassifierOptions::default());
        assert!(c.probability("I dearly love a laugh") > 0.6);
        assert!(c.probability("oh my nerves") < 0.4);
    }
}
