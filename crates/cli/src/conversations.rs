//! `grimoire conversations`: the chats saved in a project, listed or written out as Mistral JSONL
//! or Markdown (the same operation as the Chat workspace's Export buttons).

use std::path::PathBuf;

use clap::{Subcommand, ValueEnum};
use grimoire_core::{ConversationFormat, ExportConversationsInput, ProjectRef, Service};

/// `grimoire conversations`.
#[derive(Subcommand)]
pub(crate) enum ConversationsCommand {
    /// The saved conversations, most recent first: id, when, model, title.
    List {
        /// The project folder.
        #[arg(long)]
        project: PathBuf,
    },
    /// Write one conversation, or all of them, to a file.
    Export {
        /// The project folder.
        #[arg(long)]
        project: PathBuf,
        /// One conversation (its id from `list`); without it, all of them.
        #[arg(long)]
        id: Option<i64>,
        /// `jsonl`: Mistral fine-tuning lines (Review imports them); `md`: a transcript.
        #[arg(long, value_enum, default_value = "jsonl")]
        format: Format,
        /// The file; without it, exports/conversations.jsonl (or .md) in the project.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum Format {
    Jsonl,
    Md,
}

pub(crate) fn conversations(service: &Service, command: ConversationsCommand) -> anyhow::Result<()> {
    match command {
        ConversationsCommand::List { project } => {
            for c in service.list_conversations(ProjectRef { path: project.display().to_string() })? {
                outln!("{}\t{}\t{}\t{}", c.id, c.updated_at, c.model, c.title);
            }
        }
        ConversationsCommand::Export { project, id, format, out } => {
            let format = match format {
                Format::Jsonl => ConversationFormat::Jsonl,
                Format::Md => ConversationFormat::Markdown,
            };
            let input = ExportConversationsInput {
                project: project.display().to_string(),
                id,
                format,
                out: out.map(|o| o.display().to_string()),
            };
            let done = service.export_conversations(input)?;
            outln!("wrote {} conversations to {}", done.conversations, done.file);
        }
    }
    Ok(())
}
