use grimoire_llm::{ChatRequest, Engine, Event, GenerateParams, Message, SamplingParams};

use crate::common;

fn request(text: &str, adapter: Option<&str>) -> ChatRequest {
    ChatRequest {
        messages: vec![Message::user(text)],
        params: GenerateParams {
            sampling: SamplingParams::greedy(),
            max_tokens: 6,
            stop: vec![],
        },
        adapter: adapter.map(str::to_owned),
        prefix: String::new(),
    }
}

#[test]
fn queued_requests_from_two_callers_both_complete() {
    let engine = Engine::start(common::q8_0().clone()).expect("engine");
    engine
        .load_adapter("eliza", &common::reference_dir().join("peft/adapter"))
        .expect("adapter");
    assert_eq!(engine.adapters(), ["eliza"]);
    let a = engine
        .chat(request("What is your name?", None))
        .expect("queue");
    let b = engine
        .chat(request("What is your name?", Some("eliza")))
        .expect("queue");
    let mut chunks = 0;
    let done_a = a.wait(&mut |_| chunks += 1).expect("a");
    let done_b = b.wait(&mut |_| {}).expect("b");
    assert_eq!(done_a.tokens.len(), 6);
    assert_eq!(done_b.tokens.len(), 6);
    assert!(chunks > 0);

    let missing = engine.chat(request("Hi", Some("nobody"))).expect("queue");
    assert!(matches!(missing.events.recv(), Ok(Event::Error(_))));
}

#[test]
fn adapter_for_another_base_is_refused() {
    let engine = Engine::start(common::q8_0().clone()).expect("engine");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("adapter_config.json"),
        r#"{"r": 4, "lora_alpha": 8, "peft_type": "LORA"}"#,
    )
    .expect("write");
    let dev = grimoire_llm::Device::Cpu;
    let a = grimoire_llm::Tensor::zeros((4, 2048), candle_core::DType::F32, &dev).expect("a");
    let b = grimoire_llm::Tensor::zeros((2048, 4), candle_core::DType::F32, &dev).expect("b");
    let tensors = std::collections::HashMap::from([
        (
            "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight".to_owned(),
            a,
        ),
        (
            "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight".to_owned(),
            b,
        ),
    ]);
    candle_core::safetensors::save(&tensors, dir.path().join("adapter_model.safetensors"))
        .expect("save");
    let e = engine
        .load_adapter("other", dir.path())
        .expect_err("mismatched adapter loaded");
    let msg = e.to_string();
    assert!(
        msg.contains("adapter_model.safetensors") && msg.contains("another base model"),
        "{msg}"
    );
}

fn long_request(text: &str, adapter: Option<&str>, max_tokens: usize) -> ChatRequest {
    let mut r = request(text, adapter);
    r.params.max_tokens = max_tokens;
    r
}

#[test]
fn two_replies_stream_together_and_cancelling_one_leaves_the_other() {
    let engine = Engine::start(common::q8_0().clone()).expect("engine");
    engine
        .load_adapter("eliza", &common::reference_dir().join("peft/adapter"))
        .expect("adapter");
    let prompt = "Tell me about your family.";
    let alone = engine
        .chat(long_request(prompt, Some("eliza"), 10))
        .expect("queue")
        .wait(&mut |_| {})
        .expect("alone");

    let base = engine
        .chat(long_request("Describe a long walk in the country.", None, 400))
        .expect("queue");
    let tuned = engine
        .chat(long_request(prompt, Some("eliza"), 10))
        .expect("queue");
    let together = tuned.wait(&mut |_| {}).expect("tuned");
    // Each request has its own cache: interleaving does not change a greedy reply.
    assert_eq!(together.tokens, alone.tokens);
    // The base reply was streaming all the while, and is not over.
    let so_far: Vec<Event> = base.events.try_iter().collect();
    assert!(
        so_far.iter().any(|e| matches!(e, Event::Chunk(_))),
        "the base reply made no progress while the tuned one ran"
    );
    assert!(!so_far.iter().any(|e| matches!(e, Event::Done(_))));

    // Cancelling one stream leaves another running to its end.
    let other = engine
        .chat(long_request(prompt, Some("eliza"), 10))
        .expect("queue");
    base.cancel.cancel();
    let stopped = base.wait(&mut |_| {}).expect("base");
    assert_eq!(stopped.finish, grimoire_llm::FinishReason::Cancelled);
    let finished = other.wait(&mut |_| {}).expect("other");
    assert_eq!(finished.tokens, alone.tokens);
}

#[test]
fn a_prefix_starts_the_reply_and_the_model_continues_it() {
    let engine = Engine::start(common::q8_0().clone()).expect("engine");
    let ask = "Write one question about the sea, as JSON.";
    let mut free = request(ask, None);
    free.params.max_tokens = 24;
    let mut held = free.clone();
    held.prefix = "{\"question\": \"".into();
    held.params.stop = vec!["\"".into()];
    let free = engine.chat(free).expect("queue").wait(&mut |_| {}).expect("free");
    let held = engine.chat(held).expect("queue").wait(&mut |_| {}).expect("held");
    // The reply is only what follows the prefix, up to the closing quote of the string.
    assert!(!held.text.is_empty() && !held.text.contains('"'), "{:?}", held.text);
    assert!(!held.text.starts_with('{'), "{:?}", held.text);
    // Its prompt is longer by the prefix's tokens, and what it says differs from the free reply.
    assert!(held.prompt_tokens > free.prompt_tokens);
    assert_ne!(held.text, free.text);
}
