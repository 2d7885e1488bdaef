//! The examples table against real SQLite files: listing, search, bulk actions, history that survives a
//! restart, concurrent writers, and a writer process killed in the middle of its work.

use std::path::{Path, PathBuf};

use grimoire_store::table::examples::{
    Body, BulkOp, Derived, ExampleEdit, ExampleFilter, Message, NewExample, QualityFlag, Role, Sort, SortKey, Status,
    Strategy, Target,
};
use grimoire_store::{DB_FILE, Store};

fn db(dir: &Path) -> PathBuf {
    dir.join(DB_FILE)
}

fn conversation(user: &str, assistant: &str) -> Vec<Message> {
    vec![Message::new(Role::User, user), Message::new(Role::Assistant, assistant)]
}

fn example(strategy: Strategy, book: i64, chapter: i64, user: &str, assistant: &str) -> NewExample {
    let mut new = NewExample::new(strategy, conversation(user, assistant));
    new.book_id = Some(book);
    new.chapter = Some(chapter);
    new.derived.token_len = (user.split_whitespace().count() + assistant.split_whitespace().count()) as u32;
    new
}

/// Ten examples: books 1–2, chapters 0–4, strategies A and B alternating.
fn seeded(store: &Store) -> Vec<i64> {
    (0..10)
        .map(|i| {
            let strategy = if i % 2 == 0 { Strategy::A } else { Strategy::B };
            let user = format!("question number {i} about the ball");
            let assistant = format!("answer {i}: I danced with Mr Bingley {}", "and so on ".repeat(i as usize));
            store.example_insert(&example(strategy, 1 + i / 5, i % 5, &user, &assistant)).unwrap()
        })
        .collect()
}

#[test]
fn inserted_examples_read_back_whole() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(&db(dir.path())).unwrap();
    let mut new = example(Strategy::C, 3, 7, "Who are you?", "I am Elizabeth.");
    new.messages.insert(0, Message::new(Role::System, "You are Elizabeth Bennet."));
    new.messages[2].weight = Some(1);
    new.spans = vec![grimoire_store::table::examples::SourceSpan { book_id: 3, start: 10, end: 90 }];
    new.teacher = Some("mistral-large".into());
    new.prompt = Some("Write a conversation".into());
    new.tags = vec!["ball".into()];
    new.persona = Some("Elizabeth Bennet".into());
    new.derived = Derived { flags: vec![QualityFlag::TooShort, QualityFlag::Narration], duplicate_of: None, token_len: 9, fingerprint: None };
    let id = store.example_insert(&new).unwrap();
    let got = store.example(id).unwrap();
    assert_eq!(got.messages, new.messages);
    assert_eq!(got.spans, new.spans);
    assert_eq!((got.book_id, got.chapter), (Some(3), Some(7)));
    assert_eq!(got.flags, vec![QualityFlag::TooShort, QualityFlag::Narration]);
    assert_eq!((got.teacher.as_deref(), got.prompt.as_deref()), (Some("mistral-large"), Some("Write a conversation")));
    assert_eq!(got.status, Status::Pending);
    assert_eq!(got.token_len, 9);
    assert!(matches!(store.example(id + 1), Err(grimoire_store::Error::Missing { .. })));
}

#[test]
fn pages_filter_and_sort() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(&db(dir.path())).unwrap();
    let ids = seeded(&store);
    let all = ExampleFilter::all();
    let page = store.examples_page(&all, Sort::default(), 2, 3).unwrap();
    assert_eq!(page.total, 10);
    assert_eq!(page.rows.iter().map(|e| e.id).collect::<Vec<_>>(), ids[2..5]);

    let longest_first = Sort { key: SortKey::TokenLen, descending: true };
    let page = store.examples_page(&all, longest_first, 0, 2).unwrap();
    assert_eq!(page.rows.iter().map(|e| e.id).collect::<Vec<_>>(), vec![ids[9], ids[8]]);

    let b_in_book_2 = ExampleFilter { strategy: vec![Strategy::B], book_id: Some(2), ..Default::default() };
    let page = store.examples_page(&b_in_book_2, Sort::default(), 0, 100).unwrap();
    assert_eq!(page.rows.iter().map(|e| e.id).collect::<Vec<_>>(), vec![ids[5], ids[7], ids[9]]);
    assert_eq!(page.total, 3);

    let chapter = ExampleFilter { book_id: Some(1), chapter: Some(3), ..Default::default() };
    assert_eq!(store.example_ids(&chapter, Sort::default()).unwrap(), vec![ids[3]]);
    let lengths = ExampleFilter { min_tokens: Some(20), max_tokens: Some(24), ..Default::default() };
    for e in store.examples_page(&lengths, Sort::default(), 0, 100).unwrap().rows {
        assert!((20..=24).contains(&e.token_len), "{}", e.token_len);
    }
    assert!(store.examples_count(&lengths).unwrap() > 0);
}

