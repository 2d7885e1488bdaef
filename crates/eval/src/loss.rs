//! Validation loss and perplexity of a model with or without an adapter: the mean cross-entropy
//! per trained (assistant) token, the same loss `grimoire-train` trains and validates with
//! (its chat-template mask, truncation and length grouping), so a run's own validation figure
//! and this one agree.

use std::sync::atomic::{AtomicBool, Ordering};

use grimoire_llm::{LoraAdapter, Model};
use grimoire_train::data::{length_groups, make_batch};
use grimoire_train::model::{Lora, Net};
use grimoire_train::{Example, encode_example};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::{Error, Result};

/// A model's loss on a validation set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct LossFigures {
    /// Mean cross-entropy per trained token, in nats.
    pub loss: f64,
    /// `exp(loss)`.
    pub perplexity: f64,
    /// Trained tokens scored.
    pub tokens: u64,
    /// Conversations scored.
    pub examples: usize,
}

/// Scores `examples` with `model` plus `adapter` (none: the base model), encoded at
/// `max_seq_len` tokens in batches of `batch_size`. Checks `cancel` between batches.
pub fn validation_loss(
    model: &Model,
    adapter: Option<&LoraAdapter>,
    examples: &[Example],
    max_seq_len: usize,
    batch_size: usize,
    cancel: &AtomicBool,
) -> Result<LossFigures> {
    let mut encoded = Vec::with_capacity(examples.len());
    for ex in examples {
        let enc = encode_example(model, ex, max_seq_len)?;
        if enc.n_targets() > 0 {
            encoded.push(enc);
        }
    }
    if encoded.is_empty() {
        return Err(Error::Invalid(
            "no validation example has an assistant reply to score".into(),
        ));
    }
    let net = Net::new(&model.llama)?;
    let lora = match adapter {
        Some(a) => Lora::from_adapter(a, 0.0)?,
        None => Lora {
            pairs: (0..model.llama.config().num_hidden_layers)
                .map(|_| Default::default())
                .collect(),
            scale: 1.0,
            dropout: 0.0,
        },
    };
    let pad = model
        .tokenizer
        .eos()
        .or_else(|| model.tokenizer.bos())
        .unwrap_or(0);
    let (mut sum, mut tokens) = (0.0, 0u64);
    for group in length_groups(&encoded, batch_size.max(1)) {
        if cancel.load(Ordering::Relaxed) {
            return Err(Error::Cancelled);
        }
        let batch = make_batch(&group.iter().map(|&i| &encoded[i]).collect::<Vec<_>>(), pad);
        sum += net.eval_loss(&lora, &batch).map_err(Error::Train)?;
        tokens += batch.rows.len() as u64;
    }
    let loss = sum / tokens.max(1) as f64;
    Ok(LossFigures {
        loss,
        perplexity: loss.exp(),
        tokens,
        examples: encoded.len(),
    })
}
