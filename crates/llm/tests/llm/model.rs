use grimoire_llm::{Cache, Model};

use crate::common;

/// Greedy continuation of `prompt` for up to `n` tokens, stopping at a stop id.
fn greedy(model: &Model, prompt: &[u32], n: usize) -> (Vec<f32>, Vec<u32>) {
    let mut cache = Cache::new(&model.llama, 1);
    let logits = model
        .llama
        .forward_last(prompt, &mut cache, None)
        .expect("forward");
    let first: Vec<f32> = logits.to_vec1().expect("logits");
    let mut next = argmax(&first);
    let mut out = vec![next];
    while out.len() < n && !model.tokenizer.stop_ids().contains(&next) {
        let logits = model
            .llama
            .forward_last(&[next], &mut cache, None)
            .expect("forward");
        next = argmax(&logits.to_vec1().expect("logits"));
        out.push(next);
    }
    (first, out)
}

fn argmax(v: &[f32]) -> u32 {
    v.iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(i, _)| i as u32)
}

#[test]
fn q4_1_top_token_and_first_greedy_tokens_equal_llama_cpp() {
    check_llama_cpp(common::q4_1(), "Q4_1");
}

#[test]
fn q8_0_conversion_keeps_llama_cpp_tokens() {
    check_llama_cpp(common::q8_0(), "Q4_1 as Q8_0");
}

fn check_llama_cpp(model: &Model, what: &str) {
    let reference = common::reference("llamacpp_q4_1.json");
    for (n, case) in reference["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .enumerate()
    {
        let prompt = common::ids(&case["prompt_ids"]);
        let expected = common::ids(&case["greedy_ids"]);
        let (logits, got) = greedy(model, &prompt, 12);
        let top20 = case["last_logits_top20"].as_array().expect("top20");
        let max_diff = top20
            .iter()
            .map(|p| {
                (logits[p[0].as_u64().expect("id") as usize] - p[1].as_f64().expect("logit") as f32)
                    .abs()
            })
            .fold(0f32, f32::max);
        eprintln!(
            "{what} case {n}: top-20 logits within {max_diff:.3} of llama.cpp; greedy {got:?}"
        );
        assert_eq!(got[0], expected[0], "case {n}: top token");
        let k = 8.min(expected.len());
        assert_eq!(got[..k], expected[..k], "case {n}: first greedy tokens");
    }
}

#[test]
fn logits_for_all_positions_agree_with_incremental_decoding() {
    let model = common::f32();
    let prompt = model
        .tokenizer
        .encode("It is a truth universally acknowledged")
        .expect("encode");
    let mut cache = Cache::new(&model.llama, 1);
    let all = model
        .llama
        .forward(&prompt, &mut cache, None)
        .expect("forward");
    assert_eq!(all.dims(), [prompt.len(), model.llama.config().vocab_size]);
    let mut cache = Cache::new(&model.llama, 1);
    let head = model
        .llama
        .forward_last(&prompt[..4], &mut cache, None)
        .expect("forward");
    let mut last = head;
    for id in &prompt[4..] {
        last = model
            .llama
            .forward_last(&[*id], &mut cache, None)
            .expect("forward");
    }
    let full_last = all.get(prompt.len() - 1).expect("row");
    let diff = (full_last - last)
        .expect("sub")
        .abs()
        .expect("abs")
        .max_all()
        .expect("max");
    let diff: f32 = diff.to_scalar().expect("scalar");
    assert!(diff < 1e-3, "cached decoding differs by {diff}");
}

#[test]
fn one_token_path_equals_tensor_ops_on_q4_1_and_q8_0() {
    for model in [common::q4_1(), common::q8_0()] {
        let prompt = model
            .tokenizer
            .encode("It is a truth universally acknowledged")
            .expect("encode");
        common::assert_decode_paths_agree(model, &prompt, 6, None, 1.0);
    }
}

#[test]
fn one_token_path_keeps_the_sliding_window_and_the_adapter() {
    use grimoire_llm::{
        AdapterConfig, GgmlDType, LoadOptions, LoraAdapter, LoraPair, Proj, WeightFormat,
    };
    let dir = tempfile::tempdir().expect("tempdir");
    tiny_hf_folder_with(dir.path(), Some(4));
    let opts = LoadOptions {
        format: WeightFormat::Quantized(GgmlDType::Q8_0),
        ..LoadOptions::default()
    };
    let model = Model::load(dir.path(), &opts).expect("load");
    let prompt: Vec<u32> = (100..103).collect();
    common::assert_decode_paths_agree(&model, &prompt, 8, None, 1e-4);

    // A random rank-4 adapter on every projection of every layer.
    let cfg = model.llama.config();
    let config: AdapterConfig =
        serde_json::from_value(serde_json::json!({"r": 4, "lora_alpha": 8.0})).expect("config");
    let mut adapter = LoraAdapter::empty(cfg.num_hidden_layers, config);
    let dev = candle_core::Device::Cpu;
    // Fixed pseudo-random values in [-0.5, 0.5), so a failure reproduces.
    let mut state = 7u64;
    let mut values = |n: usize| -> Vec<f32> {
        (0..n)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
            })
            .collect()
    };
    for layer in 0..cfg.num_hidden_layers {
        for proj in Proj::ALL {
            let (out_dim, in_dim) = cfg.proj_dims(proj);
            let pair = LoraPair {
                a: candle_core::Tensor::from_vec(values(4 * in_dim), (4, in_dim), &dev).expect("a"),
                b: candle_core::Tensor::from_vec(values(out_dim * 4), (out_dim, 4), &dev)
                    .expect("b"),
                scale: 2.0,
            };
            adapter.set(layer, proj, pair);
        }
    }
    // The two paths add the LoRA product in different orders, and both then round each
    // activation block to 8 bits: a last-bit difference can move one rounding, which shifts a
    // logit by about a hundredth (seen once in CI, with random adapters). A wrongly applied
    // adapter is off by whole units, and the greedy tokens must still agree.
    common::assert_decode_paths_agree(&model, &prompt, 8, Some(&adapter), 0.05);
    // The adapter is applied: its logits are not the base model's.
    let step = |adapter: Option<&LoraAdapter>| -> Vec<f32> {
        let mut cache = Cache::new(&model.llama, 1);
        model
            .llama
            .forward_last(&prompt, &mut cache, adapter)
            .expect("prompt");
        model
            .llama
            .forward_last(&[7], &mut cache, adapter)
            .expect("step")
            .to_vec1()
            .expect("row")
    };
    let (base, tuned) = (step(None), step(Some(&adapter)));
    let moved = base
        .iter()
        .zip(&tuned)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(moved > 1e-2, "the adapter moved the logits by only {moved}");
}

