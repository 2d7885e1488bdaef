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

export type ErrorCode = "not_a_project" | "project_damaged" | "newer_version" | "read_only" | "not_found" | "already_exists" | "invalid_input" | "bad_file" | "cancelled" | "io" | "model" | "teacher" | "internal";

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
interrupted_jobs: number, 
/**
 * How the lengths of its examples are measured.
 */
length_unit: LengthUnit, };

export type LengthUnit = "tokens" | "words";

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
status: ModelStatus, 
/**
 * Why it cannot be used.
 */
problem: string | null, };

export type ModelStatus = "ready" | "missing" | "unusable";

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
 * `speech`, `thought`, `letter`, `scare`, `citation` (written words: an inscription, a caption, an epigraph, verse).
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

export type IgnoreCharacterInput = { 
/**
 * The project folder.
 */
project: string, 
/**
 * The character's name (or an alias).
 */
name: string, 
/**
 * True to ignore it, false to take an earlier "ignore" of this name back.
 */
ignored: boolean, };

export type ReorderBooksInput = { 
/**
 * The project folder.
 */
project: string, 
/**
 * Every book's id once, in the new series order.
 */
book_ids: Array<number>, };

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
system_prompt: string | null, 
/**
 * Persona lines attributed with less confidence than this (0 to 1) are left out. The default,
 * 0.6, takes tags, beats, continuity, two-person exchanges that the tags on both sides
 * confirm or that run long, and alternation where only two have spoken, and leaves out the
 * guesses that are right about half the time or less (alternation among several speakers, a
 * party named in the narration, a turn right after one tag).
 */
min_confidence: number, };

export type ExtractResult = { 
/**
 * Examples added to the review store.
 */
added: number, 
/**
 * Examples already there (the same turns from the same passage).
 */
skipped: number, };

export type ChatRole = "system" | "user" | "assistant";

export type ChatMessage = { 
/**
 * Who speaks.
 */
role: ChatRole, 
/**
 * What is said.
 */
content: string, };

export type ChatParams = { 
/**
 * 0 is greedy.
 */
temperature: number, 
/**
 * Nucleus sampling (1: off).
 */
top_p: number, 
/**
 * Keep the k most likely tokens (0: all).
 */
top_k: number, 
/**
 * Penalty on recently seen tokens (1: off).
 */
repetition_penalty: number, 
/**
 * Most tokens in the reply.
 */
max_tokens: number, 
/**
 * The random seed.
 */
seed: number, };

export type ChatInput = { 
/**
 * `built-in`, or a model file or folder.
 */
model: string, 
/**
 * A PEFT adapter folder (a training run's output) to apply on top of the model.
 */
adapter: string | null, 
/**
 * The conversation so far, ending with the person's message. With no system message the
 * model's template applies its default.
 */
messages: Array<ChatMessage>, 
/**
 * How to sample.
 */
params: ChatParams, 
/**
 * The teacher whose server runs `model` (a Mistral fine-tuned model, `ft:...`); none: a
 * model Grimoire runs itself.
 */
teacher: string | null, };

export type ChatStarted = { 
/**
 * Names the stream, to stop it.
 */
stream_id: number, };

export type ChatEvent = { "type": "loading", 
/**
 * The model.
 */
model: string, } | { "type": "chunk", 
/**
 * The text.
 */
text: string, } | { "type": "done", 
/**
 * The whole reply.
 */
text: string, 
/**
 * `eos`, `stop_string`, `length` or `cancelled`.
 */
finish: string, 
/**
 * Prompt tokens read.
 */
prompt_tokens: number, 
/**
 * Tokens generated.
 */
tokens: number, 
/**
 * Decode speed.
 */
tokens_per_second: number, 
/**
 * Oldest messages left out because the conversation was longer than the context.
 */
dropped_messages: number, } | { "type": "error", 
/**
 * Why.
 */
error: ApiError, };

export type SaveConversationInput = { 
/**
 * The project folder.
 */
project: string, 
/**
 * 0 for a new conversation.
 */
id: number, 
/**
 * The model.
 */
model: string, 
/**
 * The adapter, if any.
 */
adapter: string | null, 
/**
 * The messages.
 */
messages: Array<ChatMessage>, 
/**
 * The sampling settings.
 */
params: ChatParams, };

export type ConversationView = { 
/**
 * Its id.
 */
id: number, 
/**
 * Its title.
 */
title: string, 
/**
 * The model.
 */
model: string, 
/**
 * The adapter, if any.
 */
adapter: string | null, 
/**
 * The messages.
 */
messages: Array<ChatMessage>, 
/**
 * The sampling settings.
 */
params: ChatParams, 
/**
 * When it last changed.
 */
updated_at: string, };

export type ConversationFormat = "jsonl" | "markdown";

export type ExportConversationsInput = { 
/**
 * The project folder.
 */
project: string, 
/**
 * One conversation; none: all of them, oldest first.
 */
id: number | null, 
/**
 * The format.
 */
format: ConversationFormat, 
/**
 * The file to write; none: `exports/conversations.jsonl` (or `.md`) in the project.
 */
out: string | null, };

export type ExportConversationsOutput = { 
/**
 * The file.
 */
file: string, 
/**
 * How many conversations it holds.
 */
conversations: number, };

export type ConversationRef = { 
/**
 * The project folder.
 */
project: string, 
/**
 * The conversation.
 */
id: number, };

export type BlindVoteInput = { 
/**
 * The project folder.
 */
project: string, 
/**
 * The run whose adapter made the tuned reply.
 */
run_id: string, 
/**
 * The reply the person found more in character.
 */
winner: Winner, 
/**
 * The person's message.
 */
prompt: string, 
/**
 * The base model's reply.
 */
base_reply: string, 
/**
 * The tuned reply.
 */
tuned_reply: string, };

export type Winner = "base" | "tuned" | "tie" | "neither";

export type VoteTally = { 
/**
 * Picks of the tuned reply.
 */
tuned: number, 
/**
 * Picks of the base reply.
 */
base: number, 
/**
 * Both equally in character.
 */
tie: number, 
/**
 * Neither in character.
 */
neither: number, };

export type PromptPreset = { 
/**
 * Its name, unique in the project.
 */
name: string, 
/**
 * The system prompt.
 */
prompt: string, };

export type SavePresetInput = { 
/**
 * The project folder.
 */
project: string, 
/**
 * The preset.
 */
preset: PromptPreset, };

export type PresetRef = { 
/**
 * The project folder.
 */
project: string, 
/**
 * The preset's name.
 */
name: string, };

export type ReplyToReviewInput = { 
/**
 * The project folder.
 */
project: string, 
/**
 * The conversation up to and including the reply (which must be the model's).
 */
messages: Array<ChatMessage>, };

