//! Prints what `grimoire quotes FILE --json` and `grimoire characters FILE --json` print, one JSON
//! object per line: `cargo run -p grimoire-corpus --example quotes -- FILE [characters|reasons]`; `reasons` prints
//! each quotation's role, speaker, reason and the one it calls, if any.

use std::io::Write;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: quotes FILE [characters]");
        std::process::exit(2);
    };
    let analysis = match std::fs::read(&path).map_err(|e| e.to_string()).and_then(|b| grimoire_corpus::analyze_bytes(&b).map_err(|e| e.to_string())) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    let mode = args.next();
    let mut out = std::io::stdout().lock();
    if mode.as_deref() == Some("reasons") {
        for (q, a) in analysis.quotes.iter().zip(&analysis.attributions) {
            let who = a.speaker.and_then(|s| analysis.characters.get(s)).map_or("-", |c| c.name.as_str());
            let to = a.addressee.and_then(|s| analysis.characters.get(s)).map(|c| format!(" (to {})", c.name)).unwrap_or_default();
            if writeln!(out, "{:?} {who} [{}]{to} {:?}", q.role, a.reason, analysis.book.slice(q.inner).chars().take(60).collect::<String>()).is_err() {
                return; // closed pipe
            }
        }
        return;
    }
    let lines: Vec<String> = if mode.as_deref() == Some("characters") {
        analysis.character_records().iter().filter_map(|r| serde_json::to_string(r).ok()).collect()
    } else {
        analysis.quote_records().iter().filter_map(|r| serde_json::to_string(r).ok()).collect()
    };
    for l in lines {
        if writeln!(out, "{l}").is_err() {
            return;
        }
    }
}
