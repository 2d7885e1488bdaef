//! A training run in a run folder: data, loop, evaluation, early stopping, checkpoints,
//! cancellation, events and outputs.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use candle_core::Tensor;
use grimoire_llm::{GgmlDType, LoadOptions, Model, WeightFormat};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::checkpoint::{self, State};
use crate::config::{BaseFormat, TrainConfig};
use crate::data::{
    Batch, DataSource, DataStats, Encoded, encode_example, epoch_order, length_groups, make_batch,
};
use crate::error::{Error, Result, io};
use crate::files::{Named, peak_rss_bytes, sha256_file, write_atomic};
use crate::metrics::{Metric, read_metrics, render_plot};
use crate::model::{DropoutKey, Lora, Net};
use crate::optim::{AdamParams, AdamW, clip};

/// Progress after one optimizer step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Progress {
    /// Steps done (1-based).
    pub step: usize,
    /// Steps the run will take.
    pub total_steps: usize,
    /// Epochs done, fractional.
    pub epoch: f64,
    /// Mean loss per trained token of this step.
    pub train_loss: f64,
    /// Learning rate used.
    pub lr: f64,
    /// Gradient norm before clipping.
    pub grad_norm: f64,
    /// Validation loss, when this step ran an evaluation.
    pub val_loss: Option<f64>,
    /// Tokens per second of this step.
    pub tokens_per_s: f64,
    /// Seconds left, from the mean step time so far.
    pub eta_s: f64,
    /// Peak resident memory of the process, MB.
    pub peak_rss_mb: f64,
}

/// What a run reports through its callback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TrainEvent {
    /// Before the first step (of this process).
    Started {
        /// Steps the run will take.
        total_steps: usize,
        /// The step a checkpoint resumed from, if any.
        resumed_from: Option<usize>,
        /// The data set.
        data: DataStats,
        /// LoRA parameters trained.
        trainable_params: usize,
    },
    /// After each optimizer step.
    Step(Progress),
    /// After each validation pass.
    Evaluated {
        /// Steps done.
        step: usize,
        /// Mean validation loss per trained token.
        val_loss: f64,
        /// Whether it is the best so far.
        best: bool,
    },
    /// After a checkpoint was written.
    Checkpointed {
        /// Steps it holds.
        step: usize,
    },
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// All steps done.
    Completed,
    /// The validation loss stopped improving.
    EarlyStopped,
    /// Cancelled; the folder holds a checkpoint and `run` resumes it.
    Cancelled,
}

/// The result of [`Trainer::run`], also written to `<run>/summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct RunSummary {
    /// How it ended.
    pub status: RunStatus,
    /// Steps done.
    pub steps: usize,
    /// Steps planned.
    pub total_steps: usize,
    /// Last step's training loss.
    pub train_loss: Option<f64>,
    /// Last validation loss.
    pub val_loss: Option<f64>,
    /// Best validation loss.
    pub best_val_loss: Option<f64>,
    /// Step of the best validation loss.
    pub best_step: Option<usize>,
    /// Seconds of training (across resumptions).
    pub elapsed_s: f64,
    /// LoRA parameters trained.
    pub trainable_params: usize,
    /// The data set.
    pub data: DataStats,
    /// The run folder; it holds the PEFT adapter once the run is not cancelled.
    #[ts(type = "string")]
    pub run_dir: PathBuf,
}

/// One fine-tuning run of a base model on a data set, in a run folder.
pub struct Trainer {
    model: Model,
    net: Net,
    base_name: String,
    config: TrainConfig,
    run_dir: PathBuf,
    source: DataSource,
    train: Vec<Encoded>,
    groups: Vec<Vec<usize>>,
    val_batches: Vec<Batch>,
    stats: DataStats,
    pad: u32,
}