export type ListExamplesInput = { 
/**
 * The project folder.
 */
project: string, 
/**
 * Which examples.
 */
filter: ExampleFilter, 
/**
 * In which order.
 */
sort: Sort, 
/**
 * The first row wanted.
 */
offset: number, 
/**
 * How many rows (at most [`MAX_PAGE`]).
 */
limit: number, };

export type GetExampleInput = { 
/**
 * The project folder.
 */
project: string, 
/**
 * The example.
 */
id: number, 
/**
 * The listing it is seen in, to find its neighbours (none: no neighbours).
 */
filter: ExampleFilter | null, 
/**
 * The listing's order.
 */
sort: Sort | null, 
/**
 * Its row in that listing, from 0.
 */
position: number | null, };

export type ExampleDetail = { 
/**
 * The example.
 */
example: Example, 
/**
 * The passages it was drawn from, quotations highlighted (none for imported examples).
 */
passages: Array<Passage>, 
/**
 * The example before it in the listing.
 */
previous: Example | null, 
/**
 * The example after it in the listing.
 */
next: Example | null, };

export type Passage = { 
/**
 * The book.
 */
book_id: number, 
/**
 * Its title.
 */
book_title: string, 
/**
 * The chapter's title, when the passage lies in one.
 */
chapter_title: string | null, 
/**
 * The first character shown, in the book.
 */
start: number, 
/**
 * One past the last character shown.
 */
end: number, 
/**
 * The text, in order.
 */
parts: Array<PassagePart>, };

export type PassagePart = { 
/**
 * The text.
 */
text: string, 
/**
 * Whether the example quotes it.
 */
highlight: boolean, };

export type EditExampleInput = { 
/**
 * The project folder.
 */
project: string, 
/**
 * The example.
 */
id: number, 
/**
 * New turns (flags are computed again).
 */
messages: Array<Message> | null, 
/**
 * A new status.
 */
status: Status | null, 
/**
 * New tags.
 */
tags: Array<string> | null, };

export type BulkInput = { 
/**
 * The project folder.
 */
project: string, 
/**
 * A selection, or everything a filter matches.
 */
target: Target, 
/**
 * What to do to each.
 */
op: BulkOp, };

export type StatsInput = { 
/**
 * The project folder.
 */
project: string, 
/**
 * Over which examples.
 */
filter: ExampleFilter, };

export type ExportInput = { 
/**
 * The project folder.
 */
project: string, 
/**
 * The folder to write into (none: the project's `exports/<timestamp>/`).
 */
out: string | null, 
/**
 * The share held out for validation, 0.1 to 0.2.
 */
val_fraction: number, 
/**
 * The split's seed.
 */
seed: number, 
/**
 * A system prompt for the examples that have none.
 */
system_prompt: string | null, 
/**
 * Count tokens with this model's tokenizer (`built-in`, a GGUF file or a Hugging Face folder);
 * none: one per word, the estimate the grid uses.
 */
tokenizer: string | null, };

export type ExportOutput = { 
/**
 * The folder.
 */
dir: string, 
/**
 * The training file.
 */
train_file: string, 
/**
 * The validation file.
 */
validation_file: string, 
/**
 * Counts, tokens and the approved examples left out.
 */
report: ExportReport, };

export type ImportJsonlInput = { 
/**
 * The project folder.
 */
project: string, 
/**
 * The JSONL file.
 */
file: string, 
/**
 * A tag for every imported example.
 */
tag: string | null, };

export type ImportJsonlOutput = { 
/**
 * Conversations read (blank lines not counted).
 */
lines: number, 
/**
 * Examples added, as pending and of strategy "imported".
 */
imported: number, 
/**
 * Why the other lines were left out.
 */
problems: Array<LineProblem>, };

export type LineProblem = { 
/**
 * The line, from 1.
 */
line: number, 
/**
 * What is wrong, in words.
 */
message: string, };

export type ValidateInput = { 
/**
 * The JSONL file.
 */
file: string, 
/**
 * Count tokens with this model's tokenizer (as in [`ExportInput::tokenizer`]).
 */
tokenizer: string | null, };

export type ValidateOutput = { 
/**
 * Conversations read.
 */
lines: number, 
/**
 * Conversations that break no rule.
 */
valid: number, 
/**
 * Every broken rule, by line.
 */
problems: Array<LineProblem>, 
/**
 * Tokens in the valid conversations.
 */
tokens: number, 
/**
 * The longest valid conversation, in tokens.
 */
max_tokens: number, };

export type ExportReport = { 
/**
 * Lines in `train.jsonl`.
 */
train: number, 
/**
 * Lines in `validation.jsonl`.
 */
validation: number, 
/**
 * Tokens in the training lines.
 */
train_tokens: number, 
/**
 * Tokens in the validation lines.
 */
validation_tokens: number, 
/**
 * Approved examples that would break Mistral's rules.
 */
skipped: Array<Skipped>, };

export type Skipped = { 
/**
 * The example.
 */
id: number, 
/**
 * What Mistral's validator would say about it.
 */
reason: string, };

export type Example = { 
/**
 * Its id.
 */
id: number, 
/**
 * How it was made.
 */
strategy: Strategy, 
/**
 * Where it stands in review.
 */
status: Status, 
/**
 * The character it trains.
 */
persona: string | null, 
/**
 * The turns.
 */
messages: Array<Message>, 
/**
 * Where in the books it comes from.
 */
spans: Array<SourceSpan>, 
/**
 * The book.
 */
book_id: number | null, 
/**
 * The chapter within the book.
 */
chapter: number | null, 
/**
 * The teacher model that wrote it.
 */
teacher: string | null, 
/**
 * The prompt given to the teacher.
 */
prompt: string | null, 
/**
 * Free tags.
 */
tags: Array<string>, 
/**
 * Quality flags.
 */
flags: Array<QualityFlag>, 
/**
 * The example this one duplicates.
 */
duplicate_of: number | null, 
/**
 * Length in tokens.
 */
token_len: number, 
/**
 * The id of its current revision.
 */
revision: number, 
/**
 * When it was made (RFC 3339, UTC).
 */
created_at: string, 
/**
 * When it last changed.
 */
updated_at: string, };

export type ExampleFilter = { 
/**
 * Any of these statuses (empty: any).
 */
status: Array<Status>, 
/**
 * Any of these strategies (empty: any).
 */
strategy: Array<Strategy>, 
/**
 * Carrying any of these flags (empty: flagged or not).
 */
flags: Array<QualityFlag>, 
/**
 * Only examples without any flag.
 */
unflagged: boolean, 
/**
 * From this book.
 */
book_id: number | null, 
/**
 * From this chapter (of `book_id` when set).
 */
chapter: number | null, 
/**
 * Carrying this tag.
 */
tag: string | null, 
/**
 * At least this many tokens.
 */
min_tokens: number | null, 
/**
 * At most this many tokens.
 */
max_tokens: number | null, 
/**
 * Words that must all appear in some turn (full-text search; the last word may be a prefix).
 */
text: string | null, };

