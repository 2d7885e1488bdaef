//! The review bench: 100,000 generated examples in a fresh project database, and the operations a
//! person waits on, timed against the goals of issue 4.
//!
//! `cargo run --release -p grimoire-dataset --example bench [-- COUNT]`

use std::time::{Duration, Instant};

use grimoire_dataset::{ExportOptions, Persona, Review, WhitespaceCounter, export_dir};
use grimoire_store::table::examples::{
    BulkOp, ExampleFilter, Message, NewExample, Role, Sort, SortKey, Status, Strategy, Target,
};
use grimoire_store::{DB_FILE, Store};

const WORDS: &[&str] = &[
    "the", "a", "of", "to", "and", "in", "I", "you", "it", "was", "not", "be", "is", "that", "my", "had", "her", "his",
    "with", "for", "as", "at", "by", "on", "so", "but", "all", "no", "very", "must", "shall", "should", "would",
    "could", "can", "will", "sister", "mother", "father", "letter", "ball", "dance", "walk", "garden", "house", "room",
    "carriage", "weather", "rain", "morning", "evening", "dinner", "visit", "friend", "officer", "regiment", "estate",
    "pride", "prejudice", "temper", "manners", "fortune", "marriage", "daughter", "cousin", "aunt", "uncle", "park",
    "library", "book", "music", "piano", "song", "card", "game", "gossip", "news", "town", "country", "road", "horse",
    "mud", "petticoat", "bonnet", "ribbon", "lace", "silk", "gown", "glove", "fan", "hat", "shoe", "window", "door",
    "stair", "hall", "fire", "candle", "tea", "wine", "cake", "soup", "bread", "butter", "apple", "rose", "tree",
    "field", "hedge", "lane", "church", "parson", "rector", "sermon", "prayer", "hope", "fear", "joy", "grief",
    "anger", "shame", "honour", "duty", "truth", "lie", "secret", "promise", "wish", "dream", "thought", "opinion",
    "judgement", "sense", "feeling", "heart", "mind", "eye", "hand", "face", "smile", "laugh", "tear", "sigh",
    "Pemberley", "Longbourn", "Netherfield", "Rosings", "Meryton", "London", "Derbyshire", "Kent", "Brighton",
    "Hertfordshire", "certainly", "perhaps", "indeed", "hardly", "surely", "never", "always", "often", "seldom",
    "quite", "rather", "too", "enough", "again", "already", "still", "yet", "soon", "late", "early", "today",
    "tomorrow", "yesterday", "believe", "know", "think", "feel", "see", "hear", "speak", "write", "read", "answer",
    "ask", "tell", "laughing", "teasing", "vexing", "charming", "tolerable", "handsome", "clever", "foolish", "silly",
    "proud", "vain", "kind", "cruel", "gentle", "amiable", "agreeable", "disagreeable", "insufferable", "delightful",
];

/// A small seeded generator (SplitMix64), so every run benches the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn sentence(&mut self, min: usize, max: usize) -> String {
        let n = min + self.below(max - min + 1);
        let mut words: Vec<&str> = (0..n).map(|_| WORDS[self.below(WORDS.len())]).collect();
        let mut first = words[0].to_string();
        if let Some(c) = first.get_mut(0..1) {
            c.make_ascii_uppercase();
        }
        words[0] = &first;
        format!("{}.", words.join(" "))
    }
}

fn generate(rng: &mut Rng, i: usize) -> NewExample {
    let strategy = [Strategy::A, Strategy::B, Strategy::C][i % 3];
    let mut messages = vec![Message::new(Role::User, rng.sentence(6, 24))];
    messages.push(Message::new(Role::Assistant, rng.sentence(12, 60)));
    if i % 4 == 0 {
        messages.push(Message::new(Role::User, rng.sentence(4, 16)));
        messages.push(Message::new(Role::Assistant, rng.sentence(8, 40)));
    }
    let mut new = NewExample::new(strategy, messages);
    new.book_id = Some(1 + (i % 7) as i64);
    new.chapter = Some(((i / 7) % 61) as i64);
    if strategy != Strategy::A {
        new.teacher = Some("mistral-large".into());
        new.prompt = Some("Write what a reader would ask".into());
    }
    new
}

struct Row {
    what: &'static str,
    took: Duration,
    goal: Option<Duration>,
    note: String,
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let value = f();
    (value, start.elapsed())
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let count: usize = std::env::args().nth(1).map(|s| s.parse()).transpose()?.unwrap_or(100_000);
    let dir = tempfile::tempdir()?;
    let path = dir.path().join(DB_FILE);
    let counter = WhitespaceCounter;
    let mut rows = Vec::new();
    {
        let store = Store::create(&path)?;
        let review = Review::new(&store, &counter)
            .with_persona(Persona { name: "Elizabeth Bennet".into(), aliases: vec!["Lizzy".into()] });
        let mut rng = Rng(42);
        let (result, took) = timed(|| -> Result<(), grimoire_dataset::Error> {
            let mut i = 0;
            while i < count {
                let batch: Vec<NewExample> = (i..count.min(i + 1000)).map(|j| generate(&mut rng, j)).collect();
                i += batch.len();
                review.insert_many(batch)?;
            }
            Ok(())
        });
        result?;
        rows.push(Row { what: "insert with flags (setup)", took, goal: None, note: format!("{count} examples, batches of 1,000") });
    }

