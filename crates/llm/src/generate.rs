//! Generation: prompt, KV cache, sampling, stop conditions, streaming and cancellation.
//!
//! Text is streamed as it forms whole UTF-8 characters (a token can end in the middle of one), and
//! text that might be the start of a stop string is held back until it is known not to be, so a
//! stop string never reaches the caller.
//!
//! History longer than the context: the oldest turns after the system message are dropped, a
//! user turn and the replies after it together, until the prompt plus the reply budget
//! (`max_tokens`, at most half the context) fits. The system message and the last user turn are
//! always kept; if those alone do not fit, the request fails with [`Error::ContextOverflow`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::lora::LoraAdapter;
use crate::model::Model;
use crate::model::llama::Cache;
use crate::sampling::{Sampler, SamplingParams};
use crate::template::{Message, Role};

/// Prompt tokens fed to the model per forward pass; bounds the attention scratch memory.
const PROMPT_CHUNK: usize = 512;

/// Settings of one generation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GenerateParams {
    /// How to pick tokens.
    pub sampling: SamplingParams,
    /// Most tokens to generate.
    pub max_tokens: usize,
    /// Strings that end the reply (not included in it).
    pub stop: Vec<String>,
}

impl Default for GenerateParams {
    fn default() -> Self {
        GenerateParams {
            sampling: SamplingParams::default(),
            max_tokens: 256,
            stop: Vec::new(),
        }
    }
}

/// Why generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// The model produced an end-of-sequence or end-of-turn token.
    Eos,
    /// A stop string appeared.
    StopString,
    /// `max_tokens` were generated, or the context is full.
    Length,
    /// The cancel token was triggered.
    Cancelled,
}

/// The result of a generation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Completion {
    /// The generated text (stop string excluded).
    pub text: String,
    /// Generated token ids (stop token excluded).
    pub tokens: Vec<u32>,
    /// Prompt length in tokens.
    pub prompt_tokens: usize,
    /// Why it ended.
    pub finish: FinishReason,
    /// Time spent on the prompt.
    pub prompt_time: Duration,
    /// Time spent generating after the prompt.
    pub decode_time: Duration,
    /// Messages dropped from the front of the history to fit the context.
    pub dropped_messages: usize,
}

/// A shared flag that stops a generation at the next token.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token that is not cancelled.
    pub fn new() -> Self {
        Self::default()
    }
    /// Asks the generation to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
    /// Whether cancellation was asked for.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Renders `messages` with the model's template and generates the assistant's reply, dropping the
/// oldest turns when the history does not fit (see the module docs).
pub fn chat(
    model: &Model,
    adapter: Option<&LoraAdapter>,
    messages: &[Message],
    params: &GenerateParams,
    cancel: &CancelToken,
    on_text: &mut dyn FnMut(&str),
) -> Result<Completion> {
    let (prompt, dropped) = fit_history(model, messages, params.max_tokens)?;
    let mut done = generate(model, adapter, &prompt, params, cancel, on_text)?;
    done.dropped_messages = dropped;
    Ok(done)
}

/// The prompt ids for `messages`, and how many messages were dropped to fit the context.
pub fn fit_history(
    model: &Model,
    messages: &[Message],
    max_tokens: usize,
) -> Result<(Vec<u32>, usize)> {
    let context = model.llama.max_len();
    let budget = context - max_tokens.min(context / 2);
    let (system, rest) = match messages.first() {
        Some(m) if m.role == Role::System => (Some(m), &messages[1..]),
        _ => (None, messages),
    };
    let mut start = 0;
    loop {
        let kept: Vec<Message> = system.into_iter().chain(&rest[start..]).cloned().collect();
        let ids = model
            .tokenizer
            .encode_prompt(&model.template.render(&kept, true)?)?;
        if ids.len() <= budget {
            return Ok((ids, start));
        }
        // Drop the oldest turn: the message at `start` and any replies up to the next user turn.
        let next_user = rest[start + 1..]
            .iter()
            .position(|m| m.role == Role::User)
            .map(|i| start + 1 + i);
        match next_user {
            Some(n) => start = n,
            None => {
                return Err(Error::ContextOverflow {
                    tokens: ids.len(),
                    context: budget,
                });
            }
        }
    }
}