export type Message = { 
/**
 * Who speaks.
 */
role: Role, 
/**
 * What is said.
 */
content: string, 
/**
 * Mistral's per-message training weight (0 or 1), kept when an imported file had one.
 */
weight?: number, };

export type Role = "system" | "user" | "assistant";

export type Page = { 
/**
 * How many examples the filter matches in all (for the grid's scroll height).
 */
total: number, 
/**
 * The offset of the first row.
 */
offset: number, 
/**
 * The rows.
 */
rows: Array<Example>, };

export type QualityFlag = "exact_duplicate" | "near_duplicate" | "too_short" | "too_long" | "third_person" | "addressed_by_name" | "narration" | "empty_turn" | "bad_turn_order" | "unsupported_detail" | "longer_than_source" | "meta_talk";

export type Sort = { 
/**
 * The column.
 */
key: SortKey, 
/**
 * Largest first.
 */
descending: boolean, };

export type SortKey = "id" | "status" | "strategy" | "token_len" | "updated_at";

export type SourceSpan = { 
/**
 * The book.
 */
book_id: number, 
/**
 * The first character.
 */
start: number, 
/**
 * One past the last character.
 */
end: number, };

export type Stats = { 
/**
 * Examples matched.
 */
total: number, 
/**
 * By status.
 */
by_status: StatusCounts, 
/**
 * By strategy.
 */
by_strategy: StrategyCounts, 
/**
 * Carrying at least one flag.
 */
flagged: number, 
/**
 * Token lengths in power-of-two buckets (0–15, 16–31, 32–63, ...); empty buckets left out.
 */
histogram: Array<HistogramBucket>, 
/**
 * Approved and free of the flags that Mistral's validator would refuse: what an export writes.
 */
exportable: number, };

export type StatusCounts = { 
/**
 * Not reviewed yet.
 */
pending: number, 
/**
 * Approved.
 */
approved: number, 
/**
 * Rejected.
 */
rejected: number, };

export type StrategyCounts = { 
/**
 * Strategy A.
 */
a: number, 
/**
 * Strategy B.
 */
b: number, 
/**
 * Strategy C.
 */
c: number, 
/**
 * Imported.
 */
imported: number, };

export type HistogramBucket = { 
/**
 * Lowest length in the bucket.
 */
min: number, 
/**
 * One past the highest length.
 */
max: number, 
/**
 * How many examples.
 */
count: number, };

export type Status = "pending" | "approved" | "rejected";

export type Strategy = "A" | "B" | "C" | "imported";

export type Target = { "ids": Array<number> } | { "filter": ExampleFilter };

export type BulkOp = { "set_status": Status } | { "add_tag": string } | { "remove_tag": string };

export type BulkOutcome = { 
/**
 * The action on the undo stack; `None` when nothing needed to change.
 */
action_id: number | null, 
/**
 * How many examples changed (those already in the wanted state are left alone).
 */
changed: number, };

export type Action = { 
/**
 * Its id.
 */
id: number, 
/**
 * `edit` or `bulk`.
 */
kind: string, 
/**
 * What the person did, for the Undo menu ("Approve 1,204 examples").
 */
label: string, 
/**
 * How many examples it changed.
 */
count: number, 
/**
 * Whether it is undone now (and can be redone).
 */
undone: boolean, 
/**
 * When it was done.
 */
created_at: string, };

export type UndoOutcome = { 
/**
 * The action reverted or re-applied.
 */
action: Action, 
/**
 * Examples restored.
 */
restored: number, 
/**
 * Examples left alone because they changed again since (by a later per-example undo, say).
 */
skipped: number, };

export type UndoState = { 
/**
 * The action that undo would revert.
 */
undo: Action | null, 
/**
 * The action that redo would apply again.
 */
redo: Action | null, };

export type TeacherKind = "mistral" | "open_ai_compatible" | "built_in";

export type TeacherConfig = { 
/**
 * Its unique name (`mistral`, `local-vllm`...).
 */
name: string, 
/**
 * What kind of server.
 */
kind: TeacherKind, 
/**
 * The API's base URL including the version (`https://api.mistral.ai/v1`); unused for built-in.
 */
base_url: string, 
/**
 * The model to ask (`mistral-large-latest`; for built-in: `built-in` or a model file).
 */
model: string, 
/**
 * Requests in flight at once.
 */
max_in_flight: number, 
/**
 * Requests per minute (0: no limit).
 */
requests_per_minute: number, 
/**
 * Tokens per minute (0: no limit).
 */
tokens_per_minute: number, 
/**
 * Prices per million tokens, for the cost estimate (0 for local models).
 */
price: Price, 
/**
 * How long one request may take.
 */
timeout_seconds: number, 
/**
 * Most tokens per answer.
 */
max_tokens: number, 
/**
 * Sampling temperature.
 */
temperature: number, 
/**
 * Ask for JSON output (`response_format`); turn off for servers that refuse it.
 */
json_mode: boolean, };

export type TeacherView = { 
/**
 * Its settings.
 */
config: TeacherConfig, 
/**
 * Where its key was found.
 */
key: KeySource, 
/**
 * Whether it cannot work without a key.
 */
needs_key: boolean, 
/**
 * Why the keyring could not be asked, when it could not.
 */
keyring_error: string | null, };

export type TeacherRef = { 
/**
 * Its name.
 */
name: string, };

export type SetTeacherKeyInput = { 
/**
 * The teacher.
 */
name: string, 
/**
 * The key; none removes it from the keyring.
 */
key: string | null, };

export type TestTeacherOutput = { 
/**
 * Whether the server answered with its model list.
 */
ok: boolean, 
/**
 * The models it offers.
 */
models: Array<string>, 
/**
 * Whether the configured model is among them.
 */
model_found: boolean, 
/**
 * The exact error, when it failed.
 */
error: string | null, 
/**
 * How long it took.
 */
millis: number, };

export type KeySource = { "kind": "keyring" } | { "kind": "environment", 
/**
 * Its name.
 */
variable: string, } | { "kind": "none" };

export type Price = { 
/**
 * Per million prompt tokens.
 */
input_per_million: number, 
/**
 * Per million completion tokens.
 */
output_per_million: number, };

