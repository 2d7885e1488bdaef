//! The data set rules against a real project database: flags on insert and edit, the export and its
//! split, the validator, and import.

use std::collections::HashMap;
use std::io::Cursor;

use grimoire_dataset::{
    ExportOptions, Issue, LineIssue, Persona, Review, Side, TRAIN_FILE, VALIDATION_FILE, WhitespaceCounter, export_dir,
    export_to, import_jsonl, split_by_chapter, validate_jsonl,
};
use grimoire_store::table::examples::{
    BulkOp, ExampleFilter, Message, NewExample, QualityFlag, Role, Sort, Status, Strategy, Target,
};
use grimoire_store::{DB_FILE, Store};

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(&dir.path().join(DB_FILE)).unwrap();
    (dir, store)
}

fn conv(user: &str, assistant: &str) -> Vec<Message> {
    vec![Message::new(Role::User, user), Message::new(Role::Assistant, assistant)]
}

fn from_chapter(book: i64, chapter: i64, user: &str, assistant: &str) -> NewExample {
    let mut new = NewExample::new(Strategy::A, conv(user, assistant));
    new.book_id = Some(book);
    new.chapter = Some(chapter);
    new
}

fn lizzy() -> Persona {
    Persona { name: "Elizabeth Bennet".into(), aliases: vec!["Lizzy".into()] }
}

const LONG: &str = "I have been meditating on the very great pleasure which a pair of fine eyes in the face of a \
                    pretty woman can bestow, and I do not intend to apologise for it to anyone here tonight";

#[test]
fn flags_are_computed_on_insert_and_on_edit_and_undo_restores_them() {
    let (_dir, store) = store();
    let review = Review::new(&store, &WhitespaceCounter).with_persona(lizzy());
    let first = review.insert(NewExample::new(Strategy::B, conv("What are you thinking of?", LONG))).unwrap();
    let exact = review.insert(NewExample::new(Strategy::B, conv("what are you thinking OF", &LONG.to_uppercase()))).unwrap();
    let near = review
        .insert(NewExample::new(Strategy::B, conv("What are you thinking of?", &LONG.replace("tonight", "this evening"))))
        .unwrap();
    let third = review
        .insert(NewExample::new(Strategy::C, conv("Will you walk?", "Elizabeth would rather stay in, said Jane, quietly.")))
        .unwrap();
    let e = |id| store.example(id).unwrap();
    assert!(e(first).flags.is_empty(), "{:?}", e(first).flags);
    assert_eq!((e(exact).flags, e(exact).duplicate_of), (vec![QualityFlag::ExactDuplicate], Some(first)));
    assert_eq!((e(near).flags, e(near).duplicate_of), (vec![QualityFlag::NearDuplicate], Some(first)));
    assert_eq!(e(third).flags, vec![QualityFlag::ThirdPerson, QualityFlag::Narration]);
    assert_eq!(e(third).persona.as_deref(), Some("Elizabeth Bennet"));
    assert_eq!(e(first).token_len, 5 + LONG.split_whitespace().count() as u32);

    let fixed = review.edit_messages(third, conv("Will you walk?", "I would rather stay in today, thank you.")).unwrap();
    assert!(fixed.flags.is_empty(), "{:?}", fixed.flags);
    let fixed = review.edit_messages(exact, conv("Shall we dance?", "Not with you, sir, not tonight at all.")).unwrap();
    assert_eq!((fixed.flags.clone(), fixed.duplicate_of), (vec![], None));
    let flagged = ExampleFilter { flags: vec![QualityFlag::Narration], ..Default::default() };
    assert!(store.example_ids(&flagged, Sort::default()).unwrap().is_empty());

    store.example_undo(third).unwrap();
    assert_eq!(e(third).flags, vec![QualityFlag::ThirdPerson, QualityFlag::Narration], "undo brings the old flags back");
    assert_eq!(store.example_ids(&flagged, Sort::default()).unwrap(), vec![third]);
    // The restored turns are a duplicate candidate again (their band keys came back with them).
    let again = review.insert(NewExample::new(Strategy::C, conv("Will you walk?", "Elizabeth would rather stay in, said Jane, quietly."))).unwrap();
    assert_eq!(e(again).duplicate_of, Some(third));
    // An empty turn.
    let empty = review.insert(NewExample::new(Strategy::A, conv("Hello?", "  "))).unwrap();
    assert!(e(empty).flags.contains(&QualityFlag::EmptyTurn));
}

