//! Review through the service layer, over a real project: Pride and Prejudice imported and its
//! dialogue for Elizabeth Bennet extracted, as a person would do it.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

use grimoire_core::{
    BulkInput, BulkOp, CreateProjectInput, Dirs, EditExampleInput, ErrorCode, Example, ExampleFilter, ExportInput, ExtractInput,
    ExtractOptions, GetExampleInput, ImportBooksInput, ImportJsonlInput, JobStatus, LengthUnit, ListExamplesInput, Message, ProjectRef,
    QualityFlag, Role, Service, Sort, StatsInput, Status, Strategy, Target, ValidateInput,
};

struct Project {
    tmp: tempfile::TempDir,
    path: String,
    service: Service,
}

/// A project with the sample book imported and Elizabeth's dialogue extracted (no system prompt).
fn extracted() -> Project {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let service = Service::new(Dirs { data: root.join("data"), config: root.join("config") }, Arc::new(|_| {}));
    let path = root.join("pp").display().to_string();
    service
        .create_project(CreateProjectInput { path: path.clone(), name: "pp".into(), persona: Some("Elizabeth Bennet".into()) })
        .unwrap();
    let book = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/sample/PrideAndPrejudice.txt").display().to_string();
    let handle = service.import_books_handle(ImportBooksInput { project: path.clone(), files: vec![book] }).unwrap();
    assert_eq!(handle.wait(), JobStatus::Completed);
    let input = ExtractInput { project: path.clone(), persona: "Elizabeth Bennet".into(), options: ExtractOptions::default() };
    assert_eq!(service.extract(input).unwrap().wait(), JobStatus::Completed);
    Project { tmp, path, service }
}

impl Project {
    fn list(&self, filter: ExampleFilter, offset: u32, limit: u32) -> grimoire_core::Page {
        let input = ListExamplesInput { project: self.path.clone(), filter, sort: Sort::default(), offset, limit };
        self.service.list_examples(input).unwrap()
    }

    fn all(&self, filter: ExampleFilter) -> Vec<Example> {
        self.list(filter, 0, grimoire_core::MAX_PAGE).rows
    }

    fn stats(&self) -> grimoire_core::Stats {
        self.service.example_stats(StatsInput { project: self.path.clone(), filter: ExampleFilter::default() }).unwrap()
    }

    fn bulk(&self, target: Target, op: BulkOp) -> u32 {
        self.service.bulk_examples(BulkInput { project: self.path.clone(), target, op }).unwrap().changed
    }

    fn undo(&self) -> bool {
        self.service.review_undo(ProjectRef { path: self.path.clone() }).unwrap().is_some()
    }
}

fn text(e: &Example) -> String {
    e.messages.iter().map(|m| m.content.to_lowercase()).collect::<Vec<_>>().join("\n")
}

fn last_assistant(e: &Example) -> &str {
    e.messages.iter().rev().find(|m| m.role == Role::Assistant).map(|m| m.content.as_str()).unwrap_or_default()
}