impl Trainer {
    /// Loads the base (GGUF file or Hugging Face folder, held as `config.base_format` says) and
    /// tokenises the data. Nothing is written until [`run`](Self::run).
    pub fn new(
        base_model: &Path,
        data: impl Into<DataSource>,
        config: TrainConfig,
        run_dir: &Path,
    ) -> Result<Self> {
        config.validate()?;
        let format = match config.base_format {
            BaseFormat::Auto if base_model.is_dir() => WeightFormat::Quantized(GgmlDType::Q4_1),
            BaseFormat::Auto => WeightFormat::AsStored,
            BaseFormat::Q4_0 => WeightFormat::Quantized(GgmlDType::Q4_0),
            BaseFormat::Q4_1 => WeightFormat::Quantized(GgmlDType::Q4_1),
            BaseFormat::Q8_0 => WeightFormat::Quantized(GgmlDType::Q8_0),
            BaseFormat::F32 => WeightFormat::F32,
        };
        let opts = LoadOptions {
            format,
            max_context: config.max_seq_len,
            ..LoadOptions::default()
        };
        let model = Model::load(base_model, &opts)?;
        Self::with_model(model, data, config, run_dir)
    }

    /// Like [`new`](Self::new) with a model already loaded (its context must cover
    /// `max_seq_len`; its weights are shared, not copied).
    pub fn with_model(
        model: Model,
        data: impl Into<DataSource>,
        config: TrainConfig,
        run_dir: &Path,
    ) -> Result<Self> {
        config.validate()?;
        if model.llama.max_len() < config.max_seq_len {
            return Err(Error::Config(format!(
                "the model was loaded with a {}-token context, max_seq_len is {}",
                model.llama.max_len(),
                config.max_seq_len
            )));
        }
        let source = data.into();
        let (train_ex, val_ex) = source.load()?;
        let mut stats = DataStats::default();
        let mut train = Vec::new();
        for ex in &train_ex {
            let enc = encode_example(&model, ex, config.max_seq_len)?;
            if enc.n_targets() == 0 {
                stats.dropped += 1;
                continue;
            }
            stats.truncated += enc.truncated as usize;
            stats.train_tokens += enc.ids.len() as u64;
            stats.trained_tokens += enc.n_targets() as u64;
            train.push(enc);
        }
        if train.is_empty() {
            return Err(Error::Data(
                "no training example has an assistant reply to learn".into(),
            ));
        }
        let mut validation = Vec::new();
        for ex in &val_ex {
            let enc = encode_example(&model, ex, config.max_seq_len)?;
            if enc.n_targets() > 0 {
                validation.push(enc);
            }
        }
        stats.train_examples = train.len();
        stats.validation_examples = validation.len();
        let pad = model
            .tokenizer
            .eos()
            .or_else(|| model.tokenizer.bos())
            .unwrap_or(0);
        let groups = length_groups(&train, config.batch_size);
        let val_batches = length_groups(&validation, config.batch_size)
            .iter()
            .map(|g| make_batch(&g.iter().map(|&i| &validation[i]).collect::<Vec<_>>(), pad))
            .collect();
        Ok(Trainer {
            net: Net::new(&model.llama)?,
            base_name: model.info.name.clone(),
            model,
            config,
            run_dir: run_dir.to_owned(),
            source,
            train,
            groups,
            val_batches,
            stats,
            pad,
        })
    }

    /// The data set as tokenised.
    pub fn stats(&self) -> &DataStats {
        &self.stats
    }

    /// The configuration.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// The loaded base model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Optimizer steps the run takes.
    pub fn total_steps(&self) -> usize {
        let micro = self.groups.len() * self.config.epochs;
        let steps = micro.div_ceil(self.config.grad_accum);
        match (self.config.max_steps, self.config.epochs) {
            (Some(m), 0) => m,
            (Some(m), _) => m.min(steps),
            (None, _) => steps,
        }
    }

    /// Micro-batches in the run (unbounded when only `max_steps` bounds it).
    fn n_micro(&self) -> usize {
        if self.config.epochs == 0 {
            usize::MAX
        } else {
            self.groups.len() * self.config.epochs
        }
    }

    fn micro_batch(&self, global: usize) -> Batch {
        let n = self.groups.len();
        let epoch = global / n;
        let order = epoch_order(n, self.config.seed, epoch);
        let group = &self.groups[order[global % n]];
        let examples: Vec<&Encoded> = group.iter().map(|&i| &self.train[i]).collect();
        make_batch(&examples, self.pad)
    }

