//! Review: the examples a person reads, edits, approves or rejects, and the Mistral JSONL that leaves
//! the project. Listing, bulk actions, undo and stats are store calls; adding and editing go through
//! `grimoire-dataset` so that flags are computed on every change; export, import and validation are
//! `grimoire-dataset` calls too. Everything here is fast enough to run synchronously (export of
//! 100,000 examples takes well under the 2 s the issue allows), so none of it is a job.

use std::collections::BTreeMap;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use grimoire_dataset::{ExportOptions, ExportReport, Persona, Review, TokenCounter, WhitespaceCounter};
use grimoire_store::Store;
use grimoire_store::table::examples::{
    BulkOp, BulkOutcome, Example, ExampleFilter, Message, Page, Sort, SourceSpan, Stats, Status, Target, UndoOutcome, UndoState,
};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::service::{absolute, lock};
use crate::{Error, ProjectRef, Result, Service};

/// The most rows one page of the grid may ask for.
pub const MAX_PAGE: u32 = 1000;

/// The longest source passage shown beside an example, in characters.
const MAX_PASSAGE: i64 = 6000;

impl From<grimoire_dataset::Error> for Error {
    fn from(e: grimoire_dataset::Error) -> Self {
        use grimoire_dataset::Error as D;
        match e {
            D::Store(e) => Error::Store(e),
            D::Io { path, source } => Error::io(path, source),
            D::Stream(source) => Error::Io { path: PathBuf::new(), source },
            other => Error::InvalidInput(other.to_string()),
        }
    }
}

/// Reads a filter expression (`status:pending flag:narration tokens:10..200 words`), as the CLI's
/// `--filter` and the grid's search box take it.
pub fn parse_filter(expr: &str) -> Result<ExampleFilter> {
    Ok(grimoire_dataset::parse_filter(expr)?)
}

/// Input of [`Service::list_examples`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ListExamplesInput {
    /// The project folder.
    pub project: String,
    /// Which examples.
    pub filter: ExampleFilter,
    /// In which order.
    pub sort: Sort,
    /// The first row wanted.
    pub offset: u32,
    /// How many rows (at most [`MAX_PAGE`]).
    pub limit: u32,
}

/// Input of [`Service::get_example`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct GetExampleInput {
    /// The project folder.
    pub project: String,
    /// The example.
    pub id: i64,
    /// The listing it is seen in, to find its neighbours (none: no neighbours).
    pub filter: Option<ExampleFilter>,
    /// The listing's order.
    pub sort: Option<Sort>,
    /// Its row in that listing, from 0.
    pub position: Option<u32>,
}

/// A stretch of a passage: quoted by the example, or around it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PassagePart {
    /// The text.
    pub text: String,
    /// Whether the example quotes it.
    pub highlight: bool,
}

/// The part of a book an example comes from, cut into parts so that the UI never counts characters
/// (the store counts Unicode scalars, JavaScript counts UTF-16 units).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Passage {
    /// The book.
    pub book_id: i64,
    /// Its title.
    pub book_title: String,
    /// The chapter's title, when the passage lies in one.
    pub chapter_title: Option<String>,
    /// The first character shown, in the book.
    pub start: i64,
    /// One past the last character shown.
    pub end: i64,
    /// The text, in order.
    pub parts: Vec<PassagePart>,
}

/// One example with what the side panel shows around it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ExampleDetail {
    /// The example.
    pub example: Example,
    /// The passages it was drawn from, quotations highlighted (none for imported examples).
    pub passages: Vec<Passage>,
    /// The example before it in the listing.
    pub previous: Option<Example>,
    /// The example after it in the listing.
    pub next: Option<Example>,
}

/// Input of [`Service::edit_example`]: fields left `None` stay as they are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct EditExampleInput {
    /// The project folder.
    pub project: String,
    /// The example.
    pub id: i64,
    /// New turns (flags are computed again).
    pub messages: Option<Vec<Message>>,
    /// A new status.
    pub status: Option<Status>,
    /// New tags.
    pub tags: Option<Vec<String>>,
}

/// Input of [`Service::bulk_examples`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct BulkInput {
    /// The project folder.
    pub project: String,
    /// A selection, or everything a filter matches.
    pub target: Target,
    /// What to do to each.
    pub op: BulkOp,
}

/// Input of [`Service::example_stats`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct StatsInput {
    /// The project folder.
    pub project: String,
    /// Over which examples.
    pub filter: ExampleFilter,
}