/// Generates from prompt ids, calling `on_text` with each piece of text as it forms.
pub fn generate(
    model: &Model,
    adapter: Option<&LoraAdapter>,
    prompt: &[u32],
    params: &GenerateParams,
    cancel: &CancelToken,
    on_text: &mut dyn FnMut(&str),
) -> Result<Completion> {
    let mut generation = Generation::new(model, prompt.to_vec(), params)?;
    loop {
        if let Some(done) = generation.step(adapter, cancel, on_text)? {
            return Ok(done);
        }
    }
}

/// One generation advanced a step at a time, with its own KV cache, so that a caller can
/// interleave several over one model (the [`crate::Engine`] does, round-robin).
///
/// A step reads one chunk of the prompt or generates one token. After a step returns a
/// [`Completion`] the generation is over and must not be stepped again.
pub struct Generation<'m> {
    model: &'m Model,
    prompt: Vec<u32>,
    fed: usize,
    cache: Cache,
    logits: Vec<f32>,
    sampler: Sampler,
    history: Vec<u32>,
    stream: crate::tokenizer::TokenStream<'m>,
    out: StopFilter,
    tokens: Vec<u32>,
    max_tokens: usize,
    started: Instant,
    prompt_done: Instant,
}

impl std::fmt::Debug for Generation<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generation")
            .field("prompt", &self.prompt.len())
            .field("fed", &self.fed)
            .field("tokens", &self.tokens.len())
            .finish_non_exhaustive()
    }
}

impl<'m> Generation<'m> {
    /// A generation from prompt ids; nothing is computed until the first step.
    pub fn new(model: &'m Model, prompt: Vec<u32>, params: &GenerateParams) -> Result<Self> {
        let llama = &model.llama;
        if prompt.is_empty() || prompt.len() >= llama.max_len() {
            return Err(Error::ContextOverflow {
                tokens: prompt.len(),
                context: llama.max_len(),
            });
        }
        let now = Instant::now();
        Ok(Generation {
            model,
            history: prompt.clone(),
            prompt,
            fed: 0,
            cache: Cache::new(llama, 1),
            logits: Vec::new(),
            sampler: Sampler::new(params.sampling.clone()),
            stream: model.tokenizer.stream(),
            out: StopFilter::new(params.stop.clone()),
            tokens: Vec::new(),
            max_tokens: params.max_tokens,
            started: now,
            prompt_done: now,
        })
    }

    /// Reads the next prompt chunk or generates the next token; `Some` when the generation ended.
    pub fn step(
        &mut self,
        adapter: Option<&LoraAdapter>,
        cancel: &CancelToken,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<Option<Completion>> {
        let llama = &self.model.llama;
        if cancel.is_cancelled() {
            return Ok(Some(self.finish(FinishReason::Cancelled, on_text)));
        }
        if self.fed < self.prompt.len() {
            let end = (self.fed + PROMPT_CHUNK).min(self.prompt.len());
            let logits = llama.forward_last(&self.prompt[self.fed..end], &mut self.cache, adapter)?;
            self.fed = end;
            if self.fed == self.prompt.len() {
                self.logits = logits.to_vec1()?;
                self.prompt_done = Instant::now();
            }
            return Ok(None);
        }
        if self.tokens.len() >= self.max_tokens || self.cache.len() >= llama.max_len() {
            return Ok(Some(self.finish(FinishReason::Length, on_text)));
        }
        let next = self.sampler.sample(&self.logits, &self.history);
        if self.model.tokenizer.stop_ids().contains(&next) {
            return Ok(Some(self.finish(FinishReason::Eos, on_text)));
        }
        self.tokens.push(next);
        self.history.push(next);
        if let Some(piece) = self.stream.step(next)?
            && self.out.push(&piece, on_text)
        {
            return Ok(Some(self.finish(FinishReason::StopString, on_text)));
        }
        if self.tokens.len() >= self.max_tokens {
            return Ok(Some(self.finish(FinishReason::Length, on_text)));
        }
        self.logits = llama
            .forward_last(&[next], &mut self.cache, adapter)?
            .to_vec1()?;
        Ok(None)
    }

    fn finish(&mut self, finish: FinishReason, on_text: &mut dyn FnMut(&str)) -> Completion {
        if finish != FinishReason::StopString {
            self.out.flush(on_text);
        }
        let prompt_done = if self.fed < self.prompt.len() {
            self.started
        } else {
            self.prompt_done
        };
        finished(
            std::mem::take(&mut self.out.text),
            std::mem::take(&mut self.tokens),
            self.prompt.len(),
            finish,
            self.started,
            prompt_done,
        )
    }
}

fn finished(
    text: String,
    tokens: Vec<u32>,
    prompt_tokens: usize,
    finish: FinishReason,
    start: Instant,
    prompt_done: Instant,
) -> Completion {
    Completion {
        text,
        tokens,
        prompt_tokens,
        finish,
        prompt_time: prompt_done - start,
        decode_time: prompt_done.elapsed(),
        dropped_messages: 0,
    }
}

/// Passes text through, holding back any tail that could be the start of a stop string.
struct StopFilter {
    stops: Vec<String>,
    /// Everything accepted so far (emitted and held back).
    text: String,
    emitted: usize,
}

impl StopFilter {
    fn new(stops: Vec<String>) -> Self {
        StopFilter {
            stops,
            text: String::new(),
            emitted: 0,
        }
    }

