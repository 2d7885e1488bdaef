//! Hugging Face formats: the PEFT adapter a run writes, and merging an adapter into its base as a
//! `transformers` folder.
//!
//! The runtime holds q/k weights in the Hugging Face layout (it un-permutes GGUF's rows at load),
//! so adapters trained here are already in PEFT's layout and are written as they are.

use std::collections::BTreeMap;
use std::path::Path;

use grimoire_llm::{LoadOptions, Model, Proj, WeightFormat};

use crate::config::LoraConfig;
use crate::error::{Error, Result, io};
use crate::files::{Named, write_atomic, write_safetensors};
use crate::model::Lora;

/// Host copies of the LoRA tensors, named as in the PEFT file.
pub(crate) fn lora_tensors(lora: &Lora) -> Result<Vec<Named>> {
    lora.named_vars()
        .into_iter()
        .map(|(name, v)| {
            let shape = v.dims().to_vec();
            let data = v.as_tensor().flatten_all()?.to_vec1::<f32>()?;
            Ok((name, shape, data))
        })
        .collect()
}

/// Writes `adapter_config.json` and `adapter_model.safetensors` (PEFT's keys,
/// `base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight`...) into `dir`.
pub fn save_adapter(
    tensors: &[Named],
    cfg: &LoraConfig,
    base_model: &str,
    dir: &Path,
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let targets: Vec<&str> = cfg.targets.iter().map(|t| t.proj().hf_name()).collect();
    let config = serde_json::json!({
        "alpha_pattern": {},
        "auto_mapping": null,
        "base_model_name_or_path": base_model,
        "bias": "none",
        "fan_in_fan_out": false,
        "inference_mode": true,
        "init_lora_weights": true,
        "layers_pattern": null,
        "layers_to_transform": null,
        "lora_alpha": cfg.alpha,
        "lora_dropout": cfg.dropout,
        "modules_to_save": null,
        "peft_type": "LORA",
        "r": cfg.r,
        "rank_pattern": {},
        "revision": null,
        "target_modules": targets,
        "task_type": "CAUSAL_LM",
        "use_dora": false,
        "use_rslora": cfg.use_rslora,
    });
    let text = serde_json::to_string_pretty(&config).map_err(|source| Error::Json {
        path: dir.join("adapter_config.json"),
        line: None,
        source,
    })?;
    write_atomic(&dir.join("adapter_config.json"), text.as_bytes())?;
    let meta = BTreeMap::from([("format".to_owned(), "pt".to_owned())]);
    write_safetensors(&dir.join("adapter_model.safetensors"), tensors, &meta)
}

/// Folds the PEFT adapter in `adapter_dir` into the base model at `base` (GGUF or Hugging Face
/// folder) and writes a Hugging Face folder to `out_dir`: `model.safetensors` (float32),
/// `config.json`, `tokenizer.json`, `tokenizer_config.json` with the chat template.
pub fn merge(adapter_dir: &Path, base: &Path, out_dir: &Path) -> Result<()> {
    let opts = LoadOptions {
        format: WeightFormat::F32,
        max_context: 256,
        ..LoadOptions::default()
    };
    let model = Model::load(base, &opts)?;
    let adapter = model.load_adapter(adapter_dir)?;
    let llama = &model.llama;
    let cfg = llama.config().clone();
    std::fs::create_dir_all(out_dir).map_err(io(out_dir))?;

    let host = |t: &candle_core::Tensor| -> Result<(Vec<usize>, Vec<f32>)> {
        Ok((t.dims().to_vec(), t.flatten_all()?.to_vec1::<f32>()?))
    };
    let mut tensors: Vec<Named> = Vec::new();
    let embed = llama.embedding_weight()?;
    let (shape, data) = host(&embed)?;
    tensors.push(("model.embed_tokens.weight".into(), shape, data));
    for i in 0..cfg.num_hidden_layers {
        let (attn_norm, ffn_norm) = llama
            .layer_norms(i)
            .ok_or_else(|| Error::Config(format!("layer {i} missing")))?;
        let (s, d) = host(attn_norm)?;
        tensors.push((format!("model.layers.{i}.input_layernorm.weight"), s, d));
        let (s, d) = host(ffn_norm)?;
        tensors.push((
            format!("model.layers.{i}.post_attention_layernorm.weight"),
            s,
            d,
        ));
        for p in Proj::ALL {
            let lin = llama
                .linear(i, p)
                .ok_or_else(|| Error::Config(format!("layer {i} missing")))?;
            let mut w = crate::ops::Frozen::from_qmatmul(lin.base())?.dense(llama.device())?;
            if let Some(pair) = adapter.get(i, p) {
                w = (w + (pair.b.matmul(&pair.a)? * pair.scale)?)?;
            }
            let (s, d) = host(&w)?;
            tensors.push((format!("model.layers.{i}.{}.weight", p.hf_path()), s, d));
        }
    }
    let (s, d) = host(llama.final_norm())?;
    tensors.push(("model.norm.weight".into(), s, d));
    if llama.has_output_weight() {
        let w = crate::ops::Frozen::from_qmatmul(llama.lm_head().base())?.dense(llama.device())?;
        let (s, d) = host(&w)?;
        tensors.push(("lm_head.weight".into(), s, d));
    }
    let meta = BTreeMap::from([("format".to_owned(), "pt".to_owned())]);
    write_safetensors(&out_dir.join("model.safetensors"), &tensors, &meta)?;

    let mut config = serde_json::to_value(&cfg).map_err(|source| Error::Json {
        path: out_dir.join("config.json"),
        line: None,
        source,
    })?;
    let tok = &model.tokenizer;
    let token = |id: Option<u32>| id.and_then(|i| tok.id_to_token(i));
    if let Some(obj) = config.as_object_mut() {
        obj.insert(
            "architectures".into(),
            serde_json::json!(["LlamaForCausalLM"]),
        );
        obj.insert("model_type".into(), serde_json::json!("llama"));
        obj.insert("torch_dtype".into(), serde_json::json!("float32"));
        obj.insert("hidden_act".into(), serde_json::json!("silu"));
        obj.insert("bos_token_id".into(), serde_json::json!(tok.bos()));
        obj.insert("eos_token_id".into(), serde_json::json!(tok.eos()));
        obj.retain(|_, v| !v.is_null());
    }
    let json = |v: &serde_json::Value| serde_json::to_string_pretty(v).unwrap_or_default();
    write_atomic(&out_dir.join("config.json"), json(&config).as_bytes())?;
    tok.save(&out_dir.join("tokenizer.json"))?;
    let tok_config = serde_json::json!({
        "chat_template": model.template.source(),
        "bos_token": token(tok.bos()),
        "eos_token": token(tok.eos()),
        "pad_token": token(tok.eos()),
        "model_max_length": cfg.max_position_embeddings,
        "tokenizer_class": "PreTrainedTokenizerFast",
    });
    write_atomic(
        &out_dir.join("tokenizer_config.json"),
        json(&tok_config).as_bytes(),
    )?;
    Ok(())
}