/// Input of [`Service::export_examples`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ExportInput {
    /// The project folder.
    pub project: String,
    /// The folder to write into (none: the project's `exports/<timestamp>/`).
    pub out: Option<String>,
    /// The share held out for validation, 0.1 to 0.2.
    pub val_fraction: f64,
    /// The split's seed.
    pub seed: u64,
    /// A system prompt for the examples that have none.
    pub system_prompt: Option<String>,
    /// Count tokens with this model's tokenizer (`built-in`, a GGUF file or a Hugging Face folder);
    /// none: one per word, the estimate the grid uses.
    #[serde(default)]
    pub tokenizer: Option<String>,
}

/// What an export wrote, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ExportOutput {
    /// The folder.
    pub dir: String,
    /// The training file.
    pub train_file: String,
    /// The validation file.
    pub validation_file: String,
    /// Counts, tokens and the approved examples left out.
    pub report: ExportReport,
}

/// Input of [`Service::import_jsonl`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ImportJsonlInput {
    /// The project folder.
    pub project: String,
    /// The JSONL file.
    pub file: String,
    /// A tag for every imported example.
    pub tag: Option<String>,
}

/// A broken rule on one line of a JSONL file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct LineProblem {
    /// The line, from 1.
    pub line: u32,
    /// What is wrong, in words.
    pub message: String,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ImportJsonlOutput {
    /// Conversations read (blank lines not counted).
    pub lines: u32,
    /// Examples added, as pending and of strategy "imported".
    pub imported: u32,
    /// Why the other lines were left out.
    pub problems: Vec<LineProblem>,
}

/// Input of [`Service::validate_jsonl`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ValidateInput {
    /// The JSONL file.
    pub file: String,
    /// Count tokens with this model's tokenizer (as in [`ExportInput::tokenizer`]).
    #[serde(default)]
    pub tokenizer: Option<String>,
}

/// What the validator found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ValidateOutput {
    /// Conversations read.
    pub lines: u32,
    /// Conversations that break no rule.
    pub valid: u32,
    /// Every broken rule, by line.
    pub problems: Vec<LineProblem>,
    /// Tokens in the valid conversations.
    pub tokens: u64,
    /// The longest valid conversation, in tokens.
    pub max_tokens: u32,
}

fn problems(issues: Vec<grimoire_dataset::LineIssue>) -> Vec<LineProblem> {
    issues.into_iter().map(|i| LineProblem { line: i.line, message: i.issue.to_string() }).collect()
}

/// How a project measures the length of its examples (the grid's length column, the length filter,
/// the histogram and the too-short / too-long flags). Fixed when the project's first example is
/// stored, so that every stored length is in the same unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum LengthUnit {
    /// Tokens of the built-in model's tokenizer (new projects, when the built-in model is installed).
    Tokens,
    /// Whitespace-separated words: projects whose examples predate token counting, or made where
    /// the built-in model was not installed.
    Words,
}

/// The project meta key that holds its [`LengthUnit`].
const LENGTH_UNIT_KEY: &str = "length_unit";

/// The project's length unit as stored; a project with examples but no unit counted words.
pub(crate) fn length_unit(store: &Store) -> Result<Option<LengthUnit>> {
    Ok(match store.meta_get(LENGTH_UNIT_KEY)?.as_deref() {
        Some("tokens") => Some(LengthUnit::Tokens),
        Some(_) => Some(LengthUnit::Words),
        None => None,
    })
}

/// The project's length unit, chosen the first time it is asked for (tokens when the built-in
/// model's tokenizer loads from `model_dir`, words otherwise, and words for a project that already
/// has examples) and kept in the project. Loads nothing once the unit is chosen.
pub(crate) fn settle_length_unit(store: &Store, model_dir: &Path) -> Result<LengthUnit> {
    if let Some(unit) = length_unit(store)? {
        return Ok(unit);
    }
    let unit = if !store.has_examples()? && counter_for(Some(BUILTIN), model_dir).is_ok() { LengthUnit::Tokens } else { LengthUnit::Words };
    store.meta_set(LENGTH_UNIT_KEY, if unit == LengthUnit::Tokens { "tokens" } else { "words" })?;
    Ok(unit)
}

