//! Held-out balanced accuracy of the persona classifier on a book's own dialogue.
//!
//! `cargo run --release -p grimoire-eval --example classifier -- BOOK.txt "Persona Name" [SEED...]`
//!
//! Prints, per split seed, the nested cross-validation report on the book's attributed lines
//! (the persona's against everybody else's) and the time it took. `SPLIT=design` measures on
//! four fifths of the lines only (a fixed hash of the text), which is where choices were made;
//! `SPLIT=lockbox` trains on those and scores the last fifth once.

use std::time::Instant;

use grimoire_eval::{
    ClassifierOptions, PersonaClassifier, lines_from_analysis, normalise, same_person, words,
};

fn in_lockbox(text: &str) -> bool {
    let h = normalise(text)
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
        });
    h % 5 == 0
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(book), Some(persona)) = (args.next(), args.next()) else {
        return Err("usage: classifier BOOK.txt \"Persona Name\" [SEED...]".into());
    };
    let mut seeds: Vec<u64> = args.map(|s| s.parse()).collect::<Result<_, _>>()?;
    if seeds.is_empty() {
        seeds.push(ClassifierOptions::default().seed);
    }
    let analysis = grimoire_corpus::analyze_bytes(&std::fs::read(&book)?)?;
    let lines = lines_from_analysis(&analysis);
    let samples: Vec<(&str, bool)> = lines
        .iter()
        .filter_map(|l| {
            let speaker = l.speaker.as_deref()?;
            Some((l.text.as_str(), same_person(speaker, &persona, &[])))
        })
        .collect();
    let split = std::env::var("SPLIT").unwrap_or_default();
    let design: Vec<(&str, bool)> = samples
        .iter()
        .copied()
        .filter(|s| !in_lockbox(s.0))
        .collect();
    if split == "lockbox" {
        let model = PersonaClassifier::train(&design, &ClassifierOptions::default());
        let test: Vec<(&str, bool)> = samples
            .iter()
            .copied()
            .filter(|s| in_lockbox(s.0) && words(s.0).len() >= 4)
            .collect();
        let recall = |class: bool| {
            let of: Vec<&str> = test.iter().filter(|s| s.1 == class).map(|s| s.0).collect();
            let right = of.iter().filter(|t| model.is_persona(t) == class).count();
            right as f64 / of.len().max(1) as f64
        };
        let (p, o) = (recall(true), recall(false));
        println!(
            "lockbox: {} lines, balanced accuracy {:.3} (persona recall {p:.3}, other recall {o:.3})",
            test.len(),
            (p + o) / 2.0
        );
        return Ok(());
    }
    let samples = if split == "design" { design } else { samples };
    println!(
        "| seed | persona / other lines | balanced accuracy | persona recall | other recall | C | seconds |"
    );
    println!("|---|---|---|---|---|---|---|");
    for seed in seeds {
        let options = ClassifierOptions {
            seed,
            ..ClassifierOptions::default()
        };
        let t = Instant::now();
        let (model, r) = PersonaClassifier::fit(&samples, &options);
        println!(
            "| {seed} | {} / {} | {:.3} | {:.3} | {:.3} | {} | {:.1} |",
            r.persona_lines,
            r.other_lines,
            r.balanced_accuracy,
            r.persona_recall,
            r.other_recall,
            model.c(),
            t.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
