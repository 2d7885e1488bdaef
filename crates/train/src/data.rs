//! Training data: conversations from JSON Lines, tokenised with the model's own chat template,
//! labelled on the assistant turns only, truncated and grouped into batches.
//!
//! The mask is made by position: each assistant turn's tokens are those between the rendering of
//! the conversation up to its generation prompt and the rendering up to the end of the turn, so
//! the end-of-turn token (`<|im_end|>` on ChatML, which is also SmolLM2's pad token) is trained,
//! and nothing depends on what a token id happens to be.

use std::path::{Path, PathBuf};

use grimoire_llm::{Message, Model, Role};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::{Error, Result, io};
use crate::rng::Rng;

/// One training conversation, one line of an exported `train.jsonl` (Mistral's format).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Example {
    /// System, user and assistant turns.
    pub messages: Vec<Message>,
}

/// Where the examples come from.
#[derive(Debug, Clone)]
pub enum DataSource {
    /// A folder holding `train.jsonl` and optionally `validation.jsonl`.
    Dir(PathBuf),
    /// Examples in memory.
    Examples {
        /// Trained on.
        train: Vec<Example>,
        /// Scored every `eval_every` steps.
        validation: Vec<Example>,
    },
}

impl From<&Path> for DataSource {
    fn from(p: &Path) -> Self {
        DataSource::Dir(p.to_owned())
    }
}

impl From<PathBuf> for DataSource {
    fn from(p: PathBuf) -> Self {
        DataSource::Dir(p)
    }
}

impl DataSource {
    /// (train, validation) examples.
    pub fn load(&self) -> Result<(Vec<Example>, Vec<Example>)> {
        match self {
            DataSource::Examples { train, validation } => Ok((train.clone(), validation.clone())),
            DataSource::Dir(dir) => {
                let train = read_jsonl(&dir.join("train.jsonl"))?;
                let val_path = dir.join("validation.jsonl");
                let validation = if val_path.exists() {
                    read_jsonl(&val_path)?
                } else {
                    Vec::new()
                };
                Ok((train, validation))
            }
        }
    }
}

/// Reads one example per non-empty line.
pub fn read_jsonl(path: &Path) -> Result<Vec<Example>> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|source| Error::Json {
                path: path.to_owned(),
                line: Some(i + 1),
                source,
            })
        })
        .collect()
}

/// A tokenised example: ids and, per position, whether that token is trained.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    /// Token ids of the rendered conversation.
    pub ids: Vec<u32>,
    /// True where the token belongs to an assistant turn (its end-of-turn token included).
    pub trained: Vec<bool>,
    /// Whether user text was cut to fit.
    pub truncated: bool,
}

impl Encoded {
    /// Labels as `transformers` writes them: the id where trained, -100 elsewhere.
    pub fn labels(&self) -> Vec<i64> {
        self.ids
            .iter()
            .zip(&self.trained)
            .map(|(&id, &t)| if t { id as i64 } else { -100 })
            .collect()
    }

    /// Positions whose next token is trained: the rows the loss is computed on.
    pub fn n_targets(&self) -> usize {
        self.trained.iter().skip(1).filter(|t| **t).count()
    }
}

/// Tokenises `messages` and marks the assistant turns. No truncation.
pub fn encode_messages(model: &Model, messages: &[Message]) -> Result<Encoded> {
    let tok = &model.tokenizer;
    let ids = tok.encode_prompt(&model.template.render(messages, false)?)?;
    let mut trained = vec![false; ids.len()];
    for (j, m) in messages.iter().enumerate() {
        if m.role != Role::Assistant {
            continue;
        }
        let before = tok.encode_prompt(&model.template.render(&messages[..j], true)?)?;
        let through = tok.encode_prompt(&model.template.render(&messages[..=j], false)?)?;
        let start = common_prefix(&before, &ids);
        let end = common_prefix(&through, &ids).max(start);
        for t in trained.iter_mut().take(end).skip(start) {
            *t = true;
        }
    }
    Ok(Encoded {
        ids,
        trained,
        truncated: false,
    })
}

