use grimoire_llm::Message;
use grimoire_train::{Example, encode_example, encode_messages};

use crate::common;

#[test]
fn mask_equals_reference_labels() {
    let reference = common::reference("peft/reference.json");
    let messages: Vec<Message> =
        serde_json::from_value(reference["conversation"].clone()).expect("messages");
    let enc = encode_messages(common::model(), &messages).expect("encode");
    assert_eq!(enc.ids, common::ids(&reference["full_ids"]));
    let want: Vec<i64> = reference["labels"]
        .as_array()
        .expect("labels")
        .iter()
        .map(|v| v.as_i64().expect("label"))
        .collect();
    assert_eq!(enc.labels(), want);
}

#[test]
fn every_assistant_turn_and_its_end_of_turn_token_are_trained() {
    let model = common::model();
    let messages = vec![
        Message::system("You are Elizabeth."),
        Message::user("Hello."),
        Message::assistant("Good day."),
        Message::user("And?"),
        Message::assistant("Nothing more."),
    ];
    let enc = encode_messages(model, &messages).expect("encode");
    let im_end = model.tokenizer.token_to_id("<|im_end|>").expect("im_end");
    // Trained stretches are exactly the two replies; each holds an <|im_end|>.
    let mut spans = Vec::new();
    let mut start = None;
    for (i, &t) in enc.trained.iter().enumerate() {
        match (t, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                spans.push(s..i);
                start = None
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        spans.push(s..enc.ids.len());
    }
    assert_eq!(spans.len(), 2, "{spans:?}");
    for span in &spans {
        assert!(enc.ids[span.clone()].contains(&im_end));
        let text = model
            .tokenizer
            .decode(&enc.ids[span.clone()])
            .expect("decode");
        assert!(
            text.starts_with("Good day.") || text.starts_with("Nothing more."),
            "{text:?}"
        );
    }
    // The user's <|im_end|> is not trained: masking is by position, not by id.
    let untrained_end = enc
        .ids
        .iter()
        .zip(&enc.trained)
        .any(|(&id, &t)| id == im_end && !t);
    assert!(untrained_end);
}

#[test]
fn long_examples_lose_user_text_from_the_left_and_keep_the_reply() {
    let model = common::model();
    let long_user: String = (0..200).map(|i| format!("word{i} ")).collect();
    let example = Example {
        messages: vec![
            Message::system("You are Elizabeth."),
            Message::user(long_user),
            Message::assistant("I keep this reply."),
        ],
    };
    let full = encode_messages(model, &example.messages).expect("encode");
    assert!(full.ids.len() > 120);
    let enc = encode_example(model, &example, 96).expect("encode");
    assert!(enc.truncated);
    assert!(enc.ids.len() <= 96, "{}", enc.ids.len());
    assert_eq!(
        enc.trained.iter().filter(|t| **t).count(),
        full.trained.iter().filter(|t| **t).count()
    );
    let text = model.tokenizer.decode(&enc.ids).expect("decode");
    assert!(
        text.contains("word199") && !text.contains("word0 "),
        "{text}"
    );
    assert!(text.contains("I keep this reply."));
}