export type PromptTemplate = { 
/**
 * `rewrite`, `qa`, or a name of the person's own.
 */
name: string, 
/**
 * Goes up by one each time the text changes.
 */
version: number, 
/**
 * The system message.
 */
system: string, 
/**
 * The user message.
 */
user: string, };

export type TeacherStrategy = "rewrite" | "qa";

export type GenerationOptions = { 
/**
 * B or C.
 */
strategy: TeacherStrategy, 
/**
 * The persona (none: the project's).
 */
persona: string | null, 
/**
 * Question–answer pairs per passage (strategy C).
 */
pairs: number, 
/**
 * The most characters in a passage.
 */
max_chars: number, 
/**
 * Paragraphs with less narration than this many characters are skipped.
 */
min_narration: number, 
/**
 * Only the first N passages (none: all).
 */
limit: number | null, 
/**
 * The prompt template (none: the newest saved one of the strategy, or the default).
 */
prompt: PromptTemplate | null, 
/**
 * A system prompt for every example made.
 */
system_prompt: string | null, };

export type GenerateInput = { 
/**
 * The project folder.
 */
project: string, 
/**
 * The teacher's name.
 */
teacher: string, 
/**
 * How to generate.
 */
options: GenerationOptions, };

export type ListPassagesInput = { 
/**
 * The project folder.
 */
project: string, 
/**
 * Who and how (strategy, persona, sizes; the rest is ignored).
 */
options: GenerationOptions, 
/**
 * The first passage wanted.
 */
offset: number, 
/**
 * How many.
 */
limit: number, };

export type PassageView = { 
/**
 * Its place among the persona's passages.
 */
index: number, 
/**
 * The book.
 */
book_id: number, 
/**
 * Its title.
 */
book_title: string, 
/**
 * The chapter, from 0.
 */
chapter: number, 
/**
 * The chapter's title.
 */
chapter_title: string | null, 
/**
 * The text.
 */
text: string, 
/**
 * Where it lies in the book.
 */
spans: Array<SourceSpan>, };

export type PassageList = { 
/**
 * The page asked for.
 */
passages: Array<PassageView>, 
/**
 * Passages in all.
 */
total: number, };

export type PreviewInput = { 
/**
 * The project folder.
 */
project: string, 
/**
 * The teacher's name.
 */
teacher: string, 
/**
 * How to generate.
 */
options: GenerationOptions, 
/**
 * The passage, by its index in [`Service::list_passages`].
 */
passage: number, };

export type PreviewExample = { 
/**
 * The turns.
 */
messages: Array<Message>, 
/**
 * The flags the review grid would show (duplicates aside).
 */
flags: Array<QualityFlag>, };

export type PreviewOutput = { 
/**
 * The passage.
 */
passage: PassageView, 
/**
 * The prompt as sent.
 */
prompt: Array<Message>, 
/**
 * The teacher's answer, as it came.
 */
raw: string, 
/**
 * The examples it makes.
 */
examples: Array<PreviewExample>, 
/**
 * Why the answer was unusable, when it was.
 */
rejected: string | null, 
/**
 * What was repaired to read it.
 */
repairs: Array<Repair>, 
/**
 * Prompt tokens.
 */
prompt_tokens: number, 
/**
 * Completion tokens.
 */
completion_tokens: number, 
/**
 * The estimated cost.
 */
cost: number, 
/**
 * Whether the answer came from the cache (a generation will not pay for this passage again).
 */
cached: boolean, };

export type GenerationEstimate = { 
/**
 * Passages the job would take.
 */
passages: number, 
/**
 * Of them, already answered in the cache (a preview, an earlier job): not asked or paid again.
 */
cached: number, 
/**
 * Prompt tokens of the passages still to ask (four characters a token).
 */
prompt_tokens: number, 
/**
 * Answer tokens expected: a retelling about as long as its passage, or the asked QA pairs.
 */
completion_tokens_expected: number, 
/**
 * Answer tokens at most: the teacher's `max_tokens` for every request.
 */
completion_tokens_max: number, 
/**
 * The expected cost at the teacher's prices (0 for a local model or no prices set).
 */
cost_expected: number, 
/**
 * The cost if every answer ran to `max_tokens`.
 */
cost_max: number, 
/**
 * The least time the teacher's rate limits allow, when it has any.
 */
min_seconds: number | null, };

export type Repair = "fenced" | "text_before" | "text_after" | "truncated" | "syntax" | "incomplete_items" | "too_many";

export type GenerationRef = { 
/**
 * The project folder.
 */
project: string, 
/**
 * The job.
 */
job_id: number, };

export type GenerationStatus = { 
/**
 * The job row.
 */
job: Job, 
/**
 * Counts over its passages, as stored.
 */
totals: ItemTotals, 
/**
 * The estimated cost so far.
 */
cost: number, 
/**
 * The running job's latest progress (ETA, retries), while it runs in this process.
 */
live: GenerationProgress | null, };

export type GenerationProgress = { 
/**
 * Passages finished (answered, rejected or failed).
 */
done: number, 
/**
 * Passages in all.
 */
total: number, 
/**
 * Passages that made examples.
 */
accepted: number, 
/**
 * Passages whose answer was unusable.
 */
rejected: number, 
/**
 * Passages whose requests failed.
 */
failed: number, 
/**
 * Examples made.
 */
examples: number, 
/**
 * Passages answered from the cache.
 */
cached: number, 
/**
 * Prompt tokens paid for.
 */
prompt_tokens: number, 
/**
 * Completion tokens paid for.
 */
completion_tokens: number, 
/**
 * The estimated cost of those tokens.
 */
cost: number, 
/**
 * Requests that were retried.
 */
retries: number, 
/**
 * Seconds since this run started.
 */
elapsed_seconds: number, 
/**
 * Seconds left at the current pace, once there is one.
 */
eta_seconds: number | null, };

export type GenerationItemsInput = { 
/**
 * The project folder.
 */
project: string, 
/**
 * The job.
 */
job_id: number, 
/**
 * Only items in these states (all when empty).
 */
states: Array<ItemState>, };

export type GenerationItem = { 
/**
 * The job.
 */
job_id: number, 
/**
 * Its place in the job's work list.
 */
idx: number, 
/**
 * The passage, as JSON owned by the service layer.
 */
passage: string, 
/**
 * The key of the request in `teacher_cache`.
 */
cache_key: string, 
/**
 * Where it stands.
 */
state: ItemState, 
/**
 * How many examples it made.
 */
examples: number, 
/**
 * Why it was rejected or failed.
 */
reason: string | null, 
/**
 * Prompt tokens paid for it (0 when answered from the cache).
 */
prompt_tokens: number, 
/**
 * Completion tokens paid for it.
 */
completion_tokens: number, 
/**
 * Whether the answer came from the cache.
 */
cached: boolean, 
/**
 * How many requests it took.
 */
attempts: number, };

