use grimoire_llm::{Cache, LoraAdapter, Model, Tensor};

use crate::common;

/// Mean cross-entropy over positions whose label is not -100 (labels shifted as transformers does).
fn assistant_loss(
    model: &Model,
    ids: &[u32],
    labels: &[i64],
    adapter: Option<&LoraAdapter>,
) -> f32 {
    let mut cache = Cache::new(&model.llama, 1);
    let logits = model
        .llama
        .forward(ids, &mut cache, adapter)
        .expect("forward");
    let logp = candle_nn::ops::log_softmax(&logits, 1).expect("log_softmax");
    let rows: Vec<Vec<f32>> = logp.to_vec2().expect("rows");
    let (mut sum, mut n) = (0f32, 0);
    for t in 0..ids.len() - 1 {
        let label = labels[t + 1];
        if label >= 0 {
            sum -= rows[t][label as usize];
            n += 1;
        }
    }
    sum / n as f32
}

fn check(model: &Model, expected: &serde_json::Value, adapter: Option<&LoraAdapter>, what: &str) {
    let reference = common::reference("peft/reference.json");
    let ids = common::ids(&reference["full_ids"]);
    let labels: Vec<i64> = reference["labels"]
        .as_array()
        .expect("labels")
        .iter()
        .map(|v| v.as_i64().expect("label"))
        .collect();
    let loss = assistant_loss(model, &ids, &labels, adapter);
    let want = expected["assistant_only_loss"].as_f64().expect("loss") as f32;
    eprintln!("{what}: loss {loss:.5}, PyTorch {want:.5}");
    assert!((loss - want).abs() < 0.01, "{what}: loss {loss} vs {want}");

    let prompt = common::ids(&reference["prompt_ids"]);
    let mut cache = Cache::new(&model.llama, 1);
    let logits: Vec<f32> = model
        .llama
        .forward_last(&prompt, &mut cache, adapter)
        .expect("forward")
        .to_vec1()
        .expect("logits");
    let mut max_diff = 0f32;
    for pair in expected["prompt_last_logits_top20"]
        .as_array()
        .expect("top20")
    {
        let id = pair[0].as_u64().expect("id") as usize;
        max_diff = max_diff.max((logits[id] - pair[1].as_f64().expect("logit") as f32).abs());
    }
    eprintln!("{what}: top-20 logits within {max_diff:.4}");
    assert!(
        max_diff < 0.05,
        "{what}: top-20 logits differ by {max_diff}"
    );
}

#[test]
fn f32_loss_and_logits_equal_pytorch_without_adapter() {
    let reference = common::reference("peft/reference.json");
    check(common::f32(), &reference["base"], None, "base");
}

#[test]
fn f32_loss_and_logits_equal_pytorch_with_peft_adapter() {
    let model = common::f32();
    let adapter = model
        .load_adapter(&common::reference_dir().join("peft/adapter"))
        .unwrap_or_else(|e| panic!("{e:#}"));
    let reference = common::reference("peft/reference.json");
    check(model, &reference["with_adapter"], Some(&adapter), "adapter");
}

/// An adapter `grimoire train` wrote, as Python PEFT loaded and ran it (fixture README): our runtime
/// must compute the same with it, so what we save is what PEFT reads, q/k row layout included.
#[test]
fn an_adapter_grimoire_trained_computes_what_python_peft_computes_with_it() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/grimoire-adapter");
    let pytorch: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("pytorch.json")).expect("pytorch.json"),
    )
    .expect("json");
    assert_eq!(pytorch["peft"]["lora_tensors"], 420, "PEFT loaded every LoRA tensor");
    assert_eq!(pytorch["peft"]["nonzero_lora_B"], 210, "and every lora_B was trained");
    let model = common::f32();
    check(model, &pytorch["base"], None, "base, as transformers loads the GGUF");
    let adapter = model.load_adapter(&dir).unwrap_or_else(|e| panic!("{e:#}"));
    check(model, &pytorch["with_adapter"], Some(&adapter), "grimoire adapter in PEFT");
}

#[test]
fn adapter_is_unmerged_and_shared() {
    // The base is untouched by an adapter: without it the logits are the base's again.
    let model = common::f32();
    let adapter = model
        .load_adapter(&common::reference_dir().join("peft/adapter"))
        .expect("adapter");
    let ids = model.tokenizer.encode("Hello world").expect("encode");
    let run = |a: Option<&LoraAdapter>| -> Tensor {
        let mut cache = Cache::new(&model.llama, 1);
        model
            .llama
            .forward_last(&ids, &mut cache, a)
            .expect("forward")
    };
    let base1 = run(None);
    let with = run(Some(&adapter));
    let base2 = run(None);
    let d = |a: &Tensor, b: &Tensor| -> f32 {
        (a - b)
            .expect("sub")
            .abs()
            .expect("abs")
            .max_all()
            .expect("max")
            .to_scalar()
            .expect("scalar")
    };
    assert!(d(&base1, &with) > 1e-3);
    assert_eq!(d(&base1, &base2), 0.0);
}

#[test]
fn adapter_over_quantised_base_keeps_pytorch_top_token() {
    let model = common::q4_1();
    let adapter = model
        .load_adapter(&common::reference_dir().join("peft/adapter"))
        .expect("adapter");
    let reference = common::reference("peft/reference.json");
    let prompt = common::ids(&reference["prompt_ids"]);
    let mut cache = Cache::new(&model.llama, 1);
    let logits: Vec<f32> = model
        .llama
        .forward_last(&prompt, &mut cache, Some(&adapter))
        .expect("forward")
        .to_vec1()
        .expect("logits");
    let top = logits
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i as u64);
    assert_eq!(
        top,
        reference["with_adapter"]["prompt_last_logits_top20"][0][0].as_u64()
    );
}

#[test]
fn one_token_path_applies_the_adapter_as_tensor_ops_do() {
    let model = common::q4_1();
    let adapter = model
        .load_adapter(&common::reference_dir().join("peft/adapter"))
        .expect("adapter");
    let prompt = common::ids(&common::reference("peft/reference.json")["prompt_ids"]);
    common::assert_decode_paths_agree(model, &prompt, 6, Some(&adapter), 1.0);
}
