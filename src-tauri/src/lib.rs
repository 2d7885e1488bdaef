//! The Grimoire desktop shell. Each command is one line over [`grimoire_core::Service`]; job events
//! are forwarded to the window as `job-event`.

use std::sync::Arc;

use grimoire_core::{
    ChatEvent, ChatInput, ChatStarted, ConversationRef, ConversationView, ExportConversationsInput, ExportConversationsOutput, SaveConversationInput,
    ApiError, AppInfo, BookSummary, CancelJobInput, ChapterRef, ChapterView, CorrectSpeakerInput, CreateProjectInput, Dirs, ExtractInput,
    ImportBooksInput, Job, JobStarted, MergeCharactersInput, ModelEntry, OpenAtStart, ProjectInfo, ProjectRef, RecentProject,
    RenameCharacterInput, Service, SetPersonaInput, Settings, SplitCharacterInput, Startup, StoredCharacter,
};
use tauri::{Emitter, Manager, State};

type Reply<T> = Result<T, ApiError>;

#[tauri::command(async)]
fn app_info(svc: State<'_, Service>) -> AppInfo {
    svc.app_info()
}

/// What the command line asked the app to open, taken once by the first `startup` call.
struct Initial(std::sync::Mutex<Option<OpenAtStart>>);

#[tauri::command(async)]
fn startup(svc: State<'_, Service>, initial: State<'_, Initial>) -> Reply<Startup> {
    let request = initial.0.lock().map(|mut r| r.take()).unwrap_or(None);
    Ok(svc.startup(request)?)
}

/// `grimoire-app [--sample | PROJECT_DIR]`
fn parse_args() -> Option<OpenAtStart> {
    let arg = std::env::args_os().nth(1)?;
    if arg == "--sample" {
        Some(OpenAtStart::Sample)
    } else if arg.to_string_lossy().starts_with('-') {
        None
    } else {
        Some(OpenAtStart::Project(arg.into()))
    }
}

#[tauri::command(async)]
fn get_settings(svc: State<'_, Service>) -> Reply<Settings> {
    Ok(svc.settings()?)
}

#[tauri::command(async)]
fn update_settings(svc: State<'_, Service>, input: Settings) -> Reply<Settings> {
    Ok(svc.update_settings(input)?)
}

#[tauri::command(async)]
fn recent_projects(svc: State<'_, Service>) -> Reply<Vec<RecentProject>> {
    Ok(svc.recent_projects()?)
}

#[tauri::command(async)]
fn create_project(svc: State<'_, Service>, input: CreateProjectInput) -> Reply<ProjectInfo> {
    Ok(svc.create_project(input)?)
}

#[tauri::command(async)]
fn open_project(svc: State<'_, Service>, input: ProjectRef) -> Reply<ProjectInfo> {
    Ok(svc.open_project(input)?)
}

#[tauri::command(async)]
fn open_sample_project(svc: State<'_, Service>) -> Reply<ProjectInfo> {
    Ok(svc.open_sample_project()?)
}

#[tauri::command(async)]
fn project_info(svc: State<'_, Service>, input: ProjectRef) -> Reply<ProjectInfo> {
    Ok(svc.project_info(input)?)
}

#[tauri::command(async)]
fn list_books(svc: State<'_, Service>, input: ProjectRef) -> Reply<Vec<BookSummary>> {
    Ok(svc.list_books(input)?)
}

#[tauri::command(async)]
fn import_books(svc: State<'_, Service>, input: ImportBooksInput) -> Reply<JobStarted> {
    Ok(svc.import_books(input)?)
}

#[tauri::command(async)]
fn list_jobs(svc: State<'_, Service>, input: ProjectRef) -> Reply<Vec<Job>> {
    Ok(svc.list_jobs(input)?)
}

#[tauri::command(async)]
fn cancel_job(svc: State<'_, Service>, input: CancelJobInput) -> Reply<bool> {
    Ok(svc.cancel_job(input)?)
}

#[tauri::command(async)]
fn list_models(svc: State<'_, Service>) -> Reply<Vec<ModelEntry>> {
    Ok(svc.list_models()?)
}

#[tauri::command(async)]
fn list_characters(svc: State<'_, Service>, input: ProjectRef) -> Reply<Vec<StoredCharacter>> {
    Ok(svc.list_characters(input)?)
}

#[tauri::command(async)]
fn read_chapter(svc: State<'_, Service>, input: ChapterRef) -> Reply<ChapterView> {
    Ok(svc.read_chapter(input)?)
}