    fn validate(&self, lora: &Lora) -> Result<Option<f64>> {
        if self.val_batches.is_empty() {
            return Ok(None);
        }
        let (mut sum, mut n) = (0.0, 0usize);
        for b in &self.val_batches {
            sum += self.net.eval_loss(lora, b)?;
            n += b.rows.len();
        }
        Ok(Some(sum / n.max(1) as f64))
    }

    /// Trains, resuming from the run folder's checkpoint when it holds one. Writes
    /// `config.json`, `data/` (the JSONL used and `data.json` with hashes and counts),
    /// `metrics.jsonl`, `loss.png`, `summary.json`, and the PEFT adapter
    /// (`adapter_config.json`, `adapter_model.safetensors`). When `cancel` becomes true the run
    /// writes a checkpoint at the last whole step and returns [`RunStatus::Cancelled`]; calling
    /// `run` again continues the same curve. A finished folder returns its summary.
    pub fn run(
        &mut self,
        cancel: &AtomicBool,
        on_event: &mut dyn FnMut(TrainEvent),
    ) -> Result<RunSummary> {
        let run_dir = self.run_dir.clone();
        std::fs::create_dir_all(&run_dir).map_err(io(&run_dir))?;
        let _heap = crate::heap::KeepFreed::new();
        let total = self.total_steps();
        let cfg = self.config.clone();
        let lora = Lora::init(
            self.net.config(),
            &cfg.lora,
            cfg.seed,
            self.model.llama.device(),
        )?;
        let sizes: Vec<usize> = lora.vars().iter().map(|v| v.elem_count()).collect();
        let metrics_path = run_dir.join("metrics.jsonl");
        let config_path = run_dir.join("config.json");

        let (mut adam, mut state, mut best, resumed_from) = match checkpoint::load(&run_dir, &lora)?
        {
            Some(r) => {
                self.check_same_config(&config_path)?;
                let step = r.state.step;
                (r.adam, r.state, r.best, Some(step))
            }
            None => {
                let summary_path = run_dir.join("summary.json");
                if summary_path.exists() {
                    self.check_same_config(&config_path)?;
                    let text = std::fs::read_to_string(&summary_path).map_err(io(&summary_path))?;
                    return serde_json::from_str(&text).map_err(|source| Error::Json {
                        path: summary_path,
                        line: None,
                        source,
                    });
                }
                self.write_inputs(&config_path)?;
                (AdamW::new(&sizes), State::default(), None, None)
            }
        };
        // Drop metric lines written after the checkpoint (by a process killed later).
        {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&metrics_path)
                .map_err(io(&metrics_path))?;
            f.set_len(state.metrics_bytes).map_err(io(&metrics_path))?;
        }
        let mut metrics = std::fs::OpenOptions::new()
            .append(true)
            .open(&metrics_path)
            .map_err(io(&metrics_path))?;
        on_event(TrainEvent::Started {
            total_steps: total,
            resumed_from,
            data: self.stats.clone(),
            trainable_params: lora.n_params(),
        });

        let n_micro = self.n_micro();
        let session_start = Instant::now();
        let session_first = state.step;
        let mut status = RunStatus::Completed;
        let mut last_eval_step = None;
        let mut write_metric = |m: &Metric, state: &mut State| -> Result<()> {
            let mut line = serde_json::to_string(m).map_err(|source| Error::Json {
                path: metrics_path.clone(),
                line: None,
                source,
            })?;
            line.push('\n');
            metrics
                .write_all(line.as_bytes())
                .map_err(io(&metrics_path))?;
            metrics.flush().map_err(io(&metrics_path))?;
            state.metrics_bytes += line.len() as u64;
            Ok(())
        };