    /// Adds a piece; emits what is safe. Returns true when a stop string appeared (the text is
    /// then cut before it).
    fn push(&mut self, piece: &str, emit: &mut dyn FnMut(&str)) -> bool {
        self.text.push_str(piece);
        // A stop string can only begin in the held-back tail or the new piece.
        let search_from = self.emitted;
        let hit = self
            .stops
            .iter()
            .filter(|s| !s.is_empty())
            .filter_map(|s| {
                self.text[search_from..]
                    .find(s.as_str())
                    .map(|i| search_from + i)
            })
            .min();
        if let Some(at) = hit {
            if at > self.emitted {
                emit(&self.text[self.emitted..at]);
            }
            self.text.truncate(at);
            self.emitted = at;
            return true;
        }
        let hold = self.partial_stop_len();
        let safe = self.text.len() - hold;
        if safe > self.emitted {
            emit(&self.text[self.emitted..safe]);
            self.emitted = safe;
        }
        false
    }

    /// Longest suffix of the text that is a proper prefix of a stop string.
    fn partial_stop_len(&self) -> usize {
        let tail = &self.text[self.emitted..];
        self.stops
            .iter()
            .flat_map(|s| {
                (1..s.len().min(tail.len() + 1))
                    .filter(|n| s.is_char_boundary(*n) && tail.is_char_boundary(tail.len() - n))
                    .filter(|n| tail.ends_with(&s[..*n]))
                    .max()
            })
            .max()
            .unwrap_or(0)
    }

    fn flush(&mut self, emit: &mut dyn FnMut(&str)) {
        if self.text.len() > self.emitted {
            emit(&self.text[self.emitted..]);
            self.emitted = self.text.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(stops: &[&str], pieces: &[&str]) -> (String, bool) {
        let stops: Vec<String> = stops.iter().map(|s| s.to_string()).collect();
        let mut f = StopFilter::new(stops);
        let mut out = String::new();
        let mut emit = |s: &str| out.push_str(s);
        let mut stopped = false;
        for p in pieces {
            if f.push(p, &mut emit) {
                stopped = true;
                break;
            }
        }
        if !stopped {
            f.flush(&mut emit);
        }
        assert_eq!(out, f.text);
        (out, stopped)
    }

    #[test]
    fn stop_string_split_across_pieces_is_cut() {
        assert_eq!(
            run(&["\nUser:"], &["Hello", "\nUs", "er:", " more"]),
            ("Hello".into(), true)
        );
    }

    #[test]
    fn held_back_prefix_is_released_when_it_is_not_a_stop() {
        assert_eq!(
            run(&["\nUser:"], &["Hello", "\nUs", "ually"]),
            ("Hello\nUsually".into(), false)
        );
    }

    #[test]
    fn multibyte_text_near_stops_is_safe() {
        assert_eq!(run(&["東京"], &["café 東", "京 x"]), ("café ".into(), true));
        assert_eq!(run(&["🙂!"], &["a🙂", "b"]), ("a🙂b".into(), false));
    }
}
