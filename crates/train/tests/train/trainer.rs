use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use candle_core::{Device, Tensor};
use grimoire_llm::{CancelToken, GenerateParams, Message, Model};
use grimoire_train::{
    DataSource, Example, LoraConfig, Metric, RunStatus, Target, TrainConfig, TrainEvent, Trainer,
    read_metrics,
};

use crate::common;

fn persona_examples() -> Vec<Example> {
    let pairs = [
        (
            "What do you think of Mr. Darcy?",
            "He is the proudest man in the world.",
        ),
        ("Will you dance?", "Not with him, I assure you."),
        ("How is Jane?", "Jane is the sweetest creature alive."),
        (
            "Do you like to read?",
            "I take great pleasure in many things.",
        ),
        (
            "What of Mr. Collins?",
            "He is a conceited, pompous, narrow-minded man.",
        ),
        ("Shall we walk?", "With pleasure, the morning is fine."),
    ];
    pairs
        .iter()
        .map(|(q, a)| Example {
            messages: vec![
                Message::system("You are Elizabeth Bennet."),
                Message::user(*q),
                Message::assistant(*a),
            ],
        })
        .collect()
}

fn small_config() -> TrainConfig {
    TrainConfig {
        lora: LoraConfig {
            r: 4,
            alpha: 8.0,
            dropout: 0.1,
            use_rslora: false,
            targets: Target::ALL.to_vec(),
        },
        epochs: 2,
        batch_size: 2,
        grad_accum: 1,
        max_seq_len: 64,
        learning_rate: 2e-3,
        warmup_steps: Some(1),
        eval_every: 2,
        checkpoint_every: 2,
        ..TrainConfig::default()
    }
}

fn data() -> DataSource {
    let ex = persona_examples();
    DataSource::Examples {
        train: ex[..5].to_vec(),
        validation: ex[5..].to_vec(),
    }
}

fn trainer(config: TrainConfig, dir: &Path, data: DataSource) -> Trainer {
    Trainer::with_model(common::model().clone(), data, config, dir)
        .unwrap_or_else(|e| panic!("{e:#}"))
}

fn adapter_tensors(dir: &Path) -> HashMap<String, Tensor> {
    candle_core::safetensors::load(dir.join("adapter_model.safetensors"), &Device::Cpu)
        .expect("adapter")
}

#[test]
fn training_lowers_the_loss_and_writes_a_peft_run_folder() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("run");
    let mut t = trainer(small_config(), &dir, data());
    assert_eq!(t.total_steps(), 6);
    let mut events = Vec::new();
    let summary = t
        .run(&AtomicBool::new(false), &mut |e| events.push(e))
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(summary.status, RunStatus::Completed);
    assert_eq!(summary.steps, 6);
    let losses: Vec<f64> = events
        .iter()
        .filter_map(|e| match e {
            TrainEvent::Step(p) => Some(p.train_loss),
            _ => None,
        })
        .collect();
    eprintln!("losses {losses:?}, val {:?}", summary.val_loss);
    assert_eq!(losses.len(), 6);
    let first = (losses[0] + losses[1] + losses[2]) / 3.0;
    let last = (losses[3] + losses[4] + losses[5]) / 3.0;
    assert!(last < first * 0.8, "loss did not fall: {losses:?}");

    // PEFT's keys and shapes: A (r, in), B (out, r), 7 projections × 30 layers.
    let tensors = adapter_tensors(&dir);
    assert_eq!(tensors.len(), 2 * 7 * 30);
    let a = &tensors["base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"];
    let b = &tensors["base_model.model.model.layers.29.mlp.down_proj.lora_B.weight"];
    let k = &tensors["base_model.model.model.layers.3.self_attn.k_proj.lora_B.weight"];
    assert_eq!(a.dims(), &[4, 576]);
    assert_eq!(b.dims(), &[576, 4]);
    assert_eq!(k.dims(), &[192, 4]);
    let config: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("adapter_config.json")).expect("config"),
    )
    .expect("json");
    assert_eq!(config["peft_type"], "LORA");
    assert_eq!(config["r"], 4);
    assert_eq!(
        config["target_modules"].as_array().expect("targets").len(),
        7
    );

    let metrics = read_metrics(&dir.join("metrics.jsonl")).expect("metrics");
    let evals = metrics
        .iter()
        .filter(|m| matches!(m, Metric::Eval { .. }))
        .count();
    assert_eq!((metrics.len() - evals, evals), (6, 3));
    for f in [
        "loss.png",
        "config.json",
        "summary.json",
        "data/train.jsonl",
        "data/validation.jsonl",
        "data/data.json",
    ] {
        assert!(dir.join(f).exists(), "{f} missing");
    }
    assert!(!dir.join("checkpoint").exists());
    // The grimoire-llm PEFT loader reads it back.
    common::model().load_adapter(&dir).expect("loads");
}