#[test]
fn the_grid_lists_filters_searches_and_shows_the_source() {
    let p = extracted();
    let page = p.list(ExampleFilter::default(), 0, 50);
    assert!(page.total > 200, "{} examples", page.total);
    assert_eq!(page.rows.len(), 50);
    // Inserted through grimoire-dataset: lengths and flags are computed, not left at their defaults.
    let everything = p.all(ExampleFilter::default());
    assert!(everything.iter().all(|e| e.token_len > 0 && e.status == Status::Pending && e.strategy == Strategy::A));
    assert!(everything.iter().any(|e| !e.flags.is_empty()), "no example of {} carries a flag", everything.len());
    assert_eq!(p.stats().total, page.total);

    let second = p.list(ExampleFilter::default(), 50, 50);
    assert_eq!(second.offset, 50);
    assert!(second.rows[0].id > page.rows[49].id, "pages follow each other in id order");

    let search = ExampleFilter { text: Some("Pemberley".into()), ..Default::default() };
    let found = p.all(search.clone());
    assert!(!found.is_empty() && found.len() < everything.len(), "{} found", found.len());
    assert!(found.iter().all(|e| text(e).contains("pemberley")));
    let parsed = grimoire_core::parse_filter("status:pending pemberley").unwrap();
    assert_eq!(p.list(parsed, 0, 10).total as usize, found.len());
    assert_eq!(grimoire_core::parse_filter("status:done").unwrap_err().code(), ErrorCode::InvalidInput);

    let chapter = everything[0].chapter;
    let in_chapter = p.all(ExampleFilter { book_id: everything[0].book_id, chapter, ..Default::default() });
    assert!(!in_chapter.is_empty() && in_chapter.iter().all(|e| e.chapter == chapter));

    // The side panel: the passage with the persona's words highlighted, and the neighbours in the list.
    let detail = p
        .service
        .get_example(GetExampleInput {
            project: p.path.clone(),
            id: page.rows[10].id,
            filter: Some(ExampleFilter::default()),
            sort: Some(Sort::default()),
            position: Some(10),
        })
        .unwrap();
    assert_eq!(detail.example, page.rows[10]);
    assert_eq!(detail.previous.as_ref().map(|e| e.id), Some(page.rows[9].id));
    assert_eq!(detail.next.as_ref().map(|e| e.id), Some(page.rows[11].id));
    let passage = &detail.passages[0];
    assert!(passage.book_title.contains("Pride"), "{}", passage.book_title);
    let highlighted: String = passage.parts.iter().filter(|x| x.highlight).map(|x| x.text.as_str()).collect();
    let said = last_assistant(&detail.example);
    let first_words: String = said.split_whitespace().take(3).collect::<Vec<_>>().join(" ");
    assert!(highlighted.contains(&first_words), "{first_words:?} not highlighted in {highlighted:?}");
    assert!(passage.parts.iter().any(|x| !x.highlight), "the passage has text around the quotation");
}

#[test]
fn edits_and_bulk_actions_undo_and_redo_through_the_service() {
    let p = extracted();
    let first = p.all(ExampleFilter::default()).remove(0);
    let mut messages = first.messages.clone();
    let last = messages.len() - 1;
    messages[last].content = String::new();
    messages.push(Message::new(Role::User, "And what of Mr. Darcy?"));
    messages.push(Message::new(Role::Assistant, "I have no opinion of him at all, I assure you."));
    let edited = p
        .service
        .edit_example(EditExampleInput { project: p.path.clone(), id: first.id, messages: Some(messages.clone()), status: None, tags: None })
        .unwrap();
    assert_eq!(edited.messages, messages);
    assert!(edited.flags.contains(&QualityFlag::EmptyTurn), "{:?}", edited.flags);
    let approved = p
        .service
        .edit_example(EditExampleInput { project: p.path.clone(), id: first.id, messages: None, status: Some(Status::Approved), tags: None })
        .unwrap();
    assert_eq!((approved.status, approved.messages.len()), (Status::Approved, messages.len()));

    assert!(p.undo());
    assert_eq!(p.all(ExampleFilter::default())[0].status, Status::Pending);
    assert!(p.undo());
    let back = p.all(ExampleFilter::default()).remove(0);
    assert_eq!((back.messages, back.flags), (first.messages.clone(), first.flags.clone()));
    assert!(p.service.review_redo(ProjectRef { path: p.path.clone() }).unwrap().is_some());
    assert_eq!(p.all(ExampleFilter::default())[0].messages, messages);

    // Bulk over a filter, then over a selection; both undo as one action each.
    let filter = ExampleFilter { book_id: first.book_id, chapter: first.chapter, ..Default::default() };
    let matching = p.list(filter.clone(), 0, 1).total;
    assert_eq!(p.bulk(Target::Filter(filter.clone()), BulkOp::SetStatus(Status::Approved)), matching);
    assert_eq!(p.stats().by_status.approved, matching);
    let ids: Vec<i64> = p.all(ExampleFilter { status: vec![Status::Pending], ..Default::default() }).iter().take(3).map(|e| e.id).collect();
    assert_eq!(p.bulk(Target::Ids(ids.clone()), BulkOp::AddTag("ball".into())), 3);
    assert_eq!(p.list(ExampleFilter { tag: Some("ball".into()), ..Default::default() }, 0, 10).total, 3);
    let state = p.service.review_undo_state(ProjectRef { path: p.path.clone() }).unwrap();
    assert!(state.undo.unwrap().label.starts_with("Tag 3 selected"));
    assert!(p.undo() && p.undo());
    assert_eq!(p.stats().by_status.approved, 0);
    assert_eq!(p.list(ExampleFilter { tag: Some("ball".into()), ..Default::default() }, 0, 10).total, 0);
}

