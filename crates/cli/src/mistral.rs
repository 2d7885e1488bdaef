//! `grimoire mistral-ft`: fine-tuning jobs on Mistral's servers, from the project's exported data.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use grimoire_core::{
    JobStatus, MistralCreateInput, MistralEstimate, MistralEstimateInput, MistralHyperparameters, MistralJobRef, MistralJobView,
    MistralListInput, Service,
};

/// `println!` that returns an error instead of panicking when stdout is closed.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?
    }};
}

/// `grimoire mistral-ft`.
#[derive(Args)]
pub(crate) struct MistralArgs {
    #[command(subcommand)]
    command: MistralCommand,
}

#[derive(Subcommand)]
enum MistralCommand {
    /// Check the data against Mistral's rules and print the cost estimate; with --yes, upload
    /// train.jsonl and validation.jsonl and create the job.
    Create(CreateArgs),
    /// The project's jobs, with their statuses as Mistral lists them now.
    List {
        /// The project folder.
        #[arg(long)]
        project: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Where a job stands: status, events, checkpoints' losses; --wait follows it to its end.
    Status {
        #[command(flatten)]
        job: JobArgs,
        /// Follow the job until it ends, printing its progress.
        #[arg(long)]
        wait: bool,
        /// Seconds between two reads while waiting.
        #[arg(long, default_value_t = 30)]
        every: u64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Start a job that Mistral has validated (created without --auto-start).
    Start(JobArgs),
    /// Ask Mistral to cancel a job.
    Cancel(JobArgs),
}

#[derive(Args)]
struct JobArgs {
    /// The project folder.
    #[arg(long)]
    project: PathBuf,
    /// Mistral's job id.
    job: String,
}

#[derive(Args)]
struct CreateArgs {
    /// The project folder.
    #[arg(long)]
    project: PathBuf,
    /// The base model.
    #[arg(long, default_value = "open-mistral-7b")]
    model: String,
    /// The teacher (kind mistral) whose address and key to use.
    #[arg(long, default_value = "mistral")]
    teacher: String,
    /// A folder with train.jsonl and validation.jsonl (default: the project's latest export).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Passes over the data (default 1 unless --steps is given).
    #[arg(long)]
    epochs: Option<f64>,
    /// Training steps instead of epochs.
    #[arg(long, conflicts_with = "epochs")]
    steps: Option<u32>,
    /// Peak learning rate.
    #[arg(long)]
    lr: Option<f64>,
    /// Weight decay.
    #[arg(long)]
    weight_decay: Option<f64>,
    /// Share of the steps that warm the learning rate up.
    #[arg(long)]
    warmup_fraction: Option<f64>,
    /// Longest sequence in tokens.
    #[arg(long)]
    seq_len: Option<u32>,
    /// Appended to the tuned model's id.
    #[arg(long)]
    suffix: Option<String>,
    /// Start training as soon as Mistral has validated the data (otherwise: `mistral-ft start`).
    #[arg(long)]
    auto_start: bool,
    /// Count tokens for the estimate with this model's tokenizer (default: words × 1.3).
    #[arg(long)]
    tokenizer: Option<String>,
    /// Upload and create the job after printing the estimate (without it nothing is sent).
    #[arg(long)]
    yes: bool,
}

pub(crate) fn mistral(service: &Service, args: MistralArgs) -> anyhow::Result<()> {
    let path = |p: &PathBuf| p.display().to_string();
    match args.command {
        MistralCommand::Create(a) => {
            let hyperparameters = MistralHyperparameters {
                training_steps: a.steps,
                epochs: a.epochs,
                learning_rate: a.lr,
                weight_decay: a.weight_decay,
                warmup_fraction: a.warmup_fraction,
                seq_len: a.seq_len,
            };
            let data = a.data.as_ref().map(path);
            let estimate = service.estimate_mistral_job(MistralEstimateInput {
                project: path(&a.project),
                data: data.clone(),
                model: a.model.clone(),
                hyperparameters: hyperparameters.clone(),
                tokenizer: a.tokenizer.clone(),
            })?;
            print_estimate(&estimate)?;
            if !a.yes {
                if estimate.ready {
                    eprintln!("nothing was sent: add --yes to upload the data and create the job");
                }
                return Ok(());
            }
            let job = service.create_mistral_job(MistralCreateInput {
                project: path(&a.project),
                teacher: a.teacher,
                data,
                model: a.model,
                hyperparameters,
                suffix: a.suffix,
                auto_start: a.auto_start,
                tokenizer: a.tokenizer,
            })?;
            outln!("created job {} ({})", job.id, job.status.as_str());
            outln!("follow it with: grimoire mistral-ft status --project {} --wait {}", a.project.display(), job.id);
        }
        MistralCommand::List { project, json } => {
            let list = service.list_mistral_jobs(MistralListInput { project: path(&project), refresh: true })?;
            if let Some(e) = &list.refresh_error {
                eprintln!("{e}");
            }
            if json {
                outln!("{}", serde_json::to_string_pretty(&list.jobs)?);
            } else {
                for j in &list.jobs {
                    outln!("{}\t{}\t{}\t{}", j.id, j.status.as_str(), j.model, j.fine_tuned_model.as_deref().unwrap_or("-"));
                }
            }
        }
        MistralCommand::Status { job, wait, every, json } => {
            let input = MistralJobRef { project: path(&job.project), job_id: job.job };
            let mut view = service.mistral_job_status(input.clone())?;
            if wait && !view.status.is_terminal() {
                service.set_mistral_timing(std::time::Duration::from_secs(every.max(1)), Default::default());
                if let Some(handle) = service.follow_mistral_job(input.clone())? {
                    let status = handle.wait();
                    view = service.mistral_job_status(input)?;
                    if status != JobStatus::Completed {
                        print_job(&view, json)?;
                        anyhow::bail!("job {} ended {}", view.id, view.status.as_str());
                    }
                }
            }
            print_job(&view, json)?;
        }
        MistralCommand::Start(job) => {
            let view = service.start_mistral_job(MistralJobRef { project: path(&job.project), job_id: job.job })?;
            outln!("{}\t{}", view.id, view.status.as_str());
        }
        MistralCommand::Cancel(job) => {
            let view = service.cancel_mistral_job(MistralJobRef { project: path(&job.project), job_id: job.job })?;
            outln!("{}\t{}", view.id, view.status.as_str());
        }
    }
    Ok(())
}

fn print_estimate(e: &MistralEstimate) -> anyhow::Result<()> {
    outln!("data:        {}", e.data_dir);
    outln!("train:       {} of {} conversations valid", e.train.valid, e.train.lines);
    if let Some(v) = &e.validation {
        outln!("validation:  {} of {} conversations valid", v.valid, v.lines);
    }
    for p in e.train.problems.iter().take(10) {
        outln!("  train.jsonl line {}: {}", p.line, p.message);
    }
    for p in e.validation.iter().flat_map(|v| v.problems.iter()).take(10) {
        outln!("  validation.jsonl line {}: {}", p.line, p.message);
    }
    outln!("tokens:      {} ({})", e.train_tokens, e.counted_with);
    match (e.cost, e.billed_tokens, e.price_per_million) {
        (Some(cost), Some(tokens), Some(price)) => outln!(
            "estimate:    about {cost:.4} {} ({tokens} tokens × {price} per million; prices as of {}, {})",
            e.currency,
            e.prices_as_of,
            e.price_source
        ),
        _ => outln!("estimate:    none"),
    }
    if let Some(storage) = e.monthly_storage {
        outln!("storage:     {storage} {} a month while the tuned model is kept", e.currency);
    }
    outln!("note:        {}", e.note);
    if !e.ready {
        anyhow::bail!("the data breaks Mistral's fine-tuning rules: nothing can be uploaded until it is fixed");
    }
    Ok(())
}

fn print_job(j: &MistralJobView, json: bool) -> anyhow::Result<()> {
    if json {
        outln!("{}", serde_json::to_string_pretty(j)?);
        return Ok(());
    }
    outln!("job:         {}", j.id);
    outln!("status:      {}", j.status.as_str());
    outln!("model:       {} → {}", j.model, j.fine_tuned_model.as_deref().unwrap_or("(not yet)"));
    if let Some(m) = &j.metadata
        && let Some(cost) = m.cost
    {
        outln!("Mistral's cost: {cost} {}", m.cost_currency.as_deref().unwrap_or(""));
    }
    for e in &j.events {
        outln!("event        {} {}", e.name, e.message);
    }
    for c in &j.checkpoints {
        let f = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.4}"));
        outln!("step {:>6}  train loss {}  validation loss {}", c.step, f(c.train_loss), f(c.valid_loss));
    }
    if let Some(e) = &j.error {
        outln!("error:       {e}");
    }
    Ok(())
}