/// 60 approved examples over 3 books × 4 chapters (5 each), plus pending and rejected ones.
fn exportable(store: &Store) -> Vec<i64> {
    let review = Review::new(store, &WhitespaceCounter);
    let mut news = Vec::new();
    for book in 1..=3 {
        for chapter in 0..4 {
            for i in 0..5 {
                news.push(from_chapter(
                    book,
                    chapter,
                    &format!("Question {i} about chapter {chapter} of book {book}?"),
                    &format!("My answer number {i}, for chapter {chapter} in book {book}, is this."),
                ));
            }
        }
    }
    let ids = review.insert_many(news).unwrap();
    store.examples_bulk(&Target::Ids(ids.clone()), &BulkOp::SetStatus(Status::Approved), "Approve").unwrap();
    let pending = review.insert(from_chapter(1, 0, "Not reviewed?", "Not yet, no, not at all.")).unwrap();
    let rejected = review.insert(from_chapter(1, 0, "Rejected?", "Yes indeed, quite rejected.")).unwrap();
    store.examples_bulk(&Target::Ids(vec![rejected]), &BulkOp::SetStatus(Status::Rejected), "Reject").unwrap();
    assert!(pending > 0);
    ids
}

#[test]
fn export_writes_approved_examples_split_by_chapter_and_the_files_validate() {
    let (dir, store) = store();
    let ids = exportable(&store);
    // An approved example Mistral would refuse is reported, not written.
    let review = Review::new(&store, &WhitespaceCounter);
    let broken = review.insert(NewExample::new(Strategy::C, vec![Message::new(Role::User, "Only a question?")])).unwrap();
    store.examples_bulk(&Target::Ids(vec![broken]), &BulkOp::SetStatus(Status::Approved), "Approve").unwrap();

    let out = dir.path().join("export");
    let options = ExportOptions { system_prompt: Some("You are Elizabeth Bennet.".into()), val_fraction: 0.2, seed: 7 };
    let report = export_dir(&store, &out, &options, &WhitespaceCounter).unwrap();
    assert_eq!(report.train + report.validation, ids.len() as u32);
    assert_eq!(report.validation, 10, "two of twelve chapters are closest to 20% of 60");
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(report.skipped[0].id, broken);
    assert_eq!(store.examples_stats(&ExampleFilter::all()).unwrap().exportable, ids.len() as u32);

    let mut chapters: HashMap<String, Side> = HashMap::new();
    for (file, side) in [(TRAIN_FILE, Side::Train), (VALIDATION_FILE, Side::Validation)] {
        let text = std::fs::read_to_string(out.join(file)).unwrap();
        let check = validate_jsonl(Cursor::new(text.as_bytes()), &WhitespaceCounter).unwrap();
        assert!(check.issues.is_empty(), "{:?}", check.issues);
        for line in text.lines() {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            let messages = value["messages"].as_array().unwrap();
            assert_eq!(messages[0]["role"], "system");
            assert_eq!(messages[0]["content"], "You are Elizabeth Bennet.");
            let user = messages[1]["content"].as_str().unwrap();
            let key = user.split(" about ").nth(1).unwrap().to_string();
            assert!(!user.contains("Not reviewed") && !user.contains("Rejected"));
            assert_eq!(*chapters.entry(key.clone()).or_insert(side), side, "{key} is on both sides");
        }
    }
    assert_eq!(chapters.len(), 12);
    assert!(!out.join("train.jsonl.partial").exists());
}

#[test]
fn the_split_is_stable_for_a_seed_and_never_splits_a_chapter() {
    let examples: Vec<(i64, Option<i64>, Option<i64>)> =
        (0..1000).map(|i| (i, Some(i % 3), if i % 50 == 49 { None } else { Some(i % 40) })).collect();
    let a = split_by_chapter(&examples, 0.15, 42).unwrap();
    assert_eq!(a, split_by_chapter(&examples, 0.15, 42).unwrap(), "same seed, same split");
    assert_ne!(a, split_by_chapter(&examples, 0.15, 43).unwrap(), "another seed, another split");
    let validation = a.values().filter(|s| **s == Side::Validation).count();
    assert!((100..=200).contains(&validation), "{validation}");
    let mut side_of_group = HashMap::new();
    for &(id, book, chapter) in &examples {
        let side = a[&id];
        assert_eq!(*side_of_group.entry((book, chapter)).or_insert(side), side, "{book:?}/{chapter:?}");
    }
}