#[test]
fn full_text_search_finds_words_in_any_turn_and_follows_edits() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(&db(dir.path())).unwrap();
    let mut with_system = example(Strategy::A, 1, 0, "Tell me of Pemberley", "It is a fine house.");
    with_system.messages.insert(0, Message::new(Role::System, "You are Elizabeth, from Longbourn."));
    let a = store.example_insert(&with_system).unwrap();
    let b = store.example_insert(&example(Strategy::A, 1, 0, "And Netherfield?", "Mr Bingley's, near Longbourn.")).unwrap();
    let search = |text: &str| {
        let f = ExampleFilter { text: Some(text.into()), ..Default::default() };
        store.example_ids(&f, Sort::default()).unwrap()
    };
    assert_eq!(search("pemberley"), vec![a], "a user turn");
    assert_eq!(search("fine house"), vec![a], "an assistant turn, all words required");
    assert_eq!(search("longbourn"), vec![a, b], "a system turn and an assistant turn");
    assert_eq!(search("Netherf"), vec![b], "the last word is a prefix");
    assert_eq!(search("bingley OR"), Vec::<i64>::new(), "operators are words, not syntax");

    let edit = ExampleEdit {
        body: Some(Body { messages: conversation("Tell me of Rosings", "Lady Catherine lives there."), derived: Derived::default() }),
        ..Default::default()
    };
    store.example_edit(a, &edit, "Edit turns").unwrap();
    assert_eq!(search("pemberley"), Vec::<i64>::new());
    assert_eq!(search("rosings catherine"), vec![a]);
    store.example_undo(a).unwrap();
    assert_eq!(search("pemberley"), vec![a], "undo brings the old words back into the index");
}

#[test]
fn bulk_actions_over_a_filter_and_a_selection_and_stats() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(&db(dir.path())).unwrap();
    let ids = seeded(&store);
    let strategy_a = ExampleFilter { strategy: vec![Strategy::A], ..Default::default() };
    let out = store.examples_bulk(&Target::Filter(strategy_a.clone()), &BulkOp::SetStatus(Status::Approved), "Approve A").unwrap();
    assert_eq!(out.changed, 5);
    let again = store.examples_bulk(&Target::Filter(strategy_a), &BulkOp::SetStatus(Status::Approved), "Approve A").unwrap();
    assert_eq!((again.changed, again.action_id), (0, None), "nothing left to change records nothing");
    let out = store.examples_bulk(&Target::Ids(vec![ids[1], ids[2], ids[3]]), &BulkOp::AddTag("ball".into()), "Tag").unwrap();
    assert_eq!(out.changed, 3);
    store.examples_bulk(&Target::Ids(vec![ids[3]]), &BulkOp::SetStatus(Status::Rejected), "Reject").unwrap();

    let approved = ExampleFilter { status: vec![Status::Approved], ..Default::default() };
    assert_eq!(store.example_ids(&approved, Sort::default()).unwrap(), vec![ids[0], ids[2], ids[4], ids[6], ids[8]]);
    let tagged = ExampleFilter { tag: Some("ball".into()), ..Default::default() };
    assert_eq!(store.example_ids(&tagged, Sort::default()).unwrap(), vec![ids[1], ids[2], ids[3]]);
    store.examples_bulk(&Target::Filter(tagged.clone()), &BulkOp::RemoveTag("ball".into()), "Untag").unwrap();
    assert!(store.example_ids(&tagged, Sort::default()).unwrap().is_empty());

    let stats = store.examples_stats(&ExampleFilter::all()).unwrap();
    assert_eq!((stats.total, stats.by_status.approved, stats.by_status.rejected, stats.by_status.pending), (10, 5, 1, 4));
    assert_eq!((stats.by_strategy.a, stats.by_strategy.b), (5, 5));
    assert_eq!(stats.exportable, 5);
    assert_eq!(stats.histogram.iter().map(|b| b.count).sum::<u32>(), 10);
    assert!(stats.histogram.windows(2).all(|w| w[0].max <= w[1].min));
}