        'steps: while state.step < total {
            if cancel.load(Ordering::Relaxed) {
                status = RunStatus::Cancelled;
                break;
            }
            let step_start = Instant::now();
            let step = state.step;
            let lr = cfg.lr_at(step, total);
            let first = step * cfg.grad_accum;
            let micro: Vec<Batch> = (first..(first + cfg.grad_accum).min(n_micro))
                .map(|g| self.micro_batch(g))
                .collect();
            let norm: usize = micro.iter().map(|b| b.rows.len()).sum();
            let norm = norm.max(1) as f64;
            let mut acc: Option<Vec<Tensor>> = None;
            let (mut loss_sum, mut tokens) = (0.0, 0);
            for (k, batch) in micro.iter().enumerate() {
                if cancel.load(Ordering::Relaxed) {
                    status = RunStatus::Cancelled;
                    break 'steps;
                }
                let key = DropoutKey {
                    seed: cfg.seed,
                    step: step as u64,
                    micro: k as u64,
                };
                let (sum, grads) = self.net.loss_and_grads(
                    &lora,
                    batch,
                    norm,
                    Some(key),
                    cfg.activation_checkpointing,
                )?;
                loss_sum += sum;
                tokens += batch.tokens;
                acc = Some(match acc {
                    None => grads,
                    Some(a) => a
                        .iter()
                        .zip(&grads)
                        .map(|(x, y)| x + y)
                        .collect::<candle_core::Result<_>>()?,
                });
            }
            let grads = acc.unwrap_or_default();
            let (host, grad_norm) = clip(&grads, cfg.max_grad_norm)?;
            let params = AdamParams {
                lr,
                beta1: cfg.beta1,
                beta2: cfg.beta2,
                eps: cfg.eps,
                weight_decay: cfg.weight_decay,
            };
            adam.step(&lora.vars(), &host, params)?;
            state.step += 1;
            let secs = step_start.elapsed().as_secs_f64();
            state.elapsed_s += secs;
            let train_loss = loss_sum / norm;
            state.last_train = Some(train_loss);
            let epoch = (state.step * cfg.grad_accum) as f64 / self.groups.len() as f64;
            let peak_rss_mb = peak_rss_bytes() as f64 / 1e6;
            let tokens_per_s = tokens as f64 / secs.max(1e-9);
            write_metric(
                &Metric::Train {
                    step: state.step,
                    epoch,
                    loss: train_loss,
                    lr,
                    grad_norm,
                    tokens,
                    tokens_per_s,
                    elapsed_s: state.elapsed_s,
                    peak_rss_mb,
                },
                &mut state,
            )?;