export type ItemState = "pending" | "done" | "rejected" | "failed";

export type ItemTotals = { 
/**
 * Passages in all.
 */
total: number, 
/**
 * Still to ask.
 */
pending: number, 
/**
 * Answered with examples.
 */
done: number, 
/**
 * Answered unusably.
 */
rejected: number, 
/**
 * Failed after retries.
 */
failed: number, 
/**
 * Examples made.
 */
examples: number, 
/**
 * Prompt tokens paid.
 */
prompt_tokens: number, 
/**
 * Completion tokens paid.
 */
completion_tokens: number, 
/**
 * Passages answered from the cache.
 */
cached: number, };

export type AxolotlInput = { 
/**
 * The project folder.
 */
project: string, 
/**
 * Take the data and settings of this training run (none: the latest export and `config`).
 */
run_id: string | null, 
/**
 * Settings when no run is named (none: the `cpu-small` preset's, which suit small models).
 */
config: TrainConfig | null, 
/**
 * The base model as Hugging Face names it (none: the built-in model's id).
 */
base_model: string | null, 
/**
 * Several GPUs, and how.
 */
multi_gpu: MultiGpu, 
/**
 * The folder to write (none: `exports/axolotl-<time>/`).
 */
out: string | null, };

export type AxolotlOutput = { 
/**
 * The folder.
 */
dir: string, 
/**
 * Its `config.yml`.
 */
config: string, 
/**
 * The command that runs it.
 */
command: string, };

export type MultiGpu = "none" | "deepspeed" | "fsdp";

export type GgufType = "base" | "q8_0" | "f16";

export type GgufExportInput = { 
/**
 * The project folder.
 */
project: string, 
/**
 * The run whose adapter is merged.
 */
run_id: string, 
/**
 * Storage type of the weights (default: the base's own, Q4_1 for the built-in model).
 */
quantization: GgufType, 
/**
 * The system prompt for the Modelfile (none: the one the run was trained with).
 */
system_prompt: string | null, 
/**
 * The folder to write (none: `exports/gguf-<run>-<type>/`).
 */
out: string | null, };

export type GgufExportOutput = { 
/**
 * The folder.
 */
dir: string, 
/**
 * The GGUF file.
 */
gguf: string, 
/**
 * The Ollama Modelfile beside it.
 */
modelfile: string, 
/**
 * The GGUF's size in bytes.
 */
bytes: number, 
/**
 * Storage type of the projections (`Q4_1`, `Q8_0`, `F16`).
 */
weights: string, 
/**
 * The command that makes it an Ollama model.
 */
command: string, };

export type AdapterExportInput = { 
/**
 * The project folder.
 */
project: string, 
/**
 * The run.
 */
run_id: string, 
/**
 * The base model as Hugging Face names it (none: the built-in model's id; required for
 * another base).
 */
base_model: string | null, 
/**
 * The folder to write (none: `exports/adapter-<run>/`).
 */
out: string | null, };

export type AdapterExportOutput = { 
/**
 * The folder: `adapter_model.safetensors`, `adapter_config.json`, `README.md`.
 */
dir: string, 
/**
 * The model card.
 */
readme: string, };

export type TrainPreset = { 
/**
 * Its name (`cpu-small`, …).
 */
name: string, 
/**
 * What it is for.
 */
description: string, 
/**
 * The settings.
 */
config: TrainConfig, };

export type TrainInput = { 
/**
 * The project folder.
 */
project: string, 
/**
 * `built-in`, or a GGUF file or Hugging Face folder.
 */
base: string, 
/**
 * A folder with `train.jsonl` (and `validation.jsonl`); none: the project's latest export.
 */
data: string | null, 
/**
 * A preset to start from (none: the one that suits the base model).
 */
preset: string | null, 
/**
 * Settings that replace the preset's entirely, when given.
 */
config: TrainConfig | null, };

export type TrainPlan = { 
/**
 * The base model file or folder.
 */
base_path: string, 
/**
 * The data folder.
 */
data_dir: string, 
/**
 * The settings.
 */
config: TrainConfig, 
/**
 * The data as the model's tokenizer and template see it.
 */
data: DataStats, 
/**
 * Time and memory on this machine.
 */
estimate: Estimate, };

export type RunRef = { 
/**
 * The project folder.
 */
project: string, 
/**
 * The run's folder name under `runs/`.
 */
run_id: string, };

export type RunState = "running" | "completed" | "early_stopped" | "stopped" | "failed";

export type RunView = { 
/**
 * Its folder name under `runs/`.
 */
run_id: string, 
/**
 * Its folder.
 */
dir: string, 
/**
 * The job that ran it last.
 */
job_id: number | null, 
/**
 * When it was created.
 */
created_at: string, 
/**
 * The base model.
 */
base: string, 
/**
 * Where it stands.
 */
state: RunState, 
/**
 * Why its job failed, when it did.
 */
error: string | null, 
/**
 * Steps done.
 */
step: number, 
/**
 * Steps planned.
 */
total_steps: number, 
/**
 * Latest training loss.
 */
train_loss: number | null, 
/**
 * Latest validation loss.
 */
val_loss: number | null, 
/**
 * Best validation loss.
 */
best_val_loss: number | null, 
/**
 * Whether its PEFT adapter has been written (chat and merge can use it).
 */
has_adapter: boolean, 
/**
 * The settings.
 */
config: TrainConfig, 
/**
 * The run this one is the control of (trained on the other characters' lines).
 */
control_for: string | null, 
/**
 * Whether an evaluation report exists.
 */
has_report: boolean, };

export type RunDetail = { 
/**
 * The run.
 */
run: RunView, 
/**
 * Every step and validation recorded so far.
 */
metrics: Array<Metric>, 
/**
 * The loss plot (PNG), once written.
 */
plot: string | null, 
/**
 * The summary, once the run has ended at least once.
 */
summary: RunSummary | null, };

export type MergeInput = { 
/**
 * The project folder.
 */
project: string, 
/**
 * The run.
 */
run_id: string, 
/**
 * Where to write the merged model (none: `<run>/merged`).
 */
out: string | null, };

export type MergeOutput = { 
/**
 * The Hugging Face folder (safetensors, config, tokenizer).
 */
out: string, };