/// The counter for `store`'s lengths, in its [settled](settle_length_unit) unit. A project that
/// counts tokens, opened where the built-in model is missing, counts words for what it adds there
/// rather than refusing edits (the lengths are then a mix until the model is installed).
pub(crate) fn length_counter(store: &Store, model_dir: &Path) -> Result<&'static dyn TokenCounter> {
    Ok(match settle_length_unit(store, model_dir)? {
        LengthUnit::Words => &WhitespaceCounter,
        LengthUnit::Tokens => counter_for(Some(BUILTIN), model_dir).unwrap_or(&WhitespaceCounter),
    })
}

/// The model whose tokenizer a project's lengths count.
const BUILTIN: &str = "built-in";

/// Counts tokens as a model's own tokenizer does.
struct ModelCounter(grimoire_llm::Tokenizer);

impl TokenCounter for ModelCounter {
    fn count(&self, text: &str) -> u32 {
        match self.0.encode(text) {
            Ok(ids) => ids.len() as u32,
            // Text the tokenizer refuses (none is known) still gets a length.
            Err(_) => WhitespaceCounter.count(text),
        }
    }
}

/// The tokenizer of `model` (`built-in`, a GGUF file or a Hugging Face folder), loaded once per
/// file for the life of the process (and kept for it); none: the per-word estimate.
fn counter_for(model: Option<&str>, model_dir: &Path) -> Result<&'static dyn TokenCounter> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static LOADED: OnceLock<Mutex<HashMap<PathBuf, &'static dyn TokenCounter>>> = OnceLock::new();
    let Some(model) = model.map(str::trim).filter(|m| !m.is_empty()) else {
        return Ok(&WhitespaceCounter);
    };
    let path = crate::chat::model_path(model, model_dir);
    if let Some(c) = lock(LOADED.get_or_init(Mutex::default)).get(&path) {
        return Ok(*c);
    }
    if !path.exists() {
        return Err(Error::NotFound(path));
    }
    let tokenizer = if path.is_dir() {
        grimoire_llm::Tokenizer::from_hf_file(&path.join("tokenizer.json"))
    } else {
        grimoire_llm::gguf::Gguf::open(&path).and_then(|g| grimoire_llm::Tokenizer::from_gguf(&g))
    }
    .map_err(Error::Model)?;
    // One per model file a person picks in a session: leaking it is what keeps it loaded.
    let counter: &'static dyn TokenCounter = Box::leak(Box::new(ModelCounter(tokenizer)));
    lock(LOADED.get_or_init(Mutex::default)).insert(path, counter);
    Ok(counter)
}

/// The project's persona with the aliases the character list knows them by.
fn persona(store: &Store) -> Result<Option<Persona>> {
    let Some(name) = store.project_meta()?.persona else { return Ok(None) };
    let aliases = store.characters()?.into_iter().find(|c| c.name == name).map(|c| c.aliases).unwrap_or_default();
    Ok(Some(Persona { name, aliases }))
}

/// A [`Review`] over `store` with the project's persona and length counter.
pub(crate) fn review_for<'a>(store: &'a Store, model_dir: &Path) -> Result<Review<'a>> {
    let review = Review::new(store, length_counter(store, model_dir)?);
    Ok(match persona(store)? {
        Some(p) => review.with_persona(p),
        None => review,
    })
}

/// Cuts the text around `spans` (all of one book) into highlighted and plain parts, widened to whole
/// paragraphs.
fn passage(store: &Store, book_id: i64, spans: &[SourceSpan]) -> Result<Passage> {
    let mut ranges: Vec<(i64, i64)> = spans.iter().map(|s| (s.start, s.end)).collect();
    ranges.sort_unstable();
    let (mut start, mut end) = (ranges[0].0, ranges.iter().map(|r| r.1).max().unwrap_or(ranges[0].1));
    for p in store.paragraphs(book_id)? {
        if p.end > start && p.start <= start {
            start = p.start;
        }
        if p.start < end && p.end >= end {
            end = p.end;
        }
    }
    end = end.min(start + MAX_PASSAGE);
    let book = store.book(book_id)?;
    let chapter_title =
        store.chapters(book_id)?.into_iter().find(|c| c.start <= start && start < c.end).map(|c| c.title).filter(|t| !t.is_empty());
    let text: Vec<char> = book.text.chars().skip(usize::try_from(start).unwrap_or(0)).take(usize::try_from(end - start).unwrap_or(0)).collect();
    let slice = |a: i64, b: i64| -> String {
        let (a, b) = ((a - start).clamp(0, text.len() as i64) as usize, (b - start).clamp(0, text.len() as i64) as usize);
        text[a..b.max(a)].iter().collect()
    };
    let mut parts = Vec::new();
    let mut at = start;
    for (s, e) in ranges {
        let s = s.max(at);
        if e <= s || s >= end {
            continue;
        }
        if s > at {
            parts.push(PassagePart { text: slice(at, s), highlight: false });
        }
        parts.push(PassagePart { text: slice(s, e.min(end)), highlight: true });
        at = e.min(end);
    }
    if at < end {
        parts.push(PassagePart { text: slice(at, end), highlight: false });
    }
    Ok(Passage { book_id, book_title: book.summary.title, chapter_title, start, end, parts })
}

