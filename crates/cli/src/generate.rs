//! `grimoire generate` and `grimoire teachers`: teacher models writing strategy B and C examples.

use std::io::Write as _;
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use grimoire_core::{
    GenerateInput, GenerationOptions, GenerationRef, PreviewInput, Price, Service,
    SetTeacherKeyInput, TeacherConfig, TeacherKind, TeacherRef, TeacherStrategy,
};

/// `grimoire generate`.
#[derive(Args)]
pub(crate) struct GenerateArgs {
    /// The project folder.
    #[arg(long)]
    project: PathBuf,
    /// `rewrite`: narration retold as the persona's first-person account (B); `qa`: questions and
    /// answers in the persona's voice (C).
    #[arg(long, value_enum, default_value = "rewrite")]
    strategy: StrategyArg,
    /// The teacher, as `grimoire teachers` lists them (`built-in` is the local model).
    #[arg(long, default_value = "built-in")]
    teacher: String,
    /// Only the first N passages.
    #[arg(long)]
    limit: Option<u32>,
    /// Question–answer pairs per passage (qa).
    #[arg(long, default_value_t = 3)]
    pairs: u32,
    /// The persona (default: the project's).
    #[arg(long)]
    persona: Option<String>,
    /// The most characters in a passage.
    #[arg(long, default_value_t = 1500)]
    max_chars: u32,
    /// A system prompt for every example.
    #[arg(long)]
    system: Option<String>,
    /// Run the prompt on passage N only and print the answer, the examples and their flags.
    #[arg(long, conflicts_with = "resume")]
    preview: Option<u32>,
    /// Print what the job would send and cost (passages, tokens, dollars at the teacher's prices,
    /// those already cached) and start nothing.
    #[arg(long, conflicts_with_all = ["resume", "preview"])]
    estimate: bool,
    /// Resume generation job ID (interrupted, cancelled or failed) instead of starting one.
    #[arg(long)]
    resume: Option<i64>,
}

#[derive(Clone, Copy, ValueEnum)]
enum StrategyArg {
    Rewrite,
    Qa,
}

