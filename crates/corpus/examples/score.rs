//! Scores quotation detection and speaker attribution against LitBank's quotation layer.
//!
//! `cargo run --release -p grimoire-corpus --example score -- DIR [--verbose | --rules]`
//!
//! `--verbose` lists every missed, extra and wrongly attributed quotation with its reason, each
//! quotation wrongly given to the persona (PERSONA-FP), and each entity that several predicted
//! characters map to (SPLIT); `--rules` adds how often each attribution rule was right and wrong,
//! beside the mean confidence it gave. `SCORE_GREP=TEXT` lists each matched quotation whose reason
//! contains TEXT, right or wrong; `SCORE_PERSONA_DUMP=1` lists every attribution to the persona
//! with its confidence and rule, for reading the precision-recall curve.
//!
//! Detection matches predicted and gold quotations one-to-one by span overlap. A predicted
//! character counts as the gold entity whose names (aliases) it shares (the "name mapping" rows);
//! the other rows also map characters no name links (narrators, "his mother") to the gold entity
//! they agree with on most of their quotations; speaker accuracy is over
//! all gold quotations (missed ones count as wrong). Persona precision and recall are for each
//! excerpt's most frequent gold speaker, summed over excerpts. The goal's row, the best persona
//! precision at recall ≥ 80%, counts the persona's speech: the lines strategy A makes examples of
//! (a thought is listed and attributed, but no reply to anyone); the row above it counts thoughts
//! too.

use std::collections::HashMap;
use std::path::Path;

use grimoire_corpus::{Analysis, QuoteRole, analyze_text};

#[derive(serde::Deserialize)]
struct Gold {
    start: usize,
    end: usize,
    speaker: Option<String>,
}

#[derive(serde::Deserialize)]
struct GoldChar {
    aliases: Vec<String>,
    n_quotes: usize,
}

const TITLES: &[&str] = &["mrs", "mr", "miss", "ms", "dr", "sir", "lady", "lord", "captain", "colonel", "master", "aunt", "uncle"];

