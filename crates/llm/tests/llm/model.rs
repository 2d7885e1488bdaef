use grimoire_llm::{Cache, Model};

use crate::common;

/// Greedy continuation of `prompt` for up to `n` tokens, stopping at a stop id.
fn greedy(model: &Model, prompt: &[u32], n: usize) -> (Vec<f32>, Vec<u32>) {
    let mut cache = Cache::new(&model.llama, 1);
    let logits = model.llama.forward_last(prompt, &mut cache, None).expect("forward");
    let first: Vec<f32> = logits.to_vec1().expect("logits");
    let mut next = argmax(&first);
    let mut out = vec![next];
    while out.len() < n && !model.tokenizer.stop_ids().contains(&next) {
        let logits = model.llama.forward_last(&[next], &mut cache, None).expect("forward");
        next = argmax(&logits.to_vec1().expect("logits"));
        out.push(next);
    }
    (first, out)
}

fn argmax(v: &[f32]) -> u32 {
    v.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map_or(0, |(i, _)| i as u32)
}

#[test]
fn q4_1_top_token_and_first_greedy_tokens_equal_llama_cpp() {
    let model = common::q4_1();
    let reference = common::reference("llamacpp_q4_1.json");
    for (n, case) in reference["cases"].as_array().expect("cases").iter().enumerate() {
        let prompt = common::ids(&case["prompt_ids"]);
        let expected = common::ids(&case["greedy_ids"]);
        let (logits, got) = greedy(model, &prompt, 12);
        let top20 = case["last_logits_top20"].as_array().expect("top20");
        let max_diff = top20
            .iter()
            .map(|p| (logits[p[0].as_u64().expect("id") as usize] - p[1].as_f64().expect("logit") as f32).abs())
            .fold(0f32, f32::max);
        eprintln!("case {n}: top-20 logits within {max_diff:.3} of llama.cpp; greedy {got:?}");
        assert_eq!(got[0], expected[0], "case {n}: top token");
        let k = 8.min(expected.len());
        assert_eq!(got[..k], expected[..k], "case {n}: first greedy tokens");
    }
}

#[test]
fn logits_for_all_positions_agree_with_incremental_decoding() {
    let model = common::f32();
    let prompt = model.tokenizer.encode("It is a truth universally acknowledged").expect("encode");
    let mut cache = Cache::new(&model.llama, 1);
    let all = model.llama.forward(&prompt, &mut cache, None).expect("forward");
    assert_eq!(all.dims(), [prompt.len(), model.llama.config().vocab_size]);
    let mut cache = Cache::new(&model.llama, 1);
    let head = model.llama.forward_last(&prompt[..4], &mut cache, None).expect("forward");
    let mut last = head;
    for id in &prompt[4..] {
        last = model.llama.forward_last(&[*id], &mut cache, None).expect("forward");
    }
    let full_last = all.get(prompt.len() - 1).expect("row");
    let diff = (full_last - last).expect("sub").abs().expect("abs").max_all().expect("max");
    let diff: f32 = diff.to_scalar().expect("scalar");
    assert!(diff < 1e-3, "cached decoding differs by {diff}");
}
