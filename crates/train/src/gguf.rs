//! The persona as one file llama.cpp and Ollama run: a PEFT adapter merged into its GGUF base and
//! written as GGUF, with the base's metadata (hyper-parameters, tokenizer, chat template).
//!
//! The merge works in the GGUF's own layout, tensor by tensor: the base tensor is dequantised,
//! `scale · B A` added (its q/k rows permuted the way llama.cpp's converter permutes the weights,
//! since PEFT adapters are in the Hugging Face layout), and the sum quantised again. Tensors the
//! adapter does not touch are copied byte for byte when their type does not change, so the file
//! differs from the base only where the persona does.

use std::path::{Path, PathBuf};

use candle_core::quantized::QTensor;
use candle_core::{Device, Tensor};
use grimoire_llm::gguf::{Gguf, TensorEntry, TypedValue};
use grimoire_llm::model::weights::gguf_config;
use grimoire_llm::{GgmlDType, LoraAdapter, Proj};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::{Error, Result};

/// Storage type of the exported weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum GgufType {
    /// Every tensor in the type the base stores it in (Q4_1 projections for the built-in model).
    #[default]
    Base,
    /// 8-bit blocks for every matrix: nearly lossless, about twice the size of 4-bit.
    Q8_0,
    /// 16-bit floats for every matrix: the merge kept exactly, the largest file.
    F16,
}

impl GgufType {
    /// llama.cpp's `general.file_type` (`LLAMA_FTYPE_MOSTLY_…`); none: keep the base's.
    fn file_type(self) -> Option<u32> {
        match self {
            GgufType::Base => None,
            GgufType::Q8_0 => Some(7),
            GgufType::F16 => Some(1),
        }
    }

    /// The type a tensor of the base is written in: vectors (norms) stay as the base has them,
    /// and so does a matrix whose rows do not split into the requested blocks.
    pub fn for_tensor(self, base: GgmlDType, shape: &[usize]) -> GgmlDType {
        let want = match self {
            GgufType::Base => return base,
            GgufType::Q8_0 => GgmlDType::Q8_0,
            GgufType::F16 => GgmlDType::F16,
        };
        let fits = shape.last().is_some_and(|c| c % want.block_size() == 0);
        if shape.len() < 2 || !fits { base } else { want }
    }
}

/// What [`export_gguf`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct GgufExported {
    /// The file.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// Tensors in it.
    pub tensors: usize,
    /// Tensors the adapter changed.
    pub merged: usize,
    /// Storage type of the projections (`Q4_1`, `Q8_0`, `F16`).
    pub weights: String,
}

/// Merges the PEFT adapter in `adapter_dir` into the GGUF model `base` and writes `out` (a GGUF
/// file named `name` in its metadata), atomically: on failure nothing is left at `out` and a file
/// that was there is kept.
pub fn export_gguf(
    adapter_dir: &Path,
    base: &Path,
    out: &Path,
    ty: GgufType,
    name: &str,
) -> Result<GgufExported> {
    if base.is_dir() {
        return Err(Error::Config(format!(
            "{} is a Hugging Face folder: GGUF export starts from a GGUF base model. Merge the run \
             (grimoire merge) and convert the merged folder with llama.cpp's convert_hf_to_gguf.py",
            base.display()
        )));
    }
    let mut gguf = Gguf::open(base)?;
    let cfg = gguf_config(&gguf)?;
    let device = Device::Cpu;
    let adapter = LoraAdapter::load_peft(
        adapter_dir,
        cfg.num_hidden_layers,
        |_, p| cfg.proj_dims(p),
        &device,
    )?;
    let mut infos: Vec<(String, grimoire_llm::gguf::TensorInfo)> = gguf
        .tensors
        .iter()
        .map(|(n, i)| (n.clone(), i.clone()))
        .collect();
    infos.sort_by_key(|(_, info)| info.offset);
    let pairs = (0..cfg.num_hidden_layers)
        .flat_map(|l| Proj::ALL.map(|p| (l, p)))
        .filter(|(l, p)| adapter.get(*l, *p).is_some())
        .count();
    let found = infos
        .iter()
        .filter_map(|(n, _)| projection(n))
        .filter(|(l, p)| adapter.get(*l, *p).is_some())
        .count();
    if found != pairs {
        return Err(Error::Checkpoint {
            path: adapter_dir.to_owned(),
            problem: format!(
                "the adapter has {pairs} LoRA pairs but the base has tensors for only {found} of them"
            ),
        });
    }
    let entries: Vec<TensorEntry> = infos
        .iter()
        .map(|(n, info)| TensorEntry {
            name: n.clone(),
            shape: info.shape.clone(),
            dtype: ty.for_tensor(info.dtype, &info.shape),
        })
        .collect();
    let weights = entries
        .iter()
        .find(|e| e.name == "blk.0.ffn_up.weight")
        .map_or_else(|| "unknown".to_owned(), |e| format!("{:?}", e.dtype));
    let metadata = persona_metadata(gguf.typed_metadata()?, name, ty, base);
    let (heads, kv_heads) = (cfg.num_attention_heads, cfg.n_kv_heads());
    let mut merged = 0;
    let bytes = grimoire_llm::gguf::write(out, &metadata, &entries, &mut |i| {
        let (tensor, info) = &infos[i];
        let target = entries[i].dtype;
        let pair = projection(tensor).and_then(|(l, p)| Some((p, adapter.get(l, p)?)));
        if pair.is_none() && target == info.dtype {
            return Ok(gguf.tensor_bytes(tensor)?.1);
        }
        let mut w = gguf.qtensor(tensor, &device)?.dequantize(&device)?;
        if let Some((proj, pair)) = pair {
            let mut delta = (pair.b.matmul(&pair.a)? * pair.scale)?;
            match proj {
                Proj::Q => delta = to_gguf_rows(&delta, heads)?,
                Proj::K => delta = to_gguf_rows(&delta, kv_heads)?,
                _ => {}
            }
            w = (w + delta)?;
            merged += 1;
        }
        Ok(QTensor::quantize(&w, target)?.data()?.into_owned())
    })?;
    Ok(GgufExported {
        path: out.to_owned(),
        bytes,
        tensors: entries.len(),
        merged,
        weights,
    })
}