fn norm(s: &str) -> String {
    s.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

/// Words of a name without a leading article ("the boy", "a_girl" → "boy", "girl").
fn norm_words(s: &str) -> String {
    let words: Vec<&str> = s.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
    let skip = usize::from(words.len() > 1 && matches!(words[0].to_lowercase().as_str(), "the" | "a" | "an"));
    norm(&words[skip..].join(""))
}

fn strip_title(s: &str) -> &str {
    for t in TITLES {
        if let Some(r) = s.strip_prefix(t)
            && r.len() >= 3 {
                return r;
            }
    }
    s
}

fn map_characters(a: &Analysis, gold: &HashMap<String, GoldChar>) -> HashMap<String, String> {
    // Each predicted character's name-match score with each gold entity.
    let scores: Vec<(&String, Vec<(u32, &String)>)> = a
        .characters
        .list
        .iter()
        .map(|c| {
            let names: Vec<String> = std::iter::once(&c.name).chain(&c.aliases).map(|n| norm_words(n)).collect();
            let matches = gold
                .keys()
                .filter_map(|id| {
                    let g = &gold[id];
                    let gnames: Vec<String> = g.aliases.iter().map(|n| norm(n)).chain(std::iter::once(norm_words(id.rsplit_once('-').map_or(id.as_str(), |x| x.0)))).collect();
                    let mut score = 0;
                    for p in &names {
                        for q in &gnames {
                            let (ps, qs) = (strip_title(p), strip_title(q));
                            let s = if p == q {
                                4
                            } else if ps == qs {
                                3
                            } else if ps.len() >= 3 && qs.len() >= 3 && (qs.ends_with(ps) || qs.starts_with(ps) || ps.ends_with(qs) || ps.starts_with(qs)) {
                                1
                            } else {
                                0
                            };
                            score = score.max(s);
                        }
                    }
                    (score > 0).then_some((score, id))
                })
                .collect();
            (&c.name, matches)
        })
        .collect();
    // An entity some character matches by its full name is that character's; a character that
    // matches several entities only in part ("Miss Pinkerton": Barbara and Jemima Pinkerton) takes
    // one not already named so (or none: the majority fallback then maps it), then the one with
    // more quotes.
    let claimed: std::collections::HashSet<&String> = scores.iter().flat_map(|(_, m)| m.iter().filter(|(s, _)| *s >= 3).map(|(_, id)| *id)).collect();
    let mut out = HashMap::new();
    for (name, matches) in &scores {
        let Some(top) = matches.iter().map(|(s, _)| *s).max() else { continue };
        let best = matches
            .iter()
            .filter(|(s, id)| *s == top && (top >= 3 || !claimed.contains(id)))
            .max_by_key(|(_, id)| (gold[*id].n_quotes, std::cmp::Reverse(*id)))
            .map(|(_, id)| *id);
        if let Some(id) = best {
            out.insert((*name).clone(), id.clone());
        }
    }
    out
}

#[derive(Default, Clone)]
struct Tally {
    gold: usize,
    pred: usize,
    matched: usize,
    speaker_ok: usize,
    persona_gold: usize,
    persona_pred: usize,
    persona_ok: usize,
    /// Persona (predicted, correct) among attributions with confidence >= 0.5, 0.6, 0.7, 0.9.
    persona_at: [(usize, usize); 4],
    /// Each attribution to the persona: its confidence and whether it is right.
    persona_curve: Vec<(f32, bool)>,
    /// The same for speech alone, the lines strategy A turns into examples (not thoughts).
    persona_speech_curve: Vec<(f32, bool)>,
}

/// An attribution reason without its particulars ("tag 'he' (said) → most recent Male mention"
/// → "tag '…' (…) → most recent Male mention"), so that one rule's quotations count together.
fn rule_of(reason: &str) -> String {
    let narrator = reason.contains("(narrator)");
    let head = reason.split(" / ").next().unwrap_or(reason);
    // "tag: said", "subject of the line before: Jo": the verb or the name goes.
    let head = match head.split_once(": ") {
        Some((rule, rest)) if rule == "tag" || rest.starts_with(char::is_uppercase) => rule,
        _ => head,
    };
    let mut out = String::new();
    let mut skip: Option<char> = None;
    for c in head.chars() {
        if let Some(end) = skip {
            if c == end {
                skip = None;
            }
            continue;
        }
        match c {
            '\'' if out.is_empty() || out.ends_with(' ') => {
                out.push_str("'…'");
                skip = Some('\'');
            }
            '(' => {
                out.push_str("(…)");
                skip = Some(')');
            }
            '0'..='9' => {
                if !out.ends_with('N') {
                    out.push('N');
                }
            }
            _ => out.push(c),
        }
    }
    if narrator {
        out.push_str(" (narrator)");
    }
    out
}

fn score_file(txt: &Path, verbose: bool, fallback: bool, rules: &mut HashMap<String, (usize, usize, f64)>) -> Option<Tally> {
    let stem = txt.to_str()?.strip_suffix(".txt")?;
    let text = std::fs::read_to_string(txt).ok()?;
    let gold: Vec<Gold> = std::fs::read_to_string(format!("{stem}.quotes.jsonl"))
        .ok()?
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let chars: HashMap<String, GoldChar> = std::fs::read_to_string(format!("{stem}.characters.json")).ok().and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default();
    let a = analyze_text(&text);
    let pred = a.quote_records();
    let reasons: Vec<&str> = a.quotes.iter().zip(&a.attributions).filter(|(q, _)| q.role.is_voiced()).map(|(_, at)| at.reason.as_str()).collect();
    let speech: Vec<bool> = a.quotes.iter().filter(|q| q.role.is_voiced()).map(|q| q.role == QuoteRole::Speech).collect();
    let mut map = map_characters(&a, &chars);
    if fallback {
        // Characters no name links to a gold entity (a narrator called "I" in the text but
        // "Pip" in the gold, "Aunt Polly" vs "Tom_s_aunt") take the entity they agree with on most
        // of their matched quotations (at least two, and more than half).
        let mut votes: HashMap<&str, HashMap<&str, usize>> = HashMap::new();
        let mut taken = vec![false; pred.len()];
        for g in &gold {
            let m = (0..pred.len()).filter(|&i| !taken[i] && pred[i].start < g.end && g.start < pred[i].end).max_by_key(|&i| pred[i].end.min(g.end) - pred[i].start.max(g.start));
            if let (Some(i), Some(gs)) = (m, &g.speaker) {
                taken[i] = true;
                if let Some(name) = pred[i].speaker.as_deref().filter(|n| !map.contains_key(*n)) {
                    *votes.entry(name).or_default().entry(gs).or_default() += 1;
                }
            }
        }
        for (name, v) in votes {
            let total: usize = v.values().sum();
            if let Some((g, n)) = v.into_iter().max_by_key(|(g, n)| (*n, std::cmp::Reverse(*g)))
                && n >= 2 && n * 2 > total {
                    map.insert(name.to_owned(), g.to_owned());
                }
        }
    }
    if verbose && fallback {
        let mut by_gold: HashMap<&str, Vec<&str>> = HashMap::new();
        for (c, g) in &map {
            by_gold.entry(g.as_str()).or_default().push(c.as_str());
        }
        let mut split: Vec<(&str, Vec<&str>)> = by_gold.into_iter().filter(|(_, cs)| cs.len() > 1).collect();
        split.sort();
        for (g, mut cs) in split {
            cs.sort();
            eprintln!("  SPLIT {g}: {cs:?}");
        }
    }
    let mut used = vec![false; pred.len()];
    let mut t = Tally { gold: gold.len(), pred: pred.len(), ..Tally::default() };
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for g in &gold {
        if let Some(s) = &g.speaker {
            *counts.entry(s).or_default() += 1;
        }
    }
    let persona = counts.iter().max_by_key(|(k, v)| (**v, std::cmp::Reverse(**k))).map(|(k, _)| k.to_string());
    let mut gold_of_pred: Vec<Option<&str>> = vec![None; pred.len()];
    for g in &gold {
        let m = (0..pred.len()).filter(|&i| !used[i] && pred[i].start < g.end && g.start < pred[i].end).max_by_key(|&i| pred[i].end.min(g.end) - pred[i].start.max(g.start));
        let predicted = m.and_then(|i| pred[i].speaker.as_ref()).and_then(|n| map.get(n));
        if let Some(i) = m {
            used[i] = true;
            t.matched += 1;
            gold_of_pred[i] = g.speaker.as_deref();
        } else if verbose {
            eprintln!("  MISSED {:?}", text.chars().skip(g.start).take(g.end - g.start).collect::<String>());
        }
        if let Some(i) = m.filter(|_| fallback) {
            if let Ok(pat) = std::env::var("SCORE_GREP")
                && reasons.get(i).is_some_and(|r| r.contains(&pat))
            {
                let ok = predicted.is_some() && predicted == g.speaker.as_ref();
                eprintln!("GREP\t{}\t{:.2}\t{}\t{:?}", if ok { "OK" } else { "BAD" }, pred[i].confidence, reasons[i], text.chars().skip(g.start).take((g.end - g.start).min(60)).collect::<String>());
            }
            let rule = rules.entry(rule_of(reasons.get(i).copied().unwrap_or(""))).or_default();
            rule.2 += f64::from(pred[i].confidence);
            if predicted.is_some() && predicted == g.speaker.as_ref() {
                rule.0 += 1;
            } else {
                rule.1 += 1;
            }
        }
        if predicted.is_some() && predicted == g.speaker.as_ref() {
            t.speaker_ok += 1;
        } else if verbose && m.is_some() {
            eprintln!("  WRONG gold={:?} pred={:?}->{:?} {:.2} [{}] {:?}", g.speaker, m.and_then(|i| pred[i].speaker.clone()), predicted, m.map_or(0.0, |i| pred[i].confidence), m.and_then(|i| reasons.get(i)).unwrap_or(&""), text.chars().skip(g.start).take((g.end - g.start).min(60)).collect::<String>());
        }
        if persona.is_some() && g.speaker == persona {
            t.persona_gold += 1;
            if verbose && predicted != g.speaker.as_ref() {
                eprintln!("  PERSONA-MISS pred={:?} {:.2} [{}] {:?}", m.and_then(|i| pred[i].speaker.clone()), m.map_or(0.0, |i| pred[i].confidence), m.and_then(|i| reasons.get(i)).unwrap_or(&""), text.chars().skip(g.start).take((g.end - g.start).min(60)).collect::<String>());
            }
        }
    }
    if verbose {
        for (i, p) in pred.iter().enumerate() {
            if !used[i] {
                eprintln!("  EXTRA {:?}", p.text.chars().take(80).collect::<String>());
            }
        }
    }
    if let Some(p) = &persona {
        for (i, q) in pred.iter().enumerate() {
            if q.speaker.as_ref().and_then(|n| map.get(n)) == Some(p) {
                let ok = gold_of_pred[i] == Some(p.as_str());
                if fallback && std::env::var_os("SCORE_PERSONA_DUMP").is_some() {
                    let role = if speech.get(i).copied().unwrap_or(true) { "speech" } else { "thought" };
                    eprintln!("PDUMP\t{}\t{:.3}\t{}\t{role}\t{}\t{:?}", u8::from(ok), q.confidence, rule_of(reasons.get(i).unwrap_or(&"")), stem.rsplit('/').next().unwrap_or(""), q.text.chars().take(60).collect::<String>());
                }
                if verbose && !ok {
                    let how = if used[i] { format!("gold={:?}", gold_of_pred[i]) } else { "extra".to_owned() };
                    eprintln!("  PERSONA-FP {how} {:.2} [{}] {:?}", q.confidence, reasons.get(i).unwrap_or(&""), q.text.chars().take(60).collect::<String>());
                }
                t.persona_pred += 1;
                t.persona_ok += usize::from(ok);
                t.persona_curve.push((q.confidence, ok));
                if speech.get(i).copied().unwrap_or(true) {
                    t.persona_speech_curve.push((q.confidence, ok));
                }
                for (k, th) in [0.5f32, 0.6, 0.7, 0.9].iter().enumerate() {
                    if q.confidence >= *th {
                        t.persona_at[k].0 += 1;
                        t.persona_at[k].1 += usize::from(ok);
                    }
                }
            }
        }
    }
    Some(t)
}

/// The highest precision over all confidence cuts whose recall is at least `min_recall`, as
/// (cut, precision %, recall %): the goal's "precision at recall" read off the whole curve rather
/// than at the four fixed cuts.
fn best_at_recall(curve: &[(f32, bool)], gold: usize, min_recall: f64) -> Option<(f32, f64, f64)> {
    let mut sorted = curve.to_vec();
    sorted.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (mut n, mut ok, mut best) = (0, 0, None::<(f32, f64, f64)>);
    for (i, &(conf, right)) in sorted.iter().enumerate() {
        n += 1;
        ok += usize::from(right);
        // A cut keeps every attribution at or above it, so only the last of equal confidences ends one.
        if sorted.get(i + 1).is_some_and(|next| next.0 == conf) {
            continue;
        }
        let (p, r) = (pct(ok, n), pct(ok, gold));
        if r >= 100.0 * min_recall && best.is_none_or(|(_, bp, _)| p > bp) {
            best = Some((conf, p, r));
        }
    }
    best
}

fn pct(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { 100.0 * a as f64 / b as f64 }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().unwrap_or_else(|| "../shared/corpus/litbank-quotes".into());
    let flag = args.next();
    let verbose = flag.as_deref() == Some("--verbose");
    let show_rules = flag.as_deref() == Some("--rules");
    let mut rules: HashMap<String, (usize, usize, f64)> = HashMap::new();
    let mut files: Vec<_> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|e| e == "txt")).collect(),
        Err(e) => {
            eprintln!("cannot read {dir}: {e}");
            std::process::exit(2);
        }
    };
    files.sort();
    let mut total = Tally::default();
    let mut names_only = Tally::default();
    println!("{:<50} {:>5} {:>5} {:>6} {:>6} {:>7}", "excerpt", "gold", "pred", "det F1", "spk %", "persona");
    for f in &files {
        if verbose {
            eprintln!("{}", f.display());
        }
        if let Some(t) = score_file(f, false, false, &mut rules) {
            names_only.speaker_ok += t.speaker_ok;
            names_only.persona_pred += t.persona_pred;
            names_only.persona_ok += t.persona_ok;
        }
        let Some(t) = score_file(f, verbose, true, &mut rules) else { continue };
        let p = pct(t.matched, t.pred);
        let r = pct(t.matched, t.gold);
        let f1 = if p + r > 0.0 { 2.0 * p * r / (p + r) } else if t.gold == 0 && t.pred == 0 { 100.0 } else { 0.0 };
        let name = f.file_stem().map(|s| s.to_string_lossy().chars().take(50).collect::<String>()).unwrap_or_default();
        println!("{:<50} {:>5} {:>5} {:>6.1} {:>6.1} {:>3}/{:<3}", name, t.gold, t.pred, f1, pct(t.speaker_ok, t.gold), t.persona_ok, t.persona_gold);
        total.gold += t.gold;
        total.pred += t.pred;
        total.matched += t.matched;
        total.speaker_ok += t.speaker_ok;
        total.persona_gold += t.persona_gold;
        total.persona_pred += t.persona_pred;
        total.persona_ok += t.persona_ok;
        for k in 0..4 {
            total.persona_at[k].0 += t.persona_at[k].0;
            total.persona_at[k].1 += t.persona_at[k].1;
        }
        total.persona_curve.extend(t.persona_curve);
        total.persona_speech_curve.extend(t.persona_speech_curve);
    }
    let p = pct(total.matched, total.pred);
    let r = pct(total.matched, total.gold);
    let f1 = if p + r > 0.0 { 2.0 * p * r / (p + r) } else { 0.0 };
    println!();
    println!("| metric                         | value  | goal   |");
    println!("|--------------------------------|--------|--------|");
    println!("| quote detection precision      | {:>5.1}% |        |", p);
    println!("| quote detection recall         | {:>5.1}% |        |", r);
    println!("| quote detection F1             | {:>5.2}  | >= 98  | {} matched, {} extra, {} missed", f1, total.matched, total.pred - total.matched, total.gold - total.matched);
    println!("| speaker accuracy, name mapping | {:>5.1}% |        |", pct(names_only.speaker_ok, total.gold));
    println!("| persona P / R, name mapping    | {:>5.1}% / {:>5.1}% |", pct(names_only.persona_ok, names_only.persona_pred), pct(names_only.persona_ok, total.persona_gold));
    println!("| with majority fallback mapping (below) |  |  |");
    println!("| speaker accuracy (all gold)    | {:>5.1}% | >= 80% | {}/{}", pct(total.speaker_ok, total.gold), total.speaker_ok, total.gold);
    println!("| persona precision, no cut      | {:>5.1}% |        |", pct(total.persona_ok, total.persona_pred));
    println!("| persona recall, no cut         | {:>5.1}% |        |", pct(total.persona_ok, total.persona_gold));
    for (k, th) in ["0.5", "0.6", "0.7", "0.9"].iter().enumerate() {
        let (n, ok) = total.persona_at[k];
        println!("| persona P / R at conf >= {th}  | {:>5.1}% / {:>5.1}% |", pct(ok, n), pct(ok, total.persona_gold));
    }
    if let Some((cut, prec, rec)) = best_at_recall(&total.persona_curve, total.persona_gold, 0.8) {
        println!("| best persona P at R >= 80%, speech and thoughts | {prec:>5.1}% / {rec:>5.1}% |  | conf >= {cut:.2}, of {} persona quotes", total.persona_gold);
    }
    if let Some((cut, prec, rec)) = best_at_recall(&total.persona_speech_curve, total.persona_gold, 0.8) {
        println!("| best persona P at R >= 80%, speech (strategy A's lines) | {prec:>5.1}% / {rec:>5.1}% | P >= 95% at R >= 80% | conf >= {cut:.2}, of {} persona quotes", total.persona_gold);
    }
    println!("| excerpts / gold quotes         | {} / {} |        |", files.len(), total.gold);
    if show_rules {
        // Over the detected gold quotations, with the majority fallback mapping.
        let mut rows: Vec<(String, (usize, usize, f64))> = rules.into_iter().collect();
        rows.sort_by_key(|(rule, (ok, bad, _))| (std::cmp::Reverse(ok + bad), rule.clone()));
        println!();
        println!("| rule | right | wrong | precision | mean confidence |");
        println!("|---|---:|---:|---:|---:|");
        for (rule, (ok, bad, conf)) in rows {
            println!("| {rule} | {ok} | {bad} | {:.1}% | {:.2} |", pct(ok, ok + bad), conf / (ok + bad).max(1) as f64);
        }
    }
}