/// Writes a tiny random llama as a Hugging Face folder, with the built-in model's tokenizer.
fn tiny_hf_folder(dir: &std::path::Path) {
    tiny_hf_folder_with(dir, None);
}

fn tiny_hf_folder_with(dir: &std::path::Path, sliding_window: Option<usize>) {
    use candle_core::{DType, Device, Tensor};
    let (vocab, d, ff, layers, heads, kv) = (49152usize, 64usize, 128usize, 2usize, 4usize, 2usize);
    let config = serde_json::json!({
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "hidden_size": d, "intermediate_size": ff, "num_hidden_layers": layers,
        "num_attention_heads": heads, "num_key_value_heads": kv, "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0, "max_position_embeddings": 256, "vocab_size": vocab,
        "tie_word_embeddings": true, "torch_dtype": "float32", "sliding_window": sliding_window
    });
    std::fs::write(dir.join("config.json"), config.to_string()).expect("config");
    let dev = Device::Cpu;
    let rand = |shape: &[usize]| Tensor::randn(0f32, 0.1, shape, &dev).expect("randn");
    let mut t = std::collections::HashMap::new();
    t.insert("model.embed_tokens.weight".to_owned(), rand(&[vocab, d]));
    t.insert(
        "model.norm.weight".to_owned(),
        Tensor::ones(d, DType::F32, &dev).expect("ones"),
    );
    let hd = d / heads;
    for i in 0..layers {
        let p = format!("model.layers.{i}");
        t.insert(
            format!("{p}.input_layernorm.weight"),
            Tensor::ones(d, DType::F32, &dev).expect("ones"),
        );
        t.insert(
            format!("{p}.post_attention_layernorm.weight"),
            Tensor::ones(d, DType::F32, &dev).expect("ones"),
        );
        t.insert(
            format!("{p}.self_attn.q_proj.weight"),
            rand(&[heads * hd, d]),
        );
        t.insert(format!("{p}.self_attn.k_proj.weight"), rand(&[kv * hd, d]));
        t.insert(format!("{p}.self_attn.v_proj.weight"), rand(&[kv * hd, d]));
        t.insert(
            format!("{p}.self_attn.o_proj.weight"),
            rand(&[d, heads * hd]),
        );
        t.insert(format!("{p}.mlp.gate_proj.weight"), rand(&[ff, d]));
        t.insert(format!("{p}.mlp.up_proj.weight"), rand(&[ff, d]));
        t.insert(format!("{p}.mlp.down_proj.weight"), rand(&[d, ff]));
    }
    candle_core::safetensors::save(&t, dir.join("model.safetensors")).expect("save");
    common::q4_1()
        .tokenizer
        .save(&dir.join("tokenizer.json"))
        .expect("tokenizer");
    let tc = serde_json::json!({ "chat_template": common::q4_1().template.source(), "eos_token": "<|im_end|>" });
    std::fs::write(dir.join("tokenizer_config.json"), tc.to_string()).expect("tokenizer_config");
}