#[tauri::command(async)]
fn set_persona(svc: State<'_, Service>, input: SetPersonaInput) -> Reply<ProjectInfo> {
    Ok(svc.set_persona(input)?)
}

#[tauri::command(async)]
fn correct_speaker(svc: State<'_, Service>, input: CorrectSpeakerInput) -> Reply<Vec<StoredCharacter>> {
    Ok(svc.correct_speaker(input)?)
}

#[tauri::command(async)]
fn merge_characters(svc: State<'_, Service>, input: MergeCharactersInput) -> Reply<Vec<StoredCharacter>> {
    Ok(svc.merge_characters(input)?)
}

#[tauri::command(async)]
fn rename_character(svc: State<'_, Service>, input: RenameCharacterInput) -> Reply<Vec<StoredCharacter>> {
    Ok(svc.rename_character(input)?)
}

#[tauri::command(async)]
fn split_character(svc: State<'_, Service>, input: SplitCharacterInput) -> Reply<Vec<StoredCharacter>> {
    Ok(svc.split_character(input)?)
}

#[tauri::command(async)]
fn ignore_character(svc: State<'_, Service>, input: grimoire_core::IgnoreCharacterInput) -> Reply<Vec<StoredCharacter>> {
    Ok(svc.ignore_character(input)?)
}

#[tauri::command(async)]
fn ignored_characters(svc: State<'_, Service>, input: ProjectRef) -> Reply<Vec<String>> {
    Ok(svc.ignored_characters(input)?)
}

#[tauri::command(async)]
fn reorder_books(svc: State<'_, Service>, input: grimoire_core::ReorderBooksInput) -> Reply<Vec<BookSummary>> {
    Ok(svc.reorder_books(input)?)
}

#[tauri::command(async)]
fn extract(svc: State<'_, Service>, input: ExtractInput) -> Reply<JobStarted> {
    Ok(JobStarted { job_id: svc.extract(input)?.id })
}

#[tauri::command(async)]
fn list_examples(svc: State<'_, Service>, input: grimoire_core::ListExamplesInput) -> Reply<grimoire_core::Page> {
    Ok(svc.list_examples(input)?)
}

#[tauri::command(async)]
fn get_example(svc: State<'_, Service>, input: grimoire_core::GetExampleInput) -> Reply<grimoire_core::ExampleDetail> {
    Ok(svc.get_example(input)?)
}

#[tauri::command(async)]
fn edit_example(svc: State<'_, Service>, input: grimoire_core::EditExampleInput) -> Reply<grimoire_core::Example> {
    Ok(svc.edit_example(input)?)
}

#[tauri::command(async)]
fn bulk_examples(svc: State<'_, Service>, input: grimoire_core::BulkInput) -> Reply<grimoire_core::BulkOutcome> {
    Ok(svc.bulk_examples(input)?)
}

#[tauri::command(async)]
fn review_undo(svc: State<'_, Service>, input: grimoire_core::ProjectRef) -> Reply<Option<grimoire_core::UndoOutcome>> {
    Ok(svc.review_undo(input)?)
}

#[tauri::command(async)]
fn review_redo(svc: State<'_, Service>, input: grimoire_core::ProjectRef) -> Reply<Option<grimoire_core::UndoOutcome>> {
    Ok(svc.review_redo(input)?)
}

#[tauri::command(async)]
fn review_undo_state(svc: State<'_, Service>, input: grimoire_core::ProjectRef) -> Reply<grimoire_core::UndoState> {
    Ok(svc.review_undo_state(input)?)
}

#[tauri::command(async)]
fn example_stats(svc: State<'_, Service>, input: grimoire_core::StatsInput) -> Reply<grimoire_core::Stats> {
    Ok(svc.example_stats(input)?)
}

#[tauri::command(async)]
fn export_examples(svc: State<'_, Service>, input: grimoire_core::ExportInput) -> Reply<grimoire_core::ExportOutput> {
    Ok(svc.export_examples(input)?)
}

#[tauri::command(async)]
fn import_jsonl(svc: State<'_, Service>, input: grimoire_core::ImportJsonlInput) -> Reply<grimoire_core::ImportJsonlOutput> {
    Ok(svc.import_jsonl(input)?)
}

#[tauri::command(async)]
fn validate_jsonl(svc: State<'_, Service>, input: grimoire_core::ValidateInput) -> Reply<grimoire_core::ValidateOutput> {
    Ok(svc.validate_jsonl(input)?)
}

#[tauri::command(async)]
fn chat(svc: State<'_, Service>, input: ChatInput, on_event: tauri::ipc::Channel<ChatEvent>) -> Reply<ChatStarted> {
    Ok(svc.chat(input, Box::new(move |event| {
        // A closed window just drops the rest of the reply.
        let _ = on_event.send(event);
    }))?)
}

