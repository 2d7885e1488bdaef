//! What the core test files share.
// Not every test binary uses every helper.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use grimoire_core::{BulkInput, ExportInput, ImportJsonlInput, Service, TrainConfig};
use grimoire_store::table::examples::{BulkOp, ExampleFilter, Status, Target};

/// The folder of the built-in model installed by the set-up (`scripts/setup.sh`), as tests find it:
/// `GRIMOIRE_MODEL_PATH`, or the user's data folder. Fails, never skips, when it is missing.
pub fn builtin_model_dir() -> PathBuf {
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".local/share"));
    let path =
        std::env::var_os("GRIMOIRE_MODEL_PATH").map(PathBuf::from).unwrap_or_else(|| data.join("grimoire/models/SmolLM2-135M-Instruct.Q4_1.gguf"));
    assert!(path.exists(), "{} is missing: run scripts/setup.sh to install the built-in model", path.display());
    path.parent().expect("a file has a folder").to_path_buf()
}

/// Ten question-and-answer examples in Elizabeth Bennet's voice imported into `project`, approved
/// and exported (80/20) under its `exports/`.
pub fn approve_and_export(service: &Service, project: &str, root: &Path) {
    let lines: Vec<String> = (0..10)
        .map(|i| {
            serde_json::json!({"messages": [
                {"role": "system", "content": "You are Elizabeth Bennet."},
                {"role": "user", "content": format!("Question {i}?")},
                {"role": "assistant", "content": format!("Answer {i}, with all my heart.")}
            ]})
            .to_string()
        })
        .collect();
    let file = root.join("data.jsonl");
    std::fs::write(&file, lines.join("\n")).unwrap();
    service.import_jsonl(ImportJsonlInput { project: project.into(), file: file.display().to_string(), tag: None }).unwrap();
    service
        .bulk_examples(BulkInput { project: project.into(), target: Target::Filter(ExampleFilter::all()), op: BulkOp::SetStatus(Status::Approved) })
        .unwrap();
    service.export_examples(ExportInput { project: project.into(), out: None, val_fraction: 0.2, seed: 1, system_prompt: None, tokenizer: None }).unwrap();
}

/// Training settings that finish in seconds on the built-in model: two steps of rank 2 on q and v.
pub fn two_steps() -> TrainConfig {
    let mut c = TrainConfig::preset("cpu-quick").unwrap();
    c.max_steps = Some(2);
    c.batch_size = 2;
    c.max_seq_len = 64;
    c.lora.r = 2;
    c.lora.alpha = 4.0;
    c.eval_every = 0;
    c.warmup_steps = Some(0);
    c
}