fn common_prefix(a: &[u32], b: &[u32]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// Tokenises an example, cutting user text from the left (earliest user turn first) until it fits
/// `max_len`; if the replies alone do not fit, the sequence is cut at `max_len`.
pub fn encode_example(model: &Model, example: &Example, max_len: usize) -> Result<Encoded> {
    let mut messages = example.messages.clone();
    let mut enc = encode_messages(model, &messages)?;
    let mut truncated = false;
    let mut user = 0;
    while enc.ids.len() > max_len {
        let Some(idx) = messages
            .iter()
            .enumerate()
            .filter(|(_, m)| m.role == Role::User && !m.content.is_empty())
            .map(|(i, _)| i)
            .next()
            .filter(|_| user < 64)
        else {
            break;
        };
        user += 1;
        truncated = true;
        let excess = enc.ids.len() - max_len;
        let content = model.tokenizer.encode(&messages[idx].content)?;
        // A few tokens more than the excess: the cut text may tokenise a little differently.
        let cut = excess + 2;
        messages[idx].content = if content.len() > cut {
            model.tokenizer.decode(&content[cut..])?
        } else {
            String::new()
        };
        enc = encode_messages(model, &messages)?;
    }
    if enc.ids.len() > max_len {
        truncated = true;
        enc.ids.truncate(max_len);
        enc.trained.truncate(max_len);
    }
    enc.truncated = truncated;
    Ok(enc)
}

/// What the data set holds, for estimates and the run's data snapshot.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct DataStats {
    /// Training examples kept.
    pub train_examples: usize,
    /// Validation examples kept.
    pub validation_examples: usize,
    /// Tokens in the training examples.
    pub train_tokens: u64,
    /// Trained (assistant) tokens in the training examples.
    pub trained_tokens: u64,
    /// Training examples whose user text was cut.
    pub truncated: usize,
    /// Training examples dropped because nothing in them is trained.
    pub dropped: usize,
}

impl DataStats {
    /// Mean tokens per training example.
    pub fn mean_tokens(&self) -> f64 {
        self.train_tokens as f64 / self.train_examples.max(1) as f64
    }
}

/// A padded micro-batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// Sequences.
    pub b: usize,
    /// Padded length.
    pub l: usize,
    /// Ids, (b · l), right-padded.
    pub ids: Vec<u32>,
    /// Flat rows (s · l + t) whose next token is trained.
    pub rows: Vec<u32>,
    /// The next token of each row.
    pub targets: Vec<u32>,
    /// Unpadded tokens.
    pub tokens: usize,
}

/// Pads `examples` into one batch; `pad` fills the tail (its positions are never trained, and
/// causal attention keeps real positions from seeing it).
pub fn make_batch(examples: &[&Encoded], pad: u32) -> Batch {
    let l = examples.iter().map(|e| e.ids.len()).max().unwrap_or(0);
    let b = examples.len();
    let mut ids = vec![pad; b * l];
    let (mut rows, mut targets) = (Vec::new(), Vec::new());
    let mut tokens = 0;
    for (s, e) in examples.iter().enumerate() {
        ids[s * l..s * l + e.ids.len()].copy_from_slice(&e.ids);
        tokens += e.ids.len();
        for t in 0..e.ids.len().saturating_sub(1) {
            if e.trained[t + 1] {
                rows.push((s * l + t) as u32);
                targets.push(e.ids[t + 1]);
            }
        }
    }
    Batch {
        b,
        l,
        ids,
        rows,
        targets,
        tokens,
    }
}

/// Groups examples of similar length: sorted by length, cut into batches of `batch_size`
/// (returns indices into `encoded`). Padding stays small without mixing sequences.
pub fn length_groups(encoded: &[Encoded], batch_size: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..encoded.len()).collect();
    order.sort_by_key(|&i| (encoded[i].ids.len(), i));
    order
        .chunks(batch_size.max(1))
        .map(|c| c.to_vec())
        .collect()
}

/// The order in which epoch `epoch` visits the groups: a seeded shuffle.
pub fn epoch_order(n_groups: usize, seed: u64, epoch: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n_groups).collect();
    Rng::new(seed, &[1, epoch as u64]).shuffle(&mut order);
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_rows_point_at_trained_next_tokens() {
        let a = Encoded {
            ids: vec![1, 2, 3, 4],
            trained: vec![false, false, true, true],
            truncated: false,
        };
        let b = Encoded {
            ids: vec![5, 6],
            trained: vec![false, true],
            truncated: false,
        };
        let batch = make_batch(&[&a, &b], 0);
        assert_eq!((batch.b, batch.l), (2, 4));
        assert_eq!(batch.ids, vec![1, 2, 3, 4, 5, 6, 0, 0]);
        assert_eq!(batch.rows, vec![1, 2, 4]);
        assert_eq!(batch.targets, vec![3, 4, 6]);
        assert_eq!(batch.tokens, 6);
    }

    #[test]
    fn groups_are_by_length_and_order_is_seeded() {
        let enc = |n: usize| Encoded {
            ids: vec![0; n],
            trained: vec![true; n],
            truncated: false,
        };
        let e = vec![enc(5), enc(1), enc(3), enc(2)];
        assert_eq!(length_groups(&e, 2), vec![vec![1, 3], vec![2, 0]]);
        assert_eq!(epoch_order(10, 7, 0), epoch_order(10, 7, 0));
        assert_ne!(epoch_order(10, 7, 0), epoch_order(10, 7, 1));
    }
}
