//! The TypeScript declarations of every type that crosses the IPC boundary, generated from the Rust
//! types so the two never drift apart. `ui/src/generated/types.ts` holds the output; a test fails when
//! it is stale (`GRIMOIRE_UPDATE_BINDINGS=1 cargo test -p grimoire-core bindings` rewrites it).

use ts_rs::{Config, TS};

/// Every declaration, in one file.
pub fn typescript() -> String {
    let cfg = Config::new().with_large_int("number");
    let decls = [
        crate::ApiError::decl(&cfg),
        crate::ErrorCode::decl(&cfg),
        crate::AppInfo::decl(&cfg),
        crate::Startup::decl(&cfg),
        crate::Settings::decl(&cfg),
        crate::Theme::decl(&cfg),
        crate::RecentProject::decl(&cfg),
        crate::ProjectInfo::decl(&cfg),
        crate::CreateProjectInput::decl(&cfg),
        crate::ProjectRef::decl(&cfg),
        crate::ImportBooksInput::decl(&cfg),
        crate::ImportResult::decl(&cfg),
        crate::JobStarted::decl(&cfg),
        crate::CancelJobInput::decl(&cfg),
        crate::JobEvent::decl(&cfg),
        crate::JobEventKind::decl(&cfg),
        grimoire_store::Job::decl(&cfg),
        grimoire_store::JobStatus::decl(&cfg),
        grimoire_store::BookSummary::decl(&cfg),
        crate::ModelEntry::decl(&cfg),
        crate::ModelStatus::decl(&cfg),
        crate::InstallOutcome::decl(&cfg),
        crate::StoredChapter::decl(&cfg),
        crate::StoredCharacter::decl(&cfg),
        crate::StoredQuote::decl(&cfg),
        crate::ChapterRef::decl(&cfg),
        crate::ChapterView::decl(&cfg),
        crate::CorrectSpeakerInput::decl(&cfg),
        crate::MergeCharactersInput::decl(&cfg),
        crate::RenameCharacterInput::decl(&cfg),
        crate::SplitCharacterInput::decl(&cfg),
        crate::SetPersonaInput::decl(&cfg),
        crate::ExtractInput::decl(&cfg),
        crate::ExtractOptions::decl(&cfg),
        crate::ExtractResult::decl(&cfg),
        crate::ChatRole::decl(&cfg),
        crate::ChatMessage::decl(&cfg),
        crate::ChatParams::decl(&cfg),
        crate::ChatInput::decl(&cfg),
        crate::ChatStarted::decl(&cfg),
        crate::ChatEvent::decl(&cfg),
        crate::SaveConversationInput::decl(&cfg),
        crate::ConversationView::decl(&cfg),
        crate::ConversationRef::decl(&cfg),
        crate::BlindVoteInput::decl(&cfg),
        crate::Winner::decl(&cfg),
        crate::VoteTally::decl(&cfg),
        crate::PromptPreset::decl(&cfg),
        crate::SavePresetInput::decl(&cfg),
        crate::PresetRef::decl(&cfg),
        crate::ReplyToReviewInput::decl(&cfg),
        crate::ListExamplesInput::decl(&cfg),
        crate::GetExampleInput::decl(&cfg),
        crate::ExampleDetail::decl(&cfg),
        crate::Passage::decl(&cfg),
        crate::PassagePart::decl(&cfg),
        crate::EditExampleInput::decl(&cfg),
        crate::BulkInput::decl(&cfg),
        crate::StatsInput::decl(&cfg),
        crate::ExportInput::decl(&cfg),
        crate::ExportOutput::decl(&cfg),
        crate::ImportJsonlInput::decl(&cfg),
        crate::ImportJsonlOutput::decl(&cfg),
        crate::LineProblem::decl(&cfg),
        crate::ValidateInput::decl(&cfg),
        crate::ValidateOutput::decl(&cfg),
        crate::ExportReport::decl(&cfg),
        crate::Skipped::decl(&cfg),
        crate::Example::decl(&cfg),
        crate::ExampleFilter::decl(&cfg),
        crate::Message::decl(&cfg),
        crate::Role::decl(&cfg),
        crate::Page::decl(&cfg),
        crate::QualityFlag::decl(&cfg),
        crate::Sort::decl(&cfg),
        crate::SortKey::decl(&cfg),
        crate::SourceSpan::decl(&cfg),
        crate::Stats::decl(&cfg),
        crate::StatusCounts::decl(&cfg),
        crate::StrategyCounts::decl(&cfg),
        crate::HistogramBucket::decl(&cfg),
        crate::Status::decl(&cfg),
        crate::Strategy::decl(&cfg),
        crate::Target::decl(&cfg),
        crate::BulkOp::decl(&cfg),
        crate::BulkOutcome::decl(&cfg),
        crate::Action::decl(&cfg),
        crate::UndoOutcome::decl(&cfg),
        crate::UndoState::decl(&cfg),
        crate::TeacherKind::decl(&cfg),
        crate::TeacherConfig::decl(&cfg),
        crate::TeacherView::decl(&cfg),
        crate::TeacherRef::decl(&cfg),
        crate::SetTeacherKeyInput::decl(&cfg),
        crate::TestTeacherOutput::decl(&cfg),
        crate::KeySource::decl(&cfg),
        crate::Price::decl(&cfg),
        crate::PromptTemplate::decl(&cfg),
        crate::TeacherStrategy::decl(&cfg),
        crate::GenerationOptions::decl(&cfg),
        crate::GenerateInput::decl(&cfg),
        crate::ListPassagesInput::decl(&cfg),
        crate::PassageView::decl(&cfg),
        crate::PassageList::decl(&cfg),
        crate::PreviewInput::decl(&cfg),
        crate::PreviewExample::decl(&cfg),
        crate::PreviewOutput::decl(&cfg),
        crate::Repair::decl(&cfg),
        crate::GenerationRef::decl(&cfg),
        crate::GenerationStatus::decl(&cfg),
        crate::GenerationProgress::decl(&cfg),
        crate::GenerationItemsInput::decl(&cfg),
        crate::GenerationItem::decl(&cfg),
        crate::ItemState::decl(&cfg),
        crate::ItemTotals::decl(&cfg),
        crate::AxolotlInput::decl(&cfg),
        crate::AxolotlOutput::decl(&cfg),
        crate::MultiGpu::decl(&cfg),
        crate::TrainPreset::decl(&cfg),
        crate::TrainInput::decl(&cfg),
        crate::TrainPlan::decl(&cfg),
        crate::RunRef::decl(&cfg),
        crate::RunState::decl(&cfg),
        crate::RunView::decl(&cfg),
        crate::RunDetail::decl(&cfg),
        crate::MergeInput::decl(&cfg),
        crate::MergeOutput::decl(&cfg),
        crate::TrainConfig::decl(&cfg),
        crate::LoraConfig::decl(&cfg),
        crate::LoraTarget::decl(&cfg),
        crate::Schedule::decl(&cfg),
        crate::BaseFormat::decl(&cfg),
        crate::DataStats::decl(&cfg),
        crate::Estimate::decl(&cfg),
        crate::Metric::decl(&cfg),
        crate::RunSummary::decl(&cfg),
        crate::RunStatus::decl(&cfg),
        crate::EvaluateRunInput::decl(&cfg),
        crate::EvalOptions::decl(&cfg),
        crate::EvalReport::decl(&cfg),
        crate::Losses::decl(&cfg),
        crate::LossFigures::decl(&cfg),
        crate::ControlInfo::decl(&cfg),
        crate::ClassifierReport::decl(&cfg),
        crate::PersonaScore::decl(&cfg),
        crate::ModelKind::decl(&cfg),
        crate::ModelStyle::decl(&cfg),
        crate::StyleFigures::decl(&cfg),
        crate::SignatureWord::decl(&cfg),
        crate::Sample::decl(&cfg),
        crate::JudgeReport::decl(&cfg),
        crate::JudgeScore::decl(&cfg),
        crate::PlotFile::decl(&cfg),
        crate::RunComparison::decl(&cfg),
    ];
    let mut out = String::from("// Generated from the Rust types by grimoire-core (bindings.rs). Do not edit.\n\n");
    for decl in decls {
        out.push_str("export ");
        out.push_str(&decl);
        out.push_str("\n\n");
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn bindings_are_up_to_date() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/generated/types.ts");
        let fresh = super::typescript();
        if std::env::var_os("GRIMOIRE_UPDATE_BINDINGS").is_some() {
            std::fs::create_dir_all(path.parent().expect("has a parent")).expect("create folder");
            std::fs::write(&path, &fresh).expect("write bindings");
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == fresh,
            "ui/src/generated/types.ts is stale: run `GRIMOIRE_UPDATE_BINDINGS=1 cargo test -p grimoire-core bindings`"
        );
    }
}
