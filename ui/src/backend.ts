// The one interface between the UI and the backend: `invoke` and `listen`. The Tauri implementation
// is the only one today; tests in a plain browser could provide another.
import { Channel, invoke as tauriInvoke } from "@tauri-apps/api/core";
import { listen as tauriListen } from "@tauri-apps/api/event";
import type {
  ApiError,
  AppInfo,
  BookSummary,
  CancelJobInput,
  ChatEvent,
  ChatInput,
  ChatStarted,
  ConversationRef,
  ConversationView,
  ExportConversationsInput,
  ExportConversationsOutput,
  SaveConversationInput,
  ChapterRef,
  ChapterView,
  CorrectSpeakerInput,
  CreateProjectInput,
  ExtractInput,
  MergeCharactersInput,
  RenameCharacterInput,
  SetPersonaInput,
  SplitCharacterInput,
  StoredCharacter,
  ImportBooksInput,
  Job,
  JobEvent,
  JobStarted,
  ModelEntry,
  ProjectInfo,
  ProjectRef,
  RecentProject,
  Settings,
  Startup,
} from "./generated/types";
import type * as T from "./generated/types";

export interface Backend {
  invoke<R>(command: string, args?: Record<string, unknown>): Promise<R>;
  listen<E>(event: string, handler: (payload: E) => void): Promise<() => void>;
}

const tauriBackend: Backend = {
  invoke: (command, args) => tauriInvoke(command, args),
  listen: async (event, handler) => tauriListen(event, (e) => handler(e.payload as never)),
};

let backend: Backend = tauriBackend;

/** Replaces the backend (for tests outside the app window). */
export function setBackend(b: Backend) {
  backend = b;
}

/** Turns whatever a command rejected with into an ApiError. */
export function toApiError(e: unknown): ApiError {
  if (e && typeof e === "object" && "code" in e && "message" in e) return e as ApiError;
  return { code: "internal", message: e instanceof Error ? e.message : String(e) };
}

async function call<R>(command: string, args?: Record<string, unknown>): Promise<R> {
  try {
    return await backend.invoke<R>(command, args);
  } catch (e) {
    throw toApiError(e);
  }
}

