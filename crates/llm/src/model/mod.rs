//! Loading a whole model: weights, tokenizer and chat template, from a GGUF file or a Hugging
//! Face folder, plus the facts a model list shows.

pub mod llama;
pub mod weights;

use std::path::{Path, PathBuf};

use candle_core::Device;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::gguf::Gguf;
use crate::lora::LoraAdapter;
use crate::template::{ChatTemplate, template_from_config};
use crate::tokenizer::{Tokenizer, read_json};
use llama::{Llama, LlamaConfig};
use weights::{GgufSource, SafetensorsSource, WeightFormat, gguf_config};

/// File name of the model that ships with Grimoire.
pub const BUILT_IN_MODEL: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

/// Where the built-in model lives: `$GRIMOIRE_MODEL_PATH`, else
/// `<data dir>/grimoire/models/SmolLM2-135M-Instruct.Q4_1.gguf`.
pub fn built_in_model_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("GRIMOIRE_MODEL_PATH") {
        return Some(PathBuf::from(p));
    }
    Some(models_dir()?.join(BUILT_IN_MODEL))
}

/// The folder Grimoire keeps its models in: `<data dir>/grimoire/models`.
pub fn models_dir() -> Option<PathBuf> {
    Some(dirs::data_dir()?.join("grimoire").join("models"))
}

/// How to load a model.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// How to hold the weights.
    pub format: WeightFormat,
    /// Cap on the context length (the model's own is used when lower); bounds cache memory.
    pub max_context: usize,
    /// Where to run.
    pub device: Device,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            format: WeightFormat::Fast,
            max_context: 8192,
            device: Device::Cpu,
        }
    }
}

/// What a model list shows about one model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelInfo {
    /// Display name (`general.name`, or the file or folder name).
    pub name: String,
    /// Architecture (`llama`, `mistral`).
    pub architecture: String,
    /// File or folder.
    pub path: PathBuf,
    /// Bytes on disk.
    pub size_bytes: u64,
    /// Storage type of the projection weights (`Q4_1`, `BF16`...).
    pub quantization: String,
    /// Context length the model was trained for.
    pub context_length: usize,
    /// Parameter count.
    pub parameters: u64,
    /// License, when the file states one.
    pub license: Option<String>,
}

impl ModelInfo {
    /// Reads only headers and config files: cheap enough for a model list.
    pub fn read(path: &Path) -> Result<Self> {
        if path.is_dir() {
            return hf_info(path);
        }
        let gguf = Gguf::open(path)?;
        gguf_info(&gguf)
    }
}

fn gguf_info(gguf: &Gguf) -> Result<ModelInfo> {
    let path = gguf.path();
    let cfg = gguf_config(gguf)?;
    let quantization = gguf
        .tensors
        .get("blk.0.ffn_up.weight")
        .map(|t| format!("{:?}", t.dtype))
        .unwrap_or_else(|| "unknown".into());
    let parameters = gguf
        .tensors
        .values()
        .map(|t| t.shape.iter().product::<usize>() as u64)
        .sum();
    let name = gguf
        .string("general.name")
        .map(str::to_owned)
        .unwrap_or_else(|_| file_name(path));
    Ok(ModelInfo {
        name,
        architecture: gguf.string("general.architecture")?.to_owned(),
        path: path.to_owned(),
        size_bytes: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
        quantization,
        context_length: cfg.max_position_embeddings,
        parameters,
        license: gguf.string("general.license").ok().map(str::to_owned),
    })
}

fn file_name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn hf_config(dir: &Path) -> Result<(LlamaConfig, serde_json::Value)> {
    let path = dir.join("config.json");
    let raw = read_json(&path)?;
    let arch = raw
        .get("architectures")
        .and_then(|a| a.get(0))
        .and_then(|a| a.as_str())
        .or_else(|| raw.get("model_type").and_then(|m| m.as_str()))
        .unwrap_or("unknown")
        .to_owned();
    let known = ["LlamaForCausalLM", "MistralForCausalLM", "llama", "mistral"];
    if !known.contains(&arch.as_str()) {
        return Err(Error::UnknownArchitecture {
            path,
            architecture: arch,
        });
    }
    let cfg: LlamaConfig =
        serde_json::from_value(raw.clone()).map_err(|source| Error::Json { path, source })?;
    Ok((cfg, raw))
}

