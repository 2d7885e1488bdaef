//! `grimoire train`, `grimoire runs`, `grimoire merge` and the exports of a run (`export-axolotl`,
//! `export-gguf`, `export-adapter`): QLoRA runs of a project.

use std::path::{Path, PathBuf};

use clap::Args;
use grimoire_core::{MergeInput, ProjectRef, RunRef, Service, TrainConfig, TrainInput};

/// `println!` that returns an error instead of panicking when stdout is closed.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?
    }};
}

/// `grimoire train`.
#[derive(Args)]
pub(crate) struct TrainArgs {
    /// The project folder.
    #[arg(long)]
    project: PathBuf,
    /// The base model: `built-in`, or a GGUF file or Hugging Face folder.
    #[arg(long, default_value = "built-in")]
    base: String,
    /// A folder with train.jsonl and validation.jsonl (default: the project's latest export).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Start from this preset (cpu-small, cpu-quick, gpu-small, gpu-7b; default: by model size).
    #[arg(long)]
    preset: Option<String>,
    /// Stop after this many optimizer steps.
    #[arg(long)]
    steps: Option<usize>,
    /// Passes over the training set.
    #[arg(long)]
    epochs: Option<usize>,
    /// Peak learning rate.
    #[arg(long)]
    lr: Option<f64>,
    /// LoRA rank.
    #[arg(long)]
    rank: Option<usize>,
    /// LoRA alpha (default: twice the rank when --rank is given).
    #[arg(long)]
    alpha: Option<f64>,
    /// Sequences per batch.
    #[arg(long)]
    batch: Option<usize>,
    /// Longest sequence in tokens.
    #[arg(long)]
    seq_len: Option<usize>,
    /// Validation every N steps.
    #[arg(long)]
    eval_every: Option<usize>,
    /// The seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Settings from a JSON file (a TrainConfig, as a run's config.json holds); flags override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Print the plan (data, settings, time and memory estimate) and exit.
    #[arg(long, conflicts_with = "resume")]
    estimate: bool,
    /// Continue run RUN_ID from its checkpoint instead of starting one.
    #[arg(long)]
    resume: Option<String>,
}

/// `grimoire runs`.
#[derive(Args)]
pub(crate) struct RunsArgs {
    /// The project folder.
    #[arg(long)]
    project: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// `grimoire merge`.
#[derive(Args)]
pub(crate) struct MergeArgs {
    /// The run folder (`<project>/runs/<run-id>`).
    #[arg(long)]
    run: PathBuf,
    /// Where to write the merged Hugging Face folder (default: `<run>/merged`).
    #[arg(long)]
    out: Option<PathBuf>,
}

pub(crate) fn train(service: &Service, args: TrainArgs) -> anyhow::Result<()> {
    let project = args.project.display().to_string();
    if let Some(run_id) = &args.resume {
        let handle = service.resume_training(RunRef { project: project.clone(), run_id: run_id.clone() })?;
        return finish(service, &project, run_id, handle);
    }
    let config = match &args.config {
        Some(file) => Some(read_config(file)?),
        None => None,
    };
    let mut input = TrainInput {
        project: project.clone(),
        base: args.base.clone(),
        data: args.data.as_ref().map(|d| d.display().to_string()),
        preset: args.preset.clone(),
        config,
    };
    if has_overrides(&args) {
        // Resolve the preset first, then change what the flags name.
        let mut config = match input.config.take() {
            Some(c) => c,
            None => service.plan_training(input.clone())?.config,
        };
        // The plan keeps activations only when they fit at the preset's sizes: recompute them
        // again when the flags change those sizes.
        if args.batch.is_some() || args.seq_len.is_some() {
            config.activation_checkpointing = true;
        }
        apply_overrides(&mut config, &args);
        input.config = Some(config);
    }
    if args.estimate {
        let plan = service.plan_training(input)?;
        outln!("{}", serde_json::to_string_pretty(&plan)?);
        return Ok(());
    }
    let (run_id, handle) = service.train(input)?;
    eprintln!("run {run_id}: {}", Path::new(&project).join("runs").join(&run_id).display());
    finish(service, &project, &run_id, handle)
}

pub(crate) fn runs(service: &Service, args: RunsArgs) -> anyhow::Result<()> {
    let runs = service.list_runs(ProjectRef { path: args.project.display().to_string() })?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&runs)?);
        return Ok(());
    }
    for r in runs {
        let loss = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.3}"));
        outln!(
            "{}\t{:?}\t{}/{} steps\tloss {}\tval {}\t{}",
            r.run_id,
            r.state,
            r.step,
            r.total_steps,
            loss(r.train_loss),
            loss(r.val_loss),
            r.base
        );
    }
    Ok(())
}

