//! Weight sources: a GGUF file (llama.cpp names and layout) or a Hugging Face folder of
//! safetensors shards. Both hand the model weights in the Hugging Face layout, converted to the
//! requested [`WeightFormat`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use candle_core::quantized::{GgmlDType, QStorage, QTensor};
use candle_core::{DType, Device};
use std::borrow::Cow;

use super::llama::{LlamaConfig, Weight, WeightKey, WeightSource};
use crate::error::{Error, Result};
use crate::gguf::Gguf;
use crate::lora::Proj;

/// How to hold the frozen weights in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WeightFormat {
    /// As the file stores them, except that block types without a SIMD kernel here (Q5_0, Q5_1,
    /// and Q4_1 on CPUs without AVX2) become Q8_0, which is nearly lossless for them and several
    /// times faster.
    #[default]
    Fast,
    /// As the file stores them (a GGUF's blocks; a safetensors folder's tensors widened to f32):
    /// llama.cpp's exact arithmetic.
    AsStored,
    /// Dequantised to dense float32 (exact reference arithmetic; 4–8× the memory).
    F32,
    /// Quantised to this GGML type at load (e.g. Q8_0 for candle's fast CPU kernel); matrices
    /// whose rows are not a whole number of blocks stay as they are.
    Quantized(GgmlDType),
}

fn convert(w: Weight, format: WeightFormat, device: &Device) -> Result<Weight> {
    let format = match (format, &w) {
        (WeightFormat::Fast, Weight::Quantized(q)) => match q.dtype() {
            GgmlDType::Q4_1 if crate::gemv::fast_q4_1() => WeightFormat::AsStored,
            GgmlDType::Q4_1 | GgmlDType::Q5_0 | GgmlDType::Q5_1 => {
                WeightFormat::Quantized(GgmlDType::Q8_0)
            }
            _ => WeightFormat::AsStored,
        },
        (WeightFormat::Fast, _) => WeightFormat::AsStored,
        (f, _) => f,
    };
    Ok(match (format, w) {
        (WeightFormat::Fast, w) => w,
        (WeightFormat::AsStored, Weight::Dense(t)) => Weight::Dense(t.to_dtype(DType::F32)?),
        (WeightFormat::AsStored, w) => w,
        (WeightFormat::F32, Weight::Quantized(q)) => Weight::Dense(q.dequantize(device)?),
        (WeightFormat::F32, Weight::Dense(t)) => Weight::Dense(t.to_dtype(DType::F32)?),
        (WeightFormat::Quantized(dtype), w) => {
            let (rank, cols, already) = match &w {
                Weight::Quantized(q) => (
                    q.shape().rank(),
                    q.shape().dims().last().copied(),
                    q.dtype() == dtype,
                ),
                Weight::Dense(t) => (t.rank(), t.dims().last().copied(), false),
            };
            let blocks_fit = cols.is_some_and(|c| c % dtype.block_size() == 0);
            if already || rank != 2 || !blocks_fit {
                match w {
                    Weight::Dense(t) => Weight::Dense(t.to_dtype(DType::F32)?),
                    q => q,
                }
            } else {
                let dense = match &w {
                    Weight::Quantized(q) => q.dequantize(device)?,
                    Weight::Dense(t) => t.to_dtype(DType::F32)?,
                };
                Weight::Quantized(Arc::new(QTensor::quantize(&dense, dtype)?))
            }
        }
    })
}