#[tauri::command(async)]
fn cancel_chat(svc: State<'_, Service>, stream_id: u64) -> bool {
    svc.cancel_chat(stream_id)
}

#[tauri::command(async)]
fn save_conversation(svc: State<'_, Service>, input: SaveConversationInput) -> Reply<ConversationView> {
    Ok(svc.save_conversation(input)?)
}

#[tauri::command(async)]
fn list_conversations(svc: State<'_, Service>, input: ProjectRef) -> Reply<Vec<ConversationView>> {
    Ok(svc.list_conversations(input)?)
}

#[tauri::command(async)]
fn export_conversations(svc: State<'_, Service>, input: ExportConversationsInput) -> Reply<ExportConversationsOutput> {
    Ok(svc.export_conversations(input)?)
}

#[tauri::command(async)]
fn delete_conversation(svc: State<'_, Service>, input: ConversationRef) -> Reply<()> {
    Ok(svc.delete_conversation(input)?)
}

#[tauri::command(async)]
fn record_blind_vote(svc: State<'_, Service>, input: grimoire_core::BlindVoteInput) -> Reply<grimoire_core::VoteTally> {
    Ok(svc.record_blind_vote(input)?)
}

#[tauri::command(async)]
fn blind_tally(svc: State<'_, Service>, input: grimoire_core::RunRef) -> Reply<grimoire_core::VoteTally> {
    Ok(svc.blind_tally(input)?)
}

#[tauri::command(async)]
fn prompt_presets(svc: State<'_, Service>, input: ProjectRef) -> Reply<Vec<grimoire_core::PromptPreset>> {
    Ok(svc.prompt_presets(input)?)
}

#[tauri::command(async)]
fn save_prompt_preset(svc: State<'_, Service>, input: grimoire_core::SavePresetInput) -> Reply<Vec<grimoire_core::PromptPreset>> {
    Ok(svc.save_prompt_preset(input)?)
}

#[tauri::command(async)]
fn delete_prompt_preset(svc: State<'_, Service>, input: grimoire_core::PresetRef) -> Reply<Vec<grimoire_core::PromptPreset>> {
    Ok(svc.delete_prompt_preset(input)?)
}

#[tauri::command(async)]
fn reply_to_review(svc: State<'_, Service>, input: grimoire_core::ReplyToReviewInput) -> Reply<i64> {
    Ok(svc.reply_to_review(input)?)
}

#[tauri::command(async)]
fn draft_system_prompt(svc: State<'_, Service>, input: ProjectRef) -> Reply<String> {
    Ok(svc.draft_system_prompt(input)?)
}

#[tauri::command(async)]
fn list_teachers(svc: State<'_, Service>) -> Reply<Vec<grimoire_core::TeacherView>> {
    Ok(svc.list_teachers()?)
}

#[tauri::command(async)]
fn save_teacher(svc: State<'_, Service>, input: grimoire_core::TeacherConfig) -> Reply<grimoire_core::TeacherView> {
    Ok(svc.save_teacher(input)?)
}

#[tauri::command(async)]
fn delete_teacher(svc: State<'_, Service>, input: grimoire_core::TeacherRef) -> Reply<()> {
    Ok(svc.delete_teacher(input)?)
}

#[tauri::command(async)]
fn set_teacher_key(svc: State<'_, Service>, input: grimoire_core::SetTeacherKeyInput) -> Reply<grimoire_core::TeacherView> {
    Ok(svc.set_teacher_key(input)?)
}

#[tauri::command(async)]
fn test_teacher(svc: State<'_, Service>, input: grimoire_core::TeacherRef) -> Reply<grimoire_core::TestTeacherOutput> {
    Ok(svc.test_teacher(input)?)
}

#[tauri::command(async)]
fn prompt_templates(svc: State<'_, Service>) -> Reply<Vec<grimoire_core::PromptTemplate>> {
    Ok(svc.prompt_templates()?)
}

#[tauri::command(async)]
fn save_prompt(svc: State<'_, Service>, input: grimoire_core::PromptTemplate) -> Reply<grimoire_core::PromptTemplate> {
    Ok(svc.save_prompt(input)?)
}

#[tauri::command(async)]
fn list_passages(svc: State<'_, Service>, input: grimoire_core::ListPassagesInput) -> Reply<grimoire_core::PassageList> {
    Ok(svc.list_passages(input)?)
}