#[test]
fn hf_folder_loads_dense_and_quantised_at_load() {
    use grimoire_llm::{GgmlDType, LoadOptions, WeightFormat};
    let dir = tempfile::tempdir().expect("tempdir");
    tiny_hf_folder(dir.path());
    let load = |format| {
        Model::load(
            dir.path(),
            &LoadOptions {
                format,
                ..LoadOptions::default()
            },
        )
        .unwrap_or_else(|e| panic!("{e:#}"))
    };
    let dense = load(WeightFormat::AsStored);
    let q8 = load(WeightFormat::Quantized(GgmlDType::Q8_0));
    assert!(matches!(
        q8.llama
            .linear(0, grimoire_llm::Proj::Up)
            .expect("up")
            .base(),
        candle_core::quantized::QMatMul::QTensor(_)
    ));
    assert_eq!(dense.info.architecture, "llama");
    // The tokenizer.json written from the GGUF tokenizer reads back to the same ids.
    let text = "Numbers 1234567 and <|im_start|>user\nHi<|im_end|>";
    assert_eq!(
        dense.tokenizer.encode(text).expect("ids"),
        common::q4_1().tokenizer.encode(text).expect("ids")
    );
    let prompt = dense
        .template
        .render(&[grimoire_llm::Message::user("Hi")], true)
        .expect("render");
    let ids = dense.tokenizer.encode_prompt(&prompt).expect("ids");
    let run = |m: &Model| -> Vec<f32> {
        let mut cache = Cache::new(&m.llama, 1);
        m.llama
            .forward_last(&ids, &mut cache, None)
            .expect("forward")
            .to_vec1()
            .expect("logits")
    };
    let (a, b) = (run(&dense), run(&q8));
    let max_diff = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max);
    let scale = a.iter().map(|x| x.abs()).fold(0f32, f32::max);
    assert!(
        max_diff < 0.05 * scale,
        "Q8_0 logits differ by {max_diff} (scale {scale})"
    );
}

#[test]
fn truncated_safetensors_is_a_named_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    tiny_hf_folder(dir.path());
    let path = dir.path().join("model.safetensors");
    let bytes = std::fs::read(&path).expect("read");
    std::fs::write(&path, &bytes[..bytes.len() / 2]).expect("write");
    let e = Model::load(dir.path(), &grimoire_llm::LoadOptions::default())
        .expect_err("truncated file loaded");
    let msg = e.to_string();
    assert!(
        msg.contains("model.safetensors") && msg.contains("truncated"),
        "{msg}"
    );
}

#[test]
fn sliding_window_cached_decoding_equals_full_forward() {
    use grimoire_llm::{LoadOptions, WeightFormat};
    let dir = tempfile::tempdir().expect("tempdir");
    tiny_hf_folder_with(dir.path(), Some(4));
    let model = Model::load(
        dir.path(),
        &LoadOptions {
            format: WeightFormat::F32,
            ..LoadOptions::default()
        },
    )
    .expect("load");
    let ids: Vec<u32> = (100..112).collect();
    let mut cache = Cache::new(&model.llama, 1);
    let all: Vec<Vec<f32>> = model
        .llama
        .forward(&ids, &mut cache, None)
        .expect("forward")
        .to_vec2()
        .expect("rows");
    let mut cache = Cache::new(&model.llama, 1);
    for (i, id) in ids.iter().enumerate() {
        let step: Vec<f32> = model
            .llama
            .forward_last(&[*id], &mut cache, None)
            .expect("step")
            .to_vec1()
            .expect("row");
        let diff = step
            .iter()
            .zip(&all[i])
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(diff < 1e-4, "position {i}: {diff}");
    }
    // The window matters: the same ids without it give other logits at the end.
    let dir2 = tempfile::tempdir().expect("tempdir");
    std::fs::copy(
        dir.path().join("model.safetensors"),
        dir2.path().join("model.safetensors"),
    )
    .expect("copy");
    std::fs::copy(
        dir.path().join("tokenizer.json"),
        dir2.path().join("tokenizer.json"),
    )
    .expect("copy");
    let config = std::fs::read_to_string(dir.path().join("config.json"))
        .expect("config")
        .replace("\"sliding_window\":4", "\"sliding_window\":null");
    std::fs::write(dir2.path().join("config.json"), config).expect("config");
    let full = Model::load(
        dir2.path(),
        &LoadOptions {
            format: WeightFormat::F32,
            ..LoadOptions::default()
        },
    )
    .expect("load");
    let mut cache = Cache::new(&full.llama, 1);
    let last: Vec<f32> = full
        .llama
        .forward_last(&ids, &mut cache, None)
        .expect("forward")
        .to_vec1()
        .expect("row");
    let diff = last
        .iter()
        .zip(&all[ids.len() - 1])
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(diff > 1e-3, "window had no effect");
}