#[test]
fn undo_and_redo_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(dir.path());
    let ids;
    {
        let store = Store::create(&path).unwrap();
        ids = seeded(&store);
        let edit = ExampleEdit {
            body: Some(Body { messages: conversation("new question", "new answer"), derived: Derived::default() }),
            tags: Some(vec!["edited".into()]),
            ..Default::default()
        };
        store.example_edit(ids[0], &edit, "Edit").unwrap();
        store.examples_bulk(&Target::Filter(ExampleFilter::all()), &BulkOp::SetStatus(Status::Approved), "Approve all").unwrap();
    }
    {
        let store = Store::open(&path).unwrap();
        let state = store.review_undo_state().unwrap();
        assert_eq!(state.undo.as_ref().map(|a| a.label.as_str()), Some("Approve all"));
        let undone = store.review_undo().unwrap().unwrap();
        assert_eq!((undone.restored, undone.skipped), (10, 0));
        assert_eq!(store.examples_stats(&ExampleFilter::all()).unwrap().by_status.pending, 10);
        store.review_undo().unwrap().unwrap();
        assert_eq!(store.example(ids[0]).unwrap().messages[1].content, "answer 0: I danced with Mr Bingley ");
    }
    {
        let store = Store::open(&path).unwrap();
        assert!(store.review_undo().unwrap().is_none(), "nothing left to undo");
        let redone = store.review_redo().unwrap().unwrap();
        assert_eq!(redone.action.label, "Edit");
        assert_eq!(store.example(ids[0]).unwrap().messages[1].content, "new answer");
        assert_eq!(store.example(ids[0]).unwrap().tags, vec!["edited".to_string()]);
    }
    {
        // Per example: the redone edit can be stepped back and forward on its own.
        let store = Store::open(&path).unwrap();
        let back = store.example_undo(ids[0]).unwrap().unwrap();
        assert_eq!(back.messages[1].content, "answer 0: I danced with Mr Bingley ");
        assert!(store.example_undo(ids[0]).unwrap().is_none(), "the first state has no parent");
        // A new action ends the redo stack: "Approve all" cannot come back any more.
        store.examples_bulk(&Target::Ids(vec![ids[5]]), &BulkOp::SetStatus(Status::Rejected), "Reject").unwrap();
        assert!(store.review_undo_state().unwrap().redo.is_none());
    }
    let store = Store::open(&path).unwrap();
    let forward = store.example_redo(ids[0]).unwrap().unwrap();
    assert_eq!(forward.messages[1].content, "new answer");
    let history = store.example_revisions(ids[0]).unwrap();
    assert_eq!(history.len(), 3, "insert, edit, approve: {history:?}");
    assert!(history[1].current && history[1].changed_turns);
    assert_eq!(store.integrity_check().unwrap(), "ok");
}

#[test]
fn a_generation_job_and_a_person_write_at_the_same_time_without_losing_anything() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(&db(dir.path())).unwrap();
    let ids = seeded(&store);
    let job = store.reopen().unwrap();
    const JOB_ROWS: usize = 400;
    let writer = std::thread::spawn(move || {
        for i in 0..JOB_ROWS {
            job.example_insert(&example(Strategy::C, 9, (i % 7) as i64, &format!("job question {i}"), "job answer")).unwrap();
        }
    });
    let mut edits = 0;
    for round in 0..60 {
        let id = ids[round % ids.len()];
        let edit = ExampleEdit { tags: Some(vec![format!("round-{round}")]), ..Default::default() };
        store.example_edit(id, &edit, "Tag").unwrap();
        if round % 10 == 0 {
            let op = BulkOp::AddTag(format!("bulk-{round}"));
            store.examples_bulk(&Target::Filter(ExampleFilter::all()), &op, "Bulk tag").unwrap();
        }
        edits += 1;
    }
    writer.join().unwrap();
    assert_eq!(store.examples_count(&ExampleFilter::all()).unwrap() as usize, 10 + JOB_ROWS);
    let job_rows = ExampleFilter { book_id: Some(9), ..Default::default() };
    assert_eq!(store.examples_count(&job_rows).unwrap() as usize, JOB_ROWS);
    for (i, &id) in ids.iter().enumerate() {
        let last_round = (0..edits).filter(|r| r % ids.len() == i).max().unwrap();
        assert!(store.example(id).unwrap().tags.contains(&format!("round-{last_round}")));
    }
    assert_eq!(store.review_actions(1000).unwrap().len(), 60 + 6);
    assert_eq!(store.integrity_check().unwrap(), "ok");
}

