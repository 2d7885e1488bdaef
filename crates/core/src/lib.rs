//! The service layer of Grimoire.
//!
//! Every capability the desktop app and the `grimoire` CLI offer is a method of [`Service`] with an
//! `…Input` and an output type; both transports are thin callers of it, so nothing is implemented
//! twice. Long work runs as jobs ([`jobs`]) that publish typed events and record their state in the
//! project's database. Errors cross the IPC boundary as [`ApiError`] `{ code, message }`.

pub mod bindings;
mod chat;
mod compare;
mod config;
mod corpus;
mod error;
mod eval;
mod generation;
mod handoff;
mod import;
pub mod jobs;
mod judge;
pub mod managed;
pub mod models;
mod project;
mod publish;
mod review;
mod roster;
mod service;
mod teachers;
mod train;

pub use corpus::{ExtractOptions, ExtractResult, analyse_file};
pub use grimoire_corpus::{CharacterRecord, QuoteRecord};
pub use chat::{
    ChatEvent, ChatInput, ChatMessage, ChatParams, ChatRole, ChatSink, ChatStarted, ConversationFormat, ConversationRef, ConversationView,
    ExportConversationsInput, ExportConversationsOutput, SaveConversationInput,
};
pub use compare::{BlindVoteInput, CHAT_TAG, PresetRef, ReplyToReviewInput, SavePresetInput};
pub use grimoire_store::table::compare::{PromptPreset, VoteTally, Winner};
pub use config::{Dirs, RecentProject, Settings, Theme};
pub use error::{ApiError, Error, ErrorCode, Result};
pub use import::{ImportResult, MAX_BOOK_BYTES};
pub use jobs::{CancelToken, EventSink, JobEvent, JobEventKind};
pub use models::{InstallOutcome, ModelEntry, ModelStatus};
pub use project::ProjectInfo;
pub use roster::{IgnoreCharacterInput, ReorderBooksInput};
pub use service::{
    AppInfo, CancelJobInput, ChapterRef, ChapterView, CorrectSpeakerInput, CreateProjectInput, ExtractInput, ImportBooksInput, JobStarted,
    MergeCharactersInput, OpenAtStart, ProjectRef, RenameCharacterInput, Service, SetPersonaInput, SplitCharacterInput, Startup,
};

pub use grimoire_store::table::corpus::{StoredChapter, StoredCharacter, StoredQuote};
pub use grimoire_store::{BookSummary, Job, JobStatus};
pub use teachers::{
    BUILTIN_TEACHER, GenerateInput, GenerationItemsInput, GenerationOptions, GenerationRef, GenerationStatus, ListPassagesInput, PassageList,
    PassageView, PreviewExample, PreviewInput, PreviewOutput, GenerationEstimate, SetTeacherKeyInput, TeacherConfig, TeacherKind, TeacherRef, TeacherStrategy,
    TeacherView, TestTeacherOutput,
};
pub use grimoire_store::table::generation::{GenerationItem, ItemState, ItemTotals};
pub use grimoire_teacher::{KeySource, Price, Progress as GenerationProgress, PromptTemplate, Repair};
pub use eval::{EvaluateRunInput, JudgeRunInput};
pub use grimoire_eval::{
    ClassifierReport, ControlInfo, EvalOptions, EvalReport, JudgeMean, JudgeReport, JudgeScore, JudgedReply, LossFigures, Losses, ModelKind, ModelStyle, PersonaScore,
    PlotFile, RunComparison, Sample, SignatureWord, StyleFigures,
};
pub use managed::{MistralCreateInput, MistralEstimate, MistralEstimateInput, MistralJobList, MistralJobRef, MistralJobView, MistralListInput};
pub use grimoire_teacher::finetune::{Checkpoint as MistralCheckpoint, Hyperparameters as MistralHyperparameters, JobEvent as MistralEvent, JobMetadata as MistralMetadata, JobStatus as MistralStatus};
pub use grimoire_teacher::RetryPolicy;
pub use handoff::{AxolotlInput, AxolotlOutput, BUILTIN_HF_ID, MultiGpu};
pub use publish::{AdapterExportInput, AdapterExportOutput, GgufExportInput, GgufExportOutput};
pub use train::{MergeInput, MergeOutput, RunDetail, RunRef, RunState, RunView, TrainInput, TrainPlan, TrainPreset};
pub use grimoire_train::{
    BaseFormat, DataStats, Estimate, GgufType, LoraConfig, Metric, Progress as TrainProgress, RunStatus, RunSummary, Schedule,
    Target as LoraTarget, TrainConfig,
};
pub use review::{
    LengthUnit,
    BulkInput, EditExampleInput, ExampleDetail, ExportInput, ExportOutput, GetExampleInput, ImportJsonlInput, ImportJsonlOutput, LineProblem,
    ListExamplesInput, MAX_PAGE, Passage, PassagePart, StatsInput, ValidateInput, ValidateOutput, parse_filter,
};
pub use grimoire_dataset::{ExportReport, Skipped};
pub use grimoire_store::table::examples::{
    Action, BulkOp, BulkOutcome, Example, ExampleFilter, HistogramBucket, Message, Page, QualityFlag, Role, Sort, SortKey, SourceSpan,
    Stats, Status, StatusCounts, Strategy, StrategyCounts, Target, UndoOutcome, UndoState,
};
