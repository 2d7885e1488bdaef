//! The tokenizer: built from GGUF metadata or read from a `tokenizer.json`.
//!
//! GGUF stores the vocabulary, merges, token types and a pre-tokenizer name (`tokenizer.ggml.pre`);
//! this module turns those into a Hugging Face `tokenizers` pipeline that gives llama.cpp's ids.
//! The trap it avoids: for `smollm` the right pipeline splits digits one by one, then applies
//! byte-level BPE *without* a leading space, and treats control tokens (type 3) as special tokens
//! that are matched in the text (so a rendered chat template tokenizes to its control ids).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use tokenizers::decoders::DecoderWrapper;
use tokenizers::decoders::byte_fallback::ByteFallback;
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::decoders::fuse::Fuse;
use tokenizers::decoders::sequence::Sequence as DecoderSequence;
use tokenizers::decoders::strip::Strip;
use tokenizers::models::bpe::{BPE, Vocab};
use tokenizers::normalizers::{
    NormalizerWrapper, Prepend, Replace, Sequence as NormalizerSequence,
};
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence as PreSequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::{AddedToken, SplitDelimiterBehavior};

use crate::error::{Error, Result};
use crate::gguf::{Gguf, Value};

/// Llama 3's pre-tokenizer regex, as llama.cpp uses it for `llama-bpe`.
const LLAMA3_PATTERN: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// A tokenizer with the model's special ids.
#[derive(Clone)]
pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
    bos: Option<u32>,
    eos: Option<u32>,
    add_bos: bool,
    stop_ids: Vec<u32>,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer")
            .field("vocab_size", &self.vocab_size())
            .field("bos", &self.bos)
            .field("eos", &self.eos)
            .field("stop_ids", &self.stop_ids)
            .finish()
    }
}