export type TrainConfig = { 
/**
 * LoRA settings.
 */
lora: LoraConfig, 
/**
 * Passes over the training set.
 */
epochs: number, 
/**
 * Stop after this many optimizer steps, if set (overrides `epochs` when smaller).
 */
max_steps: number | null, 
/**
 * Sequences per micro-batch (grouped by length).
 */
batch_size: number, 
/**
 * Micro-batches per optimizer step.
 */
grad_accum: number, 
/**
 * Longest sequence in tokens; longer examples lose user text from the left.
 */
max_seq_len: number, 
/**
 * Peak learning rate.
 */
learning_rate: number, 
/**
 * Floor of the decay, as a fraction of the peak.
 */
min_lr_ratio: number, 
/**
 * Decoupled weight decay (AdamW) on the LoRA matrices.
 */
weight_decay: number, 
/**
 * Adam β₁.
 */
beta1: number, 
/**
 * Adam β₂.
 */
beta2: number, 
/**
 * Adam ε.
 */
eps: number, 
/**
 * Warm-up as a fraction of all steps (used when `warmup_steps` is not set).
 */
warmup_ratio: number, 
/**
 * Warm-up steps.
 */
warmup_steps: number | null, 
/**
 * Decay after warm-up.
 */
schedule: Schedule, 
/**
 * Clip the global gradient norm to this (0 turns clipping off).
 */
max_grad_norm: number, 
/**
 * Recompute each layer's activations in the backward pass instead of keeping them.
 */
activation_checkpointing: boolean, 
/**
 * Validation loss every this many steps (0: only at the end).
 */
eval_every: number, 
/**
 * Stop when the validation loss has not improved for this many evaluations.
 */
early_stopping_patience: number | null, 
/**
 * Smallest decrease of the validation loss that counts as an improvement.
 */
early_stopping_min_delta: number, 
/**
 * Write the adapter of the best validation loss rather than the last step's.
 */
keep_best: boolean, 
/**
 * Resumable checkpoint every this many steps (and on cancel).
 */
checkpoint_every: number, 
/**
 * Seed for LoRA initialisation, data order and dropout.
 */
seed: number, 
/**
 * How to hold the frozen base.
 */
base_format: BaseFormat, };

export type LoraConfig = { 
/**
 * Rank.
 */
r: number, 
/**
 * Scaling numerator: the update is `alpha / r · B A` (or `alpha / √r` with rsLoRA).
 */
alpha: number, 
/**
 * Dropout on the LoRA branch's input, during training only.
 */
dropout: number, 
/**
 * Scale by `alpha / √r` instead of `alpha / r`.
 */
use_rslora: boolean, 
/**
 * Projections to adapt.
 */
targets: Array<LoraTarget>, };

export type LoraTarget = "q_proj" | "k_proj" | "v_proj" | "o_proj" | "gate_proj" | "up_proj" | "down_proj";

export type Schedule = "cosine" | "linear" | "constant";

export type BaseFormat = "auto" | "q4_0" | "q4_1" | "q8_0" | "f32";

export type DataStats = { 
/**
 * Training examples kept.
 */
train_examples: number, 
/**
 * Validation examples kept.
 */
validation_examples: number, 
/**
 * Tokens in the training examples.
 */
train_tokens: number, 
/**
 * Trained (assistant) tokens in the training examples.
 */
trained_tokens: number, 
/**
 * Training examples whose user text was cut.
 */
truncated: number, 
/**
 * Training examples dropped because nothing in them is trained.
 */
dropped: number, };

export type Estimate = { 
/**
 * Optimizer steps.
 */
total_steps: number, 
/**
 * Tokens per second.
 */
tokens_per_s: number, 
/**
 * Seconds per optimizer step.
 */
seconds_per_step: number, 
/**
 * Seconds for the run (training plus validation passes).
 */
seconds: number, 
/**
 * Peak resident memory, bytes.
 */
peak_memory_bytes: number, 
/**
 * LoRA parameters trained.
 */
trainable_params: number, };

export type Metric = { "kind": "train", 
/**
 * Steps done (1-based).
 */
step: number, 
/**
 * Epochs done, fractional.
 */
epoch: number, 
/**
 * Mean loss per trained token in this step.
 */
loss: number, 
/**
 * Learning rate used.
 */
lr: number, 
/**
 * Gradient norm before clipping.
 */
grad_norm: number, 
/**
 * Tokens (padding excluded) in this step.
 */
tokens: number, 
/**
 * Tokens per second in this step.
 */
tokens_per_s: number, 
/**
 * Seconds since the run started (across resumptions).
 */
elapsed_s: number, 
/**
 * Peak resident memory, MB.
 */
peak_rss_mb: number, } | { "kind": "eval", 
/**
 * Steps done.
 */
step: number, 
/**
 * Epochs done, fractional.
 */
epoch: number, 
/**
 * Mean loss per trained token over the validation set.
 */
val_loss: number, };

export type RunSummary = { 
/**
 * How it ended.
 */
status: RunStatus, 
/**
 * Steps done.
 */
steps: number, 
/**
 * Steps planned.
 */
total_steps: number, 
/**
 * Last step's training loss.
 */
train_loss: number | null, 
/**
 * Last validation loss.
 */
val_loss: number | null, 
/**
 * Best validation loss.
 */
best_val_loss: number | null, 
/**
 * Step of the best validation loss.
 */
best_step: number | null, 
/**
 * Seconds of training (across resumptions).
 */
elapsed_s: number, 
/**
 * LoRA parameters trained.
 */
trainable_params: number, 
/**
 * The data set.
 */
data: DataStats, 
/**
 * The run folder; it holds the PEFT adapter once the run is not cancelled.
 */
run_dir: string, };

export type RunStatus = "completed" | "early_stopped" | "cancelled";

export type EvaluateRunInput = { 
/**
 * The project folder.
 */
project: string, 
/**
 * The run's folder name under `runs/`.
 */
run_id: string, 
/**
 * The control run's folder name; none: a run marked `control.json` with
 * `{"control_for": run_id}`, if there is one.
 */
control_run_id: string | null, 
/**
 * How much to evaluate (prompts, reply length).
 */
options: EvalOptions, 
/**
 * A teacher to grade the replies as judge (optional; its figures are marked as a teacher
 * model's opinion).
 */
judge: string | null, };

export type JudgeRunInput = { 
/**
 * The project folder.
 */
project: string, 
/**
 * The run's folder name under `runs/`.
 */
run_id: string, 
/**
 * The teacher that judges.
 */
teacher: string, };

export type EvalOptions = { 
/**
 * Validation prompts each model answers (the first ones of `validation.jsonl`).
 */
max_prompts: number, 
/**
 * Most tokens per generated reply (greedy decoding).
 */
max_tokens: number, 
/**
 * Sequences per batch when scoring the loss.
 */
batch_size: number, 
/**
 * Signature words listed and counted.
 */
signature_words: number, };