#[tauri::command(async)]
fn preview_generation(svc: State<'_, Service>, input: grimoire_core::PreviewInput) -> Reply<grimoire_core::PreviewOutput> {
    Ok(svc.preview_generation(input)?)
}

#[tauri::command(async)]
fn estimate_generation(svc: State<'_, Service>, input: grimoire_core::GenerateInput) -> Reply<grimoire_core::GenerationEstimate> {
    Ok(svc.estimate_generation(input)?)
}

#[tauri::command(async)]
fn start_generation(svc: State<'_, Service>, input: grimoire_core::GenerateInput) -> Reply<JobStarted> {
    Ok(svc.start_generation(input)?)
}

#[tauri::command(async)]
fn resume_generation(svc: State<'_, Service>, input: grimoire_core::GenerationRef) -> Reply<JobStarted> {
    Ok(JobStarted { job_id: svc.resume_generation(input)?.id })
}

#[tauri::command(async)]
fn resume_interrupted_generations(svc: State<'_, Service>, input: ProjectRef) -> Reply<Vec<JobStarted>> {
    Ok(svc.resume_interrupted_generations(input)?)
}

#[tauri::command(async)]
fn generation_status(svc: State<'_, Service>, input: grimoire_core::GenerationRef) -> Reply<grimoire_core::GenerationStatus> {
    Ok(svc.generation_status(input)?)
}

#[tauri::command(async)]
fn generation_items(svc: State<'_, Service>, input: grimoire_core::GenerationItemsInput) -> Reply<Vec<grimoire_core::GenerationItem>> {
    Ok(svc.generation_items(input)?)
}

#[tauri::command(async)]
fn train_presets(svc: State<'_, Service>) -> Vec<grimoire_core::TrainPreset> {
    svc.train_presets()
}

#[tauri::command(async)]
fn plan_training(svc: State<'_, Service>, input: grimoire_core::TrainInput) -> Reply<grimoire_core::TrainPlan> {
    svc.plan_training(input).map_err(Into::into)
}

#[tauri::command(async)]
fn start_training(svc: State<'_, Service>, input: grimoire_core::TrainInput) -> Reply<JobStarted> {
    svc.start_training(input).map_err(Into::into)
}

#[tauri::command(async)]
fn resume_training(svc: State<'_, Service>, input: grimoire_core::RunRef) -> Reply<JobStarted> {
    svc.resume_training(input).map(|h| JobStarted { job_id: h.id }).map_err(Into::into)
}

#[tauri::command(async)]
fn list_runs(svc: State<'_, Service>, input: ProjectRef) -> Reply<Vec<grimoire_core::RunView>> {
    svc.list_runs(input).map_err(Into::into)
}

#[tauri::command(async)]
fn training_run(svc: State<'_, Service>, input: grimoire_core::RunRef) -> Reply<grimoire_core::RunDetail> {
    svc.training_run(input).map_err(Into::into)
}

#[tauri::command(async)]
fn train_control(svc: State<'_, Service>, input: grimoire_core::RunRef) -> Reply<JobStarted> {
    svc.train_control(input).map(|(_, h)| JobStarted { job_id: h.id }).map_err(Into::into)
}

#[tauri::command(async)]
fn evaluate_run(svc: State<'_, Service>, input: grimoire_core::EvaluateRunInput) -> Reply<JobStarted> {
    svc.evaluate_run(input).map(|h| JobStarted { job_id: h.id }).map_err(Into::into)
}

#[tauri::command(async)]
fn eval_report(svc: State<'_, Service>, input: grimoire_core::RunRef) -> Reply<grimoire_core::EvalReport> {
    svc.eval_report(input).map_err(Into::into)
}

#[tauri::command(async)]
fn export_axolotl(svc: State<'_, Service>, input: grimoire_core::AxolotlInput) -> Reply<grimoire_core::AxolotlOutput> {
    svc.export_axolotl(input).map_err(Into::into)
}

#[tauri::command(async)]
fn estimate_mistral_job(svc: State<'_, Service>, input: grimoire_core::MistralEstimateInput) -> Reply<grimoire_core::MistralEstimate> {
    Ok(svc.estimate_mistral_job(input)?)
}

#[tauri::command(async)]
fn create_mistral_job(svc: State<'_, Service>, input: grimoire_core::MistralCreateInput) -> Reply<grimoire_core::MistralJobView> {
    Ok(svc.create_mistral_job(input)?)
}

#[tauri::command(async)]
fn list_mistral_jobs(svc: State<'_, Service>, input: grimoire_core::MistralListInput) -> Reply<grimoire_core::MistralJobList> {
    Ok(svc.list_mistral_jobs(input)?)
}

