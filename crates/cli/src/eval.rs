//! `grimoire eval`: the evaluation report of a training run, as JSON.

use std::path::PathBuf;

use clap::Args;
use grimoire_core::{EvalOptions, EvaluateRunInput, JobStatus, JudgeRunInput, RunRef, Service};

/// `println!` that returns an error instead of panicking when stdout is closed.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?
    }};
}

/// `grimoire eval`.
#[derive(Args)]
pub(crate) struct EvalArgs {
    /// The project folder.
    #[arg(long)]
    project: PathBuf,
    /// The run's folder name under `runs/` (`grimoire runs` lists them).
    #[arg(long)]
    run: String,
    /// The control run (trained the same way on the other characters' lines); default: the run
    /// whose `control.json` says `{"control_for": RUN}`, if any.
    #[arg(long)]
    control: Option<String>,
    /// Validation prompts each model answers.
    #[arg(long, default_value_t = EvalOptions::default().max_prompts)]
    prompts: usize,
    /// Most tokens per reply.
    #[arg(long, default_value_t = EvalOptions::default().max_tokens)]
    max_tokens: usize,
    /// A teacher (`grimoire teachers list`) that grades each reply 1-7 on voice, knowledge and
    /// consistency: optional, and marked in the report as a teacher model's opinion. With
    /// --stored, judges the stored report's replies without evaluating again.
    #[arg(long, value_name = "TEACHER")]
    judge: Option<String>,
    /// Print the stored report instead of evaluating again.
    #[arg(long)]
    stored: bool,
}

/// Evaluates the run (a job, progress on stderr) and prints the report as JSON.
pub(crate) fn eval(service: &Service, args: EvalArgs) -> anyhow::Result<()> {
    let project = args.project.display().to_string();
    if !args.stored {
        let input = EvaluateRunInput {
            project: project.clone(),
            run_id: args.run.clone(),
            control_run_id: args.control,
            options: EvalOptions {
                max_prompts: args.prompts,
                max_tokens: args.max_tokens,
                ..EvalOptions::default()
            },
            judge: args.judge.clone(),
        };
        let handle = service.evaluate_run(input)?;
        let id = handle.id;
        let status = handle.wait();
        if status != JobStatus::Completed {
            let job = service
                .list_jobs(grimoire_core::ProjectRef {
                    path: project.clone(),
                })?
                .into_iter()
                .find(|j| j.id == id);
            anyhow::bail!(
                "evaluation {}: {}",
                format!("{status:?}").to_lowercase(),
                job.and_then(|j| j.error).unwrap_or_default()
            );
        }
    }
    let report = match args.judge.filter(|_| args.stored) {
        Some(teacher) => service.judge_run(JudgeRunInput {
            project,
            run_id: args.run,
            teacher,
        })?,
        None => service.eval_report(RunRef {
            project,
            run_id: args.run,
        })?,
    };
    outln!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