/// The model hyper-parameters declared by a GGUF file.
pub fn gguf_config(gguf: &Gguf) -> Result<LlamaConfig> {
    let arch = gguf.string("general.architecture")?.to_owned();
    if !matches!(arch.as_str(), "llama" | "mistral") {
        return Err(Error::UnknownArchitecture {
            path: gguf.path().to_owned(),
            architecture: arch,
        });
    }
    let key = |k: &str| format!("{arch}.{k}");
    let n_heads = gguf.u64(&key("attention.head_count"))? as usize;
    let hidden = gguf.u64(&key("embedding_length"))? as usize;
    let vocab = match gguf.u64(&key("vocab_size")) {
        Ok(v) => v as usize,
        Err(_) => gguf
            .tensors
            .get("token_embd.weight")
            .map(|t| t.shape[0])
            .unwrap_or(0),
    };
    Ok(LlamaConfig {
        hidden_size: hidden,
        intermediate_size: gguf.u64(&key("feed_forward_length"))? as usize,
        num_hidden_layers: gguf.u64(&key("block_count"))? as usize,
        num_attention_heads: n_heads,
        num_key_value_heads: gguf
            .u64(&key("attention.head_count_kv"))
            .ok()
            .map(|v| v as usize),
        head_dim: gguf
            .u64(&key("attention.key_length"))
            .ok()
            .map(|v| v as usize),
        rms_norm_eps: gguf
            .f64_opt(&key("attention.layer_norm_rms_epsilon"))
            .unwrap_or(1e-5),
        rope_theta: gguf.f64_opt(&key("rope.freq_base")).unwrap_or(10_000.0),
        max_position_embeddings: gguf
            .u64(&key("context_length"))
            .map(|v| v as usize)
            .unwrap_or(4096),
        vocab_size: vocab,
        tie_word_embeddings: !gguf.tensors.contains_key("output.weight"),
        sliding_window: gguf
            .u64(&key("attention.sliding_window"))
            .ok()
            .map(|v| v as usize),
        rope_scaling: None,
    })
}

/// Weights from a GGUF file, q/k rows put back into the Hugging Face order.
pub struct GgufSource<'a> {
    /// The open file.
    pub gguf: &'a mut Gguf,
    /// Hyper-parameters (for head counts).
    pub cfg: LlamaConfig,
    /// Target format.
    pub format: WeightFormat,
    /// Device.
    pub device: Device,
}

impl WeightSource for GgufSource<'_> {
    fn load(&mut self, key: WeightKey) -> Result<Option<Weight>> {
        let name = key.gguf_name();
        if !self.gguf.tensors.contains_key(&name) {
            return Ok(None);
        }
        let (info, mut bytes) = self.gguf.tensor_bytes(&name)?;
        let heads = match key {
            WeightKey::Proj(_, Proj::Q) => Some(self.cfg.num_attention_heads),
            WeightKey::Proj(_, Proj::K) => Some(self.cfg.n_kv_heads()),
            _ => None,
        };
        if let Some(heads) = heads {
            bytes = unpermute_rows(&bytes, info.shape[0], heads).ok_or_else(|| Error::Config {
                path: self.gguf.path().to_owned(),
                problem: format!(
                    "`{name}` rows {:?} do not split into {heads} heads",
                    info.shape
                ),
            })?;
        }
        let storage = QStorage::from_data(Cow::Owned(bytes), &self.device, info.dtype)?;
        let q = QTensor::new(storage, info.shape.clone())?;
        Some(convert(
            Weight::Quantized(Arc::new(q)),
            self.format,
            &self.device,
        ))
        .transpose()
    }

    fn path(&self) -> &Path {
        self.gguf.path()
    }
}

/// Undoes llama.cpp's converter permutation of q/k rows: within each head, GGUF row `2j + i`
/// holds Hugging Face row `i·(d/2) + j`. Works on raw bytes, so on any block type, since each row
/// is a whole number of blocks.
fn unpermute_rows(bytes: &[u8], rows: usize, heads: usize) -> Option<Vec<u8>> {
    if heads == 0
        || rows == 0
        || !rows.is_multiple_of(heads)
        || !(rows / heads).is_multiple_of(2)
        || !bytes.len().is_multiple_of(rows)
    {
        return None;
    }
    let row_bytes = bytes.len() / rows;
    let hd = rows / heads;
    let half = hd / 2;
    let mut out = vec![0u8; bytes.len()];
    for h in 0..heads {
        for i in 0..2 {
            for j in 0..half {
                let dst = h * hd + i * half + j;
                let src = h * hd + 2 * j + i;
                out[dst * row_bytes..(dst + 1) * row_bytes]
                    .copy_from_slice(&bytes[src * row_bytes..(src + 1) * row_bytes]);
            }
        }
    }
    Some(out)
}

/// Weights from the safetensors shards of a Hugging Face folder.
pub struct SafetensorsSource {
    tensors: candle_core::safetensors::MmapedSafetensors,
    dir: PathBuf,
    format: WeightFormat,
    device: Device,
}

