// Generated from the Rust types by grimoire-core (bindings.rs). Do not edit.

export type ApiError = { 
/**
 * What kind of failure.
 */
code: ErrorCode, 
/**
 * A readable sentence for the user.
 */
message: string, };

export type ErrorCode = "not_a_project" | "project_damaged" | "newer_version" | "read_only" | "not_found" | "already_exists" | "invalid_input" | "bad_file" | "cancelled" | "io" | "internal";

export type AppInfo = { 
/**
 * Grimoire's version.
 */
version: string, 
/**
 * Where models and the sample project live.
 */
data_dir: string, 
/**
 * Where settings live.
 */
config_dir: string, };

export type Startup = { 
/**
 * A project to open at once: the sample project on the very first run, or the one asked for.
 */
open_project: ProjectInfo | null, 
/**
 * Why the project asked for on the command line could not be opened.
 */
error: ApiError | null, };

export type Settings = { 
/**
 * Where models are looked for (the built-in model is installed here).
 */
model_dir: string, 
/**
 * The look of the app.
 */
theme: Theme, };

export type Theme = "system" | "light" | "dark";

export type RecentProject = { 
/**
 * Its folder.
 */
path: string, 
/**
 * Its name when last opened.
 */
name: string, 
/**
 * When it was last opened.
 */
opened_at: string, };

export type ProjectInfo = { 
/**
 * The project folder.
 */
path: string, 
/**
 * Its name.
 */
name: string, 
/**
 * The chosen persona.
 */
persona: string | null, 
/**
 * When it was created.
 */
created_at: string, 
/**
 * Its database schema version.
 */
schema_version: number, 
/**
 * How many books it has.
 */
books: number, 
/**
 * How many jobs were cut short when the app last stopped.
 */
interrupted_jobs: number, };

export type CreateProjectInput = { 
/**
 * The folder to create the project in (created when missing).
 */
path: string, 
/**
 * The project's name.
 */
name: string, 
/**
 * The character to build the data set for, if known yet.
 */
persona: string | null, };

export type ProjectRef = { 
/**
 * The project folder.
 */
path: string, };

export type ImportBooksInput = { 
/**
 * The project folder.
 */
project: string, 
/**
 * The book files, in series order.
 */
files: Array<string>, };

export type ImportResult = { 
/**
 * The new books' ids, in order.
 */
book_ids: Array<number>, 
/**
 * Files skipped because the same content is already in the project.
 */
skipped: Array<string>, };

export type JobStarted = { 
/**
 * The job's id in its project.
 */
job_id: number, };

export type CancelJobInput = { 
/**
 * The project folder.
 */
project: string, 
/**
 * The job's id.
 */
job_id: number, };

export type JobEvent = { 
/**
 * The project folder the job belongs to.
 */
project: string, 
/**
 * The job's id in that project.
 */
job_id: number, 
/**
 * What happened.
 */
event: JobEventKind, };

export type JobEventKind = { "type": "queued", 
/**
 * What kind of work.
 */
kind: string, 
/**
 * Its title.
 */
title: string, } | { "type": "started" } | { "type": "progress", 
/**
 * Units done.
 */
done: number, 
/**
 * Units in all (0 when unknown).
 */
total: number, 
/**
 * What it is doing.
 */
message: string, } | { "type": "completed", 
/**
 * What it produced, as JSON.
 */
result: string | null, } | { "type": "failed", 
/**
 * The error.
 */
error: ApiError, } | { "type": "cancelled" };

export type Job = { 
/**
 * Its id.
 */
id: number, 
/**
 * What kind of work (`import`, `generate`, `train`...).
 */
kind: string, 
/**
 * A human title.
 */
title: string, 
/**
 * Where it stands.
 */
status: JobStatus, 
/**
 * Units of work done.
 */
done: number, 
/**
 * Units of work in all (0 when unknown).
 */
total: number, 
/**
 * The latest progress message.
 */
message: string, 
/**
 * Why it failed.
 */
error: string | null, 
/**
 * Its parameters, as JSON, so that it can be resumed.
 */
params: string, 
/**
 * What it produced, as JSON.
 */
result: string | null, 
/**
 * When it was recorded.
 */
created_at: string, 
/**
 * When it started.
 */
started_at: string | null, 
/**
 * When it stopped.
 */
finished_at: string | null, };

export type JobStatus = "queued" | "running" | "completed" | "failed" | "cancelled" | "interrupted";

export type BookSummary = { 
/**
 * Its id.
 */
id: number, 
/**
 * Its title.
 */
title: string, 
/**
 * Its author.
 */
author: string | null, 
/**
 * Where it came from.
 */
source_path: string, 
/**
 * Its format.
 */
format: string, 
/**
 * Its place in the series, from 1.
 */
series_index: number, 
/**
 * Its length in characters.
 */
chars: number, 
/**
 * When it was imported.
 */
imported_at: string, };

