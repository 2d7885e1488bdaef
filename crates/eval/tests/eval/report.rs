use std::sync::atomic::AtomicBool;

use grimoire_eval::{EvalOptions, EvalRequest, ModelKind, evaluate, find_control, read_report};
use grimoire_llm::Message;
use grimoire_train::{DataSource, Example, LoraConfig, Target, TrainConfig, Trainer};

use crate::common::{PERSONA, model_path, sample_lines};

fn example(q: &str, a: &str) -> Example {
    Example {
        messages: vec![
            Message::system("You are Elizabeth Bennet."),
            Message::user(q),
            Message::assistant(a),
        ],
    }
}

/// Two steps on four short conversations: enough to make an adapter that differs from the base.
fn tiny_run(dir: &std::path::Path) {
    let train = vec![
        example("What of Mr. Darcy?", "He is the proudest man."),
        example("Will you dance?", "Not with him, I assure you."),
        example("How is Jane?", "Jane is the sweetest creature."),
        example("What of Mr. Collins?", "He is a pompous man."),
    ];
    let validation = vec![
        example("Shall we walk?", "With pleasure, the morning is fine."),
        example("Do you laugh at him?", "I dearly love a laugh."),
    ];
    let config = TrainConfig {
        lora: LoraConfig {
            r: 2,
            alpha: 4.0,
            dropout: 0.0,
            use_rslora: false,
            targets: vec![Target::QProj, Target::VProj],
        },
        epochs: 1,
        batch_size: 2,
        max_seq_len: 48,
        learning_rate: 5e-3,
        warmup_steps: Some(1),
        eval_every: 0,
        ..TrainConfig::default()
    };
    let mut t = Trainer::new(
        &model_path(),
        DataSource::Examples { train, validation },
        config,
        dir,
    )
    .unwrap_or_else(|e| panic!("{e:#}"));
    t.run(&AtomicBool::new(false), &mut |_| {})
        .unwrap_or_else(|e| panic!("{e:#}"));
}

#[test]
fn a_tiny_run_gets_a_report_with_losses_persona_scores_style_and_plots() {
    let tmp = tempfile::tempdir().expect("tmp");
    let run = tmp.path().join("runs/run-1");
    tiny_run(&run);
    assert_eq!(find_control(&run), None);
    let req = EvalRequest {
        run_dir: &run,
        base_model: &model_path(),
        control_dir: None,
        persona: PERSONA,
        aliases: &[],
        lines: sample_lines(),
        options: EvalOptions {
            max_prompts: 2,
            max_tokens: 8,
            ..EvalOptions::default()
        },
    };
    let mut steps = 0;
    let report = evaluate(&req, None, &AtomicBool::new(false), &mut |_, _, _| {
        steps += 1
    })
    .unwrap_or_else(|e| panic!("{e:#}"));
    let json = serde_json::to_value(&report).expect("json");
    eprintln!("{}", serde_json::to_string_pretty(&json).expect("json"));
    let l = &report.losses;
    for f in [&l.base, &l.tuned] {
        assert!(f.loss.is_finite() && f.loss > 0.0, "{f:?}");
        assert!((f.perplexity - f.loss.exp()).abs() < 1e-9);
        assert_eq!(f.examples, 2);
        assert!(f.tokens > 5);
    }
    assert_ne!(l.base.loss, l.tuned.loss, "the adapter changed nothing");
    assert!(l.control.is_none() && report.control.run.is_none());
    assert!(report.control.note.contains("control_for"));
    let kinds: Vec<ModelKind> = report.persona_scores.iter().map(|p| p.model).collect();
    assert_eq!(kinds, [ModelKind::Canon, ModelKind::Base, ModelKind::Tuned]);
    for p in &report.persona_scores {
        assert_eq!(p.replies, 2);
        assert!((0.0..=1.0).contains(&p.judged_persona));
    }
    assert_eq!(report.style.len(), 3);
    assert_eq!(report.style[0].figures.canon_word_recall, 1.0);
    assert!(report.signature_words.len() >= 10);
    assert!(report.classifier.balanced_accuracy > 0.5);
    assert_eq!(report.samples.len(), 2);
    assert!(!report.samples[0].tuned.is_empty());
    assert!(steps > 4);
    let eval = run.join("eval");
    for f in [
        "report.json",
        "perplexity.png",
        "persona.png",
        "compare.png",
    ] {
        let bytes = std::fs::read(eval.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert!(bytes.len() > 100);
    }
    assert_eq!(report.plots.len(), 3);
    let stored = read_report(&run).expect("stored");
    assert_eq!(
        (&stored.samples, &stored.compare),
        (&report.samples, &report.compare)
    );
    assert_eq!(report.compare.len(), 1);
    assert_eq!(report.compare[0].run, "run-1");
    // The run's own validation figure and ours come from the same loss.
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).expect("summary"))
            .expect("json");
    let val = summary["val_loss"].as_f64().expect("val_loss");
    assert!(
        (val - l.tuned.loss).abs() < 1e-3,
        "{val} vs {}",
        l.tuned.loss
    );
}