impl SafetensorsSource {
    /// Maps every `*.safetensors` file in `dir`.
    pub fn open(dir: &Path, format: WeightFormat, device: &Device) -> Result<Self> {
        let io = |source| Error::Io {
            path: dir.to_owned(),
            source,
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(io)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(Error::Config {
                path: dir.to_owned(),
                problem: "no .safetensors file in the folder".into(),
            });
        }
        for f in &files {
            check_safetensors_header(f)?;
        }
        // SAFETY: the files are mapped read-only; like every mmap-based loader we accept that a
        // file changed by another process while mapped gives wrong weights. Headers and sizes
        // were checked above, so a truncated file is an error here, not a fault later.
        let tensors = unsafe { candle_core::safetensors::MmapedSafetensors::multi(&files) }
            .map_err(|e| Error::Corrupt {
                path: dir.to_owned(),
                problem: e.to_string(),
            })?;
        Ok(SafetensorsSource {
            tensors,
            dir: dir.to_owned(),
            format,
            device: device.clone(),
        })
    }
}

/// Reads the JSON header and checks that every tensor's data lies inside the file.
fn check_safetensors_header(path: &Path) -> Result<()> {
    use std::io::Read;
    let corrupt = |problem: String| Error::Corrupt {
        path: path.to_owned(),
        problem,
    };
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let file_len = f.metadata().map_err(io)?.len();
    let mut n = [0u8; 8];
    f.read_exact(&mut n)
        .map_err(|_| corrupt("shorter than a safetensors header".into()))?;
    let n = u64::from_le_bytes(n);
    if n > file_len.saturating_sub(8) || n > 100 << 20 {
        return Err(corrupt(format!(
            "header length {n} does not fit the file ({file_len} bytes)"
        )));
    }
    let mut header = vec![0u8; n as usize];
    f.read_exact(&mut header).map_err(io)?;
    let header: serde_json::Value =
        serde_json::from_slice(&header).map_err(|e| corrupt(format!("header is not JSON: {e}")))?;
    let data_len = file_len - 8 - n;
    let entries = header
        .as_object()
        .ok_or_else(|| corrupt("header is not an object".into()))?;
    for (name, entry) in entries.iter().filter(|(k, _)| *k != "__metadata__") {
        let end = entry
            .get("data_offsets")
            .and_then(|o| o.get(1))
            .and_then(|v| v.as_u64());
        match end {
            Some(end) if end <= data_len => {}
            _ => {
                return Err(corrupt(format!(
                    "tensor `{name}` lies past the end of the file: the file is truncated"
                )));
            }
        }
    }
    Ok(())
}

impl WeightSource for SafetensorsSource {
    fn load(&mut self, key: WeightKey) -> Result<Option<Weight>> {
        let name = match key {
            WeightKey::Embed => "model.embed_tokens.weight".to_owned(),
            WeightKey::OutputNorm => "model.norm.weight".to_owned(),
            WeightKey::Output => "lm_head.weight".to_owned(),
            WeightKey::RopeFreqs => return Ok(None),
            WeightKey::AttnNorm(i) => format!("model.layers.{i}.input_layernorm.weight"),
            WeightKey::FfnNorm(i) => format!("model.layers.{i}.post_attention_layernorm.weight"),
            WeightKey::Proj(i, p) => format!("model.layers.{i}.{}.weight", p.hf_path()),
        };
        let t = match self.tensors.load(&name, &self.device) {
            Ok(t) => t,
            Err(_) if self.tensors.get(&name).is_err() => return Ok(None),
            Err(e) => {
                return Err(Error::Corrupt {
                    path: self.dir.clone(),
                    problem: format!("`{name}`: {e}"),
                });
            }
        };
        Some(convert(Weight::Dense(t), self.format, &self.device)).transpose()
    }

    fn path(&self) -> &Path {
        &self.dir
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpermute_inverts_llama_cpp_permute() {
        // Two heads of four rows, one byte per row. llama.cpp's permute puts HF row
        // i·half + j of each head at 2j + i.
        let hf: Vec<u8> = (0..8).collect();
        let mut gguf = vec![0u8; 8];
        for h in 0..2 {
            for i in 0..2 {
                for j in 0..2 {
                    gguf[h * 4 + 2 * j + i] = hf[h * 4 + i * 2 + j];
                }
            }
        }
        assert_eq!(unpermute_rows(&gguf, 8, 2), Some(hf));
        assert_eq!(unpermute_rows(&gguf, 8, 3), None);
    }
}