#[test]
fn export_writes_a_by_chapter_split_that_the_validator_passes() {
    let p = extracted();
    let all = p.all(ExampleFilter::default());
    assert_eq!(p.bulk(Target::Filter(ExampleFilter::default()), BulkOp::SetStatus(Status::Approved)) as usize, p.stats().total as usize);
    let out = p.tmp.path().join("out");
    let input = |fraction: f64| ExportInput {
        project: p.path.clone(),
        out: Some(out.display().to_string()),
        val_fraction: fraction,
        seed: 7,
        system_prompt: Some("You are Elizabeth Bennet.".into()),
        tokenizer: None,
    };
    for refused in [0.05, 0.3] {
        assert_eq!(p.service.export_examples(input(refused)).unwrap_err().code(), ErrorCode::InvalidInput);
    }
    let done = p.service.export_examples(input(0.15)).unwrap();
    let report = &done.report;
    assert!(report.validation > 0 && report.train > report.validation, "{report:?}");
    assert_eq!((report.train + report.validation) as usize + report.skipped.len(), p.stats().by_status.approved as usize);

    // Every line passes the validator, and no chapter feeds both files.
    let chapter_of: HashMap<&str, (Option<i64>, Option<i64>)> =
        all.iter().map(|e| (last_assistant(e), (e.book_id, e.chapter))).collect();
    let mut chapters = Vec::new();
    for (file, lines) in [(&done.train_file, report.train), (&done.validation_file, report.validation)] {
        let checked = p.service.validate_jsonl(ValidateInput { file: file.clone(), tokenizer: None }).unwrap();
        assert!(checked.problems.is_empty(), "{file}: {:?}", checked.problems);
        assert_eq!(checked.valid, lines);
        let mut seen = BTreeSet::new();
        for line in std::fs::read_to_string(file).unwrap().lines() {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            let messages: Vec<Message> = serde_json::from_value(value["messages"].clone()).unwrap();
            assert_eq!((messages[0].role, messages[0].content.as_str()), (Role::System, "You are Elizabeth Bennet."));
            let said = messages.iter().rev().find(|m| m.role == Role::Assistant).unwrap().content.as_str();
            seen.insert(*chapter_of.get(said).expect("every line comes from an example"));
        }
        chapters.push(seen);
    }
    assert!(chapters[0].is_disjoint(&chapters[1]), "a chapter feeds both sides");

    // With no folder given, the export lands in the project's exports/.
    let default = p.service.export_examples(ExportInput { out: None, ..input(0.1) }).unwrap();
    assert!(Path::new(&default.dir).starts_with(Path::new(&p.path).join("exports")), "{}", default.dir);
    assert!(Path::new(&default.train_file).exists() && Path::new(&default.validation_file).exists());
}