/// The layer and projection of a llama.cpp tensor name (`blk.3.attn_q.weight`).
fn projection(name: &str) -> Option<(usize, Proj)> {
    let rest = name.strip_prefix("blk.")?;
    let (layer, rest) = rest.split_once('.')?;
    let module = rest.strip_suffix(".weight")?;
    let proj = Proj::ALL.into_iter().find(|p| p.gguf_name() == module)?;
    Some((layer.parse().ok()?, proj))
}

/// llama.cpp's converter permutation of q/k rows (interleaved RoPE): within each head of `d`
/// rows, Hugging Face row `i·d/2 + j` becomes row `2j + i`. The runtime's loader undoes it.
fn to_gguf_rows(t: &Tensor, heads: usize) -> candle_core::Result<Tensor> {
    let (rows, cols) = t.dims2()?;
    t.reshape((heads, 2, rows / heads / 2, cols))?
        .transpose(1, 2)?
        .contiguous()?
        .reshape((rows, cols))
}

/// The base's metadata with the persona's name, the base recorded as `general.base_model.0.*`,
/// and the file type of the chosen storage. `general.alignment` is dropped: the writer aligns to
/// the default 32 bytes.
fn persona_metadata(
    base_meta: Vec<(String, TypedValue)>,
    name: &str,
    ty: GgufType,
    base: &Path,
) -> Vec<(String, TypedValue)> {
    let get = |key: &str| {
        base_meta
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| match v {
                TypedValue::String(s) => Some(s.clone()),
                _ => None,
            })
    };
    let base_name = get("general.name").unwrap_or_else(|| {
        base.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    });
    let organization = get("general.organization");
    let mut meta: Vec<(String, TypedValue)> = base_meta
        .into_iter()
        .filter(|(k, _)| k != "general.alignment" && !k.starts_with("general.base_model."))
        .map(|(k, v)| match k.as_str() {
            "general.name" => (k, TypedValue::String(name.to_owned())),
            "general.file_type" => {
                let v = ty.file_type().map_or(v, TypedValue::U32);
                (k, v)
            }
            _ => (k, v),
        })
        .collect();
    if !meta.iter().any(|(k, _)| k == "general.name") {
        meta.push(("general.name".into(), TypedValue::String(name.to_owned())));
    }
    if let Some(ft) = ty
        .file_type()
        .filter(|_| !meta.iter().any(|(k, _)| k == "general.file_type"))
    {
        meta.push(("general.file_type".into(), TypedValue::U32(ft)));
    }
    meta.push(("general.base_model.count".into(), TypedValue::U32(1)));
    meta.push((
        "general.base_model.0.name".into(),
        TypedValue::String(base_name),
    ));
    if let Some(org) = organization {
        meta.push((
            "general.base_model.0.organization".into(),
            TypedValue::String(org),
        ));
    }
    meta
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn tensor_names_map_to_projections() {
        assert_eq!(projection("blk.12.attn_k.weight"), Some((12, Proj::K)));
        assert_eq!(projection("blk.0.ffn_down.weight"), Some((0, Proj::Down)));
        assert_eq!(projection("blk.0.attn_norm.weight"), None);
        assert_eq!(projection("token_embd.weight"), None);
    }

    #[test]
    fn q_k_rows_go_to_llama_cpp_order() {
        // One head of four rows: HF rows (0, 1 | 2, 3) interleave to (0, 2, 1, 3).
        let t = Tensor::arange(0f32, 4., &Device::Cpu)
            .unwrap()
            .reshape((4, 1))
            .unwrap();
        let g = to_gguf_rows(&t, 1)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert_eq!(g, [0., 2., 1., 3.]);
    }

    #[test]
    fn vectors_and_misfit_rows_keep_the_base_type() {
        assert_eq!(
            GgufType::Q8_0.for_tensor(GgmlDType::F32, &[576]),
            GgmlDType::F32
        );
        assert_eq!(
            GgufType::Q8_0.for_tensor(GgmlDType::Q4_1, &[192, 576]),
            GgmlDType::Q8_0
        );
        assert_eq!(
            GgufType::Q8_0.for_tensor(GgmlDType::F16, &[4, 40]),
            GgmlDType::F16
        );
        assert_eq!(
            GgufType::Base.for_tensor(GgmlDType::Q8_0, &[49152, 576]),
            GgmlDType::Q8_0
        );
    }
}