/// The crash test's writer, built by `cargo test` beside this test binary.
fn writer_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(Path::parent).unwrap();
    let path = dir.join("examples").join(format!("review_writer{}", std::env::consts::EXE_SUFFIX));
    assert!(path.exists(), "{} is missing: run the whole `cargo test -p grimoire-store`, which builds examples", path.display());
    path
}

#[test]
fn a_writer_killed_mid_bulk_action_loses_no_committed_edit_and_leaves_a_healthy_file() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let path = db(dir.path());
    const N: i64 = 3000;
    {
        let store = Store::create(&path).unwrap();
        store
            .write_transaction(|s| {
                for i in 0..N {
                    s.example_insert(&example(Strategy::A, 1, i % 20, &format!("question {i}"), &format!("answer {i}")))?;
                }
                Ok::<_, grimoire_store::Error>(())
            })
            .unwrap();
    }
    let mut killed_mid_bulk = 0;
    for attempt in 0..3u64 {
        let mut child = std::process::Command::new(writer_binary())
            .arg(&path)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut lines = stdout.lines();
        let mut seen = Vec::new();
        // Let it run a few bulk actions, then kill it a little way into the next one.
        let mut starts = 0;
        for line in lines.by_ref() {
            let line = line.unwrap();
            let is_start = line.starts_with("bulk-start");
            seen.push(line);
            if is_start {
                starts += 1;
                if starts == 4 + attempt {
                    std::thread::sleep(std::time::Duration::from_millis(1 + 2 * attempt));
                    break;
                }
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        seen.extend(lines.map_while(Result::ok));

        let store = Store::open(&path).unwrap();
        assert_eq!(store.integrity_check().unwrap(), "ok");
        let mut last_edit = std::collections::HashMap::new();
        let mut started = None;
        for line in &seen {
            let parts: Vec<&str> = line.split(' ').collect();
            match parts.as_slice() {
                ["edit", id, round] => {
                    last_edit.insert(id.parse::<i64>().unwrap(), round.parse::<u64>().unwrap());
                }
                ["bulk-start", round] => started = Some(round.to_string()),
                ["bulk", round] => {
                    let tagged = ExampleFilter { tag: Some(format!("round-{round}")), ..Default::default() };
                    assert_eq!(store.examples_count(&tagged).unwrap() as i64, N, "bulk {round} was reported committed");
                    started = None;
                }
                other => panic!("unexpected output {other:?}"),
            }
        }
        for (id, round) in last_edit {
            let content = store.example(id).unwrap().messages[1].content.clone();
            let found: u64 = content.strip_prefix("edit ").unwrap().parse().unwrap();
            assert!(found >= round, "example {id}: committed edit {round}, found {found}");
        }
        // The bulk action in flight when the process died is all there or not there at all. (On a
        // fast machine the action may finish before the kill lands: then there is none in flight.)
        if let Some(in_flight) = started {
            killed_mid_bulk += 1;
            let tagged = ExampleFilter { tag: Some(format!("round-{in_flight}")), ..Default::default() };
            let n = store.examples_count(&tagged).unwrap() as i64;
            assert!(n == 0 || n == N, "bulk {in_flight} half applied: {n} of {N}");
        }
        // And the history still works after the crash.
        let undo = store.review_undo().unwrap().unwrap();
        assert!(undo.restored > 0);
        store.review_redo().unwrap().unwrap();
    }
    assert!(killed_mid_bulk > 0, "no attempt killed the writer during a bulk action");
}
