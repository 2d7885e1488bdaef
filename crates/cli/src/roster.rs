//! `grimoire roster` (a project's characters: list, merge, rename, split, ignore) and
//! `grimoire books` (a project's books in series order, and a new order). Every correction is
//! stored in the project and applied again on every analysis, as in the app.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use grimoire_core::{IgnoreCharacterInput, MergeCharactersInput, ProjectRef, RenameCharacterInput, ReorderBooksInput, Service, SplitCharacterInput};

/// The project a command works on.
#[derive(Args)]
pub(crate) struct ProjectArg {
    /// The project folder.
    #[arg(long)]
    project: PathBuf,
    /// Print JSON: `{"characters": [...], "ignored": [...]}`.
    #[arg(long)]
    json: bool,
}

/// `grimoire roster`.
#[derive(Subcommand)]
pub(crate) enum RosterCommand {
    /// The project's characters, most quoted first, and the names ignored.
    List(ProjectArg),
    /// Make several characters one.
    Merge {
        #[command(flatten)]
        project: ProjectArg,
        /// The characters to merge (names or aliases).
        #[arg(required = true)]
        names: Vec<String>,
        /// The name they go by afterwards.
        #[arg(long)]
        into: String,
    },
    /// Give a character another name.
    Rename {
        #[command(flatten)]
        project: ProjectArg,
        /// The current name.
        from: String,
        /// The new name.
        to: String,
    },
    /// Take an alias out of its character, as a character of its own.
    Split {
        #[command(flatten)]
        project: ProjectArg,
        /// The alias (e.g. "Miss Bennet").
        alias: String,
        /// The new character's name.
        #[arg(long = "as")]
        new_name: String,
    },
    /// Ignore characters (not characters, or not to be used): their lines go to the next best
    /// speaker or to nobody. With --undo, take that back.
    Ignore {
        #[command(flatten)]
        project: ProjectArg,
        /// Names or aliases.
        #[arg(required = true)]
        names: Vec<String>,
        /// Stop ignoring them.
        #[arg(long)]
        undo: bool,
    },
}

/// `grimoire books`.
#[derive(Args)]
pub(crate) struct BooksArgs {
    /// The project folder.
    #[arg(long)]
    project: PathBuf,
    /// Put the books in this series order first: every book's id once, first book first.
    #[arg(long, value_delimiter = ',')]
    order: Option<Vec<i64>>,
    /// Print JSON, one book per line.
    #[arg(long)]
    json: bool,
}

pub(crate) fn roster(service: &Service, command: RosterCommand) -> anyhow::Result<()> {
    let path = |p: &ProjectArg| p.project.display().to_string();
    let project = match command {
        RosterCommand::List(p) => p,
        RosterCommand::Merge { project, names, into } => {
            service.merge_characters(MergeCharactersInput { project: path(&project), names, into })?;
            project
        }
        RosterCommand::Rename { project, from, to } => {
            service.rename_character(RenameCharacterInput { project: path(&project), from, to })?;
            project
        }
        RosterCommand::Split { project, alias, new_name } => {
            service.split_character(SplitCharacterInput { project: path(&project), alias, new_name })?;
            project
        }
        RosterCommand::Ignore { project, names, undo } => {
            for name in names {
                service.ignore_character(IgnoreCharacterInput { project: path(&project), name, ignored: !undo })?;
            }
            project
        }
    };
    let characters = service.list_characters(ProjectRef { path: path(&project) })?;
    let ignored = service.ignored_characters(ProjectRef { path: path(&project) })?;
    if project.json {
        outln!("{}", serde_json::json!({ "characters": characters, "ignored": ignored }));
        return Ok(());
    }
    for c in &characters {
        outln!("{:>5}  {:<24} {}", c.quotes, c.name, c.aliases.join(", "));
    }
    if !ignored.is_empty() {
        outln!("ignored: {}", ignored.join(", "));
    }
    Ok(())
}

pub(crate) fn books(service: &Service, args: BooksArgs) -> anyhow::Result<()> {
    let project = args.project.display().to_string();
    let books = match args.order {
        Some(book_ids) => service.reorder_books(ReorderBooksInput { project, book_ids })?,
        None => service.list_books(ProjectRef { path: project })?,
    };
    for b in books {
        if args.json {
            outln!("{}", serde_json::to_string(&b)?);
        } else {
            outln!("{:>3}. {:<40} id {:<5} {:<5} {} characters", b.series_index, b.title, b.id, b.format, b.chars);
        }
    }
    Ok(())
}
