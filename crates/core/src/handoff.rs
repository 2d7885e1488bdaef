//! Hand-offs to engines that scale past one machine: an Axolotl folder (data, a QLoRA config with
//! the user's settings, and a README on running it on several GPUs).

use std::path::{Path, PathBuf};

use grimoire_train::{Schedule, TrainConfig};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::service::absolute;
use crate::{Error, Result, Service};

/// The Hugging Face id of the built-in model (what Axolotl downloads for `built-in`).
pub const BUILTIN_HF_ID: &str = "HuggingFaceTB/SmolLM2-135M-Instruct";

/// How Axolotl spreads a run over several GPUs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum MultiGpu {
    /// One GPU.
    #[default]
    None,
    /// DeepSpeed ZeRO stage 2 (`deepspeed_configs/zero2.json` from Axolotl's repository).
    Deepspeed,
    /// PyTorch FSDP, sharding each decoder layer.
    Fsdp,
}

/// Input of [`Service::export_axolotl`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct AxolotlInput {
    /// The project folder.
    pub project: String,
    /// Take the data and settings of this training run (none: the latest export and `config`).
    pub run_id: Option<String>,
    /// Settings when no run is named (none: the `cpu-small` preset's, which suit small models).
    pub config: Option<TrainConfig>,
    /// The base model as Hugging Face names it (none: the built-in model's id).
    pub base_model: Option<String>,
    /// Several GPUs, and how.
    #[serde(default)]
    pub multi_gpu: MultiGpu,
    /// The folder to write (none: `exports/axolotl-<time>/`).
    pub out: Option<String>,
}

/// What [`Service::export_axolotl`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AxolotlOutput {
    /// The folder.
    pub dir: String,
    /// Its `config.yml`.
    pub config: String,
    /// The command that runs it.
    pub command: String,
}

/// Axolotl's configuration for a QLoRA run on `data/train.jsonl` (and `data/validation.jsonl`
/// when there is one), trained on the assistant turns only, with the model's own chat template.
pub(crate) fn axolotl_config(config: &TrainConfig, base_model: &str, has_validation: bool, multi_gpu: MultiGpu) -> serde_json::Value {
    let dataset = |path: &str| {
        serde_json::json!({
            "path": path,
            "ds_type": "json",
            "type": "chat_template",
            "field_messages": "messages",
            "message_property_mappings": { "role": "role", "content": "content" },
            "roles_to_train": ["assistant"],
            "train_on_eos": "turn",
        })
    };
    let targets: Vec<String> =
        config.lora.targets.iter().map(|t| serde_json::to_value(t).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()).collect();
    let mut c = serde_json::json!({
        "base_model": base_model,
        "load_in_4bit": true,
        "adapter": "qlora",
        "lora_r": config.lora.r,
        "lora_alpha": config.lora.alpha,
        "lora_dropout": config.lora.dropout,
        "lora_target_modules": targets,
        "peft_use_rslora": config.lora.use_rslora,
        "chat_template": "tokenizer_default",
        "datasets": [dataset("data/train.jsonl")],
        "dataset_prepared_path": "last_run_prepared",
        "sequence_len": config.max_seq_len,
        "sample_packing": false,
        "micro_batch_size": config.batch_size,
        "gradient_accumulation_steps": config.grad_accum,
        "num_epochs": config.epochs,
        "optimizer": "adamw_torch_fused",
        "learning_rate": config.learning_rate,
        "lr_scheduler": match config.schedule {
            Schedule::Cosine => "cosine",
            Schedule::Linear => "linear",
            Schedule::Constant => "constant",
        },
        "weight_decay": config.weight_decay,
        "max_grad_norm": config.max_grad_norm,
        "gradient_checkpointing": config.activation_checkpointing,
        "bf16": "auto",
        "seed": config.seed,
        "output_dir": "./outputs/persona",
        "saves_per_epoch": 1,
    });
    let map = c.as_object_mut().expect("a JSON object");
    match config.warmup_steps {
        Some(steps) => map.insert("warmup_steps".into(), steps.into()),
        None => map.insert("warmup_ratio".into(), config.warmup_ratio.into()),
    };
    if let Some(steps) = config.max_steps {
        map.insert("max_steps".into(), steps.into());
    }
    if has_validation {
        let mut test = dataset("data/validation.jsonl");
        test["split"] = "train".into();
        map.insert("test_datasets".into(), serde_json::json!([test]));
        if config.eval_every > 0 {
            map.insert("eval_steps".into(), config.eval_every.into());
        } else {
            map.insert("evals_per_epoch".into(), 1.into());
        }
    } else {
        map.insert("val_set_size".into(), 0.1.into());
    }
    match multi_gpu {
        MultiGpu::None => {}
        MultiGpu::Deepspeed => {
            map.insert("deepspeed".into(), "deepspeed_configs/zero2.json".into());
        }
        MultiGpu::Fsdp => {
            map.insert("fsdp".into(), serde_json::json!(["full_shard", "auto_wrap"]));
            map.insert(
                "fsdp_config".into(),
                serde_json::json!({
                    "fsdp_transformer_layer_cls_to_wrap": "LlamaDecoderLayer",
                    "fsdp_offload_params": false,
                    "fsdp_state_dict_type": "FULL_STATE_DICT",
                }),
            );
        }
    }
    c
}