/// A folder under `exports/` named after the time, unused so far.
fn export_folder(project: &Path) -> PathBuf {
    let stamp: String = grimoire_store::now().chars().filter(|c| c.is_ascii_digit() || *c == 'T').take(15).collect();
    let stamp = stamp.replace('T', "-");
    let base = project.join("exports").join(&stamp);
    let mut dir = base.clone();
    let mut n = 2;
    while dir.exists() {
        dir = project.join("exports").join(format!("{stamp}-{n}"));
        n += 1;
    }
    dir
}

fn open_file(path: &str) -> Result<BufReader<std::fs::File>> {
    let path = absolute(path)?;
    std::fs::File::open(&path).map(BufReader::new).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::NotFound(path.clone()),
        _ => Error::io(&path, e),
    })
}

impl Service {
    /// One page of the grid.
    pub fn list_examples(&self, input: ListExamplesInput) -> Result<Page> {
        let store = self.store(&absolute(&input.project)?)?;
        let page = lock(&store).examples_page(&input.filter, input.sort, input.offset, input.limit.min(MAX_PAGE))?;
        Ok(page)
    }

    /// One example with its source passages and its neighbours in the listing.
    pub fn get_example(&self, input: GetExampleInput) -> Result<ExampleDetail> {
        let store = self.store(&absolute(&input.project)?)?;
        let store = lock(&store);
        let example = store.example(input.id)?;
        let mut by_book: BTreeMap<i64, Vec<SourceSpan>> = BTreeMap::new();
        for span in &example.spans {
            by_book.entry(span.book_id).or_default().push(*span);
        }
        let passages = by_book.iter().map(|(book, spans)| passage(&store, *book, spans)).collect::<Result<Vec<_>>>()?;
        let (mut previous, mut next) = (None, None);
        if let (Some(filter), Some(position)) = (&input.filter, input.position) {
            let offset = position.saturating_sub(1);
            let rows = store.examples_page(filter, input.sort.unwrap_or_default(), offset, 3)?.rows;
            if let Some(i) = rows.iter().position(|r| r.id == example.id) {
                previous = i.checked_sub(1).and_then(|p| rows.get(p)).cloned();
                next = rows.get(i + 1).cloned();
            }
        }
        Ok(ExampleDetail { example, passages, previous, next })
    }

    /// Edits one example as one undoable action; new turns get their flags computed again.
    pub fn edit_example(&self, input: EditExampleInput) -> Result<Example> {
        let store = self.store(&absolute(&input.project)?)?;
        let store = lock(&store);
        let label = match (&input.messages, input.status, &input.tags) {
            (Some(_), _, _) => "Edit turns".to_string(),
            (None, Some(status), None) => format!("Mark {}", status.as_str()),
            (None, None, Some(_)) => "Edit tags".to_string(),
            _ => "Edit example".to_string(),
        };
        Ok(review_for(&store, Path::new(&self.settings()?.model_dir))?.edit(input.id, input.messages, input.status, input.tags, &label)?)
    }

    /// Approves, rejects or tags a selection or everything a filter matches, as one undoable action.
    pub fn bulk_examples(&self, input: BulkInput) -> Result<BulkOutcome> {
        let store = self.store(&absolute(&input.project)?)?;
        let what = match &input.target {
            Target::Ids(ids) => format!("{} selected", ids.len()),
            Target::Filter(_) => "all matching".to_string(),
        };
        let label = match &input.op {
            BulkOp::SetStatus(Status::Approved) => format!("Approve {what}"),
            BulkOp::SetStatus(Status::Rejected) => format!("Reject {what}"),
            BulkOp::SetStatus(Status::Pending) => format!("Reset {what} to pending"),
            BulkOp::AddTag(tag) => format!("Tag {what} {tag:?}"),
            BulkOp::RemoveTag(tag) => format!("Untag {what} {tag:?}"),
        };
        let outcome = lock(&store).examples_bulk(&input.target, &input.op, &label)?;
        Ok(outcome)
    }