export type ModelEntry = { 
/**
 * A stable id: `built-in` or the file name.
 */
id: string, 
/**
 * A display name.
 */
name: string, 
/**
 * The file.
 */
path: string, 
/**
 * Whether it ships with Grimoire.
 */
builtin: boolean, 
/**
 * The architecture, when known without loading the file.
 */
architecture: string | null, 
/**
 * The quantisation, when known.
 */
quantization: string | null, 
/**
 * Parameters, when known.
 */
parameters: string | null, 
/**
 * The context length in tokens, when known.
 */
context_length: number | null, 
/**
 * The license, when known.
 */
license: string | null, 
/**
 * The file's size in bytes (0 when missing).
 */
size_bytes: number, 
/**
 * Whether it can be used.
 */
status: ModelStatus, };

export type ModelStatus = "ready" | "missing";

export type InstallOutcome = { 
/**
 * Where the model is.
 */
path: string, 
/**
 * False when a good copy was already there.
 */
installed: boolean, };

export type StoredChapter = { 
/**
 * Its index in the book, from 0.
 */
idx: number, 
/**
 * Its heading.
 */
title: string, 
/**
 * Its first character.
 */
start: number, 
/**
 * One past its last character.
 */
end: number, };

export type StoredCharacter = { 
/**
 * The canonical name, unique in the project.
 */
name: string, 
/**
 * Other names the books use for them.
 */
aliases: Array<string>, 
/**
 * `male`, `female` or `unknown`.
 */
gender: string, 
/**
 * How often they are named.
 */
mentions: number, 
/**
 * How many quotations are theirs.
 */
quotes: number, };

export type StoredQuote = { 
/**
 * Its row id.
 */
id: number, 
/**
 * Its book.
 */
book_id: number, 
/**
 * First character (quote marks included).
 */
start: number, 
/**
 * One past the last character.
 */
end: number, 
/**
 * The paragraph it is in.
 */
paragraph: number, 
/**
 * `speech`, `letter`, `scare`...
 */
role: string, 
/**
 * The speaker's canonical name, or none when it could not be told.
 */
speaker: string | null, 
/**
 * `explicit`, `anaphoric`, `implicit`, `corrected` or `none`.
 */
kind: string, 
/**
 * How sure the attribution is, 0 to 1.
 */
confidence: number, 
/**
 * Why this speaker.
 */
reason: string, };

export type ChapterRef = { 
/**
 * The project folder.
 */
project: string, 
/**
 * The book.
 */
book_id: number, 
/**
 * The chapter, from 0.
 */
chapter: number, };

export type ChapterView = { 
/**
 * The book's chapters (for navigation).
 */
chapters: Array<StoredChapter>, 
/**
 * The chapter shown.
 */
chapter: number, 
/**
 * Its text.
 */
text: string, 
/**
 * Where its text starts in the book, in characters (quote offsets are book offsets).
 */
offset: number, 
/**
 * Its quotations.
 */
quotes: Array<StoredQuote>, };

export type CorrectSpeakerInput = { 
/**
 * The project folder.
 */
project: string, 
/**
 * The quotation's book.
 */
book_id: number, 
/**
 * Its first character.
 */
start: number, 
/**
 * One past its last character.
 */
end: number, 
/**
 * Who really says it; none for nobody.
 */
speaker: string | null, };

export type MergeCharactersInput = { 
/**
 * The project folder.
 */
project: string, 
/**
 * The characters to merge.
 */
names: Array<string>, 
/**
 * The name they go by afterwards.
 */
into: string, };

export type RenameCharacterInput = { 
/**
 * The project folder.
 */
project: string, 
/**
 * The current name.
 */
from: string, 
/**
 * The new name.
 */
to: string, };

export type SplitCharacterInput = { 
/**
 * The project folder.
 */
project: string, 
/**
 * The alias to take out of its character.
 */
alias: string, 
/**
 * The new character's name.
 */
new_name: string, };

export type SetPersonaInput = { 
/**
 * The project folder.
 */
project: string, 
/**
 * The persona; none to clear.
 */
persona: string | null, };

export type ExtractInput = { 
/**
 * The project folder.
 */
project: string, 
/**
 * The persona, as the character list names them.
 */
persona: string, 
/**
 * How to build the examples.
 */
options: ExtractOptions, };

export type ExtractOptions = { 
/**
 * How many lines said before the persona's make up the user turn.
 */
context_turns: number, 
/**
 * Persona lines shorter than this many characters are skipped.
 */
min_chars: number, 
/**
 * Put the narration that sets the scene into the user turn.
 */
narration: boolean, 
/**
 * Also make whole scenes into multi-turn conversations.
 */
scenes: boolean, 
/**
 * The system prompt given to every example (none when empty).
 */
system_prompt: string | null, };

export type ExtractResult = { 
/**
 * Examples added to the review store.
 */
added: number, 
/**
 * Examples already there (the same turns from the same passage).
 */
skipped: number, };