            let mut val_loss = None;
            let due = cfg.eval_every > 0 && state.step.is_multiple_of(cfg.eval_every);
            if (due || state.step == total)
                && let Some(v) = self.validate(&lora)?
            {
                val_loss = Some(v);
                last_eval_step = Some(state.step);
                state.last_val = Some(v);
                write_metric(
                    &Metric::Eval {
                        step: state.step,
                        epoch,
                        val_loss: v,
                    },
                    &mut state,
                )?;
                let improved = state
                    .best_val
                    .is_none_or(|(b, _)| v < b - cfg.early_stopping_min_delta);
                if improved {
                    state.best_val = Some((v, state.step));
                    state.evals_since_best = 0;
                    if cfg.keep_best {
                        best = Some(crate::peft::lora_tensors(&lora)?);
                    }
                } else {
                    state.evals_since_best += 1;
                }
                on_event(TrainEvent::Evaluated {
                    step: state.step,
                    val_loss: v,
                    best: improved,
                });
            }
            let done_here = (state.step - session_first).max(1) as f64;
            let eta_s =
                session_start.elapsed().as_secs_f64() / done_here * (total - state.step) as f64;
            on_event(TrainEvent::Step(Progress {
                step: state.step,
                total_steps: total,
                epoch,
                train_loss,
                lr,
                grad_norm,
                val_loss,
                tokens_per_s,
                eta_s,
                peak_rss_mb,
            }));
            let stop = cfg
                .early_stopping_patience
                .is_some_and(|p| val_loss.is_some() && state.evals_since_best >= p);
            if stop {
                status = RunStatus::EarlyStopped;
                break;
            }
            if cfg.checkpoint_every > 0
                && state.step.is_multiple_of(cfg.checkpoint_every)
                && state.step < total
            {
                checkpoint::save(&run_dir, &lora, &adam, &state, best.as_deref())?;
                on_event(TrainEvent::Checkpointed { step: state.step });
            }
        }

        if status == RunStatus::Cancelled {
            checkpoint::save(&run_dir, &lora, &adam, &state, best.as_deref())?;
            on_event(TrainEvent::Checkpointed { step: state.step });
            return Ok(self.summary(status, &state, total, &lora));
        }
        if last_eval_step != Some(state.step)
            && state.last_val.is_none()
            && let Some(v) = self.validate(&lora)?
        {
            state.last_val = Some(v);
        }
        let tensors: Vec<Named> = match (&best, cfg.keep_best) {
            (Some(b), true) => b.clone(),
            _ => crate::peft::lora_tensors(&lora)?,
        };
        crate::peft::save_adapter(&tensors, &cfg.lora, &self.base_name, &run_dir)?;
        let metrics = read_metrics(&metrics_path)?;
        // A plot is a convenience: a drawing failure must not lose the trained adapter.
        let _ = render_plot(&metrics, &run_dir.join("loss.png"));
        let summary = self.summary(status, &state, total, &lora);
        let text = serde_json::to_string_pretty(&summary).map_err(|source| Error::Json {
            path: run_dir.join("summary.json"),
            line: None,
            source,
        })?;
        write_atomic(&run_dir.join("summary.json"), text.as_bytes())?;
        checkpoint::remove(&run_dir)?;
        Ok(summary)
    }

    fn summary(&self, status: RunStatus, state: &State, total: usize, lora: &Lora) -> RunSummary {
        RunSummary {
            status,
            steps: state.step,
            total_steps: total,
            train_loss: state.last_train,
            val_loss: state.last_val,
            best_val_loss: state.best_val.map(|b| b.0),
            best_step: state.best_val.map(|b| b.1),
            elapsed_s: state.elapsed_s,
            trainable_params: lora.n_params(),
            data: self.stats.clone(),
            run_dir: self.run_dir.clone(),
        }
    }

    fn config_json(&self) -> Result<String> {
        serde_json::to_string_pretty(&self.config).map_err(|source| Error::Json {
            path: self.run_dir.join("config.json"),
            line: None,
            source,
        })
    }

    fn check_same_config(&self, path: &Path) -> Result<()> {
        let text = std::fs::read_to_string(path).map_err(io(path))?;
        let saved: TrainConfig = serde_json::from_str(&text).map_err(|source| Error::Json {
            path: path.to_owned(),
            line: None,
            source,
        })?;
        if saved != self.config {
            return Err(Error::Checkpoint {
                path: path.to_owned(),
                problem: "the run folder holds a run with another configuration; use a new folder"
                    .into(),
            });
        }
        Ok(())
    }

    /// Writes `config.json` and the data snapshot.
    fn write_inputs(&self, config_path: &Path) -> Result<()> {
        write_atomic(config_path, self.config_json()?.as_bytes())?;
        let data_dir = self.run_dir.join("data");
        std::fs::create_dir_all(&data_dir).map_err(io(&data_dir))?;
        let (train, validation) = self.source.load()?;
        let mut files = Vec::new();
        for (name, examples) in [("train.jsonl", &train), ("validation.jsonl", &validation)] {
            let dst = data_dir.join(name);
            match &self.source {
                DataSource::Dir(dir) if dir.join(name).exists() => {
                    std::fs::copy(dir.join(name), &dst).map_err(io(&dst))?;
                }
                _ if examples.is_empty() => continue,
                _ => {
                    let mut text = String::new();
                    for e in examples.iter() {
                        text.push_str(&serde_json::to_string(e).map_err(|source| Error::Json {
                            path: dst.clone(),
                            line: None,
                            source,
                        })?);
                        text.push('\n');
                    }
                    write_atomic(&dst, text.as_bytes())?;
                }
            }
            files.push(serde_json::json!({
                "file": name,
                "examples": examples.len(),
                "sha256": sha256_file(&dst)?,
            }));
        }
        let snapshot = serde_json::json!({
            "base_model": self.model.info.path,
            "base_model_name": self.base_name,
            "files": files,
            "stats": self.stats,
        });
        let text = serde_json::to_string_pretty(&snapshot).unwrap_or_default();
        write_atomic(&data_dir.join("data.json"), text.as_bytes())
    }
}