#[tauri::command(async)]
fn mistral_job_status(svc: State<'_, Service>, input: grimoire_core::MistralJobRef) -> Reply<grimoire_core::MistralJobView> {
    Ok(svc.mistral_job_status(input)?)
}

#[tauri::command(async)]
fn start_mistral_job(svc: State<'_, Service>, input: grimoire_core::MistralJobRef) -> Reply<grimoire_core::MistralJobView> {
    Ok(svc.start_mistral_job(input)?)
}

#[tauri::command(async)]
fn cancel_mistral_job(svc: State<'_, Service>, input: grimoire_core::MistralJobRef) -> Reply<grimoire_core::MistralJobView> {
    Ok(svc.cancel_mistral_job(input)?)
}

#[tauri::command(async)]
fn mistral_chat_models(svc: State<'_, Service>, input: ProjectRef) -> Reply<Vec<grimoire_core::MistralJobView>> {
    Ok(svc.mistral_chat_models(input)?)
}

#[tauri::command(async)]
fn export_gguf(svc: State<'_, Service>, input: grimoire_core::GgufExportInput) -> Reply<grimoire_core::GgufExportOutput> {
    svc.export_gguf(input).map_err(Into::into)
}

#[tauri::command(async)]
fn export_adapter(svc: State<'_, Service>, input: grimoire_core::AdapterExportInput) -> Reply<grimoire_core::AdapterExportOutput> {
    svc.export_adapter(input).map_err(Into::into)
}

#[tauri::command(async)]
fn merge_run(svc: State<'_, Service>, input: grimoire_core::MergeInput) -> Reply<grimoire_core::MergeOutput> {
    svc.merge_run(input).map_err(Into::into)
}

/// One line on stderr for each change of a job's state (not its progress): where a person, or a
/// test, looks first when a job seems stuck.
fn log_job_event(event: &grimoire_core::JobEvent) {
    use grimoire_core::JobEventKind as K;
    let what = match &event.event {
        K::Queued { kind, title } => format!("queued ({kind}): {title}"),
        K::Started => "started".into(),
        K::Progress { .. } => return,
        K::Completed { .. } => "completed".into(),
        K::Failed { error } => format!("failed: {}", error.message),
        K::Cancelled => "cancelled".into(),
    };
    eprintln!("grimoire: job {} of {}: {what}", event.job_id, event.project);
}

/// Builds and runs the app.
pub fn run() {
    let result = tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .setup(|app| {
            let handle = app.handle().clone();
            let sink = Arc::new(move |event: grimoire_core::JobEvent| {
                log_job_event(&event);
                // A closed window is no reason to stop the job; the row in the database is the record.
                let _ = handle.emit("job-event", event);
            });
            app.manage(Service::new(Dirs::from_env(), sink));
            app.manage(Initial(std::sync::Mutex::new(parse_args())));
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            app_info,
            startup,
            get_settings,
            update_settings,
            recent_projects,
            create_project,
            open_project,
            open_sample_project,
            project_info,
            list_books,
            import_books,
            list_jobs,
            cancel_job,
            list_models,
            list_characters,
            read_chapter,
            set_persona,
            correct_speaker,
            merge_characters,
            rename_character,
            split_character,
            ignore_character,
            ignored_characters,
            reorder_books,
            extract,
            chat,
            cancel_chat,
            save_conversation,
            list_conversations,
            delete_conversation,
            export_conversations,
            record_blind_vote,
            blind_tally,
            prompt_presets,
            save_prompt_preset,
            delete_prompt_preset,
            reply_to_review,
            draft_system_prompt,
            list_examples,
            get_example,
            edit_example,
            bulk_examples,
            review_undo,
            review_redo,
            review_undo_state,
            example_stats,
            export_examples,
            import_jsonl,
            validate_jsonl,
            list_teachers,
            save_teacher,
            delete_teacher,
            set_teacher_key,
            test_teacher,
            prompt_templates,
            save_prompt,
            list_passages,
            preview_generation,
            estimate_generation,
            start_generation,
            resume_generation,
            resume_interrupted_generations,
            generation_status,
            generation_items,
            train_presets,
            plan_training,
            start_training,
            resume_training,
            list_runs,
            training_run,
            merge_run,
            export_axolotl,
            export_gguf,
            export_adapter,
            train_control,
            evaluate_run,
            eval_report,
            estimate_mistral_job,
            create_mistral_job,
            list_mistral_jobs,
            mistral_job_status,
            start_mistral_job,
            cancel_mistral_job,
            mistral_chat_models,
        ])
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("Grimoire could not start: {e}");
        std::process::exit(1);
    }
}