export type EvalReport = { 
/**
 * The run id (its folder's name).
 */
run: string, 
/**
 * The persona.
 */
persona: string, 
/**
 * The base model file or folder.
 */
base_model: string, 
/**
 * When it was evaluated (seconds since 1970).
 */
evaluated_at: number, 
/**
 * The settings used.
 */
options: EvalOptions, 
/**
 * Losses on the run's validation set.
 */
losses: Losses, 
/**
 * The control run.
 */
control: ControlInfo, 
/**
 * The persona classifier's held-out accuracy on the books' dialogue.
 */
classifier: ClassifierReport, 
/**
 * Classifier scores of each model's replies to the validation prompts, canon first.
 */
persona_scores: Array<PersonaScore>, 
/**
 * Style figures per model, canon first.
 */
style: Array<ModelStyle>, 
/**
 * The persona's signature words in the books.
 */
signature_words: Array<SignatureWord>, 
/**
 * The prompts and replies.
 */
samples: Array<EvalSample>, 
/**
 * A teacher model's grades, when a judge was given.
 */
judge: JudgeReport | null, 
/**
 * Plots saved beside `report.json`.
 */
plots: Array<PlotFile>, 
/**
 * This and the other evaluated runs of the project, by run id.
 */
compare: Array<RunComparison>, };

export type Losses = { 
/**
 * The base model.
 */
base: LossFigures, 
/**
 * The tuned model.
 */
tuned: LossFigures, 
/**
 * The control adapter, when there is a control run.
 */
control: LossFigures | null, 
/**
 * Tuned perplexity ÷ base perplexity (below 1: the run learnt something).
 */
tuned_over_base: number, 
/**
 * Tuned perplexity ÷ control perplexity (below 1: it learnt the persona, not only the
 * books' voice).
 */
tuned_over_control: number | null, };

export type LossFigures = { 
/**
 * Mean cross-entropy per trained token, in nats.
 */
loss: number, 
/**
 * `exp(loss)`.
 */
perplexity: number, 
/**
 * Trained tokens scored.
 */
tokens: number, 
/**
 * Conversations scored.
 */
examples: number, };

export type ControlInfo = { 
/**
 * The control run's id, when one was found.
 */
run: string | null, 
/**
 * What it means, or how to make one.
 */
note: string, };

export type ClassifierReport = { 
/**
 * Persona lines (each held out once).
 */
persona_lines: number, 
/**
 * Other characters' lines (each held out once).
 */
other_lines: number, 
/**
 * Cross-validation folds.
 */
folds: number, 
/**
 * Share of held-out lines classified right.
 */
accuracy: number, 
/**
 * Mean of the two recalls (0.5 is chance whatever the class balance).
 */
balanced_accuracy: number, 
/**
 * Held-out persona lines judged to be the persona.
 */
persona_recall: number, 
/**
 * Held-out other lines judged not to be the persona.
 */
other_recall: number, };

export type PersonaScore = { 
/**
 * The model.
 */
model: ModelKind, 
/**
 * Replies scored.
 */
replies: number, 
/**
 * Share judged to be the persona (probability over 0.5).
 */
judged_persona: number, 
/**
 * Mean probability of being the persona.
 */
mean_probability: number, };

export type ModelKind = "canon" | "base" | "tuned" | "control";

export type ModelStyle = { 
/**
 * The model.
 */
model: ModelKind, 
/**
 * Its figures.
 */
figures: StyleFigures, };

export type StyleFigures = { 
/**
 * Replies measured.
 */
replies: number, 
/**
 * Mean words per reply.
 */
mean_words: number, 
/**
 * Mean words of the canon replies to the same prompts (the reference).
 */
canon_mean_words: number, 
/**
 * Distinct words over all words of the replies.
 */
type_token_ratio: number, 
/**
 * Jaccard overlap of the replies' vocabulary with the canon replies' vocabulary.
 */
vocab_jaccard: number, 
/**
 * Mean over prompts of the share of the canon reply's distinct words the reply also uses.
 */
canon_word_recall: number, 
/**
 * Share of the replies' words that the persona uses somewhere in the books.
 */
in_persona_vocab: number, 
/**
 * Signature words per 100 words of the replies.
 */
signature_per_100: number, };

export type SignatureWord = { 
/**
 * The word, lower-cased.
 */
word: string, 
/**
 * Log-odds ratio divided by its standard deviation.
 */
z: number, 
/**
 * Times the persona says it.
 */
persona_count: number, 
/**
 * Times the others say it.
 */
other_count: number, };

export type EvalSample = { 
/**
 * The last user turn.
 */
prompt: string, 
/**
 * The book's reply.
 */
canon: string, 
/**
 * The base model's.
 */
base: string, 
/**
 * The tuned model's.
 */
tuned: string, 
/**
 * The control adapter's.
 */
control: string | null, };

export type JudgeReport = { 
/**
 * The judging teacher and model (`name (model)`).
 */
judge: string, 
/**
 * Always true: these figures come from a model's judgement.
 */
by_teacher_model: boolean, 
/**
 * Mean grades per model, in the samples' order (base, tuned, control).
 */
means: Array<JudgeMean>, 
/**
 * Every reply's verdict.
 */
replies: Array<JudgedReply>, };

export type JudgeScore = { 
/**
 * Does it sound like the persona?
 */
voice: number, 
/**
 * Does it know what the persona knows at that point?
 */
knowledge: number, 
/**
 * Is it consistent with the conversation and the character?
 */
consistency: number, };

export type JudgeMean = { 
/**
 * The model.
 */
model: ModelKind, 
/**
 * Replies the judge graded.
 */
judged: number, 
/**
 * Replies left unjudged (see [`JudgedReply::unjudged`]).
 */
unjudged: number, 
/**
 * Mean grades of the judged replies; none when no reply was judged.
 */
mean: JudgeScore | null, };

export type JudgedReply = { 
/**
 * The model that replied.
 */
model: ModelKind, 
/**
 * Index into the report's samples.
 */
sample: number, 
/**
 * The grades, when the judge gave valid ones.
 */
score: JudgeScore | null, 
/**
 * Why there are none (a garbled answer, a refused request...).
 */
unjudged: string | null, };

export type PlotFile = { 
/**
 * File name inside the run's `eval/` folder.
 */
file: string, 
/**
 * What it shows (the plots carry no text).
 */
shows: string, };

export type RunComparison = { 
/**
 * The run id.
 */
run: string, 
/**
 * Base perplexity.
 */
base_perplexity: number, 
/**
 * Tuned perplexity.
 */
tuned_perplexity: number, 
/**
 * Control perplexity.
 */
control_perplexity: number | null, 
/**
 * Share of tuned replies judged to be the persona.
 */
tuned_persona: number, 
/**
 * When it was evaluated (seconds since 1970).
 */
evaluated_at: number, };