const README: &str = "# Persona fine-tuning with Axolotl

Exported by Grimoire: the reviewed examples (`data/`) and a QLoRA configuration (`config.yml`) with
the settings chosen in Grimoire. Loss is on the assistant turns only (`roles_to_train`), rendered
with the model's own chat template.

## Run it

    pip install axolotl   # see https://docs.axolotl.ai for CUDA and flash-attention
    axolotl train config.yml

The adapter lands in `outputs/persona/` in the Hugging Face PEFT format; Grimoire's chat can load
that folder as an adapter over the same base model.

## Several GPUs

- DeepSpeed ZeRO-2 (simplest, one node): add `deepspeed: deepspeed_configs/zero2.json` (Grimoire
  writes it when exported with DeepSpeed) and run `axolotl fetch deepspeed_configs` once, then
  `axolotl train config.yml`; Accelerate starts one process per GPU.
- FSDP (large models, shards the weights): set `fsdp: [full_shard, auto_wrap]` and
  `fsdp_config.fsdp_transformer_layer_cls_to_wrap` to the model's decoder layer class
  (`LlamaDecoderLayer` for Llama, SmolLM2 and Mistral; `MistralDecoderLayer` in some versions).
  QLoRA with FSDP also needs `fsdp_config.fsdp_cpu_ram_efficient_loading: true`.
- Keep `micro_batch_size × gradient_accumulation_steps × GPUs` near the batch you trained with
  here, or scale the learning rate with it.
";

impl Service {
    /// Writes a ready-to-run Axolotl folder: the data, `config.yml` and a README.
    pub fn export_axolotl(&self, input: AxolotlInput) -> Result<AxolotlOutput> {
        let project = absolute(&input.project)?;
        let (data_dir, config) = match &input.run_id {
            Some(run) => {
                let detail = self.training_run(crate::RunRef { project: input.project.clone(), run_id: run.clone() })?;
                let dir = PathBuf::from(&detail.run.dir);
                let record: serde_json::Value = read_json(&dir.join("run.json"))?;
                let data = record.get("data_dir").and_then(|d| d.as_str()).map(PathBuf::from).ok_or_else(|| {
                    Error::InvalidInput(format!("run {run} does not say which data it used"))
                })?;
                (data, detail.run.config)
            }
            None => (
                crate::train::latest_export(&project)?,
                input.config.clone().unwrap_or_else(|| TrainConfig::preset("cpu-small").unwrap_or_default()),
            ),
        };
        let train = data_dir.join("train.jsonl");
        if !train.is_file() {
            return Err(Error::InvalidInput(format!("{} has no train.jsonl: export the approved examples first", data_dir.display())));
        }
        let validation = data_dir.join("validation.jsonl");
        let has_validation = std::fs::metadata(&validation).is_ok_and(|m| m.len() > 0);
        let dir = match input.out.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(out) => absolute(out)?,
            None => project.join("exports").join(format!(
                "axolotl-{}",
                grimoire_store::now().chars().take(19).map(|c| if c == ':' { '-' } else { c }).collect::<String>()
            )),
        };
        let data_out = dir.join("data");
        std::fs::create_dir_all(&data_out).map_err(|e| Error::io(&data_out, e))?;
        copy(&train, &data_out.join("train.jsonl"))?;
        if has_validation {
            copy(&validation, &data_out.join("validation.jsonl"))?;
        }
        let base = input.base_model.as_deref().map(str::trim).filter(|s| !s.is_empty()).unwrap_or(BUILTIN_HF_ID);
        let yaml = serde_norway::to_string(&axolotl_config(&config, base, has_validation, input.multi_gpu))
            .map_err(|e| Error::InvalidInput(format!("the Axolotl configuration cannot be written: {e}")))?;
        let header = format!("# Axolotl QLoRA configuration written by Grimoire for {base}.\n# Run: axolotl train config.yml\n");
        let config_path = dir.join("config.yml");
        std::fs::write(&config_path, header + &yaml).map_err(|e| Error::io(&config_path, e))?;
        let readme = dir.join("README.md");
        std::fs::write(&readme, README).map_err(|e| Error::io(&readme, e))?;
        Ok(AxolotlOutput {
            dir: dir.display().to_string(),
            config: config_path.display().to_string(),
            command: format!("cd {} && axolotl train config.yml", dir.display()),
        })
    }
}

fn read_json(path: &Path) -> Result<serde_json::Value> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|source| Error::Json { what: path.display().to_string(), source })
}

fn copy(from: &Path, to: &Path) -> Result<()> {
    std::fs::copy(from, to).map(|_| ()).map_err(|e| Error::io(to, e))
}