#[test]
fn export_is_the_same_for_the_same_seed() {
    let (_dir, store) = store();
    exportable(&store);
    let run = |seed| {
        let (mut train, mut validation) = (Vec::new(), Vec::new());
        let options = ExportOptions { seed, ..Default::default() };
        export_to(&store, &mut train, &mut validation, &options, &WhitespaceCounter).unwrap();
        (train, validation)
    };
    assert_eq!(run(1), run(1));
    let (train, validation) = run(1);
    assert!(!validation.is_empty());
    assert!(train.starts_with(b"{\"messages\":[{\"role\":\"user\",\"content\":\""));
}

#[test]
fn the_validator_reports_each_rule_on_its_line() {
    let file = [
        r#"{"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello there."}]}"#,
        r#"{"messages":[]}"#,
        "",
        r#"{"messages":[{"role":"assistant","content":"a"},{"role":"user","content":"u"},{"role":"assistant","content":"b"}]}"#,
        r#"{"messages":[{"role":"user","content":"u"},{"role":"assistant","content":"a"},{"role":"user","content":"u"}]}"#,
        r#"{"messages":[{"role":"system","content":"s"},{"role":"system","content":"t"},{"role":"user","content":"u"},{"role":"assistant","content":"a"}]}"#,
        r#"{"messages":[{"role":"user","content":""},{"role":"assistant","content":"a"}]}"#,
        r#"{"messages":[{"role":"user","content":"u"},{"role":"assistant","content":"a","weight":0.5}]}"#,
        r#"not json"#,
        r#"{"messages":[{"role":"user","content":"u"},{"role":"assistant","content":"a","weight":0}]}"#,
    ]
    .join("\n");
    let report = validate_jsonl(Cursor::new(file.as_bytes()), &WhitespaceCounter).unwrap();
    assert_eq!((report.lines, report.valid), (9, 2));
    assert_eq!(report.tokens, 3 + 2);
    let at = |line: u32| report.issues.iter().filter(|i| i.line == line).map(|i| i.issue.clone()).collect::<Vec<_>>();
    assert_eq!(at(2), vec![Issue::NoMessages]);
    assert_eq!(at(4), vec![Issue::OutOfOrder { index: 0, expected: Role::User }]);
    assert_eq!(at(5), vec![Issue::LastNotAssistant]);
    assert_eq!(at(6), vec![Issue::MisplacedSystem { index: 1 }]);
    assert_eq!(at(7), vec![Issue::EmptyContent { index: 0 }]);
    assert_eq!(at(8), vec![Issue::BadWeight { index: 1 }]);
    assert!(matches!(at(9).as_slice(), [Issue::NotJson { .. }]));
    assert!(at(1).is_empty() && at(10).is_empty());
    let shown = LineIssue { line: 6, issue: Issue::MisplacedSystem { index: 1 } }.to_string();
    assert_eq!(shown, "line 6: message 1 is a system message; only one is allowed, and only first");
}

#[test]
fn import_reports_bad_lines_and_imports_the_rest() {
    let (_dir, store) = store();
    let review = Review::new(&store, &WhitespaceCounter).with_persona(lizzy());
    let mut file = Vec::new();
    for i in 0..1200 {
        let line = match i {
            3 => "{\"messages\": [{\"role\": \"user\", \"content\": \"unanswered\"}]}".to_string(),
            700 => "{\"messages\": [".to_string(),
            _ => format!(
                r#"{{"messages":[{{"role":"system","content":"You are Lizzy."}},{{"role":"user","content":"Question {i}?"}},{{"role":"assistant","content":"Answer {i}, plainly given to you.","weight":1}}]}}"#
            ),
        };
        file.extend_from_slice(line.as_bytes());
        file.push(b'\n');
    }
    file.extend_from_slice(b"\xff\xfe broken bytes\n\n");
    let report = import_jsonl(&review, Cursor::new(file), Some("from-file")).unwrap();
    assert_eq!(report.lines, 1201);
    assert_eq!(report.imported.len(), 1198);
    assert_eq!(report.issues.iter().map(|i| i.line).collect::<Vec<_>>(), vec![4, 701, 1201]);
    assert_eq!(report.issues[0].issue, Issue::LastNotAssistant);

    let imported = ExampleFilter { strategy: vec![Strategy::Imported], status: vec![Status::Pending], tag: Some("from-file".into()), ..Default::default() };
    assert_eq!(store.examples_count(&imported).unwrap(), 1198);
    let first = store.example(report.imported[0]).unwrap();
    assert_eq!(first.messages.len(), 3);
    assert_eq!(first.messages[2].weight, Some(1));
    assert_eq!(first.persona.as_deref(), Some("Elizabeth Bennet"));
}