export type MistralEstimateInput = { 
/**
 * The project folder.
 */
project: string, 
/**
 * A folder with `train.jsonl` (and `validation.jsonl`); none: the project's latest export.
 */
data: string | null, 
/**
 * The base model (`open-mistral-7b`, `mistral-small-latest`...).
 */
model: string, 
/**
 * Hyper-parameters (epochs matter for the cost).
 */
hyperparameters: MistralHyperparameters, 
/**
 * Count tokens with this model's tokenizer; none: words × 1.3.
 */
tokenizer: string | null, };

export type MistralEstimate = { 
/**
 * The data folder.
 */
data_dir: string, 
/**
 * The training file.
 */
train_file: string, 
/**
 * The validation file, when there is one with conversations.
 */
validation_file: string | null, 
/**
 * The training file checked against Mistral's rules.
 */
train: ValidateOutput, 
/**
 * The validation file checked.
 */
validation: ValidateOutput | null, 
/**
 * Whether both files break no rule (nothing is uploaded otherwise).
 */
ready: boolean, 
/**
 * Tokens in the training file.
 */
train_tokens: number, 
/**
 * How they were counted.
 */
counted_with: string, 
/**
 * Passes over the data the cost assumes (none when the job is set by steps).
 */
epochs: number | null, 
/**
 * Tokens to be billed: training tokens × epochs.
 */
billed_tokens: number | null, 
/**
 * The price per million trained tokens, from the table.
 */
price_per_million: number | null, 
/**
 * The monthly fee for keeping the tuned model.
 */
monthly_storage: number | null, 
/**
 * The estimated training cost.
 */
cost: number | null, 
/**
 * The currency of the prices.
 */
currency: string, 
/**
 * When the price table was read.
 */
prices_as_of: string, 
/**
 * Where it comes from.
 */
price_source: string, 
/**
 * What the estimate leaves out, in words.
 */
note: string, };

export type MistralCreateInput = { 
/**
 * The project folder.
 */
project: string, 
/**
 * The teacher (kind Mistral) whose address and key to use.
 */
teacher: string, 
/**
 * A folder with `train.jsonl` (and `validation.jsonl`); none: the project's latest export.
 */
data: string | null, 
/**
 * The base model.
 */
model: string, 
/**
 * Hyper-parameters.
 */
hyperparameters: MistralHyperparameters, 
/**
 * Appended to the tuned model's id.
 */
suffix: string | null, 
/**
 * Start training as soon as Mistral has validated the data; off: wait for a start.
 */
auto_start: boolean, 
/**
 * Count tokens for the estimate with this model's tokenizer.
 */
tokenizer: string | null, };

export type MistralJobRef = { 
/**
 * The project folder.
 */
project: string, 
/**
 * Mistral's job id.
 */
job_id: string, };

export type MistralListInput = { 
/**
 * The project folder.
 */
project: string, 
/**
 * Ask Mistral for the jobs' statuses first (`GET /fine_tuning/jobs`); off: as stored.
 */
refresh: boolean, };

export type MistralJobList = { 
/**
 * Newest first.
 */
jobs: Array<MistralJobView>, 
/**
 * Why Mistral could not be asked, when a refresh failed (the list is then as stored).
 */
refresh_error: string | null, };

export type MistralJobView = { 
/**
 * Mistral's job id.
 */
id: string, 
/**
 * The teacher that reaches it.
 */
teacher: string, 
/**
 * The base model.
 */
model: string, 
/**
 * Where it stands.
 */
status: MistralStatus, 
/**
 * The tuned model's id, once it succeeded: a chat model through the teacher.
 */
fine_tuned_model: string | null, 
/**
 * The suffix of that id.
 */
suffix: string | null, 
/**
 * Whether it starts by itself after validation.
 */
auto_start: boolean, 
/**
 * The folder its data came from.
 */
data_dir: string, 
/**
 * Its hyper-parameters.
 */
hyperparameters: MistralHyperparameters, 
/**
 * What happened to it.
 */
events: Array<MistralEvent>, 
/**
 * Its checkpoints' losses, for the curves.
 */
checkpoints: Array<MistralCheckpoint>, 
/**
 * The estimate shown before it was created.
 */
estimate: MistralEstimate | null, 
/**
 * Mistral's own estimate once it has read the data (cost, tokens, duration).
 */
metadata: MistralMetadata | null, 
/**
 * Why it cannot be followed now, when it cannot.
 */
error: string | null, 
/**
 * Whether a local job follows it now.
 */
following: boolean, 
/**
 * The local job that follows (or followed) it.
 */
follow_job: number | null, 
/**
 * When it was created here.
 */
created_at: string, 
/**
 * When it last changed here.
 */
updated_at: string, };

export type MistralHyperparameters = { 
/**
 * Optimizer steps (Mistral counts a step as one batch of its own size).
 */
training_steps: number | null, 
/**
 * Passes over the training data (instead of steps).
 */
epochs: number | null, 
/**
 * Peak learning rate.
 */
learning_rate: number | null, 
/**
 * Weight decay.
 */
weight_decay: number | null, 
/**
 * The share of steps that warm the learning rate up.
 */
warmup_fraction: number | null, 
/**
 * Longest sequence, in tokens.
 */
seq_len: number | null, };

export type MistralStatus = "QUEUED" | "STARTED" | "VALIDATING" | "VALIDATED" | "RUNNING" | "FAILED_VALIDATION" | "FAILED" | "SUCCESS" | "CANCELLED" | "CANCELLATION_REQUESTED" | "UNKNOWN";

export type MistralEvent = { 
/**
 * What (`status-updated`...).
 */
name: string, 
/**
 * What it says, in words (the new status, or the error).
 */
message: string, 
/**
 * When, in seconds since 1970.
 */
created_at: number, };

export type MistralCheckpoint = { 
/**
 * The step it was taken at.
 */
step: number, 
/**
 * Training loss.
 */
train_loss: number | null, 
/**
 * Validation loss.
 */
valid_loss: number | null, 
/**
 * Share of validation tokens predicted right.
 */
valid_mean_token_accuracy: number | null, 
/**
 * When, in seconds since 1970.
 */
created_at: number, };

export type MistralMetadata = { 
/**
 * Its price for the training.
 */
cost: number | null, 
/**
 * The currency of `cost`.
 */
cost_currency: string | null, 
/**
 * Tokens trained on in all.
 */
train_tokens: number | null, 
/**
 * Tokens per step.
 */
train_tokens_per_step: number | null, 
/**
 * Tokens in the data.
 */
data_tokens: number | null, 
/**
 * How long the training should take, in seconds.
 */
expected_duration_seconds: number | null, };