    /// Undoes the person's last review action (an edit or a bulk action); `None` when there is none.
    pub fn review_undo(&self, input: ProjectRef) -> Result<Option<UndoOutcome>> {
        let store = self.store(&absolute(&input.path)?)?;
        let outcome = lock(&store).review_undo()?;
        Ok(outcome)
    }

    /// Applies the last undone review action again; `None` when there is none.
    pub fn review_redo(&self, input: ProjectRef) -> Result<Option<UndoOutcome>> {
        let store = self.store(&absolute(&input.path)?)?;
        let outcome = lock(&store).review_redo()?;
        Ok(outcome)
    }

    /// What undo and redo would do next.
    pub fn review_undo_state(&self, input: ProjectRef) -> Result<UndoState> {
        let store = self.store(&absolute(&input.path)?)?;
        let state = lock(&store).review_undo_state()?;
        Ok(state)
    }

    /// Counts by status and strategy, the token-length histogram and how many would be exported.
    pub fn example_stats(&self, input: StatsInput) -> Result<Stats> {
        let store = self.store(&absolute(&input.project)?)?;
        let stats = lock(&store).examples_stats(&input.filter)?;
        Ok(stats)
    }

    /// Writes the approved examples as Mistral fine-tuning JSONL: `train.jsonl` and
    /// `validation.jsonl`, split by chapter.
    pub fn export_examples(&self, input: ExportInput) -> Result<ExportOutput> {
        if !(0.1 - 1e-9..=0.2 + 1e-9).contains(&input.val_fraction) {
            return Err(Error::InvalidInput(format!(
                "the validation share must be between 10% and 20%, not {:.1}%",
                input.val_fraction * 100.0
            )));
        }
        let project = absolute(&input.project)?;
        let store = self.store(&project)?;
        let store = lock(&store);
        let dir = match input.out.as_deref().map(str::trim).filter(|o| !o.is_empty()) {
            Some(out) => absolute(out)?,
            None => export_folder(&project),
        };
        let tokens = counter_for(input.tokenizer.as_deref(), Path::new(&self.settings()?.model_dir))?;
        let options = ExportOptions { system_prompt: input.system_prompt, val_fraction: input.val_fraction, seed: input.seed };
        let report = grimoire_dataset::export_dir(&store, &dir, &options, tokens)?;
        let file = |name: &str| dir.join(name).display().to_string();
        Ok(ExportOutput {
            train_file: file(grimoire_dataset::TRAIN_FILE),
            validation_file: file(grimoire_dataset::VALIDATION_FILE),
            dir: dir.display().to_string(),
            report,
        })
    }

    /// Adds the conversations of a Mistral JSONL file as pending "imported" examples; bad lines are
    /// reported with their numbers and the rest still imports.
    pub fn import_jsonl(&self, input: ImportJsonlInput) -> Result<ImportJsonlOutput> {
        let reader = open_file(&input.file)?;
        let store = self.store(&absolute(&input.project)?)?;
        let store = lock(&store);
        let tag = input.tag.as_deref().map(str::trim).filter(|t| !t.is_empty());
        let report = grimoire_dataset::import_jsonl(&review_for(&store, Path::new(&self.settings()?.model_dir))?, reader, tag)?;
        Ok(ImportJsonlOutput { lines: report.lines, imported: report.imported.len() as u32, problems: problems(report.issues) })
    }

    /// Checks a JSONL file against the rules Mistral's fine-tuning validator enforces.
    pub fn validate_jsonl(&self, input: ValidateInput) -> Result<ValidateOutput> {
        let tokens = counter_for(input.tokenizer.as_deref(), Path::new(&self.settings()?.model_dir))?;
        let report = grimoire_dataset::validate_jsonl(open_file(&input.file)?, tokens)?;
        Ok(ValidateOutput {
            lines: report.lines,
            valid: report.valid,
            problems: problems(report.issues),
            tokens: report.tokens,
            max_tokens: report.max_tokens,
        })
    }
}