#[test]
fn a_cancelled_run_resumes_to_the_same_end_as_an_uninterrupted_one() {
    let tmp = tempfile::tempdir().expect("tmp");
    let config = TrainConfig {
        epochs: 1,
        grad_accum: 2,
        batch_size: 1,
        checkpoint_every: 100,
        ..small_config()
    };
    let whole = tmp.path().join("whole");
    let mut t = trainer(config.clone(), &whole, data());
    assert_eq!(t.total_steps(), 3);
    let a = t.run(&AtomicBool::new(false), &mut |_| {}).expect("run");

    let split = tmp.path().join("split");
    let cancel = AtomicBool::new(false);
    let mut t = trainer(config.clone(), &split, data());
    let b1 = t
        .run(&cancel, &mut |e| {
            if let TrainEvent::Step(p) = e
                && p.step == 1
            {
                cancel.store(true, Ordering::Relaxed);
            }
        })
        .expect("first half");
    assert_eq!(b1.status, RunStatus::Cancelled);
    assert_eq!(b1.steps, 1);
    assert!(split.join("checkpoint/state.json").exists());
    assert!(!split.join("adapter_model.safetensors").exists());

    // A new process: a new trainer on the same folder.
    let mut t = trainer(config, &split, data());
    let mut resumed_from = None;
    let b = t
        .run(&AtomicBool::new(false), &mut |e| {
            if let TrainEvent::Started {
                resumed_from: r, ..
            } = e
            {
                resumed_from = r;
            }
        })
        .expect("resume");
    assert_eq!(resumed_from, Some(1));
    assert_eq!(b.status, RunStatus::Completed);
    assert_eq!(b.steps, 3);
    let (la, lb) = (a.train_loss.expect("a"), b.train_loss.expect("b"));
    assert!((la - lb).abs() < 1e-5, "final loss {la} vs {lb}");
    let (ta, tb) = (adapter_tensors(&whole), adapter_tensors(&split));
    for (name, x) in &ta {
        let diff: f32 = (x - &tb[name])
            .expect("diff")
            .abs()
            .expect("abs")
            .max_all()
            .expect("max")
            .to_scalar()
            .expect("scalar");
        assert!(diff < 1e-5, "{name} differs by {diff}");
    }
    // The metric curve continues: one line per step, none repeated.
    let steps: Vec<usize> = read_metrics(&split.join("metrics.jsonl"))
        .expect("metrics")
        .iter()
        .filter_map(|m| match m {
            Metric::Train { step, .. } => Some(*step),
            _ => None,
        })
        .collect();
    assert_eq!(steps, vec![1, 2, 3]);
}

#[test]
fn a_memorised_line_comes_back_through_the_peft_loader_and_the_merged_model() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("run");
    let line = "The moon is made of green cheese, my dear.";
    let ex = Example {
        messages: vec![
            Message::system("You are Elizabeth Bennet."),
            Message::user("Tell me the secret."),
            Message::assistant(line),
        ],
    };
    let config = TrainConfig {
        lora: LoraConfig {
            r: 8,
            alpha: 16.0,
            dropout: 0.0,
            ..LoraConfig::default()
        },
        epochs: 20,
        batch_size: 1,
        max_seq_len: 64,
        learning_rate: 3e-3,
        warmup_steps: Some(2),
        eval_every: 0,
        ..TrainConfig::default()
    };
    let mut t = trainer(
        config,
        &dir,
        DataSource::Examples {
            train: vec![ex.clone()],
            validation: vec![],
        },
    );
    let s = t.run(&AtomicBool::new(false), &mut |_| {}).expect("run");
    eprintln!("final loss {:?}", s.train_loss);
    assert!(s.train_loss.expect("loss") < 0.05);

    let model = common::model();
    let adapter = model.load_adapter(&dir).expect("PEFT loader");
    let params = GenerateParams {
        sampling: grimoire_llm::SamplingParams::greedy(),
        max_tokens: 24,
        ..GenerateParams::default()
    };
    let prompt = &ex.messages[..2];
    let reply = grimoire_llm::chat(
        model,
        Some(&adapter),
        prompt,
        &params,
        &CancelToken::new(),
        &mut |_| {},
    )
    .expect("chat");
    eprintln!("reply: {:?}", reply.text);
    assert!(reply.text.contains(line), "{:?}", reply.text);
    let base = grimoire_llm::chat(
        model,
        None,
        prompt,
        &params,
        &CancelToken::new(),
        &mut |_| {},
    )
    .expect("chat");
    assert!(!base.text.contains(line));

    // Merged into the base and saved as a Hugging Face folder, it answers the same.
    let merged = tmp.path().join("merged");
    grimoire_train::merge(&dir, &common::model_path(), &merged).expect("merge");
    for f in [
        "model.safetensors",
        "config.json",
        "tokenizer.json",
        "tokenizer_config.json",
    ] {
        assert!(merged.join(f).exists(), "{f} missing");
    }
    let m = Model::load(&merged, &grimoire_llm::LoadOptions::default()).expect("merged loads");
    let reply = grimoire_llm::chat(&m, None, prompt, &params, &CancelToken::new(), &mut |_| {})
        .expect("chat");
    assert!(reply.text.contains(line), "merged: {:?}", reply.text);
}
