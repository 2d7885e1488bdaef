//! Prompt and decode speed of the built-in model in each weight format, as a table.
//!
//! `cargo run --release -p grimoire-llm --example bench [-- --threads N]`
//! Each format runs in a child process (so peak RSS is its own) with N candle threads (default 2):
//! a 184-token prompt, then 127 greedy tokens, as in the llama.cpp figures of issue 5. When
//! llama-cpp-python is installed (`pip install llama-cpp-python`), llama.cpp runs the same prompt
//! on the same file and threads, and the table ends with the ratio.

use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use grimoire_llm::sampling::argmax;
use grimoire_llm::{Cache, GgmlDType, LoadOptions, Model, WeightFormat, built_in_model_path};

const PROMPT_TOKENS: usize = 184;
const DECODE_TOKENS: usize = 127;
const PASSAGE: &str = "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife. However little known the feelings or views of such a man may be on his first entering a neighbourhood, this truth is so well fixed in the minds of the surrounding families, that he is considered the rightful property of some one or other of their daughters. \"My dear Mr. Bennet,\" said his lady to him one day, \"have you heard that Netherfield Park is let at last?\" Mr. Bennet replied that he had not. \"But it is,\" returned she; \"for Mrs. Long has just been here, and she told me all about it.\" Mr. Bennet made no answer. \"Do you not want to know who has taken it?\" cried his wife impatiently. \"You want to tell me, and I have no objection to hearing it.\" This was invitation enough.";

fn format_of(name: &str) -> Result<WeightFormat> {
    Ok(match name {
        "stored" => WeightFormat::AsStored,
        "fast" => WeightFormat::Fast,
        "f32" => WeightFormat::F32,
        "q8_0" => WeightFormat::Quantized(GgmlDType::Q8_0),
        "q4_0" => WeightFormat::Quantized(GgmlDType::Q4_0),
        other => bail!("unknown format {other}"),
    })
}

/// llama.cpp through llama-cpp-python: same ids, same threads; prints `prompt_tps decode_tps rss_mb`.
const LLAMA_CPP: &str = r#"
import resource, sys, time
import llama_cpp
path, threads, ids = sys.argv[1], int(sys.argv[2]), [int(t) for t in sys.argv[3].split(",")]
llm = llama_cpp.Llama(model_path=path, n_threads=threads, n_threads_batch=threads, n_ctx=512, n_batch=512, verbose=False)
llm.eval(ids[:8]); llm.reset()
t = time.perf_counter(); llm.eval(ids); prompt = time.perf_counter() - t
t = time.perf_counter()
for _ in range(int(sys.argv[4])):
    llm.eval([ids[-1]])
decode = time.perf_counter() - t
print(len(ids) / prompt, int(sys.argv[4]) / decode, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"#;

fn prompt_ids(model: &Model) -> Result<Vec<u32>> {
    let mut prompt = model.tokenizer.encode(PASSAGE)?;
    while prompt.len() < PROMPT_TOKENS {
        prompt.extend_from_within(..);
    }
    prompt.truncate(PROMPT_TOKENS);
    Ok(prompt)
}

/// Runs llama.cpp if llama-cpp-python is importable; `None` otherwise.
fn llama_cpp(threads: &str) -> Result<Option<Vec<f64>>> {
    let available = Command::new("python3")
        .args(["-c", "import llama_cpp"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !available {
        return Ok(None);
    }
    let path = built_in_model_path().context("no data dir")?;
    let model = Model::load(&path, &LoadOptions::default())?;
    let ids: Vec<String> = prompt_ids(&model)?.iter().map(u32::to_string).collect();
    let out = Command::new("python3")
        .args([
            "-c",
            LLAMA_CPP,
            &path.to_string_lossy(),
            threads,
            &ids.join(","),
            &DECODE_TOKENS.to_string(),
        ])
        .output()?;
    if !out.status.success() {
        bail!("llama.cpp: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(Some(
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect(),
    ))
}

/// One measurement, printed as `prompt_tps decode_tps peak_rss_mb`.
fn measure(format: &str) -> Result<()> {
    let path = built_in_model_path().context("no data dir")?;
    let opts = LoadOptions {
        format: format_of(format)?,
        ..LoadOptions::default()
    };
    let model = Model::load(&path, &opts).with_context(|| format!("loading {}", path.display()))?;
    let prompt = prompt_ids(&model)?;
    // Warm-up (first-touch allocation, repacking).
    let mut cache = Cache::new(&model.llama, 1);
    model.llama.forward_last(&prompt[..8], &mut cache, None)?;

    let mut cache = Cache::new(&model.llama, 1);
    let t = Instant::now();
    let logits = model.llama.forward_last(&prompt, &mut cache, None)?;
    let prompt_s = t.elapsed().as_secs_f64();
    let mut next = argmax(&logits.to_vec1()?);
    let t = Instant::now();
    for _ in 0..DECODE_TOKENS {
        let logits = model.llama.forward_last(&[next], &mut cache, None)?;
        next = argmax(&logits.to_vec1()?);
    }
    let decode_s = t.elapsed().as_secs_f64();
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let rss_kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    println!(
        "{} {} {}",
        PROMPT_TOKENS as f64 / prompt_s,
        DECODE_TOKENS as f64 / decode_s,
        rss_kb / 1024.0
    );
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--measure") {
        return measure(args.get(i + 1).context("--measure FORMAT")?);
    }
    let threads = args
        .iter()
        .position(|a| a == "--threads")
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| "2".into());
    let exe = std::env::current_exe()?;
    println!(
        "SmolLM2-135M-Instruct, {PROMPT_TOKENS}-token prompt, {DECODE_TOKENS} decoded, {threads} threads\n"
    );
    println!("| engine | weights | prompt tok/s | decode tok/s | peak RSS |");
    println!("|---|---|---|---|---|");
    println!("| llama.cpp (issue 5, another machine) | Q4_1 (as shipped) | 327 | 110 | 191 MB |");
    let reference = llama_cpp(&threads)?;
    if let Some(v) = reference.as_ref().filter(|v| v.len() == 3) {
        println!(
            "| llama.cpp (now) | Q4_1 (as shipped) | {:.0} | {:.1} | {:.0} MB |",
            v[0], v[1], v[2]
        );
    }
    let mut default_row = None;
    for (format, label) in [
        ("stored", "Q4_1 (as shipped)"),
        ("q8_0", "Q8_0 (converted at load)"),
        ("q4_0", "Q4_0 (converted at load)"),
        ("f32", "f32 (dequantised)"),
    ] {
        let out = Command::new(&exe)
            .args(["--measure", format])
            .env("CANDLE_NUM_THREADS", &threads)
            .env("RAYON_NUM_THREADS", &threads)
            .output()?;
        if !out.status.success() {
            bail!("{format}: {}", String::from_utf8_lossy(&out.stderr));
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let v: Vec<f64> = text
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        if v.len() != 3 {
            bail!("{format}: unexpected output {text}");
        }
        println!(
            "| grimoire-llm (candle) | {label} | {:.0} | {:.1} | {:.0} MB |",
            v[0], v[1], v[2]
        );
        if format == "stored" {
            default_row = Some(v);
        }
    }
    match (reference.filter(|v| v.len() == 3), default_row) {
        (Some(r), Some(v)) => println!(
            "\ndefault format vs llama.cpp: prompt {:.2}×, decode {:.2}×",
            v[0] / r[0],
            v[1] / r[1]
        ),
        _ => println!(
            "\n(llama.cpp not installed: `pip install llama-cpp-python` to run it side by side)"
        ),
    }
    Ok(())
}