export const api = {
  appInfo: () => call<AppInfo>("app_info"),
  startup: () => call<Startup>("startup"),
  getSettings: () => call<Settings>("get_settings"),
  updateSettings: (input: Settings) => call<Settings>("update_settings", { input }),
  recentProjects: () => call<RecentProject[]>("recent_projects"),
  createProject: (input: CreateProjectInput) => call<ProjectInfo>("create_project", { input }),
  openProject: (input: ProjectRef) => call<ProjectInfo>("open_project", { input }),
  openSampleProject: () => call<ProjectInfo>("open_sample_project"),
  projectInfo: (input: ProjectRef) => call<ProjectInfo>("project_info", { input }),
  listBooks: (input: ProjectRef) => call<BookSummary[]>("list_books", { input }),
  importBooks: (input: ImportBooksInput) => call<JobStarted>("import_books", { input }),
  listJobs: (input: ProjectRef) => call<Job[]>("list_jobs", { input }),
  cancelJob: (input: CancelJobInput) => call<boolean>("cancel_job", { input }),
  listModels: () => call<ModelEntry[]>("list_models"),
  listCharacters: (input: ProjectRef) => call<StoredCharacter[]>("list_characters", { input }),
  readChapter: (input: ChapterRef) => call<ChapterView>("read_chapter", { input }),
  setPersona: (input: SetPersonaInput) => call<ProjectInfo>("set_persona", { input }),
  correctSpeaker: (input: CorrectSpeakerInput) => call<StoredCharacter[]>("correct_speaker", { input }),
  mergeCharacters: (input: MergeCharactersInput) => call<StoredCharacter[]>("merge_characters", { input }),
  renameCharacter: (input: RenameCharacterInput) => call<StoredCharacter[]>("rename_character", { input }),
  splitCharacter: (input: SplitCharacterInput) => call<StoredCharacter[]>("split_character", { input }),
  ignoreCharacter: (input: T.IgnoreCharacterInput) => call<StoredCharacter[]>("ignore_character", { input }),
  ignoredCharacters: (input: ProjectRef) => call<string[]>("ignored_characters", { input }),
  reorderBooks: (input: T.ReorderBooksInput) => call<BookSummary[]>("reorder_books", { input }),
  extract: (input: ExtractInput) => call<JobStarted>("extract", { input }),
  listExamples: (input: T.ListExamplesInput) => call<T.Page>("list_examples", { input }),
  getExample: (input: T.GetExampleInput) => call<T.ExampleDetail>("get_example", { input }),
  editExample: (input: T.EditExampleInput) => call<T.Example>("edit_example", { input }),
  bulkExamples: (input: T.BulkInput) => call<T.BulkOutcome>("bulk_examples", { input }),
  reviewUndo: (input: T.ProjectRef) => call<T.UndoOutcome | null>("review_undo", { input }),
  reviewRedo: (input: T.ProjectRef) => call<T.UndoOutcome | null>("review_redo", { input }),
  reviewUndoState: (input: T.ProjectRef) => call<T.UndoState>("review_undo_state", { input }),
  exampleStats: (input: T.StatsInput) => call<T.Stats>("example_stats", { input }),
  exportExamples: (input: T.ExportInput) => call<T.ExportOutput>("export_examples", { input }),
  importJsonl: (input: T.ImportJsonlInput) => call<T.ImportJsonlOutput>("import_jsonl", { input }),
  validateJsonl: (input: T.ValidateInput) => call<T.ValidateOutput>("validate_jsonl", { input }),
  listTeachers: () => call<T.TeacherView[]>("list_teachers"),
  saveTeacher: (input: T.TeacherConfig) => call<T.TeacherView>("save_teacher", { input }),
  deleteTeacher: (input: T.TeacherRef) => call<null>("delete_teacher", { input }),
  setTeacherKey: (input: T.SetTeacherKeyInput) => call<T.TeacherView>("set_teacher_key", { input }),
  testTeacher: (input: T.TeacherRef) => call<T.TestTeacherOutput>("test_teacher", { input }),
  promptTemplates: () => call<T.PromptTemplate[]>("prompt_templates"),
  savePrompt: (input: T.PromptTemplate) => call<T.PromptTemplate>("save_prompt", { input }),
  listPassages: (input: T.ListPassagesInput) => call<T.PassageList>("list_passages", { input }),
  previewGeneration: (input: T.PreviewInput) => call<T.PreviewOutput>("preview_generation", { input }),
  estimateGeneration: (input: T.GenerateInput) => call<T.GenerationEstimate>("estimate_generation", { input }),
  startGeneration: (input: T.GenerateInput) => call<JobStarted>("start_generation", { input }),
  resumeGeneration: (input: T.GenerationRef) => call<JobStarted>("resume_generation", { input }),
  resumeInterruptedGenerations: (input: ProjectRef) => call<JobStarted[]>("resume_interrupted_generations", { input }),
  generationStatus: (input: T.GenerationRef) => call<T.GenerationStatus>("generation_status", { input }),
  generationItems: (input: T.GenerationItemsInput) => call<T.GenerationItem[]>("generation_items", { input }),
  trainPresets: () => call<T.TrainPreset[]>("train_presets"),
  planTraining: (input: T.TrainInput) => call<T.TrainPlan>("plan_training", { input }),
  startTraining: (input: T.TrainInput) => call<JobStarted>("start_training", { input }),
  resumeTraining: (input: T.RunRef) => call<JobStarted>("resume_training", { input }),
  listRuns: (input: ProjectRef) => call<T.RunView[]>("list_runs", { input }),
  trainingRun: (input: T.RunRef) => call<T.RunDetail>("training_run", { input }),
  mergeRun: (input: T.MergeInput) => call<T.MergeOutput>("merge_run", { input }),
  exportAxolotl: (input: T.AxolotlInput) => call<T.AxolotlOutput>("export_axolotl", { input }),
  exportGguf: (input: T.GgufExportInput) => call<T.GgufExportOutput>("export_gguf", { input }),
  exportAdapter: (input: T.AdapterExportInput) => call<T.AdapterExportOutput>("export_adapter", { input }),
  trainControl: (input: T.RunRef) => call<JobStarted>("train_control", { input }),
  evaluateRun: (input: T.EvaluateRunInput) => call<JobStarted>("evaluate_run", { input }),
  evalReport: (input: T.RunRef) => call<T.EvalReport>("eval_report", { input }),
  estimateMistralJob: (input: T.MistralEstimateInput) => call<T.MistralEstimate>("estimate_mistral_job", { input }),
  createMistralJob: (input: T.MistralCreateInput) => call<T.MistralJobView>("create_mistral_job", { input }),
  listMistralJobs: (input: T.MistralListInput) => call<T.MistralJobList>("list_mistral_jobs", { input }),
  mistralJobStatus: (input: T.MistralJobRef) => call<T.MistralJobView>("mistral_job_status", { input }),
  startMistralJob: (input: T.MistralJobRef) => call<T.MistralJobView>("start_mistral_job", { input }),
  cancelMistralJob: (input: T.MistralJobRef) => call<T.MistralJobView>("cancel_mistral_job", { input }),
  mistralChatModels: (input: ProjectRef) => call<T.MistralJobView[]>("mistral_chat_models", { input }),
  chat: (input: ChatInput, onEvent: (e: ChatEvent) => void) => {
    const channel = new Channel<ChatEvent>();
    channel.onmessage = onEvent;
    return call<ChatStarted>("chat", { input, onEvent: channel });
  },
  cancelChat: (streamId: number) => call<boolean>("cancel_chat", { streamId }),
  saveConversation: (input: SaveConversationInput) => call<ConversationView>("save_conversation", { input }),
  listConversations: (input: ProjectRef) => call<ConversationView[]>("list_conversations", { input }),
  exportConversations: (input: ExportConversationsInput) => call<ExportConversationsOutput>("export_conversations", { input }),
  deleteConversation: (input: ConversationRef) => call<null>("delete_conversation", { input }),
  recordBlindVote: (input: T.BlindVoteInput) => call<T.VoteTally>("record_blind_vote", { input }),
  blindTally: (input: T.RunRef) => call<T.VoteTally>("blind_tally", { input }),
  promptPresets: (input: ProjectRef) => call<T.PromptPreset[]>("prompt_presets", { input }),
  savePromptPreset: (input: T.SavePresetInput) => call<T.PromptPreset[]>("save_prompt_preset", { input }),
  deletePromptPreset: (input: T.PresetRef) => call<T.PromptPreset[]>("delete_prompt_preset", { input }),
  replyToReview: (input: T.ReplyToReviewInput) => call<number>("reply_to_review", { input }),
  draftSystemPrompt: (input: ProjectRef) => call<string>("draft_system_prompt", { input }),
  onJobEvent: (handler: (e: JobEvent) => void) => backend.listen<JobEvent>("job-event", handler),
};

/** Asks the desktop for a folder or files; null when cancelled or when no dialog is available. */
export async function pickPath(options: { directory: boolean; multiple?: boolean; title: string; filters?: { name: string; extensions: string[] }[] }): Promise<string[] | null> {
  try {
    const { open } = await import("@tauri-apps/plugin-dialog");
    const picked = await open({ directory: options.directory, multiple: options.multiple ?? false, title: options.title, filters: options.filters });
    if (picked === null) return null;
    return Array.isArray(picked) ? picked : [picked];
  } catch {
    return null;
  }
}
