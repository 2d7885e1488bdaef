//! Times import and attribution of a novel (Pride and Prejudice by default) and prints a table.
//!
//! `cargo run --release -p grimoire-corpus --example bench -- [FILE] [RUNS]`

use std::time::{Duration, Instant};

use grimoire_corpus::{ExampleOptions, analyze_book, attribute, build_examples, find_characters, find_quotes, import_text_bytes};

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| "../shared/corpus/novels/PrideAndPrejudice.txt".into());
    let runs: u32 = args.next().and_then(|r| r.parse().ok()).unwrap_or(10);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("cannot read {path}: {e}");
            std::process::exit(2);
        }
    };
    let mut t = [Duration::ZERO; 4];
    let mut last = (0, 0, 0, 0);
    for _ in 0..runs {
        let s = Instant::now();
        let Ok((book, _)) = import_text_bytes(&bytes) else {
            eprintln!("import failed");
            std::process::exit(1);
        };
        let a = Instant::now();
        let quotes = find_quotes(&book);
        let b = Instant::now();
        let chars = find_characters(&book, &quotes);
        let c = Instant::now();
        let atts = attribute(&book, &quotes, &chars);
        let d = Instant::now();
        t[0] += a - s;
        t[1] += b - a;
        t[2] += c - b;
        t[3] += d - c;
        last = (book.paragraphs.len(), quotes.len(), chars.list.len(), atts.iter().filter(|x| x.speaker.is_some()).count());
    }
    let ms = |d: Duration| d.as_secs_f64() * 1000.0 / f64::from(runs);
    println!("{path}: {} bytes, {} paragraphs, {} quotes, {} characters, {} attributed ({runs} runs, one thread)", bytes.len(), last.0, last.1, last.2, last.3);
    println!("| stage                    | ms/run |");
    println!("|--------------------------|--------|");
    println!("| decode + segment         | {:>6.1} |", ms(t[0]));
    println!("| quotations               | {:>6.1} |", ms(t[1]));
    println!("| characters               | {:>6.1} |", ms(t[2]));
    println!("| attribution              | {:>6.1} |", ms(t[3]));
    println!("| total (goal < 200)       | {:>6.1} |", ms(t[0] + t[1] + t[2] + t[3]));
    // Strategy A for the most quoted character, once.
    if let Ok((book, _)) = import_text_bytes(&bytes) {
        let a = analyze_book(book);
        if let Some(p) = a.top_speaker() {
            let s = Instant::now();
            let ex = build_examples(&a, p, &ExampleOptions::default());
            let el = s.elapsed().as_secs_f64() * 1000.0;
            let name = a.characters.get(p).map_or("?", |c| c.name.as_str());
            let scenes = ex.iter().filter(|e| e.scene).count();
            println!("| examples for {name}: {} lines + {scenes} scenes | {el:>6.1} |", ex.len() - scenes);
        }
    }
}