fn hf_info(dir: &Path) -> Result<ModelInfo> {
    let (cfg, raw) = hf_config(dir)?;
    let mut size = 0;
    if let Ok(entries) = std::fs::read_dir(dir) {
        size = entries
            .filter_map(|e| e.ok()?.metadata().ok())
            .map(|m| m.len())
            .sum();
    }
    let architecture = raw
        .get("model_type")
        .and_then(|m| m.as_str())
        .unwrap_or("llama")
        .to_owned();
    let d = cfg.hidden_size as u64;
    let per_layer: u64 = crate::lora::Proj::ALL
        .iter()
        .map(|p| {
            let (o, i) = cfg.proj_dims(*p);
            (o * i) as u64
        })
        .sum::<u64>()
        + 2 * d;
    let embed = cfg.vocab_size as u64 * d;
    let parameters = embed * if cfg.tie_word_embeddings { 1 } else { 2 }
        + per_layer * cfg.num_hidden_layers as u64
        + d;
    Ok(ModelInfo {
        name: file_name(dir),
        architecture,
        path: dir.to_owned(),
        size_bytes: size,
        quantization: raw
            .get("torch_dtype")
            .and_then(|t| t.as_str())
            .unwrap_or("float32")
            .to_uppercase(),
        context_length: cfg.max_position_embeddings,
        parameters,
        license: None,
    })
}

/// Lists the models (GGUF files and Hugging Face folders) in `dir`; unreadable entries are skipped.
pub fn list_models(dir: &Path) -> Vec<ModelInfo> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<ModelInfo> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "gguf") || p.join("config.json").exists())
        .filter_map(|p| ModelInfo::read(&p).ok())
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// A loaded model: the network, its tokenizer and its chat template.
#[derive(Debug, Clone)]
pub struct Model {
    /// The network.
    pub llama: Llama,
    /// The tokenizer.
    pub tokenizer: Tokenizer,
    /// The chat template.
    pub template: ChatTemplate,
    /// What it is.
    pub info: ModelInfo,
}

impl Model {
    /// Loads a GGUF file, or a Hugging Face folder (config.json, *.safetensors, tokenizer.json).
    pub fn load(path: &Path, opts: &LoadOptions) -> Result<Self> {
        if path.is_dir() {
            Self::load_hf(path, opts)
        } else {
            Self::load_gguf(path, opts)
        }
    }

    fn load_gguf(path: &Path, opts: &LoadOptions) -> Result<Self> {
        let mut gguf = Gguf::open(path)?;
        let info = gguf_info(&gguf)?;
        let cfg = gguf_config(&gguf)?;
        let tokenizer = Tokenizer::from_gguf(&gguf)?;
        tokenizer.check_fits(cfg.vocab_size, path)?;
        let template = match gguf.string("tokenizer.chat_template") {
            Ok(source) => {
                let token = |id: Option<u32>| {
                    id.and_then(|i| tokenizer.id_to_token(i))
                        .unwrap_or_default()
                };
                ChatTemplate::new(source, token(tokenizer.bos()), token(tokenizer.eos()))?
            }
            Err(_) => ChatTemplate::chatml(),
        };
        let mut src = GgufSource {
            gguf: &mut gguf,
            cfg: cfg.clone(),
            format: opts.format,
            device: opts.device.clone(),
        };
        let llama = Llama::load(cfg, &mut src, opts.max_context, &opts.device)?;
        Ok(Model {
            llama,
            tokenizer,
            template,
            info,
        })
    }

    fn load_hf(dir: &Path, opts: &LoadOptions) -> Result<Self> {
        let info = hf_info(dir)?;
        let (cfg, _) = hf_config(dir)?;
        let tokenizer = Tokenizer::from_hf_file(&dir.join("tokenizer.json"))?;
        tokenizer.check_fits(cfg.vocab_size, dir)?;
        let config_path = dir.join("tokenizer_config.json");
        let template = if config_path.exists() {
            let config = read_json(&config_path)?;
            match template_from_config(&config) {
                Some(source) => {
                    let token = |id: Option<u32>| {
                        id.and_then(|i| tokenizer.id_to_token(i))
                            .unwrap_or_default()
                    };
                    ChatTemplate::new(source, token(tokenizer.bos()), token(tokenizer.eos()))?
                }
                None => ChatTemplate::chatml(),
            }
        } else {
            ChatTemplate::chatml()
        };
        let mut src = SafetensorsSource::open(dir, opts.format, &opts.device)?;
        let llama = Llama::load(cfg, &mut src, opts.max_context, &opts.device)?;
        Ok(Model {
            llama,
            tokenizer,
            template,
            info,
        })
    }

    /// Reads a PEFT LoRA adapter folder and checks it fits this model.
    pub fn load_adapter(&self, dir: &Path) -> Result<LoraAdapter> {
        let cfg = self.llama.config();
        LoraAdapter::load_peft(
            dir,
            cfg.num_hidden_layers,
            |_, p| cfg.proj_dims(p),
            self.llama.device(),
        )
    }
}