pub(crate) fn merge(service: &Service, args: MergeArgs) -> anyhow::Result<()> {
    let run = std::path::absolute(&args.run)?;
    let (Some(run_id), Some(project)) = (run.file_name(), run.parent().and_then(Path::parent)) else {
        anyhow::bail!("{} is not a run folder (<project>/runs/<run-id>)", run.display());
    };
    let out = service.merge_run(MergeInput {
        project: project.display().to_string(),
        run_id: run_id.to_string_lossy().into_owned(),
        out: args.out.map(|o| o.display().to_string()),
    })?;
    outln!("{}", out.out);
    Ok(())
}

fn finish(service: &Service, project: &str, run_id: &str, handle: grimoire_core::jobs::JobHandle) -> anyhow::Result<()> {
    let status = handle.wait();
    let detail = service.training_run(RunRef { project: project.into(), run_id: run_id.into() })?;
    match status {
        grimoire_core::JobStatus::Completed => {
            outln!("{}", serde_json::to_string_pretty(&detail.run)?);
            Ok(())
        }
        grimoire_core::JobStatus::Cancelled => {
            anyhow::bail!("cancelled at step {}; resume with --resume {run_id}", detail.run.step)
        }
        other => anyhow::bail!(
            "{}: {}; resume with --resume {run_id}",
            format!("{other:?}").to_lowercase(),
            detail.run.error.unwrap_or_default()
        ),
    }
}

