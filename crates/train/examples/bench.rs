//! Training speed on the built-in model: SmolLM2-135M, LoRA r=16 alpha 32 on all seven
//! projections, batches of 4 × 256 tokens, AdamW, 2 threads (`-- --threads N --steps N`).
//! Prints a markdown table: s/step, tokens/s, peak RSS, with and without activation
//! checkpointing, and the estimate for the same run. `-- --only on|off` runs one of the two.
//!
//! `cargo run --release -p grimoire-train --example bench`

use std::sync::atomic::AtomicBool;

use grimoire_llm::{LoadOptions, Message, Model, WeightFormat, built_in_model_path};
use grimoire_train::{DataSource, Example, ModelFacts, TrainConfig, TrainEvent, Trainer, estimate};

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// CPU seconds (user + system) this process has used, all threads: steadier than wall time on a
/// shared machine.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|v| v.parse::<f64>().ok()))
        .sum();
    ticks / 100.0
}

fn main() -> anyhow::Result<()> {
    let threads = arg("--threads", 2);
    let steps = arg("--steps", 3);
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()?;
    let path = built_in_model_path().ok_or_else(|| anyhow::anyhow!("no data dir"))?;
    let opts = LoadOptions {
        format: WeightFormat::AsStored,
        max_context: 256,
        ..LoadOptions::default()
    };
    let model = Model::load(&path, &opts)?;
    // Conversations long enough that every one is cut to exactly 256 tokens (user text from
    // the left), half of it reply.
    let words = "It is a truth universally acknowledged that a single man in possession of a good fortune must be in want of a wife ";
    let examples: Vec<Example> = (0..4 * (steps + 1))
        .map(|i| Example {
            messages: vec![
                Message::system("You are Elizabeth Bennet."),
                Message::user(format!("{i} {}", words.repeat(12))),
                Message::assistant(words.repeat(5)),
            ],
        })
        .collect();
    println!("| checkpointing | s/step | tokens/s | peak RSS | estimate s/step | estimate RSS |");
    println!("|---|---|---|---|---|---|");
    let args: Vec<String> = std::env::args().collect();
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .map(|v| v == "on");
    for checkpointing in [true, false] {
        if only.is_some_and(|o| o != checkpointing) {
            continue;
        }
        let config = TrainConfig {
            batch_size: 4,
            max_seq_len: 256,
            epochs: 1,
            max_steps: Some(steps + 1),
            eval_every: 0,
            checkpoint_every: 0,
            activation_checkpointing: checkpointing,
            ..TrainConfig::default()
        };
        let dir = tempfile::tempdir()?;
        let data = DataSource::Examples {
            train: examples.clone(),
            validation: vec![],
        };
        let mut trainer = Trainer::with_model(model.clone(), data, config.clone(), dir.path())?;
        let mut times = Vec::new();
        let mut last = std::time::Instant::now();
        let mut last_cpu = cpu_seconds();
        let mut tokens = 0;
        let mut rss: f64 = 0.0;
        trainer.run(&AtomicBool::new(false), &mut |e| {
            if let TrainEvent::Step(p) = e {
                let now = std::time::Instant::now();
                let cpu = cpu_seconds();
                // The first step warms caches and allocations; it is not counted.
                if p.step > 1 {
                    times.push((now - last).as_secs_f64());
                    tokens += 4 * 256;
                }
                rss = rss.max(p.peak_rss_mb);
                eprintln!(
                    "step {} loss {:.4} {:.1} tok/s, {:.1} s wall, {:.1} CPU s",
                    p.step,
                    p.train_loss,
                    p.tokens_per_s,
                    (now - last).as_secs_f64(),
                    cpu - last_cpu
                );
                last = now;
                last_cpu = cpu;
            }
        })?;
        let secs: f64 = times.iter().sum::<f64>() / times.len().max(1) as f64;
        let est = estimate(
            &ModelFacts::read(&path)?,
            &config,
            trainer.stats(),
            threads,
            false,
        );
        println!(
            "| {} | {:.2} | {:.0} | {:.2} GB | {:.2} | {:.2} GB |",
            if checkpointing { "on" } else { "off" },
            secs,
            tokens as f64 / times.iter().sum::<f64>(),
            rss / 1000.0,
            est.seconds_per_step,
            est.peak_memory_bytes as f64 / 1e9,
        );
        // Peak RSS is per process: the second row's includes the first's.
    }
    Ok(())
}