/// `grimoire teachers`.
#[derive(Args)]
pub(crate) struct TeachersArgs {
    #[command(subcommand)]
    command: Option<TeachersCommand>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum TeachersCommand {
    /// Add a teacher, or change the one of that name.
    Add {
        /// Its name (`mistral`, `local-vllm`...).
        name: String,
        /// The kind of server.
        #[arg(long, value_enum)]
        kind: KindArg,
        /// The base URL with its version (default for mistral: https://api.mistral.ai/v1).
        #[arg(long, default_value = "")]
        base_url: String,
        /// The model (for built-in: `built-in` or a model file).
        #[arg(long, default_value = "")]
        model: String,
        /// Requests in flight at once.
        #[arg(long, default_value_t = 8)]
        concurrency: u32,
        /// Requests per minute (0: no limit).
        #[arg(long, default_value_t = 0)]
        rpm: u32,
        /// Tokens per minute (0: no limit).
        #[arg(long, default_value_t = 0)]
        tpm: u32,
        /// Price per million prompt tokens.
        #[arg(long, default_value_t = 0.0)]
        price_in: f64,
        /// Price per million completion tokens.
        #[arg(long, default_value_t = 0.0)]
        price_out: f64,
        /// Most tokens per answer.
        #[arg(long, default_value_t = 1024)]
        max_tokens: u32,
        /// Sampling temperature.
        #[arg(long, default_value_t = 0.3)]
        temperature: f32,
        /// Seconds one request may take.
        #[arg(long, default_value_t = 120)]
        timeout: u32,
        /// Do not ask for JSON output (for servers that refuse `response_format`).
        #[arg(long)]
        no_json_mode: bool,
    },
    /// Ask a teacher's server for its models: the list, or the exact error.
    Test {
        /// The teacher.
        name: String,
    },
    /// Store a teacher's API key in the OS keyring, read from standard input.
    SetKey {
        /// The teacher.
        name: String,
    },
    /// Remove a teacher and its key.
    Remove {
        /// The teacher.
        name: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum KindArg {
    Mistral,
    Openai,
    BuiltIn,
}

fn out(line: impl std::fmt::Display) -> anyhow::Result<()> {
    writeln!(std::io::stdout().lock(), "{line}")?;
    Ok(())
}

/// Runs `grimoire generate`.
pub(crate) fn generate(service: &Service, args: GenerateArgs) -> anyhow::Result<()> {
    let project = args.project.display().to_string();
    if let Some(job_id) = args.resume {
        let handle = service.resume_generation(GenerationRef {
            project: project.clone(),
            job_id,
        })?;
        return crate::finish_job(service, &args.project, handle);
    }
    let options = GenerationOptions {
        strategy: match args.strategy {
            StrategyArg::Rewrite => TeacherStrategy::Rewrite,
            StrategyArg::Qa => TeacherStrategy::Qa,
        },
        persona: args.persona,
        pairs: args.pairs,
        max_chars: args.max_chars,
        limit: args.limit,
        system_prompt: args.system,
        ..Default::default()
    };
    if let Some(passage) = args.preview {
        let preview = service.preview_generation(PreviewInput {
            project,
            teacher: args.teacher,
            options,
            passage,
        })?;
        out(serde_json::to_string_pretty(&preview)?)?;
        return Ok(());
    }
    let input = GenerateInput {
        project,
        teacher: args.teacher,
        options,
    };
    let estimate = service.estimate_generation(input.clone())?;
    if args.estimate {
        return out(describe_estimate(&estimate));
    }
    eprintln!("{}", describe_estimate(&estimate).replace('\n', "; "));
    let handle = service.generate(input)?;
    crate::finish_job(service, &args.project, handle)
}

/// An estimate as a few lines of text.
fn describe_estimate(e: &grimoire_core::GenerationEstimate) -> String {
    let mut lines = vec![format!(
        "{} passages, {} of them already answered (cached, not paid again)",
        e.passages, e.cached
    )];
    lines.push(format!(
        "about {} prompt tokens and {} answer tokens expected, at most {}",
        e.prompt_tokens, e.completion_tokens_expected, e.completion_tokens_max
    ));
    lines.push(if e.cost_max > 0.0 {
        format!(
            "cost about ${:.4} expected, at most ${:.4}",
            e.cost_expected, e.cost_max
        )
    } else {
        "cost: nothing (a local model, or the teacher has no prices set)".to_string()
    });
    if let Some(s) = e.min_seconds {
        lines.push(format!("at least {s:.0} s at the teacher's rate limits"));
    }
    lines.join("\n")
}

/// Runs `grimoire teachers`.
pub(crate) fn teachers(service: &Service, args: TeachersArgs) -> anyhow::Result<()> {
    match args.command {
        None => {
            let list = service.list_teachers()?;
            if args.json {
                return out(serde_json::to_string_pretty(&list)?);
            }
            out(format_args!(
                "{:<16} {:<18} {:<32} {:<36} key",
                "name", "kind", "model", "address"
            ))?;
            for t in list {
                let c = &t.config;
                let kind = match c.kind {
                    TeacherKind::Mistral => "mistral",
                    TeacherKind::OpenAiCompatible => "openai-compatible",
                    TeacherKind::BuiltIn => "built-in",
                };
                let key = match &t.key {
                    grimoire_core::KeySource::Keyring => "keyring".to_string(),
                    grimoire_core::KeySource::Environment { variable } => format!("${variable}"),
                    grimoire_core::KeySource::None if t.needs_key => "missing".to_string(),
                    grimoire_core::KeySource::None => "-".to_string(),
                };
                out(format_args!(
                    "{:<16} {:<18} {:<32} {:<36} {key}",
                    c.name, kind, c.model, c.base_url
                ))?;
            }
        }
        Some(TeachersCommand::Add {
            name,
            kind,
            base_url,
            model,
            concurrency,
            rpm,
            tpm,
            price_in,
            price_out,
            max_tokens,
            temperature,
            timeout,
            no_json_mode,
        }) => {
            let kind = match kind {
                KindArg::Mistral => TeacherKind::Mistral,
                KindArg::Openai => TeacherKind::OpenAiCompatible,
                KindArg::BuiltIn => TeacherKind::BuiltIn,
            };
            let config = TeacherConfig {
                name,
                kind,
                base_url,
                model,
                max_in_flight: concurrency,
                requests_per_minute: rpm,
                tokens_per_minute: tpm,
                price: Price {
                    input_per_million: price_in,
                    output_per_million: price_out,
                },
                timeout_seconds: timeout,
                max_tokens,
                temperature,
                json_mode: !no_json_mode,
            };
            let saved = service.save_teacher(config)?;
            let c = &saved.config;
            match c.base_url.as_str() {
                "" => out(format_args!("saved teacher {} ({})", c.name, c.model))?,
                url => out(format_args!(
                    "saved teacher {} ({} at {url})",
                    c.name, c.model
                ))?,
            }
        }
        Some(TeachersCommand::Test { name }) => {
            let result = service.test_teacher(TeacherRef { name: name.clone() })?;
            if let Some(error) = result.error {
                anyhow::bail!("{name}: {error}");
            }
            for m in &result.models {
                out(m)?;
            }
            let config = service.teacher(&name)?;
            if !result.model_found {
                eprintln!(
                    "warning: the server does not list the model {:?}",
                    config.model
                );
            }
            eprintln!(
                "{name}: {} models in {} ms",
                result.models.len(),
                result.millis
            );
        }
        Some(TeachersCommand::SetKey { name }) => {
            eprintln!("API key for {name} (read from standard input):");
            let mut key = String::new();
            std::io::stdin().read_line(&mut key)?;
            service.set_teacher_key(SetTeacherKeyInput {
                name: name.clone(),
                key: Some(key.trim().to_string()),
            })?;
            out(format_args!("key for {name} stored in the OS keyring"))?;
        }
        Some(TeachersCommand::Remove { name }) => {
            service.delete_teacher(TeacherRef { name: name.clone() })?;
            out(format_args!("removed teacher {name}"))?;
        }
    }
    Ok(())
}