fn read_config(file: &Path) -> anyhow::Result<TrainConfig> {
    let text = std::fs::read_to_string(file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{}: not a training configuration: {e}", file.display()))
}

fn has_overrides(a: &TrainArgs) -> bool {
    a.steps.is_some()
        || a.epochs.is_some()
        || a.lr.is_some()
        || a.rank.is_some()
        || a.alpha.is_some()
        || a.batch.is_some()
        || a.seq_len.is_some()
        || a.eval_every.is_some()
        || a.seed.is_some()
}

fn apply_overrides(c: &mut TrainConfig, a: &TrainArgs) {
    if let Some(steps) = a.steps {
        c.max_steps = Some(steps);
    }
    if let Some(epochs) = a.epochs {
        c.epochs = epochs;
    }
    if let Some(lr) = a.lr {
        c.learning_rate = lr;
    }
    if let Some(rank) = a.rank {
        c.lora.r = rank;
        c.lora.alpha = a.alpha.unwrap_or(2.0 * rank as f64);
    } else if let Some(alpha) = a.alpha {
        c.lora.alpha = alpha;
    }
    if let Some(batch) = a.batch {
        c.batch_size = batch;
    }
    if let Some(len) = a.seq_len {
        c.max_seq_len = len;
    }
    if let Some(every) = a.eval_every {
        c.eval_every = every;
    }
    if let Some(seed) = a.seed {
        c.seed = seed;
    }
}

/// `grimoire export-axolotl`.
#[derive(Args)]
pub(crate) struct AxolotlArgs {
    /// The project folder.
    #[arg(long)]
    project: PathBuf,
    /// Take the data and settings of this training run (default: the latest export and the
    /// cpu-small preset's settings).
    #[arg(long)]
    run: Option<String>,
    /// The base model as Hugging Face names it (default: the built-in model's id).
    #[arg(long)]
    base_model: Option<String>,
    /// Several GPUs: `deepspeed` (ZeRO-2) or `fsdp`.
    #[arg(long, value_enum, default_value = "none")]
    multi_gpu: MultiGpuArg,
    /// The folder to write (default: the project's exports/axolotl-<time>/).
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum MultiGpuArg {
    None,
    Deepspeed,
    Fsdp,
}

pub(crate) fn export_axolotl(service: &Service, args: AxolotlArgs) -> anyhow::Result<()> {
    let out = service.export_axolotl(grimoire_core::AxolotlInput {
        project: args.project.display().to_string(),
        run_id: args.run,
        config: None,
        base_model: args.base_model,
        multi_gpu: match args.multi_gpu {
            MultiGpuArg::None => grimoire_core::MultiGpu::None,
            MultiGpuArg::Deepspeed => grimoire_core::MultiGpu::Deepspeed,
            MultiGpuArg::Fsdp => grimoire_core::MultiGpu::Fsdp,
        },
        out: args.out.map(|o| o.display().to_string()),
    })?;
    outln!("{}", out.dir);
    eprintln!("run it with: {}", out.command);
    Ok(())
}

/// `grimoire export-gguf`.
#[derive(Args)]
pub(crate) struct GgufArgs {
    /// The project folder.
    #[arg(long)]
    project: PathBuf,
    /// The run whose adapter is merged.
    #[arg(long)]
    run: String,
    /// Storage type of the weights: `base` (the base model's own, Q4_1 for the built-in), `q8_0`
    /// or `f16`.
    #[arg(long, value_enum, default_value = "base")]
    quantization: GgufTypeArg,
    /// The Modelfile's system prompt (default: the one the run was trained with).
    #[arg(long)]
    system: Option<String>,
    /// The folder to write (default: the project's exports/gguf-<run>-<type>/).
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum GgufTypeArg {
    Base,
    #[value(name = "q8_0")]
    Q8_0,
    F16,
}

pub(crate) fn export_gguf(service: &Service, args: GgufArgs) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let out = service.export_gguf(grimoire_core::GgufExportInput {
        project: args.project.display().to_string(),
        run_id: args.run,
        quantization: match args.quantization {
            GgufTypeArg::Base => grimoire_core::GgufType::Base,
            GgufTypeArg::Q8_0 => grimoire_core::GgufType::Q8_0,
            GgufTypeArg::F16 => grimoire_core::GgufType::F16,
        },
        system_prompt: args.system,
        out: args.out.map(|o| o.display().to_string()),
    })?;
    outln!("{}", out.gguf);
    eprintln!(
        "{} weights, {:.1} MB in {:.1} s; Modelfile beside it. Ollama: {}",
        out.weights,
        out.bytes as f64 / 1e6,
        started.elapsed().as_secs_f64(),
        out.command
    );
    Ok(())
}

/// `grimoire export-adapter`.
#[derive(Args)]
pub(crate) struct AdapterArgs {
    /// The project folder.
    #[arg(long)]
    project: PathBuf,
    /// The run.
    #[arg(long)]
    run: String,
    /// The base model as Hugging Face names it (default: the built-in model's id; required for
    /// another base).
    #[arg(long)]
    base_model: Option<String>,
    /// The folder to write (default: the project's exports/adapter-<run>/).
    #[arg(long)]
    out: Option<PathBuf>,
}

pub(crate) fn export_adapter(service: &Service, args: AdapterArgs) -> anyhow::Result<()> {
    let out = service.export_adapter(grimoire_core::AdapterExportInput {
        project: args.project.display().to_string(),
        run_id: args.run,
        base_model: args.base_model,
        out: args.out.map(|o| o.display().to_string()),
    })?;
    outln!("{}", out.dir);
    eprintln!("model card: {}", out.readme);
    Ok(())
}
