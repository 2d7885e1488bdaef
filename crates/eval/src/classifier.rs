//! The persona classifier: does a line sound like the persona or like somebody else in the same
//! books?
//!
//! Short-text authorship attribution in the usual way (Stamatatos, "A survey of modern authorship
//! attribution methods", 2009; Sapkota et al., "Not all character n-grams are created equal",
//! 2015):
//!
//! - **Features**: TF-IDF, L2-normalised (sublinear term frequency `1 + ln tf`, smooth idf
//!   `ln((1 + n) / (1 + df)) + 1`, as scikit-learn's `TfidfVectorizer`), of word unigrams and
//!   bigrams over words *and* punctuation marks with start and end markers (so function words, a
//!   first word, "! —" or a closing "?" count); optionally a second block, weighted the same, of
//!   character n-grams of the lower-cased line. Only features seen in at least `min_df`
//!   training lines are kept; the vocabulary and idf come from the training lines alone.
//! - **Model**: L2-regularised logistic regression with the two classes weighted equally (each
//!   line weighs `n / (2 n_class)`), fitted by L-BFGS (Liu and Nocedal, 1989) on the primal
//!   `½‖w‖² + C Σ s_i log(1 + e^(−y_i (w·x_i + b)))`.
//! - **Tuning**: `C` is chosen by k-fold cross-validation on the training lines only (the best
//!   out-of-fold balanced accuracy, ties to the smaller `C`), and the out-of-fold scores of that
//!   `C` fit a Platt sigmoid (Platt, 1999; weighted like the classes), so [`probability`] is
//!   calibrated under equal priors: over 0.5 means "more like the persona than like the others",
//!   whatever the share of persona lines.
//! - **Measure**: [`PersonaClassifier::fit`] reports balanced accuracy from an outer
//!   cross-validation whose every fold tunes and trains on its own training part (nested), so the
//!   figure never sees the lines it is measured on.
//!
//! Everything is seeded and ordered (folds by a hash of the text, the vocabulary by sorted
//! keys), so the same lines give the same model.
//!
//! [`probability`]: PersonaClassifier::probability

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::text::words;

/// Training settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClassifierOptions {
    /// Lines with fewer words are left out (too short to tell anyone by).
    pub min_words: usize,
    /// Outer cross-validation folds used to measure accuracy.
    pub folds: usize,
    /// Inner cross-validation folds that choose `C` and fit the calibration.
    pub tuning_folds: usize,
    /// Inverse L2 strengths tried, smallest first.
    pub c_grid: Vec<f64>,
    /// Features seen in fewer training lines are dropped.
    pub min_df: usize,
    /// Shortest and longest character n-grams, as a second block; none: words and marks only.
    /// Off by default: on Pride and Prejudice 2–5-grams made the model ten times slower with no
    /// gain in cross-validated balanced accuracy (docs/benchmarks.md).
    pub char_ngrams: Option<(usize, usize)>,
    /// Seed of the fold split.
    pub seed: u64,
}

