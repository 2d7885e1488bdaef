//! The store against real SQLite files on disk.

use std::path::Path;

use grimoire_store::{DB_FILE, Error, JobStatus, NewBook, ProjectMeta, SCHEMA_VERSION, Store};

fn db_in(dir: &Path) -> std::path::PathBuf {
    dir.join(DB_FILE)
}

fn sample_meta() -> ProjectMeta {
    ProjectMeta { name: "Pride".into(), persona: Some("Elizabeth Bennet".into()), created_at: "2026-01-01T00:00:00.000Z".into() }
}

#[test]
fn migrates_from_empty_to_current_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(&db_in(dir.path())).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let mode: String = store.conn().pragma_query_value(None, "journal_mode", |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    assert_eq!(store.integrity_check().unwrap(), "ok");
}

#[test]
fn create_refuses_an_existing_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(db_in(dir.path()), b"keep me").unwrap();
    assert!(matches!(Store::create(&db_in(dir.path())), Err(Error::AlreadyExists(_))));
    assert_eq!(std::fs::read(db_in(dir.path())).unwrap(), b"keep me");
}

#[test]
fn reopening_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_in(dir.path());
    {
        let store = Store::create(&path).unwrap();
        store.set_project_meta(&sample_meta()).unwrap();
        let book = NewBook { title: "P&P", author: Some("Austen"), source_path: "/x", format: "txt", sha256: "ab", text: "It is a truth" };
        store.book_insert(&book).unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(store.project_meta().unwrap(), sample_meta());
    let books = store.books().unwrap();
    assert_eq!(books.len(), 1);
    assert_eq!(books[0].chars, 13);
    assert_eq!(store.book(books[0].id).unwrap().text, "It is a truth");
    assert_eq!(store.book_by_sha256("ab").unwrap(), Some(books[0].id));
}

#[test]
fn refuses_a_database_from_a_newer_version_without_touching_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_in(dir.path());
    {
        let store = Store::create(&path).unwrap();
        store.conn().pragma_update(None, "user_version", SCHEMA_VERSION + 5).unwrap();
        store.conn().pragma_update(None, "journal_mode", "DELETE").unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let err = Store::open(&path).unwrap_err();
    assert!(matches!(err, Error::NewerSchema { found, .. } if found == SCHEMA_VERSION + 5), "{err}");
    assert!(err.to_string().contains("update Grimoire"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn refuses_files_that_are_not_databases() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_in(dir.path());
    std::fs::write(&path, "just some text, not sqlite at all, long enough to have a header ".repeat(4)).unwrap();
    assert!(matches!(Store::open(&path), Err(Error::NotADatabase(_))));
    std::fs::write(&path, b"").unwrap();
    assert!(matches!(Store::open(&path), Err(Error::NotADatabase(_))));
}

#[test]
fn refuses_someone_elses_sqlite_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_in(dir.path());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("CREATE TABLE invoices (id INTEGER PRIMARY KEY); INSERT INTO invoices VALUES (1);").unwrap();
    drop(conn);
    assert!(matches!(Store::open(&path), Err(Error::NotADatabase(_))));
}

#[test]
fn detects_a_truncated_database_and_leaves_it_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_in(dir.path());
    {
        let store = Store::create(&path).unwrap();
        let text = "word ".repeat(200_000);
        let book = NewBook { title: "Long", author: None, source_path: "/x", format: "txt", sha256: "cd", text: &text };
        store.book_insert(&book).unwrap();
        store.conn().pragma_update(None, "journal_mode", "DELETE").unwrap();
    }
    let full = std::fs::read(&path).unwrap();
    let cut = &full[..full.len() / 2];
    std::fs::write(&path, cut).unwrap();
    let err = Store::open(&path).unwrap_err();
    assert!(matches!(err, Error::Corrupt { .. }), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), cut, "the damaged file must not be written to");
    assert!(!dir.path().join("grimoire.db-wal").exists());
}

#[test]
fn detects_overwritten_pages() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_in(dir.path());
    {
        let store = Store::create(&path).unwrap();
        for i in 0..50 {
            let text = format!("{i} ").repeat(5_000);
            let sha = format!("{i}");
            let book = NewBook { title: "B", author: None, source_path: "/x", format: "txt", sha256: &sha, text: &text };
            store.book_insert(&book).unwrap();
        }
        store.conn().pragma_update(None, "journal_mode", "DELETE").unwrap();
    }
    let mut bytes = std::fs::read(&path).unwrap();
    // Scribble over the second page (the first table's b-tree root lives near the start).
    for b in &mut bytes[4096..4096 + 2048] {
        *b = 0xA5;
    }
    std::fs::write(&path, &bytes).unwrap();
    let err = Store::open(&path).unwrap_err();
    assert!(matches!(err, Error::Corrupt { .. }), "{err}");
}

#[test]
fn jobs_left_running_are_marked_interrupted_on_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_in(dir.path());
    let (running, done) = {
        let store = Store::create(&path).unwrap();
        let running = store.job_insert("import", "Import a book", "{}").unwrap();
        store.job_started(running).unwrap();
        store.job_progress(running, 3, 10, "chapter 3").unwrap();
        let done = store.job_insert("import", "Another", "{}").unwrap();
        store.job_started(done).unwrap();
        store.job_finished(done, JobStatus::Completed, None, Some("{\"book\":1}")).unwrap();
        (running, done)
    };
    let store = Store::open(&path).unwrap();
    assert_eq!(store.jobs_mark_interrupted().unwrap(), 1);
    let job = store.job(running).unwrap();
    assert_eq!(job.status, JobStatus::Interrupted);
    assert_eq!((job.done, job.total, job.message.as_str()), (3, 10, "chapter 3"));
    assert_eq!(store.job(done).unwrap().status, JobStatus::Completed);
    assert_eq!(store.jobs(10).unwrap().iter().map(|j| j.id).collect::<Vec<_>>(), vec![done, running]);
    assert!(matches!(store.job(999), Err(Error::Missing { .. })));
}

#[test]
fn deferred_checkpoints_leave_the_wal_to_the_checkpointer_and_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_in(dir.path());
    let wal = path.with_extension("db-wal");
    let text = "It is a truth universally acknowledged. ".repeat(20_000); // 800 kB
    {
        let store = Store::create(&path).unwrap();
        store.defer_checkpoints().unwrap();
        let checkpointer = store.checkpointer().unwrap();
        for i in 0..6 {
            let sha = format!("{i}");
            let book = NewBook { title: "P&P", author: None, source_path: "/x", format: "txt", sha256: &sha, text: &text };
            store.book_insert(&book).unwrap();
        }
        // ~1,200 pages of 4 KiB written: past the 1,000 at which a commit would have checkpointed.
        let grown = std::fs::metadata(&wal).unwrap().len();
        assert!(grown > 4_500_000, "the WAL should have kept every page, it has {grown} bytes");
        let done = checkpointer.passive().unwrap();
        assert!(!done.busy);
        assert!(done.log_pages > 1000);
        assert_eq!(done.copied_pages, done.log_pages);
        // The next commit starts the log over instead of growing it.
        let book = NewBook { title: "Emma", author: None, source_path: "/y", format: "txt", sha256: "e", text: "Emma Woodhouse" };
        store.book_insert(&book).unwrap();
        let after = checkpointer.passive().unwrap();
        assert!(after.log_pages < 50, "the log should have started over, it has {} pages", after.log_pages);
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(store.books().unwrap().len(), 7);
    assert_eq!(store.integrity_check().unwrap(), "ok");
}