    // A fresh connection, as when the Review workspace opens.
    let (store, took) = timed(|| Store::open(&path));
    let store = store?;
    rows.push(Row { what: "open project database", took, goal: None, note: "check + migrate".into() });
    // As the app runs it: the person's connection defers the WAL checkpoint to a background one.
    store.defer_checkpoints()?;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let background = {
        let checkpointer = store.checkpointer()?;
        let stop = stop.clone();
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(Duration::from_secs(1));
                let _ = checkpointer.passive();
            }
        })
    };
    let all = ExampleFilter::all();
    let (page, took) = timed(|| store.examples_page(&all, Sort::default(), 0, 100));
    let page = page?;
    rows.push(Row { what: "grid: first page", took, goal: Some(Duration::from_millis(20)), note: format!("100 of {}", page.total) });
    let (page, took) = timed(|| store.examples_page(&all, Sort::default(), (count as u32).saturating_sub(100), 100));
    rows.push(Row { what: "grid: last page", took, goal: Some(Duration::from_millis(20)), note: format!("{} rows", page?.rows.len()) });
    let filtered = ExampleFilter { strategy: vec![Strategy::B], min_tokens: Some(40), ..Default::default() };
    let longest = Sort { key: SortKey::TokenLen, descending: true };
    let (page, took) = timed(|| store.examples_page(&filtered, longest, 0, 100));
    rows.push(Row { what: "grid: filtered + sorted page", took, goal: Some(Duration::from_millis(20)), note: format!("strategy B, >= 40 tokens, longest first: {}", page?.total) });
    for word in ["pemberley", "insufferable gossip"] {
        let search = ExampleFilter { text: Some(word.into()), ..Default::default() };
        let (page, took) = timed(|| store.examples_page(&search, Sort::default(), 0, 100));
        rows.push(Row { what: "search (page + count)", took, goal: Some(Duration::from_millis(100)), note: format!("{word:?}: {} hits", page?.total) });
    }
    let (stats, took) = timed(|| store.examples_stats(&all));
    rows.push(Row { what: "stats bar", took, goal: None, note: format!("{} histogram buckets", stats?.histogram.len()) });

    let (out, took) = timed(|| store.examples_bulk(&Target::Filter(all.clone()), &BulkOp::SetStatus(Status::Approved), "Approve all"));
    rows.push(Row { what: "bulk approve all", took, goal: Some(Duration::from_secs(1)), note: format!("{} changed", out?.changed) });
    let (out, took) = timed(|| store.review_undo());
    rows.push(Row { what: "undo that bulk action", took, goal: None, note: format!("{} restored", out?.map_or(0, |o| o.restored)) });
    let (out, took) = timed(|| store.review_redo());
    rows.push(Row { what: "redo it", took, goal: None, note: format!("{} restored", out?.map_or(0, |o| o.restored)) });

    let (out, took) = timed(|| store.examples_bulk(&Target::Filter(all.clone()), &BulkOp::SetStatus(Status::Rejected), "Reject all"));
    rows.push(Row { what: "bulk reject all", took, goal: Some(Duration::from_secs(1)), note: format!("{} changed; checkpoint on a background connection", out?.changed) });
    let (out, took) = timed(|| store.review_undo());
    rows.push(Row { what: "undo it", took, goal: None, note: format!("{} restored", out?.map_or(0, |o| o.restored)) });
    let export = dir.path().join("export");
    let options = ExportOptions { system_prompt: Some("You are Elizabeth Bennet.".into()), val_fraction: 0.1, seed: 1 };
    let (report, took) = timed(|| export_dir(&store, &export, &options, &counter));
    let report = report?;
    rows.push(Row {
        what: "export (train + validation)",
        took,
        goal: Some(Duration::from_secs(2)),
        note: format!("{} train, {} validation", report.train, report.validation),
    });

    let review = Review::new(&store, &counter);
    let mut rng = Rng(7);
    let mut times = Vec::new();
    for k in 0..500 {
        let id = 1 + rng.below(count) as i64;
        let mut messages = store.example(id)?.messages;
        if let Some(last) = messages.last_mut() {
            last.content = format!("{} {}", rng.sentence(5, 20), k);
        }
        let (result, took) = timed(|| review.edit_messages(id, messages));
        result?;
        times.push(took);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = background.join();
    times.sort();
    let goal = Some(Duration::from_millis(10));
    rows.push(Row { what: "one edit committed (median)", took: times[times.len() / 2], goal, note: "turns + flags + revision + FTS".into() });
    rows.push(Row { what: "one edit committed (p99)", took: times[times.len() * 99 / 100], goal, note: "500 edits, background checkpoints".into() });
    rows.push(Row { what: "one edit committed (max)", took: times[times.len() - 1], goal: None, note: String::new() });
    let ((), took) = timed(|| {
        let _ = store.example_undo(1);
    });
    rows.push(Row { what: "per-example undo", took, goal: None, note: String::new() });

    let size = std::fs::metadata(&path)?.len() + std::fs::metadata(path.with_extension("db-wal")).map(|m| m.len()).unwrap_or(0);
    println!("Review bench: {count} examples, database + WAL {:.0} MiB\n", size as f64 / (1 << 20) as f64);
    println!("| {:<30} | {:>11} | {:>8} | {:<4} | {}", "operation", "time", "goal", "ok", "note");
    println!("|{}|{}|{}|{}|{}", "-".repeat(32), "-".repeat(13), "-".repeat(10), "-".repeat(6), "-".repeat(40));
    for r in rows {
        let goal = r.goal.map(ms).unwrap_or_default();
        let ok = match r.goal {
            Some(g) if r.took <= g => "yes",
            Some(_) => "NO",
            None => "",
        };
        println!("| {:<30} | {:>11} | {:>8} | {:<4} | {}", r.what, ms(r.took), goal, ok, r.note);
    }
    Ok(())
}