#[test]
fn importing_jsonl_reports_bad_lines_by_number_and_keeps_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let service = Service::new(Dirs { data: tmp.path().join("d"), config: tmp.path().join("c") }, Arc::new(|_| {}));
    let project = tmp.path().join("p").display().to_string();
    service.create_project(CreateProjectInput { path: project.clone(), name: "p".into(), persona: Some("Anne".into()) }).unwrap();
    let file = tmp.path().join("in.jsonl");
    let good = r#"{"messages":[{"role":"user","content":"Hello?"},{"role":"assistant","content":"Good morning to you, Gilbert."}]}"#;
    let user_last = r#"{"messages":[{"role":"user","content":"Hello?"}]}"#;
    std::fs::write(&file, format!("{good}\nnot json\n{good}\n\n{user_last}\n")).unwrap();
    let input = ImportJsonlInput { project: project.clone(), file: file.display().to_string(), tag: Some("outside".into()) };
    let report = service.import_jsonl(input).unwrap();
    assert_eq!((report.lines, report.imported), (4, 2));
    let lines: Vec<u32> = report.problems.iter().map(|x| x.line).collect();
    assert_eq!(lines, [2, 5], "{:?}", report.problems);
    let page = service
        .list_examples(ListExamplesInput {
            project: project.clone(),
            filter: ExampleFilter { strategy: vec![Strategy::Imported], tag: Some("outside".into()), ..Default::default() },
            sort: Sort::default(),
            offset: 0,
            limit: 10,
        })
        .unwrap();
    assert_eq!(page.total, 2);
    assert!(page.rows.iter().all(|e| e.status == Status::Pending && e.persona.as_deref() == Some("Anne")));
    // The second copy is an exact duplicate of the first, found on insert.
    assert!(page.rows[1].flags.contains(&QualityFlag::ExactDuplicate), "{:?}", page.rows[1].flags);

    let checked = service.validate_jsonl(ValidateInput { file: file.display().to_string(), tokenizer: None }).unwrap();
    assert_eq!((checked.lines, checked.valid), (4, 2));
    let missing = service.import_jsonl(ImportJsonlInput { project, file: tmp.path().join("nope.jsonl").display().to_string(), tag: None });
    assert_eq!(missing.unwrap_err().code(), ErrorCode::NotFound);
}

#[test]
fn lengths_are_built_in_tokens_in_new_projects_and_stay_words_in_older_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let service = |config: &str, model_dir: Option<&Path>| {
        let s = Service::new(Dirs { data: tmp.path().join("d"), config: tmp.path().join(config) }, Arc::new(|_| {}));
        if let Some(dir) = model_dir {
            let mut settings = s.settings().unwrap();
            settings.model_dir = dir.display().to_string();
            s.update_settings(settings).unwrap();
        }
        s
    };
    let line = r#"{"messages":[{"role":"user","content":"Do you dance, Miss Bennet?"},{"role":"assistant","content":"Seldom, sir; and never with a partner I can't abide."}]}"#;
    let file = tmp.path().join("one.jsonl");
    std::fs::write(&file, line).unwrap();
    let file = file.display().to_string();
    let import = |s: &Service, project: &str| {
        s.import_jsonl(ImportJsonlInput { project: project.into(), file: file.clone(), tag: None }).unwrap();
        let page = s
            .list_examples(ListExamplesInput { project: project.into(), filter: ExampleFilter::default(), sort: Sort::default(), offset: 0, limit: 10 })
            .unwrap();
        page.rows.last().unwrap().token_len
    };
    let create = |s: &Service, name: &str| {
        let path = tmp.path().join(name).display().to_string();
        s.create_project(CreateProjectInput { path: path.clone(), name: name.into(), persona: Some("Elizabeth Bennet".into()) }).unwrap();
        path
    };
    let model_dir = common::builtin_model_dir();
    let tokens = service("c1", Some(&model_dir)).validate_jsonl(ValidateInput { file: file.clone(), tokenizer: Some("built-in".into()) }).unwrap().tokens;
    let words: u32 = ["Do you dance, Miss Bennet?", "Seldom, sir; and never with a partner I can't abide."]
        .iter()
        .map(|t| t.split_whitespace().count() as u32)
        .sum();
    assert!(u64::from(words) < tokens, "the tokenizer should make more tokens ({tokens}) than words ({words})");

    // A new project where the built-in model is installed counts its tokenizer's tokens.
    let with_model = service("c1", Some(&model_dir));
    let fresh = create(&with_model, "fresh");
    assert_eq!(with_model.project_info(ProjectRef { path: fresh.clone() }).unwrap().length_unit, LengthUnit::Tokens);
    assert_eq!(u64::from(import(&with_model, &fresh)), tokens);

    // One made where the model was missing counts words, and keeps counting words once it is there,
    // so that the lengths in one project are all in one unit.
    let without = service("c2", Some(&tmp.path().join("no-models")));
    let older = create(&without, "older");
    assert_eq!(import(&without, &older), words);
    drop(without);
    let later = service("c3", Some(&model_dir));
    let info = later.open_project(ProjectRef { path: older.clone() }).unwrap();
    assert_eq!(info.length_unit, LengthUnit::Words);
    assert_eq!(import(&later, &older), words);
}