impl Tokenizer {
    /// Builds the tokenizer that llama.cpp would use for this GGUF file.
    pub fn from_gguf(gguf: &Gguf) -> Result<Self> {
        let path = gguf.path();
        let bad = |problem: String| Error::Tokenizer {
            path: path.to_owned(),
            problem,
        };
        let tokens = string_array(gguf, "tokenizer.ggml.tokens").map_err(bad)?;
        let types: Vec<u64> = match gguf
            .get("tokenizer.ggml.token_type")
            .and_then(Value::as_array)
        {
            Some(a) => a.iter().map(|v| v.as_u64().unwrap_or(1)).collect(),
            None => vec![1; tokens.len()],
        };
        if types.len() != tokens.len() {
            return Err(bad(format!(
                "{} token types for {} tokens",
                types.len(),
                tokens.len()
            )));
        }
        let kind = gguf.string("tokenizer.ggml.model").unwrap_or("gpt2");
        let vocab: Vocab = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
        let mut tok = match kind {
            "gpt2" => {
                let merges = string_array(gguf, "tokenizer.ggml.merges").map_err(bad)?;
                let merges = merges
                    .iter()
                    .map(|m| m.split_once(' ').map(|(a, b)| (a.to_owned(), b.to_owned())))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| bad("a merge has no space".into()))?;
                let bpe = BPE::builder()
                    .vocab_and_merges(vocab, merges)
                    .ignore_merges(gguf.string("tokenizer.ggml.pre").ok() == Some("llama-bpe"))
                    .build()
                    .map_err(|e| bad(format!("BPE: {e}")))?;
                let mut tok = tokenizers::Tokenizer::new(bpe);
                let pre = gguf.string("tokenizer.ggml.pre").unwrap_or("default");
                tok.with_pre_tokenizer(Some(byte_level_pre_tokenizer(pre).map_err(bad)?));
                tok.with_decoder(Some(ByteLevelDecoder::default()));
                tok
            }
            "llama" => {
                let scores: Option<Vec<f64>> = gguf
                    .get("tokenizer.ggml.scores")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().map(|v| v.as_f64().unwrap_or(0.0)).collect());
                let merges = sentencepiece_merges(&tokens, &types, scores.as_deref());
                let bpe = BPE::builder()
                    .vocab_and_merges(vocab, merges)
                    .byte_fallback(true)
                    .fuse_unk(true)
                    .unk_token("<unk>".into())
                    .build()
                    .map_err(|e| bad(format!("BPE: {e}")))?;
                let mut tok = tokenizers::Tokenizer::new(bpe);
                let space = Replace::new(" ", "▁").map_err(|e| bad(e.to_string()))?;
                let norm = NormalizerSequence::new(vec![
                    NormalizerWrapper::Prepend(Prepend::new("▁".into())),
                    NormalizerWrapper::Replace(space),
                ]);
                tok.with_normalizer(Some(norm))
                    .map_err(|e| bad(e.to_string()))?;
                let unspace = tokenizers::decoders::DecoderWrapper::Replace(
                    Replace::new("▁", " ").map_err(|e| bad(e.to_string()))?,
                );
                tok.with_decoder(Some(DecoderSequence::new(vec![
                    unspace,
                    DecoderWrapper::ByteFallback(ByteFallback::new()),
                    DecoderWrapper::Fuse(Fuse::new()),
                    DecoderWrapper::Strip(Strip::new(' ', 1, 0)),
                ])));
                tok
            }
            other => {
                return Err(bad(format!(
                    "tokenizer model `{other}` is not supported (gpt2, llama are)"
                )));
            }
        };
        // Control (3) and user-defined (4) tokens are matched whole in the text, as llama.cpp does
        // with `parse_special`; only control tokens are skipped when decoding.
        let added = |kind: u64| -> Vec<AddedToken> {
            tokens
                .iter()
                .zip(&types)
                .filter(|(_, t)| **t == kind)
                .map(|(s, _)| AddedToken::from(s.clone(), kind == 3))
                .collect()
        };
        tok.add_special_tokens(added(3))
            .map_err(|e| bad(e.to_string()))?;
        tok.add_tokens(added(4)).map_err(|e| bad(e.to_string()))?;
        let id = |key: &str| gguf.u64(key).ok().map(|v| v as u32);
        let bos = id("tokenizer.ggml.bos_token_id");
        let eos = id("tokenizer.ggml.eos_token_id");
        let add_bos = matches!(
            gguf.get("tokenizer.ggml.add_bos_token"),
            Some(Value::Bool(true))
        );
        let mut stop_ids: Vec<u32> = [eos, id("tokenizer.ggml.eot_token_id")]
            .into_iter()
            .flatten()
            .collect();
        stop_ids.extend(end_of_turn_ids(&tokens));
        stop_ids.sort_unstable();
        stop_ids.dedup();
        Ok(Tokenizer {
            inner: tok,
            bos,
            eos,
            add_bos,
            stop_ids,
        })
    }

    /// Reads a Hugging Face `tokenizer.json`, with special tokens from the `tokenizer_config.json`
    /// beside it when there is one.
    pub fn from_hf_file(path: &Path) -> Result<Self> {
        let inner = tokenizers::Tokenizer::from_file(path).map_err(|e| Error::Tokenizer {
            path: path.to_owned(),
            problem: e.to_string(),
        })?;
        let config = path.parent().map(|d| d.join("tokenizer_config.json"));
        let config = match config.filter(|p| p.exists()) {
            Some(p) => Some(read_json(&p)?),
            None => None,
        };
        let token = |key: &str| -> Option<u32> {
            let v = config.as_ref()?.get(key)?;
            let s = v
                .as_str()
                .or_else(|| v.get("content").and_then(|c| c.as_str()))?;
            inner.token_to_id(s)
        };
        let bos = token("bos_token");
        let eos = token("eos_token");
        let add_bos = config
            .as_ref()
            .and_then(|c| c.get("add_bos_token"))
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        let vocab: Vec<String> = {
            let mut v: Vec<(String, u32)> = inner.get_vocab(true).into_iter().collect();
            v.sort_by_key(|(_, id)| *id);
            v.into_iter().map(|(s, _)| s).collect()
        };
        let mut stop_ids: Vec<u32> = eos.into_iter().collect();
        stop_ids.extend(end_of_turn_ids(&vocab));
        stop_ids.sort_unstable();
        stop_ids.dedup();
        Ok(Tokenizer {
            inner,
            bos,
            eos,
            add_bos,
            stop_ids,
        })
    }

    /// Token ids of `text`; special tokens written in the text are recognised, no BOS is added.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self.inner.encode(text, false).map_err(Error::Tokenize)?;
        Ok(enc.get_ids().to_vec())
    }

    /// Ids of a whole prompt: like [`encode`](Self::encode), with the BOS token prepended when the
    /// model asks for one and the text does not already start with it.
    pub fn encode_prompt(&self, text: &str) -> Result<Vec<u32>> {
        let mut ids = self.encode(text)?;
        if let (true, Some(bos)) = (self.add_bos, self.bos)
            && ids.first() != Some(&bos)
        {
            ids.insert(0, bos);
        }
        Ok(ids)
    }

    /// Text of `ids`, special tokens left out.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.inner.decode(ids, true).map_err(Error::Tokenize)
    }

    /// A streaming decoder that yields text only once it forms whole UTF-8 characters.
    pub fn stream(&self) -> TokenStream<'_> {
        TokenStream {
            inner: self.inner.decode_stream(true),
        }
    }

    /// Writes a Hugging Face `tokenizer.json` (for exporting a model folder).
    pub fn save(&self, path: &Path) -> Result<()> {
        self.inner.save(path, false).map_err(|e| Error::Tokenizer {
            path: path.to_owned(),
            problem: e.to_string(),
        })
    }

    /// Number of ids, added tokens included.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// The text of one token, as stored in the vocabulary.
    pub fn id_to_token(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }

    /// The id of one token's text.
    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// Beginning-of-sequence token.
    pub fn bos(&self) -> Option<u32> {
        self.bos
    }

    /// End-of-sequence token.
    pub fn eos(&self) -> Option<u32> {
        self.eos
    }

    /// Ids that end generation: EOS, EOT and the chat templates' end-of-turn tokens.
    pub fn stop_ids(&self) -> &[u32] {
        &self.stop_ids
    }

    /// Checks that the tokenizer fits a model whose embedding has `model_vocab` rows.
    pub fn check_fits(&self, model_vocab: usize, path: &Path) -> Result<()> {
        let n = self.vocab_size();
        if n > model_vocab {
            return Err(Error::Tokenizer {
                path: path.to_owned(),
                problem: format!(
                    "{n} tokens but the model has only {model_vocab} embeddings: tokenizer and model do not match"
                ),
            });
        }
        Ok(())
    }
}