impl Default for ClassifierOptions {
    fn default() -> Self {
        ClassifierOptions {
            min_words: 4,
            folds: 5,
            tuning_folds: 4,
            c_grid: vec![0.03, 0.1, 0.3, 1.0, 3.0],
            min_df: 2,
            char_ngrams: None,
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

/// One line's raw features: hashed n-gram keys with their counts, per block, sorted by key.
#[derive(Debug, Clone, Default)]
struct Raw {
    blocks: [Vec<(u64, f32)>; 2],
}

/// Vocabulary and idf fitted on training lines.
#[derive(Debug, Clone, Default)]
struct Vocab {
    index: HashMap<u64, u32>,
    idf: Vec<f32>,
}

/// A sparse, L2-normalised feature vector: (vocabulary index, value), sorted by index.
type Sparse = Vec<(u32, f32)>;

/// A trained classifier.
#[derive(Debug, Clone)]
pub struct PersonaClassifier {
    options: ClassifierOptions,
    vocab: Vocab,
    weights: Vec<f32>,
    bias: f64,
    /// Platt's sigmoid over the decision value: `p = σ(a z + b)`.
    platt: (f64, f64),
    /// The `C` the tuning chose.
    c: f64,
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

/// Words and punctuation marks in order; dashes and quotes in one spelling each.
fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let word_end = rest
            .char_indices()
            .find(|&(i, c)| {
                !(c.is_alphanumeric()
                    || ((c == '\'' || c == '’')
                        && i > 0
                        && rest[i + c.len_utf8()..]
                            .chars()
                            .next()
                            .is_some_and(char::is_alphanumeric)))
            })
            .map_or(rest.len(), |(i, _)| i);
        if word_end > 0 {
            out.extend(words(&rest[..word_end]));
            rest = &rest[word_end..];
            continue;
        }
        let Some(c) = rest.chars().next() else { break };
        rest = &rest[c.len_utf8()..];
        let mark = match c {
            '—' | '–' => "—",
            '-' if rest.starts_with('-') => {
                rest = rest.trim_start_matches('-');
                "—"
            }
            '.' if rest.starts_with("..") => {
                rest = rest.trim_start_matches('.');
                "…"
            }
            '…' => "…",
            '!' => "!",
            '?' => "?",
            ',' => ",",
            ';' => ";",
            ':' => ":",
            '.' => ".",
            '(' | ')' => "(",
            '"' | '“' | '”' | '\'' | '‘' | '’' => "'",
            _ => continue,
        };
        out.push(mark.to_owned());
    }
    out
}

/// The line lower-cased with one spelling per dash and quote and single spaces.
fn char_text(text: &str) -> Vec<char> {
    let mut out = vec![' '];
    for c in text.chars().flat_map(char::to_lowercase) {
        let c = match c {
            '“' | '”' => '"',
            '‘' | '’' => '\'',
            '–' => '—',
            c if c.is_whitespace() => ' ',
            c => c,
        };
        if c == ' ' && out.last() == Some(&' ') {
            continue;
        }
        out.push(c);
    }
    if out.last() != Some(&' ') {
        out.push(' ');
    }
    out
}

fn counted(mut keys: Vec<u64>) -> Vec<(u64, f32)> {
    keys.sort_unstable();
    let mut out: Vec<(u64, f32)> = Vec::with_capacity(keys.len());
    for k in keys {
        match out.last_mut() {
            Some((last, n)) if *last == k => *n += 1.0,
            _ => out.push((k, 1.0)),
        }
    }
    out
}

fn raw_features(text: &str, char_ngrams: Option<(usize, usize)>) -> Raw {
    let mut t = vec!["<s>".to_owned()];
    t.extend(tokens(text));
    t.push("</s>".to_owned());
    let mut word_keys = Vec::with_capacity(2 * t.len());
    for w in &t[1..t.len() - 1] {
        word_keys.push(fnv1a(&["w", w]));
    }
    for pair in t.windows(2) {
        word_keys.push(fnv1a(&["b", &pair[0], &pair[1]]));
    }
    let mut char_keys = Vec::new();
    if let Some((lo, hi)) = char_ngrams {
        let chars = char_text(text);
        let mut buf = String::new();
        for n in lo.max(1)..=hi {
            for g in chars.windows(n) {
                buf.clear();
                buf.extend(g);
                char_keys.push(fnv1a(&["c", &buf]));
            }
        }
    }
    Raw {
        blocks: [counted(word_keys), counted(char_keys)],
    }
}

impl Vocab {
    fn fit(raws: &[&Raw], min_df: usize) -> Vocab {
        let mut df: HashMap<u64, u32> = HashMap::new();
        for r in raws {
            for block in &r.blocks {
                for &(k, _) in block {
                    *df.entry(k).or_default() += 1;
                }
            }
        }
        let mut keys: Vec<(u64, u32)> = df
            .into_iter()
            .filter(|&(_, d)| d as usize >= min_df.max(1))
            .collect();
        keys.sort_unstable();
        let n = raws.len() as f32;
        Vocab {
            index: keys
                .iter()
                .enumerate()
                .map(|(i, &(k, _))| (k, i as u32))
                .collect(),
            idf: keys
                .iter()
                .map(|&(_, d)| ((1.0 + n) / (1.0 + d as f32)).ln() + 1.0)
                .collect(),
        }
    }

    fn transform(&self, raw: &Raw) -> Sparse {
        let mut out: Sparse = Vec::new();
        let mut blocks = 0;
        for block in &raw.blocks {
            let start = out.len();
            for &(k, tf) in block {
                if let Some(&i) = self.index.get(&k) {
                    out.push((i, (1.0 + tf.ln()) * self.idf[i as usize]));
                }
            }
            let norm = out[start..].iter().map(|v| v.1 * v.1).sum::<f32>().sqrt();
            if norm > 0.0 {
                out[start..].iter_mut().for_each(|v| v.1 /= norm);
                blocks += 1;
            }
        }
        // Each block weighs the same and the whole vector has length 1.
        let scale = 1.0 / (blocks.max(1) as f32).sqrt();
        out.iter_mut().for_each(|v| v.1 *= scale);
        out.sort_unstable_by_key(|v| v.0);
        out
    }
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// `log(1 + e^x)` without overflow.
fn softplus(x: f64) -> f64 {
    if x > 30.0 { x } else { x.exp().ln_1p() }
}

fn dot(w: &[f64], x: &Sparse) -> f64 {
    x.iter().map(|&(i, v)| w[i as usize] * v as f64).sum()
}

/// Class weights `n / (2 n_class)`: both classes weigh the same in total.
fn class_weights(y: &[bool]) -> (f64, f64) {
    let n = y.len() as f64;
    let pos = y.iter().filter(|&&b| b).count().max(1) as f64;
    let neg = (y.len() - y.iter().filter(|&&b| b).count()).max(1) as f64;
    (n / (2.0 * pos), n / (2.0 * neg))
}

/// Weighted logistic regression, L2 on the weights (not the bias), by L-BFGS. `w` holds the
/// weights then the bias and is the starting point (warm start along a path of `C`).
fn train_lr(x: &[Sparse], y: &[bool], c: f64, w: &mut [f64]) {
    const MEMORY: usize = 10;
    const MAX_ITER: usize = 300;
    let d = w.len() - 1;
    let (wp, wn) = class_weights(y);
    let objective = |w: &[f64], grad: &mut [f64]| -> f64 {
        grad.copy_from_slice(w);
        grad[d] = 0.0;
        let mut f = 0.5 * w[..d].iter().map(|v| v * v).sum::<f64>();
        for (xi, &yi) in x.iter().zip(y) {
            let z = dot(w, xi) + w[d];
            let (s, t) = if yi { (wp, 1.0) } else { (wn, -1.0) };
            f += c * s * softplus(-t * z);
            let g = c * s * (sigmoid(z) - if yi { 1.0 } else { 0.0 });
            for &(i, v) in xi {
                grad[i as usize] += g * v as f64;
            }
            grad[d] += g;
        }
        f
    };
    let n = w.len();
    let mut g = vec![0.0; n];
    let mut f = objective(w, &mut g);
    let mut hist: Vec<(Vec<f64>, Vec<f64>, f64)> = Vec::new();
    let mut dir = vec![0.0; n];
    let mut trial = vec![0.0; n];
    let mut g_new = vec![0.0; n];
    let scale = 1.0 + c * y.len() as f64;
    for _ in 0..MAX_ITER {
        let gmax = g.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        if gmax <= 1e-5 * scale {
            break;
        }
        // Two-loop recursion: dir = −H g.
        dir.copy_from_slice(&g);
        let mut alpha = vec![0.0; hist.len()];
        for (k, (s, yv, rho)) in hist.iter().enumerate().rev() {
            let a = rho * s.iter().zip(&dir).map(|(a, b)| a * b).sum::<f64>();
            alpha[k] = a;
            dir.iter_mut().zip(yv).for_each(|(d, y)| *d -= a * y);
        }
        let gamma = hist.last().map_or(1.0 / gmax.max(1e-12), |(s, yv, _)| {
            s.iter().zip(yv).map(|(a, b)| a * b).sum::<f64>()
                / yv.iter().map(|v| v * v).sum::<f64>()
        });
        dir.iter_mut().for_each(|d| *d *= gamma);
        for (k, (s, yv, rho)) in hist.iter().enumerate() {
            let b = rho * yv.iter().zip(&dir).map(|(a, b)| a * b).sum::<f64>();
            dir.iter_mut()
                .zip(s)
                .for_each(|(d, s)| *d += (alpha[k] - b) * s);
        }
        dir.iter_mut().for_each(|d| *d = -*d);
        let slope: f64 = g.iter().zip(&dir).map(|(a, b)| a * b).sum();
        if slope >= 0.0 {
            // Not a descent direction (numerical trouble): restart from steepest descent.
            hist.clear();
            continue;
        }
        // Backtracking line search (Armijo).
        let mut step = 1.0;
        let mut f_new;
        loop {
            trial
                .iter_mut()
                .zip(w.iter().zip(&dir))
                .for_each(|(t, (a, b))| *t = a + step * b);
            f_new = objective(&trial, &mut g_new);
            if f_new <= f + 1e-4 * step * slope || step < 1e-10 {
                break;
            }
            step *= 0.5;
        }
        if f_new > f {
            break;
        }
        let s: Vec<f64> = trial.iter().zip(w.iter()).map(|(a, b)| a - b).collect();
        let yv: Vec<f64> = g_new.iter().zip(&g).map(|(a, b)| a - b).collect();
        let sy: f64 = s.iter().zip(&yv).map(|(a, b)| a * b).sum();
        w.copy_from_slice(&trial);
        g.copy_from_slice(&g_new);
        let done = (f - f_new).abs() <= 1e-10 * f.abs().max(1.0);
        f = f_new;
        if sy > 1e-12 {
            if hist.len() == MEMORY {
                hist.remove(0);
            }
            hist.push((s, yv, 1.0 / sy));
        }
        if done {
            break;
        }
    }
}

/// Platt scaling: `a`, `b` minimising the class-weighted log loss of `σ(a z + b)` (Newton's
/// method on two parameters, with Platt's smoothed targets).
fn fit_platt(z: &[f64], y: &[bool]) -> (f64, f64) {
    let (wp, wn) = class_weights(y);
    let pos = y.iter().filter(|&&b| b).count() as f64;
    let neg = y.len() as f64 - pos;
    let (tp, tn) = ((pos + 1.0) / (pos + 2.0), 1.0 / (neg + 2.0));
    let (mut a, mut b) = (1.0, 0.0);
    for _ in 0..50 {
        let (mut g1, mut g2, mut h11, mut h12, mut h22) = (0.0, 0.0, 1e-9, 0.0, 1e-9);
        for (&zi, &yi) in z.iter().zip(y) {
            let (s, t) = if yi { (wp, tp) } else { (wn, tn) };
            let p = sigmoid(a * zi + b);
            let r = s * (p - t);
            let q = s * p * (1.0 - p);
            (g1, g2) = (g1 + r * zi, g2 + r);
            (h11, h12, h22) = (h11 + q * zi * zi, h12 + q * zi, h22 + q);
        }
        let det = h11 * h22 - h12 * h12;
        if det.abs() < 1e-18 {
            break;
        }
        let (da, db) = ((h22 * g1 - h12 * g2) / det, (h11 * g2 - h12 * g1) / det);
        (a, b) = (a - da, b - db);
        if da.abs() + db.abs() < 1e-10 {
            break;
        }
    }
    (a, b)
}

fn balanced_accuracy(z: &[f64], y: &[bool], threshold: f64) -> f64 {
    let (mut tp, mut tn, mut pos, mut neg) = (0usize, 0usize, 0usize, 0usize);
    for (&zi, &yi) in z.iter().zip(y) {
        if yi {
            pos += 1;
            tp += (zi > threshold) as usize;
        } else {
            neg += 1;
            tn += (zi <= threshold) as usize;
        }
    }
    let r = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    (r(tp, pos) + r(tn, neg)) / 2.0
}

/// Fold of each line: a seeded hash of its words, so a line repeated in the book never sits on
/// both sides of a split.
fn folds_of(texts: &[&str], folds: usize, seed: u64, salt: &str) -> Vec<usize> {
    let seed = seed.to_string();
    texts
        .iter()
        .map(|t| (fnv1a(&[&seed, salt, &words(t).join(" ")]) % folds.max(2) as u64) as usize)
        .collect()
}

fn pick<T: Clone>(items: &[T], fold: &[usize], keep: impl Fn(usize) -> bool) -> Vec<T> {
    items
        .iter()
        .zip(fold)
        .filter(|(_, f)| keep(**f))
        .map(|(x, _)| x.clone())
        .collect()
}

impl PersonaClassifier {
    /// Trains on `(text, is_persona)` samples, both classes weighted equally: chooses `C` and
    /// the calibration by cross-validation on these samples, then fits them all.
    pub fn train(samples: &[(&str, bool)], options: &ClassifierOptions) -> Self {
        let raws: Vec<Raw> = samples
            .iter()
            .map(|(t, _)| raw_features(t, options.char_ngrams))
            .collect();
        let texts: Vec<&str> = samples.iter().map(|s| s.0).collect();
        let y: Vec<bool> = samples.iter().map(|s| s.1).collect();
        Self::train_raw(&raws, &texts, &y, options)
    }

    fn train_raw(raws: &[Raw], texts: &[&str], y: &[bool], options: &ClassifierOptions) -> Self {
        let mut grid = options.c_grid.clone();
        if grid.is_empty() {
            grid.push(1.0);
        }
        // Out-of-fold decision values for every C of the grid.
        let k = options.tuning_folds.max(2);
        let fold = folds_of(texts, k, options.seed, "tune");
        let mut oof = vec![vec![0.0; y.len()]; grid.len()];
        for f in 0..k {
            let train: Vec<&Raw> = pick(&raws.iter().collect::<Vec<_>>(), &fold, |g| g != f);
            let ty = pick(y, &fold, |g| g != f);
            if ty.iter().all(|&b| b) || ty.iter().all(|&b| !b) {
                continue;
            }
            let vocab = Vocab::fit(&train, options.min_df);
            let x: Vec<Sparse> = train.iter().map(|r| vocab.transform(r)).collect();
            let held: Vec<(usize, Sparse)> = (0..y.len())
                .filter(|&i| fold[i] == f)
                .map(|i| (i, vocab.transform(&raws[i])))
                .collect();
            let mut w = vec![0.0; vocab.idf.len() + 1];
            for (gi, &c) in grid.iter().enumerate() {
                train_lr(&x, &ty, c, &mut w);
                let d = vocab.idf.len();
                for (i, xi) in &held {
                    oof[gi][*i] = dot(&w, xi) + w[d];
                }
            }
        }
        let mut best = 0;
        let mut best_ba = f64::MIN;
        for (gi, z) in oof.iter().enumerate() {
            let ba = balanced_accuracy(z, y, 0.0);
            if ba > best_ba + 1e-12 {
                (best, best_ba) = (gi, ba);
            }
        }
        let platt = fit_platt(&oof[best], y);
        let c = grid[best];
        let all: Vec<&Raw> = raws.iter().collect();
        let vocab = Vocab::fit(&all, options.min_df);
        let x: Vec<Sparse> = raws.iter().map(|r| vocab.transform(r)).collect();
        let mut w = vec![0.0; vocab.idf.len() + 1];
        train_lr(&x, y, c, &mut w);
        let bias = w.pop().unwrap_or(0.0);
        PersonaClassifier {
            options: options.clone(),
            vocab,
            weights: w.into_iter().map(|v| v as f32).collect(),
            bias,
            platt,
            c,
        }
    }

    /// The inverse L2 strength the cross-validation chose.
    pub fn c(&self) -> f64 {
        self.c
    }

    fn decision_raw(&self, raw: &Raw) -> f64 {
        self.bias
            + self
                .vocab
                .transform(raw)
                .iter()
                .map(|&(i, v)| (self.weights[i as usize] * v) as f64)
                .sum::<f64>()
    }

    fn probability_raw(&self, raw: &Raw) -> f64 {
        sigmoid(self.platt.0 * self.decision_raw(raw) + self.platt.1)
    }

    /// The calibrated probability that `text` is the persona's, under equal class priors.
    pub fn probability(&self, text: &str) -> f64 {
        self.probability_raw(&raw_features(text, self.options.char_ngrams))
    }

    /// Whether `text` is judged to be the persona's.
    pub fn is_persona(&self, text: &str) -> bool {
        self.probability(text) > 0.5
    }

    /// Measures the classifier by nested k-fold cross-validation (lines shorter than
    /// `min_words` dropped; folds by a seeded hash of the text, so a line repeated in the book
    /// never sits on both sides; each fold tunes on its training part only), then trains on all
    /// of them. Returns the model trained on all lines and the held-out report summed over the
    /// folds.
    pub fn fit(samples: &[(&str, bool)], options: &ClassifierOptions) -> (Self, ClassifierReport) {
        let kept: Vec<(&str, bool)> = samples
            .iter()
            .copied()
            .filter(|(t, _)| words(t).len() >= options.min_words)
            .collect();
        let texts: Vec<&str> = kept.iter().map(|s| s.0).collect();
        let y: Vec<bool> = kept.iter().map(|s| s.1).collect();
        let raws: Vec<Raw> = texts
            .iter()
            .map(|t| raw_features(t, options.char_ngrams))
            .collect();
        let folds = options.folds.max(2);
        let fold = folds_of(&texts, folds, options.seed, "measure");
        let (mut tp, mut tn, mut pos, mut neg) = (0usize, 0usize, 0usize, 0usize);
        for f in 0..folds {
            let model = Self::train_raw(
                &pick(&raws, &fold, |g| g != f),
                &pick(&texts, &fold, |g| g != f),
                &pick(&y, &fold, |g| g != f),
                options,
            );
            for i in (0..y.len()).filter(|&i| fold[i] == f) {
                let said = model.probability_raw(&raws[i]) > 0.5;
                if y[i] {
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
            folds,
            accuracy: ratio(tp + tn, pos + neg),
            balanced_accuracy: (persona_recall + other_recall) / 2.0,
            persona_recall,
            other_recall,
        };
        (Self::train_raw(&raws, &texts, &y, options), report)
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

    #[test]
    fn tokens_keep_words_and_one_spelling_per_mark() {
        assert_eq!(
            tokens("“Don’t you—'tis Mr. Darcy's!” -- well..."),
            [
                "'", "don't", "you", "—", "'", "tis", "mr", ".", "darcy's", "!", "'", "—", "well",
                "…"
            ]
        );
    }

    #[test]
    fn logistic_regression_reaches_the_optimum() {
        // One feature, points at x = ±1 with one mislabelled each side: the optimum balances
        // the L2 pull against the loss, where the gradient is zero.
        let x: Vec<Sparse> = [1.0f32, 1.0, 1.0, -1.0, -1.0, -1.0]
            .iter()
            .map(|&v| vec![(0u32, v)])
            .collect();
        let y = [true, true, false, false, false, true];
        let mut w = vec![0.0; 2];
        train_lr(&x, &y, 1.0, &mut w);
        let grad_w = w[0]
            + x.iter()
                .zip(&y)
                .map(|(xi, &yi)| {
                    (sigmoid(w[0] * xi[0].1 as f64 + w[1]) - yi as u8 as f64) * xi[0].1 as f64
                })
                .sum::<f64>();
        assert!(grad_w.abs() < 1e-4, "{w:?} {grad_w}");
        assert!(w[0] > 0.3 && w[1].abs() < 1e-4, "{w:?}");
    }
}
