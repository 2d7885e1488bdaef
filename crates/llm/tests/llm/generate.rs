use grimoire_llm::{
    CancelToken, FinishReason, GenerateParams, Message, SamplingParams, chat, fit_history, generate,
};

use crate::common;

fn greedy(max_tokens: usize) -> GenerateParams {
    GenerateParams {
        sampling: SamplingParams::greedy(),
        max_tokens,
        stop: Vec::new(),
    }
}

#[test]
fn greedy_chat_streams_llama_cpp_text() {
    let model = common::q8_0();
    let reference = common::reference("llamacpp_q4_1.json");
    let case = &reference["cases"][0];
    let mut streamed = String::new();
    let done = chat(
        model,
        None,
        &common::messages(&case["messages"]),
        &greedy(10),
        &CancelToken::new(),
        &mut |t| streamed.push_str(t),
    )
    .expect("chat");
    let expected = common::ids(&case["greedy_ids"]);
    assert_eq!(done.tokens, expected[..10]);
    assert_eq!(streamed, done.text);
    assert!(
        case["greedy_text"]
            .as_str()
            .expect("text")
            .starts_with(&done.text),
        "{}",
        done.text
    );
    assert_eq!(done.finish, FinishReason::Length);
}

#[test]
fn stop_strings_cut_the_reply_and_eos_ends_it() {
    let model = common::q8_0();
    let messages = [Message::user("What is your name?")];
    let params = GenerateParams {
        stop: vec![" is".into()],
        ..greedy(20)
    };
    let done = chat(
        model,
        None,
        &messages,
        &params,
        &CancelToken::new(),
        &mut |_| {},
    )
    .expect("chat");
    assert_eq!(done.finish, FinishReason::StopString);
    assert_eq!(done.text, "My name");
    // The end-of-turn token ends generation and is not part of the text.
    let question = [Message::user("What is 2+2? Answer with a number only.")];
    let done = chat(
        model,
        None,
        &question,
        &greedy(30),
        &CancelToken::new(),
        &mut |_| {},
    )
    .expect("chat");
    assert_eq!(done.finish, FinishReason::Eos, "{:?}", done.text);
    assert_eq!(done.text, "2 + 2 = 4");
}

#[test]
fn cancel_stops_at_the_next_token() {
    let model = common::q8_0();
    let cancel = CancelToken::new();
    let c = cancel.clone();
    let prompt = model.tokenizer.encode("Once upon a time").expect("encode");
    let done = generate(model, None, &prompt, &greedy(50), &cancel, &mut |_| {
        c.cancel()
    })
    .expect("generate");
    assert_eq!(done.finish, FinishReason::Cancelled);
    assert!(done.tokens.len() < 5, "{}", done.tokens.len());
}

#[test]
fn same_seed_same_text() {
    let model = common::q8_0();
    let prompt = model.tokenizer.encode("The wizard said").expect("encode");
    let params = GenerateParams {
        sampling: SamplingParams {
            temperature: 1.0,
            seed: 3,
            ..Default::default()
        },
        max_tokens: 8,
        stop: vec![],
    };
    let run = |p: &GenerateParams| {
        generate(model, None, &prompt, p, &CancelToken::new(), &mut |_| {})
            .expect("generate")
            .tokens
    };
    assert_eq!(run(&params), run(&params));
}

#[test]
fn long_history_drops_oldest_turns_and_keeps_system() {
    let model = common::q8_0(); // context 2048 in tests
    let mut messages = vec![Message::system("You are Elizabeth Bennet.")];
    for i in 0..60 {
        messages.push(Message::user(format!(
            "Question {i}: tell me about the weather at Longbourn in great detail, please."
        )));
        messages.push(Message::assistant(
            "The weather at Longbourn is fine, and the walks to Meryton are very pleasant indeed.",
        ));
    }
    messages.push(Message::user("And what of Mr. Darcy?"));
    let (ids, dropped) = fit_history(model, &messages, 1024).expect("fit");
    assert!(dropped > 0 && dropped % 2 == 0, "dropped {dropped}");
    assert!(ids.len() <= 1024);
    let text = model.tokenizer.decode(&ids).expect("decode");
    assert!(text.contains("You are Elizabeth Bennet.") && text.contains("And what of Mr. Darcy?"));
    assert!(!text.contains("Question 0:"));
    // A single turn too long for the context is an error, not a silent cut.
    let huge = vec![Message::user("word ".repeat(5000))];
    assert!(fit_history(model, &huge, 64).is_err());
}