/// Turns token ids into text piece by piece, holding back incomplete UTF-8 characters.
pub struct TokenStream<'a> {
    inner: tokenizers::tokenizer::DecodeStream<
        'a,
        tokenizers::ModelWrapper,
        tokenizers::NormalizerWrapper,
        tokenizers::PreTokenizerWrapper,
        tokenizers::PostProcessorWrapper,
        tokenizers::DecoderWrapper,
    >,
}

impl TokenStream<'_> {
    /// Feeds one id; returns the text it completes, if any.
    pub fn step(&mut self, id: u32) -> Result<Option<String>> {
        self.inner.step(id).map_err(Error::Tokenize)
    }
}

fn byte_level_pre_tokenizer(pre: &str) -> Result<PreTokenizerWrapper, String> {
    let byte_level =
        |regex: bool| PreTokenizerWrapper::ByteLevel(ByteLevel::new(false, true, regex));
    Ok(match pre {
        // SmolLM2: digits one by one, then GPT-2's byte-level regex.
        "smollm" => PreSequence::new(vec![
            PreTokenizerWrapper::Digits(Digits::new(true)),
            byte_level(true),
        ])
        .into(),
        "gpt2" | "default" => byte_level(true),
        "llama-bpe" | "llama3" | "smaug-bpe" => {
            let split = Split::new(
                SplitPattern::Regex(LLAMA3_PATTERN.into()),
                SplitDelimiterBehavior::Isolated,
                false,
            )
            .map_err(|e| e.to_string())?;
            PreSequence::new(vec![PreTokenizerWrapper::Split(split), byte_level(false)]).into()
        }
        other => {
            return Err(format!(
                "pre-tokenizer `{other}` is not supported (smollm, gpt2, llama-bpe are)"
            ));
        }
    })
}

/// Merges for a SentencePiece vocabulary that GGUF stores without them: every way of writing a
/// token as two other tokens, ranked by the token's score (as HF's converter does).
fn sentencepiece_merges(
    tokens: &[String],
    types: &[u64],
    scores: Option<&[f64]>,
) -> Vec<(String, String)> {
    let index: HashMap<&str, usize> = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| (t.as_str(), i))
        .collect();
    let mut merges: Vec<(f64, usize, usize, String, String)> = Vec::new();
    for (id, tok) in tokens.iter().enumerate() {
        if types[id] != 1 {
            continue;
        }
        let rank = scores.map_or(-(id as f64), |s| s.get(id).copied().unwrap_or(0.0));
        for (split, _) in tok.char_indices().skip(1) {
            let (a, b) = tok.split_at(split);
            if let (Some(ia), Some(ib)) = (index.get(a), index.get(b)) {
                merges.push((rank, *ia, *ib, a.to_owned(), b.to_owned()));
            }
        }
    }
    merges.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)).then(x.2.cmp(&y.2)));
    merges.into_iter().map(|(_, _, _, a, b)| (a, b)).collect()
}

fn end_of_turn_ids(vocab: &[String]) -> Vec<u32> {
    const END_OF_TURN: [&str; 5] = [
        "<|im_end|>",
        "<|eot_id|>",
        "<|end|>",
        "<end_of_turn>",
        "<|endoftext|>",
    ];
    vocab
        .iter()
        .enumerate()
        .filter(|(_, t)| END_OF_TURN.contains(&t.as_str()))
        .map(|(i, _)| i as u32)
        .collect()
}

fn string_array(gguf: &Gguf, key: &str) -> Result<Vec<String>, String> {
    let arr = gguf
        .get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| format!("metadata `{key}` is missing"))?;
    arr.iter()
        .map(|v| {
            v.as_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("`{key}` holds a non-string"))
        })
        .collect()
}

pub(crate) fn read_json(path: &PathBuf) -> Result<serde_json::Value> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.clone(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| Error::Json {
        path: path.clone(),
        source,
    })
}
